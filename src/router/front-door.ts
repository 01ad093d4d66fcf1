/**
 * The front door: the server's connections arrive here first. A request the
 * router can proxy as is (an authorized request for a Ready instance, the
 * router's `claim`) goes to the pod over a pooled keep-alive socket with
 * Node's own llhttp parsing both sides (./llhttp.ts); every other request
 * (API, web UI, the router's pages and redirects, websocket upgrades, and
 * anything unusual: HTTP/1.0, Expect, repeated Host) goes unchanged to the
 * node:http server over an in-process connection (./inner-connection.ts).
 *
 * Why: node:http's client side (ClientRequest, the Agent, ServerResponse)
 * cost about 70 µs of a bare proxy's 94 µs per request on these machines, a
 * third of nginx's throughput at best (docs/router.md). Parsing with llhttp
 * and writing the bytes ourselves keeps the strictness and drops that cost.
 *
 * Framing rules: requests are answered in order, one at a time per
 * connection (pipelined ones wait, and the socket stops being read while
 * one waits). Bodies are re-framed, never passed through raw: Content-Length
 * stays, chunked bodies are re-chunked from what llhttp decoded, and an
 * answer without a length is chunked to the client.
 */
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { headBlock, responseHeaderList, withoutPlatformCookies } from './http-engine.ts';
import { innerConnection } from './inner-connection.ts';
import { llhttp, onHead, type Llhttp, type Parser } from './llhttp.ts';
import { pages, rawPage, refuseUpgrade, type Page } from './pages.ts';
import { classifyUpstreamError } from './proxy.ts';

/** A request as the router's claim sees it. */
export interface FrontRequest {
  method: string;
  url: string;
  /** Host, Cookie (joined), Authorization and Origin: the headers routing, authentication and the websocket origin check read. */
  headers: { host?: string; cookie?: string; authorization?: string; origin?: string };
  /** A websocket handshake (GET with Upgrade: websocket): the claim must keep Connection/Upgrade. */
  upgrade: boolean;
  /** All headers as received, flat [name, value, …]. */
  rawHeaders: string[];
  remoteAddress: string;
}

/** The router's yes: where to send the request and with which headers. */
export interface FrontClaim {
  instance: string;
  upstream: { host: string; port: number };
  /** Request headers for the app, flat (credentials stripped, X-Forwarded-* set, no hop-by-hop, no Transfer-Encoding). */
  headers: string[];
  /** Response Set-Cookie lines naming cookies that start with this are dropped. */
  platformCookie: string;
  /** Called once when the exchange ends, with the status the client got (0: none, the client left); 101 for an open websocket. */
  done(status: number): void;
  /** A websocket tunnel (after done(101)) closed. */
  closed?(): void;
}

export type Claimer = (req: FrontRequest) => FrontClaim | undefined | Promise<FrontClaim | undefined>;

