// needs: cluster
/**
 * The real `h2o` executable against a real API server whose instances live
 * in the real kube-apiserver (AppInstances created, patched and deleted
 * there). No operator runs: where a command waits for Ready, the test writes
 * the status the operator would. kwok pods have no kubelet to serve logs, so
 * logs come from a PodLogSource of this test that streams known lines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { App, Instance, InstanceStatusDetail, RuntimeVersionInfo } from '../src/api/schemas.ts';
import { APP_INSTANCE_PLURAL, GROUP, RUNTIME_VERSION_PLURAL, VERSION } from '../src/k8s/crd/index.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { INSTANCE_POD_LABEL } from '../src/k8s/instance-cache.ts';
import type { PodLogRequest, PodLogSource } from '../src/k8s/pod-logs.ts';
import { startTestApi, USERS, type TestApi } from './support/api-server.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';
import { runNode, runNodeOnTerminal, SCRIPT, type ProcessResult } from './support/process.ts';

const H2O = fileURLToPath(new URL('../bin/h2o.mjs', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/bundles/wave-app/', import.meta.url));
const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RV = `cli-rv-${Math.random().toString(36).slice(2, 8)}`;

let ns: TestNamespace;
let api: TestApi;
let dir: string;
let cfg: string;
let n = 0;
/** Log requests the server passed to the log source, newest last. */
const logRequests: PodLogRequest[] = [];

/**
 * Serves `line 1` … `line 5` (the last `tailLines` of them); when following,
 * then `line 6` and stays open until the client goes away.
 */
const logSource: PodLogSource = {
  async logs(req) {
    logRequests.push(req);
    const lines = ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'].slice(req.tailLines === undefined ? 0 : 5 - Math.min(5, req.tailLines));
    const out = new PassThrough();
    out.write(lines.map((l) => `${l}\n`).join(''));
    if (!req.follow) out.end();
    else {
      setTimeout(() => out.write('line 6\n'), 200);
      req.signal.addEventListener('abort', () => out.end(), { once: true });
    }
    return out;
  },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-instances-'));
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('cli-instances', kc);
  // DOMAIN routing on apps.example.com: the URLs the API derives match those this test writes as the operator.
  api = await startTestApi({
    db: 'pglite',
    store: 'fs',
    flags: { 'Router.RoutingMode': 'DOMAIN', 'Router.AppsDomain': 'apps.example.com' },
    cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name, logs: logSource },
  });
  cfg = join(dir, 'config.toml');
  for (const user of ['alice', 'bob', 'root'] as const) {
    const r = await h2o(['--config', cfg, '--profile', user, '--endpoint', api.url, 'config', 'setup', '--token', USERS[user].token]);
    assert.equal(r.code, 0, r.stderr);
  }
  await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: RUNTIME_VERSION_PLURAL,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'RuntimeVersion', metadata: { name: RV }, spec: { image: `registry.example.com/launcher:${RV}` } },
  });
});

after(async () => {
  await api?.close();
  await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name: RV }).catch(() => undefined);
  await ns?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Runs h2o to completion with a private HOME. */
function h2o(args: string[], cwd = dir): Promise<ProcessResult> {
  return runNode(H2O, args, { cwd, env: { HOME: join(dir, 'home'), XDG_CONFIG_HOME: undefined, H2O_CONFIG: undefined, H2O_PROFILE: undefined } });
}
const as = (user: 'alice' | 'bob' | 'root', args: string[], cwd?: string) => h2o(['--config', cfg, '--profile', user, ...args], cwd);

/** Starts h2o and keeps it running (for -f and bundle test); `output()` has what it printed so far. */
function h2oLive(args: string[], cwd = dir): { child: ChildProcessWithoutNullStreams; output: () => { stdout: string; stderr: string }; done: Promise<number | null> } {
  const child = spawn(process.execPath, [H2O, '--config', cfg, '--profile', 'alice', ...args], { cwd, env: { ...process.env, HOME: join(dir, 'home') } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), done };
}

