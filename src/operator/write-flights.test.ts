import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteFlights } from './write-flights.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('events of an object arriving while our write of it is in flight are held, and only those that are not its echo queue the key', async () => {
  const queued: { key: string; since: number }[] = [];
  const flights = new WriteFlights((key, since) => queued.push({ key, since }));
  assert.equal(flights.hold('ns/a', 'Secret/a', 5), false, 'no write in flight: decide at once');

  const write = deferred<number>();
  let ours: number | undefined;
  const run = flights.run('ns/a', 'Secret/a', async () => (ours = await write.promise), (e) => e.rv === ours);
  const before = performance.now();
  assert.equal(flights.hold('ns/a', 'Secret/a', 7), true, 'the echo, before the response');
  assert.equal(flights.hold('ns/a', 'Secret/a', 8), true, 'someone else, after our write');
  assert.equal(flights.hold('ns/a', 'Secret/a', undefined), true, 'deleted');
  assert.equal(flights.hold('ns/a', 'Deployment/a', 9), false, 'another object of the key is not held');
  assert.equal(flights.hold('ns/b', 'Secret/a', 9), false, 'nor the same object name of another key');
  assert.equal(queued.length, 0, 'nothing is decided while the write is in flight');
  write.resolve(7);
  assert.equal(await run, 7);
  assert.deepEqual(queued.map((q) => q.key), ['ns/a', 'ns/a'], 'rv 8 and the deletion queue the key; the echo (7) does not');
  assert.ok(queued.every((q) => q.since >= before && q.since <= performance.now()), 'queue wait counts from the event, not from the decision');
  assert.equal(flights.hold('ns/a', 'Secret/a', 10), false, 'the flight is over');
});

test('a failed write queues every held event; overlapping writes of one object hold until the last returns', async () => {
  const queued: string[] = [];
  const flights = new WriteFlights((key) => queued.push(key));
  const first = deferred<void>();
  const second = deferred<void>();
  const a = flights.run('ns/a', 'status', () => first.promise, () => false);
  const b = flights.run('ns/a', 'status', () => second.promise, () => false);
  flights.hold('ns/a', 'status', 3);
  first.reject(new Error('conflict'));
  await assert.rejects(a, /conflict/);
  assert.equal(queued.length, 0, 'held while the second write is in flight');
  assert.equal(flights.hold('ns/a', 'status', 4), true);
  second.resolve();
  await b;
  assert.deepEqual(queued, ['ns/a', 'ns/a']);
});

test('without a queue to add to, nothing is held (every event is decided when it arrives)', async () => {
  const flights = new WriteFlights(undefined);
  const w = deferred<void>();
  const run = flights.run('ns/a', 'status', () => w.promise, () => false);
  assert.equal(flights.hold('ns/a', 'status', 1), false);
  w.resolve();
  await run;
});
