// needs: cluster, oidc
/**
 * Browser sessions through the router in Auth.Mode oidc, end to end: the
 * real server (API + router) signing in at the test run's OIDC provider,
 * real AppInstances and pods in the cluster, real upstreams. A small browser
 * (cookies per host name, host-only, by path; redirects followed; the
 * provider's login form submitted) walks the sign-in and the DOMAIN-mode
 * session hand-off (src/router/handoff.ts): anonymous on an instance host →
 * main host → sign-in → back with a one-time code → instance cookie → app.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/load.ts';
import { CODE_TTL_MS } from '../src/router/handoff.ts';
import { VIEWER_CACHE_MS } from '../src/router/router.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { freshNamespace, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { USERS } from './support/oidc.ts';
import { freePort, waitFor } from './support/ports.ts';
import { send, TestInstances, type Reply, type Upstream } from './support/router-fixtures.ts';
import { oidcAuthFlags } from './support/oidc-api.ts';

let ns: TestNamespace;
let dataDir: string;
let instances: TestInstances;
const servers = {} as Record<'DOMAIN' | 'BASE_URL', { server: RunningServer; port: number; main: string }>;
const up = {} as Record<'priv' | 'team' | 'bobs', Upstream>;

async function startAppStore(mode: 'DOMAIN' | 'BASE_URL'): Promise<{ server: RunningServer; port: number; main: string }> {
  const port = await freePort();
  // The provider accepts redirect URIs on 127.0.0.1 (any port): the main host is 127.0.0.1:<port>.
  const main = `127.0.0.1:${port}`;
  const { config } = loadConfig({
    flags: {
      'Server.Listen': main,
      'Server.PublicURL': `http://${main}`,
      'Server.DataDir': mkdtempSync(join(dataDir, `${mode}-`)),
      'Server.Roles': 'api,router',
      'Server.LogLevel': 'fatal',
      ...oidcAuthFlags(),
      'Scheduler.KubeConfig': kubeconfigPath(),
      'Scheduler.Namespace': ns.name,
      'Router.RoutingMode': mode,
      'Router.MainHost': main,
      'Router.AppsDomain': `apps.localhost:${port}`,
    },
  });
  return { server: await startServer(config), port, main };
}

type Page = Reply & { url: string };

/** A browser: host-only cookies per host name (ports share them, as in browsers), sent by path; redirects followed. */
class Browser {
  private readonly jar = new Map<string, Map<string, { value: string; path: string }>>();
  /** Every Set-Cookie line received, with the host that sent it. */
  readonly setCookies: Array<{ host: string; line: string }> = [];

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  setCookie(host: string, name: string, value: string, path = '/'): void {
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    this.jar.get(host)!.set(name, { value, path });
  }

  /** One request, no redirect followed. */
  async request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Page> {
    const u = new URL(url);
    const cookies = [...(this.jar.get(u.hostname) ?? [])].filter(([, c]) => u.pathname.startsWith(c.path)).map(([k, c]) => `${k}=${c.value}`);
    const headers = { ...(cookies.length ? { cookie: cookies.join('; ') } : {}), ...opts.headers };
    const r = await send(Number(u.port), u.host, u.pathname + u.search, { ...opts, headers });
    for (const line of r.headers['set-cookie'] ?? []) {
      this.setCookies.push({ host: u.hostname, line });
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      if (attrs.some((a) => /^max-age=0$/i.test(a)) || eq === pair.length - 1) this.jar.get(u.hostname)?.delete(name);
      else this.setCookie(u.hostname, name, pair.slice(eq + 1), path);
    }
    return { ...r, url };
  }

  /** Follows redirects from `url`, signing in at the provider's form as `user` when it shows up; the last page and every URL visited. */
  async open(url: string, user?: string): Promise<{ page: Page; chain: string[] }> {
    const chain: string[] = [];
    let next: { url: string; method?: string; body?: string; headers?: Record<string, string> } = { url };
    for (let hop = 0; hop < 25; hop++) {
      chain.push(next.url);
      const page = await this.request(next.url, next);
      if (page.status >= 300 && page.status < 400 && page.headers.location) {
        next = { url: new URL(page.headers.location, next.url).href };
        continue;
      }
      const action = /<form method="post" action="([^"]+\/login)"/.exec(page.body)?.[1];
      if (page.status === 200 && action && next.method === undefined) {
        if (!user) return { page, chain };
        next = { url: new URL(action, next.url).href, method: 'POST', body: new URLSearchParams({ username: user, password: USERS[user]!.password }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
        continue;
      }
      return { page, chain };
    }
    throw new Error(`too many redirects: ${chain.join(' → ')}`);
  }
}

