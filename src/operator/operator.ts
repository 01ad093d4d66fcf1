/**
 * The operator: leader election through a Lease in the scheduler namespace;
 * the leader applies the configured RuntimeVersions, starts the informers
 * and runs the AppInstance and RuntimeVersion controllers on work queues.
 * Losing the Lease stops them; stop() stops them and releases the Lease so
 * another replica takes over at once.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import { objectKey } from '../k8s/informer.ts';
import { reuseConnections } from '../k8s/kube-config.ts';
import { LeaderElector } from '../k8s/leader-election.ts';
import { WorkQueue } from '../k8s/work-queue.ts';
import type { HandlerResult, QueueMetrics } from '../k8s/work-queue.ts';
import { OperatorCaches } from './caches.ts';
import type { RoutingMode } from './desired.ts';
import { EventRecorder } from './events.ts';
import { InstanceController } from './instance-controller.ts';
import { controllerMetrics } from './metrics.ts';
import type { CatalogPort } from './resolved-app.ts';
import { applyConfiguredRuntimeVersions, RuntimeVersionController, runtimeVersionOf } from './runtime-version-controller.ts';

/** AppInstance reconciles run at once by default: about the peak backlog of a 1000-instance burst (docs/benchmarks.md). */
export const DEFAULT_INSTANCE_WORKERS = 512;

export const LEASE_NAME = 'appstore-operator';
/** How long instance changes are gathered before a RuntimeVersion's instance count and finalizer are updated. */
export const RUNTIME_VERSION_COUNT_DELAY_MS = 1000;

export interface OperatorOptions {
  kc: KubeConfig;
  config: Config;
  catalog: CatalogPort;
  /** Key that signs launcher tokens (the server's). */
  launcherKey: Buffer;
  /** Base URL of the Appstore API as pods reach it. */
  apiURL: string;
  routing: (instanceName: string) => { mode: RoutingMode; url: string };
  logger: Logger;
  metrics: Registry;
}

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface OperatorTuning {
  /** This replica's identity in the Lease (default: host name + random suffix). */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /**
   * Parallel reconciles of AppInstances (default DEFAULT_INSTANCE_WORKERS). A reconcile waits on the apiserver, not
   * the CPU, and a waiting one costs a promise: a burst is queued by the apiserver's priority and fairness, not here.
   */
  workers?: number;
  /** Launcher token lifetime (default 24 h). */
  tokenTtlMs?: number;
  /** Extra queue metrics (benchmarks record raw queue waits). */
  queueMetrics?: QueueMetrics;
  /** Called once the controllers run (this replica leads and the caches are synced). */
  onLeading?: (running: RunningControllers) => void;
}

/** The controllers of a leading replica. */
export interface RunningControllers {
  caches: OperatorCaches;
  instanceQueue: WorkQueue;
  runtimeVersionQueue: WorkQueue;
}

export interface Operator {
  /** True while this replica leads and its controllers run. */
  isLeading(): boolean;
  /** Stops the controllers and releases the Lease. */
  stop(): Promise<void>;
}

