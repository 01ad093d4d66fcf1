/**
 * Instances: the table shared by My instances, My apps and Admin, and the
 * pieces the instance page reuses (status in words, visibility, actions, the
 * log tail).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ago, api, tailLogs, VISIBILITY_LABELS, type Instance, type Me, type Visibility } from './api.ts';
import { ConfirmButton, DataTable, ErrorBox, VisibilitySelect } from './components.tsx';
import { Link } from './router.tsx';

/** The state in words: the status, and when it is not ready, why. */
export function statusText(i: Instance): string {
  const why = i.message || i.reason;
  if (i.suspended && i.status !== 'Suspended') return `Suspended${why ? ` — ${why}` : ''}`;
  return why && i.status !== 'Ready' ? `${i.status} — ${why}` : i.status;
}

/** The status's colour class: ok, bad (failed, crashing) or waiting. */
export function statusClass(i: Instance): string {
  if (i.status === 'Ready') return 'status status-ok';
  if (/fail|error|crash|backoff|unschedulable/i.test(`${i.status} ${i.reason ?? ''}`)) return 'status status-bad';
  return 'status status-wait';
}

/** Live tail of one instance's log in a region screen readers do not re-read on every line. */
export function LogView(props: { instance: Instance; onClose: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>();
  const [previous, setPrevious] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    setText('');
    setError(undefined);
    const ac = new AbortController();
    // A chunk read just before the abort must not land in the next stream's text (current ↔ previous).
    const onText = (chunk: string) => {
      if (!ac.signal.aborted) setText((t) => (t + chunk).slice(-200_000));
    };
    tailLogs(props.instance.id, onText, ac.signal, { previous }).catch((e: unknown) => {
      if (!ac.signal.aborted) setError(e);
    });
    return () => ac.abort();
  }, [props.instance.id, previous]);
  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);
  const id = `logs-${props.instance.id}`;
  return (
    <div class="logs" role="region" aria-labelledby={`${id}-title`}>
      <div class="logs-head">
        <h3 id={`${id}-title`}>
          Logs of {props.instance.appTitle} ({props.instance.id})
        </h3>
        <label>
          <input type="checkbox" data-testid="log-previous" checked={previous} onChange={(e) => setPrevious((e.target as HTMLInputElement).checked)} /> previous container (after a crash)
        </label>
        <button type="button" onClick={props.onClose}>
          Close logs
        </button>
      </div>
      <ErrorBox error={error} title="Logs unavailable" />
      <pre ref={pre} tabIndex={0} aria-label="log output" data-testid="log-output">
        {text || (error ? '' : 'Waiting for output…')}
      </pre>
    </div>
  );
}

/** Visibility, suspend/resume and terminate: the owner and admins (as the API's policy). */
export function canManage(i: Instance, me: Me): boolean {
  return me.signedIn && (me.admin || i.owner === me.subject);
}

/** Opening: PUBLIC — anyone; ALL_USERS — full-access users; PRIVATE — the owner (admins manage but do not open). */
export function canOpen(i: Instance, me: Me): boolean {
  return i.visibility === 'PUBLIC' || (me.signedIn && (i.owner === me.subject || (i.visibility === 'ALL_USERS' && !me.visitor)));
}

const instancePath = (i: Instance) => `/api/v1/instances/${encodeURIComponent(i.id)}`;

/** Runs an instance action: its error (shown by the caller), then `onChanged` reloads. */
export function useInstanceAction(onChanged: () => void): { error: unknown; act: (f: () => Promise<unknown>) => Promise<void> } {
  const [error, setError] = useState<unknown>();
  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
    } catch (e) {
      setError(e);
    }
    onChanged();
  };
  return { error, act };
}

