import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidError, TooLargeError } from '../lib/errors.ts';
import { extractBundle } from './extract.ts';
import { inspectBundle } from './inspect.ts';
import { DEFAULT_BUNDLE_LIMITS } from './limits.ts';
import { writeRawZip } from './raw-zip.ts';
import type { RawZipEntry } from './raw-zip.ts';

const APP_TOML = Buffer.from('[App]\nName = "ai.test.app"\nVersion = "1.0.0"\n[Runtime]\nModule = "app"\n');
let dir: string;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-extract-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bundle(...extra: RawZipEntry[]): Promise<string> {
  return writeRawZip(join(dir, `b${n++}.wave`), [{ name: 'app.toml', data: APP_TOML }, ...extra]);
}

function freshDest(): string {
  return join(dir, `dest${n++}`, 'app');
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

describe('extracting a valid bundle', () => {
  test('writes every file with its content, and directories', async () => {
    const code = Buffer.from('from h2o_wave import main\n'.repeat(200));
    const p = await bundle({ name: 'pkg/', data: Buffer.alloc(0) }, { name: 'pkg/run.py', data: code }, { name: 'empty/', data: Buffer.alloc(0) }, { name: 'stored.txt', data: Buffer.from('plain'), method: 0 });
    const dest = freshDest();
    const r = await extractBundle(p, dest, DEFAULT_BUNDLE_LIMITS);
    assert.equal(r.filesWritten, 3);
    assert.equal(r.bytesWritten, APP_TOML.length + code.length + 5);
    assert.equal(r.manifest.runtime.module, 'app');
    assert.deepEqual(await readFile(join(dest, 'pkg/run.py')), code);
    assert.deepEqual(await readFile(join(dest, 'app.toml')), APP_TOML);
    assert.equal(await readFile(join(dest, 'stored.txt'), 'utf8'), 'plain');
    assert.ok((await stat(join(dest, 'empty'))).isDirectory());
  });

  test('files get safe modes: 0644, or 0755 when executable; setuid, setgid, sticky and world-write dropped', async () => {
    const p = await bundle(
      { name: 'plain.py', data: Buffer.from('x'), unixMode: 0o100666 },
      { name: 'run.sh', data: Buffer.from('#!/bin/sh\n'), unixMode: 0o100775 },
      { name: 'suid', data: Buffer.from('x'), unixMode: 0o107777 },
      { name: 'dos.txt', data: Buffer.from('x'), unixMode: 0, host: 0 },
    );
    const dest = freshDest();
    await extractBundle(p, dest, DEFAULT_BUNDLE_LIMITS);
    const mode = async (f: string): Promise<number> => (await stat(join(dest, f))).mode & 0o7777;
    assert.equal(await mode('plain.py'), 0o644);
    assert.equal(await mode('run.sh'), 0o755);
    assert.equal(await mode('suid'), 0o755);
    assert.equal(await mode('dos.txt'), 0o644);
  });

  test('an existing empty destination folder is used', async () => {
    const dest = freshDest();
    await mkdir(dest, { recursive: true });
    await extractBundle(await bundle(), dest, DEFAULT_BUNDLE_LIMITS);
    assert.deepEqual(await readdir(dest), ['app.toml']);
  });
});

describe('refusing at extraction', () => {
  test('a lying header: an entry that decompresses past its declared size is stopped, and nothing is left behind', async () => {
    const real = Buffer.alloc(20 * 1024 * 1024, 0x61);
    // Declared 100 bytes: the ratio check on headers passes, only the streaming check can catch it.
    const p = await bundle({ name: 'data.bin', data: real, declaredUncompressedSize: 100 });
    await inspectBundle(p, DEFAULT_BUNDLE_LIMITS); // import does not decompress data.bin
    const dest = freshDest();
    await assert.rejects(extractBundle(p, dest, DEFAULT_BUNDLE_LIMITS), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.equal(err.issues[0]?.path, 'data.bin');
      assert.match(err.issues[0]!.message, /more than its declared 100 B/);
      return true;
    });
    assert.equal(await exists(dest), false, 'the destination created by extract is removed');
  });

  test('an entry shorter than declared is refused', async () => {
    const p = await bundle({ name: 'short.bin', data: Buffer.from('abc'), declaredUncompressedSize: 10 });
    await assert.rejects(extractBundle(p, freshDest(), DEFAULT_BUNDLE_LIMITS), /decompresses to 3 bytes, not the declared 10/);
  });

  test('a CRC-32 mismatch in any entry is refused', async () => {
    const p = await bundle({ name: 'app.py', data: Buffer.from('print(1)\n'), crc32: 42 });
    await assert.rejects(extractBundle(p, freshDest(), DEFAULT_BUNDLE_LIMITS), /app\.py fails its CRC-32 check/);
  });

  test('corrupt compressed data in an entry import did not read is refused', async () => {
    const p = await bundle({ name: 'app.py', data: Buffer.from('print(1)\n'.repeat(10)), compressed: Buffer.from([0xff, 0xff, 0xff, 0xff]) });
    await inspectBundle(p, DEFAULT_BUNDLE_LIMITS);
    await assert.rejects(extractBundle(p, freshDest(), DEFAULT_BUNDLE_LIMITS), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.equal(err.issues[0]?.path, 'app.py');
      assert.match(err.issues[0]!.message, /cannot be decompressed/);
      return true;
    });
  });

  test('traversal, absolute and symlink entries are refused and nothing is written outside the folder', async () => {
    const base = join(dir, `outside${n++}`);
    await mkdir(base);
    const dest = join(base, 'app');
    for (const e of [
      { name: '../escaped.txt', data: Buffer.from('x') },
      { name: `${base}/abs.txt`, data: Buffer.from('x') },
      { name: 'link', data: Buffer.from('../../etc/passwd'), unixMode: 0o120777 },
    ]) {
      await assert.rejects(extractBundle(await bundle(e), dest, DEFAULT_BUNDLE_LIMITS), InvalidError);
    }
    assert.deepEqual(await readdir(base), [], 'nothing written next to or inside the destination');
  });

  test('limits are enforced at extraction as at import', async () => {
    await assert.rejects(extractBundle(await bundle({ name: 'a', data: Buffer.from('1') }), freshDest(), { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 1 }), TooLargeError);
    await assert.rejects(extractBundle(await bundle({ name: 'bomb', data: Buffer.alloc(5 * 1024 * 1024) }), freshDest(), DEFAULT_BUNDLE_LIMITS), /maxCompressionRatio/);
  });

  test('a destination that is not empty is refused, so nothing planted there (a symlink) is followed', async () => {
    const dest = freshDest();
    await mkdir(dest, { recursive: true });
    await symlink('/tmp', join(dest, 'static'));
    await assert.rejects(extractBundle(await bundle({ name: 'static/app.css', data: Buffer.from('x') }), dest, DEFAULT_BUNDLE_LIMITS), /not empty/);
    assert.deepEqual(await readdir(dest), ['static'], 'the existing content is left alone');
  });

  test('on failure, an existing destination is emptied but kept', async () => {
    const dest = freshDest();
    await mkdir(dest, { recursive: true });
    const p = await bundle({ name: 'a.txt', data: Buffer.from('ok') }, { name: 'z.bin', data: Buffer.from('abc'), crc32: 7 });
    await assert.rejects(extractBundle(p, dest, DEFAULT_BUNDLE_LIMITS), /CRC-32/);
    assert.deepEqual(await readdir(dest), []);
    assert.ok((await stat(dest)).isDirectory());
  });
});
