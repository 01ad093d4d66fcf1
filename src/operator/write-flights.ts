/**
 * Our own writes in flight, and the watch events of the same objects that
 * arrive meanwhile. The watch often delivers the echo of a write before the
 * write's own response; until the response says which resourceVersion is
 * ours, such an event cannot be told from someone else's change. Queuing it
 * at once would make the key wait for the rest of the reconcile that is
 * writing (client-go counts queue wait from the add): in the 1000-instance
 * burst that was most of the p99 queue wait. So the event is held, and
 * decided when the write returns: queued (its wait counted from its arrival)
 * unless it is the write's echo.
 */

/** An event held back while our write of its object was in flight. */
export interface HeldEvent {
  /** The object's resourceVersion after the event; undefined once deleted. */
  rv: number | undefined;
  uid?: string | undefined;
  /** performance.now() when it arrived. */
  at: number;
}

/** Queues a key, its queue wait counted from `since` (a performance.now() time). */
export type Enqueue = (key: string, since: number) => void;

export class WriteFlights {
  /** Per queue key + "|" + object id: writes in flight and the events held meanwhile. */
  private readonly flights = new Map<string, { writes: number; held: HeldEvent[] }>();

  /** Without `enqueue` nothing is held: every event is decided when it arrives. */
  constructor(private readonly enqueue: Enqueue | undefined) {}

  /** Holds an event of object `id` of `key` while our write of it is in flight; false when none is (decide it now). */
  hold(key: string, id: string, rv: number | undefined, uid?: string): boolean {
    const f = this.enqueue && this.flights.get(`${key}|${id}`);
    if (!f) return false;
    f.held.push({ rv: rv !== undefined && Number.isFinite(rv) ? rv : undefined, uid, at: performance.now() });
    return true;
  }

  /**
   * Runs our `write` of object `id`, holding its events until the last write
   * of it in flight returns (or fails); then queues `key` for each held event
   * that `isEcho` (asked after the write recorded what it wrote) says is not ours.
   */
  async run<T>(key: string, id: string, write: () => Promise<T>, isEcho: (e: HeldEvent) => boolean): Promise<T> {
    const name = `${key}|${id}`;
    const f = this.flights.get(name) ?? { writes: 0, held: [] };
    f.writes++;
    this.flights.set(name, f);
    try {
      return await write();
    } finally {
      if (--f.writes === 0) {
        this.flights.delete(name);
        for (const e of f.held) if (!isEcho(e)) this.enqueue?.(key, e.at);
      }
    }
  }

  /** Forgets every flight (when the operator stops leading; the next leader lists everything). */
  clear(): void {
    this.flights.clear();
  }
}
