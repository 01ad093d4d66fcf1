/**
 * Rendering manifests/ for tests (test/manifests*.test.ts): `kubectl
 * kustomize` of an overlay, its objects, and a copy moved into a test
 * namespace with its cluster-scoped RBAC names made unique to that namespace.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './go-tool.ts';
import { kubectl } from './kube.ts';

/** A rendered object: plain JSON-like data as kustomize printed it. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** The objects of a multi-document YAML text. */
export function yamlObjects(text: string): ManifestObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as ManifestObject).filter((o) => o);
}

/** `kubectl kustomize DIR` (DIR relative to the repository); fails the test when it does not render. */
export async function kustomize(dir: string): Promise<string> {
  const r = await kubectl(['kustomize', join(repoRoot, dir)]);
  assert.equal(r.code, 0, `kubectl kustomize ${dir}: ${r.stderr}`);
  return r.stdout;
}

interface Subject { kind: string; namespace?: string }
interface Movable { kind: string; metadata: { name: string; namespace?: string }; roleRef?: { kind: string; name: string }; subjects?: Subject[] }

/** A copy of `objects` moved into namespace `ns`: the Namespace renamed, ClusterRole(Binding) names suffixed with `-ns`, references and ServiceAccount subjects followed. */
export function intoNamespace<T extends ManifestObject>(objects: T[], ns: string): T[] {
  const copy = structuredClone(objects);
  const renamed = new Map<string, string>();
  for (const o of copy as unknown as Movable[]) {
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') {
      renamed.set(`${o.kind}/${o.metadata.name}`, `${o.metadata.name}-${ns}`);
      o.metadata.name = `${o.metadata.name}-${ns}`;
    } else if (o.kind === 'Namespace') o.metadata.name = ns;
    else if (o.metadata.namespace) o.metadata.namespace = ns;
  }
  for (const o of copy as unknown as Movable[]) {
    if (o.roleRef?.kind === 'ClusterRole') o.roleRef.name = renamed.get(`ClusterRole/${o.roleRef.name}`) ?? o.roleRef.name;
    for (const s of o.subjects ?? []) if (s.kind === 'ServiceAccount') s.namespace = ns;
  }
  return copy;
}

/** The kinds that make up the server's rights. */
export const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];
