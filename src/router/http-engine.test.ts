/**
 * NodeHttpEngine's websocket path (the node:http router path) against a real
 * `ws` server: the app may not set the platform's cookies in a 101 answer, nor
 * in an answer that refuses the upgrade (issue #24 item 2); its own cookies pass.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { NodeHttpEngine } from './http-engine.ts';

const PLATFORM = 'appstore_';
let app: Server;
let front: Server;
let frontPort: number;

before(async () => {
  const wss = new WebSocketServer({ noServer: true });
  wss.on('headers', (h: string[]) => h.push(`Set-Cookie: ${PLATFORM}session=fixed; Domain=main.test`, 'Set-Cookie: theme=2', `set-cookie:  ${PLATFORM}x=1`));
  app = createServer();
  app.on('upgrade', (req, socket, head) => {
    if (req.url === '/refuse') {
      socket.end(`HTTP/1.1 403 Forbidden\r\nSet-Cookie: ${PLATFORM}session=fixed\r\nSet-Cookie: theme=3\r\nContent-Length: 2\r\n\r\nno`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(m)));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
  const engine = new NodeHttpEngine();
  front = createServer();
  front.on('upgrade', (req, socket, head) => engine.ws(req, socket, head, { target: { host: '127.0.0.1', port: appPort }, platformCookie: PLATFORM }, () => socket.destroy()));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontPort = (front.address() as AddressInfo).port;
});

after(() => {
  front?.close();
  app?.close();
});

test("a 101 answer keeps the app's own cookies and loses the platform's; the socket then works", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${frontPort}/`);
  const opened = new Promise<void>((r) => ws.once('open', () => r()));
  const cookies = await new Promise<string[]>((resolve, reject) => {
    ws.on('upgrade', (res) => resolve(res.headers['set-cookie'] ?? []));
    ws.on('error', reject);
  });
  assert.deepEqual(cookies, ['theme=2']);
  await opened;
  ws.send('ping');
  assert.equal(String(await new Promise((r) => ws.once('message', r))), 'ping');
  ws.close();
});

test("an answer refusing the upgrade is relayed without the platform's cookies", async () => {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: frontPort, path: '/refuse', headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    r.on('response', resolve);
    r.on('upgrade', () => reject(new Error('upgraded')));
    r.on('error', reject);
    r.end();
  });
  assert.equal(res.statusCode, 403);
  assert.deepEqual(res.headers['set-cookie'], ['theme=3']);
  res.resume();
});
