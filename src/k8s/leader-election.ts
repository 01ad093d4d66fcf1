/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does it, so that of several operator replicas only
 * one reconciles and another takes over when it dies:
 *
 * - a candidate takes the Lease when nobody holds it, or when the holder has
 *   not renewed it for leaseDuration (measured on the candidate's own clock
 *   from when it last saw the Lease change, so clock skew between replicas
 *   does not matter);
 * - the leader renews every retryPeriod, and stops leading if it could not
 *   renew for renewDeadline (< leaseDuration, so it stops before anyone else
 *   may take over);
 * - a graceful stop releases the Lease, so the next leader need not wait.
 *
 * Every write goes with the Lease's resourceVersion: of two candidates racing
 * for a free Lease, one gets a 409 and stays a candidate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime } from '@kubernetes/client-node';
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './apply.ts';

export interface LeaderElectionOptions {
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** This replica's identity (e.g. pod name plus a random suffix); unique among the candidates. */
  identity: string;
  /** How long a Lease stays valid after its last renewal (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal (default 10 s). */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew (default 2 s). */
  retryPeriodMs?: number;
  /** Called when this replica becomes leader; `signal` aborts when it stops leading. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called when this replica stops leading (lost the Lease, failed to renew, or stopped). */
  onStoppedLeading: () => void;
  /** Called when an observed leader changes (including to ourselves). */
  onNewLeader?: (identity: string) => void;
  /** Called with errors of Lease requests (they are retried). */
  onError?: (err: unknown) => void;
}

/** Defaults of client-go and controller-runtime. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/** Campaigns for a Lease and leads while it holds it; see the top of this file. */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly opts: Required<Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectionOptions;
  private leading = false;
  private leadership: AbortController | undefined;
  /** Fires renewDeadline after the last successful renewal: a hung request must not keep us leading. */
  private deadline: NodeJS.Timeout | undefined;
  /** The last Lease record seen, and when (local monotonic clock) it was first seen. */
  private observed: { record: string; at: number } | undefined;
  private lastLeader: string | undefined;
  private stopper = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(api: CoordinationV1Api, opts: LeaderElectionOptions) {
    const o = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    };
    if (!opts.identity) throw new TypeError('leader election: identity must not be empty');
    if (!(o.leaseDurationMs > o.renewDeadlineMs)) throw new RangeError(`leader election: leaseDurationMs (${o.leaseDurationMs}) must be greater than renewDeadlineMs (${o.renewDeadlineMs})`);
    if (!(o.renewDeadlineMs > o.retryPeriodMs)) throw new RangeError(`leader election: renewDeadlineMs (${o.renewDeadlineMs}) must be greater than retryPeriodMs (${o.retryPeriodMs})`);
    if (o.leaseDurationMs < 1000) throw new RangeError(`leader election: leaseDurationMs must be at least 1000 (the Lease counts whole seconds), got ${o.leaseDurationMs}`);
    this.api = api;
    this.opts = o;
  }

  /** Starts campaigning in the background (a no-op when already running). */
  start(): void {
    if (this.loop) return;
    this.stopper = new AbortController();
    this.loop = this.run(this.stopper.signal);
  }

  /** True while this replica holds the Lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Stops campaigning and leading. With `release` (the default) a leader
   * gives the Lease up so another replica takes over at its next retry;
   * without, the Lease simply expires (what a crash looks like to the others).
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopper.abort();
    // An attempt in flight may hang on a partitioned network: do not wait for it longer than one retry.
    await Promise.race([this.loop, sleep(this.opts.retryPeriodMs)]);
    this.loop = undefined;
    if (!this.leading) return;
    if (opts.release ?? true) {
      try {
        await this.release();
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    this.stopLeading();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const now = performance.now();
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew(now);
      } catch (err) {
        this.opts.onError?.(err);
      }
      if (signal.aborted) break;
      // An attempt that outlasted the renew deadline (it hung while the apiserver was down) proves nothing about now:
      // starting to lead on it would only arm a deadline that already passed and stop again at once.
      if (ok && !this.leading && performance.now() - now >= this.opts.renewDeadlineMs) ok = false;
      if (ok) {
        if (!this.leading) this.startLeading();
        this.armDeadline(now);
      } else if (this.leading && this.lastLeader !== this.opts.identity) {
        this.stopLeading(); // someone else holds the Lease now
      }
      try {
        await sleep(this.opts.retryPeriodMs, undefined, { signal });
      } catch {
        break; // aborted by stop()
      }
    }
  }

  /** One attempt: true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(undefined) } });
      } catch (e) {
        if (isConflict(e)) return false; // another candidate created it first
        throw e;
      }
      this.observeLeader(identity);
      return true;
    }

    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseTransitions]);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = spec.holderIdentity ?? '';
    if (holder) this.observeLeader(holder);
    const durationMs = (spec.leaseDurationSeconds ?? this.opts.leaseDurationMs / 1000) * 1000;
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && now < this.observed.at + durationMs) return false;

    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: { metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion }, spec: this.spec(spec) } });
    } catch (err) {
      if (isConflict(err)) return false; // someone else wrote it since we read it
      throw err;
    }
    this.observeLeader(identity);
    return true;
  }

  /** The spec we write: renewed now, with acquireTime and transitions moving only when the holder changes. */
  private spec(old: V1Lease['spec'] | undefined): NonNullable<V1Lease['spec']> {
    const now = new V1MicroTime();
    const ours = old?.holderIdentity === this.opts.identity;
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      acquireTime: ours && old?.acquireTime ? old.acquireTime : now,
      renewTime: now,
      leaseTransitions: (old?.leaseTransitions ?? 0) + (ours || !old ? 0 : 1),
    };
  }

  /** Gives the Lease up (empty holder, 1 s duration) if we still hold it. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const lease = await this.api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    const now = new V1MicroTime();
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      },
    });
  }

  /**
   * (Re)arms the renew deadline, counted from when the successful attempt
   * started: if no renewal succeeds by then we stop leading, before the Lease
   * can expire for the others, so there are never two leaders at once.
   */
  private armDeadline(attemptStart: number): void {
    clearTimeout(this.deadline);
    const left = attemptStart + this.opts.renewDeadlineMs - performance.now();
    this.deadline = setTimeout(() => this.stopLeading(), Math.max(0, left));
  }

  private startLeading(): void {
    this.leading = true;
    this.leadership = new AbortController();
    this.opts.onStartedLeading(this.leadership.signal);
  }

  private stopLeading(): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.deadline);
    this.leadership?.abort();
    this.observed = undefined;
    this.opts.onStoppedLeading();
  }

  private observeLeader(identity: string): void {
    if (identity === this.lastLeader) return;
    this.lastLeader = identity;
    this.opts.onNewLeader?.(identity);
  }
}
