/**
 * What an AppInstance's status says about its pod and volumes: pure
 * functions from the cached children to conditions (StorageBound, Scheduled,
 * Progressing, Ready), the summary word, startedAt/readyAt and when to look
 * again (the start timeout). The reconciler writes the result only when it
 * differs from the stored status. See docs/operator.md for every reason.
 */
import type { V1ContainerStatus, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { findCondition, INSTANCE_CONDITIONS, rfc3339 } from '../k8s/crd/index.ts';
import type { AppInstance, ConditionUpdate, InstanceSummary } from '../k8s/crd/index.ts';

export interface PodObservation {
  instance: AppInstance;
  /** Names of the PVCs the instance should have, and their cached objects (undefined: not created yet). */
  pvcs: Array<{ name: string; pvc: V1PersistentVolumeClaim | undefined }>;
  /** Pods labelled with the instance. */
  pods: readonly V1Pod[];
  now: Date;
  /** Seconds the instance may take to become ready (or to stop). */
  timeoutSeconds: number;
  /** The option or field timeoutSeconds came from, for the message. */
  timeoutField: string;
}

export interface PodStatusResult {
  conditions: ConditionUpdate[];
  summary: InstanceSummary;
  startedAt?: string;
  readyAt?: string;
  /** Look again after this many milliseconds (the start deadline), if something is pending. */
  requeueAfterMs?: number;
}

/** Ready reasons that mean "the user must act"; the start timeout does not replace them. */
const FAILED_REASONS = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'PodFailed', 'TimedOut']);
/** Ready reasons of an instance that waits for something outside the pod. */
const PENDING_REASONS = new Set(['WaitingForStorage', 'Unschedulable', 'NoPod']);

interface ReadyState {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** The newest pod that is not being deleted (the one a user cares about), else the newest one. */
export function currentPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const byAge = [...pods].sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp));
  return byAge.find((p) => !p.metadata?.deletionTimestamp) ?? byAge[0];
}

