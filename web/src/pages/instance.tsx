/**
 * One instance in detail, refreshed every few seconds: the summary (app,
 * version, owner, visibility, status and why), its conditions, the pod and
 * its containers, recent events — all from GET /api/v1/instances/:id/status —
 * with the same actions and log tail as the instance tables.
 */
import { useState } from 'preact/hooks';
import { ago, ApiError, getInstanceStatus, type InstanceStatusDetail, type Me } from '../api.ts';
import { SignInPrompt } from '../auth.tsx';
import { DataTable, ErrorBox, Section, usePoll } from '../components.tsx';
import { InstanceActions, InstanceVisibility, LogView, statusClass, statusText, useInstanceAction } from '../instances.tsx';
import { Link } from '../router.tsx';
import { POLL_MS } from './instances.tsx';

type Detail = InstanceStatusDetail;
type Container = NonNullable<Detail['pod']>['containers'][number];

function When(props: { iso: string | undefined }) {
  if (!props.iso) return <span class="muted">—</span>;
  return (
    <time dateTime={props.iso} title={new Date(props.iso).toLocaleString()}>
      {ago(props.iso)}
    </time>
  );
}

/** A container's state in words: "running", "waiting: CrashLoopBackOff (last exit code 3)", "terminated: Error (exit code 1)". */
export function containerState(c: Container): string {
  const why = c.reason ? `: ${c.reason}` : '';
  const code = c.exitCode === undefined ? '' : c.state === 'terminated' ? ` (exit code ${c.exitCode})` : ` (last exit code ${c.exitCode})`;
  return `${c.state}${why}${code}`;
}

function Summary(props: { d: Detail; me: Me; act: (f: () => Promise<unknown>) => Promise<void> }) {
  const d = props.d;
  return (
    <dl class="summary">
      <dt>App</dt>
      <dd>
        <Link href={`/apps/${d.appId}`}>{d.appTitle || d.appName}</Link> <span class="muted small">{d.appName}</span>
      </dd>
      <dt>Version</dt>
      <dd>{d.appVersion}</dd>
      <dt>Owner</dt>
      <dd>{d.ownerName || d.owner}</dd>
      <dt>Visibility</dt>
      <dd>
        <InstanceVisibility instance={d} me={props.me} act={props.act} />
      </dd>
      <dt>Status</dt>
      <dd aria-live="polite">
        <span class={statusClass(d)} data-testid="instance-status">
          {statusText(d)}
        </span>
      </dd>
      {d.runtimeVersion && (
        <>
          <dt>Runtime version</dt>
          <dd>{d.runtimeVersion}</dd>
        </>
      )}
      <dt>Started</dt>
      <dd>
        <When iso={d.createdAt} />
      </dd>
      <dt>Ready since</dt>
      <dd>
        <When iso={d.readyAt} />
      </dd>
      <dt>URL</dt>
      <dd>{d.url ? <code data-testid="instance-url">{d.url}</code> : <span class="muted">none yet</span>}</dd>
    </dl>
  );
}

function Conditions(props: { d: Detail }) {
  if (!props.d.conditions.length) return <p class="empty">No conditions yet (the operator has not reported on this instance).</p>;
  return (
    <DataTable testId="conditions" caption="Conditions" columns={['Type', 'Status', 'Reason', 'Message', 'Since']}>
      {props.d.conditions.map((c) => (
        <tr key={c.type} data-condition={c.type}>
          <th scope="row">{c.type}</th>
          <td>{c.status}</td>
          <td>{c.reason}</td>
          <td>{c.message}</td>
          <td>
            <When iso={c.lastTransitionTime} />
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function Pod(props: { d: Detail }) {
  const pod = props.d.pod;
  if (!pod) return <p class="empty">No pod{props.d.suspended ? ' (the instance is suspended)' : ' yet'}.</p>;
  return (
    <>
      <p>
        Pod <code>{pod.name}</code>, phase <strong data-testid="pod-phase">{pod.phase}</strong>
        {pod.node ? (
          <>
            {' '}
            on node <code>{pod.node}</code>
          </>
        ) : null}
        .
      </p>
      <DataTable testId="containers" caption={`Containers of pod ${pod.name}`} columns={['Container', 'State', 'Ready', 'Restarts', 'Message']}>
        {pod.containers.map((c) => (
          <tr key={c.name} data-container={c.name}>
            <th scope="row">{c.name}</th>
            <td data-testid="container-state">{containerState(c)}</td>
            <td>{c.ready ? 'yes' : 'no'}</td>
            <td data-testid="container-restarts">{c.restarts}</td>
            <td>{c.message ?? ''}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

function Events(props: { d: Detail }) {
  if (!props.d.events.length) return <p class="empty">No recent events.</p>;
  return (
    <DataTable testId="events" caption="Recent events, oldest first" columns={['Type', 'Reason', 'Message', 'Count', 'Last seen']}>
      {props.d.events.map((e, n) => (
        <tr key={`${n}-${e.reason}-${e.lastTimestamp}`} class={e.type === 'Warning' ? 'event-warning' : undefined}>
          <td>{e.type}</td>
          <th scope="row">{e.reason}</th>
          <td>{e.message}</td>
          <td>{e.count}</td>
          <td>
            <When iso={e.lastTimestamp} />
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

export function InstancePage(props: { id: string; me: Me }) {
  const detail = usePoll(() => getInstanceStatus(props.id), POLL_MS, [props.id]);
  const { error, act } = useInstanceAction(detail.reload);
  const [logs, setLogs] = useState(false);
  if (!props.me.signedIn) {
    return (
      <>
        <h1>Instance {props.id}</h1>
        <SignInPrompt to="see this instance" />
      </>
    );
  }
  const d = detail.data;
  const gone = detail.error instanceof ApiError && detail.error.status === 404;
  return (
    <>
      <nav aria-label="Breadcrumb" class="small">
        <Link href="/instances">My instances</Link> › {props.id}
      </nav>
      <h1>
        {d ? d.appTitle || d.appName : 'Instance'} <span class="muted">instance {props.id}</span>
      </h1>
      {gone ? (
        <p role="status" data-testid="instance-gone">
          Instance {props.id} does not exist (any more): it was terminated, or it is not yours to see. <Link href="/instances">Back to my instances</Link>
        </p>
      ) : (
        <ErrorBox error={detail.error} title="Could not load the instance" />
      )}
      {!d && !detail.error && <p role="status">Loading…</p>}
      {d && !gone && (
        <>
          <ErrorBox error={error} title="The action failed" />
          <div class="actions" role="group" aria-label="Actions">
            <InstanceActions instance={d} me={props.me} act={act} logsOpen={logs} onToggleLogs={() => setLogs(!logs)} />
          </div>
          {logs && <LogView instance={d} onClose={() => setLogs(false)} />}
          <Section title="Summary">
            <Summary d={d} me={props.me} act={act} />
          </Section>
          <Section title="Conditions">
            <Conditions d={d} />
          </Section>
          <Section title="Pod and containers">
            <Pod d={d} />
          </Section>
          <Section title="Recent events">
            <Events d={d} />
          </Section>
          <p class="muted small">This page refreshes every {POLL_MS / 1000} seconds.</p>
        </>
      )}
    </>
  );
}
