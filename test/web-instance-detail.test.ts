// needs: cluster
/**
 * The instance page of the web UI (/instances/:id) against the real instance
 * API, the real operator and the local pod runner (src/local-node), which
 * runs each pod as a local process and restarts it the way a kubelet would.
 * The process is a stand-in launcher (a few lines of Node, below) that
 * crashes or serves depending on the app, so the pods really restart and
 * the "previous container" log is a real earlier run: the summary, the
 * conditions, pod and containers (restarts, CrashLoopBackOff with the exit
 * code), events, live status, the actions (logs with live tail and the
 * previous container, visibility, suspend/resume, open, terminate after
 * confirming), what an app owner who does not own the instance may do, the
 * links from every instance table; axe-core; screenshots.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { installCrds } from '../src/k8s/crd/install.ts';
import { LocalPodRunner } from '../src/local-node/pod-runner.ts';
import type { Operator } from '../src/operator/operator.ts';
import { AppRepository } from '../src/repository/apps.ts';
import { repositoryCatalog } from '../src/server/catalog-port.ts';
import { startTestApi, type TestApi, type UserName } from './support/api-server.ts';
import { makeBundle } from './support/bundles.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { createRuntimeVersion, deleteRuntimeVersion, getInstance, startTestOperator, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';
import { buildWebUI, describeViolations, launchChromium, screenshot, seriousA11yViolations, openAs } from './support/web-browser.ts';

/**
 * The stand-in launcher: apps named *.crashy exit with code 3 on every run,
 * *.flaky on its first run only; otherwise it answers HTTP on
 * H2O_WAVE_LISTEN and, like the launcher, on H2O_CLOUD_LAUNCHER_READY_PORT
 * (so a TCP or an HTTP /ready probe passes), and logs a tick every 300 ms.
 * The run number is the last part of the work folder the runner gives each run.
 */
const STAND_IN = `
const http = require('node:http');
const run = Number((process.env.H2O_CLOUD_LAUNCHER_WORK_DIR || '').split('/').pop());
const app = process.env.H2O_CLOUD_APP_NAME || '';
const say = (m) => console.log('[stand-in] run ' + run + ': ' + m);
say('starting ' + app);
if (app.endsWith('.crashy') || (app.endsWith('.flaky') && run === 0)) { say('crashing with exit code 3'); process.exit(3); }
const listen = process.env.H2O_WAVE_LISTEN;
const host = listen.slice(0, listen.lastIndexOf(':'));
const serve = (port) => http.createServer((q, r) => r.end('ok')).on('error', (e) => { say('cannot listen on ' + host + ':' + port + ': ' + e.message); process.exit(4); }).listen(port, host, () => say('serving on ' + host + ':' + port));
serve(Number(listen.slice(listen.lastIndexOf(':') + 1)));
if (process.env.H2O_CLOUD_LAUNCHER_READY_PORT) serve(Number(process.env.H2O_CLOUD_LAUNCHER_READY_PORT));
let n = 0;
setInterval(() => say('tick ' + ++n), 300);
process.on('SIGTERM', () => process.exit(0));
`;

const kc = kubeConfig();
const rv = `test-rv-webd-${suffix()}`;
const dataDir = mkdtempSync(join(tmpdir(), 'appstore-web-detail-'));
let ns: TestNamespace;
let t: TestApi;
let runner: LocalPodRunner | undefined;
let operator: Operator | undefined;
let browser: Browser;
const apps: Record<'flaky' | 'crashy' | 'steady', string> = { flaky: '', crashy: '', steady: '' };

/** Opens `path` of the test server as `user`. */
const open = (user: UserName, path: string) => openAs(browser, user, t.url + path);

