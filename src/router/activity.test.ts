import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityTracker } from './activity.ts';

test('activity is written at most once per interval, only when newer, and a failed write is retried next interval', async () => {
  const writes: string[] = [];
  let fail = 1;
  const tracker = new ActivityTracker(async (name, time) => {
    if (fail-- > 0) throw Object.assign(new Error('apiserver hiccup'), { code: 500 });
    writes.push(`${name} ${time}`);
  }, 60_000);
  try {
    const t0 = Date.parse('2026-11-22T10:00:00Z');
    tracker.touch('a');
    await tracker.flush(t0);
    assert.deepEqual(writes, [], 'the first write failed');
    await tracker.flush(t0 + 1000);
    assert.deepEqual(writes, [], 'not again within the interval');
    await tracker.flush(t0 + 60_000);
    assert.equal(writes.length, 1, 'retried once the interval passed, with no new activity');
    await tracker.flush(t0 + 120_000);
    assert.equal(writes.length, 1, 'nothing newer: no write');
    tracker.touch('a');
    await tracker.flush(t0 + 180_000);
    assert.equal(writes.length, 2, 'newer activity after the interval: written');
  } finally {
    await tracker.close();
  }
});

test('a 404 forgets the instance', async () => {
  let calls = 0;
  const tracker = new ActivityTracker(async () => {
    calls++;
    throw Object.assign(new Error('gone'), { code: 404 });
  }, 1000);
  tracker.touch('gone');
  await tracker.flush(0);
  assert.equal(tracker.lastActivity('gone'), undefined);
  await tracker.flush(10_000);
  assert.equal(calls, 1);
  await tracker.close();
});

test('a write that never answers is given up, so later flushes still write', async () => {
  const writes: string[] = [];
  let first = true;
  const tracker = new ActivityTracker(
    (name) => {
      if (first) {
        first = false;
        return new Promise<void>(() => {}); // hangs forever
      }
      writes.push(name);
      return Promise.resolve();
    },
    1000,
    undefined,
    50,
  );
  tracker.touch('a');
  await tracker.flush(0);
  tracker.touch('b');
  await tracker.flush(5000);
  assert.deepEqual(writes.sort(), ['a', 'b'], 'a retried after its timeout, b written');
  await tracker.close();
});
