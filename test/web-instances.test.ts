// needs: cluster
/**
 * Instances in the web UI, against the real instance API and the real
 * operator on the local control plane (kwok nodes "run" the pods): launch
 * from the app page with a visibility choice, the status turning Ready
 * without a reload, a launch over the limit refused in words, open, the live log tail, visibility change,
 * suspend/resume, terminate after confirming, and the admin's view of every
 * instance; axe-core on the instances page; screenshots saved.
 */
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { installCrds } from '../src/k8s/crd/install.ts';
import type { PodLogRequest, PodLogSource } from '../src/k8s/pod-logs.ts';
import type { Operator } from '../src/operator/operator.ts';
import { AppRepository } from '../src/repository/apps.ts';
import { repositoryCatalog } from '../src/server/catalog-port.ts';
import { startTestApi, type TestApi, type UserName } from './support/api-server.ts';
import { makeBundle } from './support/bundles.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { createRuntimeVersion, deleteRuntimeVersion, getInstance, startTestOperator, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';
import { buildWebUI, describeViolations, launchChromium, screenshot, seriousA11yViolations, openAs } from './support/web-browser.ts';

const kc = kubeConfig();
const rv = `test-rv-web-${suffix()}`;
let ns: TestNamespace;
let t: TestApi;
let operator: Operator | undefined;
let browser: Browser;
let appId = '';

/**
 * Stands in for the kubelet's log stream, which kwok pods do not have: one
 * line at once, then a line every 300 ms until the browser goes away, so the
 * test sees the tail grow without a reload.
 */
const tickingLogs: PodLogSource = {
  async logs(req: PodLogRequest): Promise<Readable> {
    const out = new PassThrough();
    out.write(`started ${req.pod}/${req.container}\n`);
    let n = 0;
    const timer = setInterval(() => out.write(`tick ${++n}\n`), 300);
    const stop = () => {
      clearInterval(timer);
      out.end();
    };
    if (!req.follow) stop();
    req.signal.addEventListener('abort', stop);
    out.on('close', () => clearInterval(timer));
    return out;
  },
};

/** Opens `path` of the test server as `user`. */
const open = (user: UserName, path: string) => openAs(browser, user, t.url + path);

async function instanceOf(id: string): Promise<{ status: string; visibility: string; suspended: boolean; url?: string }> {
  return (await (await t.fetch('alice', `/api/v1/instances/${id}`)).json()) as { status: string; visibility: string; suspended: boolean; url?: string };
}

before(async () => {
  buildWebUI();
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('web-instances', kc);
  await createRuntimeVersion(kc, rv, { image: 'registry.example.com/wave-launcher:1.0.0' });
  // A limit of one running instance, so a second launch fails and the UI has to say why.
  t = await startTestApi({ db: 'pglite', store: 'fs', flags: { 'Scheduler.InstanceLimit': '1' }, cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name, logs: tickingLogs } });
  operator = await startTestOperator(kc, { ...t.config, runtimeVersions: [] }, repositoryCatalog(new AppRepository(t.db)));
  browser = await launchChromium();
  const res = await t.importBundle('alice', await makeBundle({ name: 'ai.test.web.live', version: '1.2.3', title: 'Live dashboard', description: 'Numbers that move' }), 'ALL_USERS');
  assert.equal(res.status, 201, await res.clone().text());
  appId = ((await res.json()) as { app: { id: string } }).app.id;
});

after(async () => {
  await browser?.close();
  await operator?.stop();
  await t?.close();
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, rv);
});

