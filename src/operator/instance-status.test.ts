import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { appInstance } from '../k8s/crd/index.ts';
import type { AppInstance } from '../k8s/crd/index.ts';
import { observePod, type PodObservation } from './instance-status.ts';

const now = new Date('2026-01-01T10:00:00Z');
const inst = (over: Partial<AppInstance['spec']> = {}, status?: AppInstance['status']): AppInstance => ({
  ...appInstance('i', 'ns', { app: { name: 'a', version: '1.0.0' }, owner: { subject: 's', name: 'n' }, ...over }),
  ...(status ? { status } : {}),
});
const obs = (o: Partial<PodObservation>): PodObservation => ({ instance: inst(), pvcs: [], pods: [], now, timeoutSeconds: 300, timeoutField: 'Scheduler.WriteTimeoutSeconds = 300', ...o });
const pod = (status: V1Pod['status'], nodeName?: string): V1Pod => ({ metadata: { name: 'i-1', creationTimestamp: new Date('2026-01-01T09:59:00Z') }, spec: { containers: [], ...(nodeName ? { nodeName } : {}) }, status });
const ready = (r: ReturnType<typeof observePod>) => r.conditions.find((c) => c.type === 'Ready')!;

test('a ready container → Ready True Running, summary Ready, startedAt from the pod, readyAt now', () => {
  const r = observePod(obs({ pods: [pod({ phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: '', imageID: '', state: { running: {} } }] }, 'n1')] }));
  assert.equal(ready(r).status, 'True');
  assert.equal(ready(r).reason, 'Running');
  assert.equal(r.summary, 'Ready');
  assert.equal(r.startedAt, '2026-01-01T09:59:00Z');
  assert.equal(r.readyAt, '2026-01-01T10:00:00Z');
  assert.equal(r.requeueAfterMs, undefined);
});

test('unbound PVCs → WaitingForStorage naming them, summary Pending, a requeue at the deadline', () => {
  const r = observePod(obs({ pvcs: [{ name: 'i-data', pvc: { status: { phase: 'Pending' } } }, { name: 'i-resources', pvc: undefined }] }));
  assert.equal(ready(r).reason, 'WaitingForStorage');
  assert.match(ready(r).message, /i-data \(Pending\), i-resources \(not created yet\)/);
  assert.equal(r.summary, 'Pending');
  assert.equal(r.requeueAfterMs, 300_100);
});

test("unschedulable → the scheduler's message; after the timeout → TimedOut naming the option", () => {
  const p = pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.' }] });
  const r = observePod(obs({ pods: [p] }));
  assert.equal(ready(r).reason, 'Unschedulable');
  assert.match(ready(r).message, /Insufficient nvidia\.com\/gpu/);
  const started = inst({}, { conditions: [{ type: 'Progressing', status: 'True', reason: 'Starting', message: '', lastTransitionTime: '2026-01-01T09:50:00Z' }] });
  const t = observePod(obs({ instance: started, pods: [p] }));
  assert.equal(ready(t).reason, 'TimedOut');
  assert.match(ready(t).message, /^not ready 300 s after the start \(Scheduler\.WriteTimeoutSeconds = 300\): the pod cannot be scheduled/);
  assert.equal(t.summary, 'Failed');
  assert.equal(t.conditions.find((c) => c.type === 'Progressing')?.reason, 'ProgressDeadlineExceeded');
  // The next reconcile, the pod still unschedulable: still TimedOut, not a fresh start.
  const timedOut = inst({}, { conditions: t.conditions.map((c) => ({ ...c, lastTransitionTime: '2026-01-01T09:55:00Z' })) });
  const again = observePod(obs({ instance: timedOut, pods: [p] }));
  assert.equal(ready(again).reason, 'TimedOut');
  assert.equal(again.conditions.find((c) => c.type === 'Progressing')?.reason, 'ProgressDeadlineExceeded');
});

test('CrashLoopBackOff carries the exit code and is not replaced by the timeout', () => {
  const started = inst({}, { conditions: [{ type: 'Progressing', status: 'True', reason: 'Starting', message: '', lastTransitionTime: '2026-01-01T09:00:00Z' }] });
  const r = observePod(obs({ instance: started, pods: [pod({ phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 5, image: '', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] }, 'n1')] }));
  assert.equal(ready(r).reason, 'CrashLoopBackOff');
  assert.match(ready(r).message, /5 restarts, last exit code 137, OOMKilled/);
  assert.equal(r.summary, 'Failed');
});

test('suspend: Suspending while pods remain, then Suspended; readyAt is kept', () => {
  const old = { readyAt: '2026-01-01T08:00:00Z' };
  const s1 = observePod(obs({ instance: inst({ suspend: true }, old), pods: [pod({ phase: 'Running' }, 'n1')] }));
  assert.equal(s1.summary, 'Suspending');
  const s2 = observePod(obs({ instance: inst({ suspend: true }, old) }));
  assert.equal(s2.summary, 'Suspended');
  assert.equal(ready(s2).reason, 'Suspended');
  assert.equal(s2.readyAt, '2026-01-01T08:00:00Z');
});
