/**
 * Last activity per instance, for idle suspension: a request costs one Map
 * write; a timer writes status.lastActivityTime (a merge patch on the
 * /status subresource) at most once per interval per instance, and only
 * when there was activity since the last write.
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
          if ((err as { code?: number }).code === 404) {
            this.last.delete(name);
            this.written.delete(name);
          } else {
            this.written.set(name, { at: now, value: w?.value ?? -Infinity });
            this.logger?.warn({ err, instance: name }, 'could not record instance activity; retrying next interval');
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

/** An ActivityWriter that merge-patches AppInstance status in `namespace` through the apiserver. */
export function kubeActivityWriter(kc: KubeConfig, namespace: string): ActivityWriter {
  const api = kc.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return async (instance, time) => {
    try {
      await api.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: APP_INSTANCE_PLURAL, name: instance, body: { status: { lastActivityTime: time } } },
        mergePatch,
      );
    } catch (err) {
      throw err instanceof ApiException ? Object.assign(new Error(`PATCH ${instance}/status: HTTP ${err.code}`), { code: err.code }) : err;
    }
  };
}
