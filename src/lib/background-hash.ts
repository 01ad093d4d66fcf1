/**
 * SHA-256 computed on a worker thread, so hashing a large upload overlaps
 * with reading the socket and writing the disk instead of adding to them
 * (on these 2-core machines that is the difference between an import at a
 * fifth of copy speed and one near half).
 *
 * One worker per process serves every hash job; it is unref'd, so it never
 * keeps the process alive. Callers feed batches of at least ~1 MiB: each
 * batch is copied once and its copy transferred, not cloned again.
 */
import { Worker } from 'node:worker_threads';

// Plain CommonJS source, so the worker runs without the TypeScript loader.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'update') {
    let h = jobs.get(m.id);
    if (!h) jobs.set(m.id, (h = createHash('sha256')));
    h.update(m.bytes);
    parentPort.postMessage({ t: 'ack', id: m.id, n: m.bytes.byteLength });
  } else if (m.t === 'digest') {
    const h = jobs.get(m.id) || createHash('sha256');
    jobs.delete(m.id);
    parentPort.postMessage({ t: 'digest', id: m.id, hex: h.digest('hex') });
  } else if (m.t === 'drop') {
    jobs.delete(m.id);
  }
});
`;

type Msg = { t: 'ack'; id: number; n: number } | { t: 'digest'; id: number; hex: string };

let worker: Worker | undefined;
let nextId = 1;
const listeners = new Map<number, (m: Msg) => void>();

/** Keeps the process alive while a job runs, and only then. */
function track(id: number, listener: ((m: Msg) => void) | undefined): void {
  if (listener) listeners.set(id, listener);
  else listeners.delete(id);
  if (listeners.size) worker?.ref();
  else worker?.unref();
}

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m: Msg) => listeners.get(m.id)?.(m));
    worker.on('error', (err) => {
      for (const l of listeners.values()) l({ t: 'digest', id: -1, hex: `error:${String(err)}` });
      worker = undefined;
    });
    // After the listeners: attaching one refs the worker again.
    worker.unref();
  }
  return worker;
}

/** A running SHA-256 on the worker; `update` resolves when the hasher is at most `maxBehind` bytes behind. */
export class BackgroundHash {
  private readonly id = nextId++;
  private readonly w = getWorker();
  private behind = 0;
  private waiters: Array<() => void> = [];
  private digestWaiter?: (hex: string) => void;

  constructor(private readonly maxBehind = 4 * 1024 * 1024) {
    track(this.id, (m) => {
      if (m.t === 'ack') {
        this.behind -= m.n;
        if (this.behind <= this.maxBehind) for (const w of this.waiters.splice(0)) w();
      } else {
        this.digestWaiter?.(m.hex);
      }
    });
  }

  /** Hashes `chunks` (in order); the caller may reuse them at once. */
  async update(chunks: Buffer[]): Promise<void> {
    const copy = Buffer.concat(chunks);
    // A fresh allocation of this size owns its whole ArrayBuffer, so it can be transferred.
    const transferable = copy.byteOffset === 0 && copy.buffer.byteLength === copy.length;
    const bytes = transferable ? copy : Buffer.from(copy);
    this.behind += bytes.length;
    this.w.postMessage({ t: 'update', id: this.id, bytes }, [bytes.buffer as ArrayBuffer]);
    if (this.behind > this.maxBehind) await new Promise<void>((r) => this.waiters.push(r));
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
    for (const w of this.waiters.splice(0)) w();
  }
}
