/** How instances and runtime versions are shown to people (tables and key/value blocks). */
import type { Instance, InstanceStatusDetail, RuntimeVersionInfo } from '../api/schemas.ts';
import { formatFields, formatTable, formatTime, relativeAge } from './output.ts';

const appOf = (i: Instance) => `${i.appTitle || i.appName} ${i.appVersion}`;

/** Status with its reason, e.g. `Pending (Unschedulable)`. */
export function statusWord(i: Pick<Instance, 'status' | 'reason'>): string {
  return i.reason && i.reason !== i.status ? `${i.status} (${i.reason})` : i.status;
}

/** The `instance list` table: ID APP OWNER CREATED STATUS VISIBILITY URL. */
export function instanceTable(items: Instance[], now: Date = new Date()): string {
  return formatTable(
    ['ID', 'APP', 'OWNER', 'CREATED', 'STATUS', 'VISIBILITY', 'URL'],
    items.map((i) => [i.id, appOf(i), i.ownerName || i.owner, relativeAge(i.createdAt, now), statusWord(i), i.visibility, i.url ?? '']),
  );
}

/** `ID    <id>`, the first line of a launched instance (padded like formatFields' two-key block). */
export const idLine = (i: Instance): string => `ID    ${i.id}\n`;
/** `URL   <url>`, the second line (empty until the operator has assigned it). */
export const urlLine = (i: Instance): string => `URL   ${i.url ?? ''}`.trimEnd() + '\n';

/** `h2o app run` / `bundle deploy`: the new instance's ID and URL, as in the seed. */
export function launchedFields(i: Instance): string {
  return idLine(i) + urlLine(i);
}

function instanceFieldList(i: Instance): Array<[string, string]> {
  return [
    ['ID', i.id],
    ['App', appOf(i)],
    ['App ID', i.appId],
    ['Owner', i.ownerName || i.owner],
    ['Visibility', i.visibility],
    ['Runtime Version', i.runtimeVersion ?? ''],
    ['Status', statusWord(i)],
    ...(i.message ? ([['Message', i.message.replace(/\s*\n\s*/g, ' ')]] as Array<[string, string]>) : []),
    ['Suspended', i.suspended ? 'yes' : 'no'],
    ['URL', i.url ?? ''],
    ['Created At', formatTime(i.createdAt)],
    ['Ready At', i.readyAt ? formatTime(i.readyAt) : ''],
  ];
}

/** One instance as key/value lines. */
export function instanceFields(i: Instance): string {
  return formatFields(instanceFieldList(i));
}

/** `h2o instance status`: the instance, then its conditions, pod containers and recent events (like kubectl describe). */
export function instanceStatusText(d: InstanceStatusDetail, now: Date = new Date()): string {
  const parts = [formatFields(instanceFieldList(d))];
  if (d.conditions.length) {
    parts.push('\nConditions:\n' + indent(formatTable(['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], d.conditions.map((c) => [c.type, c.status, c.reason, relativeAge(c.lastTransitionTime, now), c.message]))));
  }
  if (d.pod) {
    const p = d.pod;
    parts.push(`\nPod: ${p.name} (${p.phase}${p.node ? ` on ${p.node}` : ''})\n`);
    if (p.containers.length) {
      parts.push(
        indent(
          formatTable(
            ['CONTAINER', 'READY', 'RESTARTS', 'STATE', 'REASON', 'EXIT CODE', 'MESSAGE'],
            p.containers.map((c) => [c.name, c.ready ? 'yes' : 'no', String(c.restarts), c.state, c.reason ?? '', c.exitCode === undefined ? '' : String(c.exitCode), c.message ?? '']),
          ),
        ),
      );
    }
  } else {
    parts.push('\nPod: none\n');
  }
  parts.push(
    d.events.length
      ? '\nEvents:\n' + indent(formatTable(['TYPE', 'REASON', 'AGE', 'COUNT', 'MESSAGE'], d.events.map((e) => [e.type, e.reason, relativeAge(e.lastTimestamp, now), String(e.count), e.message.replace(/\s*\n\s*/g, ' ')])))
      : '\nEvents: none\n',
  );
  return parts.join('');
}

/** The `runtime-version list` table. */
export function runtimeVersionTable(items: RuntimeVersionInfo[]): string {
  return formatTable(
    ['NAME', 'IMAGE', 'DEFAULT', 'DEPRECATED', 'INSTANCES'],
    items.map((r) => [r.name, r.image, r.default ? 'yes' : 'no', r.deprecated ? 'yes' : 'no', String(r.instances)]),
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}
