/**
 * TypeBox building blocks for Kubernetes CRD schemas, and the conversion of a
 * TypeBox schema into a structural OpenAPI v3 schema the apiserver accepts.
 *
 * TypeBox stays the single source: the same schema gives the TypeScript type
 * (`Static<>`), runtime checks (`Value.Check`) and the CRD's openAPIV3Schema.
 * TypeBox idioms that Kubernetes does not know are rewritten here (a union of
 * string literals becomes `enum`, an int-or-string union becomes
 * `x-kubernetes-int-or-string`); anything else Kubernetes would reject or
 * ignore fails the generation with the path of the offending field.
 */
import { FormatRegistry, Type } from '@sinclair/typebox';
import type { SchemaOptions, TInteger, TLiteral, TSchema, TString, TUnion } from '@sinclair/typebox';

/** A CEL validation rule (`x-kubernetes-validations` entry). */
export interface CelRule {
  /** CEL expression; `self` is the field the rule sits on, `oldSelf` its previous value (transition rule). */
  rule: string;
  /** Message returned to the client when the rule is false. */
  message: string;
  /** Kubernetes error reason: FieldValueInvalid (default), FieldValueForbidden, FieldValueRequired, FieldValueDuplicate. */
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** Field the error is reported on, relative to the rule's field (e.g. `.runtimeVersion`). */
  fieldPath?: string;
}

/** Schema options carrying CEL rules, to spread into a TypeBox options object. */
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** RFC 1123 label: what a name must be to become one DNS label (an instance host name). */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 subdomain: the name rule of most Kubernetes objects (e.g. RuntimeVersion). */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A non-negative Kubernetes resource quantity as apimachinery parses it (`512Mi`, `2Gi`, `500m`, `0.5`, `1e3`). */
export const QUANTITY_PATTERN = '^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** A string that must be one of `values` (rendered as an OpenAPI `enum`). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

/**
 * A Kubernetes resource quantity: an integer or a string such as `512Mi`
 * (rendered as `x-kubernetes-int-or-string`, like core/v1 resource fields).
 */
export function Quantity(options: SchemaOptions = {}): TUnion<[TInteger, TString]> {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: QUANTITY_PATTERN, maxLength: 64 })], {
    ...options,
    'x-kubernetes-int-or-string': true,
  });
}

/** An RFC 3339 timestamp, as metav1.Time serialises (`2024-05-01T12:00:00Z`). */
export function Time(options: SchemaOptions = {}): TString {
  return Type.String({ format: 'date-time', maxLength: 64, ...options });
}

// TypeBox's Value.Check knows no formats until they are registered; metav1.Time is RFC 3339.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));

/** A node of an OpenAPI v3 schema as the apiextensions.k8s.io/v1 API takes it (JSON field names). */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema;
  items?: OpenApiSchema;
  anyOf?: OpenApiSchema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: CelRule[];
}

// Keywords copied as they are. Anything else (e.g. $id, $ref, const,
// patternProperties, numeric exclusiveMinimum of newer JSON Schema drafts)
// is an error: the apiserver would reject it or silently ignore it.
const PLAIN_KEYWORDS = new Set([
  'type',
  'description',
  'format',
  'default',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
const NESTED_KEYWORDS = new Set(['properties', 'items', 'additionalProperties']);
// Value validations that may sit beside an int-or-string's anyOf (they apply to the matching type).
const INT_OR_STRING_HOISTED = ['pattern', 'minLength', 'maxLength', 'minimum', 'maximum'] as const;

type Json = Record<string, unknown>;

/**
 * Converts a TypeBox schema into a structural OpenAPI v3 schema for a CRD.
 * Throws one error listing every problem (unsupported keyword, string
 * without maxLength, array without maxItems, field without description).
 */
export function toOpenApiSchema(schema: TSchema, rootPath = ''): OpenApiSchema {
  // The JSON round trip drops TypeBox's symbol-keyed metadata ([Kind], [OptionalKind]).
  const plain = JSON.parse(JSON.stringify(schema)) as Json;
  const problems: string[] = [];
  const out = convert(plain, rootPath || '<root>', problems);
  if (problems.length) throw new Error(`schema is not a valid Kubernetes structural schema:\n  ${problems.join('\n  ')}`);
  return out;
}

// Output key order, so the YAML reads top-down: what it is, its bounds, then children and rules.
const KEY_ORDER = [
  'type',
  'description',
  'format',
  'default',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-int-or-string',
  'anyOf',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'x-kubernetes-validations',
];

function convert(node: Json, path: string, problems: string[]): OpenApiSchema {
  const out = Array.isArray(node.anyOf) ? convertUnion(node, path, problems) : convertFields(node, path, problems);
  checkBounds(out, path, problems);
  const rank = (k: string): number => (KEY_ORDER.includes(k) ? KEY_ORDER.indexOf(k) : KEY_ORDER.length);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => rank(a) - rank(b))) as OpenApiSchema;
}

