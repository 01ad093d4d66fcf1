/**
 * Last activity per instance, for idle suspension: a request costs one Map
 * write; a timer writes status.lastActivityTime (on the /status
 * subresource) at most once per interval per instance, only when there was
 * activity since the last write, and never backwards (kubeActivityWriter).
 */
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type pino from 'pino';
import { GROUP, VERSION } from '../k8s/crd/group.ts';
import { APP_INSTANCE_PLURAL } from '../k8s/crd/appinstance.ts';

/** How long one activity write may take before it counts as failed (and is retried next interval). */
export const WRITE_TIMEOUT_MS = 10_000;

/** Writes one instance's lastActivityTime (RFC 3339). */
export type ActivityWriter = (instance: string, time: string) => Promise<void>;

export class ActivityTracker {
  private readonly last = new Map<string, number>();
  private readonly written = new Map<string, { at: number; value: number }>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: ActivityWriter,
    private readonly intervalMs: number,
    private readonly logger?: pino.Logger,
    private readonly writeTimeoutMs = WRITE_TIMEOUT_MS,
  ) {
    // Check several times per interval so a write happens soon after the interval allows it.
    this.timer = setInterval(() => void this.flush(), Math.max(200, Math.min(intervalMs / 4, 5000)));
    this.timer.unref();
  }

  /** Records activity now (cheap: called on every request). */
  touch(instance: string): void {
    this.last.set(instance, Date.now());
  }

  /** The last recorded activity (ms since epoch) of an instance. */
  lastActivity(instance: string): number | undefined {
    return this.last.get(instance);
  }

  /** Writes every instance whose activity is newer than its last write and whose interval has passed. */
  flush(now = Date.now()): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      for (const [name, value] of this.last) {
        const w = this.written.get(name);
        if (w && (w.value >= value || now - w.at < this.intervalMs)) continue;
        this.written.set(name, { at: now, value });
        try {
          await this.writeInTime(name, new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z'));
        } catch (err) {
          // A deleted instance (404) is forgotten; other failures are retried next interval (the value counts as unwritten).
          const code = (err as { code?: number }).code;
          if (code === 404) {
            this.last.delete(name);
            this.written.delete(name);
          } else {
            this.written.set(name, { at: now, value: w?.value ?? -Infinity });
            // A conflict is another writer's newer value (or one the cache had not shown yet): expected with replicas.
            if (code === 409) this.logger?.debug({ err, instance: name }, 'instance activity changed meanwhile; comparing again next interval');
            else this.logger?.warn({ err, instance: name }, 'could not record instance activity; retrying next interval');
          }
        }
      }
    });
    return this.flushing;
  }

  /** One write, given up after writeTimeoutMs: a request that never answers must not hold every later flush. */
  private async writeInTime(name: string, time: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`writing the activity of ${name} took over ${this.writeTimeoutMs} ms`)), this.writeTimeoutMs);
    });
    try {
      await Promise.race([this.write(name, time), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the timer after a last flush of pending activity. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(Number.MAX_SAFE_INTEGER);
  }
}

/** What the writer reads of the cached AppInstance (the router's informer cache). */
export interface CachedInstances {
  get(name: string): { status?: { lastActivityTime?: string } } | undefined;
}

/**
 * An ActivityWriter for AppInstance status in `namespace`. The value only moves forward: every replica's router
 * writes the activity it saw, so a write is skipped when the cache already shows a later time (another replica
 * wrote it), and it replaces only the value the cache showed (a JSON Patch `test`), so neither a replica with a
 * stale cache nor a write that arrives after its time-out can put an older time over a newer one. A failed
 * `test` is a conflict (code 409): retried next interval, when the cache shows what won.
 */
export function kubeActivityWriter(kc: KubeConfig, namespace: string, cache?: CachedInstances): ActivityWriter {
  const api = kc.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  return async (instance, time) => {
    const known = cache?.get(instance)?.status?.lastActivityTime;
    if (known !== undefined && Date.parse(known) >= Date.parse(time)) return;
    const target = { group: GROUP, version: VERSION, namespace, plural: APP_INSTANCE_PLURAL, name: instance };
    try {
      if (known === undefined) {
        // Nothing recorded yet (status may not even exist): a merge patch creates the field.
        await api.patchNamespacedCustomObjectStatus({ ...target, body: { status: { lastActivityTime: time } } }, mergePatch);
      } else {
        const body = [
          { op: 'test', path: '/status/lastActivityTime', value: known },
          { op: 'replace', path: '/status/lastActivityTime', value: time },
        ];
        await api.patchNamespacedCustomObjectStatus({ ...target, body }, jsonPatch);
      }
    } catch (err) {
      if (!(err instanceof ApiException)) throw err;
      // The apiserver answers a failed JSON Patch test with 422.
      if (err.code === 422 && known !== undefined) {
        throw Object.assign(new Error(`PATCH ${instance}/status: lastActivityTime is no longer ${known} (another replica or a late write changed it)`), { code: 409 });
      }
      throw Object.assign(new Error(`PATCH ${instance}/status: HTTP ${err.code}`), { code: err.code });
    }
  };
}