async function appCopy(version = '0.1.2'): Promise<string> {
  const to = join(dir, `app${n++}`);
  await cp(FIXTURE, to, { recursive: true });
  const toml = join(to, 'app.toml');
  await writeFile(toml, (await readFile(toml, 'utf8')).replace('Version = "0.1.2"', `Version = "${version}"`));
  return to;
}

/** Writes the status the operator would for a Ready instance. */
async function markReady(name: string): Promise<void> {
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: APP_INSTANCE_PLURAL,
      name,
      body: {
        status: {
          summary: 'Ready',
          url: `http://${name}.apps.example.com/`,
          readyAt: new Date().toISOString(),
          conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: new Date().toISOString() }],
        },
      },
    },
    mergePatch,
  );
}

/** A pod of the instance (no scheduler takes it), so the server has a pod to ask the log source about. */
async function podFor(name: string): Promise<string> {
  const pod = `${name}-pod`;
  await core.createNamespacedPod({
    namespace: ns.name,
    body: { metadata: { name: pod, labels: { [INSTANCE_POD_LABEL]: name } }, spec: { schedulerName: 'nobody', containers: [{ name: 'app', image: 'example.com/app:1' }] } },
  });
  await waitFor('the pod in the cache', async () => (await api.fetch('alice', `/api/v1/instances/${name}/status`).then((r) => r.json() as Promise<InstanceStatusDetail>)).pod?.name === pod, 15_000, 50);
  return pod;
}

/** Marks the instance Ready once the app deployed from version `version` (deploy adds a timestamp) has an instance. */
async function readyWhenRunning(version: string): Promise<string> {
  let id = '';
  await waitFor('an instance of the deployed app', async () => {
    const items = ((await (await api.fetch('alice', '/api/v1/instances')).json()) as { items: Instance[] }).items;
    id = items.find((i) => i.appVersion.startsWith(`${version}-`))?.id ?? '';
    return id !== '';
  }, 60_000, 100);
  await markReady(id);
  return id;
}

