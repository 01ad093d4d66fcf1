/**
 * The OpenID Connect provider of the test run: `oidc-provider` (certified)
 * running as its own process (test/support/oidc-provider-server.ts) on a
 * free loopback port. Tests get APPSTORE_TEST_OIDC_* variables (docs/testing.md).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';
import { repoRoot } from './go-tool.ts';
import type { Service } from './service.ts';

/** The test users; a user without `roles` gets no roles claim at all. */
export const USERS: Record<string, { password: string; name: string; email: string; roles?: string[] }> = {
  alice: { password: 'alice-password', name: 'Alice Example', email: 'alice@example.test', roles: ['full-access'] },
  bob: { password: 'bob-password', name: 'Bob Visitor', email: 'bob@example.test', roles: ['guests'] },
  root: { password: 'root-password', name: 'Root Admin', email: 'root@example.test', roles: ['admin'] },
  carol: { password: 'carol-password', name: 'Carol NoRoles', email: 'carol@example.test' },
};

/** Confidential client of the app store server (code + PKCE, refresh; any loopback port). */
export const SERVER_CLIENT_ID = 'appstore-server';
/** Public client of the CLI (device flow, code + PKCE, refresh). */
export const CLI_CLIENT_ID = 'h2o-cli';

export async function startOidc(log: (m: string) => void): Promise<Service> {
  const port = await freePort();
  const secret = randomBytes(24).toString('base64url');
  const issuer = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/oidc-provider-server.ts')], {
    cwd: repoRoot,
    env: { ...process.env, OIDC_PORT: String(port), OIDC_SERVER_CLIENT_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited: number | null | undefined;
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  // oidc-provider warns on stderr about e.g. test-only settings; keep it for the error message.
  child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-8192)));
  child.on('exit', (code) => (exited = code));
  try {
    await waitFor('the OIDC provider', async () => {
      if (exited !== undefined) throw new Error(`the provider exited with ${exited}: ${output}`);
      const r = await fetch(`${issuer}/.well-known/openid-configuration`);
      return r.ok;
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  log(`oidc provider ready at ${issuer}`);
  return {
    env: {
      APPSTORE_TEST_OIDC_ISSUER: issuer,
      APPSTORE_TEST_OIDC_CLIENT_ID: SERVER_CLIENT_ID,
      APPSTORE_TEST_OIDC_CLIENT_SECRET: secret,
      APPSTORE_TEST_OIDC_CLI_CLIENT_ID: CLI_CLIENT_ID,
    },
    async stop() {
      if (exited !== undefined) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

/** A minimal cookie jar for driving the provider's pages with fetch (one host, paths ignored). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Stores the response's Set-Cookie headers; an expired or empty cookie is removed. */
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Signs in at the test provider the way a browser would: follows redirects
 * from `authorizationUrl`, submits the login form with `username` and
 * `password`, and stops at the first redirect whose URL starts with
 * `stopAt` (the client's redirect URI), returning that URL (with code and state).
 * Throws when the provider shows the login form again (wrong password) or an error.
 */
export async function providerSignIn(authorizationUrl: string, username: string, password: string, stopAt: string, jar = new CookieJar()): Promise<string> {
  let url = authorizationUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(stopAt)) return url;
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
    });
    jar.store(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const text = await res.text();
    const action = /<form method="post" action="([^"]+\/login)"/.exec(text)?.[1];
    if (res.status === 200 && action && method === 'GET') {
      url = new URL(action, url).href;
      method = 'POST';
      body = new URLSearchParams({ username, password }).toString();
      continue;
    }
    throw new Error(`sign-in as ${username} stopped at ${method} ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  throw new Error(`sign-in as ${username}: too many redirects`);
}

function hidden(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

/**
 * Approves a device sign-in (the CLI's device grant) the way a person on
 * another device would: opens `verificationUri`, enters `userCode`, signs in
 * as `username` and confirms. Resolves when the provider shows its success page.
 */
export async function providerDeviceSignIn(verificationUri: string, userCode: string, username: string, password: string): Promise<void> {
  const jar = new CookieJar();
  let url = verificationUri;
  let form: Record<string, string> | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    jar.store(res);
    const location = res.headers.get('location');
    const posted = form !== undefined;
    form = undefined;
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      continue;
    }
    const text = await res.text();
    const action = (id: string) => new RegExp(`<form id="${id}"[^>]*action="([^"]+)"`).exec(text)?.[1];
    if (res.status === 200 && text.includes('device-sign-in-done')) return;
    if (res.status === 200 && action('op.deviceInputForm') && !text.includes('invalid code')) {
      url = new URL(action('op.deviceInputForm')!, url).href;
      form = { xsrf: hidden(text, 'xsrf') ?? '', user_code: userCode };
      continue;
    }
    if (res.status === 200 && action('op.deviceConfirmForm')) {
      url = new URL(action('op.deviceConfirmForm')!, url).href;
      form = { xsrf: hidden(text, 'xsrf') ?? '', user_code: hidden(text, 'user_code') ?? userCode, confirm: 'yes' };
      continue;
    }
    const login = /<form method="post" action="([^"]+\/login)"/.exec(text)?.[1];
    if (res.status === 200 && login && !(posted && text.includes('wrong username'))) {
      url = new URL(login, url).href;
      form = { username, password };
      continue;
    }
    throw new Error(`device sign-in as ${username} stopped at ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  throw new Error(`device sign-in as ${username}: too many steps`);
}
