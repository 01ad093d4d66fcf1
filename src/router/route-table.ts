/**
 * Instance name → where its traffic goes, read from the instance cache
 * (AppInstances and their pods, never a database). The upstream is the
 * newest Ready pod's IP at the app port (EndpointSlices cannot hold the
 * loopback pod IPs of the local cluster, and the pod is what we need
 * anyway). Answers are memoized per name and dropped when the cache
 * reports a change of the instance or its pods.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { AppInstance } from '../k8s/crd/appinstance.ts';
import { instanceVisibility } from '../k8s/crd/appinstance.ts';
import { findCondition } from '../k8s/crd/condition.ts';
import type { InstanceFacts } from '../auth/policy.ts';
import { APP_PORT } from '../operator/desired.ts';

/** What the router needs of the InstanceCache (src/k8s/instance-cache.ts). */
export interface InstanceLookup {
  get(name: string): AppInstance | undefined;
  pods(name: string): V1Pod[];
  onChange?(listener: (name: string) => void): () => void;
}

export type RouteState =
  | { state: 'not-found' }
  | { state: 'ready'; facts: InstanceFacts; upstream: { host: string; port: number } }
  | { state: 'starting'; facts: InstanceFacts; detail?: string }
  | { state: 'suspended'; facts: InstanceFacts }
  | { state: 'stopping'; facts: InstanceFacts }
  | { state: 'failed'; facts: InstanceFacts; reason: string };

function podReady(p: V1Pod): boolean {
  return (
    !p.metadata?.deletionTimestamp &&
    p.status?.phase === 'Running' &&
    !!p.status.podIP &&
    (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** The routing state of an instance from its object and pods (pure). */
export function routeState(inst: AppInstance | undefined, pods: V1Pod[], port = APP_PORT): RouteState {
  if (!inst) return { state: 'not-found' };
  const facts: InstanceFacts = { owner: inst.spec.owner.subject, visibility: instanceVisibility(inst) };
  if (inst.metadata.deletionTimestamp) return { state: 'stopping', facts };
  if (inst.spec.suspend) return { state: 'suspended', facts };
  const ready = pods.find(podReady);
  if (ready) return { state: 'ready', facts, upstream: { host: ready.status!.podIP!, port } };
  const st = inst.status;
  if (st?.summary === 'Failed') {
    const c = findCondition(st.conditions, 'Ready');
    return { state: 'failed', facts, reason: c?.message || c?.reason || 'the operator reported a failure' };
  }
  const waiting = pods[0]?.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  const detail = waiting?.reason ?? st?.summary ?? (pods.length ? pods[0]!.status?.phase : undefined);
  return { state: 'starting', facts, ...(detail ? { detail } : {}) };
}

/** Memoized routeState per instance name, invalidated by the cache's change events. */
export class RouteTable {
  private readonly memo = new Map<string, RouteState>();
  private readonly unsubscribe: () => void;

  constructor(private readonly instances: InstanceLookup) {
    this.unsubscribe = instances.onChange ? instances.onChange((name) => this.memo.delete(name)) : () => undefined;
    // Without change events (a plain lookup) nothing may be memoized: it could go stale.
    this.memoize = !!instances.onChange;
  }

  private readonly memoize: boolean;

  /** Where instance `name`'s traffic goes right now. */
  lookup(name: string): RouteState {
    let s = this.memo.get(name);
    if (!s) {
      s = routeState(this.instances.get(name), this.instances.pods(name));
      if (this.memoize) this.memo.set(name, s);
    }
    return s;
  }

  close(): void {
    this.unsubscribe();
  }
}
