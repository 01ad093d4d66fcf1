/**
 * Installs the CRDs into a cluster: server-side apply (idempotent, safe to
 * run from several processes at once) and wait until they are Established.
 */
import { ApiextensionsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { allCrds } from './definitions.ts';
import type { CustomResourceDefinition } from './definitions.ts';

export interface InstallCrdsOptions {
  /** Server-side apply field manager (default `appstore`). */
  fieldManager?: string;
  /** How long to wait for the CRDs to become Established (default 30 s). */
  timeoutMs?: number;
  /** The CRDs to install (default: all of them). */
  crds?: CustomResourceDefinition[];
}

/** Applies the CRDs (server-side, forcing ownership of our fields) and waits until the apiserver serves them. */
export async function installCrds(kc: KubeConfig, options: InstallCrdsOptions = {}): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = options.crds ?? allCrds();
  // The typed client would serialise a V1CustomResourceDefinition model and drop our wire-named keys
  // (x-kubernetes-validations, default); the patch body is sent as given, JSON being valid YAML.
  const applyYaml = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  for (const crd of crds) {
    await api.patchCustomResourceDefinition({ name: crd.metadata.name, body: crd, fieldManager: options.fieldManager ?? 'appstore', force: true }, applyYaml);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (const crd of crds) {
    for (;;) {
      const current = await api.readCustomResourceDefinition({ name: crd.metadata.name });
      const conditions = current.status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      const problem = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (problem) throw new Error(`CRD ${crd.metadata.name} was not accepted: ${problem.reason}: ${problem.message}`);
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} is not Established after ${options.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
