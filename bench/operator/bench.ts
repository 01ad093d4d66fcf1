/**
 * make bench-operator: the AppInstance operator on a real apiserver (the
 * local control plane: make cluster-up, or APPSTORE_TEST_KUBECONFIG).
 *
 * 1. Create ratio: time from an AppInstance create to all its children
 *    (Deployment, Service, Secret) existing, as seen by a watch, against
 *    the round trip of a bare ConfigMap create on the same apiserver; p50s.
 *    Each sample starts on a quiet apiserver (the operator idle, then a
 *    pause for the controller manager's reactions), so neither time carries
 *    the previous sample's work. Printed beside it, the apiserver's floor
 *    for the same result without any operator: the bench itself creates the
 *    AppInstance (in a namespace the operator does not watch) and, the
 *    moment the create returns, the same three children with plain POSTs at
 *    once (floor_ratio_p50).
 * 2. 1000 instances created at once (50 requests in flight): all children
 *    exist; the work queue's wait at p99, timed like client-go's
 *    workqueue_queue_duration_seconds (first add since the last get → get;
 *    see QueueMetrics.queueWait). Also printed: the load average, reconciles,
 *    adds, retries and reconcile durations of that phase.
 * 3. Cache memory: the operator's informers (instances, children,
 *    RuntimeVersions) synced over those 1000 instances, heap after − before
 *    (with gc), per instance.
 *
 * Run with node --expose-gc (for the cache process). Last line: BENCH operator create_ratio_p50=… queue_wait_p99_ms=… cache_bytes_per_instance=… floor_ratio_p50=…
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { APP_INSTANCE_PLURAL, appInstance, API_VERSION, GROUP, RUNTIME_VERSION_KIND, RUNTIME_VERSION_PLURAL, VERSION, type AppInstance } from '../../src/k8s/crd/index.ts';
import { installCrds } from '../../src/k8s/crd/install.ts';
import { Informer } from '../../src/k8s/informer.ts';
import { RecordingQueueMetrics } from '../../src/k8s/work-queue.ts';
import { createMetricsRegistry } from '../../src/lib/metrics.ts';
import { desiredChildren, LABEL_INSTANCE } from '../../src/operator/desired.ts';
import { startOperator } from '../../src/operator/operator.ts';
import type { CatalogPort, ResolvedApp } from '../../src/operator/resolved-app.ts';

const N_RATIO = Number(process.env.BENCH_RATIO_SAMPLES ?? 30);
const N_BULK = Number(process.env.BENCH_INSTANCES ?? 1000);
const IN_FLIGHT = 50;
/** Pause before each timed create, after the operator went idle: the controller manager's reactions to the last one (ReplicaSet, EndpointSlice, status) settle. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 250);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (make bench-operator does)');

const kubeconfig = process.env.APPSTORE_TEST_KUBECONFIG ?? '.appstore/cluster/admin.kubeconfig';
if (!existsSync(kubeconfig)) throw new Error(`no kubeconfig at ${kubeconfig}: start the local control plane with make cluster-up, or set APPSTORE_TEST_KUBECONFIG`);
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const sfx = randomBytes(3).toString('hex');
const ns = `bench-operator-${sfx}`;
/** Where the bench writes the children itself (the floor): the operator only reconciles instances in `ns`. */
const floorNs = `${ns}-floor`;
const rt = `bench-rt-${sfx}`;
const app: ResolvedApp = {
  id: '0b6f7c1e-1111-4222-8333-444455556666',
  name: 'ai.h2o.wave.bench',
  version: '1.0.0',
  title: 'Bench',
  module: 'app.main',
  bundleDigest: `sha256:${'b'.repeat(64)}`,
  runtime: { module: 'app.main' },
  env: [{ name: 'GREETING', value: 'hello' }],
  files: [],
};
const catalog: CatalogPort = { resolveById: async (id) => (id === app.id ? app : undefined), resolveByNameVersion: async () => undefined };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const log = (m: string) => console.log(m);

