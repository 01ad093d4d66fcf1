/**
 * `h2o exec` runs an app folder through the launcher locally: a real Wave app
 * from PyPI, its [[Env]] and literal [[File]] in place, the URL printed,
 * Ctrl-C (SIGTERM) stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from './support/go-tool.ts';
import { freePort } from './support/ports.ts';
import { ensureUv, pythonCacheEnv, writeWaveApp } from './support/python-app.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('h2o exec runs an app folder locally and prints its URL', { timeout: 600_000 }, async () => {
  const uv = await ensureUv();
  const source = [
    'import os',
    'from h2o_wave import main, app, Q, ui  # noqa: F401',
    "print('GREETING=' + os.environ['GREETING'], flush=True)",
    "print('SETTING=' + open('config/settings.txt').read(), flush=True)",
    '',
    "@app('/')",
    'async def serve(q: Q):',
    "    q.page['x'] = ui.markdown_card(box='1 1 2 2', title='x', content='exec')",
    '    await q.page.save()',
  ].join('\n');
  const appDir = writeWaveApp({
    name: 'exec-test',
    source,
    extraToml: '[[Env]]\nName = "GREETING"\nValue = "hello from app.toml"\n[[File]]\nPath = "config/settings.txt"\nValue = "answer=42"\n',
  });
  const resources = mkdtempSync(join(tmpdir(), 'exec-resources-'));
  dirs.push(appDir, resources);
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'h2o.mjs'), 'exec', '--app-dir', appDir, '--listen', `127.0.0.1:${port}`, '--resource-dir', resources], {
    env: { ...process.env, ...pythonCacheEnv(), PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  try {
    const deadline = Date.now() + 300_000;
    while (!/app_add/.test(stderr)) {
      assert.equal(child.exitCode, null, `h2o exec exited early:\n${stderr}`);
      assert.ok(Date.now() < deadline, `the app did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(stdout, `http://127.0.0.1:${port}/\n`);
    assert.match(stderr, /exec-test is running at http:\/\/127\.0\.0\.1/);
    assert.match(stderr, /^\[app\] GREETING=hello from app.toml$/m);
    assert.match(stderr, /^\[app\] SETTING=answer=42$/m);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /wave-static|H2O Wave/i);
  } finally {
    child.kill('SIGTERM');
  }
  const stopped = Date.now();
  assert.equal(await exit, 0, stderr);
  assert.ok(Date.now() - stopped < 10_000, `h2o exec took ${Date.now() - stopped} ms to stop`);
  // waved and the app (their whole process groups) are gone with it.
  assert.deepEqual(processesMentioning(resources), [], 'no process of the app is left');
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`), 'nothing answers on the port');
});

/** Pids of processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

test('SIGTERM while the requirements install stops the installer and h2o exec at once', { timeout: 120_000 }, async () => {
  const uv = await ensureUv();
  // A package index that takes connections and never answers: the install hangs until it is stopped.
  const held = new Set<Socket>();
  let connected!: () => void;
  const firstConnection = new Promise<void>((res) => (connected = res));
  const index = createServer((sock) => {
    held.add(sock);
    sock.on('error', () => undefined);
    sock.once('close', () => held.delete(sock));
    connected();
  });
  await new Promise<void>((res) => index.listen(0, '127.0.0.1', res));
  const indexURL = `http://127.0.0.1:${(index.address() as { port: number }).port}/simple/`;
  const appDir = writeWaveApp({ name: 'exec-sigterm', requirements: `--index-url ${indexURL}\nh2o-wave-never-answered==1.0.0\n` });
  const resources = mkdtempSync(join(tmpdir(), 'exec-sigterm-'));
  dirs.push(appDir, resources);
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'h2o.mjs'), 'exec', '--app-dir', appDir, '--listen', `127.0.0.1:${port}`, '--resource-dir', resources], {
    // A long HTTP timeout, so only stopping the installer ends it quickly.
    env: { ...process.env, ...pythonCacheEnv(), UV_HTTP_TIMEOUT: '300', PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exit = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  try {
    await Promise.race([firstConnection, exit.then(() => assert.fail(`h2o exec exited before installing:\n${stderr}`))]);
    assert.match(stderr, /Installing Application Dependencies/);
    const stopped = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exit, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 15_000).unref())]);
    assert.notEqual(code, 'hung', `h2o exec did not stop within 15 s of SIGTERM:\n${stderr}`);
    assert.equal(code, 0, stderr);
    assert.ok(Date.now() - stopped < 10_000, `h2o exec took ${Date.now() - stopped} ms to stop`);
    assert.match(stderr, /stopping: the launcher was asked to stop during "Installing Application Dependencies"/);
    assert.deepEqual(processesMentioning(resources), [], 'the installer is gone too');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const s of held) s.destroy();
    await new Promise<void>((res) => index.close(() => res()));
  }
});
