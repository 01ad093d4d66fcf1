/**
 * Apps: one row per name + version, immutable except visibility. Listing is
 * keyset-paginated on (created_at desc, id desc) and filtered by visibility
 * in SQL, so a deep page costs what the first one does.
 */
import { and, asc, count, desc, eq, exists, getTableColumns, inArray, or, sql } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import semver from 'semver';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import { isVisibility } from '../lib/principal.ts';
import type { Viewer, Visibility } from '../lib/principal.ts';
import type { Database, Db } from './db.ts';
import { isPgError, isUuid, UNIQUE_VIOLATION } from './pg-errors.ts';
import { appNames, appTags, apps, tags } from './schema.ts';
import type { BundleFormat, StoredFile } from './schema.ts';
import { tagColumns } from './tags.ts';
import type { TagRecord } from './tags.ts';

export type { BundleFormat, StoredFile } from './schema.ts';

/** A stored app version, with the tags it carries. */
export interface AppRecord {
  id: string;
  name: string;
  version: string;
  title: string;
  description: string;
  category: string;
  keywords: string[];
  /** Subject of the user who imported it. */
  owner: string;
  ownerName: string;
  visibility: Visibility;
  /** The parsed app.toml. */
  manifest: Record<string, unknown>;
  format: BundleFormat;
  bundleKey: string;
  bundleSha256: string;
  bundleSize: number;
  iconKey: string | null;
  iconType: string | null;
  screenshots: StoredFile[];
  longDescription: string | null;
  runtimeVersion: string | null;
  createdAt: Date;
  updatedAt: Date;
  tags: TagRecord[];
}

/** What an import stores. `id` may be chosen by the caller (to name blob keys before the insert). */
export interface NewApp {
  id?: string;
  name: string;
  version: string;
  title: string;
  description?: string;
  category?: string;
  keywords?: string[];
  owner: string;
  ownerName: string;
  visibility?: Visibility;
  manifest: Record<string, unknown>;
  format: BundleFormat;
  bundleKey: string;
  bundleSha256: string;
  bundleSize: number;
  iconKey?: string | null;
  iconType?: string | null;
  screenshots?: StoredFile[];
  longDescription?: string | null;
  runtimeVersion?: string | null;
}

/** The server-wide switches the visibility filter depends on. */
export interface VisibilityPolicy {
  /** Anonymous visitors may see PUBLIC apps. */
  publicAccess: boolean;
}

export interface AppListQuery {
  /** `mine`: only the viewer's own apps; `all`: everything the viewer may see. */
  scope: 'mine' | 'all';
  /** Case-insensitive substring of the title, description or a keyword. */
  search?: string;
  /** Exact [App] Category. */
  category?: string;
  /** Tag name the apps must carry. */
  tag?: string;
  /** Page size, 1-500 (default 50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface AppPage {
  items: AppRecord[];
  /** Present when there may be more: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

/** Who owns an app name (issue #24 item 6): only they, and admins, may import versions of it. */
export interface AppNameOwner {
  name: string;
  owner: string;
  ownerName: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const MAX_SEARCH = 200;

// Every column but the search helper.
const { searchText: _searchText, ...appColumns } = getTableColumns(apps);
type AppRow = Omit<AppRecord, 'tags'>;

export class AppRepository {
  private readonly db: Db;

  constructor(database: Database) {
    this.db = database.db;
  }

