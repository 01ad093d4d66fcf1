/**
 * `h2o exec` runs an app folder through the launcher locally: a real Wave app
 * from PyPI, its [[Env]] and literal [[File]] in place, the URL printed,
 * Ctrl-C (SIGTERM) stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  assert.equal(await exit, 0, stderr);
});