const instanceURL = (name: string, path = '/') => `http://${name}.apps.localhost:${servers.DOMAIN.port}${path}`;
const mainURL = (path: string) => `http://${servers.DOMAIN.main}${path}`;

/** A new browser with `from`'s main-host session and nothing on instance hosts (a new tab would have the instance cookie). */
function sameSession(from: Browser): Browser {
  const b = new Browser();
  b.setCookie('127.0.0.1', 'appstore_session', from.cookie('127.0.0.1', 'appstore_session')!);
  return b;
}

/** Steps 1 and 2 by hand for a signed-in browser without an instance cookie: the state cookie set on the instance host and the code URL the main host sends back. */
async function codeFor(browser: Browser, name: string, path = '/'): Promise<{ codeURL: string; state: string }> {
  const first = await browser.request(instanceURL(name, path));
  assert.equal(first.status, 302, first.body);
  const state = browser.cookie(`${name}.apps.localhost`, 'appstore_session_handoff')!;
  assert.ok(state, 'the instance host set the state cookie');
  const second = await browser.request(first.headers.location!);
  assert.equal(second.status, 302, second.body);
  assert.match(second.headers.location!, new RegExp(`^http://${name}\\.apps\\.localhost:${servers.DOMAIN.port}/_appstore/session\\?code=`));
  return { codeURL: second.headers.location!, state };
}

let alice: Browser;
/** A code issued at start and redeemed at the end, after it expired. */
let early: { browser: Browser; codeURL: string; issuedAt: number };

before(async () => {
  ns = await freshNamespace('router-sessions');
  dataDir = mkdtempSync(join(tmpdir(), 'router-sessions-'));
  instances = new TestInstances(ns.name);
  await TestInstances.ensureCrds();
  const owner = (u: string) => ({ subject: u, name: USERS[u]!.name });
  const [priv, team, bobs] = await Promise.all([
    instances.create('priv', 'PRIVATE', owner('alice')),
    instances.create('team', 'ALL_USERS', owner('alice')),
    instances.create('bobs', 'PRIVATE', owner('bob')),
  ]);
  Object.assign(up, { priv: priv!, team: team!, bobs: bobs! });
  servers.DOMAIN = await startAppStore('DOMAIN');
  servers.BASE_URL = await startAppStore('BASE_URL');
  await waitFor('the instances in the router', async () => (await send(servers.DOMAIN.port, `priv.apps.localhost:${servers.DOMAIN.port}`, '/')).status === 302, 20_000);
  // Signed in, with a code whose expiry the last test waits for.
  const b = new Browser();
  await b.open(mainURL('/auth/login'), 'alice');
  assert.ok(b.cookie('127.0.0.1', 'appstore_session'));
  early = { browser: b, ...(await codeFor(b, 'team')), issuedAt: Date.now() };
});

