import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TooLargeError } from '../lib/errors.ts';
import { receiveToFile } from './receive.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-receive-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function chunks(n: number, size: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      this.push(i++ < n ? Buffer.alloc(size, i % 256) : null);
    },
  });
}

const gone = (p: string): Promise<boolean> => access(p).then(() => false, () => true);

test('streams the upload to the file and returns its SHA-256 and size', async () => {
  const path = join(dir, 'ok.wave');
  const r = await receiveToFile(chunks(40, 64 * 1024), path, 10 * 1024 * 1024);
  const data = await readFile(path);
  assert.equal(r.size, 40 * 64 * 1024);
  assert.equal(data.length, r.size);
  assert.equal(r.sha256, createHash('sha256').update(data).digest('hex'));
});

test('an upload of exactly the limit is accepted', async () => {
  const r = await receiveToFile(chunks(4, 1000), join(dir, 'exact.wave'), 4000);
  assert.equal(r.size, 4000);
});

test('past the limit it throws TooLargeError naming the limit and how to raise it, and removes the partial file', async () => {
  const path = join(dir, 'big.wave');
  const source = chunks(1000, 64 * 1024);
  await assert.rejects(receiveToFile(source, path, 1024 * 1024), (err: unknown) => {
    assert.ok(err instanceof TooLargeError);
    assert.match(err.message, /limit of 1 MiB \(maxBundleBytes\).*Server\.MaxUploadSize.*H2O_CLOUD_SERVER_MAX_UPLOAD_SIZE/);
    return true;
  });
  assert.ok(await gone(path));
  assert.ok(source.destroyed, 'the source is not read further');
});

test('a failing source removes the partial file and passes the error on', async () => {
  const path = join(dir, 'broken.wave');
  let i = 0;
  const source = new Readable({
    read() {
      if (i++ < 3) this.push(Buffer.alloc(1000));
      else this.destroy(new Error('connection reset'));
    },
  });
  await assert.rejects(receiveToFile(source, path, 1e9), /connection reset/);
  assert.ok(await gone(path));
});

test('an existing file is never overwritten', async () => {
  const path = join(dir, 'exists.wave');
  await writeFile(path, 'keep me');
  await assert.rejects(receiveToFile(chunks(1, 10), path, 100), /EEXIST/);
  assert.equal(await readFile(path, 'utf8'), 'keep me');
});
