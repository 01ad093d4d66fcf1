import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BackgroundHash } from './background-hash.ts';

test('the worker hash equals node:crypto for many batches, and jobs do not mix', async () => {
  const a = new BackgroundHash();
  const b = new BackgroundHash();
  const ref = createHash('sha256');
  for (let i = 0; i < 50; i++) {
    const chunks = [randomBytes(1000 + i), randomBytes(7)];
    for (const c of chunks) ref.update(c);
    await a.update(chunks);
    await b.update([Buffer.from('other')]);
  }
  assert.equal(await a.digest(), ref.digest('hex'));
  assert.equal(await b.digest(), createHash('sha256').update('other'.repeat(50)).digest('hex'));
  assert.equal(await new BackgroundHash().digest(), createHash('sha256').digest('hex'), 'empty input');
});

test('chunks larger than the ring and odd sizes hash correctly', async () => {
  const h = new BackgroundHash();
  const ref = createHash('sha256');
  for (const size of [5 * 1024 * 1024 + 3, 1, 1024 * 1024, 1024 * 1024 - 1, 777_777]) {
    const c = randomBytes(size);
    ref.update(c);
    await h.update([c]);
  }
  assert.equal(await h.digest(), ref.digest('hex'));
});
