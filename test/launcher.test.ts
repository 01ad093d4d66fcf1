/**
 * The launcher end to end with a real Wave app from PyPI: a bundle imported
 * into a real API server, downloaded with a real launcher token, installed
 * with uv, served by the real waved. Failures: wrong digest, requirements
 * that cannot install, an app that crashes. The first run needs PyPI; later
 * runs use the shared uv cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { signLauncherToken } from '../src/auth/launcher-token.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { repoRoot } from './support/go-tool.ts';
import { freePort, waitFor } from './support/ports.ts';
import { ensureUv, makeWaveBundle, makeWheel, pythonCacheEnv, WAVE_VERSION, waveClientMessages } from './support/python-app.ts';

const LAUNCHER = join(repoRoot, 'bin', 'launcher.mjs');

interface RunningLauncher {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
  stop(): Promise<void>;
}

let api: TestApi;
let uv: string;
const dirs: string[] = [];

async function importApp(name: string, spec: Parameters<typeof makeWaveBundle>[0]): Promise<{ id: string; digest: string }> {
  const res = await api.importBundle('alice', await makeWaveBundle(spec));
  assert.equal(res.status, 201, await res.clone().text());
  // The digest the operator passes is the one the server recorded at import.
  const { app } = (await res.json()) as { app: { id: string; bundleSha256: string } };
  assert.match(app.bundleSha256, /^[0-9a-f]{64}$/, name);
  return { id: app.id, digest: `sha256:${app.bundleSha256}` };
}

async function startLauncher(app: { id: string; digest: string }, extraEnv: Record<string, string> = {}): Promise<RunningLauncher> {
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'launcher-test-'));
  dirs.push(work);
  const token = signLauncherToken(api.launcherKey, { app: app.id, instance: 'test', exp: Math.floor(Date.now() / 1000) + 600 });
  // The machine's environment (CA bundles, package index settings) as a runtime image would set it.
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}`,
    ...pythonCacheEnv(),
    H2O_CLOUD_BUNDLE_URL: `${api.url}/api/v1/apps/${app.id}/bundle`,
    H2O_CLOUD_BUNDLE_DIGEST: app.digest,
    H2O_CLOUD_LAUNCHER_TOKEN: token,
    H2O_CLOUD_APP_MODULE: 'app.run',
    H2O_CLOUD_APP_DIR: join(work, 'app'),
    H2O_CLOUD_LAUNCHER_WORK_DIR: join(work, 'work'),
    H2O_WAVE_LISTEN: `127.0.0.1:${port}`,
    H2O_WAVE_ADDRESS: `http://127.0.0.1:${port}`,
    H2O_CLOUD_LAUNCHER_FAILURE_HOLD: '4',
    ...extraEnv,
  };
  const child = spawn(process.execPath, [LAUNCHER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exit,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exit;
      }
    },
  };
}

/** Waits until `re` shows in the output; fails at once (with the output) if the launcher exits first. */
async function waitForOutput(l: RunningLauncher, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(l.output())) {
    if (l.child.exitCode !== null) assert.fail(`the launcher exited (${l.child.exitCode}) before ${re}:\n${l.output()}`);
    if (Date.now() > deadline) assert.fail(`no ${re} in the launcher output within ${timeoutMs} ms:\n${l.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function page(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

describe('launcher with a real Wave app', { timeout: 600_000 }, () => {
  before(async () => {
    [api, uv] = await Promise.all([startTestApi({ db: 'pglite', store: 'fs' }), ensureUv()]);
  });
  after(async () => {
    await api?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('downloads with the launcher token, installs with uv, serves the progress page, then the Wave app', async () => {
    const app = await importApp('hello', { name: 'launcher-hello', text: 'Hello from the launcher' });
    const l = await startLauncher(app);
    try {
      // The progress page is up while the launcher prepares.
      let sawProgress = '';
      await waitFor('the progress page', async () => {
        const p = await page(l.url);
        if (p?.status === 503) sawProgress = p.text;
        return !!sawProgress;
      }, 30_000, 50);
      assert.match(sawProgress, /Sourcing the Wave Application|Installing Application Dependencies/);
      assert.match(sawProgress, /http-equiv="refresh"/);
      // Then waved owns the port and the app registers with it.
      await waitForOutput(l, /app_add/, 300_000);
      const p = await page(l.url);
      assert.equal(p?.status, 200, l.output());
      assert.match(p!.text, /<title>.*Wave|wave-static|H2O Wave/i);
      // The app itself answers: its card arrives over waved's websocket as a browser would get it.
      const messages = await waveClientMessages(l.url, '/', 'Hello from the launcher');
      assert.match(messages, /"view":"markdown"/);
      const out = l.output();
      assert.match(out, /^\[launcher\] Sourcing the Wave Application/m);
      assert.match(out, /digest verified/);
      assert.match(out, /requirements installed with uv/);
      assert.match(out, /^\[waved\] /m);
      assert.match(out, /^\[app\] /m);
      for (const line of out.split('\n').filter(Boolean)) assert.match(line, /^\[(launcher|waved|app)\] /, `unmarked line: ${line}`);
      assert.doesNotMatch(out, /lt1\./, 'the launcher token never reaches the output');
    } finally {
      await l.stop();
    }
    assert.equal(await l.exit, 0, 'SIGTERM stops waved and the app, then exits 0');
  });

  test('a wheel shipped in the bundle installs, with uv and with pip when uv is absent', async () => {
    const wheel = await makeWheel('appstore_wheel_test', '0.1.0', 'from a bundled wheel');
    const app = await importApp('wheel', {
      name: 'launcher-wheel',
      requirements: `h2o-wave==${WAVE_VERSION}\n./wheels/${wheel.fileName}\n`,
      files: { [`wheels/${wheel.fileName}`]: wheel.bytes },
      source: [
        'import appstore_wheel_test',
        'from h2o_wave import main, app, Q, ui  # noqa: F401',
        "print('WHEEL=' + appstore_wheel_test.MESSAGE, flush=True)",
        "@app('/')",
        'async def serve(q: Q):',
        "    q.page['x'] = ui.markdown_card(box='1 1 2 2', title='x', content=appstore_wheel_test.MESSAGE)",
        '    await q.page.save()',
      ].join('\n'),
    });
    for (const installer of ['uv', 'pip'] as const) {
      const l = await startLauncher(app, installer === 'pip' ? { H2O_CLOUD_LAUNCHER_UV: 'none' } : {});
      try {
        await waitForOutput(l, /app_add/, 300_000);
        assert.match(l.output(), new RegExp(`requirements installed with ${installer} `));
        assert.match(l.output(), /^\[app\] WHEEL=from a bundled wheel$/m);
      } finally {
        await l.stop();
      }
    }
  });

  test('a wrong digest: nothing is unpacked, the page says why, the launcher exits non-zero', async () => {
    const app = await importApp('digest', { name: 'launcher-digest' });
    const l = await startLauncher({ ...app, digest: `sha256:${'0'.repeat(64)}` });
    let failure = '';
    await waitFor('the failure page', async () => {
      const p = await page(l.url);
      if (p?.status === 500) failure = p.text;
      return !!failure;
    }, 30_000, 50);
    assert.match(failure, /digest does not match/);
    assert.match(failure, /Sourcing the Wave Application/);
    const code = await l.exit;
    assert.notEqual(code, 0);
    assert.match(l.output(), /FAILED at "Sourcing the Wave Application": the bundle's digest does not match/);
  });

  test('a token for another app is refused and shown', async () => {
    const app = await importApp('other', { name: 'launcher-other' });
    const l = await startLauncher(app, { H2O_CLOUD_LAUNCHER_TOKEN: signLauncherToken(api.launcherKey, { app: 'someone-else', exp: Math.floor(Date.now() / 1000) + 600 }) });
    assert.notEqual(await l.exit, 0);
    assert.match(l.output(), /HTTP 403/);
  });

  test('requirements that cannot install: the error with the installer output is on the page', async () => {
    const app = await importApp('badreq', { name: 'launcher-badreq', requirements: `h2o-wave==${WAVE_VERSION}\nthis-package-does-not-exist-appstore-test==9.9.9\n` });
    const l = await startLauncher(app);
    let failure = '';
    await waitFor('the failure page', async () => {
      const p = await page(l.url);
      if (p?.status === 500) failure = p.text;
      return !!failure;
    }, 120_000, 100);
    assert.match(failure, /Installing Application Dependencies/);
    assert.match(failure, /installing requirements.txt \(uv pip install\) failed/);
    assert.match(failure, /this-package-does-not-exist-appstore-test/);
    assert.notEqual(await l.exit, 0);
  });

  test('an app that crashes: waved is stopped and the launcher exits non-zero', async () => {
    const app = await importApp('crash', { name: 'launcher-crash', source: 'from h2o_wave import main, app, Q  # noqa: F401\nraise SystemExit("the app refuses to start")\n' });
    const l = await startLauncher(app);
    const code = await l.exit;
    assert.notEqual(code, 0, l.output());
    assert.match(l.output(), /the app refuses to start/);
    assert.match(l.output(), /the app \(app\.run\) exited \(exit code \d+\); stopping waved/);
  });

  test('with a resource volume the environment is reused when requirements are unchanged', async () => {
    const app = await importApp('reuse', { name: 'launcher-reuse' });
    const resources = mkdtempSync(join(tmpdir(), 'launcher-resources-'));
    dirs.push(resources);
    for (const round of [1, 2]) {
      // Round 2 also serves under a base URL, as BASE_URL routing asks.
      const l = await startLauncher(app, { H2O_CLOUD_RESOURCE_PATH: resources, ...(round === 2 ? { H2O_WAVE_BASE_URL: '/instance/reuse/' } : {}) });
      try {
        await waitForOutput(l, /app_add/, 300_000);
        if (round === 1) assert.match(l.output(), /requirements installed with uv/);
        else {
          assert.match(l.output(), /reusing the Python environment/);
          assert.equal((await page(`${l.url}/instance/reuse/`))?.status, 200);
          assert.match(await waveClientMessages(`${l.url}/instance/reuse/`, '/instance/reuse/', 'Hello from a launcher test'), /"view":"markdown"/);
        }
      } finally {
        await l.stop();
      }
    }
  });
});
