// needs: postgres, cluster
/**
 * `Router.Workers`: `appstore server` as N processes sharing the listen port
 * (node:cluster) on PostgreSQL and the test cluster: every worker routes to
 * a real upstream, a worker that dies is replaced, SIGTERM stops them all,
 * and configurations that cannot share state across processes are refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/go-tool.ts';
import { freshNamespace, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { createTestDatabase, type TestDatabase } from './support/pg-database.ts';
import { freePort, waitFor } from './support/ports.ts';
import { runNode } from './support/process.ts';
import { send, TestInstances, type Upstream } from './support/router-fixtures.ts';

const bin = join(repoRoot, 'bin', 'appstore.mjs');
let ns: TestNamespace;
let db: TestDatabase;
let dir: string;
let instances: TestInstances;
let up: Upstream;
let server: ChildProcess | undefined;
let output = '';

const children = (pid: number) => spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);

before(async () => {
  ns = await freshNamespace('router-workers');
  db = await createTestDatabase('router_workers');
  dir = mkdtempSync(join(tmpdir(), 'router-workers-'));
  instances = new TestInstances(ns.name);
  await TestInstances.ensureCrds();
  up = (await instances.create('pub', 'PUBLIC', { subject: 'alice', name: 'Alice' }))!;
});

after(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await instances?.close();
  await ns?.cleanup();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('Router.Workers > 1 is refused with the embedded database', async () => {
  const r = await runNode(bin, ['server', '--listen', '127.0.0.1:0', '--data-dir', dir, '--local-cluster', 'off', '--set', 'Router.Workers=2']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Router\.Workers: 2 workers cannot run here: the embedded PGlite database .* set Database\.URL/);
});

test('two workers share the port, each routes; a dead worker is replaced; SIGTERM stops all', async () => {
  const port = await freePort();
  const file = join(dir, 'appstore.toml');
  writeFileSync(file, '[[Auth.StaticToken]]\nToken = "workers-test-token-alice"\nSubject = "alice"\nName = "Alice"\nRoles = ["full-access"]\n');
  const args = ['server', '-c', file, '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--local-cluster', 'off'];
  for (const kv of ['Router.Workers=2', `Database.URL=${db.url}`, 'Auth.Mode=static', 'Server.Roles=api,router', 'Server.LogLevel=warn', `Scheduler.KubeConfig=${kubeconfigPath()}`, `Scheduler.Namespace=${ns.name}`, `Router.MainHost=localhost:${port}`])
    args.push('--set', kv);
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const open = () => send(port, `localhost:${port}`, '/instance/pub/x');
  await waitFor('both workers up and the instance routed', async () => {
    if (child.exitCode !== null) throw new Error(`the server exited: ${output}`);
    // The reporting worker may come up after the other one has already routed a request.
    return children(child.pid!).length === 2 && /Appstore is running/.test(output) && (await open().catch(() => ({ status: 0 }))).status === 200;
  }, 90_000, 250);
  const workers = children(child.pid!);
  // Fresh connections are handed to the workers in turn; each one answers through the router.
  up.clear();
  for (let i = 0; i < 10; i++) assert.equal((await open()).status, 200);
  assert.equal(up.requests.length, 10);
  assert.equal(output.match(/Appstore is running/g)?.length, 1, `one worker reports for all: ${output}`);

  // Past the start-up window, a worker that dies is replaced.
  await new Promise((r) => setTimeout(r, 10_500));
  process.kill(workers[0]!, 'SIGKILL');
  await waitFor('a replacement worker', async () => {
    const now = children(child.pid!);
    return now.length === 2 && !now.includes(workers[0]!) && (await open().catch(() => ({ status: 0 }))).status === 200;
  }, 90_000, 250);
  assert.match(output, /exited \(SIGKILL\); starting another/);

  const all = [child.pid!, ...children(child.pid!)];
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  assert.equal(child.exitCode, 0, output);
  await waitFor('every worker gone', async () => all.every((pid) => spawnSync('kill', ['-0', String(pid)]).status !== 0), 20_000, 200);
});
