import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { ConditionSchema, findCondition, isConditionTrue, removeCondition, rfc3339, setCondition } from './condition.ts';

const t0 = new Date('2024-05-01T10:00:00.123Z');
const t1 = new Date('2024-05-01T11:00:00Z');

test('setCondition appends a new type with lastTransitionTime = now, without touching the input', () => {
  const before = Object.freeze([]) as readonly never[];
  const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'Starting', message: 'pod pending' }, t0);
  assert.deepEqual(after, [{ type: 'Ready', status: 'False', reason: 'Starting', message: 'pod pending', lastTransitionTime: '2024-05-01T10:00:00Z' }]);
  assert.equal(before.length, 0);
});

test('same status keeps lastTransitionTime but updates reason and message; a new status moves it', () => {
  let c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Starting', message: 'a' }, t0);
  c = setCondition(c, { type: 'Ready', status: 'False', reason: 'ImagePull', message: 'b', observedGeneration: 2 }, t1);
  assert.equal(c[0]!.lastTransitionTime, '2024-05-01T10:00:00Z');
  assert.equal(c[0]!.reason, 'ImagePull');
  assert.equal(c[0]!.observedGeneration, 2);
  c = setCondition(c, { type: 'Ready', status: 'True', reason: 'Running', message: '' }, t1);
  assert.equal(c[0]!.lastTransitionTime, '2024-05-01T11:00:00Z');
  assert.ok(isConditionTrue(c, 'Ready'));
});

test('order is kept, other types are untouched, removeCondition drops one type', () => {
  let c = setCondition(undefined, { type: 'Scheduled', status: 'True', reason: 'Bound', message: '' }, t0);
  c = setCondition(c, { type: 'Ready', status: 'Unknown', reason: 'Starting', message: '' }, t0);
  c = setCondition(c, { type: 'Scheduled', status: 'False', reason: 'Unschedulable', message: 'no node' }, t1);
  assert.deepEqual(c.map((x) => x.type), ['Scheduled', 'Ready']);
  assert.equal(findCondition(c, 'Ready')?.status, 'Unknown');
  assert.deepEqual(removeCondition(c, 'Scheduled').map((x) => x.type), ['Ready']);
  assert.equal(findCondition(undefined, 'Ready'), undefined);
});

test('conditions produced by setCondition pass the metav1.Condition schema; a bad reason does not', () => {
  const [c] = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Running', message: 'ok' }, t0);
  assert.ok(Value.Check(ConditionSchema, c));
  assert.equal(Value.Check(ConditionSchema, { ...c, reason: 'has spaces' }), false);
  assert.equal(Value.Check(ConditionSchema, { ...c, status: 'Yes' }), false);
  assert.equal(Value.Check(ConditionSchema, { ...c, lastTransitionTime: 'yesterday' }), false);
  assert.equal(rfc3339(t0), '2024-05-01T10:00:00Z');
});
