// needs: cluster, oidc
/**
 * End to end in DOMAIN routing with a signed-in browser: the whole server
 * (startServer: API, router, operator, the local pod runner) in Auth.Mode
 * oidc against the test run's OpenID provider, and headless Chromium with no
 * credentials of its own. Alice signs in on the main host, imports and runs a
 * real Wave app with her session, then opens her PRIVATE instance at
 * http://<instance>.apps.localhost:<port>/: the router hands her session
 * over to the instance host (src/router/handoff.ts) and the app's card
 * arrives over Wave's websocket on that host. Bob, signed in too, is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../src/config/load.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { LOCAL_IMAGE_PREFIX } from '../src/local-node/kwok-stages.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { createRuntimeVersion, deleteRuntimeVersion, suffix } from './support/operator.ts';
import { USERS } from './support/oidc.ts';
import { freePort, waitFor } from './support/ports.ts';
import { ensureUv, helloSource, makeWaveBundle, pythonCacheEnv } from './support/python-app.ts';
import { oidcAuthFlags } from './support/oidc-api.ts';
import { launchChromium, screenshot } from './support/web-browser.ts';
import { waitForWaveText, waveClients } from './support/waved-race.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

const kc = kubeConfig();
const rv = `e2e-session-rv-${suffix()}`;
const dir = mkdtempSync(join(tmpdir(), 'e2e-domain-session-'));
let ns: TestNamespace;
let server: RunningServer | undefined;
let browser: Browser | undefined;
let port = 0;
let main = '';

/** Signs in at the provider's form if the page is on it (the flow may skip it when the provider remembers the browser). */
async function signInIfAsked(page: Page, user: keyof typeof USERS): Promise<void> {
  const form = page.locator('input[name="username"]');
  await page.waitForLoadState('domcontentloaded');
  if (new URL(page.url()).host === main || !(await form.count())) return;
  const provider = new URL(page.url()).host;
  await form.fill(user);
  await page.locator('input[name="password"]').fill(USERS[user]!.password);
  await Promise.all([page.waitForURL((u) => u.host !== provider, { timeout: 30_000 }), page.locator('button[type="submit"]').click()]);
}

async function api(ctx: BrowserContext, method: 'GET' | 'POST' | 'DELETE', path: string, body?: { json?: unknown; zip?: Buffer }): Promise<{ status: number; body: Json; text: string }> {
  const res = await ctx.request.fetch(`http://${main}/api/v1${path}`, {
    method,
    // As the store's own pages send it: the API refuses cookie writes from other origins (src/auth/csrf.ts).
    headers: { origin: `http://${main}`, ...(body?.zip ? { 'content-type': 'application/zip' } : {}) },
    ...(body?.zip ? { data: body.zip } : body?.json !== undefined ? { data: body.json as Json } : {}),
  });
  const text = await res.text();
  let parsed: Json = {};
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    // not JSON
  }
  return { status: res.status(), body: parsed, text };
}

