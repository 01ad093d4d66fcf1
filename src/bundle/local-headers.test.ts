/**
 * Every local file header is checked against the central directory when the
 * archive is opened (issue #24 item 8a): a bundle whose headers disagree on an
 * entry the import never reads used to import and then fail to unpack at
 * start. Crafted archives (raw-zip.ts) are refused naming the entry; archives
 * from real tools (yazl, Info-ZIP, Python's zipfile), with data descriptors
 * and zip64 local extras, still open; and Python's zipfile, which checks the
 * local names, refuses nothing we accept.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { InvalidError } from '../lib/errors.ts';
import { DEFAULT_BUNDLE_LIMITS } from './limits.ts';
import { writeRawZip } from './raw-zip.ts';
import type { RawZipEntry } from './raw-zip.ts';
import { ZipArchive } from './zip-reader.ts';

const APP_TOML = Buffer.from('[App]\nName = "ai.test.app"\nVersion = "1.0.0"\n[Runtime]\nModule = "app"\n');
const RUN_PY = Buffer.from(`from h2o_wave import main, app, Q, ui\n${'# padding\n'.repeat(50)}`);
const hasPython = spawnSync('python3', ['-c', 'import zipfile'], { stdio: 'ignore' }).status === 0;
const hasInfoZip = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;

let dir: string;
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-local-headers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An archive of app.toml plus `bad` at app/run.py, an entry the import itself never decompresses. */
async function withEntry(bad: Partial<RawZipEntry>): Promise<string> {
  return writeRawZip(join(dir, `z${n++}.zip`), [
    { name: 'app.toml', data: APP_TOML },
    { name: 'app/run.py', data: RUN_PY, ...bad },
  ]);
}

/** Opens the archive and reads every entry; the decompressed contents by name. */
async function readAll(path: string): Promise<Map<string, Buffer>> {
  const archive = await ZipArchive.open(path, DEFAULT_BUNDLE_LIMITS);
  try {
    const out = new Map<string, Buffer>();
    for (const e of archive.entries) if (!e.isDirectory) out.set(e.name, await archive.readEntry(e, DEFAULT_BUNDLE_LIMITS.maxAssetBytes));
    return out;
  } finally {
    await archive.close();
  }
}

async function refused(path: string, entry: string, message: RegExp): Promise<void> {
  await assert.rejects(ZipArchive.open(path, DEFAULT_BUNDLE_LIMITS), (err: unknown) => {
    assert.ok(err instanceof InvalidError, `expected InvalidError, got ${String(err)}`);
    assert.match(err.message, /local file headers disagree with the central directory/);
    const hit = err.issues.find((i) => i.path === entry);
    assert.ok(hit, `expected an issue at ${entry}, got ${JSON.stringify(err.issues)}`);
    assert.match(hit.message, message);
    assert.match(hit.message, /re-create the archive with a standard zip tool/);
    return true;
  });
}

/** What Python's zipfile makes of the archive: 'ok' when it reads every member, else its error. */
function pythonReads(path: string): string {
  const script = `
import sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as z:
        for i in z.infolist():
            z.read(i)
    print('ok')
except Exception as e:
    print(type(e).__name__ + ': ' + str(e))
`;
  return execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }).trim();
}

/** A zip64 extra field for a local header: uncompressed size, then compressed size. */
function zip64Extra(uncompressed: number, compressed: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(16, 2);
  b.writeBigUInt64LE(BigInt(uncompressed), 4);
  b.writeBigUInt64LE(BigInt(compressed), 12);
  return b;
}

const DEFLATED_RUN_PY = (await import('node:zlib')).deflateRawSync(RUN_PY);

