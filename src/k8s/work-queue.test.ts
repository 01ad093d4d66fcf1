import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, RecordingQueueMetrics, TerminalError, WorkQueue } from './work-queue.ts';

describe('ExponentialBackoff', () => {
  test('doubles from 5 ms per consecutive failure up to the 1000 s cap, per key', () => {
    const b = new ExponentialBackoff();
    assert.deepEqual([1, 2, 3, 4, 5].map(() => b.when('a')), [5, 10, 20, 40, 80]);
    assert.equal(b.when('b'), 5, 'another key has its own count');
    for (let i = 0; i < 100; i++) b.when('a');
    assert.equal(b.when('a'), 1_000_000);
    assert.equal(b.retries('a'), 106);
  });

  test('forget resets a key to the base delay', () => {
    const b = new ExponentialBackoff(5, 1000);
    b.when('a');
    b.when('a');
    b.forget('a');
    assert.equal(b.retries('a'), 0);
    assert.equal(b.when('a'), 5);
  });

  test('rejects a cap below the base', () => {
    assert.throws(() => new ExponentialBackoff(10, 5), /baseMs <= maxMs/);
  });
});

describe('WorkQueue', () => {
  test('a key added many times while waiting is handed out once', async () => {
    const metrics = new RecordingQueueMetrics();
    const q = new WorkQueue({ metrics });
    for (const k of ['a', 'a', 'b', 'a', 'b']) q.add(k);
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.length, 0);
    assert.equal(metrics.adds, 5);
    assert.equal(metrics.queueWaits.length, 2);
    q.done('a');
    q.done('b');
    await q.shutdown();
  });

  test('never runs one key twice at once; a key added while running runs once more afterwards', async () => {
    const q = new WorkQueue();
    const active = new Map<string, number>();
    let maxSameKey = 0;
    let maxOverall = 0;
    const runs: string[] = [];
    const handler = async (key: string) => {
      runs.push(key);
      const n = (active.get(key) ?? 0) + 1;
      active.set(key, n);
      maxSameKey = Math.max(maxSameKey, n);
      maxOverall = Math.max(maxOverall, [...active.values()].reduce((s, v) => s + v, 0));
      // Events for the key arrive while it is being reconciled: they must collapse into one more run.
      if (key === 'x' && runs.filter((r) => r === 'x').length === 1) for (let i = 0; i < 5; i++) q.add('x');
      await sleep(30);
      active.set(key, n - 1);
    };
    const running = q.run(handler, 4);
    q.add('x');
    q.add('y');
    q.add('z');
    await sleep(150);
    await q.shutdown();
    await running;
    assert.equal(maxSameKey, 1, 'two workers had the same key at once');
    assert.ok(maxOverall >= 2, 'different keys should run in parallel');
    assert.equal(runs.filter((r) => r === 'x').length, 2);
    assert.equal(runs.filter((r) => r === 'y').length, 1);
  });

  test('addAfter hands the key out only after the delay; the earlier of two delays wins', async () => {
    const q = new WorkQueue();
    const started = performance.now();
    q.addAfter('k', 1500);
    q.addAfter('k', 60);
    q.addAfter('k', 1200);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), 'k');
    const waited = performance.now() - started;
    assert.ok(waited >= 55 && waited < 1000, `waited ${waited} ms`);
    q.done('k');
    await sleep(1600);
    assert.equal(q.length, 0, 'the later delays were dropped, not queued again');
    await q.shutdown();
  });

  test('a failing handler is retried with growing backoff; success forgets it', async () => {
    const metrics = new RecordingQueueMetrics();
    const errors: number[] = [];
    const q = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 10_000, metrics, onError: (_k, _e, retries) => errors.push(retries) });
    const times: number[] = [];
    const running = q.run(async () => {
      times.push(performance.now());
      if (times.length <= 4) throw new Error('not yet');
    });
    q.add('k');
    while (times.length < 5) await sleep(10);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Delays 20, 40, 80, 160 ms: each gap at least its delay, and growing.
    [20, 40, 80, 160].forEach((d, i) => assert.ok(gaps[i]! >= d - 2, `gap ${i} was ${gaps[i]} ms, expected >= ${d}`));
    assert.ok(gaps[3]! > gaps[0]! + 100, `gaps did not grow: ${gaps.join(', ')}`);
    assert.deepEqual(errors, [1, 2, 3, 4]);
    assert.equal(metrics.retries, 4);
    assert.equal(q.numRequeues('k'), 0, 'success forgets the failures');
    // The next failure starts again at the base delay.
    q.addRateLimited('k');
    const t0 = performance.now();
    while (times.length < 6) await sleep(2);
    // Without forget this delay would be 320 ms.
    assert.ok(performance.now() - t0 < 250, 'after forget the backoff starts again from 20 ms');
    await q.shutdown();
    await running;
  });

  test('requeueAfterMs from the handler brings the key back after the delay without counting a failure', async () => {
    const q = new WorkQueue();
    const times: number[] = [];
    const running = q.run(async () => {
      times.push(performance.now());
      return times.length === 1 ? { requeueAfterMs: 80 } : undefined;
    });
    q.add('k');
    await sleep(250);
    await q.shutdown();
    await running;
    assert.equal(times.length, 2);
    assert.ok(times[1]! - times[0]! >= 78, `requeued after ${times[1]! - times[0]!} ms`);
    assert.equal(q.numRequeues('k'), 0);
  });

  test('a TerminalError is not retried', async () => {
    const q = new WorkQueue({ baseDelayMs: 5 });
    let runs = 0;
    const running = q.run(async () => {
      runs++;
      throw new TerminalError('spec is invalid');
    });
    q.add('k');
    await sleep(100);
    await q.shutdown();
    await running;
    assert.equal(runs, 1);
  });

  test('shutdown waits for the key in flight, then hands out nothing and accepts nothing', async () => {
    const q = new WorkQueue();
    let finished = false;
    const running = q.run(async () => {
      await sleep(80);
      finished = true;
    });
    q.add('a');
    q.add('b');
    q.addAfter('c', 10);
    await sleep(10);
    await q.shutdown();
    assert.equal(finished, true, 'shutdown returned before the running handler finished');
    await running;
    q.add('d');
    assert.equal(q.length, 0);
    assert.equal(await q.get(), undefined);
  });

  test('queue wait is timed like client-go: from the first add since the last get, an add during a run included', async () => {
    const metrics = new RecordingQueueMetrics();
    const q = new WorkQueue({ metrics });
    q.add('k');
    await sleep(40);
    q.add('k'); // already waiting: the wait still counts from the first add
    assert.equal(await q.get(), 'k');
    assert.ok(metrics.queueWaits[0]! >= 38, `first wait ${metrics.queueWaits[0]} ms`);
    q.add('k'); // while processing: timed from now, through the rest of the run
    await sleep(50);
    q.done('k');
    assert.equal(await q.get(), 'k');
    assert.ok(metrics.queueWaits[1]! >= 48, `a key added during its run waits for the run: ${metrics.queueWaits[1]} ms`);
    q.done('k');
    q.addAfter('k', 60); // a delayed key is timed from when its delay ends
    assert.equal(await q.get(), 'k');
    assert.ok(metrics.queueWaits[2]! < 30, `the delay is not queue wait: ${metrics.queueWaits[2]} ms`);
    q.done('k');
    q.add('k', performance.now() - 100); // an add decided after its event is timed from the event
    assert.equal(await q.get(), 'k');
    assert.ok(metrics.queueWaits[3]! >= 99, `a back-dated add counts from its event: ${metrics.queueWaits[3]} ms`);
    q.done('k');
    await q.shutdown();
  });

  test('run rejects a concurrency that is not a positive integer', async () => {
    const q = new WorkQueue();
    await assert.rejects(q.run(async () => {}, 0), /concurrency must be a positive integer/);
    await q.shutdown();
  });
});
