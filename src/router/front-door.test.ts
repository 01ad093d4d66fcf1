/**
 * The front door against real sockets: a node:http "app" upstream (and a raw
 * TCP one for answers node:http would not send), a node:http inner server for
 * what is not claimed, and clients writing raw bytes, so framing, order,
 * refusals and errors are seen exactly as a client sees them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { forwardHeaderList } from './forward-headers.ts';
import { FrontDoor, type FrontClaim } from './front-door.ts';
import { llhttp, type HeadersComplete } from './llhttp.ts';

const PLATFORM_COOKIE = 'appstore_session';
const MAX_BODY = 64 * 1024;

let app: Server;
let appPort = 0;
let appConnections = 0;
let appRequests = 0;
const appWebsocketCookies: string[] = [];
let raw: NetServer;
let rawPort = 0;
let inner: Server;
let door: FrontDoor;
let port = 0;
const done: number[] = [];

/** What the app saw of a request. */
interface Seen {
  method: string;
  url: string;
  headers: string[];
  body: string;
  sha: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
  });
}

async function appHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url?.startsWith('/app/reject')) return void res.writeHead(413, { 'content-length': '0' }).end(); // without reading the body
  const body = await readBody(req);
  if (!req.complete) return;
  appRequests++;
  const path = (req.url ?? '/').replace(/^\/app/, '');
  if (path.startsWith('/chunks')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const part of ['one ', 'two ', 'three']) res.write(part);
    return void res.end();
  }
  if (path.startsWith('/big')) {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    res.writeHead(200, { 'content-length': String(chunk.length * 64) });
    let n = 0;
    const more = (): void => {
      while (n < 64) {
        n++;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  if (path.startsWith('/cookies')) {
    res.writeHead(200, [['set-cookie', `${PLATFORM_COOKIE}=stolen; Path=/`], ['set-cookie', 'app=1; Path=/'], ['content-length', '2']].flat());
    return void res.end('ok');
  }
  if (path.startsWith('/none')) return void res.writeHead(204).end();
  if (path.startsWith('/same')) return void res.writeHead(304, { etag: '"v1"' }).end();
  if (path.startsWith('/silent')) return; // never answers
  const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.rawHeaders, body: body.length > 200 ? '' : body.toString(), sha: createHash('sha256').update(body).digest('hex') };
  const text = JSON.stringify(seen);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function claimFor(upstreamPort: number, remoteAddress: string, rawHeaders: string[], websocket = false): FrontClaim {
  return {
    instance: 'demo',
    upstream: { host: '127.0.0.1', port: upstreamPort },
    headers: forwardHeaderList(rawHeaders, remoteAddress, { platformCookie: PLATFORM_COOKIE, trustForwarded: false, scheme: 'https' }, websocket),
    platformCookie: PLATFORM_COOKIE,
    done: (status) => done.push(status),
  };
}

before(async () => {
  assert.ok(llhttp, "this Node has llhttp's expected shape");
  app = createServer((req, res) => void appHandler(req, res));
  app.on('connection', () => appConnections++);
  const appWss = new WebSocketServer({ noServer: true });
  app.on('upgrade', (req, socket, head) => {
    if (req.url === '/app/nows') return void socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno');
    if (req.url === '/app/cookie101') appWss.once('headers', (h: string[]) => h.push(`Set-Cookie: ${PLATFORM_COOKIE}=fixed; Domain=main.test`, 'Set-Cookie: theme=2'));
    else appWebsocketCookies.push(String(req.headers.cookie));
    const note = `(upgrade: ${req.headers.upgrade}, forwarded for ${req.headers['x-forwarded-for']})`;
    appWss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`app echo ${String(m)} ${note}`)));
  });
  app.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
  // Answers node:http would not give: close-delimited bodies, and a gzip transfer coding.
  raw = createNetServer((s) => {
    s.once('data', (d) => {
      const line = d.toString('latin1').split('\r\n')[0]!;
      if (line.includes('/raw/close')) s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end');
      else if (line.includes('/raw/gzip')) s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n');
      else s.destroy();
    });
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  rawPort = (raw.address() as AddressInfo).port;

  inner = createServer((req, res) => {
    void readBody(req).then((b) => {
      res.setHeader('x-inner', 'yes');
      res.end(`inner ${req.method} ${req.url} from ${req.socket.remoteAddress} body=${b.length}`);
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  inner.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`))));
  const attached = FrontDoor.attach(inner, {
    claim: (r) => {
      if (r.url.startsWith('/app/')) return claimFor(appPort, r.remoteAddress, r.rawHeaders, r.upgrade);
      if (r.url.startsWith('/raw/')) return claimFor(rawPort, r.remoteAddress, r.rawHeaders);
      if (r.url.startsWith('/async/')) return Promise.resolve(claimFor(appPort, r.remoteAddress, r.rawHeaders));
      if (r.url.startsWith('/down/')) return { ...claimFor(1, r.remoteAddress, r.rawHeaders, r.upgrade), instance: 'down' };
      return undefined;
    },
    maxHeaderSize: 4096,
    maxBodyBytes: MAX_BODY,
    connectTimeoutMs: 2000,
    responseTimeoutMs: 500,
    keepAliveTimeoutMs: () => 5000,
    headersTimeoutMs: () => 5000,
  });
  assert.ok(attached);
  door = attached;
  await new Promise<void>((r) => inner.listen(0, '127.0.0.1', r));
  port = (inner.address() as AddressInfo).port;
});

after(async () => {
  door.close();
  await Promise.all([app, inner].map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
  await new Promise<void>((r) => raw.close(() => r()));
});

interface Answer {
  status: number;
  headers: string[];
  body: Buffer;
}

/** A raw client: writes bytes, parses answers with llhttp (HEAD-aware), reports whether the server closed. */
class Client {
  readonly socket: Socket;
  readonly answers: Answer[] = [];
  closed = false;
  private readonly parser;
  private current: Answer | undefined;
  private readonly heads: string[] = [];
  private waiters: (() => void)[] = [];

  constructor(to = port) {
    this.socket = connect(to, '127.0.0.1');
    this.parser = llhttp!.newParser('response', 1 << 20);
    this.parser[llhttp!.kOnHeadersComplete] = ((_a, _b, headers, _m, _u, status) => {
      this.current = { status: status ?? 0, headers: headers ?? [], body: Buffer.alloc(0) };
      const method = (status ?? 0) >= 200 ? this.heads.shift() : undefined;
      return method === 'HEAD' || (status ?? 0) < 200 ? 1 : 0;
    }) satisfies HeadersComplete;
    this.parser[llhttp!.kOnBody] = (b: Buffer) => (this.current!.body = Buffer.concat([this.current!.body, b]));
    this.parser[llhttp!.kOnMessageComplete] = () => {
      if (this.current && this.current.status >= 200) this.answers.push(this.current);
      this.wake();
    };
    this.socket.on('data', (d) => this.parser.execute(d));
    this.socket.on('close', () => {
      this.parser.finish(); // completes a close-delimited answer
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Writes raw bytes; `methods` are the request methods in them, in order (to know which answers have no body). */
  write(bytes: string | Buffer, ...methods: string[]): void {
    this.heads.push(...methods);
    this.socket.write(bytes);
  }

  async until(n: number, ms = 5000): Promise<Answer[]> {
    const deadline = Date.now() + ms;
    while (this.answers.length < n && !this.closed) {
      if (Date.now() > deadline) throw new Error(`${this.answers.length} of ${n} answers after ${ms} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.answers;
  }

  async closedByServer(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  end(): void {
    this.socket.destroy();
  }
}

function header(a: Answer, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.headers.length; i += 2) if (a.headers[i]!.toLowerCase() === name) out.push(a.headers[i + 1]!);
  return out;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: demo.apps.test\r\n${extra}\r\n`;

describe('front door', () => {
  test('a claimed request reaches the app without the platform credentials and with X-Forwarded-*; one upstream connection serves a keep-alive client', async () => {
    const c = new Client();
    const before = appConnections;
    c.write(get('/app/echo?x=1', `Authorization: Bearer secret\r\nCookie: ${PLATFORM_COOKIE}=s1; theme=dark\r\nCookie: ${PLATFORM_COOKIE}_login=s2\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nX-Keep: 2\r\n`), 'GET');
    const [a] = await c.until(1);
    assert.equal(a!.status, 200);
    const seen = JSON.parse(a!.body.toString()) as Seen;
    const h = new Map<string, string[]>();
    for (let i = 0; i < seen.headers.length; i += 2) h.set(seen.headers[i]!.toLowerCase(), [...(h.get(seen.headers[i]!.toLowerCase()) ?? []), seen.headers[i + 1]!]);
    assert.equal(seen.url, '/app/echo?x=1');
    assert.equal(h.get('authorization'), undefined, 'Authorization removed');
    assert.deepEqual(h.get('cookie'), ['theme=dark'], "the platform's cookies removed, the app's kept");
    assert.deepEqual(h.get('x-forwarded-for'), ['127.0.0.1'], 'X-Forwarded-For from the peer, not the client');
    assert.deepEqual(h.get('x-forwarded-proto'), ['https']);
    assert.deepEqual(h.get('x-forwarded-host'), ['demo.apps.test']);
    assert.equal(h.get('x-drop'), undefined, 'headers named by Connection are hop-by-hop');
    assert.deepEqual(h.get('x-keep'), ['2']);
    c.write(get('/app/echo?x=2'), 'GET');
    c.write(get('/app/echo?x=3'), 'GET');
    await c.until(3);
    assert.equal(c.closed, false);
    assert.equal(appConnections - before, 1, 'one upstream connection for the three requests');
    c.end();
  });

  test('pipelined requests are answered in order, claimed and inner mixed on one connection, an async claim included', async () => {
    const c = new Client();
    c.write(get('/app/echo?n=1') + get('/api/v1/apps') + get('/async/echo?n=3') + get('/app/chunks') + get('/web/'), 'GET', 'GET', 'GET', 'GET', 'GET');
    const answers = await c.until(5);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.equal((JSON.parse(answers[0]!.body.toString()) as Seen).url, '/app/echo?n=1');
    assert.match(answers[1]!.body.toString(), /^inner GET \/api\/v1\/apps from 127\.0\.0\.1 body=0$/, 'the inner server sees the client address');
    assert.deepEqual(header(answers[1]!, 'x-inner'), ['yes']);
    assert.equal((JSON.parse(answers[2]!.body.toString()) as Seen).url, '/async/echo?n=3');
    assert.equal(answers[3]!.body.toString(), 'one two three');
    assert.match(answers[4]!.body.toString(), /^inner GET \/web\//);
    c.end();
  });

  test('bodies are re-framed: Content-Length kept, chunked requests re-chunked whole, answers without a length chunked to the client', async () => {
    const c = new Client();
    const body = 'a'.repeat(3000);
    c.write(`POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'POST');
    c.write('POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', 'POST');
    c.write(get('/app/chunks'), 'GET');
    c.write(get('/raw/close'), 'GET');
    c.write(get('/app/echo?after=close'), 'GET');
    const [cl, chunked, chunks, close, after] = await c.until(5);
    assert.equal((JSON.parse(cl!.body.toString()) as Seen).sha, createHash('sha256').update(body).digest('hex'));
    const s = JSON.parse(chunked!.body.toString()) as Seen;
    assert.equal(s.body, 'hello world');
    assert.ok(s.headers.some((x) => /^chunked$/i.test(x)), 'sent on chunked');
    assert.deepEqual(header(chunks!, 'transfer-encoding'), ['chunked']);
    assert.equal(close!.body.toString(), 'until the end', 'a close-delimited answer');
    assert.deepEqual(header(close!, 'transfer-encoding'), ['chunked'], '…chunked to the client, so the connection lives on');
    assert.equal(after!.status, 200);
    assert.equal(c.closed, false);
    c.end();
  });

  test('a large upload and a large answer stream through with backpressure, intact', async () => {
    const c = new Client();
    const big = Buffer.alloc(60 * 1024, 'u');
    c.write(Buffer.concat([Buffer.from(`PUT /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nContent-Length: ${big.length}\r\n\r\n`), big]), 'PUT');
    c.write(get('/app/big'), 'GET');
    const [up, down] = await c.until(2, 15_000);
    assert.equal((JSON.parse(up!.body.toString()) as Seen).sha, createHash('sha256').update(big).digest('hex'));
    assert.equal(down!.body.length, 64 * 64 * 1024);
    c.end();
  });

  test('HEAD, 204 and 304 answers carry no body and keep the connection in step', async () => {
    const c = new Client();
    c.write(`HEAD /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\n\r\n`, 'HEAD');
    c.write(get('/app/none') + get('/app/same') + get('/app/echo?last'), 'GET', 'GET', 'GET');
    const [head, none, same, last] = await c.until(4);
    assert.equal(head!.status, 200);
    assert.equal(head!.body.length, 0);
    assert.ok(Number(header(head!, 'content-length')[0]) > 0, 'HEAD keeps the length of the body it does not send');
    assert.equal(none!.status, 204);
    assert.equal(same!.status, 304);
    assert.deepEqual(header(same!, 'etag'), ['"v1"']);
    assert.equal((JSON.parse(last!.body.toString()) as Seen).url, '/app/echo?last');
    c.end();
  });

  test("the app cannot set the platform's cookies", async () => {
    const c = new Client();
    c.write(get('/app/cookies'), 'GET');
    const [a] = await c.until(1);
    assert.deepEqual(header(a!, 'set-cookie'), ['app=1; Path=/']);
    c.end();
  });

  for (const [name, bytes, status, headFirst] of [
    ['Content-Length with Transfer-Encoding (request smuggling)', 'POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /app/echo?smuggled HTTP/1.1\r\nHost: demo.apps.test\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
    ['a bare LF header line and obs-fold', 'GET /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nX: a\r\n folded\r\n\r\n', 400],
    ['a bad chunk size', 'POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400, true],
    ['headers over the size limit', `GET /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nX-Big: ${'b'.repeat(5000)}\r\n\r\n`, 431],
  ] as const)
    test(`refused with ${status} and closed: ${name}; ${headFirst ? 'the app gets no complete request' : 'nothing reaches the app'}`, async () => {
      const before = appConnections;
      const requests = appRequests;
      const c = new Client();
      c.write(bytes);
      const [a] = await c.until(1);
      assert.equal(a!.status, status);
      assert.ok(await c.closedByServer(), 'the connection is closed');
      // A body that breaks off is found after the head went on (streaming); the app's side is then cut.
      if (!headFirst) assert.equal(appConnections, before, 'the app saw nothing');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(appRequests, requests, 'no request completed at the app');
    });

  test('a chunked upload over the body limit gets 413 and the connection closes', async () => {
    const c = new Client();
    const chunk = Buffer.alloc(16 * 1024, 'z');
    c.write('POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nTransfer-Encoding: chunked\r\n\r\n', 'POST');
    for (let i = 0; i < 6; i++) c.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    const [a] = await c.until(1);
    assert.equal(a!.status, 413);
    assert.ok(await c.closedByServer());
  });

  test('an app that answers before the upload is complete: the client gets the answer, then the connection closes', async () => {
    const c = new Client();
    c.write(`POST /app/reject HTTP/1.1\r\nHost: demo.apps.test\r\nContent-Length: ${MAX_BODY}\r\n\r\n${'r'.repeat(1000)}`, 'POST');
    const [a] = await c.until(1);
    assert.equal(a!.status, 413);
    c.write('r'.repeat(1000));
    assert.ok(await c.closedByServer(), 'closed: the rest of that body will not be read as requests');
  });

  test('upstream failures become pages: refused → 502, silent → 504, a gzip transfer coding → 502; the client connection survives', async () => {
    const c = new Client();
    c.write(get('/down/x') + get('/app/silent') + get('/raw/gzip') + get('/app/echo?still'), 'GET', 'GET', 'GET', 'GET');
    const [refused, silent, gzip, still] = await c.until(4, 10_000);
    assert.equal(refused!.status, 502);
    assert.match(refused!.body.toString(), /Instance &quot;down&quot; refused the connection/);
    assert.doesNotMatch(refused!.body.toString(), /at .*\.ts:\d+/, 'no stack trace');
    assert.equal(silent!.status, 504);
    assert.equal(gzip!.status, 502);
    assert.equal(still!.status, 200);
    c.end();
  });

  test('a kept-alive upstream socket the app closed meanwhile is replaced, not answered with an error', async () => {
    const c = new Client();
    c.write(get('/app/echo?first'), 'GET');
    await c.until(1);
    // The app drops its idle connections (as an app with a short keep-alive does).
    app.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 100));
    c.write(get('/app/echo?second'), 'GET');
    const [, second] = await c.until(2);
    assert.equal(second!.status, 200);
    c.end();
  });

  test('HTTP/1.0 and Expect: 100-continue go to node:http; so does a request with two Host headers', async () => {
    const c10 = new Client();
    c10.write('GET /app/echo HTTP/1.0\r\nHost: demo.apps.test\r\n\r\n', 'GET');
    const [a10] = await c10.until(1);
    assert.match(a10!.body.toString(), /^inner GET \/app\/echo/);
    assert.ok(await c10.closedByServer(), 'HTTP/1.0 without keep-alive: closed after the answer');
    const cx = new Client();
    cx.write('POST /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n', 'POST');
    await new Promise((r) => setTimeout(r, 100));
    cx.write('abc');
    const [ax] = await cx.until(1);
    assert.match(ax!.body.toString(), /^inner POST \/app\/echo .* body=3$/);
    cx.end();
    const ch = new Client();
    ch.write('GET /app/echo HTTP/1.1\r\nHost: demo.apps.test\r\nHost: other.test\r\n\r\n', 'GET');
    const [ah] = await ch.until(1);
    assert.match(ah!.body.toString(), /^inner GET/);
    ch.end();
  });

  test('a claimed websocket goes straight to the app, keeps its handshake headers and flows both ways; an unclaimed one is served by node:http', async () => {
    for (const [path, expected] of [
      ['/app/socket', 'app echo hi (upgrade: websocket, forwarded for 127.0.0.1)'],
      ['/inner/socket', 'echo hi'],
    ] as const) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { cookie: `${PLATFORM_COOKIE}=secret; theme=1` } });
      const got = await new Promise<string>((resolve, reject) => {
        ws.on('open', () => ws.send('hi'));
        ws.on('message', (m) => resolve(String(m)));
        ws.on('error', reject);
      });
      assert.equal(got, expected);
      ws.close();
    }
    assert.deepEqual(appWebsocketCookies, ['theme=1'], "the app's handshake came without the platform's cookie");
  });

  test("an app's 101 answer cannot set the platform's cookie (issue #24 item 2); its own cookies pass", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/cookie101`);
    const cookies = await new Promise<string[]>((resolve, reject) => {
      ws.on('upgrade', (res) => resolve(res.headers['set-cookie'] ?? []));
      ws.on('error', reject);
    });
    ws.close();
    assert.deepEqual(cookies, ['theme=2']);
  });

  test("a websocket handshake the app refuses is relayed and closed; an unreachable app's is a 502", async () => {
    const c = new Client();
    c.write(`GET /app/nows HTTP/1.1\r\nHost: demo.apps.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, 'GET');
    const [refused] = await c.until(1);
    assert.equal(refused!.status, 403);
    assert.ok(await c.closedByServer());
    const d = new Client();
    d.write(`GET /down/ws HTTP/1.1\r\nHost: demo.apps.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, 'GET');
    const [down] = await d.until(1);
    assert.equal(down!.status, 502);
    assert.ok(await d.closedByServer());
  });

  test("each claimed exchange reports its status once; one whose client left reports 0", async () => {
    done.length = 0;
    const c = new Client();
    c.write(get('/app/echo?a') + get('/app/none'), 'GET', 'GET');
    await c.until(2);
    c.write(get('/app/silent'), 'GET');
    await new Promise((r) => setTimeout(r, 100));
    c.end();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(done, [200, 204, 0]);
  });

  test('client timeouts: an idle keep-alive connection is closed; a head that dribbles in past the headers timeout gets 408', async () => {
    const strict = createServer((_req, res) => res.end('inner'));
    const d = FrontDoor.attach(strict, { claim: () => undefined, maxHeaderSize: 4096, maxBodyBytes: MAX_BODY, connectTimeoutMs: 1000, responseTimeoutMs: 1000, keepAliveTimeoutMs: () => 300, headersTimeoutMs: () => 200 });
    assert.ok(d);
    await new Promise<void>((r) => strict.listen(0, '127.0.0.1', r));
    const strictPort = (strict.address() as AddressInfo).port;
    try {
      const idle = new Client(strictPort);
      const t0 = Date.now();
      idle.write(get('/x'), 'GET');
      await idle.until(1);
      assert.ok(await idle.closedByServer(3000), 'closed while idle');
      // The timer is re-armed by the answer's write, which came after t0.
      assert.ok(Date.now() - t0 >= 250, 'not before the keep-alive timeout');
      const slow = new Client(strictPort);
      slow.write('GET /x HTTP/1.1\r\n');
      await new Promise((r) => setTimeout(r, 150));
      slow.write('Host: demo.apps.test\r\n');
      await new Promise((r) => setTimeout(r, 150));
      slow.write('X-Late: 1\r\n\r\n', 'GET');
      const [a] = await slow.until(1);
      assert.equal(a!.status, 408);
      assert.ok(await slow.closedByServer());
    } finally {
      d.close();
      strict.closeAllConnections();
      await new Promise<void>((r) => strict.close(() => r()));
    }
  });

  test('close() ends idle client connections', async () => {
    const c = new Client();
    c.write(get('/app/echo'), 'GET');
    await c.until(1);
    assert.equal(c.closed, false);
    door.close();
    assert.ok(await c.closedByServer(1000), 'closed by close()');
  });
});
