import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidError } from '../lib/errors.ts';
import { DEFAULT_BUNDLE_LIMITS } from './limits.ts';
import { writeBundle } from './write.ts';
import { ZipArchive } from './zip-reader.ts';

const FIXTURE = new URL('../../test/fixtures/bundles/wave-app/', import.meta.url).pathname;
const Q_FIXTURE = new URL('../../test/fixtures/bundles/q-app/', import.meta.url).pathname;
let dir: string;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-write-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh copy of a fixture app folder. */
async function appCopy(from = FIXTURE): Promise<string> {
  const to = join(dir, `app${n++}`);
  await cp(from, to, { recursive: true });
  return to;
}

async function entryNames(path: string): Promise<string[]> {
  const z = await ZipArchive.open(path, DEFAULT_BUNDLE_LIMITS);
  try {
    return z.entries.map((e) => e.name);
  } finally {
    await z.close();
  }
}

describe('writeBundle', () => {
  test('writes <Name>.<Version>.wave with the app files, and reports its digest', async () => {
    const app = await appCopy();
    const w = await writeBundle(app);
    assert.equal(w.path, join(app, 'ai.h2o.wave.fixture-peak.0.1.2.wave'));
    assert.deepEqual(await entryNames(w.path), ['.appignore', 'README.md', 'app.toml', 'app/__init__.py', 'app/run.py', 'requirements.txt', 'static/icon.png', 'static/screenshot1.png']);
    const bytes = await readFile(w.path);
    assert.equal(w.size, bytes.length);
    assert.equal(w.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(w.manifest.app.title, 'Peak');
    assert.deepEqual(w.warnings, []);
    assert.deepEqual((await readdir(app)).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  });

  test('is deterministic: the same folder gives the same bytes, whatever the file times', async () => {
    const a = await appCopy();
    const b = await appCopy();
    const out1 = join(dir, `out${n++}`);
    const out2 = join(dir, `out${n++}`);
    await mkdir(out1);
    await mkdir(out2);
    await utimes(join(b, 'app/run.py'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    await utimes(join(b, 'static/icon.png'), new Date(), new Date());
    const w1 = await writeBundle(a, { outDir: out1 });
    const w2 = await writeBundle(b, { outDir: out2 });
    assert.equal(w1.sha256, w2.sha256);
    assert.deepEqual(await readFile(w1.path), await readFile(w2.path));
    // Running again in place (the previous .wave is now in the folder) gives the same bytes too.
    const w3 = await writeBundle(a, { outDir: out1 });
    const again = await writeBundle(a);
    assert.equal(w3.sha256, w1.sha256);
    assert.equal(again.sha256, w1.sha256);
    assert.equal((await writeBundle(a)).sha256, w1.sha256, 'the earlier bundle in the app folder is not bundled');
  });

  test('content changes change the bytes', async () => {
    const a = await appCopy();
    const w1 = await writeBundle(a, { outDir: join(dir) });
    await writeFile(join(a, 'app/run.py'), '# changed\n', { flag: 'a' });
    await rm(w1.path);
    const w2 = await writeBundle(a, { outDir: join(dir) });
    assert.notEqual(w1.sha256, w2.sha256);
    await rm(w2.path);
  });

  test('honours .appignore and the default exclusions', async () => {
    const app = await appCopy();
    const files: Record<string, string> = {
      'notes/todo.md': 'x', 'debug.log': 'x', 'keep.log': 'x', '.git/config': 'x', 'venv/bin/activate': 'x', '.venv/lib/x.py': 'x',
      '__pycache__/run.cpython-311.pyc': 'x', 'app/__pycache__/x.pyc': 'x', 'app/stale.pyc': 'x', 'old.0.0.1.wave': 'x', 'legacy.qz': 'x', 'data/big.csv': 'x',
    };
    for (const [f, c] of Object.entries(files)) {
      await mkdir(join(app, f, '..'), { recursive: true });
      await writeFile(join(app, f), c);
    }
    await writeFile(join(app, '.appignore'), '# dev files\nnotes/\n*.log\n!keep.log\n/data/\n');
    const w = await writeBundle(app, { outDir: join(dir, '.') });
    const names = await entryNames(w.path);
    assert.deepEqual(names, ['.appignore', 'README.md', 'app.toml', 'app/__init__.py', 'app/run.py', 'keep.log', 'requirements.txt', 'static/icon.png', 'static/screenshot1.png']);
    await rm(w.path);
  });

  test('a venv with symlinks inside is skipped, but a symlink in the app is refused', async () => {
    const app = await appCopy();
    await mkdir(join(app, 'venv/bin'), { recursive: true });
    await symlink('/usr/bin/python3', join(app, 'venv/bin/python'));
    const w = await writeBundle(app);
    assert.ok(!(await entryNames(w.path)).some((e) => e.startsWith('venv')));
    await symlink('/etc/passwd', join(app, 'static/passwd'));
    await symlink('app', join(app, 'applink'));
    await assert.rejects(writeBundle(app), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.deepEqual(err.issues.map((i) => i.path), ['applink', 'static/passwd']);
      assert.match(err.issues[0]!.message, /symbolic link/);
      return true;
    });
  });

  test('the executable bit is kept (0755), other modes are normalized (0644)', async () => {
    const app = await appCopy();
    await writeFile(join(app, 'start.sh'), '#!/bin/sh\n');
    await chmod(join(app, 'start.sh'), 0o700);
    await chmod(join(app, 'README.md'), 0o666);
    const w = await writeBundle(app);
    const z = await ZipArchive.open(w.path, DEFAULT_BUNDLE_LIMITS);
    try {
      assert.equal(z.find('start.sh')!.unixMode, 0o100755);
      assert.equal(z.find('README.md')!.unixMode, 0o100644);
    } finally {
      await z.close();
    }
  });

  test('an invalid app.toml reports every problem and writes nothing', async () => {
    const app = await appCopy();
    const text = await readFile(join(app, 'app.toml'), 'utf8');
    await writeFile(join(app, 'app.toml'), text.replace('Version = "0.1.2"', 'Version = "0.1"').replace('MemoryReservation = "400Mi"', 'MemoryReservation = "4Gi"'));
    await assert.rejects(writeBundle(app), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.deepEqual(err.issues.map((i) => i.path), ['App.Version', 'Runtime.MemoryReservation']);
      return true;
    });
    assert.deepEqual((await readdir(app)).filter((f) => f.endsWith('.wave') || f.endsWith('.tmp')), []);
  });

  test('manifest and file problems are reported together', async () => {
    const app = await appCopy();
    await writeFile(join(app, '.appignore'), 'README.md\n');
    await writeFile(join(app, 'requirements.txt'), 'h2o-wave\nwheels/private-1.0-py3-none-any.whl\n');
    await assert.rejects(writeBundle(app), (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      assert.deepEqual(err.issues.map((i) => i.path), ['App.LongDescription', 'requirements.txt:2']);
      return true;
    });
  });

  test('a non-image icon is caught before the bundle is written', async () => {
    const app = await appCopy();
    await writeFile(join(app, 'static/icon.png'), 'not a png');
    await assert.rejects(writeBundle(app), /static\/icon\.png is not an image/);
    assert.deepEqual((await readdir(app)).filter((f) => f.endsWith('.wave') || f.endsWith('.tmp')), []);
  });

  test('a legacy q-app.toml folder gives a .qz bundle', async () => {
    const app = await appCopy(Q_FIXTURE);
    const w = await writeBundle(app);
    assert.equal(w.path, join(app, 'ai.h2o.q.fixture-tour.0.0.15.qz'));
    assert.equal(w.manifest.format, 'qz');
  });

  test('a folder without app.toml is refused', async () => {
    const app = join(dir, `empty${n++}`);
    await mkdir(app);
    await assert.rejects(writeBundle(app), (err: unknown) => err instanceof InvalidError && err.issues[0]?.path === 'app.toml');
    await assert.rejects(writeBundle(join(dir, 'does-not-exist')), /does not exist/);
  });

  test('a folder with more files than the limit is refused with a hint about .appignore', async () => {
    const app = await appCopy();
    await assert.rejects(writeBundle(app, { limits: { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 3 } }), /8 files, over the server's limit of 3.*\.appignore/);
  });
});
