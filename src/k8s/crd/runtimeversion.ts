/**
 * RuntimeVersion: a container image that app instances can run in
 * (cluster-scoped, managed by admins). Schema, TypeScript types and CRD YAML
 * all come from here.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';
import { ConditionsSchema } from './condition.ts';
import { API_VERSION, GROUP } from './group.ts';
import { cel } from './kube-schema.ts';

export const RUNTIME_VERSION_KIND = 'RuntimeVersion';
export const RUNTIME_VERSION_LIST_KIND = 'RuntimeVersionList';
export const RUNTIME_VERSION_PLURAL = 'runtimeversions';
export const RUNTIME_VERSION_SINGULAR = 'runtimeversion';
export const RUNTIME_VERSION_SHORT_NAMES = ['rv'];
/** Finalizer that keeps a RuntimeVersion in use by instances from being deleted (set by the operator). */
export const RUNTIME_VERSION_PROTECTION_FINALIZER = `${GROUP}/runtimeversion-protection`;

/**
 * A container image reference as distribution/reference parses it: an
 * optional registry (recognised, as Docker does, by a dot, a port or
 * `localhost`), lowercase path components, optional :tag and @digest.
 * (IPv6 registry hosts are not accepted.)
 */
const HOST_PART = '([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const PATH_PART = '[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*';
export const IMAGE_PATTERN =
  `^((localhost|${HOST_PART}(\\.${HOST_PART})+)(:[0-9]+)?/|${HOST_PART}:[0-9]+/)?` +
  `${PATH_PART}(/${PATH_PART})*` +
  '(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?' +
  '(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$';

export const RuntimeVersionSpecSchema = Type.Object(
  {
    image: Type.String({
      description: 'Container image of the app launcher (e.g. registry.example.com/wave-launcher:1.2.0 or …@sha256:<digest>).',
      minLength: 1,
      maxLength: 512,
      pattern: IMAGE_PATTERN,
    }),
    default: Type.Optional(Type.Boolean({ description: 'Use this runtime for instances that name none. Keep exactly one RuntimeVersion default.', default: false })),
    deprecated: Type.Optional(
      Type.Boolean({ description: 'No new instances may use this runtime; running ones keep it until they are recreated.', default: false }),
    ),
    description: Type.Optional(Type.String({ description: 'Free text for admins and users (what is in the image, e.g. Python 3.12, Wave 1.x).', maxLength: 1024 })),
  },
  {
    description: 'The runtime image and how it may be used.',
    ...cel({
      rule: '!(has(self.default) && self.default && has(self.deprecated) && self.deprecated)',
      message: 'a deprecated RuntimeVersion cannot be the default: set default to false or deprecated to false',
    }),
  },
);
export type RuntimeVersionSpec = Static<typeof RuntimeVersionSpecSchema>;

export const RuntimeVersionStatusSchema = Type.Object(
  {
    instances: Type.Optional(Type.Integer({ description: 'Number of AppInstances using this runtime version.', format: 'int32', minimum: 0 })),
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation the operator last acted on.', format: 'int64', minimum: 0 })),
    conditions: Type.Optional(ConditionsSchema('Current state of the runtime version (e.g. InUse).')),
  },
  { description: 'What the operator observed. Written only through the status subresource.' },
);
export type RuntimeVersionStatus = Static<typeof RuntimeVersionStatusSchema>;

/** A RuntimeVersion object as the Kubernetes API returns it. */
export interface RuntimeVersion {
  apiVersion: typeof API_VERSION;
  kind: typeof RUNTIME_VERSION_KIND;
  metadata: V1ObjectMeta;
  spec: RuntimeVersionSpec;
  status?: RuntimeVersionStatus;
}

/** A list of RuntimeVersions (LIST response). */
export interface RuntimeVersionList {
  apiVersion: typeof API_VERSION;
  kind: typeof RUNTIME_VERSION_LIST_KIND;
  metadata: V1ListMeta;
  items: RuntimeVersion[];
}

/** A new RuntimeVersion manifest (no status). */
export function runtimeVersion(name: string, spec: RuntimeVersionSpec, metadata: Omit<V1ObjectMeta, 'name' | 'namespace'> = {}): RuntimeVersion {
  return { apiVersion: API_VERSION, kind: RUNTIME_VERSION_KIND, metadata: { ...metadata, name }, spec };
}
