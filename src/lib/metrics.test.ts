import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter } from 'prom-client';
import { createMetricsRegistry } from './metrics.ts';

test('createMetricsRegistry: default process metrics and own counters in the text format; registries are independent', async () => {
  const a = createMetricsRegistry();
  const b = createMetricsRegistry();
  const c = new Counter({ name: 'appstore_test_total', help: 'test counter', registers: [a] });
  c.inc(3);
  const text = await a.metrics();
  assert.match(text, /^process_cpu_user_seconds_total \d/m);
  assert.match(text, /^appstore_test_total 3$/m);
  assert.doesNotMatch(await b.metrics(), /appstore_test_total/);
  assert.match(a.contentType, /^text\/plain/);
});
