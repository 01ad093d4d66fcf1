import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './duration.ts';

test('Go-style durations parse to milliseconds', () => {
  assert.equal(parseDuration('30m'), 30 * 60_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('0s'), 0);
});

test('anything else is refused', () => {
  for (const bad of ['', '30', 'm', '-5m', '+5m', '2 h', '2hours', '1d', 'h1', '1h 30m']) assert.equal(parseDuration(bad), undefined, bad);
});
