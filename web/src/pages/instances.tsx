/** My instances, refreshed every few seconds (status changes show without a reload). */
import { listInstances, type Me } from '../api.ts';
import { SignInPrompt } from '../auth.tsx';
import { ErrorBox, usePoll } from '../components.tsx';
import { InstanceTable } from '../instances.tsx';
import { Link } from '../router.tsx';

export const POLL_MS = 3000;

export function InstancesPage(props: { me: Me }) {
  const list = usePoll(() => listInstances(), POLL_MS);
  if (!props.me.signedIn) {
    return (
      <>
        <h1>My instances</h1>
        <SignInPrompt to="see your instances" />
      </>
    );
  }
  const mine = (list.data ?? []).filter((i) => i.owner === props.me.subject);
  return (
    <>
      <h1>My instances</h1>
      <ErrorBox error={list.error} title="Could not load instances" />
      {list.data ? (
        <InstanceTable instances={mine} me={props.me} onChanged={list.reload} caption="My instances" />
      ) : (
        !list.error && <p role="status">Loading…</p>
      )}
      <p class="muted small">
        Start one from an app's page in the <Link href="/">catalog</Link>. The list refreshes every {POLL_MS / 1000} seconds.
      </p>
    </>
  );
}
