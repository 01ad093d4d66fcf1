/**
 * Waiting for a new instance to become Ready (`app run --wait`, `bundle
 * deploy`): polls the instance, shows a spinner on a terminal and one line
 * per status change otherwise, and gives up with what is known and what to run next.
 */
import { parseDuration } from '../bundle/duration.ts';
import { InvalidError } from '../lib/errors.ts';
import type { ApiClient } from './client.ts';
import type { Instance } from '../api/schemas.ts';
import { statusWord } from './instance-output.ts';

/** The instance did not become Ready: it failed, stopped, or the wait timed out (exit code 7). */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** Parses a `--timeout` value (`90s`, `5m`, `1h30m`). */
export function parseTimeout(value: string, flag = '--timeout'): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidError('invalid timeout', [{ path: flag, message: `"${value}" is not a duration like 90s, 5m or 1h30m` }]);
  return ms;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** States an instance does not leave by itself on the way to Ready. */
const STOPPED = new Set(['Failed', 'Suspending', 'Suspended', 'Terminating']);

export interface WaitOptions {
  timeoutMs: number;
  /** Poll interval; 1 s by default. */
  intervalMs?: number;
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Stops waiting (Ctrl-C in `bundle test`); the wait then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

/** Polls `GET /instances/:id` until the instance is Ready; throws NotReadyError when it stops or the time runs out. */
export async function waitUntilReady(client: ApiClient, id: string, opts: WaitOptions): Promise<Instance> {
  const start = Date.now();
  const interval = opts.intervalMs ?? 1000;
  const tty = opts.stderr.isTTY === true;
  const hint = `see \`h2o instance status ${id}\` and \`h2o instance logs ${id}\``;
  let lastWord = '';
  let frame = 0;
  let ticker: NodeJS.Timeout | undefined;
  let current = '';
  const draw = () => opts.stderr.write(`\r${SPINNER[frame++ % SPINNER.length]} waiting for instance ${id}: ${current} ${seconds(Date.now() - start)}\x1b[K`);
  if (tty) ticker = setInterval(draw, 100);
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const inst = await client.json<Instance>('GET', `/instances/${encodeURIComponent(id)}`, { signal: opts.signal });
      const word = statusWord(inst);
      current = word;
      if (!tty && word !== lastWord) opts.stderr.write(`instance ${id}: ${word}${inst.message ? ` — ${inst.message}` : ''}\n`);
      lastWord = word;
      if (inst.status === 'Ready') return inst;
      if (STOPPED.has(inst.status)) {
        throw new NotReadyError(`instance ${id} is ${word}${inst.message ? `: ${inst.message}` : ''}; ${hint}`);
      }
      const elapsed = Date.now() - start;
      if (elapsed >= opts.timeoutMs) {
        throw new NotReadyError(
          `instance ${id} is not Ready after ${seconds(elapsed)} (${word}${inst.message ? `: ${inst.message}` : ''}); it keeps starting in the background: ${hint}, or wait longer with --timeout`,
        );
      }
      await sleep(Math.min(interval, opts.timeoutMs - elapsed), opts.signal);
    }
  } finally {
    if (ticker) {
      clearInterval(ticker);
      opts.stderr.write('\r\x1b[K');
    }
  }
}
