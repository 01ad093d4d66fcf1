/**
 * Request and response schemas of the REST API (TypeBox → JSON Schema →
 * OpenAPI). The CLI imports the static types from here; it talks to the
 * server over HTTP only.
 */
import { Type, type Static } from '@sinclair/typebox';
// The CRD modules are TypeBox-only (no Kubernetes client), so the CLI may import this file.
import { INSTANCE_SUMMARIES, LABEL_VALUE_PATTERN } from '../k8s/crd/appinstance.ts';
import { DNS_SUBDOMAIN_PATTERN, QUANTITY_PATTERN } from '../k8s/crd/kube-schema.ts';

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
    adminRoles: Type.Array(Type.String(), { description: 'Roles that may assign, remove and update the tag; empty means admins only.' }),
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

export const AppNameParamSchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200, description: '[App] Name from app.toml' }) });

export const TransferAppNameSchema = Type.Object(
  {
    owner: Type.String({ minLength: 1, maxLength: 200, description: 'Subject of the new owner of the name.' }),
    ownerName: Type.Optional(Type.String({ maxLength: 200, description: 'Display name of the new owner (default: the subject).' })),
  },
  { additionalProperties: false },
);

export const AppNameOwnerSchema = Type.Object(
  {
    name: Type.String(),
    owner: Type.String({ description: 'Subject of the user who may import versions of this name (besides admins).' }),
    ownerName: Type.String(),
  },
  { $id: 'AppNameOwner', description: 'Who owns an app name: its first importer, until an admin transfers it.' },
);
export type AppNameOwner = Static<typeof AppNameOwnerSchema>;

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

// ---- Instances and runtime versions (AppInstance / RuntimeVersion objects seen through the API) ----

export const InstanceSummarySchema = Type.Union(INSTANCE_SUMMARIES.map((s) => Type.Literal(s)), {
  description: 'One word for humans: Pending, Starting, Ready, Degraded, Suspending, Suspended, Terminating, Failed, Unknown.',
});

