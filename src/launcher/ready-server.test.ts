/** The readiness endpoint: 503 with the reason until the check passes, 200 then; other paths 404. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { canConnect, ReadyServer } from './ready-server.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

test('GET /ready answers 503 and the reason until the check passes, then 200', async () => {
  const port = await freePort();
  const ready = await ReadyServer.listen('127.0.0.1', port);
  try {
    const base = `http://127.0.0.1:${port}`;
    let res = await fetch(`${base}/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /not ready: the launcher is starting/);
    ready.setCheck(() => Promise.resolve('preparing the app (Installing Application Dependencies)'));
    res = await fetch(`${base}/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /Installing Application Dependencies/);
    ready.setCheck(() => Promise.resolve(true));
    res = await fetch(`${base}/ready`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ready\n');
    ready.setCheck(() => Promise.reject(new Error('boom')));
    res = await fetch(`${base}/ready`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /the readiness check failed: boom/);
    res = await fetch(`${base}/`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await ready.close();
  }
  assert.equal(await canConnect('127.0.0.1', port), false, 'closed: nothing answers on the port');
});
