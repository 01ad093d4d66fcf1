// needs: cluster
/**
 * The AppInstance and RuntimeVersion controllers on the real control plane
 * (kube-apiserver, controller manager with its garbage collector, scheduler,
 * kwok as the fake kubelet): children and their spec, status following the
 * pod, suspend/resume, garbage collection, user mistakes as conditions, the
 * runtime version rules and the protection finalizer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { verifyLauncherToken } from '../src/auth/launcher-token.ts';
import { appInstance, INSTANCE_CONDITIONS, RUNTIME_VERSION_PROTECTION_FINALIZER } from '../src/k8s/crd/index.ts';
import type { AppInstance } from '../src/k8s/crd/index.ts';
import { LABEL_INSTANCE, LAUNCHER_TOKEN_KEY } from '../src/operator/desired.ts';
import type { Operator } from '../src/operator/operator.ts';
import { freshNamespace, kubeConfig, apiStatus } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import {
  condition, createInstance, createRuntimeVersion, deleteInstance, deleteRuntimeVersion, ensureOperatorCrds, getInstance, getRuntimeVersion, MemoryCatalog, operatorConfig,
  patchInstanceSpec, sampleApp, startTestOperator, suffix,
} from './support/operator.ts';
import { appSecretMeta, appSecretObjectName, type SecretScope } from '../src/k8s/app-secrets.ts';
import { waitFor } from './support/ports.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const appsApi = kc.makeApiClient(AppsV1Api);
const KEY = Buffer.alloc(32, 7);
const sfx = suffix();
const RT = `op-rt-${sfx}`;
const RT_OLD = `op-old-${sfx}`;
const RT_SEED = `Op_Seed_${sfx}`; // seed-style name in app.toml: maps to op-seed-<sfx>
const IMAGE = 'registry.example.com/wave-launcher:1.0.0';

let ns: TestNamespace;
let op: Operator;
const catalog = new MemoryCatalog();

const plainApp = sampleApp({ name: 'ai.h2o.wave.plain', version: '1.0.0' });
const fullApp = sampleApp({
  name: 'ai.h2o.wave.full',
  version: '2.0.0',
  runtime: { volumeMount: '/data', volumeSize: '1Gi', resourceVolumeSize: '2Gi', memoryLimit: '1Gi', memoryReservation: '600Mi', cpuLimit: '2', cpuReservation: '250m', gpuCount: 1, gpuType: 'nvidia-tesla-t4' },
  env: [{ name: 'GREETING', value: 'hello' }, { name: 'DB_PASSWORD', secret: 'db', secretKey: 'password' }],
  files: [{ path: 'config/settings.json', value: '{"debug":false}' }, { path: '/etc/certs/ca.pem', secret: 'certs', secretKey: 'ca' }],
});
const gpuApp = sampleApp({ name: 'ai.h2o.wave.gpu', version: '1.0.0', runtime: { gpuCount: 1, gpuType: 'h100' } });
const seedRuntimeApp = sampleApp({ name: 'ai.h2o.wave.seedrt', version: '1.0.0', runtimeVersion: RT_SEED });
for (const a of [plainApp, fullApp, gpuApp, seedRuntimeApp]) catalog.add(a);

function instance(name: string, app: { name: string; version: string } | { id: string }, extra: Partial<AppInstance['spec']> = {}): AppInstance {
  return appInstance(name, ns.name, { app, owner: { subject: 'alice', name: 'alice@example.com' }, runtimeVersion: RT, ...extra });
}

async function waitInstance(name: string, what: string, check: (i: AppInstance) => boolean, timeoutMs = 30_000): Promise<AppInstance> {
  let last: AppInstance | undefined;
  await waitFor(`${name}: ${what}`, async () => {
    last = await getInstance(kc, ns.name, name);
    return !!last && check(last);
  }, timeoutMs, 100).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

const readyReason = (i: AppInstance) => condition(i, INSTANCE_CONDITIONS.Ready)?.reason;

async function podsOf(name: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `${LABEL_INSTANCE}=${name}` })).items;
}

before(async () => {
  ns = await freshNamespace('operator');
  // This file installs what it needs itself: it passes alone and in any order.
  await ensureOperatorCrds(kc, ns.name);
  await createRuntimeVersion(kc, RT, { image: IMAGE });
  await createRuntimeVersion(kc, RT_OLD, { image: 'registry.example.com/wave-launcher:0.9.0', deprecated: true });
  await createRuntimeVersion(kc, RT_SEED.replace(/_/g, '-').toLowerCase(), { image: 'registry.example.com/wave-launcher:seed' });
  op = await startTestOperator(kc, operatorConfig(ns.name, { 'Scheduler.AllowedGPUTypes': 'nvidia-tesla-t4,a100', 'Scheduler.StorageClass': '' }), catalog);
  await waitFor('the operator to lead', async () => op.isLeading(), 30_000);
});

after(async () => {
  await op?.stop();
  // The test cluster runs no pvc-protection controller: drop its finalizer so the namespace can go.
  if (ns) {
    for (const p of (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name })).items) {
      await core.patchNamespacedPersistentVolumeClaim({ name: p.metadata!.name!, namespace: ns.name, body: [{ op: 'remove', path: '/metadata/finalizers' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)).catch(() => {});
    }
  }
  await ns?.cleanup();
  for (const n of [RT, RT_OLD, RT_SEED.replace(/_/g, '-').toLowerCase()]) await deleteRuntimeVersion(kc, n);
});

describe('an instance of a plain app', () => {
  test('create → Deployment, Service and Secret with the right spec; the status follows the (kwok) pod to Ready', async () => {
    await createInstance(kc, instance('plain', { name: plainApp.name, version: plainApp.version }));
    const inst = await waitInstance('plain', 'Ready', (i) => condition(i, 'Ready')?.status === 'True');
    assert.equal(inst.status?.summary, 'Ready');
    assert.equal(inst.status?.url, 'http://appstore.test:8080/instance/plain/');
    assert.equal(inst.status?.observedGeneration, inst.metadata.generation);
    assert.deepEqual(inst.status?.resolved, {
      appId: plainApp.id, appName: plainApp.name, appVersion: '1.0.0', appTitle: 'Test app', module: 'app.main', bundleDigest: plainApp.bundleDigest, runtimeVersion: RT, image: IMAGE,
    });
    assert.ok(inst.status?.startedAt && inst.status.readyAt, 'startedAt and readyAt are set');
    assert.equal(condition(inst, 'Resolved')?.status, 'True');
    assert.equal(condition(inst, 'Scheduled')?.status, 'True');
    assert.equal(condition(inst, 'StorageBound')?.reason, 'NoVolumes');
    assert.equal(condition(inst, 'Progressing')?.status, 'False');

    const dep = await appsApi.readNamespacedDeployment({ name: 'plain', namespace: ns.name });
    const c = dep.spec!.template.spec!.containers[0]!;
    assert.equal(c.image, IMAGE);
    assert.equal(dep.spec!.replicas, 1);
    assert.equal(dep.metadata!.ownerReferences?.[0]?.kind, 'AppInstance');
    assert.equal(dep.metadata!.ownerReferences?.[0]?.uid, inst.metadata.uid);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? `secret:${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`]));
    assert.equal(env.H2O_CLOUD_BUNDLE_URL, `http://appstore.test:8080/api/v1/apps/${plainApp.id}/bundle`);
    assert.equal(env.H2O_CLOUD_LAUNCHER_TOKEN, `secret:plain-appstore/${LAUNCHER_TOKEN_KEY}`);
    assert.equal(env.H2O_WAVE_BASE_URL, '/instance/plain/');
    // The defaults of [Scheduler.DefaultRuntimeLimit].
    assert.deepEqual(JSON.parse(JSON.stringify(c.resources)), { limits: { memory: '2Gi' }, requests: { memory: '512Mi' } });

    // The Service's creation is not awaited by the reconcile (ClusterIP allocation is serial): it follows shortly.
    await waitFor('the Service', async () => (await core.readNamespacedService({ name: 'plain', namespace: ns.name }).catch(() => undefined)) !== undefined, 30_000);
    const svc = await core.readNamespacedService({ name: 'plain', namespace: ns.name });
    assert.equal(svc.spec?.type, 'ClusterIP');
    assert.deepEqual(svc.spec?.selector, { [LABEL_INSTANCE]: 'plain' });

    const secret = await core.readNamespacedSecret({ name: 'plain-appstore', namespace: ns.name });
    const token = Buffer.from(secret.data![LAUNCHER_TOKEN_KEY]!, 'base64').toString();
    const claims = verifyLauncherToken(KEY, token, plainApp.id);
    assert.equal(claims.instance, 'plain');
    assert.ok(claims.exp > Date.now() / 1000 + 3600, 'the token is valid for hours');

    const events = await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=plain,involvedObject.kind=AppInstance' });
    assert.ok(events.items.some((e) => e.reason === 'Running' && e.type === 'Normal'), `a Running event: ${events.items.map((e) => e.reason).join(', ')}`);
  });

  test('the status is written only on change: a quiet ready instance keeps its resourceVersion', async () => {
    const a = await getInstance(kc, ns.name, 'plain');
    await new Promise((r) => setTimeout(r, 1500));
    const b = await getInstance(kc, ns.name, 'plain');
    assert.equal(b?.metadata.resourceVersion, a?.metadata.resourceVersion);
  });

  test('suspend → replicas 0, no pod, Suspended; resume → replicas 1, Ready again', async () => {
    await patchInstanceSpec(kc, ns.name, 'plain', { suspend: true });
    const s = await waitInstance('plain', 'Suspended', (i) => i.status?.summary === 'Suspended');
    assert.equal(readyReason(s), 'Suspended');
    assert.equal((await appsApi.readNamespacedDeployment({ name: 'plain', namespace: ns.name })).spec?.replicas, 0);
    assert.equal((await podsOf('plain')).length, 0);
    await patchInstanceSpec(kc, ns.name, 'plain', { suspend: false });
    await waitInstance('plain', 'Ready after resume', (i) => condition(i, 'Ready')?.status === 'True');
    assert.equal((await appsApi.readNamespacedDeployment({ name: 'plain', namespace: ns.name })).spec?.replicas, 1);
  });

  test('a crash-looping container (kubelet status written by the test, as kwok is the fake kubelet) → CrashLoopBackOff with the exit code', async () => {
    let pod: V1Pod | undefined;
    await waitFor('the pod of plain', async () => {
      pod = (await podsOf('plain')).find((p) => !p.metadata?.deletionTimestamp);
      return pod !== undefined;
    });
    assert.ok(pod);
    const status = {
      phase: 'Running',
      conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }],
      containerStatuses: [{
        name: 'app', ready: false, restartCount: 4, image: IMAGE, imageID: '',
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
        lastState: { terminated: { exitCode: 3, reason: 'Error' } },
      }],
    };
    await core.patchNamespacedPodStatus({ name: pod.metadata!.name!, namespace: ns.name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    const inst = await waitInstance('plain', 'CrashLoopBackOff', (i) => readyReason(i) === 'CrashLoopBackOff', 15_000);
    assert.match(condition(inst, 'Ready')!.message, /last exit code 3/);
    assert.equal(inst.status?.summary, 'Failed');
    // The operator records its Event without waiting for it (an Event must never hold up a reconcile): poll.
    await waitFor('a Warning event CrashLoopBackOff on plain', async () => {
      const events = await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=plain' });
      return events.items.some((e) => e.reason === 'CrashLoopBackOff' && e.type === 'Warning');
    });
  });

  test('delete → the children are garbage-collected', async () => {
    await deleteInstance(kc, ns.name, 'plain');
    await waitFor('the Deployment, Service and Secret to be collected', async () => {
      const gone = async (f: () => Promise<unknown>) => f().then(() => false, (err) => apiStatus(err) === 404);
      return (await gone(() => appsApi.readNamespacedDeployment({ name: 'plain', namespace: ns.name })))
        && (await gone(() => core.readNamespacedService({ name: 'plain', namespace: ns.name })))
        && (await gone(() => core.readNamespacedSecret({ name: 'plain-appstore', namespace: ns.name })));
    }, 30_000, 200);
  });
});

/** Creates an app secret as the API does (src/k8s/app-secrets.ts). */
async function createAppSecret(scope: SecretScope, name: string, data: Record<string, string>): Promise<void> {
  const owner = scope.visibility === 'PRIVATE' ? scope.owner : 'admin';
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: appSecretMeta(scope, name, { subject: owner, name: owner }), stringData: data } });
}

