import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter } from 'prom-client';
import { buildApi } from '../src/api/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { createMetricsRegistry } from '../src/lib/metrics.ts';
import { apiDeps, openStores } from '../src/server/server.ts';

async function startApi(withMetrics: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), 'appstore-metrics-'));
  const { config } = loadConfig({ flags: { 'Server.DataDir': dataDir, 'Server.Listen': '127.0.0.1:0' } });
  const { db, blobs } = await openStores(config);
  const metrics = createMetricsRegistry();
  new Counter({ name: 'appstore_operator_test_total', help: 'a counter the test increments', registers: [metrics] }).inc(2);
  const api = await buildApi(await apiDeps(config, db, blobs, withMetrics ? { metrics } : {}));
  return {
    api,
    async close() {
      await api.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

test('GET /metrics serves the registry in the Prometheus text format without credentials', async () => {
  const s = await startApi(true);
  try {
    const res = await s.api.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^appstore_operator_test_total 2$/m);
    assert.match(res.body, /^nodejs_heap_size_used_bytes \d/m);
  } finally {
    await s.close();
  }
});

test('no metrics registry: no /metrics route', async () => {
  const s = await startApi(false);
  try {
    const res = await s.api.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 404);
  } finally {
    await s.close();
  }
});
