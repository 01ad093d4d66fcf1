/**
 * `Router.Workers`: several server processes sharing the listen port
 * (node:cluster), so routing uses every core — as nginx runs one worker per
 * core. The primary only forks, watches and stops the workers; each worker
 * is a whole server (API, router, and the operator if configured: it leads
 * through a Lease, so any number may run it) on the same configuration.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.ts';
import { InvalidError } from '../lib/errors.ts';

/** A worker that exits sooner than this after starting is broken (bad configuration, port taken): the primary stops instead of forking it again. */
const EARLY_EXIT_MS = 10_000;

/** Refuses Router.Workers > 1 where processes cannot share the server's state. */
export function assertWorkersSupported(config: Config, localCluster: boolean): void {
  if (config.router.workers <= 1) return;
  const why = !config.database.url
    ? 'the embedded PGlite database (Database.URL empty) belongs to one process; set Database.URL to a PostgreSQL database'
    : localCluster
      ? 'the local cluster and its local pods belong to one process; configure Scheduler.KubeConfig (or run with --local-cluster off)'
      : undefined;
  if (why) throw new InvalidError('invalid configuration', [{ path: 'Router.Workers', message: `${config.router.workers} workers cannot run here: ${why}, or set Router.Workers = 1.` }]);
}

/** True in the primary process of a multi-worker server (it must call {@link runPrimary} instead of starting a server). */
export function isWorkersPrimary(config: Config): boolean {
  return config.router.workers > 1 && cluster.isPrimary;
}

/** True in the worker that reports for all (the first one). */
export function isReportingWorker(): boolean {
  return cluster.isPrimary || cluster.worker?.id === 1;
}

/** Forks `n` workers, forks a replacement when one dies, stops them all on SIGINT/SIGTERM. */
export function runPrimary(n: number, log: (line: string) => void): void {
  let stopping = false;
  const started = new Map<Worker, number>();
  const fork = () => started.set(cluster.fork(), Date.now());
  cluster.on('exit', (w, code, signal) => {
    const since = started.get(w) ?? 0;
    started.delete(w);
    if (stopping) {
      if (started.size === 0) process.exit(0);
      return;
    }
    if (Date.now() - since < EARLY_EXIT_MS) {
      log(`appstore: worker ${w.process.pid} exited during start-up (${signal ?? `code ${code}`}); stopping`);
      stopping = true;
      for (const other of started.keys()) other.process.kill('SIGTERM');
      if (started.size === 0) process.exit(code || 1);
      return;
    }
    log(`appstore: worker ${w.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
    fork();
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of started.keys()) w.process.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  for (let i = 0; i < n; i++) fork();
}
