/**
 * Browser test support for the web UI: Debian's Chromium driven by
 * playwright-core, the UI built from web/ when stale, an axe-core check, and
 * screenshots under test-results/screenshots/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { USERS, type UserName } from './api-server.ts';
import { repoRoot } from './go-tool.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(repoRoot, 'test-results', 'screenshots');

/** Installs Debian's chromium package when it is missing (CI machines start without it). */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const run = (args: string[]) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  run(['update', '-qq']);
  const r = run(['install', '-y', '-qq', 'chromium']);
  if (r.status !== 0 || !existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing and \`apt-get install -y chromium\` failed; install Debian's chromium package`);
}

/** Builds web/dist when it is missing or older than web/src. */
export function buildWebUI(): void {
  execFileSync(process.execPath, [join(repoRoot, 'web', 'build-if-needed.mjs')], { stdio: 'inherit' });
}

export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  // playwright-core gives each launch a fresh temporary profile (its own --user-data-dir).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A browser context acting as `user`: the browser adds the user's bearer token to every request, so page script never holds it. */
export function contextAs(browser: Browser, user: UserName): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 1280, height: 900 },
    ...(user === 'anonymous' ? {} : { extraHTTPHeaders: { authorization: `Bearer ${USERS[user].token}` } }),
  });
}

/** Opens `url` in a new context as `user`; returns the page and the list its problems (page errors, CSP refusals) collect into. */
export async function openAs(browser: Browser, user: UserName, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await (await contextAs(browser, user)).newPage();
  const problems = watchPage(page);
  await page.goto(url);
  return { page, problems };
}

/** Problems a page reports: uncaught exceptions and Content-Security-Policy refusals. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text().slice(0, 120)} at ${JSON.stringify(m.location())}`);
  });
  return problems;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(join(createRequire(import.meta.url).resolve('axe-core'), '..', 'axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * Runs axe-core (WCAG 2 A/AA rules) on the page and returns the serious and
 * critical violations. Evaluated through the DevTools protocol, which the
 * page's CSP does not govern, so the check needs no inline script.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  // In-page code as a string: the test project's TypeScript has no DOM types.
  const violations = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A readable list of violations for an assertion message. */
export function describeViolations(vs: AxeViolation[]): string {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n');
}
