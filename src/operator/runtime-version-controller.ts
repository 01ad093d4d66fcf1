/**
 * The RuntimeVersion controller: applies the configuration's
 * [[RuntimeVersion]] entries as objects, counts the instances using each one
 * in all namespaces (status.instances), keeps the protection finalizer on it while any
 * instance uses it (deletion waits until the last one is gone), and says in
 * a condition when several are marked default. See docs/operator.md.
 */
import { CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { runtimeVersionObjectName } from '../config/runtime-version-name.ts';
import { apply, FIELD_MANAGER, isConflict, isNotFound } from '../k8s/apply.ts';
import { GROUP, RUNTIME_VERSION_PLURAL, RUNTIME_VERSION_PROTECTION_FINALIZER, runtimeVersion, setCondition, VERSION } from '../k8s/crd/index.ts';
import type { AppInstance, Condition, RuntimeVersion, RuntimeVersionStatus } from '../k8s/crd/index.ts';
import type { HandlerResult } from '../k8s/work-queue.ts';
import type { OperatorCaches } from './caches.ts';
import type { EventRecorder } from './events.ts';

/** Field manager of the RuntimeVersions applied from the configuration (admins may edit others' fields with kubectl). */
export const CONFIG_FIELD_MANAGER = 'appstore-config';

/** The runtime version an instance uses: the resolved one, else the one its spec names. */
export function runtimeVersionOf(inst: AppInstance): string | undefined {
  return inst.status?.resolved?.runtimeVersion ?? inst.spec.runtimeVersion;
}

/** Applies the configuration's [[RuntimeVersion]] entries as RuntimeVersion objects (names mapped, see runtime-version-name.ts). */
export async function applyConfiguredRuntimeVersions(kc: KubeConfig, config: Config, logger: Logger): Promise<string[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const names: string[] = [];
  for (const r of config.runtimeVersions) {
    const name = runtimeVersionObjectName(r.name);
    await apply(client, runtimeVersion(name, { image: r.image, default: r.default, deprecated: r.deprecated }), { fieldManager: CONFIG_FIELD_MANAGER });
    logger.info({ kind: 'RuntimeVersion', name, image: r.image, default: r.default, deprecated: r.deprecated }, 'runtime version applied from the configuration');
    names.push(name);
  }
  return names;
}

/** Reconciles RuntimeVersions; `reconcile` is the work queue's handler (keys are names). */
export class RuntimeVersionController {
  private readonly custom: CustomObjectsApi;
  constructor(
    kc: KubeConfig,
    private readonly caches: OperatorCaches,
    private readonly events: EventRecorder,
    private readonly logger: Logger,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  async reconcile(name: string): Promise<HandlerResult | void> {
    const rv = this.caches.runtimeVersions.get(undefined, name);
    if (!rv) return;
    const log = this.logger.child({ kind: 'RuntimeVersion', name });
    const users = this.caches.instances.list().filter((i) => runtimeVersionOf(i) === name);
    const finalizers = rv.metadata.finalizers ?? [];
    const has = finalizers.includes(RUNTIME_VERSION_PROTECTION_FINALIZER);

    if (rv.metadata.deletionTimestamp) {
      if (users.length === 0) {
        if (has) {
          await this.setFinalizers(rv, finalizers.filter((f) => f !== RUNTIME_VERSION_PROTECTION_FINALIZER));
          log.info('no instance uses the runtime version any more: deletion proceeds');
        }
        return;
      }
      const listed = users.slice(0, 10).map((u) => u.metadata.name).join(', ');
      const message = `deletion waits until no instance uses it; in use by ${users.length} instance(s): ${listed}${users.length > 10 ? ', …' : ''}`;
      await this.writeStatus(rv, users.length, [{ type: 'InUse', status: 'True', reason: 'DeletionBlocked', message }], log);
      return;
    }
    if (!has) await this.setFinalizers(rv, [...finalizers, RUNTIME_VERSION_PROTECTION_FINALIZER]);

    const updates: Array<Omit<Condition, 'lastTransitionTime'>> = [
      users.length ? { type: 'InUse', status: 'True', reason: 'InUse', message: `used by ${users.length} instance(s)` } : { type: 'InUse', status: 'False', reason: 'Unused', message: 'no instance uses it' },
    ];
    if (rv.spec.default) {
      const others = this.caches.runtimeVersions
        .list()
        .filter((r) => r.spec.default && !r.metadata.deletionTimestamp && r.metadata.name !== name)
        .map((r) => r.metadata.name!)
        .sort();
      if (others.length) {
        const winner = [name, ...others].sort()[0];
        const message = `several RuntimeVersions are marked default (${[name, ...others].sort().join(', ')}); new instances that name none use ${winner} (first by name): keep exactly one default`;
        log.warn(message);
        updates.push({ type: 'Default', status: 'False', reason: 'MultipleDefaults', message });
      } else {
        updates.push({ type: 'Default', status: 'True', reason: 'OnlyDefault', message: 'new instances that name no runtime version use this one' });
      }
    }
    await this.writeStatus(rv, users.length, updates, log);
  }

  /** Sets metadata.finalizers with the object's resourceVersion: a concurrent change is a conflict, retried by the queue. */
  private async setFinalizers(rv: RuntimeVersion, finalizers: string[]): Promise<void> {
    try {
      await this.custom.patchClusterCustomObject(
        { group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name: rv.metadata.name!, body: { metadata: { finalizers, resourceVersion: rv.metadata.resourceVersion } }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) throw new Error(`RuntimeVersion ${rv.metadata.name} changed while its finalizers were updated; retrying`, { cause: err });
      throw err;
    }
  }

  private async writeStatus(rv: RuntimeVersion, instances: number, updates: Array<Omit<Condition, 'lastTransitionTime'>>, log: Logger): Promise<void> {
    const old = rv.status ?? {};
    const gen = rv.metadata.generation;
    let conditions: Condition[] = (old.conditions ?? []).filter((c) => updates.some((u) => u.type === c.type));
    for (const u of updates) conditions = setCondition(conditions, { ...u, ...(gen !== undefined ? { observedGeneration: gen } : {}) });
    const next: RuntimeVersionStatus = { instances, ...(gen !== undefined ? { observedGeneration: gen } : {}), conditions };
    if (JSON.stringify(comparable(old)) === JSON.stringify(comparable(next))) return;
    await this.custom.patchClusterCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name: rv.metadata.name!, body: { apiVersion: rv.apiVersion, kind: rv.kind, metadata: { name: rv.metadata.name }, status: next }, fieldManager: FIELD_MANAGER, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    const blocked = next.conditions?.find((c) => c.reason === 'DeletionBlocked');
    if (blocked && !old.conditions?.some((c) => c.reason === 'DeletionBlocked')) await this.events.record(rv, 'Warning', 'DeletionBlocked', blocked.message);
    const multi = next.conditions?.find((c) => c.reason === 'MultipleDefaults');
    if (multi && !old.conditions?.some((c) => c.reason === 'MultipleDefaults')) await this.events.record(rv, 'Warning', 'MultipleDefaults', multi.message);
    log.debug({ instances }, 'runtime version status written');
  }
}

function comparable(s: RuntimeVersionStatus): unknown {
  return { instances: s.instances ?? 0, observedGeneration: s.observedGeneration, conditions: (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]) };
}
