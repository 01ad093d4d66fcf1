/**
 * SHA-256 computed on a worker thread, so hashing a large upload overlaps
 * with reading the socket and writing the disk instead of adding to them.
 *
 * Bytes reach the worker through a small ring of slots in a
 * SharedArrayBuffer, reused for the whole job: memory stays fixed at
 * SLOTS × SLOT_BYTES per job, with no per-batch allocations for either
 * thread's garbage collector to lag behind on.
 *
 * One worker per process serves every job. It holds the process open only
 * while a job runs.
 */
import { Worker } from 'node:worker_threads';

const SLOTS = 4;
const SLOT_BYTES = 1024 * 1024;

// Plain CommonJS source, so the worker runs without the TypeScript loader.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'start') {
    jobs.set(m.id, { hash: createHash('sha256'), ring: new Uint8Array(m.ring) });
  } else if (m.t === 'update') {
    const job = jobs.get(m.id);
    job.hash.update(job.ring.subarray(m.offset, m.offset + m.length));
    parentPort.postMessage({ t: 'ack', id: m.id, slot: m.slot });
  } else if (m.t === 'digest') {
    const job = jobs.get(m.id);
    jobs.delete(m.id);
    parentPort.postMessage({ t: 'digest', id: m.id, hex: job.hash.digest('hex') });
  } else if (m.t === 'drop') {
    jobs.delete(m.id);
  }
});
`;

type Msg = { t: 'ack'; id: number; slot: number } | { t: 'digest'; id: number; hex: string };

let worker: Worker | undefined;
let nextId = 1;
const listeners = new Map<number, (m: Msg) => void>();

function getWorker(): Worker {
  if (!worker) {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (m: Msg) => listeners.get(m.id)?.(m));
    w.on('error', (err) => {
      for (const l of listeners.values()) l({ t: 'digest', id: -1, hex: `error:${String(err)}` });
      worker = undefined;
    });
    worker = w;
  }
  return worker;
}

/** Keeps the process alive while a job runs, and only then. */
function track(id: number, listener: ((m: Msg) => void) | undefined): void {
  if (listener) listeners.set(id, listener);
  else listeners.delete(id);
  if (listeners.size) worker?.ref();
  else worker?.unref();
}

/** A running SHA-256 on the worker thread. */
export class BackgroundHash {
  private readonly id = nextId++;
  private readonly w = getWorker();
  private readonly ring = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  private readonly view = new Uint8Array(this.ring);
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private slotWaiter?: () => void;
  private digestWaiter?: (hex: string) => void;

  constructor() {
    track(this.id, (m) => {
      if (m.t === 'ack') {
        this.free.push(m.slot);
        this.slotWaiter?.();
      } else {
        this.digestWaiter?.(m.hex);
      }
    });
    this.w.postMessage({ t: 'start', id: this.id, ring: this.ring });
  }

  private async takeSlot(): Promise<number> {
    while (!this.free.length) await new Promise<void>((r) => (this.slotWaiter = r));
    return this.free.shift()!;
  }

  /** Hashes `chunks` in order; the caller may reuse them as soon as this resolves. */
  async update(chunks: Buffer[]): Promise<void> {
    let slot = -1;
    let used = 0;
    const send = () => {
      this.w.postMessage({ t: 'update', id: this.id, slot, offset: slot * SLOT_BYTES, length: used });
      slot = -1;
      used = 0;
    };
    for (const chunk of chunks) {
      let at = 0;
      while (at < chunk.length) {
        if (slot < 0) slot = await this.takeSlot();
        const n = Math.min(chunk.length - at, SLOT_BYTES - used);
        this.view.set(chunk.subarray(at, at + n), slot * SLOT_BYTES + used);
        used += n;
        at += n;
        if (used === SLOT_BYTES) send();
      }
    }
    if (slot >= 0 && used > 0) send();
    else if (slot >= 0) this.free.push(slot);
  }

  /** The hex digest of everything given to update. */
  digest(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.digestWaiter = (hex) => {
        track(this.id, undefined);
        if (hex.startsWith('error:')) reject(new Error(`hash worker failed: ${hex.slice(6)}`));
        else resolve(hex);
      };
      this.w.postMessage({ t: 'digest', id: this.id });
    });
  }

  /** Abandons the job (on failure). */
  drop(): void {
    track(this.id, undefined);
    this.w.postMessage({ t: 'drop', id: this.id });
    this.slotWaiter?.();
  }
}
