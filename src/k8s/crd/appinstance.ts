/**
 * AppInstance: one user's running (or suspended) copy of an app version.
 * The spec is the user's intent only; the status is what the operator
 * observed. Schema, TypeScript types and CRD YAML all come from here.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';
import { VISIBILITIES } from '../../lib/principal.ts';
import type { Visibility } from '../../lib/principal.ts';
import { ConditionsSchema } from './condition.ts';
import { API_VERSION } from './group.ts';
import { cel, DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, Quantity, StringEnum, Time } from './kube-schema.ts';
import type { CelRule } from './kube-schema.ts';

export const APP_INSTANCE_KIND = 'AppInstance';
export const APP_INSTANCE_LIST_KIND = 'AppInstanceList';
export const APP_INSTANCE_PLURAL = 'appinstances';
export const APP_INSTANCE_SINGULAR = 'appinstance';
export const APP_INSTANCE_SHORT_NAMES = ['inst'];
/** The instance name becomes one DNS label of its URL (`<instance>.<apps-domain>`). */
export const MAX_INSTANCE_NAME_LENGTH = 63;

/** Lowercase RFC 4122 UUID, the form app ids take. */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
/** An app's machine name from app.toml (`ai.h2o.wave.my-app`): letters, digits, '.', '_', '-'. */
export const APP_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$';
/** A semver.org 2.0.0 version (`1.2.3`, `1.0.0-rc.1+build.5`), without a leading `v`. */
export const SEMVER_PATTERN =
  '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-((0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?(\\+([0-9a-zA-Z-]+(\\.[0-9a-zA-Z-]+)*))?$';
/** A Kubernetes label value (GPU types match the `hac.h2o.ai/accelerator` node label). */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';

export const AppRefSchema = Type.Object(
  {
    id: Type.Optional(
      Type.String({ description: 'Id of the app version to run (a UUID). Use either id, or name and version.', minLength: 36, maxLength: 36, pattern: UUID_PATTERN }),
    ),
    name: Type.Optional(
      Type.String({ description: 'Machine name of the app, as in its app.toml (e.g. ai.h2o.wave.my-app). Needs version.', minLength: 1, maxLength: 253, pattern: APP_NAME_PATTERN }),
    ),
    version: Type.Optional(Type.String({ description: 'Semantic version of the app to run (e.g. 1.2.0). Needs name.', minLength: 5, maxLength: 128, pattern: SEMVER_PATTERN })),
  },
  {
    description: 'Which app version to run: either {id} or {name, version}. Immutable.',
    ...cel(
      {
        rule: 'has(self.id) || has(self.name) || has(self.version)',
        message: 'spec.app needs an app reference: set either id (an app id) or name and version',
        reason: 'FieldValueRequired',
      },
      { rule: '!(has(self.id) && (has(self.name) || has(self.version)))', message: 'spec.app takes either id or name and version, not both: remove one of them' },
      { rule: 'has(self.name) == has(self.version)', message: 'spec.app.name and spec.app.version go together: set both (or use id instead)' },
      { rule: 'self == oldSelf', message: 'spec.app is immutable: launch a new instance to run another app or version' },
    ),
  },
);
export type AppRef = Static<typeof AppRefSchema>;

export const OwnerSchema = Type.Object(
  {
    subject: Type.String({ description: "Owner's stable subject identifier from the identity provider (OIDC sub).", minLength: 1, maxLength: 255 }),
    name: Type.String({ description: "Owner's human-readable name shown in listings (e-mail or preferred username).", minLength: 1, maxLength: 256 }),
  },
  {
    description: 'The user who launched the instance; PRIVATE instances are visible to this user only. Immutable.',
    ...cel({ rule: 'self == oldSelf', message: 'spec.owner is immutable: an instance cannot change hands' }),
  },
);
export type Owner = Static<typeof OwnerSchema>;

const quantityRule = (limit: string, reservation: string, what: string): CelRule => ({
  // The pattern check reports malformed quantities; these guards keep quantity() from failing on them a second time.
  rule:
    `!has(self.${limit}) || !has(self.${reservation}) || !isQuantity(string(self.${limit})) || !isQuantity(string(self.${reservation})) || ` +
    `quantity(string(self.${reservation})).compareTo(quantity(string(self.${limit}))) <= 0`,
  message: `spec.overrides.${reservation} must not exceed spec.overrides.${limit}: lower the ${what} reservation or raise the limit`,
  fieldPath: `.${reservation}`,
});

