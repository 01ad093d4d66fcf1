/**
 * The two CustomResourceDefinitions, built from the TypeBox schemas: names,
 * scope, subresources, printer columns, selectable fields and the structural
 * openAPIV3Schema. `make crds` writes them to crds/ as YAML.
 */
import type { TSchema } from '@sinclair/typebox';
import {
  APP_INSTANCE_KIND,
  APP_INSTANCE_LIST_KIND,
  APP_INSTANCE_PLURAL,
  APP_INSTANCE_ROOT_RULES,
  APP_INSTANCE_SHORT_NAMES,
  APP_INSTANCE_SINGULAR,
  AppInstanceSpecSchema,
  AppInstanceStatusSchema,
} from './appinstance.ts';
import { CATEGORY, GROUP, VERSION } from './group.ts';
import { toOpenApiSchema } from './kube-schema.ts';
import type { CelRule, OpenApiSchema } from './kube-schema.ts';
import {
  RUNTIME_VERSION_KIND,
  RUNTIME_VERSION_LIST_KIND,
  RUNTIME_VERSION_PLURAL,
  RUNTIME_VERSION_SHORT_NAMES,
  RUNTIME_VERSION_SINGULAR,
  RuntimeVersionSpecSchema,
  RuntimeVersionStatusSchema,
} from './runtimeversion.ts';

/** A printer column (`kubectl get` table column). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 = shown by default; 1 = only with `-o wide`. */
  priority?: number;
}

/** apiextensions.k8s.io/v1 CustomResourceDefinition, with JSON (wire) field names. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: OpenApiSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields: { jsonPath: string }[];
    }[];
  };
}

const READY = '.status.conditions[?(@.type=="Ready")]';
const AGE: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

/** Printer columns of AppInstance (`kubectl get inst`, `-o wide` adds priority 1). */
export const APP_INSTANCE_COLUMNS: PrinterColumn[] = [
  // `.*['a.b','c.d']` is a JSONPath union over the root's children: spec.app.name when the
  // instance names its app, else status.resolved.appName (apps referenced by id). When both
  // exist they are equal, so the map order of `*` does not matter.
  { name: 'App', type: 'string', jsonPath: ".*['app.name','resolved.appName']", description: 'Machine name of the app (spec.app.name, else status.resolved.appName).' },
  { name: 'Version', type: 'string', jsonPath: ".*['app.version','resolved.appVersion']", description: 'Version of the app (spec.app.version, else status.resolved.appVersion).' },
  { name: 'Owner', type: 'string', jsonPath: '.spec.owner.name', description: 'Who launched the instance.' },
  { name: 'Visibility', type: 'string', jsonPath: '.spec.visibility', description: 'PRIVATE, ALL_USERS or PUBLIC.' },
  { name: 'Ready', type: 'string', jsonPath: `${READY}.status`, description: 'Status of the Ready condition.' },
  { name: 'Reason', type: 'string', jsonPath: `${READY}.reason`, description: 'Reason of the Ready condition.' },
  { name: 'Status', type: 'string', jsonPath: '.status.summary', description: 'One-word summary.', priority: 1 },
  { name: 'URL', type: 'string', jsonPath: '.status.url', description: 'Where users open the instance.', priority: 1 },
  AGE,
];

/** Printer columns of RuntimeVersion (`kubectl get rv`). */
export const RUNTIME_VERSION_COLUMNS: PrinterColumn[] = [
  { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'Container image.' },
  { name: 'Default', type: 'boolean', jsonPath: '.spec.default', description: 'Used for instances that name no runtime version.' },
  { name: 'Deprecated', type: 'boolean', jsonPath: '.spec.deprecated', description: 'No new instances may use it.' },
  { name: 'Instances', type: 'integer', jsonPath: '.status.instances', description: 'Number of instances using it.' },
  AGE,
];

/** The root of an openAPIV3Schema: apiVersion/kind/metadata as every CRD has them, plus spec and status. */
function rootSchema(description: string, spec: TSchema, status: TSchema, rules: CelRule[] = []): OpenApiSchema {
  return {
    type: 'object',
    description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'Versioned schema of this representation of an object (hac.h2o.ai/v1alpha1).' },
      kind: { type: 'string', description: 'REST resource this object represents, in CamelCase.' },
      // The apiserver allows nothing on metadata but name/generateName (not even a description);
      // declaring name lets a root CEL rule report its error on the path metadata.name.
      metadata: rules.length ? { type: 'object', properties: { name: { type: 'string' } } } : { type: 'object' },
      spec: toOpenApiSchema(spec, 'spec'),
      status: toOpenApiSchema(status, 'status'),
    },
    ...(rules.length ? { 'x-kubernetes-validations': rules } : {}),
  };
}

interface CrdInput {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  schema: OpenApiSchema;
  columns: PrinterColumn[];
  selectableFields: string[];
}

function crd(i: CrdInput): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${i.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'appstore' } },
    spec: {
      group: GROUP,
      names: { kind: i.kind, listKind: i.listKind, plural: i.plural, singular: i.singular, shortNames: i.shortNames, categories: [CATEGORY] },
      scope: i.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: i.schema },
          subresources: { status: {} },
          additionalPrinterColumns: i.columns,
          selectableFields: i.selectableFields.map((jsonPath) => ({ jsonPath })),
        },
      ],
    },
  };
}

/** The AppInstance CRD. */
export function appInstanceCrd(): CustomResourceDefinition {
  return crd({
    kind: APP_INSTANCE_KIND,
    listKind: APP_INSTANCE_LIST_KIND,
    plural: APP_INSTANCE_PLURAL,
    singular: APP_INSTANCE_SINGULAR,
    shortNames: APP_INSTANCE_SHORT_NAMES,
    scope: 'Namespaced',
    schema: rootSchema(
      'AppInstance is one user\'s instance of an app version, run by the Appstore operator. Its name becomes the instance\'s host name, so it must be a DNS label.',
      AppInstanceSpecSchema,
      AppInstanceStatusSchema,
      APP_INSTANCE_ROOT_RULES,
    ),
    columns: APP_INSTANCE_COLUMNS,
    // Field selectors the API uses to list without a full scan (e.g. an owner's instances).
    selectableFields: ['.spec.owner.subject', '.spec.visibility', '.spec.app.name', '.spec.app.id', '.spec.runtimeVersion'],
  });
}

/** The RuntimeVersion CRD. */
export function runtimeVersionCrd(): CustomResourceDefinition {
  return crd({
    kind: RUNTIME_VERSION_KIND,
    listKind: RUNTIME_VERSION_LIST_KIND,
    plural: RUNTIME_VERSION_PLURAL,
    singular: RUNTIME_VERSION_SINGULAR,
    shortNames: RUNTIME_VERSION_SHORT_NAMES,
    scope: 'Cluster',
    schema: rootSchema('RuntimeVersion is a container image app instances can run in, managed by admins.', RuntimeVersionSpecSchema, RuntimeVersionStatusSchema),
    columns: RUNTIME_VERSION_COLUMNS,
    selectableFields: ['.spec.default', '.spec.deprecated'],
  });
}

/** Both CRDs, AppInstance first. */
export function allCrds(): CustomResourceDefinition[] {
  return [appInstanceCrd(), runtimeVersionCrd()];
}
