/**
 * Request and response schemas of the REST API (TypeBox → JSON Schema →
 * OpenAPI). The CLI imports the static types from here; it talks to the
 * server over HTTP only.
 */
import { Type, type Static } from '@sinclair/typebox';

export const VisibilitySchema = Type.Union([Type.Literal('PRIVATE'), Type.Literal('ALL_USERS'), Type.Literal('PUBLIC')], {
  description: 'PRIVATE: the owner only; ALL_USERS: every signed-in user with full access; PUBLIC: anyone, anonymous users included.',
});

export const ErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'Error class: Invalid, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, Internal.' }),
    message: Type.String(),
    issues: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Error', description: 'An error. Only client errors (4xx) carry a specific message.' },
);
export type ApiError = Static<typeof ErrorSchema>;

export const TagSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    title: Type.String(),
    color: Type.String({ description: 'RGB colour, #RRGGBB.' }),
    description: Type.String(),
    adminRoles: Type.Array(Type.String(), { description: 'Roles that may assign, remove and update the tag; empty means any full-access user.' }),
    visitorRoles: Type.Array(Type.String(), { description: 'Visitors holding one of these roles see ALL_USERS apps carrying the tag.' }),
    isCategory: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Tag' },
);
export type Tag = Static<typeof TagSchema>;

export const AppSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ description: 'Machine-oriented name from app.toml; versions of one app share it.' }),
    version: Type.String(),
    title: Type.String(),
    description: Type.String(),
    longDescription: Type.Optional(Type.String({ description: 'Markdown from the bundle; render it sanitized.' })),
    category: Type.String(),
    keywords: Type.Array(Type.String()),
    owner: Type.String({ description: 'Subject of the owner.' }),
    ownerName: Type.String(),
    visibility: VisibilitySchema,
    format: Type.Union([Type.Literal('wave'), Type.Literal('qz')]),
    bundleSha256: Type.String(),
    bundleSize: Type.Integer(),
    iconUrl: Type.Optional(Type.String()),
    screenshotUrls: Type.Array(Type.String()),
    runtimeVersion: Type.Optional(Type.String()),
    module: Type.String({ description: 'Python module the app runs as (python3 -m).' }),
    manifest: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The parsed app.toml; only for the owner and admins, since [[File]] and [[Env]] values may be meant for the app alone.' })),
    tags: Type.Array(TagSchema),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'App' },
);
export type App = Static<typeof AppSchema>;

export const ImportResultSchema = Type.Object(
  { app: AppSchema, warnings: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })) },
  { $id: 'ImportResult' },
);
export type ImportResult = Static<typeof ImportResultSchema>;

export const AppListSchema = Type.Object(
  { items: Type.Array(AppSchema), nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` to get the next page.' })) },
  { $id: 'AppList' },
);
export type AppList = Static<typeof AppListSchema>;

export const AppListQuerySchema = Type.Object({
  scope: Type.Optional(Type.Union([Type.Literal('mine'), Type.Literal('all')], { default: 'all', description: 'mine: apps I own; all: every app I may see.' })),
  search: Type.Optional(Type.String({ maxLength: 200, description: 'Matches title, description and keywords (case-insensitive).' })),
  category: Type.Optional(Type.String({ maxLength: 100 })),
  tag: Type.Optional(Type.String({ maxLength: 100, description: 'Tag name.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
});
export type AppListQuery = Static<typeof AppListQuerySchema>;

export const ImportQuerySchema = Type.Object({
  visibility: Type.Optional(VisibilitySchema),
});

export const UpdateAppSchema = Type.Object({ visibility: VisibilitySchema }, { additionalProperties: false });

export const NewTagSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$', description: 'Lowercase letters, digits, - _ and .' }),
    title: Type.Optional(Type.String({ maxLength: 100 })),
    color: Type.Optional(Type.String({ pattern: '^#[0-9a-fA-F]{6}$' })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    adminRoles: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
    visitorRoles: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
    isCategory: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type NewTag = Static<typeof NewTagSchema>;

export const UpdateTagSchema = Type.Partial(Type.Omit(NewTagSchema, ['name']), { additionalProperties: false, minProperties: 1, description: 'Fields to change; the name never changes.' });
export type UpdateTag = Static<typeof UpdateTagSchema>;

export const MeSchema = Type.Object(
  {
    signedIn: Type.Boolean(),
    subject: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    roles: Type.Array(Type.String()),
    admin: Type.Boolean(),
    fullAccess: Type.Boolean(),
    visitor: Type.Boolean(),
  },
  { $id: 'Me' },
);
export type Me = Static<typeof MeSchema>;

export const IdParamSchema = Type.Object({ id: Type.String({ maxLength: 100 }) });
export const TagRefParamSchema = Type.Object({ id: Type.String({ maxLength: 100 }), tag: Type.String({ maxLength: 100 }) });