/** First time the bench's own watch saw each child, by instance name. */
class ChildWatch {
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly informers: Informer<KubernetesObject>[];
  constructor(ns: string) {
    const mk = (apiVersion: string, kind: string, plural: string) =>
      new Informer<KubernetesObject>(kc, { apiVersion, kind, plural, namespace: ns, labelSelector: LABEL_INSTANCE, transform: (o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, labels: o.metadata?.labels } }) });
    this.informers = [mk('apps/v1', 'Deployment', 'deployments'), mk('v1', 'Service', 'services'), mk('v1', 'Secret', 'secrets')];
    for (const inf of this.informers) {
      inf.enqueueTo({
        add: (key) => {
          const obj = inf.get(ns, key.slice(ns.length + 1));
          const inst = obj?.metadata?.labels?.[LABEL_INSTANCE];
          if (!inst || !obj?.kind) return;
          const m = this.seen.get(inst) ?? new Map<string, number>();
          if (!m.has(obj.kind)) m.set(obj.kind, performance.now());
          this.seen.set(inst, m);
        },
      });
    }
  }
  async start() {
    await Promise.all(this.informers.map((i) => i.start()));
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }
  async stop() {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
  /** When all three children of `inst` had been seen, or undefined. */
  complete(inst: string): number | undefined {
    const m = this.seen.get(inst);
    return m && m.size === 3 ? Math.max(...m.values()) : undefined;
  }
  completeCount(): number {
    let n = 0;
    for (const m of this.seen.values()) if (m.size === 3) n++;
    return n;
  }
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const createInstance = (name: string, namespace = ns) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: APP_INSTANCE_PLURAL,
    namespace,
    // Suspended: the bench measures the operator, not 1000 fake pods on the shared test cluster.
    body: appInstance(name, namespace, { app: { id: app.id }, owner: { subject: 'bench', name: 'bench' }, runtimeVersion: rt, suspend: true }),
  }) as Promise<AppInstance>;

// Idempotent: the bench does not rely on someone else having installed the CRDs.
await installCrds(kc, { fieldManager: 'appstore-bench' });
for (const name of [ns, floorNs]) await core.createNamespace({ body: { metadata: { name, labels: { 'appstore.test/ephemeral': 'true' } } } });
const runtime = { name: rt, image: 'registry.example.com/wave-launcher:1.0.0' };
await custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, body: { apiVersion: API_VERSION, kind: RUNTIME_VERSION_KIND, metadata: { name: rt }, spec: { image: runtime.image } } });
const { config } = loadConfig({ flags: { 'Scheduler.Namespace': ns } });
const queue = new RecordingQueueMetrics();
/** The API's URL as pods reach it; the floor's children carry the same, so both sides write identical objects. */
const apiURL = 'http://appstore:8080';
const routing = (n: string) => ({ mode: 'BASE_URL' as const, url: `${apiURL}/instance/${n}/` });
const objects = KubernetesObjectApi.makeApiClient(kc);
let leading = false;
const op = await startOperator(
  { kc, config, catalog, launcherKey: randomBytes(32), apiURL, routing, logger: pino({ level: 'silent' }), metrics: createMetricsRegistry() },
  { queueMetrics: queue, onLeading: () => (leading = true), ...(process.env.BENCH_WORKERS ? { workers: Number(process.env.BENCH_WORKERS) } : {}) },
);
const watch = new ChildWatch(ns);
const floorWatch = new ChildWatch(floorNs);

/** Waits until the operator is idle (after `reconciles` reconciles in all), then SETTLE_MS. */
async function quiet(reconciles: number): Promise<void> {
  await until('the operator to go idle', () => queue.workDurations.length >= reconciles && queue.currentDepth === 0, 30_000);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
}

/** The floor: what the apiserver takes to reach the same result with no operator (create, then the children at once). */
async function floorSample(name: string): Promise<number> {
  const t = performance.now();
  const created = await createInstance(name, floorNs);
  const built = desiredChildren({ instance: created, app, runtime, config: config.scheduler, launcher: { apiURL, token: 'lt1.floor' }, routing: routing(name), secrets: () => undefined });
  if (!built.ok) throw new Error(`floor: ${built.error.field}: ${built.error.message}`);
  const { deployment, service, secret } = built.children;
  await Promise.all([deployment, service, secret].map((o) => objects.create(o as KubernetesObject)));
  await until(`the floor children of ${name}`, () => floorWatch.complete(name) !== undefined, 30_000);
  return floorWatch.complete(name)! - t;
}

