/**
 * Drift of a child: whether the live object (as the cache holds it) still
 * has every field the operator sets, with the value it sets. Pure. Only what
 * the desired object sets is compared, so the apiserver's defaults
 * (imagePullPolicy, terminationMessagePath, probe timeouts, clusterIP, …) and
 * fields other managers own never count; quantities compare by value
 * (`1000m` = `1`); lists of named items match by name, so an item another
 * manager added (which our apply could not remove) is not drift either.
 * See docs/operator.md ("Drift").
 */
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1Deployment, V1PersistentVolumeClaim, V1Secret, V1Service } from '@kubernetes/client-node';
import { parseQuantity } from '../lib/quantity.ts';
import { LAUNCHER_TOKEN_KEY } from './desired.ts';

/** Prefix of a Secret value the cache replaced by its digest (Secret data is never cached). */
const DIGEST_PREFIX = 'sha256:';

/** What the cache keeps of a Secret value: a digest, enough to tell a changed value. */
export function secretValueDigest(base64Value: string): string {
  return DIGEST_PREFIX + createHash('sha256').update(base64Value).digest('hex').slice(0, 32);
}

/** The paths of the fields we set whose live value differs from `desired`; empty when none (or nothing to compare: no live object). */
export function childDrift(desired: KubernetesObject, live: KubernetesObject | undefined): string[] {
  if (!live) return [];
  const out: string[] = [];
  const d = desired as unknown as Record<string, Record<string, unknown>>;
  const l = live as unknown as Record<string, Record<string, unknown> | undefined>;
  subset(desired.metadata?.labels, live.metadata?.labels, 'metadata.labels', out);
  subset(desired.metadata?.annotations, live.metadata?.annotations, 'metadata.annotations', out);
  switch (desired.kind) {
    case 'Deployment':
      // The selector is immutable (and never changes in what we build): not compared.
      for (const f of ['replicas', 'strategy', 'template']) subset(d.spec?.[f], l.spec?.[f], `spec.${f}`, out);
      break;
    case 'Service':
      for (const f of ['type', 'selector', 'ports']) subset(d.spec?.[f], l.spec?.[f], `spec.${f}`, out);
      break;
    case 'PersistentVolumeClaim': {
      // Everything else in a PVC's spec is immutable, and its size can only grow: a larger live size is not drift.
      const want = (desired as V1PersistentVolumeClaim).spec?.resources?.requests?.storage;
      const have = (live as V1PersistentVolumeClaim).spec?.resources?.requests?.storage;
      if (want !== undefined && (have === undefined || quantity(String(want)) > quantity(String(have)))) out.push('spec.resources.requests.storage');
      break;
    }
    case 'Secret': {
      const have = (live as V1Secret).data ?? {};
      for (const [k, v] of Object.entries((desired as V1Secret).data ?? {})) {
        const h = have[k];
        // The launcher token is minted per write and renewed by its expiry annotation: only its presence is compared.
        if (k === LAUNCHER_TOKEN_KEY ? !h : h !== v && h !== secretValueDigest(v)) out.push(`data.${k}`);
      }
      break;
    }
  }
  return out;
}

/** Appends to `out` the paths under `path` where `have` lacks or differs from what `want` sets. */
function subset(want: unknown, have: unknown, path: string, out: string[]): void {
  if (want === undefined || want === null) return;
  // Go's omitempty: an empty string, list or map (and a plain false) we set is stored as absent.
  if (have === undefined && (want === '' || want === false || (Array.isArray(want) && want.length === 0) || (isObject(want) && Object.keys(want).length === 0))) return;
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return void out.push(path);
    const key = listKey(want);
    if (key) {
      for (const w of want as Record<string, unknown>[]) {
        const h = (have as unknown[]).find((x) => isObject(x) && x[key] === w[key]);
        if (h === undefined) out.push(`${path}[${String(w[key])}]`);
        else subset(w, h, `${path}[${String(w[key])}]`, out);
      }
    } else if (want.length !== have.length) {
      out.push(path);
    } else {
      want.forEach((w, i) => subset(w, have[i], `${path}[${i}]`, out));
    }
    return;
  }
  if (isObject(want)) {
    if (!isObject(have)) return void out.push(path);
    const quantities = /\.resources(\.\w+)?\.(limits|requests)$/.test(path);
    for (const [k, w] of Object.entries(want)) {
      if (quantities && w !== undefined) {
        if (have[k] === undefined || quantity(String(w)) !== quantity(String(have[k]))) out.push(`${path}.${k}`);
      } else {
        subset(w, have[k], `${path}.${k}`, out);
      }
    }
    return;
  }
  // Scalars; int-or-string fields (targetPort, probe ports) keep their type, but compare by text to be safe.
  if (have === undefined || String(want) !== String(have)) out.push(path);
}

/** The merge key of a list of objects we build: mountPath (volumeMounts), else name (containers, env, ports, volumes). */
function listKey(list: unknown[]): string | undefined {
  if (list.length === 0 || !list.every(isObject)) return undefined;
  for (const k of ['mountPath', 'name']) if ((list as Record<string, unknown>[]).every((x) => typeof x[k] === 'string')) return k;
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A quantity's value, or NaN-free fallback for text that is not one (then compared as is). */
function quantity(s: string): number | string {
  try {
    return parseQuantity(s);
  } catch {
    return s;
  }
}

/** One operation of a JSON patch (RFC 6902). */
export interface JsonPatchOp {
  op: 'replace';
  path: string;
  value: unknown;
}

/**
 * A JSON patch that puts back, whole, the port lists someone else changed in
 * place (a Service port 80→8080 in the item named http): server-side apply
 * keys those lists by port, so it would add ours beside the other manager's
 * item, which it cannot remove, and the apiserver refuses two ports named
 * http. Empty when no such list drifted; the apply follows it.
 */
export function listRepairPatch(desired: KubernetesObject, live: KubernetesObject | undefined, fields: string[]): JsonPatchOp[] {
  if (!live) return [];
  if (desired.kind === 'Service') {
    const ports = (desired as V1Service).spec?.ports;
    return ports && fields.some((f) => f.startsWith('spec.ports')) ? [{ op: 'replace', path: '/spec/ports', value: ports }] : [];
  }
  if (desired.kind === 'Deployment') {
    const liveContainers = (live as V1Deployment).spec?.template?.spec?.containers ?? [];
    return ((desired as V1Deployment).spec?.template.spec?.containers ?? []).flatMap((c): JsonPatchOp[] => {
      const i = liveContainers.findIndex((l) => l.name === c.name);
      return c.ports && i >= 0 && fields.some((f) => f.startsWith(`spec.template.spec.containers[${c.name}].ports`))
        ? [{ op: 'replace', path: `/spec/template/spec/containers/${i}/ports`, value: c.ports }]
        : [];
    });
  }
  return [];
}
