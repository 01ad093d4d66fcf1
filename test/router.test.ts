// needs: cluster
/**
 * The router end to end: the real server (startServer: API + router through
 * fastify's serverFactory, static-token users), real AppInstance and Pod
 * objects in the local cluster read through the InstanceCache (pods held by a
 * scheduling gate, their status set through the API as kwok would, with
 * 127.64.x.y pod IPs), and real HTTP and websocket upstreams bound to those
 * IPs on the app port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/load.ts';
import { APP_INSTANCE_PLURAL, type AppInstance } from '../src/k8s/crd/appinstance.ts';
import { GROUP, VERSION } from '../src/k8s/crd/group.ts';
import type { Visibility } from '../src/lib/principal.ts';
import { kubeActivityWriter } from '../src/router/activity.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { USERS, type UserName } from './support/api-server.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { freePort, waitFor } from './support/ports.ts';
import { mergePatch, send as rawSend, TestInstances, type Reply, type Upstream } from './support/router-fixtures.ts';

const kc = kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);

let ns: TestNamespace;
let dataDir: string;
let instances: TestInstances;
const servers: Record<'BASE_URL' | 'DOMAIN' | 'LOCAL', { server: RunningServer; port: number }> = {} as never;
const upstreams = new Map<string, Upstream>();

/** An app store in `mode`: static tokens (the USERS), or Auth.Mode local for 'LOCAL' (BASE_URL routing). */
async function startAppStore(mode: 'BASE_URL' | 'DOMAIN' | 'LOCAL'): Promise<{ server: RunningServer; port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(dataDir, `${mode}-`));
  const file = join(dir, 'appstore.toml');
  writeFileSync(file, Object.values(USERS).map((u) => `[[Auth.StaticToken]]\nToken = "${u.token}"\nSubject = "${u.subject}"\nName = "${u.name}"\nRoles = ${JSON.stringify(u.roles)}\n`).join('\n'));
  const { config } = loadConfig({
    file,
    flags: {
      'Server.Listen': `127.0.0.1:${port}`,
      'Server.DataDir': dir,
      'Server.Roles': 'api,router',
      'Server.LogLevel': 'fatal',
      'Auth.Mode': mode === 'LOCAL' ? 'local' : 'static',
      'Scheduler.KubeConfig': kubeconfigPath(),
      'Scheduler.Namespace': ns.name,
      'Router.RoutingMode': mode === 'LOCAL' ? 'BASE_URL' : mode,
      'Router.MainHost': `localhost:${port}`,
      'Router.AppsDomain': `apps.localhost:${port}`,
      'Router.UpstreamTimeout': '1s',
      'Router.ActivityFlushInterval': '1s',
      'Router.MaxBodySize': '1Ki',
    },
  });
  return { server: await startServer(config), port };
}

/** An AppInstance (owner alice unless said otherwise) and, unless `pod: false`, a Ready pod whose IP has a live upstream. */
async function instance(name: string, visibility: Visibility, opts: { owner?: UserName; pod?: boolean | 'dead'; upstream?: 'ok' | 'silent'; suspend?: boolean } = {}): Promise<Upstream | undefined> {
  const owner = USERS[opts.owner === undefined || opts.owner === 'anonymous' ? 'alice' : opts.owner];
  const { owner: _, ...rest } = opts;
  const up = await instances.create(name, visibility, { subject: owner.subject, name: owner.name }, rest);
  if (up) upstreams.set(name, up);
  return up;
}

async function getInstance(name: string): Promise<AppInstance> {
  return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns.name, plural: APP_INSTANCE_PLURAL, name })) as AppInstance;
}

/** One HTTP request to an app store as `user` (a static bearer token). */
function send(port: number, host: string, path: string, opts: Parameters<typeof rawSend>[3] & { user?: UserName } = {}): Promise<Reply> {
  const { user, ...rest } = opts;
  return rawSend(port, host, path, user && user !== 'anonymous' ? { ...rest, headers: { ...rest.headers, authorization: `Bearer ${USERS[user].token}` } } : rest);
}

/** A request for instance `name` in the server's own mode. */
function open(mode: 'BASE_URL' | 'DOMAIN' | 'LOCAL', name: string, path = '/', opts: Parameters<typeof send>[3] = {}): Promise<Reply> {
  const { port } = servers[mode];
  return mode !== 'DOMAIN' ? send(port, `localhost:${port}`, `/instance/${name}${path}`, opts) : send(port, `${name}.apps.localhost:${port}`, path, opts);
}

