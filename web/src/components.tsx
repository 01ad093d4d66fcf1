/** Small pieces shared by the pages: badges, errors, confirmation, visibility choice, polling. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, VISIBILITIES, VISIBILITY_LABELS, type Tag, type Visibility } from './api.ts';

/** Black or white text, whichever contrasts more with `hex` (WCAG relative luminance). */
export function textColorFor(hex: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#000';
  const lin = (h: string) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const L = 0.2126 * lin(m[1]!) + 0.7152 * lin(m[2]!) + 0.0722 * lin(m[3]!);
  return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? '#000' : '#fff';
}

export function TagBadge(props: { tag: Tag }) {
  const t = props.tag;
  return (
    <span class="badge" style={{ background: t.color, color: textColorFor(t.color) }} title={t.description || undefined}>
      {t.title || t.name}
    </span>
  );
}

/**
 * A table in the markup every list here shares: a wrapper that scrolls on narrow screens, a caption for
 * screen readers, and column heads (a falsy entry leaves its column out). Children are the body's rows.
 */
export function DataTable(props: { caption: string; columns: (string | false | undefined)[]; class?: string; testId?: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table class={props.class} data-testid={props.testId}>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.filter((c): c is string => !!c).map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

export function CategoryBadge(props: { category: string }) {
  return <span class="badge badge-category">{props.category}</span>;
}

/** An app's category and tag badges, as the catalog card and the app page show them. */
export function AppBadges(props: { app: { category: string; tags: Tag[] } }) {
  return (
    <p class="badges">
      <CategoryBadge category={props.app.category} />
      {props.app.tags.map((t) => (
        <TagBadge key={t.id} tag={t} />
      ))}
    </p>
  );
}

/** An error from the API in words, with its per-field issues. */
export function ErrorBox(props: { error: unknown; title?: string }) {
  const e = props.error;
  if (!e) return null;
  const message = e instanceof Error ? e.message : String(e);
  const issues = e instanceof ApiError ? e.issues : [];
  return (
    <div class="error" role="alert">
      <p>
        <strong>{props.title ?? 'Error'}:</strong> {message}
      </p>
      {issues.length > 0 && (
        <table class="issues">
          <caption class="sr-only">Problems by field</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Problem</th>
            </tr>
          </thead>
          <tbody>
            {issues.map((i) => (
              <tr key={i.path + i.message}>
                <th scope="row">
                  <code>{i.path}</code>
                </th>
                <td>{i.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A visibility <select> with a visible label. */
export function VisibilitySelect(props: { id: string; label: string; value: Visibility; onChange: (v: Visibility) => void; disabled?: boolean; hideLabel?: boolean }) {
  return (
    <span class="field-inline">
      <label for={props.id} class={props.hideLabel ? 'sr-only' : undefined}>
        {props.label}
      </label>
      <select id={props.id} value={props.value} disabled={props.disabled} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value as Visibility)}>
        {VISIBILITIES.map((v) => (
          <option key={v} value={v}>
            {VISIBILITY_LABELS[v]}
          </option>
        ))}
      </select>
    </span>
  );
}

/**
 * A button that asks first in a modal <dialog> (focus stays inside, Escape
 * cancels) and runs `onConfirm` only on "yes".
 */
export function ConfirmButton(props: { label: string; name?: string; question: string; confirmLabel: string; onConfirm: () => void | Promise<void>; class?: string; disabled?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" class={props.class ?? 'danger'} disabled={props.disabled} aria-label={props.name} onClick={() => ref.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={ref} aria-label={props.name ?? props.label}>
        <form
          method="dialog"
          onSubmit={(e) => {
            const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
            if (submitter?.value === 'yes') void props.onConfirm();
          }}
        >
          <p>{props.question}</p>
          <div class="actions">
            <button value="no" autofocus>
              Cancel
            </button>
            <button value="yes" class="danger">
              {props.confirmLabel}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/**
 * Loads with `fn` now and every `ms` while the tab is visible (a hidden tab
 * polls nothing); `reload` refreshes at once after a change.
 */
export function usePoll<T>(fn: () => Promise<T>, ms: number, deps: unknown[] = []): { data: T | undefined; error: unknown; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const seq = useRef(0);
  const load = useCallback(() => {
    const n = ++seq.current;
    fn().then(
      (d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(undefined);
      },
      (e: unknown) => {
        if (n === seq.current) setError(e);
      },
    );
  }, deps);
  useEffect(() => {
    load();
    if (!ms) return;
    const t = setInterval(() => {
      if (!document.hidden) load();
    }, ms);
    return () => clearInterval(t);
  }, [load, ms]);
  return { data, error, reload: load };
}

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  const id = props.id ?? `s-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </section>
  );
}
