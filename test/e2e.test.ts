// needs: cluster
/**
 * End to end, nothing written by the test that a user would not write: a
 * real Wave app (h2o-wave from PyPI) bundled by the real `h2o bundle`,
 * imported by `h2o bundle import`, run by `h2o app run`; the server (API,
 * router in BASE_URL mode, instance cache) and the real operator in this
 * process on the test cluster; the local pod runner runs the operator's pods
 * as processes on their kwok pod IPs. Headless Chromium opens the app through
 * the router and sees content that only arrives over Wave's websocket.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { clusterRunsLauncherStage } from '../src/local-node/kwok-stages.ts';
import { startE2eAppstore, type E2eAppstore } from './support/e2e-appstore.ts';
import { USERS, type UserName } from './support/api-server.ts';
import { kubeConfig, kubeconfigPath, kubectl } from './support/kube.ts';
import { getInstance } from './support/operator.ts';
import { waitFor } from './support/ports.ts';
import { waitForWaveText, waveClients } from './support/waved-race.ts';
import { runNode, type ProcessResult } from './support/process.ts';
import { helloSource, WAVE_VERSION } from './support/python-app.ts';
import { contextAs, launchChromium, screenshot } from './support/web-browser.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

const H2O = fileURLToPath(new URL('../bin/h2o.mjs', import.meta.url));
const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
let rv = '';
const dir = mkdtempSync(join(tmpdir(), 'e2e-'));
const logger = pino({ level: process.env.APPSTORE_TEST_OPERATOR_LOG ?? 'silent' });
let namespace = '';
let url = '';
let appstore: E2eAppstore | undefined;
let browser: Browser | undefined;
const cfg = join(dir, 'cli.toml');

function h2o(args: string[], cwd = dir): Promise<ProcessResult> {
  return runNode(H2O, ['--config', cfg, ...args], { cwd, env: { HOME: join(dir, 'home'), H2O_CONFIG: undefined, H2O_PROFILE: undefined } });
}

async function call(user: UserName, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
  if (user !== 'anonymous') headers.authorization = `Bearer ${USERS[user].token}`;
  const res = await fetch(`${url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: Json = {};
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    // text/plain (logs)
  }
  return { status: res.status, body: parsed, text };
}

async function waitStatus(id: string, what: string, ok: (s: Json) => boolean, timeoutMs = 300_000): Promise<Json> {
  let last: Json = {};
  await waitFor(`instance ${id}: ${what}`, async () => {
    last = (await call('alice', 'GET', `/instances/${id}/status`)).body;
    return ok(last);
  }, timeoutMs, 300).catch(async (err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last status: ${JSON.stringify(last)}; logs: ${(await logsOf(id)).slice(-3000)}`);
  });
  return last;
}

/** Writes a Wave app folder as a developer would, bundles it with `h2o bundle` and imports it with `h2o bundle import`; returns the app. */
async function importApp(name: string, opts: { source?: string; requirements?: string; version?: string } = {}): Promise<Json> {
  const app = join(dir, name);
  mkdirSync(join(app, 'app'), { recursive: true });
  writeFileSync(join(app, 'app', '__init__.py'), '');
  writeFileSync(join(app, 'app', 'run.py'), opts.source ?? helloSource('e2e'));
  writeFileSync(join(app, 'requirements.txt'), opts.requirements ?? `h2o-wave==${WAVE_VERSION}\n`);
  writeFileSync(join(app, 'app.toml'), `[App]\nName = "ai.e2e.${name}"\nVersion = "${opts.version ?? '1.0.0'}"\nTitle = "E2E ${name}"\nDescription = "end to end"\n\n[Runtime]\nModule = "app.run"\nRuntimeVersion = "${rv}"\n`);
  const built = await h2o(['bundle', '--app-dir', app, '--output-dir', join(app, 'dist')]);
  assert.equal(built.code, 0, built.stderr);
  assert.deepEqual(readdirSync(join(app, 'dist')), [`ai.e2e.${name}.${opts.version ?? '1.0.0'}.wave`]);
  const imported = await h2o(['bundle', 'import', '--app-dir', app, '-o', 'json']);
  assert.equal(imported.code, 0, imported.stderr);
  const parsed = JSON.parse(imported.stdout) as Json;
  return (parsed.app ?? parsed) as Json;
}

