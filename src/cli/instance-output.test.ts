import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, InstanceStatusDetail } from '../api/schemas.ts';
import { instanceFields, instanceStatusText, instanceTable, launchedFields, runtimeVersionTable, statusWord } from './instance-output.ts';

const now = new Date('2026-11-22T12:00:00Z');
const inst: Instance = {
  id: 'i-22222222',
  appId: '0b0f0000-0000-4000-8000-000000000001',
  appName: 'ai.h2o.wave.peak',
  appVersion: '0.1.2',
  appTitle: 'Peak',
  owner: 'alice',
  ownerName: 'alice@example.com',
  visibility: 'PRIVATE',
  suspended: false,
  status: 'Pending',
  reason: 'Unschedulable',
  message: 'no node has 500Mi of memory free',
  url: 'https://i-22222222.wave.example.com',
  createdAt: '2026-11-22T11:55:00Z',
};

test('launchedFields prints ID and URL like the seed', () => {
  assert.equal(launchedFields(inst), 'ID    i-22222222\nURL   https://i-22222222.wave.example.com\n');
});

test('instanceTable: aligned columns, age, status with its reason', () => {
  const ready: Instance = { ...inst, id: 'i-3', status: 'Ready', reason: undefined, appTitle: '', visibility: 'ALL_USERS' };
  assert.equal(
    instanceTable([inst, ready], now),
    [
      'ID           APP                      OWNER               CREATED   STATUS                    VISIBILITY   URL',
      'i-22222222   Peak 0.1.2               alice@example.com   5m        Pending (Unschedulable)   PRIVATE      https://i-22222222.wave.example.com',
      'i-3          ai.h2o.wave.peak 0.1.2   alice@example.com   5m        Ready                     ALL_USERS    https://i-22222222.wave.example.com',
      '',
    ].join('\n'),
  );
  assert.equal(statusWord({ status: 'Failed', reason: 'Failed' }), 'Failed');
});

test('instanceFields and instanceStatusText say why it is not ready', () => {
  assert.match(instanceFields(inst), /^Status\s+Pending \(Unschedulable\)\nMessage\s+no node has 500Mi of memory free$/m);
  const detail: InstanceStatusDetail = {
    ...inst,
    conditions: [{ type: 'Ready', status: 'False', reason: 'Unschedulable', message: 'no node fits', lastTransitionTime: '2026-11-22T11:58:00Z' }],
    pod: { name: 'i-22222222-abc', phase: 'Pending', containers: [{ name: 'app', ready: false, restarts: 3, state: 'waiting', reason: 'CrashLoopBackOff', exitCode: 1 }] },
    events: [{ type: 'Warning', reason: 'FailedScheduling', message: '0/1 nodes are available', count: 4, lastTimestamp: '2026-11-22T11:59:00Z' }],
  };
  const text = instanceStatusText(detail, now);
  assert.match(text, /\nConditions:\n {2}TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE\n {2}Ready\s+False\s+Unschedulable\s+2m\s+no node fits\n/);
  assert.match(text, /\nPod: i-22222222-abc \(Pending\)\n {2}CONTAINER.*\n {2}app\s+no\s+3\s+waiting\s+CrashLoopBackOff\s+1\n/);
  assert.match(text, /\nEvents:\n {2}TYPE.*\n {2}Warning\s+FailedScheduling\s+1m\s+4\s+0\/1 nodes are available\n$/);
  assert.match(instanceStatusText({ ...detail, pod: undefined, events: [] }, now), /\nPod: none\n\nEvents: none\n$/);
});

test('runtimeVersionTable', () => {
  assert.equal(
    runtimeVersionTable([{ name: 'py3.11', image: 'wave:1', default: true, deprecated: false, instances: 2 }]),
    'NAME     IMAGE    DEFAULT   DEPRECATED   INSTANCES\npy3.11   wave:1   yes       no           2\n',
  );
});