/** Conditions and summary for the instance's pod and volumes (the app and runtime are already resolved). */
export function observePod(o: PodObservation): PodStatusResult {
  const { instance, now } = o;
  const gen = instance.metadata.generation;
  const cond = (type: string, status: ConditionUpdate['status'], reason: string, message: string): ConditionUpdate => ({ type, status, reason, message, ...(gen !== undefined ? { observedGeneration: gen } : {}) });
  const old = instance.status;
  const conditions: ConditionUpdate[] = [];

  // Volumes.
  const unbound = o.pvcs.filter((p) => p.pvc?.status?.phase !== 'Bound');
  if (o.pvcs.length === 0) conditions.push(cond(INSTANCE_CONDITIONS.StorageBound, 'True', 'NoVolumes', 'the app needs no persistent volumes'));
  else if (unbound.length === 0) conditions.push(cond(INSTANCE_CONDITIONS.StorageBound, 'True', 'Bound', `volumes bound: ${o.pvcs.map((p) => p.name).join(', ')}`));
  else {
    const what = unbound.map((p) => `${p.name} (${p.pvc ? (p.pvc.status?.phase ?? 'Pending') : 'not created yet'})`).join(', ');
    conditions.push(cond(INSTANCE_CONDITIONS.StorageBound, 'False', 'WaitingForStorage', `waiting for storage: ${what}; check that the storage class provisions volumes`));
  }

  const pod = currentPod(o.pods);
  const podsLeft = o.pods.length;

  if (instance.spec.suspend) {
    const stopping = podsLeft > 0;
    conditions.push(cond(INSTANCE_CONDITIONS.Scheduled, 'False', 'Suspended', 'the instance is suspended: no pod runs'));
    conditions.push(cond(INSTANCE_CONDITIONS.Progressing, stopping ? 'True' : 'False', stopping ? 'Suspending' : 'Suspended', stopping ? `stopping ${podsLeft} pod(s); volumes are kept` : 'scaled to zero; volumes are kept'));
    conditions.push(cond(INSTANCE_CONDITIONS.Ready, 'False', stopping ? 'Suspending' : 'Suspended', stopping ? 'the instance is stopping' : 'the instance is suspended; resume it to start it again'));
    return { conditions, summary: stopping ? 'Suspending' : 'Suspended', ...(old?.readyAt ? { readyAt: old.readyAt } : {}) };
  }

  // Scheduling.
  const scheduledCond = pod?.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (!pod) conditions.push(cond(INSTANCE_CONDITIONS.Scheduled, 'Unknown', 'NoPod', 'no pod yet'));
  else if (scheduledCond?.status === 'True' || pod.spec?.nodeName) conditions.push(cond(INSTANCE_CONDITIONS.Scheduled, 'True', 'Scheduled', `scheduled on node ${pod.spec?.nodeName ?? '(unknown)'}`));
  else if (scheduledCond?.status === 'False') conditions.push(cond(INSTANCE_CONDITIONS.Scheduled, 'False', 'Unschedulable', scheduledCond.message || scheduledCond.reason || 'the scheduler found no node for the pod'));
  else conditions.push(cond(INSTANCE_CONDITIONS.Scheduled, 'Unknown', 'Pending', 'the pod waits for the scheduler'));

  let ready = readyState(pod, unbound.length > 0, conditions.find((c) => c.type === INSTANCE_CONDITIONS.StorageBound)!.message, scheduledCond?.status === 'False' ? (scheduledCond.message ?? '') : undefined);

  // The start deadline counts from when the rollout began (Progressing turned True), or from now.
  const oldProgressing = findCondition(old?.conditions, INSTANCE_CONDITIONS.Progressing);
  // A rollout that already timed out stays timed out until it becomes ready (or a suspend/resume starts a new one):
  // counting from now again would flip TimedOut back to Starting on the next reconcile.
  const timedOut = oldProgressing?.status === 'False' && oldProgressing.reason === 'ProgressDeadlineExceeded';
  const progressStart = timedOut ? 0 : oldProgressing?.status === 'True' && oldProgressing.reason !== 'Suspending' ? Date.parse(oldProgressing.lastTransitionTime) : now.getTime();
  const deadline = progressStart + o.timeoutSeconds * 1000;
  let requeueAfterMs: number | undefined;
  if (ready.status === 'False' && !FAILED_REASONS.has(ready.reason)) {
    if (now.getTime() >= deadline) {
      ready = { status: 'False', reason: 'TimedOut', message: `not ready ${o.timeoutSeconds} s after the start (${o.timeoutField}): ${ready.message}` };
    } else {
      requeueAfterMs = deadline - now.getTime() + 100;
    }
  }

  if (ready.status === 'True') conditions.push(cond(INSTANCE_CONDITIONS.Progressing, 'False', 'Available', 'the instance is running'));
  else if (ready.reason === 'TimedOut') conditions.push(cond(INSTANCE_CONDITIONS.Progressing, 'False', 'ProgressDeadlineExceeded', ready.message));
  else conditions.push(cond(INSTANCE_CONDITIONS.Progressing, 'True', 'Starting', ready.message));
  conditions.push(cond(INSTANCE_CONDITIONS.Ready, ready.status, ready.reason, ready.message));

  const wasReady = findCondition(old?.conditions, INSTANCE_CONDITIONS.Ready)?.status === 'True';
  const readyAt = ready.status === 'True' ? (wasReady && old?.readyAt ? old.readyAt : rfc3339(now)) : old?.readyAt;
  const created = pod?.metadata?.creationTimestamp;
  const summary: InstanceSummary = ready.status === 'True' ? 'Ready' : FAILED_REASONS.has(ready.reason) ? 'Failed' : PENDING_REASONS.has(ready.reason) ? 'Pending' : 'Starting';
  return {
    conditions,
    summary,
    ...(created ? { startedAt: rfc3339(new Date(created)) } : {}),
    ...(readyAt ? { readyAt } : {}),
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}

function readyState(pod: V1Pod | undefined, storagePending: boolean, storageMessage: string, unschedulable: string | undefined): ReadyState {
  if (storagePending && (!pod || !pod.spec?.nodeName)) return { status: 'False', reason: 'WaitingForStorage', message: storageMessage };
  if (!pod) return { status: 'False', reason: 'NoPod', message: 'waiting for the Deployment to create the pod' };
  if (pod.metadata?.deletionTimestamp) return { status: 'False', reason: 'Restarting', message: `pod ${pod.metadata.name} is being deleted` };
  if (unschedulable !== undefined) return { status: 'False', reason: 'Unschedulable', message: `the pod cannot be scheduled: ${unschedulable}` };
  if (pod.status?.phase === 'Failed') return { status: 'False', reason: 'PodFailed', message: `the pod failed: ${pod.status.reason ?? ''} ${pod.status.message ?? ''}`.trim() };
  const cs = pod.status?.containerStatuses?.[0];
  if (!cs) {
    const phase = pod.status?.phase ?? 'Pending';
    return { status: 'False', reason: 'Starting', message: pod.spec?.nodeName ? `pulling the image and starting the container on ${pod.spec.nodeName}` : `the pod is ${phase}` };
  }
  if (cs.ready) return { status: 'True', reason: 'Running', message: `the app runs in pod ${pod.metadata?.name}` };
  return containerState(cs);
}

function containerState(cs: V1ContainerStatus): ReadyState {
  const waiting = cs.state?.waiting;
  const lastExit = cs.lastState?.terminated;
  if (waiting?.reason === 'CrashLoopBackOff') {
    const code = lastExit?.exitCode;
    return {
      status: 'False',
      reason: 'CrashLoopBackOff',
      message: `the app keeps crashing (${cs.restartCount} restarts${code !== undefined ? `, last exit code ${code}` : ''}${lastExit?.reason ? `, ${lastExit.reason}` : ''}); read the logs of the previous container`,
    };
  }
  if (waiting?.reason && FAILED_REASONS.has(waiting.reason)) {
    const reason = waiting.reason === 'ErrImagePull' ? 'ImagePullBackOff' : waiting.reason;
    return { status: 'False', reason, message: `${waiting.reason}: ${waiting.message ?? 'see the pod events'}` };
  }
  if (waiting) return { status: 'False', reason: 'Starting', message: waiting.reason === 'ContainerCreating' || !waiting.reason ? 'pulling the image and starting the container' : `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  const term = cs.state?.terminated;
  if (term) return { status: 'False', reason: 'Starting', message: `the container exited with code ${term.exitCode}${term.reason ? ` (${term.reason})` : ''} and restarts` };
  return { status: 'False', reason: 'Starting', message: 'the container runs; waiting for the app to listen on its port' };
}

function time(t: Date | string | undefined): number {
  return t ? new Date(t).getTime() : 0;
}