  /**
   * Stores a new app version. The first version of a name makes the
   * importer the name's owner; a version of a name someone else owns is
   * refused with nameNotAvailable (unless `anyName`, for admins), before
   * anything else is checked, so the answer says nothing about which
   * versions exist. ConflictError when the name + version exists;
   * ForbiddenError when the owner already has `appVersionLimit` apps. The
   * count and the insert share a transaction holding a per-owner lock, so
   * concurrent imports cannot pass the limit together.
   */
  async create(input: NewApp, opts: { appVersionLimit?: number; anyName?: boolean } = {}): Promise<AppRecord> {
    validateNewApp(input);
    const limit = opts.appVersionLimit;
    let row: AppRow | undefined;
    try {
      row = await this.db.transaction(async (tx) => {
        // The name row stays locked until commit: a transfer cannot slip in between check and insert.
        const name = await claimName(tx, input.name, { owner: input.owner, ownerName: input.ownerName });
        if (name.owner !== input.owner && !opts.anyName) throw nameNotAvailable(input.name);
        if (limit !== undefined) {
          // Serializes imports by the same owner until commit; other owners are not held up.
          await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`appstore:app-owner:${input.owner}`}, 0))`);
          const [c] = await tx.select({ n: count() }).from(apps).where(eq(apps.owner, input.owner));
          const owned = c?.n ?? 0;
          if (owned >= limit) {
            throw new ForbiddenError(
              `${input.ownerName || input.owner} already owns ${owned} app versions and the app version limit (AppVersionLimit) is ${limit}; ` +
                'delete versions you no longer need (`h2o app delete <id>`) before importing another',
            );
          }
        }
        const [inserted] = await tx
          .insert(apps)
          .values({
            ...(input.id ? { id: input.id } : {}),
            name: input.name,
            version: input.version,
            title: input.title,
            description: input.description ?? '',
            category: input.category ?? '',
            keywords: input.keywords ?? [],
            owner: input.owner,
            ownerName: input.ownerName,
            visibility: input.visibility ?? 'PRIVATE',
            manifest: input.manifest,
            format: input.format,
            bundleKey: input.bundleKey,
            bundleSha256: input.bundleSha256,
            bundleSize: input.bundleSize,
            iconKey: input.iconKey ?? null,
            iconType: input.iconType ?? null,
            screenshots: input.screenshots ?? [],
            longDescription: input.longDescription ?? null,
            runtimeVersion: input.runtimeVersion ?? null,
            searchText: searchTextOf(input.title, input.description ?? '', input.keywords ?? []),
          })
          .returning(appColumns);
        return inserted;
      });
    } catch (err) {
      if (isPgError(err, UNIQUE_VIOLATION, 'apps_name_version_unique')) {
        throw new ConflictError(`app ${input.name} version ${input.version} already exists; bump [App] Version in app.toml`, { cause: err });
      }
      if (isPgError(err, UNIQUE_VIOLATION, 'apps_pkey')) {
        throw new ConflictError(`app id ${input.id} is already taken; import again`, { cause: err });
      }
      throw err;
    }
    if (!row) throw new Error('insert returned no row');
    return { ...row, tags: [] };
  }

  /** Who owns app name `name`; null when nobody has imported it. */
  async nameOwner(name: string): Promise<AppNameOwner | null> {
    const [row] = await this.db.select({ name: appNames.name, owner: appNames.owner, ownerName: appNames.ownerName }).from(appNames).where(eq(appNames.name, name)).limit(1);
    return row ?? (await firstImporter(this.db, name));
  }

  /**
   * Gives app name `name` to another owner (admins; the route checks). The
   * versions keep the owner who imported them; only who may import further
   * versions changes. NotFoundError when nobody has imported the name.
   */
  async transferName(name: string, to: { owner: string; ownerName: string }): Promise<AppNameOwner> {
    if (!to.owner) throw new InvalidError('invalid owner', [{ path: 'owner', message: 'owner is required: the subject of the new owner' }]);
    return this.db.transaction(async (tx) => {
      const current = await claimName(tx, name, null);
      if (!current) throw new NotFoundError(`app name ${name} not found; nobody has imported it`);
      const [row] = await tx
        .update(appNames)
        .set({ owner: to.owner, ownerName: to.ownerName || to.owner, updatedAt: sql`now()` })
        .where(eq(appNames.name, name))
        .returning({ name: appNames.name, owner: appNames.owner, ownerName: appNames.ownerName });
      if (!row) throw new Error('update returned no row');
      return row;
    });
  }

  /** One app version by id; NotFoundError when absent or when `id` is not a uuid. */
  async get(id: string): Promise<AppRecord> {
    if (!isUuid(id)) throw appNotFound(id);
    const [row] = await this.db.select(appColumns).from(apps).where(eq(apps.id, id)).limit(1);
    if (!row) throw appNotFound(id);
    return { ...row, tags: await this.tagsOf(row.id) };
  }

  /** One app version by name and version; NotFoundError when absent. */
  async getByNameVersion(name: string, version: string): Promise<AppRecord> {
    const [row] = await this.db
      .select(appColumns)
      .from(apps)
      .where(and(eq(apps.name, name), eq(apps.version, version)))
      .limit(1);
    if (!row) throw new NotFoundError(`app ${name} version ${version} not found; list its versions with \`h2o app list\``);
    return { ...row, tags: await this.tagsOf(row.id) };
  }