describe('h2o instance commands', () => {
  let app: App;
  before(async () => {
    const r = await as('alice', ['bundle', 'import', '-v', 'ALL_USERS', '--app-dir', await appCopy(), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    app = JSON.parse(r.stdout) as App;
  });

  test('app run prints ID and URL like the seed; instance list, get and -o json show it', async () => {
    const r = await as('alice', ['app', 'run', app.id, '-v', 'all_users', '--runtime-version', RV]);
    assert.equal(r.code, 0, r.stderr);
    // No operator runs here: the URL comes at once from the server's routing options, as the seed prints it.
    const m = /^ID {4}(\S+)\nURL {3}(\S+)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const id = m[1]!;
    assert.equal(m[2], `http://${id}.apps.example.com/`);

    const list = await as('alice', ['instance', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+APP\s+OWNER\s+CREATED\s+STATUS\s+VISIBILITY\s+URL$/);
    const row = rows.find((l) => l.startsWith(`${id} `));
    assert.match(row ?? '', new RegExp(`^${id}\\s+Peak 0\\.1\\.2\\s+alice@example\\.com\\s+\\d+s\\s+Pending\\s+ALL_USERS`));
    assert.equal(header!.indexOf('STATUS'), row!.indexOf('Pending'), 'columns line up');

    const json = JSON.parse((await as('alice', ['instance', 'list', '--app', app.id, '-o', 'json'])).stdout) as Instance[];
    assert.deepEqual(json.map((i) => i.id), [id]);
    assert.equal(json[0]!.runtimeVersion, RV);

    const got = await as('alice', ['instance', 'get', id]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^App\s+Peak 0\.1\.2$/m);
    assert.match(got.stdout, new RegExp(`^Runtime Version\\s+${RV}$`, 'm'));
    assert.match(got.stdout, /^Status\s+Pending$/m);
    // bob may see an ALL_USERS instance; -a is for admins.
    assert.equal((await as('bob', ['instance', 'get', id])).code, 0);
    const notAdmin = await as('alice', ['instance', 'list', '-a']);
    assert.equal(notAdmin.code, 5, notAdmin.stderr);
    const all = JSON.parse((await as('root', ['instance', 'list', '-a', '-o', 'json'])).stdout) as Instance[];
    assert.ok(all.some((i) => i.id === id));
    assert.equal((await as('alice', ['instance', 'terminate', id])).code, 0);
  });

  test('instance update -v, suspend, resume, terminate; unknown ids exit 3, bad visibility 2', async () => {
    const id = (JSON.parse((await as('alice', ['app', 'run', app.id, '-o', 'json'])).stdout) as Instance).id;
    const upd = await as('alice', ['instance', 'update', id, '-v', 'PUBLIC']);
    assert.equal(upd.code, 0, upd.stderr);
    assert.match(upd.stdout, /^Visibility\s+PUBLIC$/m);
    const bad = await as('alice', ['instance', 'update', id, '-v', 'WORLD']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-v, --visibility: "WORLD" is not one of PRIVATE, ALL_USERS, PUBLIC/);
    const forbidden = await as('bob', ['instance', 'suspend', id]);
    assert.equal(forbidden.code, 5, forbidden.stderr);

    const sus = await as('alice', ['instance', 'suspend', id, '-o', 'json']);
    assert.equal(sus.code, 0, sus.stderr);
    assert.equal((JSON.parse(sus.stdout) as Instance).suspended, true);
    const res = await as('alice', ['instance', 'resume', id]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Suspended\s+no$/m);

    const term = await as('alice', ['instance', 'terminate', id]);
    assert.equal(term.code, 0, term.stderr);
    assert.equal(term.stdout, `instance ${id} terminated\n`);
    for (const args of [['instance', 'get', id], ['instance', 'status', id], ['instance', 'logs', id], ['instance', 'terminate', id], ['instance', 'suspend', 'nosuchinst']]) {
      const r = await as('alice', args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^error: /);
    }
    const noApp = await as('alice', ['app', 'run', '00000000-0000-4000-8000-000000000000']);
    assert.equal(noApp.code, 3);
  });

  test('instance status shows conditions, the pod and events; logs print, tail and follow', async () => {
    const id = (JSON.parse((await as('alice', ['app', 'run', app.id, '-o', 'json'])).stdout) as Instance).id;
    const pending = await as('alice', ['instance', 'status', id]);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /^Status\s+Pending$/m);
    assert.match(pending.stdout, /\nPod: none\n/);
    const pod = await podFor(id);
    await markReady(id);
    await waitFor('Ready', async () => (await as('alice', ['instance', 'get', id, '-o', 'json'])).stdout.includes('"Ready"'), 15_000, 100);
    const ready = await as('alice', ['instance', 'status', id]);
    assert.match(ready.stdout, /\nConditions:\n {2}TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE\n {2}Ready\s+True\s+Ready\s+\d+s/);
    assert.match(ready.stdout, new RegExp(`\\nPod: ${pod} \\(Pending\\)\\n`));
    assert.match(ready.stdout, new RegExp(`^URL\\s+http://${id}\\.apps\\.example\\.com/$`, 'm'));
    const detail = JSON.parse((await as('alice', ['instance', 'status', id, '-o', 'json'])).stdout) as InstanceStatusDetail;
    assert.equal(detail.pod?.name, pod);

    const logs = await as('alice', ['instance', 'logs', id]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    const tail = await as('alice', ['instance', 'logs', id, '--tail', '2', '--previous']);
    assert.equal(tail.stdout, 'line 4\nline 5\n');
    assert.equal(logRequests.at(-1)!.previous, true);
    const badTail = await as('alice', ['instance', 'logs', id, '--tail', '-1']);
    assert.equal(badTail.code, 2);
    assert.match(badTail.stderr, /--tail: "-1" is not a whole number/);

    // -f keeps printing what arrives until Ctrl-C.
    const live = h2oLive(['instance', 'logs', id, '-f', '--tail', '1']);
    await waitFor('the followed line', async () => live.output().stdout.includes('line 6'), 15_000, 50);
    assert.equal(live.output().stdout, 'line 5\nline 6\n');
    assert.equal(logRequests.at(-1)!.follow, true);
    live.child.kill('SIGINT');
    await live.done;
    assert.equal((await as('alice', ['instance', 'terminate', id])).code, 0);
  });

  test('app run --wait: exit 7 with the status when not Ready in time; exit 0 once Ready', async () => {
    const slow = await as('alice', ['app', 'run', app.id, '--wait', '--timeout', '2s']);
    assert.equal(slow.code, 7, slow.stderr);
    const id = /^ID\s+(\S+)$/m.exec(slow.stdout)?.[1];
    assert.ok(id, slow.stdout);
    // Not a terminal: one line per status, then the reason to give up and what to run.
    assert.match(slow.stderr, new RegExp(`^instance ${id}: Pending — .+\\n`));
    assert.match(slow.stderr, new RegExp(`error: instance ${id} is not Ready after 2s \\(Pending: .+\\); .*h2o instance status ${id}.*--timeout`));
    assert.equal((await as('alice', ['instance', 'terminate', id])).code, 0);

    const live = h2oLive(['app', 'run', app.id, '--wait', '--timeout', '60s']);
    await waitFor('the ID line', async () => /^ID\s+\S+$/m.test(live.output().stdout), 30_000, 50);
    const started = /^ID\s+(\S+)$/m.exec(live.output().stdout)![1]!;
    await markReady(started);
    assert.equal(await live.done, 0, live.output().stderr);
    assert.match(live.output().stderr, new RegExp(`instance ${started} is Ready\\n`));
    assert.match(live.output().stdout, new RegExp(`^ID {4}${started}\\nURL {3}http://${started}\\.apps\\.example\\.com/\\n$`), 'the URL once Ready');
    assert.equal((await as('alice', ['instance', 'terminate', started])).code, 0);
  });

  test('on a terminal, the wait is a spinner with the status and the time waited', { skip: !SCRIPT && 'needs util-linux script(1) for a pseudo-terminal' }, async () => {
    const r = await runNodeOnTerminal(H2O, ['--config', cfg, '--profile', 'alice', 'app', 'run', app.id, '--wait', '--timeout', '2s'], { cwd: dir, env: { HOME: join(dir, 'home') } });
    assert.equal(r.code, 7, r.stdout);
    const id = /ID\s+(\S+)\r?\n/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.match(r.stdout, new RegExp(`\\r[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for instance ${id}: Pending \\ds`));
    // No per-status lines on a terminal: the spinner line is cleared before the error.
    assert.doesNotMatch(r.stdout, new RegExp(`^instance ${id}: Pending`, 'm'));
    assert.match(r.stdout, /\r\x1b\[Kerror: instance \S+ is not Ready after 2s/);
    assert.equal((await as('alice', ['instance', 'terminate', id])).code, 0);
  });

  test('app delete of an app with instances exits 6 naming them; runtime-version list', async () => {
    const id = (JSON.parse((await as('alice', ['app', 'run', app.id, '-o', 'json'])).stdout) as Instance).id;
    const refused = await as('alice', ['app', 'delete', app.id]);
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, new RegExp(`\\(${id}\\); terminate them first`));
    assert.equal((await as('alice', ['instance', 'terminate', id])).code, 0);

    const rv = await as('alice', ['runtime-version', 'list']);
    assert.equal(rv.code, 0, rv.stderr);
    assert.match(rv.stdout, /^NAME\s+IMAGE\s+DEFAULT\s+DEPRECATED\s+INSTANCES$/m);
    assert.match(rv.stdout, new RegExp(`^${RV}\\s+registry\\.example\\.com/launcher:${RV}\\s+no\\s+no\\s+\\d+$`, 'm'));
    const json = JSON.parse((await as('alice', ['runtime-version', 'list', '-o', 'json'])).stdout) as RuntimeVersionInfo[];
    assert.ok(json.some((v) => v.name === RV));
  });
});

describe('h2o bundle deploy and bundle test', () => {
  test('deploy --no-wait imports <Version>-<timestamp> and prints app, ID and URL; the app folder keeps its version', async () => {
    const folder = await appCopy('0.5.0');
    const r = await as('alice', ['bundle', 'deploy', '--no-wait', '--app-dir', folder]);
    assert.equal(r.code, 0, r.stderr);
    const version = /^Version\s+(0\.5\.0-\d{14})$/m.exec(r.stdout)?.[1];
    assert.ok(version, r.stdout);
    assert.equal(version.slice(6, 14), new Date().toISOString().slice(0, 10).replace(/-/g, ''), 'the stamp is today (UTC)');
    assert.match(r.stdout, /^Visibility\s+PRIVATE$/m);
    // The app's ID line is followed by Title, the instance's by URL.
    const id = /^ID\s+(\S+)\nURL\s+http:\/\/\S+\.apps\.example\.com\/$/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.match(await readFile(join(folder, 'app.toml'), 'utf8'), /^Version = "0\.5\.0"$/m);
    // Deploying again never conflicts.
    const again = await as('alice', ['bundle', 'deploy', '--no-wait', '--app-dir', folder, '-o', 'json']);
    assert.equal(again.code, 0, again.stderr);
    const out = JSON.parse(again.stdout) as { app: App; instance: Instance };
    assert.notEqual(out.app.version, version);
    assert.equal(out.instance.appId, out.app.id);
    for (const i of [id, out.instance.id]) assert.equal((await as('alice', ['instance', 'terminate', i])).code, 0);
  });

  test('deploy waits until Ready', async () => {
    const folder = await appCopy('0.6.0');
    const ready = readyWhenRunning('0.6.0');
    const r = await as('alice', ['bundle', 'deploy', '--app-dir', folder, '--timeout', '60s']);
    const id = await ready;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ID\\s+${id}\\nURL\\s+http://${id}\\.apps\\.example\\.com/\\n$`, 'm'));
    assert.match(r.stderr, new RegExp(`instance ${id}: Pending — .*\\n(.*\\n)*instance ${id} is Ready\\n`));
    assert.equal((await as('alice', ['instance', 'terminate', id])).code, 0);
  });

  test('bundle test deploys, follows the log and on Ctrl-C terminates the instance and deletes the app', async () => {
    const folder = await appCopy('0.7.0');
    const live = h2oLive(['bundle', 'test', '--app-dir', folder, '--timeout', '60s']);
    const id = await readyWhenRunning('0.7.0');
    await podFor(id);
    await waitFor('the log', async () => live.output().stdout.includes('line 6'), 30_000, 50);
    assert.match(live.output().stderr, /following the log; press Ctrl-C to stop and clean up/);
    const appId = /^ID\s+(\S+)$/m.exec(live.output().stdout)![1]!;
    live.child.kill('SIGINT');
    assert.equal(await live.done, 0, live.output().stderr);
    assert.match(live.output().stderr, new RegExp(`instance ${id} terminated\\napp ${appId} deleted\\n`));
    assert.equal((await as('alice', ['instance', 'get', id])).code, 3);
    assert.equal((await as('alice', ['app', 'get', appId])).code, 3);
  });

  test('a folder without app.toml exits 2 before anything is imported', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    const r = await as('alice', ['bundle', 'deploy'], empty);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no app\.toml/);
    assert.equal(r.stdout, '');
  });
});
