/**
 * The progress page's port hand-over: keep-alive connections a browser holds
 * to the progress page are closed when the launcher hands the port to waved,
 * so the browser's next request reaches waved on a fresh connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProgressServer } from './progress-page.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createTcpServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function get(port: number, agent: Agent): Promise<{ res: IncomingMessage; body: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ res, body, socket: req.socket! }));
    });
    req.once('error', reject);
    req.end();
  });
}

test('handing the port over closes idle keep-alive connections at once; the next request reaches the new server', async () => {
  const port = await freePort();
  const progress = await ProgressServer.listen('127.0.0.1', port, 'Hand-over');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await get(port, agent);
    assert.equal(first.res.statusCode, 503);
    assert.match(first.body, /Sourcing the Wave Application/);
    const second = await get(port, agent);
    assert.equal(second.socket, first.socket, 'the client kept its connection alive');
    assert.equal(await progress.connections(), 1);
    const socketClosed = new Promise<void>((resolve) => first.socket.once('close', () => resolve()));

    const started = Date.now();
    // A long grace: only closing the idle connection at once makes this quick.
    await progress.close(30_000);
    // (the agent's idle socket does not keep the event loop alive; the timer does)
    await Promise.race([socketClosed, sleep(5_000).then(() => assert.fail('the client connection was not closed'))]);
    assert.ok(Date.now() - started < 5_000, `the hand-over took ${Date.now() - started} ms`);

    const waved = createServer((_req, res) => res.end('waved'));
    await new Promise<void>((resolve) => waved.listen(port, '127.0.0.1', resolve));
    try {
      const after = await get(port, agent);
      assert.equal(after.res.statusCode, 200);
      assert.equal(after.body, 'waved');
    } finally {
      agent.destroy();
      waved.closeAllConnections();
      await new Promise<void>((resolve) => waved.close(() => resolve()));
    }
  } finally {
    agent.destroy();
  }
});