export interface FrontDoorOptions {
  claim: Claimer;
  maxHeaderSize: number;
  maxBodyBytes: number;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Idle keep-alive connections (client side) are closed after this; read at each use (fastify sets the server's after creating it). */
  keepAliveTimeoutMs: () => number;
  /** A request head must arrive within this. */
  headersTimeoutMs: () => number;
  /** Called with errors the front door absorbed (logging). */
  onError?: (err: unknown, what: string) => void;
}

const CONNECT_TIMEOUT = 'EUPSTREAMCONNECTTIMEOUT';
const RESPONSE_TIMEOUT = 'EUPSTREAMRESPONSETIMEOUT';
const MAX_FREE_PER_UPSTREAM = 1024;
/** How long a connection closed mid-upload is still read (and dropped) before it is cut. */
const LINGER_MS = 5000;
/** Methods safe to send again on a new connection when a reused one turned out closed. */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** One request and its answer. */
interface Exchange {
  method: string;
  url: string;
  minor: number;
  rawHeaders: string[];
  keepAlive: boolean;
  upgrade: boolean;
  /** Request body: chunked on the way in (so re-chunked on the way out). */
  chunked: boolean;
  /** Body chunks not yet written to the leg. */
  body: Buffer[];
  bodyBytes: number;
  bodyDone: boolean;
  /** Bytes after an upgrade request's head (already the new protocol's). */
  rest?: Buffer;
  /** The client connection, set when the exchange starts (a field, not a WeakMap: no ephemeron work for the GC per request). */
  conn?: ClientConnection;
  leg?: Leg;
  claim?: FrontClaim;
  /** The request head (and so the buffered body) went to the leg. */
  sent: boolean;
  headSent: boolean;
  status: number;
  interim: boolean;
  respChunked: boolean;
  closeAfter: boolean;
  retried: boolean;
}

/** A request head exactly as received (for the node:http server, which parses it again). */
function asReceived(ex: Exchange): string {
  return headBlock(`${ex.method} ${ex.url} HTTP/1.${ex.minor}`, ex.rawHeaders);
}

/** An upstream socket or an inner connection's end (both have setTimeout). */
type LegStream = Duplex & { setTimeout(ms: number): unknown };

/** A connection we forward requests on: a pooled upstream socket or the connection to the node:http server. */
class Leg {
  readonly parser: Parser;
  ex: Exchange | undefined;
  /** It served an exchange before (so a failure before any answer byte may be a stale keep-alive socket). */
  reused = false;
  gotBytes = false;
  keepAlive = false;
  /** Waiting for this stream's 'drain' (the client socket is paused meanwhile). */
  drainWait = false;

  constructor(
    readonly stream: LegStream,
    readonly key: string | undefined,
    readonly door: FrontDoor,
    ll: Llhttp,
    maxHeaderSize: number,
  ) {
    this.parser = ll.newParser('response', maxHeaderSize);
    onHead(this.parser, ll, (_maj, _minor, headers, _m, _u, status, message, _upgrade, keepAlive) => {
      const ex = this.ex;
      if (!ex) return -1;
      return door.answerHead(this, ex, status ?? 0, message ?? '', headers ?? [], keepAlive);
    });
    this.parser[ll.kOnBody] = (b: Buffer) => {
      if (this.ex) door.answerBody(this, this.ex, b);
    };
    this.parser[ll.kOnMessageComplete] = () => {
      const ex = this.ex;
      if (!ex) return;
      if (ex.interim) ex.interim = false;
      else door.answerDone(this, ex);
    };
    stream.on('data', (d: Buffer) => this.onData(d));
    stream.on('end', () => {
      // A close-delimited answer ends here; anything else in progress is cut short.
      if (this.ex && this.gotBytes) this.parser.finish();
      if (this.ex) this.fail(Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' }));
      else this.destroy();
    });
    stream.on('error', (err) => this.fail(err));
    stream.on('close', () => {
      door.forget(this);
      if (this.ex) this.fail(Object.assign(new Error('upstream connection closed'), { code: 'ECONNRESET' }));
      this.parser.free();
    });
    // One inactivity timer, armed once (every read and write re-arms it; no timer work per request):
    // silence during an exchange is a 504, an idle pooled socket is closed.
    stream.on('timeout', () => {
      if (this.ex) this.fail(Object.assign(new Error('upstream response timeout'), { code: RESPONSE_TIMEOUT }));
      else this.destroy();
    });
  }

  private onData(d: Buffer): void {
    const ex = this.ex;
    if (!ex) {
      this.destroy(); // bytes nobody asked for
      return;
    }
    this.gotBytes = true;
    const client = ex.conn?.socket;
    client?.cork();
    const r = this.parser.execute(d);
    client?.uncork();
    if (typeof r !== 'number') this.fail(Object.assign(new Error(`the app's answer is not valid HTTP/1.1 (${r.code ?? r.message})`), { code: 'EBADANSWER' }));
  }

  fail(err: unknown): void {
    const ex = this.ex;
    this.ex = undefined;
    this.destroy();
    if (ex) this.door.legFailed(this, ex, err);
  }

  destroy(): void {
    if (!this.stream.destroyed) this.stream.destroy();
  }
}

/** One client connection. */
class ClientConnection {
  readonly parser: Parser;
  readonly queue: Exchange[] = [];
  /** The exchange whose request is being parsed. */
  parsing: Exchange | undefined;
  inner: Leg | undefined;
  headStarted = 0;
  closing = false;
  /** Waiting for the client socket's 'drain' (the answering leg is paused meanwhile). */
  drainWait = false;
  /** The answer to a request that could not be parsed, sent once those before it are answered. */
  refusal: string | undefined;

