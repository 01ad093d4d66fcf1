// needs: cluster
/**
 * The instance API end to end over real HTTP, against the real
 * kube-apiserver (AppInstances created, patched and deleted there, read back
 * through the server's InstanceCache) and a real catalog (PGlite). No
 * operator runs: the test writes what the operator would (the /status
 * subresource, a pod with container statuses, events).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { APP_INSTANCE_PLURAL, GROUP, RUNTIME_VERSION_PLURAL, VERSION } from '../src/k8s/crd/index.ts';
import type { AppInstance } from '../src/k8s/crd/index.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { INSTANCE_POD_LABEL } from '../src/k8s/instance-cache.ts';
import type { PodLogRequest, PodLogSource } from '../src/k8s/pod-logs.ts';
import { makeBundle } from './support/bundles.ts';
import { startTestApi, USERS, type TestApi, type UserName } from './support/api-server.ts';
import { apiStatus, freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const suffix = Math.random().toString(36).slice(2, 8);
const RV = { current: `test-rv-${suffix}`, old: `test-rv-old-${suffix}` };

let ns: TestNamespace;
let t: TestApi;
/** Ids of apps: alice's ALL_USERS app, alice's PUBLIC app, bob's PRIVATE app. */
const apps: Record<'shared' | 'public' | 'bobs', string> = { shared: '', public: '', bobs: '' };

