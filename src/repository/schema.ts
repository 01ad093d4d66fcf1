/**
 * The App Repository's tables, the one source of the SQL migrations in
 * ./migrations (generate them with `npx drizzle-kit generate`; see
 * docs/storage.md). The same schema and migrations serve PGlite and
 * PostgreSQL.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import type { Visibility } from '../lib/principal.ts';

/** Bundle formats: Wave bundles and the older q8s (`qz`) ones. */
export type BundleFormat = 'wave' | 'qz';

/** A stored file beside the bundle (screenshots), with its media type. */
export interface StoredFile {
  key: string;
  type: string;
}

// Millisecond precision so a timestamp read into a JS Date and written back
// into a pagination cursor compares equal to the stored value.
function timestampColumn(name: string) {
  return timestamp(name, { withTimezone: true, precision: 3, mode: 'date' }).notNull().defaultNow();
}

/** One row per app name + version; immutable except visibility. */
export const apps = pgTable(
  'apps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    category: text('category').notNull().default(''),
    keywords: text('keywords').array().notNull().default(sql`'{}'::text[]`),
    owner: text('owner').notNull(),
    ownerName: text('owner_name').notNull(),
    visibility: text('visibility').$type<Visibility>().notNull().default('PRIVATE'),
    manifest: jsonb('manifest').$type<Record<string, unknown>>().notNull(),
    format: text('format').$type<BundleFormat>().notNull(),
    bundleKey: text('bundle_key').notNull(),
    bundleSha256: text('bundle_sha256').notNull(),
    bundleSize: bigint('bundle_size', { mode: 'number' }).notNull(),
    iconKey: text('icon_key'),
    iconType: text('icon_type'),
    screenshots: jsonb('screenshots').$type<StoredFile[]>().notNull().default(sql`'[]'::jsonb`),
    longDescription: text('long_description'),
    runtimeVersion: text('runtime_version'),
    // title, description and keywords joined with U+0001 (a character a search
    // term never holds), so one trigram index serves "ILIKE over any of them".
    // Written once at insert: those fields never change.
    searchText: text('search_text').notNull(),
    createdAt: timestampColumn('created_at'),
    updatedAt: timestampColumn('updated_at'),
  },
  (t) => [
    unique('apps_name_version_unique').on(t.name, t.version),
    check('apps_visibility_check', sql`${t.visibility} in ('PRIVATE', 'ALL_USERS', 'PUBLIC')`),
    check('apps_format_check', sql`${t.format} in ('wave', 'qz')`),
    // Keyset pagination: (created_at desc, id desc), overall and per owner / visibility.
    // NULLS FIRST is what a plain ORDER BY ... DESC means, so the planner matches these.
    index('apps_created_at_id_idx').on(t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('apps_owner_created_at_id_idx').on(t.owner, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('apps_visibility_created_at_id_idx').on(t.visibility, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index('apps_category_idx').on(t.category),
    index('apps_search_text_trgm_idx').using('gin', t.searchText.op('gin_trgm_ops')),
  ],
);

/**
 * Who owns each app name: the first importer of any version of it (issue #24
 * item 6), until an admin transfers it. Only the name's owner (and admins)
 * may import further versions. A row outlives the versions of its name, so
 * deleting every version does not hand the name to the next importer.
 */
export const appNames = pgTable('app_names', {
  name: text('name').primaryKey(),
  owner: text('owner').notNull(),
  ownerName: text('owner_name').notNull(),
  createdAt: timestampColumn('created_at'),
  updatedAt: timestampColumn('updated_at'),
});

/** Labels on apps; visitor_roles also open ALL_USERS apps to visitors holding one of them. */
export const tags = pgTable(
  'tags',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    title: text('title').notNull(),
    color: text('color').notNull(),
    description: text('description').notNull().default(''),
    adminRoles: text('admin_roles').array().notNull().default(sql`'{}'::text[]`),
    visitorRoles: text('visitor_roles').array().notNull().default(sql`'{}'::text[]`),
    isCategory: boolean('is_category').notNull().default(false),
    createdAt: timestampColumn('created_at'),
  },
  (t) => [
    unique('tags_name_unique').on(t.name),
    check('tags_color_check', sql`${t.color} ~ '^#[0-9A-Fa-f]{6}$'`),
  ],
);

export const appTags = pgTable(
  'app_tags',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    tagId: uuid('tag_id')
      .notNull()
      .references(() => tags.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.appId, t.tagId] }), index('app_tags_tag_id_idx').on(t.tagId)],
);

/**
 * Secrets the server generates for itself (e.g. the key that signs launcher
 * tokens), kept in the database so every replica shares them.
 */
export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestampColumn('created_at'),
});

/**
 * Browser sign-in sessions (Auth.Mode = oidc), in the database so every
 * replica sees them. The cookie holds a random token; only its SHA-256 is
 * stored. The provider's tokens are stored encrypted (AES-256-GCM with a
 * server secret): the ID token for logout, the refresh token for refresh.
 */
export const sessions = pgTable(
  'sessions',
  {
    idHash: text('id_hash').primaryKey(),
    subject: text('subject').notNull(),
    name: text('name').notNull(),
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    idToken: text('id_token'),
    refreshToken: text('refresh_token'),
    /** When the provider's tokens expire; the session refreshes them with the refresh token after that. */
    tokenExpiresAt: timestamp('token_expires_at', { withTimezone: true, precision: 3, mode: 'date' }),
    createdAt: timestampColumn('created_at'),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3, mode: 'date' }).notNull(),
    lastSeenAt: timestampColumn('last_seen_at'),
  },
  (t) => [index('sessions_subject_idx').on(t.subject), index('sessions_expires_at_idx').on(t.expiresAt)],
);

/**
 * Platform API tokens (scripts, CI): named, expiring, revocable. Only the
 * SHA-256 of the secret is stored. A token carries its creator's identity
 * and roles as they were at creation (docs/auth.md).
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    secretHash: text('secret_hash').notNull().unique(),
    name: text('name').notNull(),
    subject: text('subject').notNull(),
    userName: text('user_name').notNull(),
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestampColumn('created_at'),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3, mode: 'date' }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3, mode: 'date' }),
  },
  (t) => [unique('api_tokens_subject_name_unique').on(t.subject, t.name), index('api_tokens_expires_at_idx').on(t.expiresAt)],
);
