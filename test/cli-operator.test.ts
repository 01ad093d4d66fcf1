// needs: cluster
/**
 * The real `h2o` executable against the API server with the real operator
 * behind it, on the real control plane (kwok nodes "run" the pods): nothing
 * of the instance's life is written by the test. `bundle deploy` waits until
 * the operator reports Ready; suspend/resume/terminate follow through;
 * `bundle test` cleans up after Ctrl-C.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Instance } from '../src/api/schemas.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import type { Operator } from '../src/operator/operator.ts';
import { AppRepository } from '../src/repository/apps.ts';
import { repositoryCatalog } from '../src/server/catalog-port.ts';
import { startTestApi, USERS, type TestApi } from './support/api-server.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { createRuntimeVersion, deleteRuntimeVersion, startTestOperator, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';
import { runNode, type ProcessResult } from './support/process.ts';

const H2O = fileURLToPath(new URL('../bin/h2o.mjs', import.meta.url));
const kc = kubeConfig();
const rv = `cli-rv-op-${suffix()}`;
let ns: TestNamespace;
let api: TestApi;
let operator: Operator | undefined;
let dir: string;
let cfg: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-operator-'));
  await installCrds(kc, { fieldManager: 'appstore-tests' });
  ns = await freshNamespace('cli-operator', kc);
  await createRuntimeVersion(kc, rv, { image: 'registry.example.com/wave-launcher:1.0.0' });
  api = await startTestApi({ db: 'pglite', store: 'fs', cluster: { kubeConfig: kubeconfigPath(), namespace: ns.name } });
  operator = await startTestOperator(kc, { ...api.config, runtimeVersions: [] }, repositoryCatalog(new AppRepository(api.db)));
  cfg = join(dir, 'config.toml');
  const r = await h2o(['--endpoint', api.url, 'config', 'setup', '--token', USERS.alice.token]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await operator?.stop();
  await api?.close();
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, rv);
  await rm(dir, { recursive: true, force: true });
});

function h2o(args: string[]): Promise<ProcessResult> {
  return runNode(H2O, ['--config', cfg, ...args], { cwd: dir, env: { HOME: join(dir, 'home'), H2O_CONFIG: undefined, H2O_PROFILE: undefined } });
}

/** A minimal Wave app folder. */
async function appFolder(name: string, version: string): Promise<string> {
  const to = join(dir, `${name}-${version}`);
  await mkdir(to, { recursive: true });
  await writeFile(join(to, 'app.toml'), `[App]\nName = "ai.test.${name}"\nVersion = "${version}"\nTitle = "CLI ${name}"\n\n[Runtime]\nModule = "app"\n`);
  await writeFile(join(to, 'app.py'), 'from h2o_wave import main, app, Q\n');
  return to;
}

async function statusOf(id: string): Promise<Instance | undefined> {
  const r = await h2o(['instance', 'get', id, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Instance) : undefined;
}

describe('h2o with the operator', () => {
  test('bundle deploy waits until Ready and prints the URL; suspend, resume, terminate follow through', async () => {
    const folder = await appFolder('deployed', '1.0.0');
    const r = await h2o(['bundle', 'deploy', '--app-dir', folder, '--runtime-version', rv, '--timeout', '120s']);
    assert.equal(r.code, 0, r.stderr);
    const m = /^ID\s+(\S+)\nURL\s+(\S+)\n$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const [, id, url] = m;
    assert.match(url!, new RegExp(`${id}`));
    assert.match(r.stdout, /^Version\s+1\.0\.0-\d{14}$/m);
    assert.match(r.stderr, new RegExp(`instance ${id} is Ready\\n`));
    const appId = /^ID\s+(\S+)\nTitle/m.exec(r.stdout)![1]!;

    const status = await h2o(['instance', 'status', id!]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^Status\s+Ready$/m);
    assert.match(status.stdout, /\nPod: \S+ \(Running on \S+\)\n/);
    assert.match(status.stdout, /\nEvents:\n {2}TYPE/);

    assert.equal((await h2o(['instance', 'suspend', id!])).code, 0);
    await waitFor('Suspended', async () => (await statusOf(id!))?.status === 'Suspended', 90_000, 500);
    const logs = await h2o(['instance', 'logs', id!]);
    assert.equal(logs.code, 1, 'the server cannot give logs of a suspended instance (503)');
    assert.match(logs.stderr, new RegExp(`^error: instance ${id} has no logs: it is suspended; `));
    assert.equal((await h2o(['instance', 'resume', id!])).code, 0);
    await waitFor('Ready again', async () => (await statusOf(id!))?.status === 'Ready', 90_000, 500);

    const refused = await h2o(['app', 'delete', appId]);
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, new RegExp(id!));
    assert.equal((await h2o(['instance', 'terminate', id!])).code, 0);
    await waitFor('the instance gone', async () => (await h2o(['instance', 'get', id!])).code === 3, 60_000, 500);
    await waitFor('the app deletable', async () => (await h2o(['app', 'delete', appId])).code === 0, 30_000, 500);
  });

  test('bundle test: deploy, Ready, then Ctrl-C terminates the instance and deletes the app', async () => {
    const folder = await appFolder('tried', '0.1.0');
    const child = spawn(process.execPath, [H2O, '--config', cfg, 'bundle', 'test', '--app-dir', folder, '--runtime-version', rv, '--timeout', '120s'], {
      cwd: dir,
      env: { ...process.env, HOME: join(dir, 'home') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor('following the log', async () => stderr.includes('following the log'), 150_000, 200).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; stderr: ${stderr}`);
    });
    const id = /^ID\s+(\S+)\nURL/m.exec(stdout)![1]!;
    const appId = /^ID\s+(\S+)\nTitle/m.exec(stdout)![1]!;
    child.kill('SIGINT');
    assert.equal(await done, 0, stderr);
    assert.match(stderr, new RegExp(`cleaning up .*\\n(.*\\n)*instance ${id} terminated\\napp ${appId} deleted\\n`));
    assert.equal((await h2o(['app', 'get', appId])).code, 3);
    assert.equal((await h2o(['instance', 'get', id])).code, 3);
  });
});