/** Opens a websocket through the router; resolves with the open socket or the refusal status. */
function websocket(mode: 'BASE_URL' | 'DOMAIN', name: string, user: UserName, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number }> {
  const { port } = servers[mode];
  const host = mode === 'BASE_URL' ? `localhost:${port}` : `${name}.apps.localhost:${port}`;
  const path = mode === 'BASE_URL' ? `/instance/${name}/socket` : '/socket';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host, ...(user !== 'anonymous' ? { authorization: `Bearer ${USERS[user].token}` } : {}), ...headers } });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.once('error', reject);
  });
}

before(async () => {
  ns = await freshNamespace('router');
  dataDir = mkdtempSync(join(tmpdir(), 'router-test-'));
  instances = new TestInstances(ns.name);
  await TestInstances.ensureCrds();
  await Promise.all([
    instance('priv', 'PRIVATE'),
    instance('team', 'ALL_USERS'),
    instance('pub', 'PUBLIC'),
    instance('flip', 'ALL_USERS'),
    instance('starting', 'PUBLIC', { pod: false }),
    instance('sleepy', 'ALL_USERS', { pod: false, suspend: true }),
    instance('broken', 'PUBLIC', { pod: false }),
    instance('down', 'PUBLIC', { pod: 'dead' }),
    instance('slow', 'PUBLIC', { upstream: 'silent' }),
  ]);
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: APP_INSTANCE_PLURAL,
      name: 'broken',
      body: { status: { summary: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'CrashLoop', message: 'the app exited with code 3', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } },
    },
    mergePatch,
  );
  servers.BASE_URL = await startAppStore('BASE_URL');
  servers.DOMAIN = await startAppStore('DOMAIN');
  servers.LOCAL = await startAppStore('LOCAL');
  // The caches list at start; wait until the last status write is visible through the router.
  await waitFor('the failed instance in the router', async () => (await open('BASE_URL', 'broken', '/')).body.includes('exited with code 3'), 20_000);
});