/** Launches `app` as `user` through the API (the UI's launch is tested in web-instances). */
async function launch(user: UserName, app: string, visibility = 'PRIVATE'): Promise<string> {
  const res = await t.fetch(user, `/api/v1/apps/${app}/instances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ visibility, runtimeVersion: rv }) });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function instanceOf(id: string): Promise<{ status: string; visibility: string; suspended: boolean; url?: string }> {
  return (await (await t.fetch('alice', `/api/v1/instances/${id}`)).json()) as { status: string; visibility: string; suspended: boolean; url?: string };
}

/** The page's status word (and reason) in the summary. */
const statusOf = (page: Page): Locator => page.getByRole('region', { name: 'Summary' }).getByTestId('instance-status');
const containerRow = (page: Page): Locator => page.locator('tr[data-container="app"]');

before(async () => {
  buildWebUI();
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('web-detail', kc);
  // An appstore.local/ image: the local cluster leaves such launcher pods to the local pod runner (kwok never marks them Ready).
  await createRuntimeVersion(kc, rv, { image: 'appstore.local/wave-launcher:test' });
  runner = await LocalPodRunner.start({
    kc,
    namespace: ns.name,
    dataDir,
    launcherCommand: [process.execPath, '-e', STAND_IN],
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    // Quick restarts, so the flaky app serves soon and the crashy one is mostly in back-off.
    restartBackoffMs: 1000,
  });
  t = await startTestApi({ db: 'pglite', store: 'fs', cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name, logs: runner } });
  operator = await startTestOperator(kc, { ...t.config, runtimeVersions: [] }, repositoryCatalog(new AppRepository(t.db)));
  browser = await launchChromium();
  for (const kind of ['flaky', 'crashy', 'steady'] as const) {
    const res = await t.importBundle('alice', await makeBundle({ name: `ai.test.web.${kind}`, version: '1.0.0', title: `The ${kind} app`, description: `An app that is ${kind}` }), 'ALL_USERS');
    assert.equal(res.status, 201, await res.clone().text());
    apps[kind] = ((await res.json()) as { app: { id: string } }).app.id;
  }
});

after(async () => {
  await browser?.close();
  await operator?.stop();
  await t?.close();
  await runner?.stop();
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, rv);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the instance page in the web UI', { timeout: 400_000 }, () => {
  test('reached from My instances: summary, conditions, a restarted container, events, logs of this and the previous run, visibility, suspend/resume, open, terminate', async () => {
    const id = await launch('alice', apps.flaky);
    const { page, problems } = await open('alice', '/instances');
    await page.locator(`tr[data-instance="${id}"]`).getByRole('link', { name: `Details of instance ${id}` }).click();
    await page.waitForURL(`**/instances/${id}`);
    await page.getByRole('heading', { level: 1, name: /The flaky app/ }).waitFor();
    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.getByText('ai.test.web.flaky').waitFor();
    await summary.getByText('alice@example.com').waitFor();
    // Live: the first run crashes, the runner restarts it, and the page turns Ready without a reload.
    await statusOf(page).filter({ hasText: /^Ready$/ }).waitFor({ timeout: 90_000 });
    await containerRow(page).getByTestId('container-state').filter({ hasText: /^running$/ }).waitFor();
    // (More restarts: the pod's address was taken — a process outside the cluster listening in kwok's 127.64.0.0/16; the log says so.)
    assert.equal(await containerRow(page).getByTestId('container-restarts').textContent(), '1', await page.getByTestId('events').textContent().then((t) => `events: ${t}`));
    assert.equal(await page.getByTestId('pod-phase').textContent(), 'Running');
    const ready = page.locator('tr[data-condition="Ready"]');
    await ready.locator('td').first().filter({ hasText: 'True' }).waitFor();
    assert.match((await ready.textContent()) ?? '', /Running/);
    // The operator records an event when the instance's readiness changes (Running now).
    await page.getByTestId('events').locator('tbody tr').filter({ hasText: 'Running' }).first().waitFor();
    assert.equal(await summary.getByTestId('instance-url').textContent(), (await instanceOf(id)).url);

    // Logs: the current run's tail grows; the previous run is the one that crashed.
    await page.getByRole('button', { name: `Logs of ${id}` }).click();
    const log = page.getByTestId('log-output');
    await log.filter({ hasText: /run 1: serving/ }).waitFor();
    await log.filter({ hasText: /run 1: tick 3\b/ }).waitFor();
    assert.doesNotMatch((await log.textContent()) ?? '', /run 0/);
    await screenshot(page, 'instance-detail');
    const v = await seriousA11yViolations(page);
    assert.equal(v.length, 0, describeViolations(v));
    const [prevReq] = await Promise.all([page.waitForRequest((r) => r.url().includes(`/instances/${id}/logs`) && new URL(r.url()).searchParams.get('previous') === 'true'), page.getByTestId('log-previous').check()]);
    assert.equal(new URL(prevReq.url()).searchParams.get('previous'), 'true');
    await log.filter({ hasText: /run 0: crashing with exit code 3/ }).waitFor();
    assert.doesNotMatch((await log.textContent()) ?? '', /run 1/);
    await page.getByTestId('log-previous').uncheck();
    await log.filter({ hasText: /run 1: serving/ }).waitFor();
    await page.getByRole('button', { name: 'Close logs' }).click();

    // Open: a new tab at the instance's URL (the router is tested elsewhere; the tab's request is answered in place).
    const url = (await instanceOf(id)).url ?? '';
    await page.context().route(`${url}**`, (route) => route.fulfill({ contentType: 'text/html', body: '<title>instance</title>' }));
    const [tab] = await Promise.all([page.waitForEvent('popup'), page.getByRole('link', { name: /^Open/ }).click()]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), url);
    await tab.close();

    await page.getByLabel(`Visibility of ${id}`).selectOption('PUBLIC');
    await waitFor('visibility PUBLIC', async () => (await instanceOf(id)).visibility === 'PUBLIC', 10_000, 100);

    await page.getByRole('button', { name: `Suspend ${id}` }).click();
    await statusOf(page).filter({ hasText: /^Suspended/ }).waitFor({ timeout: 60_000 });
    await page.getByText('No pod (the instance is suspended).').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByRole('link', { name: /^Open/ }).count(), 0, 'a suspended instance cannot be opened');
    await page.getByRole('button', { name: `Resume ${id}` }).click();
    await statusOf(page).filter({ hasText: /^Ready$/ }).waitFor({ timeout: 90_000 });

    // Terminate asks first; cancelling keeps the instance, confirming ends it and the page says so.
    await page.getByRole('button', { name: `Terminate ${id}` }).click();
    await page.getByRole('dialog', { name: `Terminate ${id}` }).getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await t.fetch('alice', `/api/v1/instances/${id}`)).status, 200);
    await page.getByRole('button', { name: `Terminate ${id}` }).click();
    await page.getByRole('dialog', { name: `Terminate ${id}` }).getByRole('button', { name: 'Terminate' }).click();
    await page.getByTestId('instance-gone').waitFor({ timeout: 60_000 });
    await waitFor('the AppInstance gone', async () => (await getInstance(kc, ns.name, id)) === undefined, 30_000, 100);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('a crash-looping instance: Failed with the reason in words, CrashLoopBackOff with the exit code, the crashed run in the previous log; reached from the admin table', async () => {
    const id = await launch('alice', apps.crashy);
    const { page, problems } = await open('root', '/admin');
    await page.locator(`tr[data-instance="${id}"]`).getByRole('link', { name: `Details of instance ${id}` }).click();
    await page.waitForURL(`**/instances/${id}`);
    await statusOf(page).filter({ hasText: /^Failed — the app keeps crashing \(\d+ restarts, last exit code 3/ }).waitFor({ timeout: 90_000 });
    assert.match((await statusOf(page).getAttribute('class')) ?? '', /status-bad/);
    await containerRow(page).getByTestId('container-state').filter({ hasText: 'waiting: CrashLoopBackOff (last exit code 3)' }).waitFor({ timeout: 60_000 });
    assert.ok(Number(await containerRow(page).getByTestId('container-restarts').textContent()) >= 1);
    assert.match((await page.locator('tr[data-condition="Ready"]').textContent()) ?? '', /False.*CrashLoopBackOff/);
    // The admin manages any instance but opens only what is shared with him: no Open for this PRIVATE one.
    await page.getByRole('button', { name: `Suspend ${id}` }).waitFor();
    assert.equal(await page.getByRole('link', { name: /^Open/ }).count(), 0);
    await page.getByRole('button', { name: `Logs of ${id}` }).click();
    await page.getByTestId('log-previous').check();
    await page.getByTestId('log-output').filter({ hasText: /run \d+: crashing with exit code 3/ }).waitFor();
    await screenshot(page, 'instance-crashloop');
    const v = await seriousA11yViolations(page);
    assert.equal(v.length, 0, describeViolations(v));
    assert.deepEqual(problems, []);
    await page.context().close();
    assert.equal((await t.fetch('alice', `/api/v1/instances/${id}`, { method: 'DELETE' })).status, 204);
  });

  test("the app's owner sees someone else's instance from My apps: status and logs, no actions that are the owner's; no previous container is said in words", async () => {
    const id = await launch('bob', apps.steady);
    const { page, problems } = await open('alice', '/my-apps');
    const row = page.getByRole('region', { name: 'Instances of my apps' }).locator(`tr[data-instance="${id}"]`);
    await row.getByRole('link', { name: `Details of instance ${id}` }).click();
    await page.waitForURL(`**/instances/${id}`);
    await statusOf(page).filter({ hasText: /^Ready$/ }).waitFor({ timeout: 90_000 });
    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.getByText('bob@example.com').waitFor();
    await summary.getByText('Private (only me)').waitFor();
    assert.equal(await page.getByLabel(`Visibility of ${id}`).count(), 0, 'no visibility choice for a non-owner');
    for (const name of [`Suspend ${id}`, `Terminate ${id}`]) assert.equal(await page.getByRole('button', { name }).count(), 0, name);
    assert.equal(await page.getByRole('link', { name: /^Open/ }).count(), 0, 'a PRIVATE instance opens for its owner only');
    await page.getByRole('button', { name: `Logs of ${id}` }).click();
    await page.getByTestId('log-output').filter({ hasText: /run 0: serving/ }).waitFor();
    await page.getByTestId('log-previous').check();
    await page.getByRole('alert').filter({ hasText: 'Logs unavailable' }).filter({ hasText: /has no previous run/ }).waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
    assert.equal((await t.fetch('bob', `/api/v1/instances/${id}`, { method: 'DELETE' })).status, 204);
  });
});