describe('app secrets: app.toml may name only secrets the instance is entitled to (issue #24 item 1)', () => {
  test('a platform Secret named in app.toml is never mounted: SecretNotFound, no Deployment; the entitled secret, once created, brings the instance up', async () => {
    // A Secret of the platform's in the instance namespace (the database's, say), and an app that names it.
    await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'appstore-database' }, stringData: { password: 'the platform database password' } } });
    const thief = sampleApp({ name: 'ai.h2o.wave.thief', version: '1.0.0', env: [{ name: 'LOOT', secret: 'appstore-database', secretKey: 'password' }] });
    catalog.add(thief);
    await createInstance(kc, instance('thief', { id: thief.id }));
    const refused = await waitInstance('thief', 'SecretNotFound', (i) => readyReason(i) === 'SecretNotFound');
    assert.equal(refused.status?.summary, 'Failed');
    assert.match(condition(refused, INSTANCE_CONDITIONS.Ready)!.message, /Env\[0\]\.Secret: no app secret "appstore-database" is available to this instance/);
    await assert.rejects(appsApi.readNamespacedDeployment({ name: 'thief', namespace: ns.name }), (e: { code?: number }) => e.code === 404);

    // Another user's PRIVATE secret of that name does not help alice's instance either.
    await createAppSecret({ visibility: 'PRIVATE', owner: 'bob' }, 'appstore-database', { password: 'bob' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(readyReason((await getInstance(kc, ns.name, 'thief'))!), 'SecretNotFound');
    await assert.rejects(appsApi.readNamespacedDeployment({ name: 'thief', namespace: ns.name }), (e: { code?: number }) => e.code === 404);

    // An ALL_USERS app secret of that name is what the reference means: the instance is requeued by its creation.
    await createAppSecret({ visibility: 'ALL_USERS' }, 'appstore-database', { password: 'shared' });
    await waitFor('the thief Deployment', async () => !!(await appsApi.readNamespacedDeployment({ name: 'thief', namespace: ns.name }).catch(() => undefined)), 30_000, 100);
    const dep = await appsApi.readNamespacedDeployment({ name: 'thief', namespace: ns.name });
    const ref = dep.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'LOOT')!.valueFrom!.secretKeyRef!;
    assert.equal(ref.name, appSecretObjectName({ visibility: 'ALL_USERS' }, 'appstore-database'));
    await deleteInstance(kc, ns.name, 'thief');
  });
});

