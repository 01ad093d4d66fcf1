// needs: oidc
/**
 * Sign-in and sign-out in the web UI, in Chromium, against the real OpenID
 * Connect provider of the test run (oidc-provider) and the server in
 * Auth.Mode = oidc: "Sign in" goes to the provider's login form, the browser
 * comes back signed in on the page it started from, My apps works, page
 * script can read no session or token, and "Sign out" ends the session here
 * and at the provider (signing in again asks for the password again).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { USERS } from './support/oidc.ts';
import { startOidcApi, type OidcApi } from './support/oidc-api.ts';
import { serviceEnv } from './support/service.ts';
import { buildWebUI, describeViolations, launchChromium, screenshot, seriousA11yViolations, watchPage } from './support/web-browser.ts';

const issuer = serviceEnv('APPSTORE_TEST_OIDC_ISSUER', 'the OIDC provider');
let server: OidcApi;
let browser: Browser;

before(async () => {
  buildWebUI();
  server = await startOidcApi();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Fills the provider's login form (test/support/oidc-provider-server.ts) and submits it. */
async function providerLogin(page: Page, user: string): Promise<void> {
  await page.waitForURL(`${issuer}/interaction/**`);
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(USERS[user]!.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** What page script can read: document.cookie and both web storages. */
async function scriptVisibleState(page: Page): Promise<{ cookie: string; storage: string[] }> {
  // In-page code as a string: the test project's TypeScript has no DOM types.
  return (await page.evaluate(`({
    cookie: document.cookie,
    storage: [localStorage, sessionStorage].flatMap((s) => Object.keys(s).map((k) => k + '=' + s.getItem(k))),
  })`)) as { cookie: string; storage: string[] };
}

describe('OIDC sign-in in the web UI', { timeout: 180_000 }, () => {
  test('sign in at the provider from My apps, back there signed in; no token reachable from page script; sign out here and at the provider', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const problems = watchPage(page);
    await page.goto(`${server.url}/my-apps`);
    await page.getByRole('heading', { name: 'My apps', level: 1 }).waitFor();
    // The mode comes from /api/v1/auth/config: OIDC has a sign-in page, so the links lead there and back here.
    const signIn = page.getByRole('banner').getByRole('link', { name: 'Sign in' });
    assert.equal(await signIn.getAttribute('href'), `/auth/login?return=${encodeURIComponent('/my-apps')}`);
    assert.equal(await page.getByRole('main').getByRole('link', { name: 'Sign in' }).getAttribute('href'), `/auth/login?return=${encodeURIComponent('/my-apps')}`);
    const a11y = await seriousA11yViolations(page);
    assert.equal(a11y.length, 0, describeViolations(a11y));

    await signIn.click();
    await providerLogin(page, 'alice');
    await page.waitForURL(`${server.url}/my-apps`);
    await page.getByTestId('user-name').filter({ hasText: 'Alice Example' }).waitFor();
    // My apps works for her (full access): the importer and her (empty) list of apps, no error.
    await page.getByRole('heading', { name: 'Import a bundle' }).waitFor();
    await page.getByText('You have not imported any app yet.').waitFor();
    // (This server runs no cluster, so only the instances section may say so.)
    const alerts = page.getByRole('region', { name: 'Apps I own' }).getByRole('alert');
    assert.equal(await alerts.count(), 0, await page.getByRole('alert').allTextContents().then((t) => t.join(' | ')));
    await screenshot(page, 'oidc-signed-in');

    // The session is an HttpOnly cookie: the browser has it, page script cannot read it, and no token sits in web storage.
    const cookies = await ctx.cookies(server.url);
    const session = cookies.find((c) => c.name === 'appstore_session');
    assert.ok(session?.value, `a session cookie is set (cookies: ${cookies.map((c) => c.name).join(', ')})`);
    assert.equal(session.httpOnly, true);
    const seen = await scriptVisibleState(page);
    assert.ok(!seen.cookie.includes(session.value) && !/appstore_session/.test(seen.cookie), `document.cookie shows the session: ${seen.cookie}`);
    for (const s of seen.storage) assert.doesNotMatch(s, /eyJ[\w-]+\.[\w-]+\.|token/i, `web storage holds a token: ${s}`);
    assert.ok(!seen.storage.some((s) => s.includes(session.value)));

    // Sign out: a form POST; the server ends the session and sends the browser through the provider's logout back to /.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/`);
    await page.getByRole('banner').getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByTestId('user-name').count(), 0);
    assert.equal((await ctx.cookies(server.url)).some((c) => c.name === 'appstore_session'), false, 'the session cookie is cleared');
    const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie: `appstore_session=${session.value}` } })).json()) as { signedIn: boolean };
    assert.equal(me.signedIn, false, 'the old session no longer works');

    // The provider's session ended too: signing in again shows its login form, and then works as before.
    await page.getByRole('banner').getByRole('link', { name: 'Sign in' }).click();
    await providerLogin(page, 'alice');
    await page.waitForURL(`${server.url}/`);
    await page.getByTestId('user-name').filter({ hasText: 'Alice Example' }).waitFor();
    assert.deepEqual(problems, []);
    await ctx.close();
  });
});

describe('cross-site request forgery from a same-site page (issue #24 item 3)', { timeout: 180_000 }, () => {
  let evil: Server;
  after(() => evil?.close());

  test('a page on another port of the same host (same-site, as instance hosts are) cannot sign the user out nor create a token with no-cors POSTs; the store\'s own pages still can', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${server.url}/auth/login?return=%2F`);
    await providerLogin(page, 'alice');
    await page.waitForURL(`${server.url}/`);
    const session = (await ctx.cookies(server.url)).find((c) => c.name === 'appstore_session')!;
    const cookie = `appstore_session=${session.value}`;
    const tokenNames = async () => ((await (await fetch(`${server.url}/api/v1/tokens`, { headers: { cookie, origin: server.url } })).json()) as { items?: Array<{ name: string }> }).items?.map((t) => t.name) ?? [];

    // The attacker's page: what an app could serve on its instance host. Body-less and simple-body no-cors POSTs.
    const attack = `<!doctype html><title>app</title><script>
      Promise.all([
        fetch(${JSON.stringify(`${server.url}/api/v1/tokens`)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"name":"forged"}' }),
        fetch(${JSON.stringify(`${server.url}/auth/logout`)}, { method: 'POST', mode: 'no-cors', credentials: 'include' }),
      ]).finally(() => { document.title = 'done'; });
    </script>`;
    evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(attack));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilURL = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
    const seen: string[] = [];
    ctx.on('request', (r) => { if (r.url().startsWith(server.url) && r.method() === 'POST') seen.push(`${r.method()} ${r.url()} cookie=${/appstore_session/.test(r.headers().cookie ?? '')}`); });
    await page.goto(evilURL);
    await page.waitForFunction('document.title === "done"');
    // The browser did send both, with the session cookie: only the server's check stands in the way.
    assert.equal(seen.length, 2, seen.join('\n'));
    const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie } })).json()) as { signedIn: boolean };
    assert.equal(me.signedIn, true, 'the forged logout ended the session');
    assert.ok(!(await tokenNames()).includes('forged'), 'the forged POST created a token');

    // The same requests from the store's own origin work (so the refusal above is the origin check, not the request).
    await page.goto(`${server.url}/`);
    const status = await page.evaluate(`fetch('/api/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"own page"}' }).then((r) => r.status)`);
    assert.equal(status, 201);
    assert.ok((await tokenNames()).includes('own page'));
    await ctx.close();
  });
});
