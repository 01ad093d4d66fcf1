/**
 * JSON schemas for kubeconform without the network. kubeconform downloads
 * schemas from GitHub by default; here they come from the apiserver the
 * tests run against (its /openapi/v2 document, i.e. exactly the Kubernetes
 * version in use) and from our CRDs in crds/. Files are named the way
 * kubeconform's default layout names them (`{kind}-{group}-{version}.json`,
 * `{kind}-{version}.json` for the core group), so the schema location is
 * `DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json`.
 *
 * The schemas are "strict" (additionalProperties: false wherever the API
 * lists the properties), so a misspelt field fails validation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;

/** kubeconform's template for the files `writeSchemas` writes into `dir`. */
export function schemaLocation(dir: string): string {
  return `${dir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
}

/** File name kubeconform looks for: kind, first label of the group, version, lower case. */
export function schemaFileName(group: string, version: string, kind: string): string {
  const g = group ? `-${group.split('.')[0]}` : '';
  return `${kind}${g}-${version}.json`.toLowerCase();
}

const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
// Quantities are strings on the wire, but YAML authors write `cpu: 1`.
const QUANTITY = { oneOf: [{ type: 'string' }, { type: 'number' }] };

/** Rewrites one OpenAPI schema node (recursively) into strict JSON Schema. */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== 'object') return node;
  const n = node as Json;
  if (n.format === 'int-or-string' || n['x-kubernetes-int-or-string'] === true) return { ...INT_OR_STRING, ...(n.description ? { description: n.description } : {}) };
  const out: Json = {};
  for (const [k, v] of Object.entries(n)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v;
    else if (k === 'properties' || k === 'definitions' || k === 'patternProperties') out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, strict(s)]));
    else if (k === 'enum' || k === 'required' || k === 'description' || k === 'default' || k === 'example') out[k] = v;
    else out[k] = strict(v);
  }
  if (n.nullable === true && typeof n.type === 'string') out.type = [n.type, 'null'];
  const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
  if (n.properties && n.additionalProperties === undefined && !preserve) out.additionalProperties = false;
  return out;
}

/** Definition names a schema refers to through `#/definitions/NAME`, transitively. */
function closure(root: string, defs: Record<string, unknown>): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string' && v.startsWith('#/definitions/')) visit(v.slice('#/definitions/'.length));
          else walk(v);
        }
      }
    };
    walk(defs[name]);
  };
  visit(root);
  return seen;
}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

/** Standalone strict schemas for every kind in an apiserver's /openapi/v2 document, keyed by file name. */
export function schemasFromOpenAPIv2(doc: { definitions: Record<string, Json> }): Map<string, Json> {
  const defs: Record<string, unknown> = { ...doc.definitions };
  // Special string formats the apiserver accepts in other shapes too.
  defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = INT_OR_STRING;
  defs['io.k8s.apimachinery.pkg.api.resource.Quantity'] = QUANTITY;
  const out = new Map<string, Json>();
  for (const [name, def] of Object.entries(doc.definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'] as Gvk[] | undefined;
    // List kinds and shared option types (DeleteOptions, WatchEvent…) carry several GVKs or are not objects one writes.
    if (!gvks || gvks.length !== 1 || !def.properties) continue;
    const gvk = gvks[0]!;
    const needed = closure(name, defs);
    needed.delete(name);
    const schema = strict(defs[name]) as Json;
    schema.definitions = Object.fromEntries([...needed].map((d) => [d, strict(defs[d])]));
    schema.$schema = 'http://json-schema.org/draft-07/schema#';
    out.set(schemaFileName(gvk.group, gvk.version, gvk.kind), schema);
  }
  return out;
}

interface CrdDoc {
  kind?: string;
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema?: { openAPIV3Schema?: Json } }> };
}

/** Strict schemas for the custom resources of CustomResourceDefinition documents, keyed by file name. */
export function schemasFromCrds(crds: CrdDoc[]): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const crd of crds) {
    for (const v of crd.spec.versions) {
      const s = v.schema?.openAPIV3Schema;
      if (!s) continue;
      const schema = strict(s) as Json;
      // The apiserver adds metadata's schema itself; CRDs only say `type: object`.
      const props = (schema.properties ?? {}) as Json;
      props.metadata = { type: 'object' };
      schema.properties = props;
      schema.$schema = 'http://json-schema.org/draft-07/schema#';
      out.set(schemaFileName(crd.spec.group, v.name, crd.spec.names.kind), schema);
    }
  }
  return out;
}

/** Writes the schemas into `dir` (created if needed); returns the kubeconform -schema-location for it. */
export function writeSchemas(dir: string, ...sets: Array<Map<string, Json>>): string {
  mkdirSync(dir, { recursive: true });
  for (const set of sets) for (const [file, schema] of set) writeFileSync(join(dir, file), JSON.stringify(schema));
  return schemaLocation(dir);
}
