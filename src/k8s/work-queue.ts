/**
 * A rate-limited work queue of string keys ("namespace/name"), with the
 * semantics of client-go's workqueue as controller-runtime uses it:
 *
 * - a key waiting in the queue is held once, however often it is added;
 * - a key being processed is never handed to a second worker; if it is added
 *   meanwhile, it is processed again once the first run is done;
 * - `addAfter` delays a key (requeue-after), `addRateLimited` delays it by a
 *   per-key exponential backoff that `forget` resets.
 *
 * The queue holds keys, never events: a reconcile reads the current state
 * from the cache, so many events for one object collapse into one run.
 */

/** Counters and histograms a metrics endpoint can expose; the queue only calls these. */
export interface QueueMetrics {
  /** A key was added (counted even when it was already waiting). */
  add(): void;
  /** Keys now waiting to be handed to a worker. */
  depth(n: number): void;
  /**
   * Milliseconds from a key's add to the get that hands it to a worker — what
   * client-go's workqueue_queue_duration_seconds (controller-runtime's metric)
   * measures: timed from the first add since the key's last get (an add while
   * the key is processing counts, so the rest of that run is part of the
   * wait); a delayed key is added when its delay ends.
   */
  queueWait(ms: number): void;
  /** Milliseconds one handler run took. */
  workDuration(ms: number): void;
  /** A key was re-added with backoff after a failure. */
  retry(): void;
}

/** Metrics that record nothing. */
export const noQueueMetrics: QueueMetrics = { add() {}, depth() {}, queueWait() {}, workDuration() {}, retry() {} };

/** Metrics kept in memory: counters plus the raw observations (for tests and benchmarks, not for a long-lived process). */
export class RecordingQueueMetrics implements QueueMetrics {
  adds = 0;
  retries = 0;
  currentDepth = 0;
  maxDepth = 0;
  readonly queueWaits: number[] = [];
  readonly workDurations: number[] = [];
  add(): void {
    this.adds++;
  }
  depth(n: number): void {
    this.currentDepth = n;
    this.maxDepth = Math.max(this.maxDepth, n);
  }
  queueWait(ms: number): void {
    this.queueWaits.push(ms);
  }
  workDuration(ms: number): void {
    this.workDurations.push(ms);
  }
  retry(): void {
    this.retries++;
  }
}

/** client-go's default per-item backoff: 5 ms, doubling per failure, capped at 1000 s. */
export const DEFAULT_BASE_DELAY_MS = 5;
export const DEFAULT_MAX_DELAY_MS = 1000 * 1000;

/** Per-key exponential backoff: the n-th consecutive failure waits base·2^(n-1), at most max. */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();
  constructor(
    readonly baseMs = DEFAULT_BASE_DELAY_MS,
    readonly maxMs = DEFAULT_MAX_DELAY_MS,
  ) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new RangeError(`backoff needs 0 < baseMs <= maxMs, got baseMs=${baseMs}, maxMs=${maxMs}`);
  }
  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long before it matters; min() caps it.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  /** Consecutive failures recorded for `key`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
  /** Forgets the failures of `key`: its next failure waits baseMs again. */
  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** What a handler may ask for after a successful run. */
export interface HandlerResult {
  /** Process the key again after this many milliseconds (e.g. to poll for a timeout), without counting a failure. */
  requeueAfterMs?: number;
}

/** A key handler: resolve to finish (optionally with a requeue), throw to retry with backoff. */
export type KeyHandler = (key: string) => Promise<HandlerResult | void>;

/** Thrown by a handler for an error retrying cannot fix (e.g. invalid spec): the key is not retried until it is added again. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface WorkQueueOptions {
  /** First retry delay of `addRateLimited` (default 5 ms). */
  baseDelayMs?: number;
  /** Largest retry delay (default 1000 s). */
  maxDelayMs?: number;
  metrics?: QueueMetrics;
  /** Called when a handler throws (after the key was scheduled for retry, or dropped for a TerminalError). */
  onError?: (key: string, err: unknown, retries: number) => void;
}

/** The rate-limited, de-duplicating work queue described at the top of this file. */
export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: waiting in `queue`, or added again while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** When each dirty key was first added since its last get, for the queue-wait metric. */
  private readonly addedAt = new Map<string, number>();
  /** Delayed keys: the earliest time each becomes ready and its timer. */
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly backoff: ExponentialBackoff;
  private readonly metrics: QueueMetrics;
  private readonly onError: WorkQueueOptions['onError'];
  private shuttingDown = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.backoff = new ExponentialBackoff(opts.baseDelayMs, opts.maxDelayMs);
    this.metrics = opts.metrics ?? noQueueMetrics;
    this.onError = opts.onError;
  }

  /**
   * Marks `key` for processing; a no-op if it is already waiting or the queue is shutting down.
   * `since` (performance.now() time) back-dates the queue-wait metric, for an add decided after its event.
   */
  add(key: string, since = performance.now()): void {
    if (this.shuttingDown) return;
    this.metrics.add();
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, since);
    // Re-queued by done() once the current run ends: never two runs of one key at once.
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` after `ms` milliseconds; if it is already delayed, the earlier time wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const old = this.delayed.get(key);
    if (old && old.at <= at) return;
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Adds `key` after its next backoff delay (5 ms, 10 ms, 20 ms, … up to the cap). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics.retry();
    this.addAfter(key, this.backoff.when(key));
  }

  /** Resets the backoff of `key` (call after it was processed successfully). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Consecutive failures recorded for `key` since the last `forget`. */
  numRequeues(key: string): number {
    return this.backoff.retries(key);
  }

  /** Keys waiting to be handed to a worker (not counting delayed or in-flight ones). */
  get length(): number {
    return this.queue.length;
  }

  /** True once `shutdown` was called. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Waits for the next key and marks it as processing; undefined once the queue
   * shuts down. Every key received must be passed to `done` afterwards.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, it goes back into the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
    if (this.processing.size === 0) this.idleWaiters.splice(0).forEach((f) => f());
  }

  /**
   * Runs `concurrency` workers that call `handler` for each key until shutdown.
   * Success forgets the key's backoff (and honours requeueAfterMs); an error
   * retries it with backoff, except a TerminalError. Resolves when all workers stopped.
   */
  async run(handler: KeyHandler, concurrency = 1): Promise<void> {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    const worker = async (): Promise<void> => {
      for (let key = await this.get(); key !== undefined; key = await this.get()) {
        const start = performance.now();
        try {
          const result = await handler(key);
          this.forget(key);
          if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
        } catch (err) {
          if (err instanceof TerminalError) this.forget(key);
          else this.addRateLimited(key);
          this.onError?.(key, err, this.numRequeues(key));
        } finally {
          this.metrics.workDuration(performance.now() - start);
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /**
   * Stops the queue: no more keys are accepted or handed out, delayed keys are
   * dropped, and the promise resolves once the keys in flight are done. Keys
   * still waiting are dropped too: reconciles are level-triggered, so whoever
   * starts next lists everything again.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.addedAt.clear();
    this.metrics.depth(0);
    this.waiters.splice(0).forEach((w) => w(undefined));
    if (this.processing.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.take(key));
      return;
    }
    this.queue.push(key);
    this.metrics.depth(this.queue.length);
  }

  private take(key: string): string {
    this.processing.add(key);
    this.dirty.delete(key);
    const since = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (since !== undefined) this.metrics.queueWait(performance.now() - since);
    this.metrics.depth(this.queue.length);
    return key;
  }
}