  constructor(
    readonly socket: Socket,
    readonly door: FrontDoor,
    ll: Llhttp,
    maxHeaderSize: number,
  ) {
    this.parser = ll.newParser('request', maxHeaderSize);
    this.parser[ll.kOnMessageBegin] = () => {
      this.headStarted = Date.now();
      return 0;
    };
    onHead(this.parser, ll, (_maj, minor, headers, method, url, _s, _m, upgrade, keepAlive) => {
      this.headStarted = 0;
      const h = headers ?? [];
      const name = method === undefined ? 'GET' : (ll.methods[method] ?? 'GET');
      let chunked = false;
      for (let i = 0; i < h.length; i += 2) if (h[i]!.length === 17 && h[i]!.toLowerCase() === 'transfer-encoding') chunked = true;
      const ex: Exchange = { method: name, url: url ?? '/', minor, rawHeaders: h, keepAlive, upgrade: upgrade || name === 'CONNECT', chunked, body: [], bodyBytes: 0, bodyDone: false, sent: false, headSent: false, status: 0, interim: false, respChunked: false, closeAfter: false, retried: false };
      this.parsing = ex;
      this.queue.push(ex);
      // One waits: read no further until it is served (pipelining stays bounded).
      if (this.queue.length > 1) socket.pause();
      return 0;
    });
    this.parser[ll.kOnBody] = (b: Buffer) => {
      const ex = this.parsing;
      if (ex) door.requestBody(this, ex, b);
    };
    this.parser[ll.kOnMessageComplete] = () => {
      const ex = this.parsing;
      this.parsing = undefined;
      if (ex) door.requestDone(ex);
    };
    socket.setNoDelay(true);
    socket.setTimeout(door.opts.keepAliveTimeoutMs());
    socket.on('data', (d: Buffer) => this.onData(d));
    // The client hung up (FIN): as nginx does, an exchange in progress is abandoned, not finished for nobody.
    socket.on('end', () => socket.destroy());
    // Armed once; every read and write re-arms it. Idle between requests, or a request head that stalls:
    // close. An exchange in progress has the upstream's timeouts instead.
    socket.on('timeout', () => {
      if (!this.queue.length) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => door.clientClosed(this));
  }

  private onData(d: Buffer): void {
    if (this.headStarted && Date.now() - this.headStarted > this.door.opts.headersTimeoutMs()) return this.refuse(408, 'Request Timeout');
    const r = this.parser.execute(d);
    if (typeof r !== 'number') {
      const overflow = r.code === 'HPE_HEADER_OVERFLOW';
      return this.refuse(overflow ? 431 : 400, overflow ? 'Request Header Fields Too Large' : 'Bad Request');
    }
    const last = this.queue[this.queue.length - 1];
    if (last?.upgrade && !last.rest) {
      // llhttp stopped after the upgrade request's head: what follows is the new protocol's, not HTTP.
      last.rest = d.subarray(r);
      this.socket.removeAllListeners('data');
      this.socket.pause();
    }
    // Started here, after llhttp returned, never from inside its callbacks.
    const first = this.queue[0];
    if (first && !first.conn) this.door.start(this, first);
  }

  /** Answers a request that cannot be parsed (after those before it) and closes; nothing more is read. */
  refuse(status: number, reason: string): void {
    this.socket.removeAllListeners('data');
    this.closing = true;
    this.refusal = `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
    // A request whose body broke off cannot be finished: it is dropped, and the app's side of it cut.
    const broken = this.parsing;
    this.parsing = undefined;
    if (broken) {
      this.queue.splice(this.queue.indexOf(broken), 1);
      this.door.abandon(broken);
      if (broken.headSent) return void this.socket.destroy();
    }
    if (!this.queue.length) this.socket.end(this.refusal);
  }
}

export class FrontDoor {
  private readonly ll: Llhttp;
  private readonly free = new Map<string, Leg[]>();
  private readonly clients = new Set<ClientConnection>();
  private closed = false;

  private constructor(
    private readonly serveInner: (socket: Duplex) => void,
    readonly opts: FrontDoorOptions,
    ll: Llhttp,
  ) {
    this.ll = ll;
  }

  /**
   * Puts a front door before `server`'s connections (its node:http listener
   * then only sees inner connections); undefined when llhttp is not
   * available, and the server stays as it was.
   */
  static attach(server: Server, opts: FrontDoorOptions): FrontDoor | undefined {
    if (!llhttp) return undefined;
    const listeners = server.listeners('connection') as ((socket: Duplex) => void)[];
    if (listeners.length !== 1) return undefined;
    const httpListener = listeners[0]!;
    const door = new FrontDoor((s) => httpListener.call(server, s), opts, llhttp);
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => door.accept(socket));
    return door;
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.clients.add(new ClientConnection(socket, this, this.ll, this.opts.maxHeaderSize));
  }

  requestBody(c: ClientConnection, ex: Exchange, b: Buffer): void {
    ex.bodyBytes += b.length;
    if (ex.claim && ex.bodyBytes > this.opts.maxBodyBytes) {
      // Only chunked bodies get here (a Content-Length over the limit never takes the fast path).
      c.socket.removeAllListeners('data');
      c.closing = true;
      const leg = ex.leg;
      ex.leg = undefined;
      if (leg) {
        leg.ex = undefined;
        leg.destroy();
      }
      c.parsing = undefined;
      if (!ex.headSent) this.writePage(c, ex, pages.tooLarge(this.opts.maxBodyBytes));
      else c.socket.destroy();
      return;
    }
    if (!ex.sent) ex.body.push(b);
    else if (ex.leg) this.writeBody(ex, ex.leg, b);
    // else: answered before the whole body came; the rest is dropped and the connection closes.
  }

  requestDone(ex: Exchange): void {
    ex.bodyDone = true;
    if (ex.sent && ex.leg && ex.chunked) ex.leg.stream.write('0\r\n\r\n', 'latin1');
  }

  private writeBody(ex: Exchange, leg: Leg, b: Buffer): void {
    const s = leg.stream;
    if (ex.chunked) s.write(`${b.length.toString(16)}\r\n`, 'latin1');
    const ok = s.write(b);
    if (ex.chunked) s.write('\r\n', 'latin1');
    if (!ok && !leg.drainWait) {
      // The app reads slower than the client sends: stop reading the client until it catches up.
      const c = ex.conn;
      if (c) {
        leg.drainWait = true;
        c.socket.pause();
        s.once('drain', () => {
          leg.drainWait = false;
          if (c.queue[0] === ex && c.queue.length < 2) c.socket.resume();
        });
      }
    }
  }

  /** The request at the head of the queue: claim it for an instance, or hand it to the node:http server. */
  start(c: ClientConnection, ex: Exchange): void {
    ex.conn = c;
    const req = this.frontRequest(c, ex);
    // Of upgrades, only websocket handshakes are claimed.
    const claimed = req && (!ex.upgrade || req.upgrade) ? this.opts.claim(req) : undefined;
    if (claimed instanceof Promise)
      claimed.then(
        (claim) => this.begin(c, ex, claim),
        (err: unknown) => {
          this.opts.onError?.(err, 'claim');
          this.begin(c, ex, undefined);
        },
      );
    else this.begin(c, ex, claimed);
  }

  /** Where the request goes: the app (claimed) or the node:http server; an upgrade's way differs from a request's. */
  private begin(c: ClientConnection, ex: Exchange, claim: FrontClaim | undefined): void {
    if (c.socket.destroyed) {
      claim?.done(0);
      return;
    }
    if (ex.upgrade) {
      if (claim) this.tunnel(c, ex, claim);
      else this.upgradeInner(c, ex);
    } else if (claim) {
      ex.claim = claim;
      this.sendUpstream(ex, claim);
    } else this.sendInner(c, ex);
  }

  /** The request as the router sees it, or undefined when only node:http should serve it. */
  private frontRequest(c: ClientConnection, ex: Exchange): FrontRequest | undefined {
    if (ex.minor !== 1) return undefined;
    let websocket = false;
    const headers: FrontRequest['headers'] = {};
    const h = ex.rawHeaders;
    let hosts = 0;
    let cookie: string | undefined;
    for (let i = 0; i < h.length; i += 2) {
      const k = h[i]!;
      // Only a few names matter here; compare lengths first (most headers are none of them).
      switch (k.length) {
        case 4:
          if (k.toLowerCase() === 'host') {
            hosts++;
            headers.host = h[i + 1];
          }
          break;
        case 6:
          if (k.toLowerCase() === 'cookie') cookie = cookie === undefined ? h[i + 1] : `${cookie}; ${h[i + 1]}`;
          else if (k.toLowerCase() === 'expect') return undefined;
          else if (k.toLowerCase() === 'origin') headers.origin = h[i + 1];
          break;
        case 7:
          if (k.toLowerCase() === 'upgrade' && h[i + 1]!.trim().toLowerCase() === 'websocket') websocket = true;
          break;
        case 13:
          if (k.toLowerCase() === 'authorization') {
            if (headers.authorization !== undefined) return undefined;
            headers.authorization = h[i + 1];
          }
          break;
        case 14:
          if (k.toLowerCase() === 'content-length' && Number(h[i + 1]) > this.opts.maxBodyBytes) return undefined;
          break;
        case 17:
          // Codings other than chunked would reach the app undeclared once re-framed.
          if (k.toLowerCase() === 'transfer-encoding' && h[i + 1]!.trim().toLowerCase() !== 'chunked') return undefined;
          break;
      }
    }
    if (hosts !== 1) return undefined;
    if (cookie !== undefined) headers.cookie = cookie;
    return { method: ex.method, url: ex.url, headers, rawHeaders: h, remoteAddress: c.socket.remoteAddress ?? '', upgrade: ex.upgrade && websocket && ex.method === 'GET' };
  }

  private sendUpstream(ex: Exchange, claim: FrontClaim): void {
    const key = `${claim.upstream.host}:${claim.upstream.port}`;
    let leg = this.free.get(key)?.pop();
    if (leg) leg.reused = true;
    else leg = this.connectUpstream(key, claim.upstream);
    leg.gotBytes = false;
    this.send(ex, leg, headBlock(`${ex.method} ${ex.url} HTTP/1.1`, claim.headers, ex.chunked ? 'Transfer-Encoding: chunked\r\n' : ''));
  }

  private connectUpstream(key: string, to: { host: string; port: number }): Leg {
    const socket = connect({ host: to.host, port: to.port, noDelay: true });
    const leg = new Leg(socket, key, this, this.ll, this.opts.maxHeaderSize);
    const timer = setTimeout(() => leg.fail(Object.assign(new Error('upstream connect timeout'), { code: CONNECT_TIMEOUT })), this.opts.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setTimeout(this.opts.responseTimeoutMs);
    });
    socket.once('close', () => clearTimeout(timer));
    return leg;
  }

  /** Writes the head and the body so far to `leg` (one write when there is no body). */
  private send(ex: Exchange, leg: Leg, head: string): void {
    ex.leg = leg;
    leg.ex = ex;
    ex.sent = true;
    const s = leg.stream;
    if (!ex.body.length) s.write(head, 'latin1');
    else {
      s.cork();
      s.write(head, 'latin1');
      for (const b of ex.body) this.writeBody(ex, leg, b);
      s.uncork();
      ex.body = [];
    }
    if (ex.bodyDone && ex.chunked) s.write('0\r\n\r\n', 'latin1');
  }

  /** The node:http server's turn: the request exactly as received (body re-framed the same way). */
  private sendInner(c: ClientConnection, ex: Exchange): void {
    const leg = this.innerLeg(c);
    leg.gotBytes = false;
    this.send(ex, leg, asReceived(ex));
  }

  private innerLeg(c: ClientConnection): Leg {
    if (c.inner && !c.inner.stream.destroyed) return c.inner;
    const [front, server] = innerConnection(c.socket);
    c.inner = new Leg(front, undefined, this, this.ll, 1024 * 1024);
    this.serveInner(server);
    return c.inner;
  }

  /** A claimed websocket handshake: sent to the app; on 101 the two sockets are joined, otherwise the app's answer is relayed and the connection closed. */
  private tunnel(c: ClientConnection, ex: Exchange, claim: FrontClaim): void {
    c.queue.length = 0;
    const client = c.socket;
    const up = connect({ host: claim.upstream.host, port: claim.upstream.port, noDelay: true });
    const parser = this.ll.newParser('response', this.opts.maxHeaderSize);
    let status = 0;
    let joined = false;
    let freed = false;
    const free = (): void => {
      if (!freed) parser.free();
      freed = true;
    };
    const cut = (): void => {
      client.destroy();
      up.destroy();
    };
    const fail = (err: unknown): void => {
      if (status === 0) {
        const f = classifyUpstreamError(err);
        this.opts.onError?.(err, `upstream websocket ${claim.instance}`);
        status = f.status;
        refuseUpgrade(client, f.status, f.status === 504 ? 'Gateway Timeout' : f.status === 503 ? 'Service Unavailable' : 'Bad Gateway');
        claim.done(f.status);
      }
      cut();
    };
    const timer = setTimeout(() => fail(Object.assign(new Error('upstream connect timeout'), { code: CONNECT_TIMEOUT })), this.opts.connectTimeoutMs);
    up.once('connect', () => {
      clearTimeout(timer);
      up.setTimeout(this.opts.responseTimeoutMs, () => fail(Object.assign(new Error('upstream response timeout'), { code: RESPONSE_TIMEOUT })));
    });
    up.on('error', fail);
    up.once('close', () => {
      clearTimeout(timer);
      free();
      if (status === 0) fail(Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' }));
      client.destroy();
      if (joined) claim.closed?.();
    });
    client.once('close', () => up.destroy());
    onHead(parser, this.ll, (_maj, _min, headers, _m, _u, code, message) => {
      status = code ?? 502;
      claim.done(status);
      if (status === 101) {
        // The app's handshake answer as it is (Upgrade, Connection, Sec-WebSocket-Accept are the protocol's).
        // The same platform-cookie rule as every other answer: a 101 may not fix the user's session either.
        client.write(headBlock(`HTTP/1.1 101 ${message ?? 'Switching Protocols'}`, withoutPlatformCookies(headers ?? [], claim.platformCookie)), 'latin1');
        return 2; // llhttp stops here: what follows is the websocket's
      }
      client.write(this.head(`HTTP/1.1 ${status} ${message ?? ''}`, headers ?? [], claim.platformCookie, 'Connection: close\r\n'), 'latin1');
      return 0;
    });
    parser[this.ll.kOnBody] = (b: Buffer) => client.write(b);
    parser[this.ll.kOnMessageComplete] = () => {
      if (status !== 101) {
        client.end();
        up.destroy();
      }
    };
    up.on('data', (d: Buffer) => {
      const r = parser.execute(d);
      if (typeof r !== 'number') return fail(Object.assign(new Error(`the app's handshake answer is not valid HTTP/1.1 (${r.code ?? r.message})`), { code: 'EBADANSWER' }));
      if (status !== 101 || joined) return;
      joined = true;
      free();
      up.removeAllListeners('data');
      up.setTimeout(0);
      // An idle websocket is fine: no timeouts from here on.
      client.setTimeout(0);
      if (r < d.length) client.write(d.subarray(r));
      up.pipe(client);
      client.pipe(up);
      client.resume();
    });
    up.write(headBlock(`GET ${ex.url} HTTP/1.1`, claim.headers), 'latin1');
    if (ex.rest?.length) up.write(ex.rest);
    client.on('error', cut);
  }