export const OverridesSchema = Type.Object(
  {
    memoryLimit: Type.Optional(Quantity({ description: 'Memory limit of the app container (Kubernetes quantity, e.g. 2Gi); replaces the app and platform default.' })),
    memoryReservation: Type.Optional(Quantity({ description: 'Memory request of the app container (e.g. 512Mi); replaces the app and platform default.' })),
    cpuLimit: Type.Optional(Quantity({ description: 'CPU limit of the app container (e.g. 2 or 1500m).' })),
    cpuReservation: Type.Optional(Quantity({ description: 'CPU request of the app container (e.g. 500m).' })),
    gpuCount: Type.Optional(Type.Integer({ description: 'Number of GPUs to allocate to the instance.', format: 'int32', minimum: 0, maximum: 16 })),
    gpuType: Type.Optional(
      Type.String({ description: 'GPU type: a value of the hac.h2o.ai/accelerator node label; unset means any type.', maxLength: 63, pattern: LABEL_VALUE_PATTERN }),
    ),
    timeoutSeconds: Type.Optional(
      Type.Integer({ description: 'How long the instance may take to start (or stop) before it is marked failed, in seconds.', format: 'int32', minimum: 1, maximum: 86400 }),
    ),
  },
  {
    description: 'Admin-only resource overrides; the API rejects them from non-admins. Unset fields use the app or platform defaults.',
    ...cel(quantityRule('memoryLimit', 'memoryReservation', 'memory'), quantityRule('cpuLimit', 'cpuReservation', 'CPU'), {
      rule: '!has(self.gpuType) || (has(self.gpuCount) && self.gpuCount > 0)',
      message: 'spec.overrides.gpuType needs spec.overrides.gpuCount of at least 1',
      fieldPath: '.gpuType',
    }),
  },
);
export type Overrides = Static<typeof OverridesSchema>;