before(async () => {
  const uv = await ensureUv();
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('e2e-session', kc);
  await createRuntimeVersion(kc, rv, { image: `${LOCAL_IMAGE_PREFIX}wave-launcher:1.0.0` });
  port = await freePort();
  // The provider accepts redirect URIs on 127.0.0.1 (any port): the main host is 127.0.0.1:<port>.
  main = `127.0.0.1:${port}`;
  const { config } = loadConfig({
    flags: {
      'Server.Listen': main,
      'Server.PublicURL': `http://${main}`,
      'Server.DataDir': join(dir, 'data'),
      'Server.Roles': 'api,router,operator',
      'Server.LogLevel': 'fatal',
      ...oidcAuthFlags(),
      'Scheduler.KubeConfig': kubeconfigPath(),
      'Scheduler.Namespace': ns.name,
      'Router.RoutingMode': 'DOMAIN',
      'Router.MainHost': main,
      'Router.AppsDomain': `apps.localhost:${port}`,
    },
  });
  server = await startServer(config, [], {
    localPods: { dataDir: join(dir, 'node'), baseEnv: { ...(process.env as Record<string, string>), ...pythonCacheEnv(), PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}` } },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, rv);
  rmSync(dir, { recursive: true, force: true });
});

describe('end to end, DOMAIN routing with browser sessions', { timeout: 900_000 }, () => {
  test('signed in on the main host, alice opens her PRIVATE Wave app on its instance host (session handed over, websocket on that host); bob is refused', async () => {
    const alice = await browser!.newContext();
    const bob = await browser!.newContext();
    try {
      const page = await alice.newPage();
      await page.goto(`http://${main}/auth/login?return=/api/v1/auth/config`);
      await signInIfAsked(page, 'alice');
      await page.waitForURL((u) => u.host === main, { timeout: 30_000 });

      const bundle = await makeWaveBundle({ name: 'ai.e2e.session', version: '1.0.0', source: helloSource('Hello, signed-in browser'), extraToml: `RuntimeVersion = "${rv}"\n` });
      const imported = await api(alice, 'POST', '/apps', { zip: bundle });
      assert.equal(imported.status, 201, imported.text);
      const run = await api(alice, 'POST', `/apps/${(imported.body.app ?? imported.body).id as string}/instances`, { json: {} });
      assert.equal(run.status, 201, run.text);
      const id = run.body.id as string;
      const instanceURL = `http://${id}.apps.localhost:${port}/`;
      let last: Json = {};
      await waitFor(`instance ${id} Ready`, async () => {
        last = (await api(alice, 'GET', `/instances/${id}/status`)).body;
        return last.status === 'Ready';
      }, 300_000, 300).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last)}`);
      });
      assert.equal(last.visibility ?? 'PRIVATE', 'PRIVATE');

      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      // No credentials on the instance host yet: the router sends the browser to the main host and back with a one-time code.
      const clients = waveClients(page);
      await page.goto(instanceURL);
      await waitForWaveText(page, 'Hello, signed-in browser', {
        clients,
        logs: async () => (await api(alice, 'GET', `/instances/${id}/logs`)).text,
        explain: async (err) => new Error(`${(err as Error).message.split('\n')[0]}; page ${page.url()} shows: ${(await page.locator('body').innerText().catch(() => '')).slice(0, 300)}`),
        firstMs: 60_000,
      });
      assert.equal(page.url(), instanceURL, 'back on the instance host, at the page asked for');
      assert.ok(sockets.some((s) => s.startsWith(`ws://${id}.apps.localhost:${port}/_s/`)), `Wave's websocket on the instance host; opened: ${sockets.join(', ') || 'none'}`);
      const cookies = await alice.cookies(instanceURL);
      assert.ok(cookies.length > 0 && cookies.every((c) => c.domain === `${id}.apps.localhost`), `host-only cookies on the instance host: ${JSON.stringify(cookies.map((c) => c.domain))}`);
      await screenshot(page, 'e2e-domain-session-alice');

      // Bob signs in too (the provider's form comes up on the way), and is refused alice's PRIVATE instance.
      const bobPage = await bob.newPage();
      const answers: number[] = [];
      bobPage.on('response', (r) => {
        if (new URL(r.url()).host === `${id}.apps.localhost:${port}` && new URL(r.url()).pathname === '/') answers.push(r.status());
      });
      await bobPage.goto(instanceURL);
      await signInIfAsked(bobPage, 'bob');
      // The first answer there is the redirect to the hand-off; the last one, after signing in, is the verdict.
      const final = () => answers.filter((st) => st < 300 || st >= 400);
      await waitFor('bob to come back to the instance host', async () => final().length > 0, 60_000, 100);
      assert.deepEqual(final(), [403], `answers on the instance host: ${answers.join(', ')}`);
      assert.equal((await bobPage.getByText('Hello, signed-in browser').count()), 0);

      assert.equal((await api(alice, 'DELETE', `/instances/${id}`)).status, 204);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