/** Local headers that disagree with the central directory, and what the refusal says. */
const MISMATCHES: Array<{ what: string; entry: Partial<RawZipEntry>; message: RegExp }> = [
  { what: 'another name', entry: { localName: 'app/evil.py' }, message: /names a different file in its local header \("app\/evil\.py"\)/ },
  { what: 'a name of another length', entry: { localName: 'app/run.pyc' }, message: /names a different file/ },
  { what: 'the other compression method', entry: { localMethod: 0 }, message: /compression method 0 in its local header but 8 in the central directory/ },
  { what: 'a compressed size', entry: { localCompressedSize: DEFLATED_RUN_PY.length - 1 }, message: /compressed size \d+ in its local header but \d+ in the central directory/ },
  { what: 'an uncompressed size', entry: { localUncompressedSize: RUN_PY.length + 1 }, message: /has size \d+ in its local header but \d+ in the central directory/ },
  { what: 'a CRC-32', entry: { localCrc32: 0x12345678 }, message: /CRC-32 12345678 in its local header/ },
  { what: 'zeros without a data descriptor', entry: { localCrc32: 0, localCompressedSize: 0, localUncompressedSize: 0 }, message: /CRC-32 00000000/ },
  { what: 'the encryption flag', entry: { localFlags: 0x801 }, message: /encryption flag set in its local header but clear/ },
  { what: 'the data descriptor flag only locally', entry: { localFlags: 0x808 }, message: /data descriptor flag set in its local header but clear/ },
  { what: 'the data descriptor flag only centrally', entry: { dataDescriptor: true, localFlags: 0x800 }, message: /data descriptor flag clear in its local header but set/ },
  { what: 'a zip64 marker without its extra field', entry: { localCompressedSize: 0xffffffff, localUncompressedSize: 0xffffffff }, message: /no zip64 extra field/ },
  { what: 'zip64 sizes that differ', entry: { localCompressedSize: 0xffffffff, localUncompressedSize: 0xffffffff, localExtra: zip64Extra(RUN_PY.length + 7, DEFLATED_RUN_PY.length) }, message: /has size \d+ in its local header/ },
  { what: 'the UTF-8 flag on a non-ASCII name', entry: { name: 'app/café.py', localFlags: 0 }, message: /UTF-8 name flag in only one of its headers/ },
];

describe('local headers that disagree with the central directory are refused at open, naming the entry', () => {
  for (const m of MISMATCHES) {
    test(m.what, async () => {
      await refused(await withEntry(m.entry), String(m.entry.name ?? 'app/run.py'), m.message);
    });
  }

  test('an entry offset pointing at no local header', async () => {
    // The 8-byte local extra leaves room, so the structural overlap check passes and the local header check speaks.
    const realOffset = 30 + 'app.toml'.length + (await import('node:zlib')).deflateRawSync(APP_TOML).length;
    const p = await writeRawZip(join(dir, `z${n++}.zip`), [
      { name: 'app.toml', data: APP_TOML },
      { name: 'app/run.py', data: RUN_PY, localExtra: Buffer.alloc(8), centralOffset: realOffset + 2 },
      { name: 'app/b.py', data: RUN_PY },
    ]);
    await refused(p, 'app/run.py', /has no local header where the central directory points/);
  });

  test('many bad entries: the first 20 are listed, the rest counted', async () => {
    const entries: RawZipEntry[] = [{ name: 'app.toml', data: APP_TOML }];
    for (let i = 0; i < 30; i++) entries.push({ name: `app/m${i}.py`, data: RUN_PY, localMethod: 0 });
    const p = await writeRawZip(join(dir, `z${n++}.zip`), entries);
    await assert.rejects(ZipArchive.open(p, DEFAULT_BUNDLE_LIMITS), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.equal(err.issues.length, 21);
      assert.match(err.issues[20]!.message, /^and 10 more local header problems/);
      return true;
    });
  });
});

