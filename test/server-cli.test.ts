/**
 * The `appstore` command itself: help lists every option, bad configuration
 * stops start-up with one message naming the key, and the embedded default
 * really serves the API from a data folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPTIONS } from '../src/config/options.ts';
import { repoRoot } from './support/go-tool.ts';
import { waitFor } from './support/ports.ts';
import { exited, runNode, type ProcessResult } from './support/process.ts';

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

/**
 * `appstore server` on the embedded default, on a port it chooses itself (no race with other test files for
 * a free port), without the local cluster (test/server-local-cluster.test.ts covers it). Resolves with its
 * base URL once it answers /readyz; its output is kept, so a server that dies says why.
 */
async function startEmbedded(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, 'server', '--listen', '127.0.0.1:0', '--data-dir', dir, '--local-cluster', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  let url = '';
  await waitFor('the server to answer /readyz', async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    const port = /Appstore is running at http:\/\/localhost:(\d+)/.exec(output)?.[1];
    if (!port) return false;
    url = `http://127.0.0.1:${port}`;
    return (await fetch(`${url}/readyz`)).ok;
  }, 60_000, 200);
  return { child, url };
}

test('the embedded default serves the API from its data folder and keeps data across restarts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-data-'));
  let server: ChildProcess | undefined;
  try {
    const first = await startEmbedded(dir);
    server = first.child;
    const tag = await fetch(`${first.url}/api/v1/tags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'kept' }) });
    assert.equal(tag.status, 201, 'the local user is admin');
    server.kill('SIGTERM');
    await exited(server);
    const second = await startEmbedded(dir);
    server = second.child;
    const tags = (await (await fetch(`${second.url}/api/v1/tags`)).json()) as Array<{ name: string }>;
    assert.deepEqual(tags.map((t) => t.name), ['kept']);
  } finally {
    server?.kill('SIGTERM');
    if (server) await exited(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
