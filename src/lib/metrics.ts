import { Registry, collectDefaultMetrics } from 'prom-client';

/** A fresh Prometheus registry with Node's default process metrics (CPU, memory, event loop, GC). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
