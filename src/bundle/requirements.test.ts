import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkWheelReferences, wheelReferences } from './requirements.ts';

test('local wheel references are found in every form pip accepts', () => {
  const text = [
    '# comment ./x.whl',
    'h2o-wave>=0.26',
    './wheels/a-1.0-py3-none-any.whl',
    'wheels/b-1.0-py3-none-any.whl  # trailing comment',
    'c @ file:./wheels/c-1.0-py3-none-any.whl',
    'd @ https://example.com/d-1.0-py3-none-any.whl',
    'e-1.0-py3-none-any.whl[extra] ; python_version >= "3.8"',
    '--find-links ./wheels',
  ].join('\n');
  assert.deepEqual(
    wheelReferences(text).map((r) => [r.line, r.path]),
    [[3, './wheels/a-1.0-py3-none-any.whl'], [4, 'wheels/b-1.0-py3-none-any.whl'], [5, './wheels/c-1.0-py3-none-any.whl'], [7, 'e-1.0-py3-none-any.whl']],
  );
});

test('each missing, absolute or escaping wheel is an issue naming its line', () => {
  const files = new Set(['wheels/a-1.0-py3-none-any.whl']);
  const issues = checkWheelReferences('./wheels/a-1.0-py3-none-any.whl\nwheels/missing.whl\n/opt/x.whl\n../y.whl\n', files);
  assert.deepEqual(issues.map((i) => i.path), ['requirements.txt:2', 'requirements.txt:3', 'requirements.txt:4']);
  assert.match(issues[0]!.message, /"wheels\/missing\.whl".*not in the bundle/);
  assert.match(issues[1]!.message, /absolute path/);
  assert.match(issues[2]!.message, /outside the bundle/);
});