  /** A websocket (or other) upgrade: node:http and the router's upgrade path serve it; from here on the bytes just flow. */
  private upgradeInner(c: ClientConnection, ex: Exchange): void {
    const leg = this.innerLeg(c);
    c.inner = undefined;
    c.queue.length = 0;
    const s = leg.stream;
    s.removeAllListeners('data');
    s.removeAllListeners('end');
    s.write(asReceived(ex), 'latin1');
    if (ex.rest?.length) s.write(ex.rest);
    c.socket.setTimeout(0);
    s.pipe(c.socket);
    c.socket.pipe(s);
    c.socket.resume();
    s.once('close', () => c.socket.destroy());
    c.socket.once('close', () => s.destroy());
  }

  /** An answer's head. Returns 1 to tell llhttp there is no body to read (HEAD, 1xx). */
  answerHead(leg: Leg, ex: Exchange, status: number, message: string, headers: string[], keepAlive: boolean): number {
    const c = ex.conn;
    if (!c || c.socket.destroyed) return 1;
    leg.keepAlive = keepAlive;
    if (status < 200) {
      if (status === 101) {
        leg.fail(Object.assign(new Error('switching protocols on a request that asked for none'), { code: 'EBADANSWER' }));
        return -1;
      }
      // 100 Continue, 103 Early Hints: passed on to HTTP/1.1 clients; the final answer follows.
      ex.interim = true;
      if (ex.minor === 1) c.socket.write(this.head(`HTTP/1.1 ${status} ${message}`, headers, ex.claim?.platformCookie), 'latin1');
      return 1;
    }
    for (let i = 0; i < headers.length; i += 2)
      if (headers[i]!.length === 17 && headers[i]!.toLowerCase() === 'transfer-encoding' && headers[i + 1]!.trim().toLowerCase() !== 'chunked') {
        // A coding we would drop when re-framing (gzip as a transfer coding): not passed on.
        leg.fail(Object.assign(new Error(`unsupported Transfer-Encoding "${headers[i + 1]}"`), { code: 'EBADANSWER' }));
        return -1;
      }
    ex.status = status;
    ex.headSent = true;
    const noBody = ex.method === 'HEAD' || status === 204 || status === 304;
    let hasLength = false;
    for (let i = 0; i < headers.length; i += 2) if (headers[i]!.length === 14 && headers[i]!.toLowerCase() === 'content-length') hasLength = true;
    let extra = '';
    if (!noBody && !hasLength) {
      if (ex.minor === 1) {
        ex.respChunked = true;
        extra += 'Transfer-Encoding: chunked\r\n';
      } else ex.closeAfter = true; // HTTP/1.0: the end of the body is the end of the connection
    }
    if (!ex.keepAlive || c.closing || this.closed) ex.closeAfter = true;
    if (ex.closeAfter) extra += 'Connection: close\r\n';
    else if (ex.minor === 0) extra += 'Connection: keep-alive\r\n';
    c.socket.write(this.head(`HTTP/1.1 ${status} ${message}`, headers, ex.claim?.platformCookie, extra), 'latin1');
    return ex.method === 'HEAD' ? 1 : 0;
  }

