/**
 * The two forms of the forwarding rules agree: what the front door's fast path sends the app
 * (forwardHeaderList on the raw list) and what the node:http path sends (prepareForwardHeaders on
 * req.headers, then the engine's requestHeaderList / endToEnd). Requests are real bytes parsed by a
 * real node:http server, so Node's own header folding is what is compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { forwardHeaderList, prepareForwardHeaders, type ForwardOptions } from './forward-headers.ts';
import { endToEnd, requestHeaderList } from './http-engine.ts';

/**
 * Sends each of `heads` (a raw request head without the final blank line, then an optional body) to a
 * real node:http server and returns what `probe` made of each parsed request, run while its socket is
 * open (so the peer address is there).
 */
async function parsed<T>(heads: (string | [string, string])[], probe: (req: IncomingMessage) => T): Promise<T[]> {
  const got: T[] = [];
  const server = createServer((req, res) => {
    got.push(probe(req));
    res.end();
  });
  server.on('upgrade', (req: IncomingMessage, socket) => {
    got.push(probe(req));
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    for (const h of heads) {
      const [head, body] = typeof h === 'string' ? [h, ''] : h;
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => s.end(`${head}\r\nConnection: close\r\n\r\n${body}`));
        s.on('data', () => {});
        s.on('close', () => resolve());
        s.on('error', reject);
      });
    }
  } finally {
    server.close();
  }
  return got;
}

/** A header list as a comparable map: lowercase names, repeated values joined as Node folds them. */
function folded(list: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < list.length; i += 2) {
    const k = list[i]!.toLowerCase();
    // Transfer-Encoding is framing: the front door re-frames bodies and drops it, node:http passes it with the body.
    if (k === 'transfer-encoding') continue;
    const prev = m.get(k);
    m.set(k, prev === undefined ? list[i + 1]! : `${prev}${k === 'cookie' ? '; ' : ', '}${list[i + 1]}`);
  }
  return m;
}

const HEADS: (string | [string, string])[] = [
  // Credentials, platform cookies among the app's, hop-by-hop headers and one named by Connection.
  'GET /a HTTP/1.1\r\nHost: web.apps.example.com\r\nAuthorization: Bearer secret\r\nCookie: appstore_session=s1; theme=dark\r\nCookie: appstore_session_instance=s2; lang=en\r\nX-Secret: 1\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-App: one\r\nX-App: two',
  // Forwarding headers a client made up, and Forwarded / X-Real-IP.
  'POST /form HTTP/1.1\r\nHost: web.apps.example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: evil.example.com\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nContent-Length: 0',
  // Repeated forwarding headers (a chain of proxies, or a client adding its own).
  'GET /dup HTTP/1.1\r\nHost: web.apps.example.com\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a.example.com\r\nX-Forwarded-Host: b.example.com\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2',
  // Only platform cookies: no Cookie header is left; a plain Upgrade that is not a websocket.
  'GET /only HTTP/1.1\r\nHost: web.apps.example.com\r\nCookie: appstore_session=s1\r\nUpgrade: h2c',
  // A chunked body (framing aside, the rest must agree).
  ['POST /up HTTP/1.1\r\nHost: web.apps.example.com\r\nTransfer-Encoding: chunked\r\nX-App: z', '0\r\n\r\n'],
];

/** What each path sends the app for `req`: the fast path's list, and the node:http path's (which rewrites req.headers). */
function bothPaths(req: IncomingMessage, opts: ForwardOptions, websocket = false): { url: string; fast: Map<string, string>; slow: Map<string, string> } {
  const fast = folded(forwardHeaderList(req.rawHeaders, req.socket.remoteAddress ?? '', opts, websocket));
  prepareForwardHeaders(req, opts);
  const slowList = websocket ? Object.entries(endToEnd(req.headers, true)).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, String(x)]) : [k, String(v)])) : requestHeaderList(req.headers);
  return { url: req.url ?? '', fast, slow: folded(slowList) };
}

for (const trustForwarded of [false, true]) {
  test(`the fast path and the node:http path forward the same headers (trustForwarded=${trustForwarded})`, async () => {
    const opts: ForwardOptions = { platformCookie: 'appstore_session', trustForwarded, scheme: 'https' };
    const results = await parsed(HEADS, (req) => bothPaths(req, opts));
    assert.equal(results.length, HEADS.length);
    for (const { url, fast, slow } of results) {
      assert.deepEqual(fast, slow, url);
      // And what the app must never see, in either form.
      for (const h of ['authorization', 'proxy-authorization', 'forwarded', 'x-secret', 'keep-alive', 'te']) assert.equal(fast.has(h), false, `${h} in ${url}`);
      assert.doesNotMatch(fast.get('cookie') ?? '', /appstore_session/);
      // The peer is always last in X-Forwarded-For; a client's own list is kept only behind a trusted proxy.
      assert.match(fast.get('x-forwarded-for') ?? '', trustForwarded && url === '/dup' ? /^1\.1\.1\.1, 2\.2\.2\.2, 127\.0\.0\.1$/ : /^127\.0\.0\.1$|^6\.6\.6\.6, 127\.0\.0\.1$/);
      if (!trustForwarded) assert.equal(fast.get('x-forwarded-for'), '127.0.0.1', url);
      // Proto and host: ours, or behind a trusted proxy the nearest proxy's (the last value).
      const trusted = { '/form': ['http', 'evil.example.com'], '/dup': ['http', 'b.example.com'] }[url];
      assert.deepEqual([fast.get('x-forwarded-proto'), fast.get('x-forwarded-host')], trustForwarded && trusted ? trusted : ['https', 'web.apps.example.com'], url);
    }
  });
}

test('a websocket handshake keeps Connection: Upgrade and Upgrade on both paths, and nothing else hop-by-hop', async () => {
  const opts: ForwardOptions = { platformCookie: 'appstore_session', trustForwarded: false, scheme: 'https' };
  // The helper appends "Connection: close"; Connection folds to "Upgrade, close", which still asks for the upgrade.
  const [r] = await parsed(['GET /_s/ HTTP/1.1\r\nHost: web.apps.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer secret\r\nCookie: appstore_session=s1; a=b\r\nKeep-Alive: 5'], (req) =>
    bothPaths(req, opts, true),
  );
  const { fast, slow } = r!;
  assert.equal(fast.get('upgrade'), 'websocket');
  assert.equal(fast.get('connection'), 'Upgrade');
  assert.equal(fast.has('keep-alive'), false);
  assert.equal(fast.has('authorization'), false);
  assert.equal(fast.get('cookie'), 'a=b');
  // node:http passes the client's Connection value on (here "Upgrade, close"); the fast path sends exactly "Upgrade".
  slow.delete('connection');
  fast.delete('connection');
  assert.deepEqual(fast, slow);
});
