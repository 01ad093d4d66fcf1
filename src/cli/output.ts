/**
 * How results are printed: aligned tables and key/value blocks for people,
 * `-o json|yaml` for scripts.
 */
import { Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { App, Tag } from '../api/schemas.ts';
import { InvalidError } from '../lib/errors.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** The `-o, --output` option of read commands. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');
}

/** Renders `value` as JSON or YAML (for scripts). */
export function formatData(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

/** Columns padded to their widest cell, three spaces apart (like kubectl). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/** Age of `iso` relative to `now`, in the largest whole unit: 42s, 5m, 3h, 18d, 2y. */
export function relativeAge(iso: string, now: Date = new Date()): string {
  const s = Math.max(0, Math.floor((now.getTime() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  if (s < 365 * 86400) return `${Math.floor(s / 86400)}d`;
  return `${Math.floor(s / (365 * 86400))}y`;
}

/** Key/value lines, keys padded (the seed's `h2o bundle import` output). */
export function formatFields(fields: Array<[string, string]>): string {
  const w = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(w)}   ${v}`.trimEnd()).join('\n') + '\n';
}

/** `2020-10-13 06:28:03 +0000 UTC`, as in the seed's examples. */
export function formatTime(iso: string): string {
  return `${new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace('Z', '')} +0000 UTC`;
}

const tagList = (tags: Tag[]) => tags.map((t) => t.title || t.name).join(',');

/** The `app list` table: ID TITLE OWNER CREATED CATEGORY VISIBILITY TAGS. */
export function appTable(apps: App[], now: Date = new Date()): string {
  return formatTable(
    ['ID', 'TITLE', 'OWNER', 'CREATED', 'CATEGORY', 'VISIBILITY', 'TAGS'],
    apps.map((a) => [a.id, `${a.title} ${a.version}`, a.ownerName || a.owner, relativeAge(a.createdAt, now), a.category, a.visibility, tagList(a.tags)]),
  );
}

/** One app as key/value lines. */
export function appFields(a: App): string {
  return formatFields([
    ['ID', a.id],
    ['Title', a.title],
    ['Version', a.version],
    ['Category', a.category],
    ['Created At', formatTime(a.createdAt)],
    ['Updated At', formatTime(a.updatedAt)],
    ['Owner', a.ownerName || a.owner],
    ['Visibility', a.visibility],
    ['Description', a.description.replace(/\s*\n\s*/g, ' ')],
    ['Tags', tagList(a.tags)],
  ]);
}

/** The `tag list` table. */
export function tagTable(tags: Tag[]): string {
  return formatTable(
    ['ID', 'NAME', 'TITLE', 'COLOR', 'CATEGORY', 'ADMIN ROLES', 'VISITOR ROLES'],
    tags.map((t) => [t.id, t.name, t.title, t.color, t.isCategory ? 'yes' : 'no', t.adminRoles.join(','), t.visitorRoles.join(',')]),
  );
}

/** One tag as key/value lines. */
export function tagFields(t: Tag): string {
  return formatFields([
    ['ID', t.id],
    ['Name', t.name],
    ['Title', t.title],
    ['Color', t.color],
    ['Category', t.isCategory ? 'yes' : 'no'],
    ['Admin Roles', t.adminRoles.join(',')],
    ['Visitor Roles', t.visitorRoles.join(',')],
    ['Created At', formatTime(t.createdAt)],
    ['Description', t.description.replace(/\s*\n\s*/g, ' ')],
  ]);
}

/** Prints `data` in the chosen format, `human` rendering it for people. */
export function print(out: { write(s: string): unknown }, format: OutputFormat, data: unknown, human: () => string): void {
  out.write(format === 'table' ? human() : formatData(data, format));
}

/** Checks a visibility flag value, case-insensitively. */
export function parseVisibility(value: string, field = '-v, --visibility'): App['visibility'] {
  const v = value.toUpperCase();
  if (v === 'PRIVATE' || v === 'ALL_USERS' || v === 'PUBLIC') return v;
  throw new InvalidError('invalid visibility', [{ path: field, message: `"${value}" is not one of PRIVATE, ALL_USERS, PUBLIC` }]);
}
