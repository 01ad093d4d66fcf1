/** For app owners: import a bundle (drag and drop, progress, errors per field), my apps and their visibility, instances of my apps. */
import { useRef, useState } from 'preact/hooks';
import { api, listApps, listInstances, uploadBundle, type ImportResult, type Me, type Visibility } from '../api.ts';
import { SignInPrompt } from '../auth.tsx';
import { DataTable, ErrorBox, Section, usePoll, VisibilitySelect } from '../components.tsx';
import { InstanceTable } from '../instances.tsx';
import { Link } from '../router.tsx';
import { POLL_MS } from './instances.tsx';

function Importer(props: { onImported: () => void }) {
  const [visibility, setVisibility] = useState<Visibility>('PRIVATE');
  const [progress, setProgress] = useState<{ sent: number; total: number; name: string }>();
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<ImportResult>();
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setError(undefined);
    setResult(undefined);
    setProgress({ sent: 0, total: file.size, name: file.name });
    try {
      const r = await uploadBundle(file, visibility, (sent, total) => setProgress({ sent, total, name: file.name }));
      setResult(r);
      props.onImported();
    } catch (e) {
      setError(e);
    } finally {
      setProgress(undefined);
      if (input.current) input.current.value = '';
    }
  };
  return (
    <div class="importer">
      <VisibilitySelect id="import-visibility" label="Visibility of the imported app" value={visibility} onChange={setVisibility} />
      <div
        class={`dropzone${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void upload(e.dataTransfer?.files[0]);
        }}
      >
        <p>Drop a .wave or .qz bundle here, or</p>
        <label class="button" for="bundle-file">
          Choose a bundle file…
        </label>
        <input id="bundle-file" ref={input} class="sr-only" type="file" accept=".wave,.qz,.zip,application/zip" onChange={(e) => void upload((e.target as HTMLInputElement).files?.[0])} />
      </div>
      <div role="status" aria-live="polite">
        {progress && (
          <p>
            <label for="upload-progress">Uploading {progress.name}</label>{' '}
            <progress id="upload-progress" max={progress.total} value={progress.sent} /> {Math.round((100 * progress.sent) / Math.max(1, progress.total))}%
          </p>
        )}
        {result && (
          <div class="ok" data-testid="import-result">
            <p>
              Imported <Link href={`/apps/${result.app.id}`}>{`${result.app.title} ${result.app.version}`}</Link>.
            </p>
            {result.warnings.length > 0 && (
              <ul class="warnings" aria-label="Warnings">
                {result.warnings.map((w) => (
                  <li key={w.path + w.message}>
                    <code>{w.path}</code>: {w.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
      <ErrorBox error={error} title="The bundle was refused" />
    </div>
  );
}

export function MyAppsPage(props: { me: Me }) {
  const apps = usePoll(() => listApps({ scope: 'mine' }), 0);
  const instances = usePoll(() => listInstances(), POLL_MS);
  const [error, setError] = useState<unknown>();
  if (!props.me.signedIn) {
    return (
      <>
        <h1>My apps</h1>
        <SignInPrompt to="publish apps" />
      </>
    );
  }
  const mine = new Set((apps.data ?? []).map((a) => a.id));
  const ofMyApps = (instances.data ?? []).filter((i) => mine.has(i.appId));
  return (
    <>
      <h1>My apps</h1>
      <Section title="Import a bundle">
        <Importer onImported={apps.reload} />
      </Section>
      <Section title="Apps I own">
        <ErrorBox error={apps.error ?? error} />
        {apps.data && apps.data.length === 0 && <p class="empty">You have not imported any app yet.</p>}
        {apps.data && apps.data.length > 0 && (
          <DataTable caption="Apps I own" columns={['App', 'Version', 'Visibility', 'Imported']}>
            {apps.data.map((a) => (
              <tr key={a.id} data-app={a.name}>
                <th scope="row">
                  <Link href={`/apps/${a.id}`}>{a.title}</Link> <span class="muted small">{a.name}</span>
                </th>
                <td>{a.version}</td>
                <td>
                  <VisibilitySelect
                    id={`app-vis-${a.id}`}
                    label={`Visibility of ${a.title} ${a.version}`}
                    hideLabel
                    value={a.visibility}
                    onChange={(v) => void api(`/api/v1/apps/${a.id}`, { method: 'PATCH', body: { visibility: v } }).then(apps.reload, setError)}
                  />
                </td>
                <td>{new Date(a.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>
      <Section title="Instances of my apps">
        <ErrorBox error={instances.error} title="Could not load instances" />
        {instances.data && <InstanceTable instances={ofMyApps} me={props.me} onChanged={instances.reload} showOwner caption="Instances of my apps" />}
      </Section>
    </>
  );
}
