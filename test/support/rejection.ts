import assert from 'node:assert/strict';

/**
 * Awaits `p`, asserts it rejected with an instance of `cls` (and a message
 * matching `match`), and returns that error typed, for further assertions.
 */
export async function rejection<E extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => E, match?: RegExp): Promise<E> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  if (match) assert.match(caught.message, match);
  return caught;
}
