/**
 * Prometheus metrics of the operator's controllers: reconcile counts, errors
 * and latency, queue depth, adds, retries and queue wait, labelled by
 * controller. Metrics are registered once per registry and shared by every
 * controller (and every operator started on that registry).
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { QueueMetrics } from '../k8s/work-queue.ts';

export interface ControllerMetrics {
  queue: QueueMetrics;
  /** Records one reconcile: its outcome and how long it took. */
  reconciled(result: 'success' | 'error' | 'requeue', seconds: number): void;
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The metrics of controller `controller` ("appinstance", "runtimeversion") on `registry`. */
export function controllerMetrics(registry: Registry, controller: string): ControllerMetrics {
  const registers = [registry];
  const reconciles = metric(registry, 'appstore_operator_reconcile_total', () => new Counter({ name: 'appstore_operator_reconcile_total', help: 'Reconciles by controller and result (success, error, requeue).', labelNames: ['controller', 'result'], registers }));
  const errors = metric(registry, 'appstore_operator_reconcile_errors_total', () => new Counter({ name: 'appstore_operator_reconcile_errors_total', help: 'Reconciles that failed and were retried with backoff.', labelNames: ['controller'], registers }));
  const latency = metric(registry, 'appstore_operator_reconcile_duration_seconds', () => new Histogram({ name: 'appstore_operator_reconcile_duration_seconds', help: 'Time one reconcile took.', labelNames: ['controller'], buckets: LATENCY_BUCKETS, registers }));
  const depth = metric(registry, 'appstore_operator_queue_depth', () => new Gauge({ name: 'appstore_operator_queue_depth', help: 'Keys waiting in the work queue.', labelNames: ['controller'], registers }));
  const adds = metric(registry, 'appstore_operator_queue_adds_total', () => new Counter({ name: 'appstore_operator_queue_adds_total', help: 'Keys added to the work queue.', labelNames: ['controller'], registers }));
  const retries = metric(registry, 'appstore_operator_queue_retries_total', () => new Counter({ name: 'appstore_operator_queue_retries_total', help: 'Keys re-added with backoff after a failure.', labelNames: ['controller'], registers }));
  const wait = metric(registry, 'appstore_operator_queue_wait_seconds', () => new Histogram({ name: 'appstore_operator_queue_wait_seconds', help: 'Time from a key\'s add to the worker taking it (client-go workqueue_queue_duration_seconds).', labelNames: ['controller'], buckets: LATENCY_BUCKETS, registers }));
  const labels = { controller };
  return {
    queue: {
      add: () => adds.inc(labels),
      depth: (n) => depth.set(labels, n),
      queueWait: (ms) => wait.observe(labels, ms / 1000),
      workDuration: () => {}, // reconciled() records the latency with its outcome
      retry: () => retries.inc(labels),
    },
    reconciled(result, seconds) {
      reconciles.inc({ controller, result });
      if (result === 'error') errors.inc(labels);
      latency.observe(labels, seconds);
    },
  };
}