describe('env, files, volumes, GPU and limits', () => {
  test('the Deployment carries them; PVCs exist; waiting for storage until the volumes are bound', async () => {
    // The app secrets it names: db for everyone, certs alice's own.
    await createAppSecret({ visibility: 'ALL_USERS' }, 'db', { password: 'pw' });
    await createAppSecret({ visibility: 'PRIVATE', owner: 'alice' }, 'certs', { ca: 'pem' });
    await createInstance(kc, instance('full', { id: fullApp.id }));
    const waiting = await waitInstance('full', 'WaitingForStorage', (i) => readyReason(i) === 'WaitingForStorage');
    assert.equal(condition(waiting, 'StorageBound')?.status, 'False');
    assert.match(condition(waiting, 'StorageBound')!.message, /full-data/);
    assert.equal(waiting.status?.summary, 'Pending');

    const dep = await appsApi.readNamespacedDeployment({ name: 'full', namespace: ns.name });
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0]!;
    assert.deepEqual(JSON.parse(JSON.stringify(c.resources)), { limits: { memory: '1Gi', cpu: '2', 'nvidia.com/gpu': '1' }, requests: { memory: '600Mi', cpu: '250m' } });
    assert.deepEqual(pod.nodeSelector, { 'hac.h2o.ai/accelerator': 'nvidia-tesla-t4' });
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e]));
    assert.equal(env.GREETING?.value, 'hello');
    assert.deepEqual({ ...env.DB_PASSWORD?.valueFrom?.secretKeyRef }, { name: appSecretObjectName({ visibility: 'ALL_USERS' }, 'db'), key: 'password' });
    const certs = pod.volumes!.find((v) => v.name === 'file-1')!.projected!.sources![0]!.secret!;
    assert.equal(certs.name, appSecretObjectName({ visibility: 'PRIVATE', owner: 'alice' }, 'certs'));
    const mounts = Object.fromEntries(c.volumeMounts!.map((m) => [m.mountPath, m.name]));
    assert.deepEqual(mounts, { '/app/config': 'file-0', '/etc/certs': 'file-1', '/data': 'data', '/resources': 'resources' });
    const secret = await core.readNamespacedSecret({ name: 'full-appstore', namespace: ns.name });
    assert.equal(Buffer.from(secret.data!['file-0']!, 'base64').toString(), '{"debug":false}');

    const pvcs = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name, labelSelector: `${LABEL_INSTANCE}=full` })).items;
    assert.deepEqual(pvcs.map((p) => [p.metadata!.name, p.spec!.resources!.requests!.storage]).sort(), [['full-data', '1Gi'], ['full-resources', '2Gi']]);

    // The test cluster runs no volume binder (no persistentvolume-binder controller, no provisioner):
    // the test plays that part and marks the claims Bound through their status subresource.
    for (const p of pvcs) {
      await core.patchNamespacedPersistentVolumeClaimStatus({ name: p.metadata!.name!, namespace: ns.name, body: { status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: p.spec!.resources!.requests!.storage! } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    const bound = await waitInstance('full', 'StorageBound', (i) => condition(i, 'StorageBound')?.status === 'True');
    assert.equal(condition(bound, 'StorageBound')?.reason, 'Bound');
    assert.match(condition(bound, 'StorageBound')!.message, /full-data, full-resources/);
  });

  test('suspend keeps the PVCs', async () => {
    await patchInstanceSpec(kc, ns.name, 'full', { suspend: true });
    await waitInstance('full', 'Suspended', (i) => i.status?.summary === 'Suspended');
    const pvcs = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name, labelSelector: `${LABEL_INSTANCE}=full` })).items;
    assert.equal(pvcs.length, 2);
  });

  test('a GPU type that is not allowed → GPUTypeNotAllowed, no Deployment', async () => {
    await createInstance(kc, instance('gpu', { id: gpuApp.id }));
    const inst = await waitInstance('gpu', 'GPUTypeNotAllowed', (i) => readyReason(i) === 'GPUTypeNotAllowed');
    assert.match(condition(inst, 'Ready')!.message, /Runtime\.GPUType: GPU type "h100" is not allowed here/);
    assert.equal(condition(inst, 'Resolved')?.status, 'True');
    await assert.rejects(appsApi.readNamespacedDeployment({ name: 'gpu', namespace: ns.name }), (err) => apiStatus(err) === 404);
  });

  test('an allowed GPU type no node has → Unschedulable with the scheduler\'s message, then TimedOut after overrides.timeoutSeconds', async () => {
    await createInstance(kc, instance('nogpu', { id: plainApp.id }, { overrides: { gpuCount: 1, gpuType: 'a100', timeoutSeconds: 4 } }));
    const u = await waitInstance('nogpu', 'Unschedulable', (i) => readyReason(i) === 'Unschedulable' || readyReason(i) === 'TimedOut');
    assert.match(condition(u, 'Scheduled')!.message, /node/);
    const t = await waitInstance('nogpu', 'TimedOut', (i) => readyReason(i) === 'TimedOut', 20_000);
    assert.match(condition(t, 'Ready')!.message, /not ready 4 s after the start \(spec\.overrides\.timeoutSeconds = 4\): the pod cannot be scheduled/);
    assert.equal(condition(t, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
  });
});