try {
  await until('the operator to lead', () => leading, 60_000);
  await watch.start();
  await floorWatch.start();

  // 1. Create ratio, each timed create on a quiet apiserver.
  const bare: number[] = [];
  const inst: number[] = [];
  const floor: number[] = [];
  for (let i = -5; i < N_RATIO; i++) {
    await quiet(queue.workDurations.length);
    const t0 = performance.now();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `bare-${i + 5}` }, data: { a: 'b' } } });
    const tb = performance.now() - t0;
    await quiet(queue.workDurations.length);
    const name = `ratio-${i + 5}`;
    const reconciles = queue.workDurations.length;
    const t1 = performance.now();
    await createInstance(name);
    await until(`the children of ${name}`, () => watch.complete(name) !== undefined, 30_000);
    const ti = watch.complete(name)! - t1;
    // The instance's reconcile (children, then its status) ends before the next timed create.
    await quiet(reconciles + 1);
    const tf = await floorSample(`floor-${i + 5}`);
    if (i >= 0) {
      bare.push(tb);
      inst.push(ti);
      floor.push(tf);
    }
  }
  const ratio = pct(inst, 50) / pct(bare, 50);
  const floorRatio = pct(floor, 50) / pct(bare, 50);
  log(`create: bare ConfigMap p50 ${pct(bare, 50).toFixed(1)} ms, AppInstance → all children p50 ${pct(inst, 50).toFixed(1)} ms (p90 ${pct(inst, 90).toFixed(1)}): ratio ${ratio.toFixed(2)} (goal ≤ 3.5)`);
  log(`floor, no operator: AppInstance create, then its three children POSTed at once the moment it returns: p50 ${pct(floor, 50).toFixed(1)} ms (p90 ${pct(floor, 90).toFixed(1)}): ratio ${floorRatio.toFixed(2)}; the operator adds ${(pct(inst, 50) - pct(floor, 50)).toFixed(1)} ms at p50`);

  // The floor's instances go: the operator caches AppInstances of every namespace, and phase 3 counts them.
  await floorWatch.stop();
  await custom.deleteCollectionNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: floorNs });
  const floorGone = async () => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: floorNs })) as { items: unknown[] }).items.length === 0;
  for (let n = 0; !(await floorGone()); n++) {
    if (n > 300) throw new Error(`the floor's AppInstances in ${floorNs} were not deleted within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // 2. N_BULK at once.
  queue.queueWaits.length = 0;
  const reconcilesBefore = queue.workDurations.length;
  const addsBefore = queue.adds;
  const retriesBefore = queue.retries;
  const elu0 = performance.eventLoopUtilization();
  const before = watch.completeCount();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < N_BULK) await createInstance(`bulk-${next++}`);
  }));
  const created = performance.now() - t0;
  await until(`children of all ${N_BULK} instances`, () => watch.completeCount() - before >= N_BULK, 600_000);
  const allChildren = performance.now() - t0;
  // Let the status writes and their echoes settle before reading the queue waits.
  await until('the queue to drain', () => queue.currentDepth === 0, 600_000);
  const waitP99 = pct(queue.queueWaits, 99);
  log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${queue.workDurations.length - reconcilesBefore} reconciles for ${N_BULK} instances, ${queue.adds - addsBefore} adds, ${queue.retries - retriesBefore} retries; bench+operator event loop ${(performance.eventLoopUtilization(elu0).utilization * 100).toFixed(0)}% busy; reconcile p50 ${pct(queue.workDurations.slice(reconcilesBefore), 50).toFixed(1)} ms, p99 ${pct(queue.workDurations.slice(reconcilesBefore), 99).toFixed(1)} ms`);
  log(`bulk: ${N_BULK} AppInstances created in ${(created / 1000).toFixed(1)} s (${IN_FLIGHT} in flight); all children in ${(allChildren / 1000).toFixed(1)} s; queue wait p50 ${pct(queue.queueWaits, 50).toFixed(1)} ms, p99 ${waitP99.toFixed(1)} ms over ${queue.queueWaits.length} reconciles (goal ≤ 1000)`);

  // 3. Cache memory of the operator's informers over the N_BULK (+ ratio) instances, in a fresh process.
  const total = N_BULK + N_RATIO + 5;
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/operator/cache-size.ts', kubeconfig, ns], { encoding: 'utf8' });
  const { instances: cached, bytes } = JSON.parse(out.trim().split('\n').pop()!) as { instances: number; bytes: number };
  const perInstance = bytes / cached;
  log(`cache: ${cached} instances (expected ${total}) with their Deployments, Services, Secrets and the RuntimeVersions cached: heap +${(bytes / 1024 / 1024).toFixed(2)} MiB, ${perInstance.toFixed(0)} bytes per instance (goal ≤ 10240)`);

  console.log(`BENCH operator create_ratio_p50=${ratio.toFixed(2)} queue_wait_p99_ms=${waitP99.toFixed(1)} cache_bytes_per_instance=${perInstance.toFixed(0)} floor_ratio_p50=${floorRatio.toFixed(2)}`);
} finally {
  await watch.stop();
  await floorWatch.stop().catch(() => {});
  await op.stop();
  for (const name of [ns, floorNs]) await core.deleteNamespace({ name }).catch(() => {});
  await custom.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name: rt, body: [{ op: 'remove', path: '/metadata/finalizers' }] }).catch(() => {});
  await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name: rt }).catch(() => {});
}
process.exit(0);