export const InstanceSchema = Type.Object(
  {
    id: Type.String({ description: 'The instance name (the AppInstance name, a DNS label); also the first label of its URL.' }),
    appId: Type.String({ description: 'Id of the app version the instance runs.' }),
    appName: Type.String({ description: 'Machine name of the app (empty while the operator has not resolved an app named by id).' }),
    appVersion: Type.String(),
    appTitle: Type.String(),
    owner: Type.String({ description: 'Subject of the user who launched the instance.' }),
    ownerName: Type.String(),
    visibility: VisibilitySchema,
    runtimeVersion: Type.Optional(Type.String({ description: 'RuntimeVersion asked for, or the one the operator resolved.' })),
    suspended: Type.Boolean({ description: 'True when the instance is asked to be stopped (spec.suspend).' }),
    status: InstanceSummarySchema,
    reason: Type.Optional(Type.String({ description: 'Why the instance is not Ready (CamelCase, from its Ready condition).' })),
    message: Type.Optional(Type.String({ description: 'Why the instance is not Ready, in words.' })),
    url: Type.Optional(Type.String({ description: 'Where to open the instance.' })),
    createdAt: Type.String({ format: 'date-time' }),
    readyAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { $id: 'Instance' },
);
export type Instance = Static<typeof InstanceSchema>;

export const InstanceListSchema = Type.Object(
  { items: Type.Array(InstanceSchema), nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` to get the next page.' })) },
  { $id: 'InstanceList' },
);
export type InstanceList = Static<typeof InstanceListSchema>;

export const InstanceConditionSchema = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer()),
});
export type InstanceCondition = Static<typeof InstanceConditionSchema>;

export const InstanceContainerSchema = Type.Object({
  name: Type.String(),
  ready: Type.Boolean(),
  restarts: Type.Integer({ minimum: 0 }),
  state: Type.Union([Type.Literal('waiting'), Type.Literal('running'), Type.Literal('terminated')]),
  reason: Type.Optional(Type.String({ description: 'e.g. CrashLoopBackOff, ImagePullBackOff, Error, OOMKilled.' })),
  message: Type.Optional(Type.String()),
  exitCode: Type.Optional(Type.Integer({ description: 'Exit code of the current (terminated) or, while waiting after a crash, the last run.' })),
});
export type InstanceContainer = Static<typeof InstanceContainerSchema>;

export const InstancePodSchema = Type.Object({
  name: Type.String(),
  phase: Type.String({ description: 'Pending, Running, Succeeded, Failed or Unknown.' }),
  node: Type.Optional(Type.String()),
  containers: Type.Array(InstanceContainerSchema),
});

export const InstanceEventSchema = Type.Object({
  type: Type.String({ description: 'Normal or Warning.' }),
  reason: Type.String(),
  message: Type.String(),
  count: Type.Integer({ minimum: 1 }),
  lastTimestamp: Type.String({ format: 'date-time' }),
});
export type InstanceEvent = Static<typeof InstanceEventSchema>;

export const InstanceStatusDetailSchema = Type.Intersect(
  [
    InstanceSchema,
    Type.Object({
      conditions: Type.Array(InstanceConditionSchema),
      pod: Type.Optional(InstancePodSchema),
      events: Type.Array(InstanceEventSchema, { description: 'Recent events of the instance and its pods, oldest first.' }),
    }),
  ],
  { $id: 'InstanceStatusDetail' },
);
export type InstanceStatusDetail = Static<typeof InstanceStatusDetailSchema>;

const ApiQuantity = (description: string) =>
  // String first: with type coercion on, '1' stays the string the caller sent.
  Type.Union([Type.String({ pattern: QUANTITY_PATTERN, maxLength: 64 }), Type.Integer({ minimum: 0 })], { description });

/** spec.overrides of an AppInstance, without the CRD's x-kubernetes keywords (the apiserver checks the cross-field rules). */
export const InstanceOverridesSchema = Type.Object(
  {
    memoryLimit: Type.Optional(ApiQuantity('Memory limit (Kubernetes quantity, e.g. 2Gi).')),
    memoryReservation: Type.Optional(ApiQuantity('Memory request (e.g. 512Mi).')),
    cpuLimit: Type.Optional(ApiQuantity('CPU limit (e.g. 2 or 1500m).')),
    cpuReservation: Type.Optional(ApiQuantity('CPU request (e.g. 500m).')),
    gpuCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
    gpuType: Type.Optional(Type.String({ maxLength: 63, pattern: LABEL_VALUE_PATTERN, description: 'A value of the hac.h2o.ai/accelerator node label.' })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  },
  { additionalProperties: false, description: 'Admin-only resource overrides (spec.overrides of the AppInstance).' },
);

export const NewInstanceSchema = Type.Object(
  {
    visibility: Type.Optional(VisibilitySchema),
    runtimeVersion: Type.Optional(
      Type.String({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN, description: 'Name of a RuntimeVersion (GET /runtime-versions); unset: the app\'s, else the default one.' }),
    ),
    overrides: Type.Optional(InstanceOverridesSchema),
  },
  { additionalProperties: false, description: 'PRIVATE unless visibility says otherwise. overrides are for admins only.' },
);
export type NewInstance = Static<typeof NewInstanceSchema>;

export const UpdateInstanceSchema = Type.Object({ visibility: VisibilitySchema }, { additionalProperties: false });

export const InstanceListQuerySchema = Type.Object({
  all: Type.Optional(Type.Boolean({ description: "Admins: everyone's instances (others: 403)." })),
  app: Type.Optional(Type.String({ maxLength: 100, description: 'Only instances of this app id.' })),
  owner: Type.Optional(Type.String({ maxLength: 255, description: 'Only instances launched by this subject.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 200, description: 'Page size, newest first.' })),
  cursor: Type.Optional(Type.String({ maxLength: 400, description: 'The nextCursor of the previous page.' })),
});
export type InstanceListQuery = Static<typeof InstanceListQuerySchema>;

export const InstanceLogsQuerySchema = Type.Object({
  follow: Type.Optional(Type.Boolean({ description: 'Keep the response open and stream new lines.' })),
  previous: Type.Optional(Type.Boolean({ description: 'Logs of the previous (crashed) run of the container.' })),
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, description: 'Only the last N lines.' })),
});
export type InstanceLogsQuery = Static<typeof InstanceLogsQuerySchema>;

export const RuntimeVersionSchema = Type.Object(
  {
    name: Type.String(),
    image: Type.String(),
    default: Type.Boolean(),
    deprecated: Type.Boolean({ description: 'New instances may not use it.' }),
    instances: Type.Integer({ minimum: 0, description: 'Instances using it.' }),
  },
  { $id: 'RuntimeVersion' },
);
export type RuntimeVersionInfo = Static<typeof RuntimeVersionSchema>;

export const RuntimeVersionListSchema = Type.Object({ items: Type.Array(RuntimeVersionSchema) }, { $id: 'RuntimeVersionList' });
export type RuntimeVersionInfoList = Static<typeof RuntimeVersionListSchema>;

/** A platform API token as listed (never its secret). */
export const TokenSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Last use, to the minute.' })),
    expired: Type.Boolean(),
  },
  { $id: 'Token' },
);
export type TokenJson = Static<typeof TokenSchema>;
