/**
 * The web UI in a real browser (Debian's Chromium through playwright-core)
 * against a real API server (PGlite, blob folder) serving web/dist: browse,
 * search and filter, the app page's sanitized markdown, screenshots and
 * versions, import by drag-and-drop with progress, validation errors per
 * field, owner visibility changes, admin tag flows, what visitors and
 * anonymous users see; axe-core on the main pages; screenshots saved under
 * test-results/screenshots/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import yazl from 'yazl';
import { writeBundle } from '../src/bundle/write.ts';
import { startTestApi, type TestApi, type UserName } from './support/api-server.ts';
import { fixtureApp, makeBundle } from './support/bundles.ts';
import { buildWebUI, describeViolations, launchChromium, screenshot, seriousA11yViolations, openAs } from './support/web-browser.ts';

const README = [
  '# Weather station',
  '',
  'Forecasts **for everyone**.',
  '',
  '<script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'onerror\'">',
  '[click me](javascript:window.__pwned=\'link\')',
  '<iframe src="https://example.com"></iframe>',
  '',
  '- one',
  '- two',
].join('\n');

/** A real bundle with a README.md as LongDescription (and optional padding to make uploads take time). */
async function bundleWithReadme(name: string, version: string, opts: { padBytes?: number; title?: string; category?: string; description?: string } = {}): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-web-app-'));
  try {
    mkdirSync(join(dir, 'app'));
    mkdirSync(join(dir, 'static'));
    writeFileSync(join(dir, 'app', '__init__.py'), '');
    writeFileSync(join(dir, 'app', 'run.py'), 'from h2o_wave import main, app, Q, ui\n');
    if (opts.padBytes) writeFileSync(join(dir, 'app', 'data.bin'), randomBytes(opts.padBytes));
    writeFileSync(join(dir, 'requirements.txt'), 'h2o-wave\n');
    writeFileSync(join(dir, 'README.md'), README);
    for (const f of ['icon.png', 'screenshot1.png']) writeFileSync(join(dir, 'static', f), readFileSync(join(fixtureApp, 'static', f)));
    writeFileSync(
      join(dir, 'app.toml'),
      [
        '[App]',
        `Name = "${name}"`,
        `Version = "${version}"`,
        `Title = "${opts.title ?? 'Weather station'}"`,
        `Description = "${opts.description ?? 'Local forecasts'}"`,
        `Category = "${opts.category ?? 'Data Science'}"`,
        'Keywords = ["forecast"]',
        'LongDescription = "README.md"',
        '[Runtime]',
        'Module = "app.run"',
      ].join('\n'),
    );
    return readFileSync((await writeBundle(dir, { outDir: join(dir, 'out') })).path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A zip whose app.toml has no Name and a Version that is not semver: the server names both fields. */
function badBundle(): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('[App]\nVersion = "banana"\n[Runtime]\nModule = "app.run"\n'), 'app.toml');
  zip.addBuffer(Buffer.from(''), 'app/__init__.py');
  zip.addBuffer(Buffer.from('print(1)\n'), 'app/run.py');
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** The page's document in functions Playwright runs in the browser (this project's TypeScript has no DOM types). */
type PageGlobal = { document: { querySelectorAll(s: string): ArrayLike<{ complete?: boolean; naturalWidth?: number; value?: number; max?: number }> } };

let t: TestApi;
let browser: Browser;
const ids: Record<string, string> = {};

async function imported(user: UserName, file: Buffer, visibility: string): Promise<string> {
  const r = await t.importBundle(user, file, visibility);
  assert.equal(r.status, 201, await r.clone().text());
  return ((await r.json()) as { app: { id: string } }).app.id;
}

/** Opens `path` of the test server as `user`. */
const open = (user: UserName, path: string) => openAs(browser, user, t.url + path);

async function cardTitles(page: Page): Promise<string[]> {
  return (await page.locator('ul.cards li h3').allTextContents()).map((s) => s.trim()).sort();
}

async function assertAccessible(page: Page): Promise<void> {
  const v = await seriousA11yViolations(page);
  assert.equal(v.length, 0, `serious/critical accessibility violations on ${page.url()}:\n${describeViolations(v)}`);
}

