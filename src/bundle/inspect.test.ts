import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import yazl from 'yazl';
import { InvalidError, TooLargeError } from '../lib/errors.ts';
import { inspectBundle } from './inspect.ts';
import { DEFAULT_BUNDLE_LIMITS } from './limits.ts';
import type { BundleLimits } from './limits.ts';
import { buildRawZip, writeRawZip } from './raw-zip.ts';
import type { RawZipEntry } from './raw-zip.ts';

const FIXTURE = new URL('../../test/fixtures/bundles/wave-app/', import.meta.url);
const APP_TOML = Buffer.from('[App]\nName = "ai.test.app"\nVersion = "1.0.0"\n[Runtime]\nModule = "app"\n');
let PNG: Buffer;
let dir: string;
let n = 0;

before(async () => {
  PNG = await readFile(new URL('static/icon.png', FIXTURE));
  dir = await mkdtemp(join(tmpdir(), 'bundle-inspect-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function zip(entries: RawZipEntry[]): Promise<string> {
  return writeRawZip(join(dir, `b${n++}.wave`), entries);
}

/** A valid bundle plus the given entries. */
async function bundle(...extra: RawZipEntry[]): Promise<string> {
  return zip([{ name: 'app.toml', data: APP_TOML }, ...extra]);
}

async function refusedWith(path: string, entryPath: string, message: RegExp, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<void> {
  await assert.rejects(inspectBundle(path, limits), (err: unknown) => {
    assert.ok(err instanceof InvalidError, `expected InvalidError, got ${String(err)}`);
    const hit = err.issues.find((i) => i.path === entryPath);
    assert.ok(hit, `expected an issue at ${entryPath}, got ${JSON.stringify(err.issues)}`);
    assert.match(hit.message, message);
    return true;
  });
}

async function tooLarge(path: string, message: RegExp, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<void> {
  await assert.rejects(inspectBundle(path, limits), (err: unknown) => {
    assert.ok(err instanceof TooLargeError, `expected TooLargeError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('inspecting a valid bundle', () => {
  test('returns manifest, icon, screenshots in natural order, long description and requirements', async () => {
    const readme = '# About\n';
    const p = await zip([
      { name: 'app.toml', data: Buffer.from(`${APP_TOML}\n[App.Extra]\n`.replace('[Runtime]', 'LongDescription = "README.md"\n[Runtime]')) },
      { name: 'README.md', data: Buffer.from(readme) },
      { name: 'requirements.txt', data: Buffer.from('h2o-wave\n./wheels/dep-1.0-py3-none-any.whl\n') },
      { name: 'wheels/', data: Buffer.alloc(0) },
      { name: 'wheels/dep-1.0-py3-none-any.whl', data: Buffer.from('PK fake wheel') },
      { name: 'static/icon.png', data: PNG },
      { name: 'static/screenshot10.png', data: PNG },
      { name: 'static/screenshot2.png', data: PNG },
      { name: 'static/deeper/screenshot0.png', data: Buffer.from('not considered') },
      { name: 'app.py', data: Buffer.from('print(1)\n') },
    ]);
    const b = await inspectBundle(p, DEFAULT_BUNDLE_LIMITS);
    assert.equal(b.format, 'wave');
    assert.equal(b.manifestName, 'app.toml');
    assert.equal(b.manifest.app.name, 'ai.test.app');
    assert.equal(b.manifest.app.longDescription, 'README.md');
    assert.equal(b.longDescription, readme);
    assert.match(b.requirements!, /dep-1\.0/);
    assert.deepEqual(b.icon && { name: b.icon.name, type: b.icon.contentType, same: b.icon.data.equals(PNG) }, { name: 'static/icon.png', type: 'image/png', same: true });
    assert.deepEqual(b.screenshots.map((s) => s.name), ['static/screenshot2.png', 'static/screenshot10.png']);
    assert.equal(b.entryCount, 10);
    assert.ok(b.uncompressedBytes > PNG.length * 3);
    assert.deepEqual(b.warnings.map((w) => w.path), ['App.Extra']);
  });

  test('q-app.toml and wave-app.toml at the root make a legacy qz bundle', async () => {
    const q = await inspectBundle(await zip([{ name: 'q-app.toml', data: APP_TOML }, { name: 'static/icon.jpg', data: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]) }]), DEFAULT_BUNDLE_LIMITS);
    assert.equal(q.format, 'qz');
    assert.equal(q.manifest.format, 'qz');
    assert.equal(q.icon?.contentType, 'image/jpeg');
    const w = await inspectBundle(await zip([{ name: 'wave-app.toml', data: APP_TOML }]), DEFAULT_BUNDLE_LIMITS);
    assert.equal(w.format, 'qz');
    assert.equal(w.manifestName, 'wave-app.toml');
  });

  test('a bundle without an icon gets a warning, not an error', async () => {
    const b = await inspectBundle(await bundle(), DEFAULT_BUNDLE_LIMITS);
    assert.equal(b.icon, undefined);
    assert.ok(b.warnings.some((w) => /no icon/.test(w.message)));
  });

  test('a bundle made by yazl with ordinary modes is accepted', async () => {
    const z = new yazl.ZipFile();
    z.addBuffer(APP_TOML, 'app.toml', { mode: 0o100644 });
    z.addBuffer(PNG, 'static/icon.png');
    z.addEmptyDirectory('data/');
    z.end();
    const chunks: Buffer[] = [];
    for await (const c of z.outputStream) chunks.push(c as Buffer);
    const p = join(dir, 'yazl.wave');
    await writeFile(p, Buffer.concat(chunks));
    const b = await inspectBundle(p, DEFAULT_BUNDLE_LIMITS);
    assert.equal(b.entryCount, 3);
  });

  test('only the needed entries are decompressed: a corrupt app file passes import (extract catches it)', async () => {
    const p = await bundle({ name: 'app.py', data: Buffer.from('print(1)\n'.repeat(10)), compressed: Buffer.from([0xff, 0xff, 0xff, 0xff]) });
    const b = await inspectBundle(p, DEFAULT_BUNDLE_LIMITS);
    assert.equal(b.entryCount, 2);
  });
});

describe('refusing hostile archives', () => {
  test('path traversal with ..', async () => {
    await refusedWith(await bundle({ name: '../evil.py', data: Buffer.from('x') }), '../evil.py', /'\.\.'.*traversal/);
    await refusedWith(await bundle({ name: 'static/../../evil.py', data: Buffer.from('x') }), 'static/../../evil.py', /traversal/);
  });

  test('absolute paths, backslashes and drive letters', async () => {
    await refusedWith(await bundle({ name: '/etc/cron.d/x', data: Buffer.from('x') }), '/etc/cron.d/x', /absolute/);
    await refusedWith(await bundle({ name: '..\\evil.py', data: Buffer.from('x') }), '..\\evil.py', /backslash/);
    await refusedWith(await bundle({ name: 'C:/Windows/x', data: Buffer.from('x') }), 'C:/Windows/x', /drive letter/);
  });

  test('symlink entries (unix S_IFLNK mode), from a raw writer and from yazl', async () => {
    await refusedWith(await bundle({ name: 'link', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }), 'link', /symbolic link/);
    const z = new yazl.ZipFile();
    z.addBuffer(APP_TOML, 'app.toml');
    z.addBuffer(Buffer.from('/etc/shadow'), 'static/icon.png', { mode: 0o120777 });
    z.end();
    const chunks: Buffer[] = [];
    for await (const c of z.outputStream) chunks.push(c as Buffer);
    const p = join(dir, 'yazl-link.wave');
    await writeFile(p, Buffer.concat(chunks));
    await refusedWith(p, 'static/icon.png', /symbolic link/);
  });

  test('special files (fifo, device)', async () => {
    await refusedWith(await bundle({ name: 'fifo', unixMode: 0o010644 }), 'fifo', /special file/);
  });

  test('duplicate entry names', async () => {
    await refusedWith(await bundle({ name: 'app.py', data: Buffer.from('a') }, { name: 'app.py', data: Buffer.from('b') }), 'app.py', /more than once/);
    await refusedWith(await bundle({ name: 'app.toml', data: APP_TOML }), 'app.toml', /more than once/);
  });

  test('an entry that is both a file and a directory', async () => {
    await refusedWith(await bundle({ name: 'lib', data: Buffer.from('x') }, { name: 'lib/x.py', data: Buffer.from('y') }), 'lib', /both a file and a directory/);
  });

  test('every structural problem is reported at once', async () => {
    const p = await bundle({ name: '../a', data: Buffer.from('1') }, { name: '/b', data: Buffer.from('2') }, { name: 'c', unixMode: 0o120777 });
    await assert.rejects(inspectBundle(p, DEFAULT_BUNDLE_LIMITS), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.deepEqual(err.issues.map((i) => i.path), ['../a', '/b', 'c']);
      return true;
    });
  });

  test('encrypted entries and unknown compression methods', async () => {
    await refusedWith(await bundle({ name: 'secret.py', data: Buffer.from('x'), flags: 1 }), 'secret.py', /encrypted/);
    await refusedWith(await bundle({ name: 'bz.py', data: Buffer.from('x'), method: 12, compressed: Buffer.from('x') }), 'bz.py', /compression method 12/);
  });

  test('entries whose data overlaps another entry', async () => {
    await refusedWith(await bundle({ name: 'a.py', data: Buffer.from('x'.repeat(100)) }, { name: 'b.py', data: Buffer.from('y'), centralOffset: 0 }), 'b.py', /inside the data of app\.toml/);
  });

  test('more entries than maxEntries', async () => {
    const p = await bundle(...Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.py`, data: Buffer.from('x') })));
    await tooLarge(p, /6 entries, over the limit of 5 \(maxEntries\).*Bundle\.MaxEntries/, { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 5 });
    await inspectBundle(p, { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 6 });
  });

  test('total declared uncompressed size over maxUncompressedBytes', async () => {
    const p = await bundle({ name: 'data.bin', data: Buffer.alloc(1000, 7) });
    await tooLarge(p, /maxUncompressedBytes/, { ...DEFAULT_BUNDLE_LIMITS, maxUncompressedBytes: 1000 });
  });

  test('a zip bomb: an entry whose compression ratio exceeds maxCompressionRatio', async () => {
    const zeros = Buffer.alloc(10 * 1024 * 1024);
    const p = await bundle({ name: 'bomb.bin', data: zeros });
    await tooLarge(p, /bomb\.bin expands \d+:1.*maxCompressionRatio.*zip bomb/);
    // The same entry is accepted when the limit is raised.
    await inspectBundle(p, { ...DEFAULT_BUNDLE_LIMITS, maxCompressionRatio: 2000 });
    // A small highly compressible file is harmless and not subject to the ratio check.
    await inspectBundle(await bundle({ name: 'blank.txt', data: Buffer.alloc(4096, 32) }), DEFAULT_BUNDLE_LIMITS);
  });

  test('a bundle file larger than maxBundleBytes', async () => {
    const p = await bundle({ name: 'x.bin', data: Buffer.alloc(2000, 1), method: 0 });
    await tooLarge(p, /maxBundleBytes.*H2O_CLOUD_SERVER_MAX_UPLOAD_SIZE/, { ...DEFAULT_BUNDLE_LIMITS, maxBundleBytes: 1000 });
  });

  test('missing app.toml, with a hint when it is one folder down', async () => {
    await refusedWith(await zip([{ name: 'app.py', data: Buffer.from('x') }]), 'app.toml', /missing at the root/);
    await refusedWith(await zip([{ name: 'myapp/app.toml', data: APP_TOML }]), 'app.toml', /found myapp\/app\.toml.*contents of the app folder/);
  });

  test('an invalid app.toml is refused with its field issues', async () => {
    const p = await zip([{ name: 'app.toml', data: Buffer.from('[App]\nName = "x"\nVersion = "one"\n[Runtime]\nModule = "m"\n') }]);
    await refusedWith(p, 'App.Version', /semantic version/);
  });

  test('LongDescription naming a file that is not in the archive', async () => {
    const p = await zip([{ name: 'app.toml', data: Buffer.from(APP_TOML.toString().replace('[Runtime]', 'LongDescription = "ABOUT.md"\n[Runtime]')) }]);
    await refusedWith(p, 'App.LongDescription', /not in the bundle/);
  });

  test('an icon or screenshot that is not really an image', async () => {
    await refusedWith(await bundle({ name: 'static/icon.png', data: Buffer.from('<html><script>alert(1)</script>') }), 'static/icon.png', /icon but is not a PNG, JPEG, GIF, WebP or SVG/);
    await refusedWith(await bundle({ name: 'static/screenshot1.png', data: Buffer.from('MZ\x90\x00') }), 'static/screenshot1.png', /screenshot/);
  });

  test('an SVG icon is accepted as image/svg+xml', async () => {
    const b = await inspectBundle(await bundle({ name: 'static/icon.svg', data: Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') }), DEFAULT_BUNDLE_LIMITS);
    assert.equal(b.icon?.contentType, 'image/svg+xml');
  });

  test('requirements.txt referencing a .whl that is not in the archive', async () => {
    const p = await bundle({ name: 'requirements.txt', data: Buffer.from('h2o-wave\n./wheels/missing-1.0-py3-none-any.whl\n') });
    await refusedWith(p, 'requirements.txt:2', /missing-1\.0-py3-none-any\.whl.*not in the bundle/);
  });

  test('an asset larger than maxAssetBytes', async () => {
    const big = Buffer.concat([PNG, Buffer.alloc(2048, 1)]);
    await tooLarge(await bundle({ name: 'static/icon.png', data: big }), /static\/icon\.png .* \(maxAssetBytes\)/, { ...DEFAULT_BUNDLE_LIMITS, maxAssetBytes: 1024 });
  });

  test('an asset whose header understates its size (lying header) is stopped while decompressing', async () => {
    const real = Buffer.concat([APP_TOML, Buffer.from(`# ${'x'.repeat(100_000)}\n`)]);
    const p = await zip([{ name: 'app.toml', data: real, declaredUncompressedSize: APP_TOML.length }]);
    await refusedWith(p, 'app.toml', /more than its declared/);
  });

  test('an asset failing its CRC-32 is refused', async () => {
    await refusedWith(await zip([{ name: 'app.toml', data: APP_TOML, crc32: 1234 }]), 'app.toml', /CRC-32/);
  });

  test('a local header naming a different file than the central directory', async () => {
    await refusedWith(await zip([{ name: 'app.toml', localName: 'evil.txt', data: APP_TOML }]), 'app.toml', /different file/);
  });

  test('a central directory record without its signature', async () => {
    const bytes = buildRawZip([{ name: 'app.toml', data: APP_TOML }, { name: 'b.py', data: Buffer.from('x') }]);
    const at = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(0xdeadbeef, at);
    const p = join(dir, 'bad-cd.wave');
    await writeFile(p, bytes);
    await refusedWith(p, 'bundle', /record #1 has no valid signature/);
  });

  test('a file that is not a zip archive', async () => {
    const p = join(dir, 'not-a-zip.wave');
    await writeFile(p, zlib.gzipSync(Buffer.from('hello')));
    await refusedWith(p, 'bundle', /end-of-central-directory/);
    await writeFile(p, Buffer.alloc(5));
    await refusedWith(p, 'bundle', /too short/);
  });
});
