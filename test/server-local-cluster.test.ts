// needs: cluster
/**
 * The embedded default on one machine: `appstore server` with an empty
 * configuration and --local-cluster on starts its own local control plane
 * under DataDir/cluster (through its own start path; the binaries come from
 * the cache the test run built), installs the CRDs, runs the operator and the
 * local pod runner; a Wave app imported over the API runs as an instance,
 * becomes Ready, and its page is served through the router.
 * (`// needs: cluster` only makes the runner build the binaries first.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { repoRoot } from './support/go-tool.ts';
import { freePort, waitFor } from './support/ports.ts';
import { exited } from './support/process.ts';
import { ensureUv, makeWaveBundle, pythonCacheEnv } from './support/python-app.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'server-local-cluster-'));
let server: ChildProcess | undefined;
let output = '';
let base = '';

/** GET/POST on the server with its host name (the router refuses hosts it does not serve). */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, init);
}

describe('server on the embedded default with a local cluster', { timeout: 900_000 }, () => {
  before(async () => {
    const uv = await ensureUv();
    const port = await freePort();
    base = `http://localhost:${port}`;
    // An empty configuration: no H2O_CLOUD_… options, no KUBECONFIG (the rest — proxies, CA files — the app's pip/uv need).
    const env: Record<string, string> = { ...pythonCacheEnv(), PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}` };
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('H2O_CLOUD_') && k !== 'KUBECONFIG' && !(k in env)) env[k] = v;
    server = spawn(process.execPath, [join(repoRoot, 'bin', 'appstore.mjs'), 'server', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--local-cluster', 'on'], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    server.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor('the server to print its URL', async () => {
      if (server!.exitCode !== null) throw new Error(`the server exited (${server!.exitCode}):\n${output}`);
      return output.includes('Appstore is running at');
    }, 300_000, 200);
  });
  after(async () => {
    if (server) {
      // exited() also sees a server already gone by a signal (exitCode null), which a bare once(exit) would wait for forever.
      const gone = exited(server);
      server.kill('SIGTERM');
      await gone;
    }
    // Left running by the server for fast restarts; the test stops it.
    spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'cluster', 'main.ts'), 'down'], { cwd: repoRoot, env: { ...process.env, APPSTORE_CLUSTER_DIR: join(dataDir, 'cluster') }, stdio: 'inherit' });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints how the local cluster starts and where to open the app store', () => {
    assert.match(output, /Starting the local Kubernetes control plane in .*cluster/);
    assert.match(output, /--set Scheduler\.KubeConfig=/, 'says how to use an existing cluster instead');
    assert.match(output, new RegExp(`Open ${base.replace(/[.:/]/g, '\\$&')} in a browser`));
  });

  test('an imported Wave app runs as an instance on this machine and opens through the router', async () => {
    const runtime = await call('/api/v1/runtime-versions');
    assert.equal(runtime.status, 200, await runtime.clone().text());
    assert.deepEqual(((await runtime.json()) as { items: Array<{ name: string; default: boolean }> }).items.map((r) => [r.name, r.default]), [['local', true]]);

    const bundle = await makeWaveBundle({ name: 'local-cluster-hello', text: 'hello from one machine' });
    const imported = await call('/api/v1/apps', { method: 'POST', body: bundle, headers: { 'content-type': 'application/zip' } });
    assert.equal(imported.status, 201, await imported.clone().text());
    const { app } = (await imported.json()) as { app: { id: string } };

    const created = await call(`/api/v1/apps/${app.id}/instances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(created.status, 201, await created.clone().text());
    const inst = (await created.json()) as { id: string };

    // Ready alone can flicker (kwok reports a fresh pod ready before the runner takes it over): the app's page through the router is the proof.
    let url = '';
    let page = '';
    await waitFor('the instance page through the router', async () => {
      if (server!.exitCode !== null) throw new Error(`the server exited (${server!.exitCode}):\n${output}`);
      const r = (await (await call(`/api/v1/instances/${inst.id}`)).json()) as { status: string; url?: string };
      if (r.status !== 'Ready' || !r.url) return false;
      url = r.url;
      const res = await fetch(url);
      page = await res.text();
      return res.status === 200 && /wave/i.test(page);
    }, 600_000, 1_000);
    assert.equal(url, `${base}/instance/${inst.id}/`);
    assert.match(page, /wave-static|H2O Wave/i);
    const logs = await (await call(`/api/v1/instances/${inst.id}/logs`)).text();
    assert.match(logs, /^\[launcher\] /m, 'instance logs come from the local pod runner');
  });
});