  /**
   * The status line and the answer's end-to-end headers, without the platform's cookies (the node:http
   * engine's responseHeaderList). Framing headers are ours: Transfer-Encoding dropped, Content-Length kept.
   */
  private head(statusLine: string, headers: string[], platformCookie: string | undefined, extra = ''): string {
    return headBlock(statusLine, responseHeaderList(headers, platformCookie), extra, 'transfer-encoding');
  }

  answerBody(leg: Leg, ex: Exchange, b: Buffer): void {
    const c = ex.conn;
    if (!c || c.socket.destroyed) return;
    const s = c.socket;
    if (ex.respChunked) s.write(`${b.length.toString(16)}\r\n`, 'latin1');
    const ok = s.write(b);
    if (ex.respChunked) s.write('\r\n', 'latin1');
    if (!ok && !c.drainWait) {
      // The client reads slower than the app answers: stop reading the app until it catches up.
      c.drainWait = true;
      leg.stream.pause();
      s.once('drain', () => {
        c.drainWait = false;
        leg.stream.resume();
      });
    }
  }

  answerDone(leg: Leg, ex: Exchange): void {
    const c = ex.conn;
    if (ex.respChunked && c && !c.socket.destroyed) c.socket.write('0\r\n\r\n', 'latin1');
    leg.ex = undefined;
    ex.leg = undefined;
    // A connection is reused only when both sides finished the exchange cleanly.
    if (leg.keepAlive && ex.bodyDone && !this.closed) this.release(leg);
    else {
      leg.destroy();
      if (c?.inner === leg) c.inner = undefined;
    }
    if (c) this.finish(c, ex);
  }