describe('archives whose headers agree still open and read', () => {
  const AGREEING: Array<{ what: string; entry: Partial<RawZipEntry> }> = [
    { what: 'plain deflate', entry: {} },
    { what: 'stored', entry: { method: 0 } },
    { what: 'a data descriptor, zeros in the local header', entry: { dataDescriptor: true } },
    { what: 'a data descriptor, real values in the local header too', entry: { dataDescriptor: true, localCrc32: undefined, localCompressedSize: DEFLATED_RUN_PY.length, localUncompressedSize: RUN_PY.length } },
    { what: 'zip64 sizes in the local extra field', entry: { localCompressedSize: 0xffffffff, localUncompressedSize: 0xffffffff, localExtra: zip64Extra(RUN_PY.length, DEFLATED_RUN_PY.length) } },
    { what: 'the UTF-8 flag in one header only, on an ASCII name', entry: { localFlags: 0 } },
    { what: 'a non-ASCII name flagged UTF-8 in both', entry: { name: 'app/café.py' } },
  ];
  for (const a of AGREEING) {
    test(a.what, async () => {
      const contents = await readAll(await withEntry(a.entry));
      assert.ok(contents.get(String(a.entry.name ?? 'app/run.py'))!.equals(RUN_PY));
    });
  }

  test('yazl (what h2o bundle writes), from buffers and from files (data descriptors)', async () => {
    const file = join(dir, 'run.py');
    await writeFile(file, RUN_PY);
    const z = new yazl.ZipFile();
    z.addBuffer(APP_TOML, 'app.toml');
    z.addFile(file, 'app/run.py');
    z.addBuffer(Buffer.alloc(0), 'app/__init__.py');
    z.addEmptyDirectory('static');
    z.end();
    const chunks: Buffer[] = [];
    for await (const c of z.outputStream) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    assert.equal(bytes.readUInt16LE(bytes.indexOf(Buffer.from('app/run.py')) - 24) & 0x8, 0x8, 'the file entry uses a data descriptor');
    const p = join(dir, `yazl${n++}.zip`);
    await writeFile(p, bytes);
    assert.ok((await readAll(p)).get('app/run.py')!.equals(RUN_PY));
  });

  test('Info-ZIP zip: from files, from stdin (zip64 local extra), written to a pipe (data descriptors)', { skip: !hasInfoZip && 'needs Info-ZIP zip' }, async () => {
    const src = await mkdtemp(join(dir, 'infozip-'));
    await writeFile(join(src, 'app.toml'), APP_TOML);
    await writeFile(join(src, 'run.py'), RUN_PY);
    const p = join(dir, `infozip${n++}.zip`);
    execFileSync('zip', ['-q', '-X', p, 'app.toml', 'run.py'], { cwd: src });
    // Read from stdin, zip cannot know the size up front: 0xffffffff sizes and a zip64 extra in the local header.
    execFileSync('sh', ['-c', 'zip -q "$1" - < run.py', 'sh', p], { cwd: src });
    const contents = await readAll(p);
    assert.ok(contents.get('run.py')!.equals(RUN_PY));
    assert.ok(contents.get('-')!.equals(RUN_PY), 'the entry zip read from stdin');
    const piped = join(dir, `infozip${n++}.zip`);
    execFileSync('sh', ['-c', 'zip -q - app.toml run.py | cat > "$1"', 'sh', piped], { cwd: src });
    assert.equal((await readFile(piped)).readUInt16LE(6) & 0x8, 0x8, 'zip to a pipe uses data descriptors');
    assert.ok((await readAll(piped)).get('run.py')!.equals(RUN_PY));
  });

  test("Python's zipfile, seekable, streamed (data descriptors) and with forced zip64", { skip: !hasPython && 'needs python3' }, async () => {
    const script = `
import io, sys, zipfile
toml, run = open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read()
for i, mode in enumerate(['seek', 'stream', 'zip64']):
    out = io.BytesIO()
    class Unseekable(io.RawIOBase):
        def writable(self): return True
        def write(self, b): return out.write(b)
    target = Unseekable() if mode == 'stream' else out
    with zipfile.ZipFile(target, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('app.toml', toml)
        with z.open('app/run.py', 'w', force_zip64=(mode == 'zip64')) as f:
            f.write(run)
    open(sys.argv[1] + str(i), 'wb').write(out.getvalue())
`;
    const base = join(dir, `py${n++}-`);
    await writeFile(join(dir, 'app.toml'), APP_TOML);
    await writeFile(join(dir, 'run.py'), RUN_PY);
    execFileSync('python3', ['-c', script, base, join(dir, 'app.toml'), join(dir, 'run.py')]);
    for (const i of [0, 1, 2]) assert.ok((await readAll(`${base}${i}`)).get('app/run.py')!.equals(RUN_PY), `python archive ${i}`);
    assert.notEqual((await readFile(`${base}1`)).indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08])), -1, 'the streamed archive has data descriptors');
  });
});

describe('differential against Python zipfile', { skip: !hasPython && 'needs python3' }, () => {
  // Python reads the central directory and checks each local header's name
  // (not method or sizes): whatever it refuses, we refuse; whatever we
  // accept, it reads completely. We are stricter: method, flags, sizes, CRC.
  const cases = [...MISMATCHES.map((m) => ({ what: m.what, entry: m.entry })), { what: 'agreeing, deflate', entry: {} }, { what: 'agreeing, data descriptor', entry: { dataDescriptor: true } as Partial<RawZipEntry> }];
  for (const c of cases) {
    test(c.what, async () => {
      const p = await withEntry(c.entry);
      const python = pythonReads(p);
      const ours = await readAll(p).then(
        () => 'ok',
        (err: unknown) => String(err),
      );
      if (ours === 'ok') assert.equal(python, 'ok', `we accept what Python refuses: ${python}`);
      if (python !== 'ok') assert.notEqual(ours, 'ok', `Python refuses (${python}), we accept`);
      if (c.what.startsWith('agreeing')) assert.equal(ours, 'ok');
    });
  }
});