async function logsOf(id: string): Promise<string> {
  const r = await call('alice', 'GET', `/instances/${id}/logs`);
  return r.status === 200 ? r.text : `(${r.status}) ${r.text}`;
}

/** After terminate: the AppInstance, its Deployment, Service, Secret and PVCs gone, and the pod process no longer answers. */
async function assertAllGone(id: string, podIP: string): Promise<void> {
  await waitFor('the AppInstance gone', async () => (await getInstance(kc, namespace, id)) === undefined, 60_000, 200);
  const sel = { namespace, labelSelector: `hac.h2o.ai/instance=${id}` };
  await waitFor('its children garbage-collected', async () => {
    const [d, s, sec, pvc, pods] = await Promise.all([
      apps.listNamespacedDeployment(sel),
      core.listNamespacedService(sel),
      core.listNamespacedSecret(sel),
      core.listNamespacedPersistentVolumeClaim(sel),
      core.listNamespacedPod(sel),
    ]);
    return d.items.length + s.items.length + sec.items.length + pvc.items.length + pods.items.length === 0;
  }, 120_000, 500);
  await waitFor('the local process stopped', async () => {
    try {
      await fetch(`http://${podIP}:10101/`, { signal: AbortSignal.timeout(1000) });
      return false;
    } catch {
      return true;
    }
  }, 60_000, 300);
}

/** Opens the instance in Chromium as `user` and waits for the app's card, which only arrives over the websocket. */
async function openInBrowser(user: UserName, id: string, instanceURL: string, text: string, shot: string): Promise<void> {
  await waitFor(`${instanceURL} to serve the app`, async () => (await routerStatus(user, instanceURL)).status === 200, 300_000, 250);
  const ctx = await contextAs(browser!, user);
  try {
    const page = await ctx.newPage();
    let wsOpened = false;
    // What the page saw, to say why if the card does not come.
    const seen: string[] = [];
    page.on('websocket', (ws) => {
      if (ws.url().includes('/_s/')) wsOpened = true;
      seen.push(`ws open ${ws.url()}`);
      ws.on('framesent', (f) => seen.push(`ws > ${String(f.payload).slice(0, 120)}`));
      ws.on('framereceived', (f) => seen.push(`ws < ${String(f.payload).slice(0, 120)}`));
      ws.on('close', () => seen.push('ws closed'));
    });
    page.on('response', (r) => seen.push(`${r.status()} ${r.url()}`));
    page.on('console', (m) => seen.push(`console ${m.type()}: ${m.text().slice(0, 200)}`));
    const clients = waveClients(page);
    const explain = async (err: unknown): Promise<Error> => {
      const body = await page.locator('body').innerText().catch(() => '(no body)');
      const logs = (await logsOf(id).catch((e: unknown) => `(logs: ${(e as Error).message})`)).split('\n').slice(-40).join('\n');
      return new Error(`${(err as Error).message.split('\n')[0]}; page ${page.url()} shows: ${body.slice(0, 300)}; events:\n${seen.slice(-40).join('\n')}\ninstance logs:\n${logs}`);
    };
    // A progress page may come first; it reloads itself until the app answers, as a user would see it.
    await page.goto(instanceURL);
    await waitForWaveText(page, text, { clients, logs: () => logsOf(id), explain });
    assert.ok(wsOpened, 'the page opened the Wave websocket through the router');
    await screenshot(page, shot);
  } finally {
    await ctx.close();
  }
}