after(async () => {
  for (const s of Object.values(servers)) await s?.server.close();
  await instances?.close();
  await ns?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('authorization: every visibility × role, per request', () => {
  // Written out, not computed from the policy, so a policy or router regression fails here.
  const expected: Record<string, Record<UserName, number>> = {
    priv: { alice: 200, bob: 403, vic: 403, tina: 403, root: 403, anonymous: 401 },
    team: { alice: 200, bob: 200, vic: 403, tina: 403, root: 200, anonymous: 401 },
    pub: { alice: 200, bob: 200, vic: 200, tina: 200, root: 200, anonymous: 200 },
  };
  for (const mode of ['BASE_URL', 'DOMAIN'] as const)
    for (const [name, row] of Object.entries(expected))
      test(`${mode}: ${name}`, async () => {
        for (const [user, status] of Object.entries(row) as Array<[UserName, number]>) {
          const up = upstreams.get(name)!;
          up.clear();
          const r = await open(mode, name, '/page?q=1', { user });
          assert.equal(r.status, status, `${user} opening ${name} (${mode}): ${r.body.slice(0, 200)}`);
          assert.equal(up.requests.length, status === 200 ? 1 : 0, `${user}: the upstream saw the request only when allowed`);
          if (status === 200) assert.equal(r.body, `hello from ${up.ip} ${mode === 'BASE_URL' ? `/instance/${name}/page?q=1` : '/page?q=1'}`);
          if (status === 403) assert.match(r.body, /not shared with you/);
          // Auth.Mode static has no browser sign-in (no /auth/login): a page that says how to authenticate instead.
          if (status === 401) {
            assert.equal(r.headers.location, undefined);
            assert.match(r.body, /no browser sign-in \(Auth\.Mode &quot;static&quot;\).*Authorization: Bearer/);
            assert.equal(r.headers['www-authenticate'], 'Bearer');
          }
        }
      });
});

describe('routing modes', () => {
  test('BASE_URL: /instance/<name> gets its slash; a DOMAIN-style request is redirected to the base URL', async () => {
    const p = servers.BASE_URL.port;
    const slash = await send(p, `localhost:${p}`, '/instance/pub?x=1');
    assert.equal(slash.status, 301);
    assert.equal(slash.headers.location, '/instance/pub/?x=1');
    const wrong = await send(p, `pub.apps.localhost:${p}`, '/a/b?c=d');
    assert.equal(wrong.status, 302);
    assert.equal(wrong.headers.location, `http://localhost:${p}/instance/pub/a/b?c=d`);
  });

  test('DOMAIN: a base-URL request is redirected to the instance host; the API stays on the main host', async () => {
    const p = servers.DOMAIN.port;
    const wrong = await send(p, `localhost:${p}`, '/instance/pub/a/b?c=d');
    assert.equal(wrong.status, 302);
    assert.equal(wrong.headers.location, `http://pub.apps.localhost:${p}/a/b?c=d`);
    const api = await send(p, `localhost:${p}`, '/api/v1/me', { user: 'alice' });
    assert.equal(api.status, 200, api.body);
    assert.match(api.body, /alice/);
  });
});

describe('what the app receives', () => {
  test('platform cookies and Authorization are stripped; X-Forwarded-* are ours, not the client\'s', async () => {
    const up = upstreams.get('team')!;
    up.clear();
    const r = await open('BASE_URL', 'team', '/', {
      user: 'bob',
      headers: { cookie: 'appstore_session=secret1; theme=dark; appstore_session_login=secret2; lang=en', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    assert.equal(r.status, 200);
    const h = up.requests[0]!.headers;
    assert.equal(h.cookie, 'theme=dark; lang=en');
    assert.equal(h.authorization, undefined);
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], `localhost:${servers.BASE_URL.port}`);
    assert.ok(!JSON.stringify(h).includes('secret'), 'no platform secret reaches the app');
  });

  test('the app cannot set the platform\'s cookies', async () => {
    for (const mode of ['BASE_URL', 'DOMAIN'] as const) {
      const r = await open(mode, 'pub', '/cookies');
      assert.equal(r.status, 200);
      assert.deepEqual(r.headers['set-cookie'], ['theme=dark; Path=/'], mode);
    }
  });

  test('a request with only platform cookies reaches the app with no Cookie header', async () => {
    const up = upstreams.get('pub')!;
    up.clear();
    await open('DOMAIN', 'pub', '/', { headers: { cookie: 'appstore_session=secret' } });
    assert.equal(up.requests[0]!.headers.cookie, undefined);
  });

  test('bodies over Router.MaxBodySize are refused, with and without Content-Length', async () => {
    const up = upstreams.get('pub')!;
    up.clear();
    const big = 'x'.repeat(2048);
    const declared = await open('BASE_URL', 'pub', '/upload', { method: 'POST', body: big });
    assert.equal(declared.status, 413);
    assert.equal(up.requests.length, 0);
    const streamed = await open('BASE_URL', 'pub', '/upload', { method: 'POST', body: big, chunked: true });
    assert.equal(streamed.status, 413);
    const small = await open('BASE_URL', 'pub', '/upload', { method: 'POST', body: 'x'.repeat(100) });
    assert.equal(small.status, 200);
  });

  test('header blocks over Router.MaxHeaderSize get 431', async () => {
    const r = await open('BASE_URL', 'pub', '/', { headers: { 'x-big': 'y'.repeat(20 * 1024) } });
    assert.equal(r.status, 431);
  });
});

describe('Host validation', () => {
  test('hosts outside MainHost and AppsDomain never reach an app', async () => {
    const p = servers.DOMAIN.port;
    const up = upstreams.get('pub')!;
    up.clear();
    for (const host of [`pub.apps.localhost.evil.com:${p}`, 'evil.com', `a.pub.apps.localhost:${p}`, `pub.apps.localhost:${p + 1}`, `pub.apps.localhost:${p}@evil.com`]) {
      const r = await send(p, host, '/instance/pub/');
      assert.notEqual(r.status, 200, host);
      assert.ok([400, 421, 404].includes(r.status), `${host}: ${r.status}`);
    }
    assert.equal(up.requests.length, 0);
  });

  test('an absolute-form request target is refused', async () => {
    const p = servers.BASE_URL.port;
    const raw = await new Promise<string>((resolve) => {
      const s = connect(p, '127.0.0.1', () => s.write(`GET http://evil.com/instance/pub/ HTTP/1.1\r\nHost: localhost:${p}\r\nConnection: close\r\n\r\n`));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('end', () => resolve(out));
    });
    assert.match(raw, /^HTTP\/1\.1 (400|404)/);
  });
});

describe('state pages', () => {
  test('starting: 503 that refreshes itself', async () => {
    const r = await open('BASE_URL', 'starting');
    assert.equal(r.status, 503);
    assert.match(r.body, /http-equiv="refresh"/);
    assert.match(r.body, /is starting/);
  });

  test('suspended: resume offered to the owner only; on a DOMAIN instance host as a link to the store\'s page, never a cross-origin POST', async () => {
    const owner = await open('DOMAIN', 'sleepy', '/', { user: 'alice' });
    assert.equal(owner.status, 503);
    // The API refuses cookie writes from instance hosts (issue #24 item 3), so the button would do nothing there.
    assert.ok(owner.body.includes(`<a href="http://localhost:${servers.DOMAIN.port}/instances/sleepy">Resume it in the app store</a>`), owner.body);
    assert.doesNotMatch(owner.body, /<button|fetch\(|no-cors/);
    const same = await open('BASE_URL', 'sleepy', '/', { user: 'alice' });
    assert.equal(same.status, 503);
    assert.match(same.body, /<button id="act">Resume<\/button>/);
    assert.ok(same.body.includes(`fetch("/api/v1/instances/sleepy/resume",{method:'POST',credentials:'include',mode:'same-origin'})`), same.body);
    const other = await open('DOMAIN', 'sleepy', '/', { user: 'bob' });
    assert.equal(other.status, 503);
    assert.doesNotMatch(other.body, /<button/);
    assert.match(other.body, /Ask its owner to resume it/);
  });

  test('failed: the reason, no stack trace', async () => {
    const r = await open('BASE_URL', 'broken');
    assert.equal(r.status, 503);
    assert.match(r.body, /the app exited with code 3/);
  });

  test('not found: 404 page', async () => {
    const r = await open('DOMAIN', 'ghost', '/', { user: 'root' });
    assert.equal(r.status, 404);
    assert.match(r.body, /no app instance named &quot;ghost&quot;/);
  });

  test('upstream refused → 502, silent → 504; pages, not proxy errors', async () => {
    const refused = await open('BASE_URL', 'down');
    assert.equal(refused.status, 502);
    assert.match(refused.body, /refused the connection/);
    const slow = await open('BASE_URL', 'slow');
    assert.equal(slow.status, 504);
    assert.match(slow.body, /did not answer in time/);
    for (const r of [refused, slow]) assert.doesNotMatch(r.body, /at .*\.(ts|js):\d+|Error:/);
  });
});

describe('websockets', () => {
  for (const mode of ['BASE_URL', 'DOMAIN'] as const)
    test(`${mode}: upgrades without rights are refused before the app sees them`, async () => {
      const up = upstreams.get('priv')!;
      up.clear();
      assert.equal((await websocket(mode, 'priv', 'anonymous')).status, 401);
      assert.equal((await websocket(mode, 'priv', 'bob')).status, 403);
      assert.equal((await websocket(mode, 'priv', 'root')).status, 403);
      assert.equal((await websocket(mode, 'priv', 'alice', { origin: 'http://evil.example' })).status, 403);
      // Same host, other scheme: another origin (issue #24: the check once compared hosts only).
      const host = mode === 'BASE_URL' ? `localhost:${servers[mode].port}` : `priv.apps.localhost:${servers[mode].port}`;
      assert.equal((await websocket(mode, 'priv', 'alice', { origin: `https://${host}` })).status, 403);
      assert.equal(up.upgrades.length, 0, 'the upstream saw no upgrade');
      const same = await websocket(mode, 'priv', 'alice', { origin: `http://${host}` });
      assert.ok(same.ws, `a same-origin handshake is allowed (got ${same.status})`);
      same.ws.close();
      up.clear();
      const { ws } = await websocket(mode, 'priv', 'alice', { cookie: 'appstore_session=secret; a=b' });
      assert.ok(ws);
      const echo = await new Promise<string>((resolve) => {
        ws.once('message', (m) => resolve(String(m)));
        ws.send('hi');
      });
      assert.equal(echo, 'echo hi');
      ws.close();
      assert.equal(up.upgrades.length, 1);
      assert.equal(up.upgrades[0]!.headers.authorization, undefined);
      assert.equal(up.upgrades[0]!.headers.cookie, 'a=b');
    });

  test('an idle websocket outlives Router.UpstreamTimeout (1 s here)', async () => {
    const { ws } = await websocket('DOMAIN', 'pub', 'anonymous');
    assert.ok(ws);
    await new Promise((r) => setTimeout(r, 1600));
    const echo = await new Promise<string>((resolve, reject) => {
      ws.once('message', (m) => resolve(String(m)));
      ws.once('close', () => reject(new Error('the websocket was closed while idle')));
      ws.send('still there?');
    });
    assert.equal(echo, 'echo still there?');
    ws.close();
  });

  test('an upgrade to a suspended instance is refused with 503', async () => {
    assert.equal((await websocket('BASE_URL', 'sleepy', 'alice')).status, 503);
  });
});

describe('changes take effect on the next request', () => {
  test('visibility ALL_USERS → PRIVATE locks bob out without a restart', async () => {
    assert.equal((await open('BASE_URL', 'flip', '/', { user: 'bob' })).status, 200);
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns.name, plural: APP_INSTANCE_PLURAL, name: 'flip', body: { spec: { visibility: 'PRIVATE' } } }, mergePatch);
    await waitFor('bob to be refused', async () => (await open('BASE_URL', 'flip', '/', { user: 'bob' })).status === 403, 10_000);
    assert.equal((await open('DOMAIN', 'flip', '/', { user: 'alice' })).status, 200);
  });
});

describe('sign-in per Auth.Mode (oidc: test/router-sessions.test.ts)', () => {
  test('local: a request without credentials is the local admin (no sign-in step); a bad token gets a 401 page', async () => {
    for (const name of ['team', 'pub']) assert.equal((await open('LOCAL', name)).status, 200, name);
    const priv = await open('LOCAL', 'priv');
    assert.equal(priv.status, 403, 'the local admin is an admin: PRIVATE instances of others stay closed');
    const bad = await open('LOCAL', 'team', '/', { headers: { authorization: 'Bearer wrong' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.location, undefined);
    assert.match(bad.body, /bearer token is not valid/);
  });

  test('static: anonymous requests to non-public instances get the 401 page in both routing modes, websockets 401', async () => {
    for (const mode of ['BASE_URL', 'DOMAIN'] as const) {
      const r = await open(mode, 'team', '/x');
      assert.equal(r.status, 401, mode);
      assert.doesNotMatch(JSON.stringify(r.headers) + r.body, /\/auth\/login/);
      assert.equal((await websocket(mode, 'team', 'anonymous')).status, 401);
    }
  });
});

describe('open redirects', () => {
  test('wrong-mode redirects keep the configured host whatever Host says', async () => {
    const p = servers.DOMAIN.port;
    const r = await send(p, `localhost:${p}`, '/instance/pub//evil.com/');
    assert.equal(r.status, 302);
    assert.equal(new URL(r.headers.location!).host, `pub.apps.localhost:${p}`);
  });
});

describe('metrics and activity', () => {
  test('requests per instance and status code on /metrics', async () => {
    await open('BASE_URL', 'pub');
    const r = await send(servers.BASE_URL.port, `localhost:${servers.BASE_URL.port}`, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /appstore_router_requests_total\{instance="pub",code="200"\} \d+/);
    assert.match(r.body, /appstore_router_requests_total\{instance="priv",code="403"\} \d+/);
    assert.match(r.body, /appstore_router_websocket_upgrades_total\{instance="priv",code="101"\} \d+/);
  });

  test('last activity reaches status.lastActivityTime without a write per request', async () => {
    const before = Date.now() - 1000;
    for (let i = 0; i < 20; i++) await open('DOMAIN', 'team', '/', { user: 'alice' });
    await waitFor('status.lastActivityTime', async () => {
      const t = (await getInstance('team')).status?.lastActivityTime;
      return t !== undefined && Date.parse(t) >= before;
    }, 10_000, 200);
  });

  test('activity writes only move lastActivityTime forward: a later time in the cache skips the write, and a stale cache (another replica, a late write) cannot put an older time back', async () => {
    await instances.create('activity', 'PRIVATE', { subject: USERS.alice.subject, name: USERS.alice.name }, { pod: false });
    const stored = async () => (await getInstance('activity')).status?.lastActivityTime;
    const cacheShowing = (t: string | undefined) => ({ get: () => ({ status: t === undefined ? {} : { lastActivityTime: t } }) });
    const at = (m: number) => `2026-11-22T10:${String(m).padStart(2, '0')}:00Z`;
    // Nothing recorded yet: written.
    await kubeActivityWriter(kc, ns.name, cacheShowing(undefined))('activity', at(10));
    assert.equal(await stored(), at(10));
    // The cache shows a later time (another replica's): no write.
    await kubeActivityWriter(kc, ns.name, cacheShowing(at(20)))('activity', at(15));
    assert.equal(await stored(), at(10));
    // Forward from what the cache shows: written.
    await kubeActivityWriter(kc, ns.name, cacheShowing(at(10)))('activity', at(30));
    assert.equal(await stored(), at(30));
    // A stale cache (it still shows 10:10, as a late write of an older time would): refused as a conflict, nothing changes.
    await assert.rejects(kubeActivityWriter(kc, ns.name, cacheShowing(at(10)))('activity', at(25)), (e: { code?: number }) => e.code === 409);
    assert.equal(await stored(), at(30));
  });
});