  /** Back to the pool (upstream sockets), or kept for the next request (the inner connection). */
  private release(leg: Leg): void {
    if (leg.key === undefined) return;
    const list = this.free.get(leg.key) ?? [];
    if (list.length >= MAX_FREE_PER_UPSTREAM) return leg.destroy();
    list.push(leg);
    this.free.set(leg.key, list);
  }

  forget(leg: Leg): void {
    if (leg.key === undefined) return;
    const list = this.free.get(leg.key);
    const i = list?.indexOf(leg) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list && !list.length) this.free.delete(leg.key);
  }

  /** The exchange is over: the next one, or close. */
  private finish(c: ClientConnection, ex: Exchange): void {
    ex.claim?.done(ex.status);
    ex.claim = undefined;
    if (c.queue[0] === ex) c.queue.shift();
    if (!ex.bodyDone && !c.socket.destroyed) {
      // Answered before the client finished sending: close, but read and drop what still comes a
      // while first (closing with unread data would reset the connection and lose the answer).
      c.socket.removeAllListeners('data');
      c.socket.on('data', () => undefined);
      c.socket.resume();
      c.socket.end();
      setTimeout(() => c.socket.destroy(), LINGER_MS).unref();
      return;
    }
    if (ex.closeAfter || c.socket.destroyed) {
      c.socket.end();
      return;
    }
    const next = c.queue[0];
    if (next) {
      this.start(c, next);
      // The upgrade path takes the socket over; otherwise read on once no other request waits.
      if (!next.upgrade && c.queue.length < 2) c.socket.resume();
      return;
    }
    if (c.closing) {
      if (c.refusal) c.socket.end(c.refusal);
      else c.socket.end();
      return;
    }
    c.socket.resume();
  }