describe('instances in the web UI', { timeout: 300_000 }, () => {
  test('launch, live status, open, logs, visibility, suspend/resume, admin view, terminate', async () => {
    const { page, problems } = await open('alice', `/apps/${appId}`);
    await page.getByRole('heading', { name: 'Live dashboard', level: 1 }).waitFor();
    await page.getByRole('radio', { name: 'All signed-in users' }).check();
    await page.getByLabel('Runtime version').selectOption(rv);
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.waitForURL('**/instances');
    const row = page.locator('tr[data-instance]');
    await row.waitFor();
    const id = (await row.getAttribute('data-instance')) ?? '';
    assert.ok(id, 'the row names its instance');
    const heads = (p: typeof page, name: string) => p.getByRole('table', { name, exact: true }).getByRole('columnheader').allTextContents();
    // The user's own list has no Owner column; the admin's has (below).
    assert.deepEqual(await heads(page, 'My instances'), ['App', 'Status', 'Visibility', 'Started', 'Actions']);
    assert.equal((await instanceOf(id)).visibility, 'ALL_USERS');
    // No reload: the list polls until the operator reports Ready.
    await row.getByTestId('instance-status').filter({ hasText: /^Ready$/ }).waitFor({ timeout: 90_000 });
    await screenshot(page, 'instances');
    const v = await seriousA11yViolations(page);
    assert.equal(v.length, 0, describeViolations(v));

    // Over the limit: the refusal is shown in words, naming the limit and what to do.
    const again = await open('alice', `/apps/${appId}`);
    await again.page.getByLabel('Runtime version').selectOption(rv);
    await again.page.getByRole('button', { name: 'Launch' }).click();
    await again.page
      .getByRole('alert')
      .filter({ hasText: 'Could not launch' })
      .filter({ hasText: /the limit is 1 \(Scheduler\.InstanceLimit\); terminate or suspend one first/ })
      .waitFor();
    assert.equal(new URL(again.page.url()).pathname, `/apps/${appId}`);
    await again.page.context().close();

    // Open: a new tab at the instance's URL (the router serving it is tested in test/router*.test.ts; here the tab's request is answered in place).
    const url = (await instanceOf(id)).url ?? '';
    assert.match(url, new RegExp(`/instance/${id}/$`));
    await page.context().route(`${url}**`, (route) => route.fulfill({ contentType: 'text/html', body: '<title>instance</title>' }));
    const [tab] = await Promise.all([page.waitForEvent('popup'), row.getByRole('link', { name: /^Open/ }).click()]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), url);
    await tab.close();

    // Logs: the tail grows while it is open.
    await row.getByRole('button', { name: `Logs of ${id}` }).click();
    const log = page.getByTestId('log-output');
    await log.filter({ hasText: /started .+\/app/ }).waitFor();
    await log.filter({ hasText: 'tick 3' }).waitFor();
    await screenshot(page, 'instance-logs');
    await page.getByRole('button', { name: 'Close logs' }).click();

    await page.getByLabel(`Visibility of ${id}`).selectOption('PUBLIC');
    await waitFor('visibility PUBLIC', async () => (await instanceOf(id)).visibility === 'PUBLIC', 10_000, 100);

    await row.getByRole('button', { name: `Suspend ${id}` }).click();
    await row.getByTestId('instance-status').filter({ hasText: /^Suspended/ }).waitFor({ timeout: 60_000 });
    assert.equal(await row.getByRole('link', { name: /^Open/ }).count(), 0, 'a suspended instance cannot be opened');
    await row.getByRole('button', { name: `Resume ${id}` }).click();
    await row.getByTestId('instance-status').filter({ hasText: /^Ready$/ }).waitFor({ timeout: 90_000 });

    // The admin sees it among all instances, with its owner.
    const admin = await open('root', '/admin');
    const adminRow = admin.page.locator(`tr[data-instance="${id}"]`);
    await adminRow.getByText('alice@example.com').waitFor();
    assert.deepEqual(await heads(admin.page, 'All instances'), ['App', 'Status', 'Owner', 'Visibility', 'Started', 'Actions']);
    // …and the runtime version, with its image and one instance on it.
    const rvRow = admin.page.getByRole('region', { name: 'Runtime versions' }).getByRole('row', { name: new RegExp(rv) });
    await rvRow.getByText('registry.example.com/wave-launcher:1.0.0').waitFor();
    assert.equal((await rvRow.locator('td').last().textContent())?.trim(), '1');
    assert.deepEqual(await heads(admin.page, 'Runtime versions'), ['Name', 'Image', 'Default', 'Deprecated', 'Instances']);
    await screenshot(admin.page, 'admin-instances');
    await admin.page.context().close();

    // Terminate asks first; cancelling keeps the instance.
    await row.getByRole('button', { name: `Terminate ${id}` }).click();
    await page.getByRole('dialog', { name: `Terminate ${id}` }).getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await t.fetch('alice', `/api/v1/instances/${id}`)).status, 200);
    await row.getByRole('button', { name: `Terminate ${id}` }).click();
    await page.getByRole('dialog', { name: `Terminate ${id}` }).getByRole('button', { name: 'Terminate' }).click();
    await page.locator(`tr[data-instance="${id}"]`).waitFor({ state: 'detached', timeout: 60_000 });
    await waitFor('the AppInstance gone', async () => (await getInstance(kc, ns.name, id)) === undefined, 30_000, 100);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
});
