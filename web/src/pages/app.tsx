/** One app: description (sanitized markdown), screenshots, versions, owner, launch, and for its owner: visibility and delete. */
import { useEffect, useState } from 'preact/hooks';
import { api, VISIBILITY_LABELS, type App, type Instance, type Me, type RuntimeVersion, type Visibility } from '../api.ts';
import { SignInPrompt } from '../auth.tsx';
import { AppBadges, ConfirmButton, ErrorBox, Section, usePoll, VisibilitySelect } from '../components.tsx';
import { Link, navigate } from '../router.tsx';

/** The long description: markdown rendered and sanitized by a lazily loaded module. */
function Markdown(props: { source: string }) {
  const [html, setHtml] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    import('../markdown.ts').then((m) => setHtml(m.renderMarkdown(props.source)), setError);
  }, [props.source]);
  if (error) return <ErrorBox error={error} title="Could not show the description" />;
  return html === undefined ? <p class="muted">Loading…</p> : <div class="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

function LaunchForm(props: { app: App; me: Me }) {
  const [visibility, setVisibility] = useState<Visibility>('PRIVATE');
  const [runtime, setRuntime] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const runtimes = usePoll(() => api<{ items: RuntimeVersion[] }>('/api/v1/runtime-versions').then((r) => r.items), 0);
  if (!props.me.signedIn) {
    return <SignInPrompt to="launch this app" />;
  }
  const launch = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api<Instance>(`/api/v1/apps/${props.app.id}/instances`, { method: 'POST', body: { visibility, ...(runtime ? { runtimeVersion: runtime } : {}) } });
      navigate('/instances');
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form class="launch" onSubmit={launch}>
      <fieldset>
        <legend>Who may open the new instance</legend>
        {(['PRIVATE', 'ALL_USERS', 'PUBLIC'] as const).map((v) => (
          <label key={v} class="radio">
            <input type="radio" name="launch-visibility" value={v} checked={visibility === v} onChange={() => setVisibility(v)} /> {VISIBILITY_LABELS[v]}
          </label>
        ))}
      </fieldset>
      {runtimes.data && runtimes.data.length > 0 && (
        <div class="field">
          <label for="runtime">Runtime version</label>
          <select id="runtime" value={runtime} onChange={(e) => setRuntime((e.target as HTMLSelectElement).value)}>
            <option value="">{props.app.runtimeVersion ? `As the app asks (${props.app.runtimeVersion})` : 'Default'}</option>
            {runtimes.data.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
                {r.default ? ' (default)' : ''}
                {r.deprecated ? ' (deprecated)' : ''}
              </option>
            ))}
          </select>
        </div>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Launching…' : 'Launch'}
      </button>
      <ErrorBox error={error} title="Could not launch" />
    </form>
  );
}

function OwnerTools(props: { app: App; onChanged: () => void }) {
  const [error, setError] = useState<unknown>();
  const a = props.app;
  return (
    <Section title="Manage">
      <VisibilitySelect
        id="app-visibility"
        label="Visibility"
        value={a.visibility}
        onChange={(v) =>
          void api(`/api/v1/apps/${a.id}`, { method: 'PATCH', body: { visibility: v } }).then(
            () => props.onChanged(),
            (e: unknown) => setError(e),
          )
        }
      />{' '}
      <ConfirmButton
        label="Delete this version"
        question={`Delete ${a.title} ${a.version}? Its bundle is removed; instances must be terminated first.`}
        confirmLabel="Delete"
        onConfirm={() =>
          api(`/api/v1/apps/${a.id}`, { method: 'DELETE' }).then(
            () => navigate('/my-apps'),
            (e: unknown) => setError(e),
          )
        }
      />
      <ErrorBox error={error} title="The change failed" />
    </Section>
  );
}

export function AppPage(props: { id: string; me: Me }) {
  const app = usePoll(() => api<App>(`/api/v1/apps/${encodeURIComponent(props.id)}`), 0, [props.id]);
  const versions = usePoll(() => api<App[]>(`/api/v1/apps/${encodeURIComponent(props.id)}/versions`), 0, [props.id]);
  const a = app.data;
  if (app.error) return <ErrorBox error={app.error} title="Could not load the app" />;
  if (!a) return <p role="status">Loading…</p>;
  const manages = props.me.admin || (props.me.signedIn && props.me.subject === a.owner);
  return (
    <article class="app-page">
      <header class="app-head">
        {a.iconUrl && <img class="icon icon-large" src={a.iconUrl} alt="" width={72} height={72} />}
        <div>
          <h1>{a.title}</h1>
          <p class="muted">
            Version {a.version} · by {a.ownerName} · {VISIBILITY_LABELS[a.visibility]}
          </p>
          <p>{a.description}</p>
          <AppBadges app={a} />
        </div>
      </header>
      <Section title="Launch">
        <LaunchForm app={a} me={props.me} />
      </Section>
      {a.longDescription && (
        <Section title="About">
          <Markdown source={a.longDescription} />
        </Section>
      )}
      {a.screenshotUrls.length > 0 && (
        <Section title="Screenshots">
          <ul class="screenshots">
            {a.screenshotUrls.map((u, n) => (
              <li key={u}>
                <a href={u} target="_blank" rel="noopener">
                  <img src={u} alt={`Screenshot ${n + 1} of ${a.title}`} loading="lazy" />
                </a>
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title="Versions">
        {versions.data ? (
          <ul class="versions">
            {versions.data.map((v) => (
              <li key={v.id}>
                {v.id === a.id ? (
                  <span aria-current="page">
                    <strong>{v.version}</strong> (this one)
                  </span>
                ) : (
                  <Link href={`/apps/${v.id}`}>{v.version}</Link>
                )}{' '}
                <span class="muted small">{new Date(v.createdAt).toLocaleDateString()}</span>
                {/* A version someone else imported (an admin, or a squat from before names had owners) says whose it is. */}
                {v.owner !== a.owner && <span class="small"> imported by {v.ownerName || v.owner}</span>}
              </li>
            ))}
          </ul>
        ) : (
          <ErrorBox error={versions.error} />
        )}
      </Section>
      {manages && <OwnerTools app={a} onChanged={app.reload} />}
    </article>
  );
}
