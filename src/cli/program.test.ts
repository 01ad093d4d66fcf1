import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, TooLargeError, UnauthorizedError } from '../lib/errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { run } from './program.ts';

function capture(cwd: string): { ctx: Parameters<typeof run>[1]; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    ctx: { cwd, env: {}, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

test('typed errors map to distinct exit codes', () => {
  assert.equal(exitCodeFor(new InvalidError('x')), EXIT.invalid);
  assert.equal(exitCodeFor(new TooLargeError('x')), EXIT.invalid);
  assert.equal(exitCodeFor(new NotFoundError('x')), EXIT.notFound);
  assert.equal(exitCodeFor(new UnauthorizedError('x')), EXIT.unauthorized);
  assert.equal(exitCodeFor(new ForbiddenError('x')), EXIT.forbidden);
  assert.equal(exitCodeFor(new ConflictError('x')), EXIT.conflict);
  assert.equal(exitCodeFor(new Error('boom')), EXIT.failure);
});

test('run() bundles in-process, writing through the context only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cli-run-'));
  try {
    await cp(new URL('../../test/fixtures/bundles/wave-app/', import.meta.url), join(dir, 'app'), { recursive: true });
    const c = capture(dir);
    assert.equal(await run(['bundle', '--app-dir', 'app', '--output-dir', 'out'], c.ctx), 0, c.err());
    assert.equal(c.out(), `${join(dir, 'out', 'ai.h2o.wave.fixture-peak.0.1.2.wave')}\n`);
    const bad = capture(dir);
    assert.equal(await run(['bundle', '--app-dir', 'missing'], bad.ctx), EXIT.notFound);
    assert.match(bad.err(), /^error: app folder .*missing does not exist/);
    const usage = capture(dir);
    assert.equal(await run(['no-such-command'], usage.ctx), EXIT.invalid);
    assert.match(usage.err(), /unknown command/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('every command has --help with an example of itself', async () => {
  const { commandNodes } = await import('./completion.ts');
  const { buildProgram } = await import('./program.ts');
  const nodes = commandNodes(buildProgram(capture('/').ctx));
  assert.ok(nodes.length > 30, `only ${nodes.length} commands`);
  for (const { path } of nodes) {
    const words = path.split(' ').slice(1);
    const c = capture('/');
    assert.equal(await run([...words, '--help'], c.ctx), 0, path);
    assert.match(c.out(), new RegExp(`^Usage: ${path}`), path);
    // The example names the command itself (a group may show one of its subcommands).
    assert.match(c.out(), new RegExp(`Examples?:\\n {2}\\$ ${path}`), `${path} --help has no example`);
  }
});