  legFailed(leg: Leg, ex: Exchange, err: unknown): void {
    const c = ex.conn;
    ex.leg = undefined;
    if (leg.key === undefined && c?.inner === leg) c.inner = undefined;
    if (!c || c.socket.destroyed) {
      ex.claim?.done(0);
      return;
    }
    // A kept-alive socket the app had already closed: send it again on a new one, when that is safe.
    if (ex.claim && leg.reused && !leg.gotBytes && !ex.retried && !ex.headSent && RETRYABLE.has(ex.method) && ex.bodyDone && ex.bodyBytes === 0) {
      ex.retried = true;
      ex.sent = false;
      return this.sendUpstream(ex, ex.claim);
    }
    if (ex.headSent || !ex.claim) {
      ex.claim?.done(ex.status);
      c.socket.destroy();
      return;
    }
    const f = classifyUpstreamError(err);
    this.opts.onError?.(err, `upstream ${ex.claim.instance}`);
    this.writePage(c, ex, pages.upstream(f.status, ex.claim.instance, f.what));
  }

  private writePage(c: ClientConnection, ex: Exchange, p: Page): void {
    ex.status = p.status;
    ex.headSent = true;
    if (!ex.keepAlive || !ex.bodyDone || c.closing) ex.closeAfter = true;
    c.socket.write(rawPage(p, ex.closeAfter), 'latin1');
    this.finish(c, ex);
  }

  /** Cuts an exchange's leg and reports it unanswered. */
  abandon(ex: Exchange): void {
    const leg = ex.leg;
    ex.leg = undefined;
    if (leg) {
      leg.ex = undefined;
      leg.destroy();
    }
    ex.claim?.done(0);
    ex.claim = undefined;
  }

  clientClosed(c: ClientConnection): void {
    this.clients.delete(c);
    c.parser.free();
    c.inner?.destroy();
    for (const ex of c.queue) this.abandon(ex);
    c.queue.length = 0;
  }

  /** Stops taking connections' next requests, closes idle ones and the upstream pool. */
  close(): void {
    this.closed = true;
    for (const c of this.clients) {
      c.closing = true;
      if (!c.queue.length) c.socket.destroy();
    }
    for (const list of this.free.values()) for (const leg of [...list]) leg.destroy();
    this.free.clear();
  }
}