  /** The versions of app `name` the viewer may see, newest semver first. */
  async listVersions(name: string, viewer: Viewer, policy: VisibilityPolicy): Promise<AppRecord[]> {
    const filter = visibleTo(viewer, policy);
    if (filter === NOTHING) return [];
    const rows = await this.db
      .select(appColumns)
      .from(apps)
      .where(and(eq(apps.name, name), filter))
      .orderBy(desc(apps.createdAt), desc(apps.id));
    rows.sort(byVersionDesc);
    return this.withTags(rows);
  }

  /** A page of the apps the viewer may see, newest first. */
  async list(query: AppListQuery, viewer: Viewer, policy: VisibilityPolicy): Promise<AppPage> {
    const issues: FieldIssue[] = [];
    if (query.scope !== 'mine' && query.scope !== 'all') issues.push({ path: 'scope', message: 'scope must be "mine" or "all"' });
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      issues.push({ path: 'limit', message: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}` });
    }
    if (query.search !== undefined && query.search.length > MAX_SEARCH) {
      issues.push({ path: 'search', message: `search must be at most ${MAX_SEARCH} characters` });
    }
    const after = query.cursor ? decodeCursor(query.cursor, issues) : undefined;
    if (issues.length) throw new InvalidError('invalid app list query', issues);

    const where: (SQL | undefined)[] = [];
    if (query.scope === 'mine') {
      if (!viewer) return { items: [] };
      where.push(eq(apps.owner, viewer.subject));
    } else {
      const filter = visibleTo(viewer, policy);
      if (filter === NOTHING) return { items: [] };
      where.push(filter);
    }
    // Control characters cannot be typed into a search box; dropping them keeps
    // the U+0001 field separator in search_text from ever matching.
    const term = query.search?.replace(/[\u0000-\u001f]/g, '').trim();
    if (term) where.push(sql`${apps.searchText} ilike ${`%${escapeLike(term)}%`}`);
    if (query.category) where.push(eq(apps.category, query.category));
    if (query.tag) {
      where.push(
        exists(
          this.db
            .select({ one: sql`1` })
            .from(appTags)
            .innerJoin(tags, eq(tags.id, appTags.tagId))
            .where(and(eq(appTags.appId, apps.id), eq(tags.name, query.tag))),
        ),
      );
    }
    if (after) {
      // Row comparison: strictly after the last row of the previous page in (created_at desc, id desc).
      where.push(sql`(${apps.createdAt}, ${apps.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`);
    }
    const rows = await this.db
      .select(appColumns)
      .from(apps)
      .where(and(...where))
      .orderBy(desc(apps.createdAt), desc(apps.id))
      .limit(limit + 1);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { items: await this.withTags(page), ...(more && last ? { nextCursor: encodeCursor(last) } : {}) };
  }

  /** Changes the one mutable field of an app version. */
  async updateVisibility(id: string, visibility: Visibility): Promise<AppRecord> {
    if (!isVisibility(visibility)) {
      throw new InvalidError('invalid visibility', [{ path: 'visibility', message: 'visibility must be PRIVATE, ALL_USERS or PUBLIC' }]);
    }
    if (!isUuid(id)) throw appNotFound(id);
    const [row] = await this.db
      .update(apps)
      .set({ visibility, updatedAt: sql`now()` })
      .where(eq(apps.id, id))
      .returning(appColumns);
    if (!row) throw appNotFound(id);
    return { ...row, tags: await this.tagsOf(row.id) };
  }

  /** Deletes the row (and its tag assignments) and returns it, so the caller can delete its blobs. */
  async delete(id: string): Promise<AppRecord> {
    if (!isUuid(id)) throw appNotFound(id);
    const appTagsBefore = await this.tagsOf(id);
    const [row] = await this.db.delete(apps).where(eq(apps.id, id)).returning(appColumns);
    if (!row) throw appNotFound(id);
    return { ...row, tags: appTagsBefore };
  }

  /** How many app versions `owner` has (what the app version limit counts). */
  async countByOwner(owner: string): Promise<number> {
    const [c] = await this.db.select({ n: count() }).from(apps).where(eq(apps.owner, owner));
    return c?.n ?? 0;
  }

  /** The tags on one app, by name. */
  async tagsOf(appId: string): Promise<TagRecord[]> {
    if (!isUuid(appId)) throw appNotFound(appId);
    return (await this.tagsByApp([appId])).get(appId) ?? [];
  }

  private async tagsByApp(appIds: string[]): Promise<Map<string, TagRecord[]>> {
    const out = new Map<string, TagRecord[]>();
    if (!appIds.length) return out;
    const rows = await this.db
      .select({ appId: appTags.appId, tag: tagColumns })
      .from(appTags)
      .innerJoin(tags, eq(tags.id, appTags.tagId))
      .where(inArray(appTags.appId, appIds))
      .orderBy(asc(tags.name));
    for (const r of rows) {
      const list = out.get(r.appId);
      if (list) list.push(r.tag);
      else out.set(r.appId, [r.tag]);
    }
    return out;
  }

  private async withTags(rows: AppRow[]): Promise<AppRecord[]> {
    const byApp = await this.tagsByApp(rows.map((r) => r.id));
    return rows.map((r) => ({ ...r, tags: byApp.get(r.id) ?? [] }));
  }
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * The owner row of app name `name`, locked until the transaction ends. A
 * name without a row gets one: its oldest version's importer (versions
 * imported by a server older than the app_names table), else `claimant`
 * (null: claim nothing, answer null). Two first imports racing: the second
 * insert waits for the first to commit, does nothing, and reads its row.
 */
async function claimName(tx: Tx, name: string, claimant: { owner: string; ownerName: string }): Promise<AppNameOwner>;
async function claimName(tx: Tx, name: string, claimant: null): Promise<AppNameOwner | null>;
async function claimName(tx: Tx, name: string, claimant: { owner: string; ownerName: string } | null): Promise<AppNameOwner | null> {
  const read = async () => {
    const [row] = await tx.select({ name: appNames.name, owner: appNames.owner, ownerName: appNames.ownerName }).from(appNames).where(eq(appNames.name, name)).for('update').limit(1);
    return row;
  };
  const existing = await read();
  if (existing) return existing;
  const first = (await firstImporter(tx, name)) ?? (claimant && { name, ...claimant });
  if (!first) return null;
  await tx.insert(appNames).values({ name, owner: first.owner, ownerName: first.ownerName }).onConflictDoNothing();
  const row = await read();
  if (!row) throw new Error(`app name ${name} has no owner row after claiming it`);
  return row;
}

/** The importer of the oldest stored version of `name`, or null. */
async function firstImporter(db: Db | Tx, name: string): Promise<AppNameOwner | null> {
  const [row] = await db.select({ owner: apps.owner, ownerName: apps.ownerName }).from(apps).where(eq(apps.name, name)).orderBy(asc(apps.createdAt), asc(apps.id)).limit(1);
  return row ? { name, ...row } : null;
}

/**
 * The one answer to "you may not import under this name": the same whether
 * or not the caller can see any version of it, so a PRIVATE app's versions
 * stay unknown to them (the name itself is taken either way).
 */
export function nameNotAvailable(name: string): ForbiddenError {
  return new ForbiddenError(`app name ${name} is not available to you: another user owns it; choose another [App] Name in app.toml, or ask an admin to transfer the name to you`);
}

const NOTHING = Symbol('nothing visible');

/**
 * The visibility rule as SQL (undefined: no restriction; NOTHING: nothing at all):
 * anonymous — PUBLIC, and only with public access on; admin — everything;
 * full access — own + ALL_USERS + PUBLIC; visitor — own + PUBLIC + ALL_USERS
 * apps carrying a tag whose visitor_roles share a role with the visitor.
 */
function visibleTo(viewer: Viewer, policy: VisibilityPolicy): SQL | undefined | typeof NOTHING {
  if (!viewer) return policy.publicAccess ? eq(apps.visibility, 'PUBLIC') : NOTHING;
  if (viewer.admin) return undefined;
  const own = eq(apps.owner, viewer.subject);
  if (viewer.fullAccess) return or(own, inArray(apps.visibility, ['ALL_USERS', 'PUBLIC']));
  const roles = viewer.roles.filter((r) => typeof r === 'string' && r.length > 0);
  if (!roles.length) return or(own, eq(apps.visibility, 'PUBLIC'));
  const roleArray = sql`array[${sql.join(
    roles.map((r) => sql`${r}`),
    sql`, `,
  )}]::text[]`;
  // `offset 0` keeps PostgreSQL from turning this into a hashed subplan that
  // reads every tagged app on each query: per-row index probes cost a page's
  // worth of lookups instead (0.4 ms against 10 ms at 100k apps).
  const taggedForVisitor = sql`exists (select 1 from ${appTags} inner join ${tags} on ${tags.id} = ${appTags.tagId}
    where ${appTags.appId} = ${apps.id} and ${tags.visitorRoles} && ${roleArray} offset 0)`;
  return or(own, eq(apps.visibility, 'PUBLIC'), and(eq(apps.visibility, 'ALL_USERS'), taggedForVisitor));
}

/** What `search` matches against: the three fields joined by U+0001. */
export function searchTextOf(title: string, description: string, keywords: string[]): string {
  return [title, description, ...keywords].join('\u0001');
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

interface Cursor {
  createdAt: string;
  id: string;
}

function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string, issues: FieldIssue[]): Cursor | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      const [createdAt, id] = v as [string, string];
      const d = new Date(createdAt);
      if (!Number.isNaN(d.getTime()) && d.toISOString() === createdAt && isUuid(id)) return { createdAt, id };
    }
  } catch {
    // fall through to the issue below
  }
  issues.push({ path: 'cursor', message: 'cursor is not one this server handed out; pass the nextCursor of the previous page, or leave it out to start over' });
  return undefined;
}

function byVersionDesc(a: AppRow, b: AppRow): number {
  const va = semver.valid(a.version);
  const vb = semver.valid(b.version);
  if (va && vb) return semver.rcompare(va, vb);
  if (va) return -1;
  if (vb) return 1;
  return 0; // both non-semver: keep the newest-first order from SQL (sort is stable)
}

function appNotFound(id: string): NotFoundError {
  return new NotFoundError(`app ${id} not found; list apps with \`h2o app list\``);
}

function validateNewApp(a: NewApp): void {
  const issues: FieldIssue[] = [];
  const required = ['name', 'version', 'title', 'owner', 'bundleKey', 'bundleSha256'] as const;
  for (const k of required) {
    if (typeof a[k] !== 'string' || !a[k]) issues.push({ path: k, message: `${k} is required` });
  }
  if (a.id !== undefined && !isUuid(a.id)) issues.push({ path: 'id', message: 'id must be a uuid' });
  if (a.visibility !== undefined && !isVisibility(a.visibility)) {
    issues.push({ path: 'visibility', message: 'visibility must be PRIVATE, ALL_USERS or PUBLIC' });
  }
  if (a.format !== 'wave' && a.format !== 'qz') issues.push({ path: 'format', message: 'format must be "wave" or "qz"' });
  if (!Number.isSafeInteger(a.bundleSize) || a.bundleSize < 0) {
    issues.push({ path: 'bundleSize', message: 'bundleSize must be a whole number of bytes' });
  }
  if (a.keywords !== undefined && (!Array.isArray(a.keywords) || a.keywords.some((k) => typeof k !== 'string'))) {
    issues.push({ path: 'keywords', message: 'keywords must be a list of strings' });
  }
  if (issues.length) throw new InvalidError('invalid app', issues);
}