describe('resolution', () => {
  test('an unknown app → Resolved False AppNotFound, summary Failed, a Warning event', async () => {
    await createInstance(kc, instance('ghost', { name: 'ai.h2o.wave.ghost', version: '9.9.9' }));
    const inst = await waitInstance('ghost', 'AppNotFound', (i) => condition(i, 'Resolved')?.reason === 'AppNotFound');
    assert.equal(condition(inst, 'Ready')?.reason, 'AppNotFound');
    assert.match(condition(inst, 'Resolved')!.message, /app ai\.h2o\.wave\.ghost version 9\.9\.9 is not in the catalog/);
    assert.equal(inst.status?.summary, 'Failed');
    await waitFor('a Warning event AppNotFound', async () => (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=ghost' })).items.some((e) => e.reason === 'AppNotFound' && e.type === 'Warning'));
  });

  test('a deprecated runtime version is refused for a new instance', async () => {
    await createInstance(kc, instance('olden', { id: plainApp.id }, { runtimeVersion: RT_OLD }));
    const inst = await waitInstance('olden', 'RuntimeVersionDeprecated', (i) => condition(i, 'Resolved')?.reason === 'RuntimeVersionDeprecated');
    assert.match(condition(inst, 'Resolved')!.message, new RegExp(`runtime version ${RT_OLD} \\(from spec.runtimeVersion\\) is deprecated`));
  });

  test('an unknown runtime version → RuntimeVersionNotFound', async () => {
    await createInstance(kc, instance('norv', { id: plainApp.id }, { runtimeVersion: `nope-${sfx}` }));
    await waitInstance('norv', 'RuntimeVersionNotFound', (i) => condition(i, 'Resolved')?.reason === 'RuntimeVersionNotFound');
  });

  test("the app's Runtime.RuntimeVersion in seed style (capitals, '_') maps to the object name", async () => {
    await createInstance(kc, appInstance('seedrt', ns.name, { app: { id: seedRuntimeApp.id }, owner: { subject: 'a', name: 'a' } }));
    const inst = await waitInstance('seedrt', 'resolved', (i) => condition(i, 'Resolved')?.status === 'True');
    assert.equal(inst.status?.resolved?.runtimeVersion, `op-seed-${sfx}`);
    assert.equal(inst.status?.resolved?.image, 'registry.example.com/wave-launcher:seed');
  });

  test('deprecating a runtime version in use keeps the running instance on it (Resolved stays True)', async () => {
    await createInstance(kc, instance('keeper', { id: plainApp.id }));
    await waitInstance('keeper', 'Ready', (i) => condition(i, 'Ready')?.status === 'True');
    const api = (await import('@kubernetes/client-node')).CustomObjectsApi;
    const custom = kc.makeApiClient(api);
    await custom.patchClusterCustomObject({ group: 'hac.h2o.ai', version: 'v1alpha1', plural: 'runtimeversions', name: RT, body: { spec: { deprecated: true } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    try {
      await patchInstanceSpec(kc, ns.name, 'keeper', { visibility: 'PUBLIC' }); // a new generation: reconciled again
      const inst = await waitInstance('keeper', 'observed generation 2', (i) => i.status?.observedGeneration === i.metadata.generation && i.metadata.generation! >= 2);
      assert.equal(condition(inst, 'Resolved')?.status, 'True');
      assert.equal(condition(inst, 'Ready')?.status, 'True');
      // A new instance may not use it any more.
      await createInstance(kc, instance('late', { id: plainApp.id }));
      await waitInstance('late', 'RuntimeVersionDeprecated', (i) => condition(i, 'Resolved')?.reason === 'RuntimeVersionDeprecated');
    } finally {
      await custom.patchClusterCustomObject({ group: 'hac.h2o.ai', version: 'v1alpha1', plural: 'runtimeversions', name: RT, body: { spec: { deprecated: false } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
  });
});

describe('RuntimeVersion controller', () => {
  test('counts instances, carries the protection finalizer, and deletion waits for the last instance', async () => {
    const name = `op-fin-${sfx}`;
    await createRuntimeVersion(kc, name, { image: IMAGE });
    try {
      await waitFor('the protection finalizer', async () => (await getRuntimeVersion(kc, name))?.metadata.finalizers?.includes(RUNTIME_VERSION_PROTECTION_FINALIZER) ?? false);
      await createInstance(kc, instance('finuser', { id: plainApp.id }, { runtimeVersion: name }));
      await waitFor('status.instances = 1', async () => (await getRuntimeVersion(kc, name))?.status?.instances === 1);
      const api = kc.makeApiClient((await import('@kubernetes/client-node')).CustomObjectsApi);
      await api.deleteClusterCustomObject({ group: 'hac.h2o.ai', version: 'v1alpha1', plural: 'runtimeversions', name });
      await waitFor('DeletionBlocked', async () => (await getRuntimeVersion(kc, name))?.status?.conditions?.some((c) => c.reason === 'DeletionBlocked') ?? false);
      const blocked = await getRuntimeVersion(kc, name);
      assert.ok(blocked?.metadata.deletionTimestamp);
      assert.match(blocked!.status!.conditions!.find((c) => c.reason === 'DeletionBlocked')!.message, /finuser/);
      await deleteInstance(kc, ns.name, 'finuser');
      await waitFor('the RuntimeVersion to be deleted', async () => (await getRuntimeVersion(kc, name)) === undefined, 30_000);
    } finally {
      await deleteRuntimeVersion(kc, name);
    }
  });
});

describe('launcher token renewal', () => {
  test('the token in the Secret is replaced before it expires (half-way through its lifetime)', async () => {
    const ns2 = await freshNamespace('operator-token');
    const op2 = await startTestOperator(kc, operatorConfig(ns2.name), catalog, { tokenTtlMs: 8000 });
    try {
      await waitFor('the second operator to lead', async () => op2.isLeading(), 30_000);
      await createInstance(kc, appInstance('tok', ns2.name, { app: { id: plainApp.id }, owner: { subject: 'a', name: 'a' }, runtimeVersion: RT }));
      const read = async () => {
        const s = await core.readNamespacedSecret({ name: 'tok-appstore', namespace: ns2.name });
        return { token: Buffer.from(s.data![LAUNCHER_TOKEN_KEY]!, 'base64').toString(), expires: s.metadata!.annotations!['hac.h2o.ai/launcher-token-expires']! };
      };
      let first: { token: string; expires: string } | undefined;
      await waitFor('the Secret', async () => ((first = await read().catch(() => undefined)), first !== undefined));
      const claims = verifyLauncherToken(KEY, first!.token, plainApp.id);
      assert.ok(claims.exp - Date.now() / 1000 <= 9, 'the test lifetime (8 s) is used');
      await waitFor('a renewed token', async () => (await read()).token !== first!.token, 20_000, 200);
      const next = await read();
      assert.ok(verifyLauncherToken(KEY, next.token, plainApp.id).exp > claims.exp);
      assert.ok(Date.parse(next.expires) > Date.parse(first!.expires));
    } finally {
      await op2.stop();
      await ns2.cleanup();
    }
  });
});