/** Starts campaigning for the Lease; the controllers run while this replica leads. */
export async function startOperator(opts: OperatorOptions, tuning: OperatorTuning = {}): Promise<Operator> {
  const namespace = opts.config.scheduler.namespace;
  // One keep-alive pool for every request (client-node would open a connection per request).
  reuseConnections(opts.kc);
  const identity = tuning.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  const logger = opts.logger.child({ component: 'operator', identity });
  let running: { stop(): Promise<void> } | undefined;
  let leading = false;
  // Starts and stops run one after the other, in the order leadership changed: when the Lease flaps (won, lost at
  // the next renew, won again — seen after a real apiserver restart), a stop must not end the controllers of the
  // start that came after it.
  let transitions: Promise<void> = Promise.resolve();
  const inOrder = (step: () => Promise<void>): Promise<void> =>
    (transitions = transitions.then(step).catch((err: unknown) => logger.error({ err }, 'stopping the controllers failed')));

  const startControllers = async (signal: AbortSignal): Promise<void> => {
    const caches = new OperatorCaches(opts.kc, namespace, (err, restartInMs) => logger.warn({ err, restartInMs }, 'watch failed; restarting'));
    const events = new EventRecorder(opts.kc, logger, identity);
    const imetrics = controllerMetrics(opts.metrics, 'appinstance');
    const rmetrics = controllerMetrics(opts.metrics, 'runtimeversion');
    const extra = tuning.queueMetrics;
    const iq = new WorkQueue({ metrics: extra ? teeMetrics(imetrics.queue, extra) : imetrics.queue, onError: (key, err, retries) => logger.warn({ err, kind: 'AppInstance', key, retries }, 'reconcile failed; retrying with backoff') });
    const rq = new WorkQueue({ metrics: rmetrics.queue, onError: (key, err, retries) => logger.warn({ err, kind: 'RuntimeVersion', name: key, retries }, 'reconcile failed; retrying with backoff') });
    const instances = new InstanceController({ ...opts, caches, events, logger, retry: (key) => iq.addRateLimited(key), enqueue: (key, since) => iq.add(key, since), ...(tuning.tokenTtlMs ? { tokenTtlMs: tuning.tokenTtlMs } : {}) });
    const rvs = new RuntimeVersionController(opts.kc, caches, events, logger);

    // Keys de-duplicate in the queue; the echoes of our own writes are not even added.
    caches.instances.enqueueTo(iq, (i) => instances.instanceKeys(i, namespace));
    for (const inf of caches.children()) inf.enqueueTo(iq, (o) => instances.childKeys(o, inf.get(o.metadata?.namespace, o.metadata?.name ?? '')));
    caches.appSecrets.enqueueTo(iq, (s) => instances.appSecretKeys(s, namespace));
    // A RuntimeVersion that appears, changes its spec, starts deleting or goes may decide instances that could not be
    // resolved yet; its status (the instance count, rewritten as instances come) does not: without this filter every
    // count update re-queued every unresolved instance.
    const rvSeen = new Map<string, string>();
    caches.runtimeVersions.enqueueTo({
      add: (name) => {
        const rv = caches.runtimeVersions.get(undefined, name);
        const seen = rv ? `${rv.metadata.uid}/${rv.metadata.generation}/${rv.metadata.deletionTimestamp ? 'deleting' : ''}` : undefined;
        if (seen === rvSeen.get(name)) return;
        if (seen) rvSeen.set(name, seen);
        else rvSeen.delete(name);
        caches.instances.list(namespace).filter((i) => !i.status?.resolved?.runtimeVersion).forEach((i) => iq.add(objectKey(i)));
      },
    });
    caches.runtimeVersions.enqueueTo(rq);
    // Instance events only change a RuntimeVersion's count and finalizer: batched, at most one reconcile a second.
    caches.instances.enqueueTo({ add: (rv) => rq.addAfter(rv, RUNTIME_VERSION_COUNT_DELAY_MS) }, (i) => {
      const rv = runtimeVersionOf(i);
      return rv ? [rv] : [];
    });

    await applyConfiguredRuntimeVersions(opts.kc, opts.config, logger);
    await caches.start();
    if (signal.aborted) {
      await caches.stop();
      return;
    }
    const timed = (ctl: { reconcile(k: string): Promise<HandlerResult | void> }, m: ReturnType<typeof controllerMetrics>) => async (key: string) => {
      const start = performance.now();
      try {
        const r = await ctl.reconcile(key);
        m.reconciled(r?.requeueAfterMs !== undefined ? 'requeue' : 'success', (performance.now() - start) / 1000);
        return r;
      } catch (err) {
        m.reconciled('error', (performance.now() - start) / 1000);
        throw err;
      }
    };
    const loops = [iq.run(timed(instances, imetrics), tuning.workers ?? DEFAULT_INSTANCE_WORKERS), rq.run(timed(rvs, rmetrics), 1)];
    logger.info({ namespace }, 'leading: controllers started');
    tuning.onLeading?.({ caches, instanceQueue: iq, runtimeVersionQueue: rq });
    running = {
      async stop() {
        await Promise.all([iq.shutdown(), rq.shutdown()]);
        await Promise.all(loops);
        await instances.idle();
        await caches.stop();
        instances.forgetAll();
        logger.info('controllers stopped');
      },
    };
  };

  const stopControllers = async () => {
    const r = running;
    running = undefined;
    await r?.stop();
  };

  const elector = new LeaderElector(opts.kc.makeApiClient(CoordinationV1Api), {
    namespace,
    name: LEASE_NAME,
    identity,
    ...(tuning.leaseDurationMs ? { leaseDurationMs: tuning.leaseDurationMs } : {}),
    ...(tuning.renewDeadlineMs ? { renewDeadlineMs: tuning.renewDeadlineMs } : {}),
    ...(tuning.retryPeriodMs ? { retryPeriodMs: tuning.retryPeriodMs } : {}),
    onStartedLeading: (signal) => {
      leading = true;
      logger.info('became leader');
      void inOrder(() =>
        (signal.aborted ? Promise.resolve() : startControllers(signal)).catch((err: unknown) => {
          logger.error({ err }, 'controllers failed to start; giving up leadership');
          // Let another replica try: stepping down is what a crash would do, without the crash.
          void elector.stop({ release: true }).then(() => elector.start());
        }),
      );
    },
    onStoppedLeading: () => {
      leading = false;
      logger.info('stopped leading');
      void inOrder(stopControllers);
    },
    onError: (err) => logger.warn({ err }, 'leader election request failed'),
  });
  elector.start();
  return {
    isLeading: () => leading && running !== undefined,
    async stop() {
      await inOrder(stopControllers);
      await elector.stop({ release: true });
    },
  };
}

function teeMetrics(a: QueueMetrics, b: QueueMetrics): QueueMetrics {
  return {
    add: () => (a.add(), b.add()),
    depth: (n) => (a.depth(n), b.depth(n)),
    queueWait: (ms) => (a.queueWait(ms), b.queueWait(ms)),
    workDuration: (ms) => (a.workDuration(ms), b.workDuration(ms)),
    retry: () => (a.retry(), b.retry()),
  };
}

