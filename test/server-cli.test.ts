/**
 * The `appstore` command itself: help lists every option, bad configuration
 * stops start-up with one message naming the key, and the embedded default
 * really serves the API from a data folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPTIONS } from '../src/config/options.ts';
import { repoRoot } from './support/go-tool.ts';
import { freePort, waitFor } from './support/ports.ts';
import { runNode, type ProcessResult } from './support/process.ts';

const bin = join(repoRoot, 'bin', 'appstore.mjs');

function run(args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return runNode(bin, args, { env });
}

test('appstore server --help lists every option with its environment variable', async () => {
  const r = await run(['server', '--help']);
  assert.equal(r.code, 0);
  for (const o of OPTIONS) {
    assert.ok(r.stdout.includes(`${o.section}.${o.key}`), `${o.section}.${o.key}`);
    assert.ok(r.stdout.includes(o.env), o.env);
  }
  assert.match(r.stdout, /Example:/);
});

test('invalid configuration stops start-up with one message naming each key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-cfg-'));
  try {
    const file = join(dir, 'appstore.toml');
    writeFileSync(file, '[Scheduler]\nInstanceLimt = 3\n');
    const r = await run(['server', '--config', file, '--data-dir', dir], { H2O_CLOUD_SCHEDULER_WRITE_TIMEOUT_SECONDS: 'soon' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Scheduler\.InstanceLimt: is not a configuration option; did you mean InstanceLimit\?/);
    assert.match(r.stderr, /H2O_CLOUD_SCHEDULER_WRITE_TIMEOUT_SECONDS \(environment\): must be a whole number/);
    const unknown = await run(['server', '--set', 'Nope.Key=1']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Nope\.Key: not a configuration option/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('local sign-in refuses a non-loopback listen address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-cfg-'));
  try {
    const r = await run(['server', '--listen', '0.0.0.0:0', '--data-dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Auth\.Mode: "local" makes every request the local admin/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the embedded default serves the API from its data folder and keeps data across restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-data-'));
  const port = await freePort();
  // Without the local cluster (test/server-local-cluster.test.ts covers it): this test is about the catalog's data.
  const start = () => spawn(process.execPath, [bin, 'server', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--local-cluster', 'off'], { stdio: 'ignore' });
  let server = start();
  try {
    await waitFor('the server', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, 200);
    const tag = await fetch(`http://127.0.0.1:${port}/api/v1/tags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'kept' }) });
    assert.equal(tag.status, 201, 'the local user is admin');
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    server = start();
    await waitFor('the restarted server', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, 200);
    const tags = (await (await fetch(`http://127.0.0.1:${port}/api/v1/tags`)).json()) as Array<{ name: string }>;
    assert.deepEqual(tags.map((t) => t.name), ['kept']);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