/** The visibility <select> for whoever may change it, else the visibility in words. */
export function InstanceVisibility(props: { instance: Instance; me: Me; act: (f: () => Promise<unknown>) => Promise<void>; hideLabel?: boolean }) {
  const i = props.instance;
  if (!canManage(i, props.me)) return <span>{VISIBILITY_LABELS[i.visibility]}</span>;
  return (
    <VisibilitySelect
      id={`vis-${i.id}`}
      label={`Visibility of ${i.id}`}
      hideLabel={props.hideLabel ?? true}
      value={i.visibility}
      onChange={(v: Visibility) => void props.act(() => api(instancePath(i), { method: 'PATCH', body: { visibility: v } }))}
    />
  );
}

/** Open, Logs, Suspend/Resume, Terminate (with confirmation) — each only for a viewer who may. */
export function InstanceActions(props: { instance: Instance; me: Me; act: (f: () => Promise<unknown>) => Promise<void>; logsOpen: boolean; onToggleLogs: () => void }) {
  const i = props.instance;
  const manage = canManage(i, props.me);
  return (
    <>
      {i.url && i.status === 'Ready' && !i.suspended && canOpen(i, props.me) ? (
        <a class="button" href={i.url} target="_blank" rel="noopener">
          Open<span class="sr-only"> {i.appTitle} (new tab)</span>
        </a>
      ) : null}
      <button type="button" aria-pressed={props.logsOpen} onClick={props.onToggleLogs}>
        Logs<span class="sr-only"> of {i.id}</span>
      </button>
      {manage &&
        (i.suspended ? (
          <button type="button" onClick={() => void props.act(() => api(`${instancePath(i)}/resume`, { method: 'POST' }))}>
            Resume<span class="sr-only"> {i.id}</span>
          </button>
        ) : (
          <button type="button" onClick={() => void props.act(() => api(`${instancePath(i)}/suspend`, { method: 'POST' }))}>
            Suspend<span class="sr-only"> {i.id}</span>
          </button>
        ))}
      {manage && (
        <ConfirmButton
          label="Terminate"
          name={`Terminate ${i.id}`}
          question={`Terminate ${i.appTitle || i.appName} (${i.id})? Its data that is not on a volume is lost.`}
          confirmLabel="Terminate"
          onConfirm={() => props.act(() => api(instancePath(i), { method: 'DELETE' }))}
        />
      )}
    </>
  );
}

/** Instances with their actions; `onChanged` reloads the list after an action. */
export function InstanceTable(props: { instances: Instance[]; me: Me; onChanged: () => void; showOwner?: boolean; caption: string }) {
  const [logsOf, setLogsOf] = useState<string>();
  const { error, act } = useInstanceAction(props.onChanged);
  const shown = props.instances.find((i) => i.id === logsOf);
  if (!props.instances.length) return <p class="empty">No instances.</p>;
  return (
    <>
      <ErrorBox error={error} title="The action failed" />
      <DataTable class="instances" caption={props.caption} columns={['App', 'Status', props.showOwner && 'Owner', 'Visibility', 'Started', 'Actions']}>
        {props.instances.map((i) => (
          <tr key={i.id} data-instance={i.id}>
            <th scope="row">
              <Link href={`/apps/${i.appId}`}>{i.appTitle || i.appName}</Link> <span class="muted">{i.appVersion}</span>
              <div class="small">
                <Link href={`/instances/${encodeURIComponent(i.id)}`} class="instance-link">
                  <span class="sr-only">Details of instance </span>
                  {i.id}
                </Link>
              </div>
            </th>
            <td>
              <span class={statusClass(i)} data-testid="instance-status">
                {statusText(i)}
              </span>
            </td>
            {props.showOwner && <td>{i.ownerName || i.owner}</td>}
            <td>
              <InstanceVisibility instance={i} me={props.me} act={act} />
            </td>
            <td>
              <time dateTime={i.createdAt}>{ago(i.createdAt)}</time>
            </td>
            <td class="actions">
              <InstanceActions instance={i} me={props.me} act={act} logsOpen={logsOf === i.id} onToggleLogs={() => setLogsOf(logsOf === i.id ? undefined : i.id)} />
            </td>
          </tr>
        ))}
      </DataTable>
      {shown && <LogView instance={shown} onClose={() => setLogsOf(undefined)} />}
    </>
  );
}