export const AppInstanceSpecSchema = Type.Object(
  {
    app: AppRefSchema,
    owner: OwnerSchema,
    visibility: Type.Optional(
      StringEnum(VISIBILITIES, {
        description: 'Who may open the instance: PRIVATE (the owner only), ALL_USERS (any signed-in user with full access) or PUBLIC (anyone, anonymous included).',
        default: 'PRIVATE',
      }),
    ),
    runtimeVersion: Type.Optional(
      Type.String({
        description: 'Name of the RuntimeVersion (runtime image) to run the app in; unset means the default RuntimeVersion. Immutable.',
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Stop the instance but keep it (and its data); false starts it again.', default: false })),
    overrides: Type.Optional(OverridesSchema),
  },
  {
    description: "The user's intent: which app to run, for whom, who may open it, and whether it runs.",
    ...cel({
      // On the parent so that adding or removing the field is caught too (a rule on an optional field only sees updates of it).
      rule: 'has(self.runtimeVersion) == has(oldSelf.runtimeVersion) && (!has(self.runtimeVersion) || self.runtimeVersion == oldSelf.runtimeVersion)',
      message: 'spec.runtimeVersion is immutable: launch a new instance to use another runtime version',
      fieldPath: '.runtimeVersion',
    }),
  },
);
export type AppInstanceSpec = Static<typeof AppInstanceSpecSchema>;

export const ResolvedAppSchema = Type.Object(
  {
    appId: Type.Optional(Type.String({ description: 'Id of the app version that runs.', maxLength: 36, pattern: UUID_PATTERN })),
    appName: Type.Optional(Type.String({ description: 'Machine name of the app.', maxLength: 253 })),
    appVersion: Type.Optional(Type.String({ description: 'Version of the app.', maxLength: 128 })),
    appTitle: Type.Optional(Type.String({ description: 'Human-readable title of the app.', maxLength: 1024 })),
    module: Type.Optional(Type.String({ description: 'Python module the launcher starts (python -m <module>).', maxLength: 256 })),
    bundleDigest: Type.Optional(
      Type.String({ description: 'Digest of the app bundle, as <algorithm>:<hex> (e.g. sha256:ab12…).', maxLength: 256, pattern: '^[a-z0-9]+([+._-][a-z0-9]+)*:[a-f0-9]{32,}$' }),
    ),
    runtimeVersion: Type.Optional(Type.String({ description: 'Name of the RuntimeVersion in use (the default one when spec.runtimeVersion is unset).', maxLength: 253 })),
    image: Type.Optional(Type.String({ description: 'Container image the instance runs.', maxLength: 512 })),
  },
  { description: 'What the operator resolved the spec to: the app version, its bundle and the runtime image.' },
);
export type ResolvedApp = Static<typeof ResolvedAppSchema>;

/** Summary words for the CLI and printer columns. Informational: logic reads conditions. */
export const INSTANCE_SUMMARIES = ['Pending', 'Starting', 'Ready', 'Degraded', 'Suspending', 'Suspended', 'Terminating', 'Failed', 'Unknown'] as const;
export type InstanceSummary = (typeof INSTANCE_SUMMARIES)[number];

/** Condition types the operator sets on an AppInstance. */
export const INSTANCE_CONDITIONS = {
  /** The instance serves traffic. */
  Ready: 'Ready',
  /** The app reference and runtime version were resolved. */
  Resolved: 'Resolved',
  /** The pod was scheduled to a node. */
  Scheduled: 'Scheduled',
  /** The instance's volumes are bound. */
  StorageBound: 'StorageBound',
  /** A rollout (start, restart, update, suspend) is under way. */
  Progressing: 'Progressing',
} as const;

export const AppInstanceStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation the operator last acted on.', format: 'int64', minimum: 0 })),
    conditions: Type.Optional(ConditionsSchema('Current state: Ready, plus finer conditions such as Resolved, Scheduled, StorageBound, Progressing.')),
    summary: Type.Optional(StringEnum(INSTANCE_SUMMARIES, { description: 'One word for humans (Ready, Starting, Suspended, Failed…). Informational only: read the conditions.' })),
    url: Type.Optional(Type.String({ description: 'Where users open the instance.', maxLength: 2048, pattern: '^https?://' })),
    resolved: Type.Optional(ResolvedAppSchema),
    startedAt: Type.Optional(Time({ description: 'When the current run of the instance started (pod created).' })),
    readyAt: Type.Optional(Time({ description: 'When the instance last became Ready.' })),
    lastActivityTime: Type.Optional(Time({ description: 'Last time a user request reached the instance (for idle suspension).' })),
  },
  { description: 'What the operator observed. Written only through the status subresource.' },
);
export type AppInstanceStatus = Static<typeof AppInstanceStatusSchema>;

/** Rules on the whole object: CEL at the root may read metadata.name. */
export const APP_INSTANCE_ROOT_RULES: CelRule[] = [
  {
    rule: `self.metadata.name.size() <= ${MAX_INSTANCE_NAME_LENGTH} && self.metadata.name.matches('${DNS_LABEL_PATTERN}')`,
    message: `metadata.name must be a DNS label (at most ${MAX_INSTANCE_NAME_LENGTH} lowercase letters, digits and '-', no dots): it becomes the instance's host name`,
    fieldPath: '.metadata.name',
  },
];

/** An AppInstance object as the Kubernetes API returns it. */
export interface AppInstance {
  apiVersion: typeof API_VERSION;
  kind: typeof APP_INSTANCE_KIND;
  metadata: V1ObjectMeta;
  spec: AppInstanceSpec;
  status?: AppInstanceStatus;
}

/** A list of AppInstances (LIST response). */
export interface AppInstanceList {
  apiVersion: typeof API_VERSION;
  kind: typeof APP_INSTANCE_LIST_KIND;
  metadata: V1ListMeta;
  items: AppInstance[];
}

/** A new AppInstance manifest (no status). */
export function appInstance(name: string, namespace: string, spec: AppInstanceSpec, metadata: Omit<V1ObjectMeta, 'name' | 'namespace'> = {}): AppInstance {
  return { apiVersion: API_VERSION, kind: APP_INSTANCE_KIND, metadata: { ...metadata, name, namespace }, spec };
}

/** The instance's visibility; the apiserver defaults it, this covers objects built in memory. */
export function instanceVisibility(inst: Pick<AppInstance, 'spec'>): Visibility {
  return inst.spec.visibility ?? 'PRIVATE';
}

const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

/** Why `name` cannot name an AppInstance, or undefined when it can (the same rule as the CRD's). */
export function instanceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the instance name is empty: use lowercase letters, digits and -';
  if (name.length > MAX_INSTANCE_NAME_LENGTH) return `the instance name is ${name.length} characters long: use at most ${MAX_INSTANCE_NAME_LENGTH}`;
  if (!DNS_LABEL.test(name)) return 'the instance name must be lowercase letters, digits and -, starting and ending with a letter or digit';
  return undefined;
}