describe('web UI in Chromium', { timeout: 300_000 }, () => {
  before(async () => {
    buildWebUI();
    t = await startTestApi({ db: 'pglite', store: 'fs' });
    browser = await launchChromium();
    ids.weather1 = await imported('alice', await bundleWithReadme('weather', '1.0.0'), 'ALL_USERS');
    ids.weather2 = await imported('alice', await bundleWithReadme('weather', '1.1.0'), 'ALL_USERS');
    ids.ledger = await imported('bob', await makeBundle({ name: 'ledger', version: '2.0.0', title: 'Ledger', description: 'Books and accounts', category: 'Financial Services' }), 'PUBLIC');
    ids.secret = await imported('alice', await makeBundle({ name: 'secret', version: '0.1.0', title: 'Secret plans', description: 'Only for alice' }), 'PRIVATE');
    const tag = await t.fetch('root', '/api/v1/tags', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'featured', title: 'Featured', color: '#ffd33d' }) });
    assert.equal(tag.status, 201, await tag.text());
    assert.equal((await t.fetch('root', `/api/v1/apps/${ids.weather2}/tags/featured`, { method: 'PUT' })).status, 200);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('the catalog shows what the signed-in user may see, with icons and badges, and passes axe', async () => {
    const { page, problems } = await open('alice', '/');
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
    await page.getByRole('status').filter({ hasText: '4 apps' }).waitFor();
    assert.deepEqual(await cardTitles(page), ['Ledger', 'Secret plans', 'Weather station', 'Weather station']);
    const featured = page.locator('li.card', { hasText: '1.1.0' });
    await featured.locator('.badge', { hasText: 'Featured' }).waitFor();
    await featured.locator('.badge', { hasText: 'Data Science' }).waitFor();
    // The icon really loads (the browser sends the user's credentials, the API serves the image).
    // Predicates are functions, not strings: a polling string predicate is eval'd in the page, which its CSP refuses.
    await page.waitForFunction(() => Array.from((globalThis as unknown as PageGlobal).document.querySelectorAll('img.icon')).every((i) => i.complete && (i.naturalWidth ?? 0) > 0));
    await page.getByTestId('user-name').filter({ hasText: 'alice@example.com' }).waitFor();
    await screenshot(page, 'catalog');
    await assertAccessible(page);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('search, category and tag filters narrow the catalog through the API and land in the address', async () => {
    const { page, problems } = await open('alice', '/');
    await page.getByRole('status').filter({ hasText: '4 apps' }).waitFor();
    await page.getByLabel('Search').fill('accounts');
    await page.getByRole('status').filter({ hasText: '1 app' }).waitFor();
    assert.deepEqual(await cardTitles(page), ['Ledger']);
    assert.match(page.url(), /\?search=accounts$/);
    await page.getByLabel('Search').fill('');
    await page.getByRole('status').filter({ hasText: '4 apps' }).waitFor();
    await page.getByLabel('Category').selectOption('Data Science');
    await page.getByRole('status').filter({ hasText: '2 apps' }).waitFor();
    assert.deepEqual(await cardTitles(page), ['Weather station', 'Weather station']);
    await page.getByLabel('Category').selectOption('');
    await page.getByLabel('Tag').selectOption('featured');
    await page.getByRole('status').filter({ hasText: '1 app' }).waitFor();
    await page.locator('li.card', { hasText: '1.1.0' }).waitFor();
    // A bookmarked filter comes back as it was.
    await page.goto(`${t.url}/?search=plans`);
    await page.getByRole('status').filter({ hasText: '1 app' }).waitFor();
    assert.deepEqual(await cardTitles(page), ['Secret plans']);
    assert.equal(await page.getByLabel('Search').inputValue(), 'plans');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test("a version someone else imported is marked with its importer in the app page's version list (issue #24 item 6)", async () => {
    // Admins may import under any name; PRIVATE keeps it out of everyone else's views.
    const rootsId = await imported('root', await bundleWithReadme('weather', '0.9.0'), 'PRIVATE');
    try {
      const { page, problems } = await open('root', `/apps/${ids.weather2}`);
      const versions = page.getByRole('region', { name: 'Versions' });
      await versions.getByRole('link', { name: '0.9.0' }).waitFor();
      assert.equal(await versions.getByText('imported by root@example.com').count(), 1);
      assert.equal(await versions.getByText(/imported by alice/).count(), 0, "the page's own owner's versions are not marked");
      await screenshot(page, 'app-page-versions-importer');
      // As in the app page test below: the bundle's onerror attribute is reported against the CSP, nothing runs.
      assert.deepEqual(
        problems.filter((p) => !/^CSP: Executing inline event handler/.test(p)),
        [],
      );
      await page.context().close();
    } finally {
      assert.equal((await t.fetch('root', `/api/v1/apps/${rootsId}`, { method: 'DELETE' })).status, 204);
    }
  });

  test('the app page renders the long description without running script from the bundle, with screenshots, versions and owner', async () => {
    const { page, problems } = await open('bob', '/');
    await page.getByRole('link', { name: 'Weather station' }).first().waitFor();
    await page.locator('li.card', { hasText: '1.1.0' }).getByRole('link', { name: 'Weather station' }).click();
    await page.getByRole('heading', { name: 'Weather station', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/apps/${ids.weather2}`);
    const md = page.locator('.markdown');
    // The bundle's "# Weather station" sits below the page's own h1 and h2.
    await md.getByRole('heading', { name: 'Weather station', level: 3 }).waitFor();
    assert.equal(await md.locator('strong').textContent(), 'for everyone');
    assert.equal(await md.locator('li').count(), 2);
    assert.equal(await md.locator('script, iframe, [onerror]').count(), 0);
    // The javascript: link keeps its text and loses its href.
    assert.equal(await md.locator('a[href^="javascript:" i]').count(), 0);
    await md.getByText('click me').click();
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await page.getByText('by alice@example.com').waitFor();
    await page.waitForFunction(() => {
      const img = (globalThis as unknown as PageGlobal).document.querySelectorAll('.screenshots img')[0];
      return !!img && img.complete && (img.naturalWidth ?? 0) > 0;
    });
    const versions = page.getByRole('region', { name: 'Versions' });
    await versions.getByText('(this one)').waitFor();
    await versions.getByRole('link', { name: '1.0.0' }).click();
    await page.waitForURL(`**/apps/${ids.weather1}`);
    await page.getByText('Version 1.0.0').waitFor();
    // Bob does not own it: no management section.
    assert.equal(await page.getByRole('heading', { name: 'Manage' }).count(), 0);
    await page.goto(`${t.url}/apps/${ids.weather2}`);
    await page.locator('.markdown h3').waitFor();
    await screenshot(page, 'app-page');
    await assertAccessible(page);
    // Chrome reports the bundle's onerror attribute against the CSP when the sanitizer parses the markdown
    // (in an inert document: nothing runs, as __pwned shows); any other problem fails the test.
    assert.deepEqual(
      problems.filter((p) => !/^CSP: Executing inline event handler/.test(p)),
      [],
    );
    await page.context().close();
  });

  test('an owner imports a bundle by drag-and-drop and sees the upload progress, then the app in My apps', async () => {
    const { page, problems } = await open('bob', '/my-apps');
    await page.getByRole('heading', { name: 'Import a bundle' }).waitFor();
    await page.getByLabel('Visibility of the imported app').selectOption('ALL_USERS');
    // A slow uplink, so the progress bar is seen moving: ~600 KiB at 256 KiB/s.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
    const bytes = await bundleWithReadme('radar', '3.0.0', { padBytes: 600 * 1024, title: 'Radar', description: 'Rain radar' });
    // A DataTransfer holding the file, built in the page as a user's drag would carry it.
    const dt = await page.evaluateHandle(`(() => {
      const raw = atob(${JSON.stringify(bytes.toString('base64'))});
      const data = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i);
      const d = new DataTransfer();
      d.items.add(new File([data], 'radar.3.0.0.wave', { type: 'application/zip' }));
      return d;
    })()`);
    await page.getByTestId('dropzone').dispatchEvent('dragover', { dataTransfer: dt });
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: dt });
    const progress = page.locator('progress#upload-progress');
    await progress.waitFor();
    await page.waitForFunction(() => {
      const p = (globalThis as unknown as PageGlobal).document.querySelectorAll('progress#upload-progress')[0];
      return !!p && (p.value ?? 0) > 0 && (p.value ?? 0) < (p.max ?? 0);
    });
    await page.getByTestId('import-result').getByRole('link', { name: 'Radar 3.0.0' }).waitFor({ timeout: 30_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.locator('tr[data-app="radar"]').waitFor();
    const list = (await (await t.fetch('bob', '/api/v1/apps?scope=mine')).json()) as { items: Array<{ name: string; visibility: string }> };
    assert.equal(list.items.find((a) => a.name === 'radar')?.visibility, 'ALL_USERS');
    await screenshot(page, 'my-apps');
    await assertAccessible(page);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('a bad bundle chosen with the file input shows each invalid field with its message', async () => {
    const { page, problems } = await open('alice', '/my-apps');
    await page.getByRole('heading', { name: 'Import a bundle' }).waitFor();
    // A buffer, not a path: Chromium reads a chosen file lazily when the upload
    // sends it, so a temp file removed right after choosing made the upload fail.
    await page.locator('#bundle-file').setInputFiles({ name: 'bad.wave', mimeType: 'application/zip', buffer: await badBundle() });
    const alert = page.getByRole('alert').filter({ hasText: 'The bundle was refused' });
    await alert.waitFor();
    const rows = alert.locator('table.issues tbody tr');
    const byField = new Map<string, string>();
    for (let i = 0; i < (await rows.count()); i++) byField.set((await rows.nth(i).locator('th').textContent()) ?? '', (await rows.nth(i).locator('td').textContent()) ?? '');
    const all = `${await alert.textContent()} ${JSON.stringify([...byField])}`;
    assert.match(byField.get('App.Version') ?? '', /"banana" is not a semantic version/, all);
    assert.match(byField.get('App.Name') ?? '', /Name/, all);
    await screenshot(page, 'import-errors');
    await assertAccessible(page);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('an owner changes an app’s visibility in My apps and on the app page', async () => {
    const { page, problems } = await open('alice', '/my-apps');
    await page.locator('tr[data-app="secret"]').waitFor();
    await page.getByLabel('Visibility of Secret plans 0.1.0').selectOption('PUBLIC');
    const vis = async () => ((await (await t.fetch('alice', `/api/v1/apps/${ids.secret}`)).json()) as { visibility: string }).visibility;
    for (let i = 0; i < 50 && (await vis()) !== 'PUBLIC'; i++) await page.waitForTimeout(100);
    assert.equal(await vis(), 'PUBLIC');
    await page.goto(`${t.url}/apps/${ids.secret}`);
    await page.getByRole('heading', { name: 'Manage' }).waitFor();
    await page.getByLabel('Visibility', { exact: true }).selectOption('PRIVATE');
    for (let i = 0; i < 50 && (await vis()) !== 'PRIVATE'; i++) await page.waitForTimeout(100);
    assert.equal(await vis(), 'PRIVATE');
    await page.getByText('Private (only me)', { exact: false }).first().waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('an admin creates a tag, edits its colour and roles, and deletes it after confirming', async () => {
    const { page, problems } = await open('root', '/admin');
    await page.getByRole('heading', { name: 'Tags' }).waitFor();
    await page.locator('tr[data-tag="featured"]').waitFor();
    // Every table is named by its caption and has its column heads (components.tsx DataTable).
    const heads = async (name: string) => page.getByRole('table', { name, exact: true }).getByRole('columnheader').allTextContents();
    assert.deepEqual(await heads('Tags'), ['Tag', 'Name', 'Admin roles', 'Visitor roles', 'Category', 'Actions']);
    await page.getByRole('table', { name: 'All apps', exact: true }).waitFor();
    assert.deepEqual(await heads('All apps'), ['App', 'Version', 'Owner', 'Visibility']);
    const form = page.getByRole('form', { name: 'New tag' });
    await form.getByLabel('Name').fill('beta');
    await form.getByLabel('Title').fill('Beta');
    await form.getByLabel('Colour').fill('#0b57d0');
    await form.getByLabel('Visitor roles (comma-separated)').fill('beta-testers, guests');
    await form.getByRole('button', { name: 'Create tag' }).click();
    const row = page.locator('tr[data-tag="beta"]');
    await row.waitFor();
    await row.getByText('beta-testers, guests').waitFor();
    const tagOf = async () => (await (await t.fetch('root', '/api/v1/tags/beta')).json()) as { color: string; adminRoles: string[]; visitorRoles: string[] };
    assert.deepEqual((await tagOf()).visitorRoles, ['beta-testers', 'guests']);
    assert.equal((await tagOf()).color, '#0b57d0');
    // A bad name is refused by the browser's own check before the server is asked.
    await form.getByLabel('Name').fill('Bad Name');
    await form.getByRole('button', { name: 'Create tag' }).click();
    assert.equal(await form.getByLabel('Name').evaluate((e) => (e as unknown as { validity: { valid: boolean } }).validity.valid), false);
    await form.getByLabel('Name').fill('');

    await row.getByRole('button', { name: 'Edit tag beta' }).click();
    const edit = page.getByRole('form', { name: 'Edit tag beta' });
    await edit.getByLabel('Colour').fill('#b3261e');
    await edit.getByLabel('Admin roles (comma-separated)').fill('editors');
    await screenshot(page, 'admin');
    await edit.getByRole('button', { name: 'Save' }).click();
    await row.getByText('editors').waitFor();
    assert.equal((await tagOf()).color, '#b3261e');
    assert.deepEqual((await tagOf()).adminRoles, ['editors']);
    // The badge shows the new colour with readable text.
    assert.equal(await row.locator('.badge').evaluate((e) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor), 'rgb(179, 38, 30)');
    await assertAccessible(page);

    // Cancel keeps it; confirming deletes it.
    await row.getByRole('button', { name: 'Delete tag beta' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete tag beta' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await t.fetch('root', '/api/v1/tags/beta')).status, 200);
    await row.getByRole('button', { name: 'Delete tag beta' }).click();
    await dialog.getByRole('button', { name: 'Delete tag' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await t.fetch('root', '/api/v1/tags/beta')).status, 404);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('non-admins get no Admin link and are told the page is for administrators', async () => {
    const { page } = await open('alice', '/admin');
    await page.getByText('Only administrators can see this page.').waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(), 0);
    await page.context().close();
  });

  test('a visitor and an anonymous user see only what is shared with them', async () => {
    const vic = await open('vic', '/');
    await vic.page.getByRole('status').filter({ hasText: /\d+ apps?$/ }).waitFor();
    const visible = await cardTitles(vic.page);
    assert.ok(visible.includes('Ledger'), 'the PUBLIC app is listed for a visitor');
    assert.ok(!visible.includes('Secret plans') && !visible.includes('Weather station'), `a visitor saw: ${visible.join(', ')}`);
    await vic.page.getByTestId('user-name').filter({ hasText: '(visitor)' }).waitFor();
    assert.equal(await vic.page.getByRole('link', { name: 'My apps' }).count(), 0);
    await screenshot(vic.page, 'visitor-catalog');
    await assertAccessible(vic.page);
    assert.deepEqual(vic.problems, []);
    await vic.page.context().close();

    const anon = await open('anonymous', '/');
    await anon.page.getByRole('status').filter({ hasText: '1 app' }).waitFor();
    assert.deepEqual(await cardTitles(anon.page), ['Ledger']);
    assert.equal(await anon.page.getByRole('link', { name: 'My instances' }).count(), 0);
    await anon.page.getByText('Not signed in').waitFor();
    // An app that is not shared is "not found", in words.
    await anon.page.goto(`${t.url}/apps/${ids.secret}`);
    await anon.page.getByRole('alert').filter({ hasText: 'not found' }).waitFor();
    assert.deepEqual(anon.problems, []);
    await anon.page.context().close();
  });

  test('the keyboard reaches the skip link first and in-app navigation moves focus to the content', async () => {
    const { page } = await open('alice', '/');
    await page.getByRole('status').filter({ hasText: /\d+ apps$/ }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    await page.getByRole('link', { name: 'My apps' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'My apps', level: 1 }).waitFor();
    assert.equal(await page.evaluate('document.activeElement?.id'), 'main');
    assert.equal(await page.title(), 'My apps · Appstore');
    await page.context().close();
  });

  test('the server sends the page with a strict CSP and no-cache, hashed assets for a year, and JSON 404s off the UI', async () => {
    const page = await t.fetch('anonymous', '/apps/whatever');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await page.text();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js, 'index.html names its script');
    const asset = await t.fetch('anonymous', js);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    for (const p of ['/api/v1/nothing-here', '/auth/nothing', '/instance/x/', '/assets/missing.js']) {
      const r = await t.fetch('anonymous', p);
      assert.equal(r.status, 404, p);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/, p);
    }
    assert.equal((await t.fetch('anonymous', '/', { method: 'POST' })).status, 404);
  });
});