async function call(user: UserName, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await t.fetch(user, `/api/v1${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function run(user: UserName, appId: string, body: Json = {}): Promise<Json> {
  const r = await call(user, 'POST', `/apps/${appId}/instances`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function readInstance(name: string): Promise<AppInstance | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns.name, plural: APP_INSTANCE_PLURAL, name })) as AppInstance;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

async function importApp(user: UserName, name: string, visibility: string): Promise<string> {
  const res = await t.importBundle(user, await makeBundle({ name, version: '1.0.0', title: `Title of ${name}`, assets: false }), visibility);
  assert.equal(res.status, 201);
  return ((await res.json()) as Json).app.id as string;
}

async function createRuntimeVersion(name: string, deprecated: boolean): Promise<void> {
  await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: RUNTIME_VERSION_PLURAL,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'RuntimeVersion', metadata: { name }, spec: { image: `registry.example.com/launcher:${name}`, deprecated } },
  });
}

before(async () => {
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('instances-api', kc);
  t = await startTestApi({
    db: 'pglite',
    store: 'fs',
    cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name },
    flags: { 'Scheduler.InstanceLimit': '4', 'Scheduler.VisitorInstanceLimit': '1' },
  });
  apps.shared = await importApp('alice', 'ai.test.shared', 'ALL_USERS');
  apps.public = await importApp('alice', 'ai.test.public', 'PUBLIC');
  apps.bobs = await importApp('bob', 'ai.test.bobs', 'PRIVATE');
  await createRuntimeVersion(RV.current, false);
  await createRuntimeVersion(RV.old, true);
});

after(async () => {
  await t?.close();
  for (const name of [RV.current, RV.old]) {
    await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name }).catch(() => undefined);
  }
  await ns?.cleanup();
});

describe('instance API', () => {
  test('run: 201, and the AppInstance exists with the app id, the owner, the visibility and the app facts', async () => {
    const inst = await run('alice', apps.shared, { visibility: 'ALL_USERS', runtimeVersion: RV.current });
    assert.match(inst.id, /^[a-z][a-z0-9]{9}$/);
    assert.equal(inst.appId, apps.shared);
    assert.equal(inst.appName, 'ai.test.shared');
    assert.equal(inst.appVersion, '1.0.0');
    assert.equal(inst.appTitle, 'Title of ai.test.shared');
    assert.equal(inst.owner, 'alice');
    assert.equal(inst.ownerName, 'alice@example.com');
    assert.equal(inst.visibility, 'ALL_USERS');
    assert.equal(inst.runtimeVersion, RV.current);
    assert.equal(inst.suspended, false);
    assert.equal(inst.status, 'Pending');
    assert.ok(!Number.isNaN(Date.parse(inst.createdAt)));

    const obj = await readInstance(inst.id);
    assert.ok(obj, 'the AppInstance exists in the Kubernetes API');
    assert.deepEqual(obj.spec.app, { id: apps.shared });
    assert.deepEqual(obj.spec.owner, { subject: 'alice', name: 'alice@example.com' });
    assert.equal(obj.spec.visibility, 'ALL_USERS');
    assert.equal(obj.spec.runtimeVersion, RV.current);
    assert.equal(obj.spec.overrides, undefined);
    // The caller reads its own write at once (the API waits for its cache).
    assert.equal((await call('alice', 'GET', `/instances/${inst.id}`)).status, 200);

    const priv = await run('alice', apps.shared);
    assert.equal(priv.visibility, 'PRIVATE', 'PRIVATE by default');
    assert.notEqual(priv.id, inst.id);
    for (const id of [inst.id, priv.id]) assert.equal((await call('alice', 'DELETE', `/instances/${id}`)).status, 204);
  });

  test('bad input names the field; overrides are admin-only; apps one may not see are not found', async () => {
    const badVis = await call('alice', 'POST', `/apps/${apps.shared}/instances`, { visibility: 'EVERYONE' });
    assert.equal(badVis.status, 400);
    assert.ok(badVis.body.issues.some((i: Json) => i.path === 'body.visibility'), JSON.stringify(badVis.body));

    const badName = await call('alice', 'POST', `/apps/${apps.shared}/instances`, { runtimeVersion: 'Bad_Name' });
    assert.equal(badName.status, 400);
    assert.ok(badName.body.issues.some((i: Json) => i.path === 'body.runtimeVersion'), JSON.stringify(badName.body));

    const unknown = await call('alice', 'POST', `/apps/${apps.shared}/instances`, { runtimeVersion: `no-such-${suffix}` });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.issues[0].path, 'body.runtimeVersion');
    assert.match(unknown.body.message, /there is no runtime version no-such-.*runtime-versions/);

    const deprecated = await call('alice', 'POST', `/apps/${apps.shared}/instances`, { runtimeVersion: RV.old });
    assert.equal(deprecated.status, 400);
    assert.match(deprecated.body.message, /deprecated/);

    const extra = await call('alice', 'POST', `/apps/${apps.shared}/instances`, { colour: 'red' });
    assert.equal(extra.status, 400);

    const overrides = await call('alice', 'POST', `/apps/${apps.shared}/instances`, { overrides: { memoryLimit: '2Gi' } });
    assert.equal(overrides.status, 403);
    assert.match(overrides.body.message, /only admins may set resource overrides/);
    const adminRun = await run('root', apps.shared, { overrides: { memoryLimit: '2Gi', cpuLimit: '1' } });
    assert.deepEqual((await readInstance(adminRun.id))?.spec.overrides, { memoryLimit: '2Gi', cpuLimit: '1' });
    assert.equal((await call('root', 'DELETE', `/instances/${adminRun.id}`)).status, 204);

    assert.equal((await call('alice', 'POST', `/apps/${apps.bobs}/instances`, {})).status, 404, "bob's PRIVATE app is not found for alice");
    assert.equal((await call('alice', 'POST', '/apps/00000000-0000-4000-8000-000000000000/instances', {})).status, 404);
    assert.equal((await call('anonymous', 'POST', `/apps/${apps.public}/instances`, {})).status, 401);
  });

  test('list: mine by default (with instances of my apps), all=true for admins, filters; get follows visibility', async () => {
    const bobsOwn = await run('bob', apps.bobs);
    const bobOnAlicesApp = await run('bob', apps.shared, { visibility: 'PRIVATE' });

    const alice = await call('alice', 'GET', '/instances');
    assert.equal(alice.status, 200);
    const aliceIds = alice.body.items.map((i: Json) => i.id);
    assert.ok(aliceIds.includes(bobOnAlicesApp.id), "an instance of alice's app is in alice's list");
    assert.ok(!aliceIds.includes(bobsOwn.id), "bob's instance of bob's app is not");
    assert.ok(alice.body.items.every((i: Json) => i.owner === 'alice' || i.appId === apps.shared || i.appId === apps.public));

    const bob = await call('bob', 'GET', '/instances');
    assert.deepEqual(bob.body.items.map((i: Json) => i.id).sort(), [bobsOwn.id, bobOnAlicesApp.id].sort());

    assert.equal((await call('alice', 'GET', '/instances?all=true')).status, 403);
    const all = await call('root', 'GET', '/instances?all=true');
    const allIds = all.body.items.map((i: Json) => i.id);
    assert.ok(allIds.includes(bobsOwn.id) && aliceIds.every((id: string) => allIds.includes(id)));
    const byOwner = await call('root', 'GET', '/instances?all=true&owner=bob');
    assert.deepEqual(byOwner.body.items.map((i: Json) => i.id).sort(), [bobsOwn.id, bobOnAlicesApp.id].sort());
    const byApp = await call('root', 'GET', `/instances?all=true&app=${apps.bobs}`);
    assert.deepEqual(byApp.body.items.map((i: Json) => i.id), [bobsOwn.id]);
    assert.equal((await call('anonymous', 'GET', '/instances')).status, 401);

    // get: PRIVATE instances are not found for others; the app's owner and admins see them.
    assert.equal((await call('alice', 'GET', `/instances/${bobsOwn.id}`)).status, 404);
    assert.equal((await call('alice', 'GET', `/instances/${bobOnAlicesApp.id}`)).status, 200);
    assert.equal((await call('root', 'GET', `/instances/${bobsOwn.id}`)).status, 200);
    assert.equal((await call('bob', 'GET', '/instances/nosuchinst')).status, 404);
    // ALL_USERS: other full-access users see it, visitors do not.
    const shared = await run('alice', apps.shared, { visibility: 'ALL_USERS' });
    assert.equal((await call('bob', 'GET', `/instances/${shared.id}`)).status, 200);
    assert.equal((await call('vic', 'GET', `/instances/${shared.id}`)).status, 404);

    // A visitor runs a PUBLIC app and lists it.
    const vics = await run('vic', apps.public, { visibility: 'PUBLIC' });
    const vic = await call('vic', 'GET', '/instances');
    assert.deepEqual(vic.body.items.map((i: Json) => i.id), [vics.id]);
    assert.equal((await call('alice', 'GET', `/instances/${vics.id}`)).status, 200, 'a PUBLIC instance is seen by anyone signed in');
    assert.equal((await call('anonymous', 'GET', `/instances/${vics.id}`)).status, 200, 'and anonymously (Auth.PublicAccess is on by default)');

    for (const [user, id] of [['bob', bobsOwn.id], ['bob', bobOnAlicesApp.id], ['alice', shared.id], ['vic', vics.id]] as const) {
      assert.equal((await call(user, 'DELETE', `/instances/${id}`)).status, 204);
    }
  });

  test('list pages: limit and nextCursor walk the whole list newest first, without repeats; a made-up cursor names the field', async () => {
    const made = [await run('alice', apps.shared), await run('alice', apps.shared), await run('alice', apps.shared)];
    let full: Json[] = [];
    for (let i = 0; i < 100; i++) {
      full = (await call('alice', 'GET', '/instances')).body.items as Json[];
      if (made.every((m) => full.some((x) => x.id === m.id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(full.length >= 3, JSON.stringify(full));
    const walked: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await call('alice', 'GET', `/instances?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.items.length <= 2);
      walked.push(...r.body.items.map((x: Json) => x.id as string));
      cursor = r.body.nextCursor as string | undefined;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(walked, full.map((x) => x.id));
    assert.equal(pages, Math.ceil(full.length / 2));
    const bad = await call('alice', 'GET', '/instances?cursor=bm90LWEtY3Vyc29y');
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /cursor is not one this server handed out/);
    assert.equal((await call('alice', 'GET', '/instances?limit=0')).status, 400);
    for (const m of made) assert.equal((await call('alice', 'DELETE', `/instances/${m.id}`)).status, 204);
  });

  test('status: conditions, the pod with container states, reasons, exit codes and restarts, and recent events', async () => {
    const inst = await run('alice', apps.shared);
    // What the operator would write.
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns.name,
        plural: APP_INSTANCE_PLURAL,
        name: inst.id,
        body: {
          status: {
            summary: 'Degraded',
            url: `http://${inst.id}.apps.example.com/`,
            readyAt: '2026-01-02T03:04:05Z',
            conditions: [
              { type: 'Ready', status: 'False', reason: 'CrashLooping', message: 'the app exited with code 3; see the logs', lastTransitionTime: '2026-01-02T03:05:00Z' },
              { type: 'Scheduled', status: 'True', reason: 'Scheduled', message: '', lastTransitionTime: '2026-01-02T03:04:00Z' },
            ],
            resolved: { appId: apps.shared, appName: 'ai.test.shared', appVersion: '1.0.0', appTitle: 'Resolved title', runtimeVersion: RV.current },
          },
        },
      },
      mergePatch,
    );
    // A pod no scheduler picks up (so no fake kubelet rewrites its status), with the status a crash loop gives.
    const podName = `${inst.id}-abc12`;
    await core.createNamespacedPod({
      namespace: ns.name,
      body: { metadata: { name: podName, labels: { [INSTANCE_POD_LABEL]: inst.id } }, spec: { schedulerName: 'nobody', containers: [{ name: 'app', image: 'example.com/app:1' }] } },
    });
    await core.patchNamespacedPodStatus(
      {
        namespace: ns.name,
        name: podName,
        body: {
          status: {
            phase: 'Running',
            containerStatuses: [
              {
                name: 'app',
                ready: false,
                restartCount: 4,
                image: 'example.com/app:1',
                imageID: '',
                state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
                lastState: { terminated: { exitCode: 3, reason: 'Error' } },
              },
            ],
          },
        },
      },
      mergePatch,
    );
    const event = (kind: string, name: string, reason: string, message: string, type: string, at: string) =>
      core.createNamespacedEvent({
        namespace: ns.name,
        body: {
          metadata: { generateName: `${name}.` },
          involvedObject: { kind, name, namespace: ns.name, ...(kind === 'AppInstance' ? { apiVersion: `${GROUP}/${VERSION}` } : { apiVersion: 'v1' }) },
          reason,
          message,
          type,
          count: 2,
          firstTimestamp: new Date(at),
          lastTimestamp: new Date(at),
          source: { component: 'appstore-test' },
        },
      });
    await event('AppInstance', inst.id, 'Resolved', 'resolved ai.test.shared 1.0.0', 'Normal', '2026-01-02T03:04:00Z');
    await event('Pod', podName, 'BackOff', 'Back-off restarting failed container app', 'Warning', '2026-01-02T03:06:00Z');
    await event('Pod', 'someone-else', 'Other', 'not ours', 'Normal', '2026-01-02T03:06:00Z');

    await waitFor('the status and the pod in the cache', async () => {
      const s = await call('alice', 'GET', `/instances/${inst.id}/status`);
      return s.body.status === 'Degraded' && s.body.pod?.containers?.[0]?.restarts === 4;
    }, 15_000, 50);
    const s = (await call('alice', 'GET', `/instances/${inst.id}/status`)).body;
    assert.equal(s.id, inst.id);
    assert.equal(s.appTitle, 'Resolved title');
    assert.equal(s.reason, 'CrashLooping');
    assert.equal(s.message, 'the app exited with code 3; see the logs');
    assert.equal(s.url, `http://${inst.id}.apps.example.com/`);
    assert.equal(s.readyAt, '2026-01-02T03:04:05.000Z');
    assert.deepEqual(s.conditions.map((c: Json) => [c.type, c.status, c.reason]), [['Ready', 'False', 'CrashLooping'], ['Scheduled', 'True', 'Scheduled']]);
    assert.equal(s.pod.name, podName);
    assert.equal(s.pod.phase, 'Running');
    assert.deepEqual(s.pod.containers, [
      { name: 'app', ready: false, restarts: 4, state: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container', exitCode: 3 },
    ]);
    assert.deepEqual(
      s.events.map((e: Json) => [e.type, e.reason, e.count]),
      [['Normal', 'Resolved', 2], ['Warning', 'BackOff', 2]],
      'events of the instance and its pod, oldest first, no others',
    );
    assert.equal(s.events[1].lastTimestamp, '2026-01-02T03:06:00.000Z');

    // Status is for the owner, the app's owner and admins: bob may see an ALL_USERS instance but not its status.
    const shared = await run('alice', apps.shared, { visibility: 'ALL_USERS' });
    assert.equal((await call('bob', 'GET', `/instances/${shared.id}`)).status, 200);
    assert.equal((await call('bob', 'GET', `/instances/${shared.id}/status`)).status, 403);
    assert.equal((await call('bob', 'GET', `/instances/${inst.id}/status`)).status, 404);
    assert.equal((await call('root', 'GET', `/instances/${inst.id}/status`)).status, 200);
    const fresh = (await call('alice', 'GET', `/instances/${shared.id}/status`)).body;
    assert.equal(fresh.status, 'Pending');
    assert.equal(fresh.pod, undefined);
    assert.deepEqual(fresh.conditions, []);

    // Logs through the Kubernetes pod log API: this pod has no node, so the apiserver has none to give: a clear 503.
    const logs = await t.fetch('alice', `/api/v1/instances/${inst.id}/logs?tail=10`);
    assert.equal(logs.status, 503);
    const why = ((await logs.json()) as Json).message as string;
    assert.match(why, new RegExp(`the logs of pod ${podName} \\(container app\\) are not available from the Kubernetes API: .+`));
    const none = await t.fetch('alice', `/api/v1/instances/${shared.id}/logs`);
    assert.equal(none.status, 503);
    assert.match(((await none.json()) as Json).message, /has no pod yet/);
    assert.equal((await t.fetch('bob', `/api/v1/instances/${shared.id}/logs`)).status, 403);

    for (const id of [inst.id, shared.id]) assert.equal((await call('alice', 'DELETE', `/instances/${id}`)).status, 204);
  });

  test('visibility update, suspend and resume write the spec; others get 404 or 403', async () => {
    const inst = await run('alice', apps.shared);
    const patched = await call('alice', 'PATCH', `/instances/${inst.id}`, { visibility: 'PUBLIC' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.visibility, 'PUBLIC');
    assert.equal((await readInstance(inst.id))?.spec.visibility, 'PUBLIC');
    assert.equal((await call('alice', 'GET', `/instances/${inst.id}`)).body.visibility, 'PUBLIC', 'read your write');

    const bad = await call('alice', 'PATCH', `/instances/${inst.id}`, { visibility: 'WORLD' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.issues[0].path, 'body.visibility');
    assert.equal((await call('alice', 'PATCH', `/instances/${inst.id}`, {})).status, 400);
    // bob sees a PUBLIC instance but may not change it; a PRIVATE one he does not see at all.
    assert.equal((await call('bob', 'PATCH', `/instances/${inst.id}`, { visibility: 'PRIVATE' })).status, 403);
    assert.equal((await call('bob', 'POST', `/instances/${inst.id}/suspend`)).status, 403);
    assert.equal((await call('alice', 'PATCH', `/instances/${inst.id}`, { visibility: 'PRIVATE' })).status, 200);
    assert.equal((await call('bob', 'POST', `/instances/${inst.id}/suspend`)).status, 404);
    assert.equal((await call('bob', 'DELETE', `/instances/${inst.id}`)).status, 404);
    assert.equal((await call('alice', 'POST', '/instances/nosuchinst/suspend')).status, 404);

    const suspended = await call('alice', 'POST', `/instances/${inst.id}/suspend`);
    assert.equal(suspended.status, 200);
    assert.equal(suspended.body.suspended, true);
    assert.equal((await readInstance(inst.id))?.spec.suspend, true);
    const resumed = await call('root', 'POST', `/instances/${inst.id}/resume`);
    assert.equal(resumed.status, 200, 'admins manage any instance');
    assert.equal(resumed.body.suspended, false);
    assert.equal((await readInstance(inst.id))?.spec.suspend, false);

    assert.equal((await call('alice', 'DELETE', `/instances/${inst.id}`)).status, 204);
    assert.equal(await readInstance(inst.id), undefined, 'terminate deletes the AppInstance');
    assert.equal((await call('alice', 'GET', `/instances/${inst.id}`)).status, 404);
    assert.equal((await call('alice', 'DELETE', `/instances/${inst.id}`)).status, 404);
  });

  test('limits: running instances per owner, VisitorInstanceLimit for visitors; suspended ones do not count', async () => {
    const first = await run('vic', apps.public);
    const over = await call('vic', 'POST', `/apps/${apps.public}/instances`, {});
    assert.equal(over.status, 409);
    assert.match(over.body.message, new RegExp(`you have 1 running instance\\(s\\) \\(${first.id}\\) and the limit is 1 \\(Scheduler\\.VisitorInstanceLimit\\); terminate or suspend one first`));
    assert.equal((await call('vic', 'POST', `/instances/${first.id}/suspend`)).status, 200);
    const second = await run('vic', apps.public);
    const resume = await call('vic', 'POST', `/instances/${first.id}/resume`);
    assert.equal(resume.status, 409, 'resuming would go over the limit');
    assert.match(resume.body.message, /Scheduler\.VisitorInstanceLimit/);

    // Full-access users: Scheduler.InstanceLimit (4 here).
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push((await run('bob', apps.shared)).id);
    const bobOver = await call('bob', 'POST', `/apps/${apps.shared}/instances`, {});
    assert.equal(bobOver.status, 409);
    assert.match(bobOver.body.message, /limit is 4 \(Scheduler\.InstanceLimit\)/);
    for (const id of mine) assert.equal((await call('bob', 'DELETE', `/instances/${id}`)).status, 204);
    for (const id of [first.id, second.id]) assert.equal((await call('vic', 'DELETE', `/instances/${id}`)).status, 204);
  });

  test('deleting an app that has instances is refused, naming them', async () => {
    const inst = await run('bob', apps.bobs);
    const refused = await call('bob', 'DELETE', `/apps/${apps.bobs}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, new RegExp(`has 1 instance\\(s\\) \\(${inst.id}\\); terminate them first`));
    assert.equal((await call('bob', 'DELETE', `/instances/${inst.id}`)).status, 204);
    assert.equal((await call('bob', 'DELETE', `/apps/${apps.bobs}`)).status, 204);
  });

  test('runtime versions: listed with default/deprecated and the instances using them', async () => {
    const inst = await run('alice', apps.shared, { runtimeVersion: RV.current });
    const r = await call('vic', 'GET', '/runtime-versions');
    assert.equal(r.status, 200);
    const mine = [RV.old, RV.current].map((name) => r.body.items.find((v: Json) => v.name === name));
    assert.deepEqual(mine, [
      { name: RV.old, image: `registry.example.com/launcher:${RV.old}`, default: false, deprecated: true, instances: 0 },
      { name: RV.current, image: `registry.example.com/launcher:${RV.current}`, default: false, deprecated: false, instances: 1 },
    ]);
    assert.equal((await call('anonymous', 'GET', '/runtime-versions')).status, 401);
    assert.equal((await call('alice', 'DELETE', `/instances/${inst.id}`)).status, 204);
  });
});

describe('instance API with another log source', () => {
  test('logs come from the configured PodLogSource, with follow, previous and tail passed on', async () => {
    const seen: PodLogRequest[] = [];
    // Stands in for the local pod runner's source (kwok pods have no kubelet to serve logs).
    let following: ((req: PodLogRequest) => Readable) | undefined;
    const source: PodLogSource = {
      async logs(req) {
        seen.push(req);
        if (following) return following(req);
        return Readable.from([`line from ${req.pod}/${req.container}\n`, 'second line\n']);
      },
    };
    const other = await startTestApi({ db: 'pglite', store: 'fs', cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name, logs: source } });
    try {
      const res = await other.importBundle('alice', await makeBundle({ name: 'ai.test.logs', version: '1.0.0', assets: false }), 'PRIVATE');
      const appId = ((await res.json()) as Json).app.id as string;
      const created = await other.fetch('alice', `/api/v1/apps/${appId}/instances`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      const inst = (await created.json()) as Json;
      await core.createNamespacedPod({
        namespace: ns.name,
        body: { metadata: { name: `${inst.id}-pod`, labels: { [INSTANCE_POD_LABEL]: inst.id } }, spec: { schedulerName: 'nobody', containers: [{ name: 'app', image: 'example.com/app:1' }] } },
      });
      await waitFor('the pod in the cache', async () => other.instanceBackend!.cache.pods(inst.id).length === 1, 10_000, 20);
      const logs = await other.fetch('alice', `/api/v1/instances/${inst.id}/logs?follow=true&previous=true&tail=5`);
      assert.equal(logs.status, 200);
      assert.match(logs.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await logs.text(), `line from ${inst.id}-pod/app\nsecond line\n`);
      assert.equal(seen.length, 1);
      assert.deepEqual({ ...seen[0], signal: undefined }, { namespace: ns.name, pod: `${inst.id}-pod`, container: 'app', follow: true, previous: true, tailLines: 5, signal: undefined });
      assert.equal((await other.fetch('bob', `/api/v1/instances/${inst.id}/logs`)).status, 404, "a PRIVATE instance's logs are not found for others");

      // follow: lines arrive as the source writes them, and a client that goes away aborts the source.
      let aborted = false;
      following = (req) => {
        const out = new PassThrough();
        let n = 0;
        const timer = setInterval(() => out.write(`tick ${n++}\n`), 50);
        req.signal.addEventListener('abort', () => {
          aborted = true;
          clearInterval(timer);
          out.end();
        });
        return out;
      };
      // node:http, not fetch: fetch's pool opens a spare connection on abort that would hold the server's close for a minute.
      let abortedWhileReading: boolean | undefined;
      const text = await new Promise<string>((resolveText, reject) => {
        const req = httpGet(`${other.url}/api/v1/instances/${inst.id}/logs?follow=true`, { headers: { authorization: `Bearer ${USERS.alice.token}` } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`follow answered ${res.statusCode}`));
          let got = '';
          res.on('data', (chunk: Buffer) => {
            got += chunk.toString();
            if (got.includes('tick 2')) {
              abortedWhileReading = aborted;
              req.destroy();
              resolveText(got);
            }
          });
        });
        req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
      });
      assert.match(text, /^tick 0\ntick 1\ntick 2/, 'streamed line by line while the source runs');
      assert.equal(abortedWhileReading, false, 'the source ran while the client read');
      await waitFor('the source aborted after the client left', async () => aborted, 5000, 20);
    } finally {
      await other.close();
    }
  });
});

describe('instance API without a cluster', () => {
  test('instance routes answer 503 saying how to configure one; apps work', async () => {
    const bare = await startTestApi({ db: 'pglite', store: 'fs' });
    try {
      for (const [method, path] of [['GET', '/api/v1/instances'], ['GET', '/api/v1/instances/x'], ['GET', '/api/v1/runtime-versions'], ['DELETE', '/api/v1/instances/x']]) {
        const res = await bare.fetch('alice', path!, { method: method! });
        assert.equal(res.status, 503, `${method} ${path}`);
        assert.match(((await res.json()) as Json).message, /set Scheduler\.KubeConfig/);
      }
      assert.equal((await bare.fetch('alice', '/api/v1/apps')).status, 200);
    } finally {
      await bare.close();
    }
  });
});
