// needs: cluster
/**
 * End to end in DOMAIN routing: the server (API, router with
 * Router.RoutingMode=DOMAIN and AppsDomain apps.localhost:<port>, instance
 * cache) and the real operator in this process, the local pod runner running
 * the pods on their kwok IPs. Headless Chromium opens a real Wave app at
 * http://<instance>.apps.localhost:<port>/ (Chromium resolves *.localhost to
 * loopback itself) and sees the app's card, which only arrives over Wave's
 * websocket through the router. A PUBLIC instance opens with no credentials;
 * a PRIVATE one with its owner's bearer token (the browser sends it on every
 * request), not with another user's. A signed-in browser session carried to
 * the instance host: test/e2e-domain-session.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { startE2eAppstore, type E2eAppstore } from './support/e2e-appstore.ts';
import { USERS, type UserName } from './support/api-server.ts';
import { kubeConfig } from './support/kube.ts';
import { waitFor } from './support/ports.ts';
import { helloSource, makeWaveBundle } from './support/python-app.ts';
import { waitForWaveText, waveClients } from './support/waved-race.ts';
import { contextAs, launchChromium, screenshot } from './support/web-browser.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field

const kc = kubeConfig();
let rv = '';
const dir = mkdtempSync(join(tmpdir(), 'e2e-domain-'));
const logger = pino({ level: process.env.APPSTORE_TEST_OPERATOR_LOG ?? 'silent' });
let port = 0;
let url = '';
let appstore: E2eAppstore | undefined;
let browser: Browser | undefined;

async function call(user: UserName, method: string, path: string, body?: unknown, raw?: { type: string; bytes: Buffer }): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = raw ? { 'content-type': raw.type } : body !== undefined ? { 'content-type': 'application/json' } : {};
  if (user !== 'anonymous') headers.authorization = `Bearer ${USERS[user].token}`;
  const res = await fetch(`${url}/api/v1${path}`, { method, headers, ...(raw ? { body: raw.bytes } : body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: Json = {};
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    // text/plain (logs)
  }
  return { status: res.status, body: parsed, text };
}

/** GET through the router with the Host header of `instanceURL` (Node's resolver need not know *.localhost; Chromium does). */
function viaHost(instanceURL: string, user: UserName): Promise<{ status: number; text: string }> {
  const u = new URL(instanceURL);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: u.host, ...(user === 'anonymous' ? {} : { authorization: `Bearer ${USERS[user].token}` }) };
    const req = request({ host: '127.0.0.1', port, path: u.pathname, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once('error', reject);
    req.end();
  });
}

async function waitReady(id: string): Promise<Json> {
  let last: Json = {};
  await waitFor(`instance ${id} Ready`, async () => {
    last = (await call('alice', 'GET', `/instances/${id}/status`)).body;
    return last.status === 'Ready';
  }, 300_000, 300).catch(async (err: unknown) => {
    const logs = await call('alice', 'GET', `/instances/${id}/logs`);
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last)}; logs: ${logs.text.slice(-3000)}`);
  });
  return last;
}

/** Opens the instance in Chromium as `user`; resolves once the app's card (sent over the websocket) shows. */
async function openInBrowser(user: UserName, instanceURL: string, text: string, shot: string): Promise<void> {
  const ctx = await contextAs(browser!, user);
  try {
    const page = await ctx.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const clients = waveClients(page);
    const res = await page.goto(instanceURL);
    assert.equal(new URL(page.url()).host, new URL(instanceURL).host, 'the app stays on its own host (no redirect to the main host)');
    assert.ok(res, 'Chromium reached the instance host');
    const id = new URL(instanceURL).hostname.split('.')[0]!;
    await waitForWaveText(page, text, {
      clients,
      logs: async () => (await call('alice', 'GET', `/instances/${id}/logs`)).text,
      explain: async (err) => new Error(`${(err as Error).message.split('\n')[0]}; page shows: ${(await page.locator('body').innerText().catch(() => '')).slice(0, 300)}`),
      firstMs: 30_000,
    });
    const ws = new URL(instanceURL.replace(/^http/, 'ws'));
    assert.ok(sockets.some((s) => s.startsWith(`${ws.protocol}//${ws.host}/_s/`)), `the page opened Wave's websocket on the instance host; opened: ${sockets.join(', ') || 'none'}`);
    await screenshot(page, shot);
  } finally {
    await ctx.close();
  }
}

before(async () => {
  appstore = await startE2eAppstore({ kc, name: 'e2e-domain', dir, logger, flags: (p) => ({ 'Server.PublicURL': `http://localhost:${p}`, 'Router.RoutingMode': 'DOMAIN', 'Router.AppsDomain': `apps.localhost:${p}` }) });
  url = appstore.url;
  rv = appstore.runtimeVersion;
  port = appstore.port;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await appstore?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('end to end, DOMAIN routing', { timeout: 900_000 }, () => {
  test('a Wave app opens at <instance>.apps.localhost in Chromium with its websocket working: PUBLIC for anyone, PRIVATE for its owner only', async () => {
    const bundle = await makeWaveBundle({ name: 'ai.e2e.domain', version: '1.0.0', source: helloSource('Hello from the apps domain'), extraToml: `RuntimeVersion = "${rv}"\n` });
    const imported = await call('alice', 'POST', '/apps?visibility=ALL_USERS', undefined, { type: 'application/zip', bytes: bundle });
    assert.equal(imported.status, 201, imported.text);
    const appId = (imported.body.app ?? imported.body).id as string;

    const pub = await call('alice', 'POST', `/apps/${appId}/instances`, { visibility: 'PUBLIC' });
    assert.equal(pub.status, 201, pub.text);
    const priv = await call('alice', 'POST', `/apps/${appId}/instances`, {});
    assert.equal(priv.status, 201, priv.text);
    const [pubId, privId] = [pub.body.id as string, priv.body.id as string];
    const pubURL = `http://${pubId}.apps.localhost:${port}/`;
    const privURL = `http://${privId}.apps.localhost:${port}/`;
    for (const [id, u] of [[pubId, pubURL], [privId, privURL]] as const) {
      const s = await waitReady(id);
      assert.equal(s.url, u, 'status.url is on the apps domain');
      // (a cluster started before the launcher pod stage may say Ready a moment early: kwok's default)
      await waitFor(`${u} to serve the app`, async () => (await viaHost(u, 'alice')).status === 200, 120_000, 250);
    }
    assert.equal((await viaHost(pubURL, 'anonymous')).status, 200);
    assert.equal((await viaHost(privURL, 'alice')).status, 200);
    assert.equal((await viaHost(privURL, 'bob')).status, 403, 'another user is refused a PRIVATE instance');
    // The BASE_URL form of an instance is not served in DOMAIN mode.
    assert.notEqual((await viaHost(`http://localhost:${port}/instance/${pubId}/`, 'anonymous')).status, 200);

    await openInBrowser('anonymous', pubURL, 'Hello from the apps domain', 'e2e-domain-public');
    await openInBrowser('alice', privURL, 'Hello from the apps domain', 'e2e-domain-private');

    for (const id of [pubId, privId]) assert.equal((await call('alice', 'DELETE', `/instances/${id}`)).status, 204);
    await waitFor('the instances gone from the router', async () => (await viaHost(pubURL, 'anonymous')).status === 404 && (await viaHost(privURL, 'alice')).status === 404, 120_000, 300);
  });
});