async function routerStatus(user: UserName, instanceURL: string): Promise<{ status: number; text: string }> {
  const res = await fetch(instanceURL, { headers: user === 'anonymous' ? {} : { authorization: `Bearer ${USERS[user].token}` }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  appstore = await startE2eAppstore({ kc, name: 'e2e', dir, logger, flags: () => ({ 'Router.RoutingMode': 'BASE_URL' }) });
  url = appstore.url;
  namespace = appstore.namespace;
  rv = appstore.runtimeVersion;
  const r = await h2o(['--endpoint', url, 'config', 'setup', '--token', USERS.alice.token]);
  assert.equal(r.code, 0, r.stderr);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await appstore?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('end to end', { timeout: 1_200_000 }, () => {
  test('h2o bundle → import → app run → progress page → the app in Chromium → logs → visibility → suspend → resume → terminate', async () => {
    const app = await importApp('hello', { source: helloSource('Hello end to end') });
    const run = await h2o(['app', 'run', app.id as string, '-o', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const id = (JSON.parse(run.stdout) as Json).id as string;
    const inst = (await call('alice', 'GET', `/instances/${id}`)).body;
    const iurl = inst.url as string;
    assert.equal(iurl, `${url}/instance/${id}/`);

    // While the launcher installs the requirements, the router (or the launcher) shows a progress page, not an error.
    let progress = '';
    await waitFor('the app page through the router', async () => {
      const page = await routerStatus('alice', iurl);
      if (page.status !== 200 && /starting|install|prepar|download|sourcing|waiting/i.test(page.text)) progress ||= page.text;
      return page.status === 200;
    }, 300_000, 250);
    const ready = await waitStatus(id, 'Ready', (s) => s.status === 'Ready');
    assert.ok(progress, 'a progress page was shown before the app was ready');
    assert.match(progress, /<html/i);

    await openInBrowser('alice', id, iurl, 'Hello end to end', 'e2e-app');

    await waitFor('[app] and [waved] lines in the instance logs', async () => /^\[waved\] /m.test(await logsOf(id)) && /^\[app\] /m.test(await logsOf(id)), 60_000, 500);
    assert.match(await logsOf(id), /^\[launcher\] /m);

    // Visibility: bob is refused a PRIVATE instance, then let in once it is ALL_USERS.
    assert.equal((await routerStatus('bob', iurl)).status, 403);
    assert.equal((await call('alice', 'PATCH', `/instances/${id}`, { visibility: 'ALL_USERS' })).status, 200);
    await waitFor('bob let in', async () => (await routerStatus('bob', iurl)).status === 200, 30_000, 300);
    await openInBrowser('bob', id, iurl, 'Hello end to end', 'e2e-app-bob');

    const podIP = ready.pod?.name ? (await core.readNamespacedPod({ namespace, name: ready.pod.name as string })).status!.podIP! : '';
    assert.match(podIP, /^127\.(6[5-9]|[78]\d|9[0-5])\./, 'a pod IP from the cluster\'s own loopback pod range');

    const sus = await h2o(['instance', 'suspend', id]);
    assert.equal(sus.code, 0, sus.stderr);
    await waitStatus(id, 'Suspended', (s) => s.status === 'Suspended' && s.pod === undefined, 120_000);
    const suspendedPage = await routerStatus('alice', iurl);
    assert.match(suspendedPage.text, /The app is suspended/);

    const res = await h2o(['instance', 'resume', id]);
    assert.equal(res.code, 0, res.stderr);
    const again = await waitStatus(id, 'Ready again', (s) => s.status === 'Ready' && s.suspended === false);
    await openInBrowser('alice', id, iurl, 'Hello end to end', 'e2e-app-resumed');
    const podIP2 = (await core.readNamespacedPod({ namespace, name: again.pod.name as string })).status!.podIP!;

    const term = await h2o(['instance', 'terminate', id]);
    assert.equal(term.code, 0, term.stderr);
    await assertAllGone(id, podIP2);
    assert.equal((await routerStatus('alice', iurl)).status, 404);
  });

  test('an AppInstance applied by kubectl from YAML, naming the app by name and version, runs and serves the app', async () => {
    await importApp('yaml', { source: helloSource('Hello from YAML') });
    const name = 'from-yaml';
    const yaml = [
      'apiVersion: hac.h2o.ai/v1alpha1',
      'kind: AppInstance',
      `metadata: { name: ${name}, namespace: ${namespace} }`,
      'spec:',
      '  app: { name: ai.e2e.yaml, version: 1.0.0 }',
      `  owner: { subject: alice, name: ${USERS.alice.name} }`,
      '  visibility: PRIVATE',
      `  runtimeVersion: ${rv}`,
    ].join('\n');
    const file = join(dir, 'instance.yaml');
    writeFileSync(file, `${yaml}\n`);
    const applied = await kubectl(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const ready = await waitStatus(name, 'Ready', (s) => s.status === 'Ready');
    await waitFor('the app page through the router', async () => (await routerStatus('alice', ready.url as string)).status === 200, 300_000, 250);
    assert.equal(ready.appName, 'ai.e2e.yaml');
    await openInBrowser('alice', name, ready.url as string, 'Hello from YAML', 'e2e-yaml');
    const podIP = (await core.readNamespacedPod({ namespace, name: ready.pod.name as string })).status!.podIP!;
    const del = await kubectl(['delete', '-f', file]);
    assert.equal(del.code, 0, del.stderr);
    await assertAllGone(name, podIP);
  });

  // The pod is ready only when the app answers (the launcher's /ready), so a crash-looping instance never reads Ready.
  test('requirements that cannot install, and a module that crashes, end in a clear failed status with the reason in the logs', async () => {
    const broken = await importApp('broken-reqs', { requirements: 'this-package-does-not-exist-e2e==0.0.1\n' });
    const crash = await importApp('crash', { source: "from h2o_wave import main, app, Q  # noqa: F401\nraise SystemExit('e2e crash: the module gave up')\n" });
    const ids: string[] = [];
    for (const a of [broken, crash]) {
      const r = await call('alice', 'POST', `/apps/${a.id as string}/instances`, {});
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.id as string);
    }
    const seen: string[] = [];
    const failed = (s: Json) => {
      seen.push(String(s.status));
      return s.status === 'Failed';
    };
    for (const [i, id] of ids.entries()) {
      seen.length = 0;
      const s = await waitStatus(id, 'Failed', failed);
      const c = s.pod?.containers?.[0] as Json | undefined;
      const why = `${s.status} ${s.reason ?? ''} ${s.message ?? ''} ${c?.reason ?? ''} ${c?.exitCode ?? ''}`;
      // On a cluster started before the launcher pod stage, kwok says Ready for a moment before the runner takes over.
      const fromRunner = clusterRunsLauncherStage(process.env.APPSTORE_TEST_CLUSTER_DIR ?? dirname(kubeconfigPath())) ? seen : seen.slice(seen.findIndex((x) => x === 'Starting' || x === 'Failed'));
      assert.ok(!fromRunner.includes('Ready'), `a failing instance never reads Ready; statuses seen: ${seen.filter((x, i) => x !== seen[i - 1]).join(' → ')}`);
      assert.ok(s.reason || s.message, `the instance status says why: ${JSON.stringify(s)}`);
      assert.match(why, /CrashLoopBackOff|Error|exit code|Failed/i);
      const logs = (await call('alice', 'GET', `/instances/${id}/logs?previous=true`)).text + (await logsOf(id));
      if (i === 0) assert.match(logs, /this-package-does-not-exist-e2e/, `the failed install is in the logs: ${logs.slice(-2000)}`);
      else assert.match(logs, /e2e crash: the module gave up/, `the crash is in the logs: ${logs.slice(-2000)}`);
      assert.equal((await call('alice', 'DELETE', `/instances/${id}`)).status, 204);
    }
  });
});
