import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryNameProblem, parentDirs } from './entry-names.ts';

test('normal relative names are safe', () => {
  for (const ok of ['app.toml', 'static/icon.png', 'a/b/c.py', 'dir/', '.appignore', 'a..b/c', 'ünïcode.txt']) assert.equal(entryNameProblem(ok), undefined, ok);
});

test('traversal, absolute, Windows-style and odd names are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/], ['../x', /traversal/], ['a/../../x', /traversal/], ['..', /traversal/], ['/etc/x', /absolute/], ['a\\b', /backslash/],
    ['C:/x', /drive letter/], ['c:x', /drive letter/], ['./a', /'\.' segment/], ['a//b', /empty segment/], ['a\u0000b', /control/], [`${'x'.repeat(256)}/y`, /longer than 255/],
  ];
  for (const [name, re] of cases) assert.match(entryNameProblem(name) ?? 'accepted', re, JSON.stringify(name));
});

test('parent directories of an entry', () => {
  assert.deepEqual(parentDirs('a/b/c.txt'), ['a', 'a/b']);
  assert.deepEqual(parentDirs('a/b/'), ['a']);
  assert.deepEqual(parentDirs('x'), []);
});
