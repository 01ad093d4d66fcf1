/**
 * DEVELOPMENT AND TEST TOOL (the local pod runner): a pod's environment and
 * volumes made local. env valueFrom is resolved through the API; Secret,
 * ConfigMap and projected volumes become files under the pod's root folder;
 * PVCs become persistent folders linked in; emptyDirs are plain folders.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CoreV1Api, V1Container, V1EnvVar, V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';

/** A reason the container cannot start yet (kubelet's CreateContainerConfigError). */
export class PodConfigError extends Error {}

type Fetch<T> = (namespace: string, name: string) => Promise<T | undefined>;

/** Reads Secrets and ConfigMaps once per pod start (undefined when missing). */
export function objectReaders(core: CoreV1Api): { secret: Fetch<Record<string, Buffer>>; configMap: Fetch<Record<string, Buffer>> } {
  const notFound = (err: unknown) => (err as { code?: number }).code === 404;
  return {
    async secret(namespace, name) {
      try {
        const s = await core.readNamespacedSecret({ namespace, name });
        return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },
    async configMap(namespace, name) {
      try {
        const c = await core.readNamespacedConfigMap({ namespace, name });
        return {
          ...Object.fromEntries(Object.entries(c.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
          ...Object.fromEntries(Object.entries(c.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        };
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },
  };
}

/** The container's env with every valueFrom resolved (secretKeyRef, configMapKeyRef, fieldRef). */
export async function resolveEnv(pod: V1Pod, container: V1Container, readers: ReturnType<typeof objectReaders>): Promise<Record<string, string>> {
  const ns = pod.metadata!.namespace!;
  const out: Record<string, string> = {};
  const expand = (v: string) => v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, k: string) => out[k] ?? m);
  for (const e of container.env ?? []) {
    const v = await envValue(e);
    if (v !== undefined) out[e.name] = v;
  }
  return out;

  async function envValue(e: V1EnvVar): Promise<string | undefined> {
    if (e.value !== undefined) return expand(e.value);
    const from = e.valueFrom;
    if (!from) return '';
    const ref = from.secretKeyRef ?? from.configMapKeyRef;
    if (ref) {
      const kind = from.secretKeyRef ? 'secret' : 'configmap';
      const data = from.secretKeyRef ? await readers.secret(ns, ref.name!) : await readers.configMap(ns, ref.name!);
      const val = data?.[ref.key];
      if (val === undefined) {
        if (ref.optional) return undefined;
        throw new PodConfigError(data ? `couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name} (env ${e.name})` : `${kind} "${ref.name}" not found (env ${e.name})`);
      }
      return val.toString('utf8');
    }
    if (from.fieldRef) {
      const fields: Record<string, string | undefined> = {
        'metadata.name': pod.metadata?.name,
        'metadata.namespace': ns,
        'metadata.uid': pod.metadata?.uid,
        'spec.nodeName': pod.spec?.nodeName,
        'spec.serviceAccountName': pod.spec?.serviceAccountName,
        'status.podIP': pod.status?.podIP,
        'status.hostIP': pod.status?.hostIP,
      };
      return fields[from.fieldRef.fieldPath] ?? '';
    }
    return '';
  }
}

function pick(data: Record<string, Buffer>, items: V1KeyToPath[] | undefined, what: string): Array<[string, Buffer]> {
  if (!items?.length) return Object.entries(data);
  return items.map((i) => {
    const v = data[i.key];
    if (v === undefined) throw new PodConfigError(`${what} has no key ${i.key}`);
    return [i.path, v] as [string, Buffer];
  });
}

/**
 * Makes every volume mount of `container` real below `root` (root + mountPath).
 * `pvcDir(claim)` is the persistent folder of a claim.
 */
export async function materializeVolumes(
  pod: V1Pod,
  container: V1Container,
  root: string,
  readers: ReturnType<typeof objectReaders>,
  pvcDir: (claim: string) => string,
): Promise<void> {
  const ns = pod.metadata!.namespace!;
  const volumes = new Map<string, V1Volume>((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new PodConfigError(`volume mount ${m.name} names no volume of the pod`);
    const target = join(root, m.mountPath);
    await rm(target, { recursive: true, force: true });
    const files: Array<[string, Buffer]> = [];
    if (v.secret) {
      const data = await readers.secret(ns, v.secret.secretName!);
      if (!data) {
        if (v.secret.optional) continue;
        throw new PodConfigError(`secret "${v.secret.secretName}" not found (volume ${v.name})`);
      }
      files.push(...pick(data, v.secret.items, `secret ${v.secret.secretName}`));
    } else if (v.configMap) {
      const data = await readers.configMap(ns, v.configMap.name!);
      if (!data) {
        if (v.configMap.optional) continue;
        throw new PodConfigError(`configmap "${v.configMap.name}" not found (volume ${v.name})`);
      }
      files.push(...pick(data, v.configMap.items, `configmap ${v.configMap.name}`));
    } else if (v.projected) {
      for (const s of v.projected.sources ?? []) {
        const src = s.secret ? { data: await readers.secret(ns, s.secret.name!), items: s.secret.items, what: `secret ${s.secret.name}`, optional: s.secret.optional } : s.configMap ? { data: await readers.configMap(ns, s.configMap.name!), items: s.configMap.items, what: `configmap ${s.configMap.name}`, optional: s.configMap.optional } : undefined;
        if (!src) continue;
        if (!src.data) {
          if (src.optional) continue;
          throw new PodConfigError(`${src.what} not found (volume ${v.name})`);
        }
        files.push(...pick(src.data, src.items ?? undefined, src.what));
      }
    } else if (v.persistentVolumeClaim) {
      const dir = pvcDir(v.persistentVolumeClaim.claimName);
      await mkdir(dir, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      await symlink(dir, target);
      continue;
    } else if (v.emptyDir) {
      await mkdir(target, { recursive: true });
      continue;
    } else {
      throw new PodConfigError(`volume ${v.name}: only secret, configMap, projected, persistentVolumeClaim and emptyDir volumes run locally`);
    }
    await mkdir(target, { recursive: true });
    for (const [path, content] of files) {
      const file = join(target, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content, { mode: m.readOnly ? 0o444 : 0o644 });
    }
  }
}
