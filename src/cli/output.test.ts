import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFields, formatTable, formatTime, parseVisibility, relativeAge } from './output.ts';
import { InvalidError } from '../lib/errors.ts';

test('relativeAge uses the largest whole unit', () => {
  const now = new Date('2026-01-31T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
  assert.equal(relativeAge(ago(0), now), '0s');
  assert.equal(relativeAge(ago(59), now), '59s');
  assert.equal(relativeAge(ago(5 * 60 + 59), now), '5m');
  assert.equal(relativeAge(ago(3 * 3600 + 1), now), '3h');
  assert.equal(relativeAge(ago(18 * 86400), now), '18d');
  assert.equal(relativeAge(ago(800 * 86400), now), '2y');
  // Clock skew between client and server never shows a negative age.
  assert.equal(relativeAge(ago(-30), now), '0s');
});

test('formatTable pads every column but the last to its widest cell', () => {
  assert.equal(formatTable(['ID', 'TITLE', 'TAGS'], [['a', 'Peak 0.1.2', ''], ['bbbb', 'X', 'Beta']]), 'ID     TITLE        TAGS\na      Peak 0.1.2\nbbbb   X            Beta\n');
});

test('formatFields aligns values; formatTime matches the seed', () => {
  assert.equal(formatFields([['ID', '1'], ['Created At', 'x'], ['Tags', '']]), 'ID           1\nCreated At   x\nTags\n');
  assert.equal(formatTime('2020-10-13T06:28:03.050Z'), '2020-10-13 06:28:03 +0000 UTC');
});

test('parseVisibility accepts any case and names the flag otherwise', () => {
  assert.equal(parseVisibility('all_users'), 'ALL_USERS');
  assert.throws(() => parseVisibility('world'), (e: unknown) => e instanceof InvalidError && e.issues[0]!.path === '-v, --visibility');
});