function convertFields(node: Json, path: string, problems: string[]): OpenApiSchema {
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (PLAIN_KEYWORDS.has(key)) {
      out[key] = value;
    } else if (key === 'properties') {
      const props: Record<string, OpenApiSchema> = {};
      for (const [name, child] of Object.entries(value as Record<string, Json>)) {
        if (typeof child.description !== 'string' || !child.description.trim()) problems.push(`${path}.${name}: add a description`);
        props[name] = convert(child, `${path}.${name}`, problems);
      }
      out.properties = props;
    } else if (key === 'items') {
      out.items = convert(value as Json, `${path}[]`, problems);
    } else if (key === 'additionalProperties') {
      if (typeof value !== 'object' || value === null) {
        problems.push(`${path}: additionalProperties must be a schema (Kubernetes prunes unknown fields; true/false is not structural)`);
      } else {
        out.additionalProperties = convert(value as Json, `${path}.*`, problems);
      }
    } else if (!NESTED_KEYWORDS.has(key)) {
      problems.push(`${path}: keyword "${key}" is not supported in a CRD schema`);
    }
  }
  return out as OpenApiSchema;
}

function convertUnion(node: Json, path: string, problems: string[]): OpenApiSchema {
  const { anyOf, ...rest } = node as Json & { anyOf: Json[] };
  // Union of string literals → enum.
  if (anyOf.every((m) => typeof m.const === 'string')) {
    const base = convertFields(rest, path, problems);
    return { ...base, type: 'string', enum: anyOf.map((m) => m.const) };
  }
  // Integer-or-string (resource quantities) → the core/v1 form.
  if (rest['x-kubernetes-int-or-string'] === true) {
    const { 'x-kubernetes-int-or-string': _flag, ...others } = rest;
    const base = convertFields(others, path, problems) as Json;
    const types = anyOf.map((m) => m.type).sort();
    if (types.join(',') !== 'integer,string') problems.push(`${path}: x-kubernetes-int-or-string needs exactly an integer and a string member`);
    for (const member of anyOf) {
      for (const k of Object.keys(member)) {
        if (k === 'type') continue;
        if (!(INT_OR_STRING_HOISTED as readonly string[]).includes(k)) problems.push(`${path}: keyword "${k}" is not supported inside an int-or-string`);
        else base[k] = member[k];
      }
    }
    return { ...base, 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } as OpenApiSchema;
  }
  problems.push(`${path}: unions are not structural; use StringEnum, Quantity, or optional fields with a CEL one-of rule`);
  return {};
}

function checkBounds(s: OpenApiSchema, path: string, problems: string[]): void {
  if (!s.type && !s['x-kubernetes-int-or-string']) problems.push(`${path}: every field needs a type`);
  if (s.type === 'string' && s.maxLength === undefined && !s.enum) problems.push(`${path}: string needs maxLength (or enum)`);
  if (s.type === 'array' && s.maxItems === undefined) problems.push(`${path}: array needs maxItems`);
  if (s.type === 'object' && s.additionalProperties && s.maxProperties === undefined) problems.push(`${path}: map needs maxProperties`);
  if (s.type === 'object' && s.properties && s.additionalProperties) problems.push(`${path}: properties and additionalProperties are mutually exclusive in Kubernetes`);
}