after(async () => {
  for (const s of Object.values(servers)) await s?.server.close();
  await instances?.close();
  await ns?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('DOMAIN mode: the session hand-off', () => {
  test('a signed-out browser on an instance host signs in at the main host and comes back to the page it asked for', async () => {
    alice = new Browser();
    up.priv.clear();
    const { page, chain } = await alice.open(instanceURL('priv', '/page?q=1'), 'alice');
    assert.equal(page.status, 200, `${chain.join('\n')}\n${page.body.slice(0, 300)}`);
    assert.equal(page.url, instanceURL('priv', '/page?q=1'));
    assert.equal(page.body, `hello from ${up.priv.ip} /page?q=1`);
    const paths = chain.map((u) => `${new URL(u).host}${new URL(u).pathname}`);
    const p = servers.DOMAIN.port;
    assert.deepEqual(paths.slice(0, 3), [`priv.apps.localhost:${p}/page`, `127.0.0.1:${p}/_appstore/handoff`, `127.0.0.1:${p}/auth/login`]);
    assert.deepEqual(paths.slice(-3), [`127.0.0.1:${p}/_appstore/handoff`, `priv.apps.localhost:${p}/_appstore/session`, `priv.apps.localhost:${p}/page`]);
    // Two sessions, each host-only: the platform's on the main host, the instance's on its host.
    assert.ok(alice.cookie('127.0.0.1', 'appstore_session'));
    assert.ok(alice.cookie('priv.apps.localhost', 'appstore_session_instance'));
    assert.equal(alice.cookie('priv.apps.localhost', 'appstore_session'), undefined);
    assert.notEqual(alice.cookie('priv.apps.localhost', 'appstore_session_instance'), alice.cookie('127.0.0.1', 'appstore_session'));
    for (const { line } of alice.setCookies) if (/^appstore_/.test(line)) assert.match(line, /HttpOnly/i, line);
    for (const { line } of alice.setCookies) assert.doesNotMatch(line, /domain=/i, line);
    // The app saw one request: the page, without any of the platform's cookies or the code.
    assert.deepEqual(up.priv.requests.map((r) => r.url), ['/page?q=1']);
    assert.equal(up.priv.requests[0]!.headers.cookie, undefined);
  });

  test('the same browser opens another instance without signing in again; the app never sees platform cookies', async () => {
    up.team.clear();
    const { page, chain } = await alice.open(instanceURL('team', '/'));
    assert.equal(page.status, 200, chain.join('\n'));
    assert.ok(!chain.some((u) => u.includes('/auth/login')), 'no second sign-in');
    alice.setCookie('team.apps.localhost', 'theme', 'dark');
    const again = await alice.request(instanceURL('team', '/again'));
    assert.equal(again.status, 200);
    assert.equal(up.team.requests.at(-1)!.headers.cookie, 'theme=dark');
    assert.ok(up.team.requests.every((r) => !r.url.includes('_appstore') && !JSON.stringify(r.headers).includes('appstore_')));
  });

  test('websockets on the instance host use the instance cookie', async () => {
    const p = servers.DOMAIN.port;
    const open = (cookie?: string) =>
      new Promise<{ ws?: WebSocket; status?: number }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${p}/socket`, { headers: { host: `priv.apps.localhost:${p}`, ...(cookie ? { cookie } : {}) } });
        ws.once('open', () => resolve({ ws }));
        ws.once('unexpected-response', (_q, res) => resolve({ status: res.statusCode ?? 0 }));
        ws.once('error', reject);
      });
    assert.equal((await open()).status, 401);
    const { ws } = await open(`appstore_session_instance=${alice.cookie('priv.apps.localhost', 'appstore_session_instance')}`);
    assert.ok(ws);
    ws.close();
    assert.equal(up.priv.upgrades.at(-1)!.headers.cookie, undefined);
  });

  test('a code is spent once: replayed with its state cookie it is refused', async () => {
    const tab = sameSession(alice);
    const { codeURL, state } = await codeFor(tab, 'priv', '/replayed');
    const first = await tab.request(codeURL);
    assert.equal(first.status, 302);
    assert.equal(first.headers.location, '/replayed');
    assert.equal((await tab.request(instanceURL('priv', '/replayed'))).status, 200);
    tab.setCookie('priv.apps.localhost', 'appstore_session_handoff', state, '/_appstore/');
    const replay = await tab.request(codeURL);
    assert.equal(replay.status, 400);
    assert.match(replay.body, /already been used/);
  });

  test('a code is refused on another instance host, and in a browser without the state cookie', async () => {
    const tab = sameSession(alice);
    const { codeURL, state } = await codeFor(tab, 'team');
    const code = new URL(codeURL).search;
    const stranger = new Browser();
    stranger.setCookie('priv.apps.localhost', 'appstore_session_handoff', state, '/_appstore/');
    const moved = await stranger.request(instanceURL('priv', `/_appstore/session${code}`));
    assert.equal(moved.status, 400);
    assert.match(moved.body, /issued for another app instance/);
    assert.equal(moved.headers['set-cookie'], undefined);
    const stolen = await new Browser().request(codeURL);
    assert.equal(stolen.status, 400);
    assert.match(stolen.body, /another browser or tab/);
    const forged = await stranger.request(instanceURL('priv', `/_appstore/session?code=${'A'.repeat(80)}`));
    assert.equal(forged.status, 400);
    assert.match(forged.body, /not valid/);
    // The rightful browser can still use it (the failed attempts did not spend it).
    assert.equal((await tab.request(codeURL)).status, 302);
  });

  test('an instance cookie copied to another instance host is not a session there', async () => {
    const stranger = new Browser();
    stranger.setCookie('team.apps.localhost', 'appstore_session_instance', alice.cookie('priv.apps.localhost', 'appstore_session_instance')!);
    const r = await stranger.request(instanceURL('team'));
    assert.equal(r.status, 302);
    assert.match(r.headers.location!, /\/_appstore\/handoff\?/);
  });

  test('a signed-in user without rights gets the 403 page after the hand-off, not a loop', async () => {
    const bob = new Browser();
    const { page, chain } = await bob.open(instanceURL('priv'), 'bob');
    assert.equal(page.status, 403, chain.join('\n'));
    assert.match(page.body, /not shared with you/);
    const own = await bob.open(instanceURL('bobs'));
    assert.equal(own.page.status, 200);
  });

  test('no open redirects: every hop stays on the main host or the configured instance host', async () => {
    const p = servers.DOMAIN.port;
    // Step 1 keeps only local return paths.
    for (const path of ['//evil.com/x', '/\\evil.com']) {
      const r = await new Browser().request(instanceURL('priv', path));
      assert.equal(r.status, 302);
      const loc = new URL(r.headers.location!);
      assert.equal(loc.host, servers.DOMAIN.main);
      assert.equal(loc.searchParams.get('return'), '/');
    }
    // Step 2 refuses foreign return paths and host names instead of following them.
    const state = 'x'.repeat(32);
    for (const [q, message] of [
      [`instance=priv&state=${state}&return=${encodeURIComponent('//evil.com/')}`, /&quot;return&quot; parameter/],
      [`instance=priv&state=${state}&return=${encodeURIComponent('https://evil.com/')}`, /&quot;return&quot; parameter/],
      [`instance=evil.com&state=${state}&return=/`, /&quot;instance&quot; parameter/],
      [`instance=${encodeURIComponent('priv.apps.localhost:1@evil.com')}&state=${state}&return=/`, /&quot;instance&quot; parameter/],
      [`instance=priv&state=short&return=/`, /&quot;state&quot; parameter/],
    ] as const) {
      const r = await alice.request(mainURL(`/_appstore/handoff?${q}`));
      assert.equal(r.status, 400, q);
      assert.match(r.body, message);
    }
    // A valid request goes to the configured instance host only, and the code's redirect to a local path.
    const ok = await alice.request(mainURL(`/_appstore/handoff?instance=priv&state=${state}&return=${encodeURIComponent('/a?b=c')}`));
    assert.equal(new URL(ok.headers.location!).host, `priv.apps.localhost:${p}`);
    alice.setCookie('priv.apps.localhost', 'appstore_session_handoff', state, '/_appstore/');
    const back = await alice.request(ok.headers.location!);
    assert.equal(back.headers.location, '/a?b=c');
    // The sign-in's own return path refuses other sites too.
    const login = await new Browser().request(mainURL(`/auth/login?return=${encodeURIComponent('//evil.com')}`));
    assert.equal(login.status, 400);
  });

  test('signing out on the main host ends the instance sessions too', async () => {
    const b = new Browser();
    assert.equal((await b.open(instanceURL('team'), 'alice')).page.status, 200);
    const out = await b.request(mainURL('/auth/logout'), { method: 'POST', body: '', headers: { origin: new URL(mainURL('/')).origin, 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(out.status, 303);
    // The router trusts an authentication result for VIEWER_CACHE_MS.
    await waitFor('the instance session to end', async () => (await b.request(instanceURL('team'))).status === 302, VIEWER_CACHE_MS + 10_000, 250);
  });

  test('an expired code is refused', async () => {
    const wait = early.issuedAt + CODE_TTL_MS + 500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const r = await early.browser.request(early.codeURL);
    assert.equal(r.status, 400);
    assert.match(r.body, /has expired/);
  });
});

describe('BASE_URL mode with OIDC', () => {
  test('anonymous → /auth/login with the instance path as return → sign-in → the app', async () => {
    const p = servers.BASE_URL.port;
    const url = `http://127.0.0.1:${p}/instance/priv/page?q=1`;
    const first = await send(p, `127.0.0.1:${p}`, '/instance/priv/page?q=1');
    assert.equal(first.status, 302);
    const loc = new URL(first.headers.location!);
    assert.equal(loc.host, `127.0.0.1:${p}`);
    assert.equal(loc.pathname, '/auth/login');
    assert.equal(loc.searchParams.get('return'), '/instance/priv/page?q=1');
    const b = new Browser();
    up.priv.clear();
    const { page, chain } = await b.open(url, 'alice');
    assert.equal(page.status, 200, chain.join('\n'));
    assert.equal(page.url, url);
    // The provider's cookies on 127.0.0.1 come along (cookies ignore ports), the platform's do not.
    assert.ok(b.cookie('127.0.0.1', 'appstore_session'));
    assert.doesNotMatch(up.priv.requests.at(-1)!.headers.cookie ?? '', /appstore_/, 'the session cookie is stripped');
    // Step 2 of the hand-off exists only for DOMAIN instance hosts' sake; here nothing is reserved on instance paths.
  });

  test('a session cookie written "name =value" is cached as that user, never as anonymous (viewer-cache poisoning, issue #24)', async () => {
    const p = servers.BASE_URL.port;
    const b = new Browser();
    await b.open(`http://127.0.0.1:${p}/auth/login`, 'alice');
    const token = b.cookie('127.0.0.1', 'appstore_session')!;
    assert.ok(token);
    // The authenticator's cookie parser trims the name, so this is alice; the router once keyed it as anonymous.
    const spaced = await send(p, `127.0.0.1:${p}`, '/instance/priv/', { headers: { cookie: `appstore_session =${token}` } });
    assert.equal(spaced.status, 200, spaced.body);
    // Within the 5 s cache, a request without any cookie, HTTP and websocket alike, is still anonymous.
    const anonymous = await send(p, `127.0.0.1:${p}`, '/instance/priv/');
    assert.equal(anonymous.status, 302, `an anonymous request reached alice's PRIVATE instance: ${anonymous.status} ${anonymous.body}`);
    const ws = await new Promise<number>((resolve) => {
      const sock = new WebSocket(`ws://127.0.0.1:${p}/instance/priv/socket`, { headers: { host: `127.0.0.1:${p}` } });
      sock.once('open', () => (sock.close(), resolve(101)));
      sock.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      sock.once('error', () => resolve(0));
    });
    assert.equal(ws, 401, 'an anonymous websocket must be refused');
  });

  test('no session hand-off in BASE_URL mode', async () => {
    const p = servers.BASE_URL.port;
    const r = await send(p, `127.0.0.1:${p}`, `/_appstore/handoff?instance=priv&state=${'x'.repeat(32)}&return=/`);
    assert.equal(r.status, 404);
    assert.equal(r.headers.location, undefined);
  });

  test('sign-in return URLs stay on the main host, whatever the path', async () => {
    const p = servers.BASE_URL.port;
    for (const path of ['//evil.com/x', '/\\evil.com', '/%2F%2Fevil.com', '/..//evil.com', '/@evil.com']) {
      const r = await send(p, `127.0.0.1:${p}`, `/instance/priv${path}`);
      assert.equal(r.status, 302, path);
      const loc = new URL(r.headers.location!);
      assert.equal(loc.origin, `http://127.0.0.1:${p}`);
      const back = loc.searchParams.get('return')!;
      assert.ok(back.startsWith('/instance/priv/'), `${path}: ${back}`);
      assert.equal(new URL(back, `http://127.0.0.1:${p}`).host, `127.0.0.1:${p}`);
    }
  });
});
