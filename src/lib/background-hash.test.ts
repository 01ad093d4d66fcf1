import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BackgroundHash } from './background-hash.ts';

test('the worker hash equals node:crypto for many batches, and jobs do not mix', async () => {
  const a = new BackgroundHash(1024);
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
