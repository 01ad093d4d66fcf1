/**
 * The HTTP and websocket proxy to instances: a lean node:http engine
 * (./http-engine.ts; docs/router.md has the measurements against http-proxy
 * and http-proxy-3 behind the choice) over one keep-alive agent, so connections to pods are reused
 * instead of exhausting ephemeral ports. Errors are sorted into 502
 * (refused, reset), 503 (unreachable) and 504 (timeouts).
 */
import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { NodeHttpEngine } from './http-engine.ts';

/** The part of http-proxy(-3)'s ProxyServer we use; both packages have it, so the benchmark can swap them. */
export interface ProxyEngine {
  web(req: IncomingMessage, res: ServerResponse, options: object, callback: (err: Error) => void): void;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, options: object, callback: (err: Error) => void): void;
  on(event: 'proxyReq' | 'proxyReqWs', listener: (proxyReq: ClientRequest, req: IncomingMessage) => void): unknown;
}

export interface ProxyOptions {
  connectTimeoutMs: number;
  /** No response headers (or silence on a plain response) for this long → 504. */
  responseTimeoutMs: number;
  maxBodyBytes: number;
  /** Set-Cookie lines of app answers naming cookies that start with this are dropped (node-http engine). */
  platformCookie?: string;
  /** Another engine with http-proxy's interface (the benchmark passes http-proxy and http-proxy-3); default NodeHttpEngine. */
  engine?: ProxyEngine;
}

export type UpstreamFailure = { status: 502 | 503 | 504; what: string; code: string };

/** An error code that names a timeout we set. */
const CONNECT_TIMEOUT = 'EUPSTREAMCONNECTTIMEOUT';
const RESPONSE_TIMEOUT = 'EUPSTREAMRESPONSETIMEOUT';
const BODY_TOO_LARGE = 'EBODYTOOLARGE';

/** Sorts a proxy error: refused/reset → 502, unreachable → 503, timeouts → 504. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  switch (code) {
    case CONNECT_TIMEOUT:
      return { status: 504, what: 'did not accept a connection in time', code };
    case RESPONSE_TIMEOUT:
    case 'ETIMEDOUT':
      return { status: 504, what: 'did not answer in time', code };
    case 'ECONNREFUSED':
      return { status: 502, what: 'refused the connection (the app is not listening)', code };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { status: 503, what: 'cannot be reached on the network', code };
    default:
      // ECONNRESET, EPIPE, "socket hang up", a malformed response: the app broke the exchange.
      return { status: 502, what: 'closed the connection without a complete answer', code };
  }
}

/** Counts body bytes of a request without Content-Length and fails past the limit. */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) cb(Object.assign(new Error('request body too large'), { code: BODY_TOO_LARGE }));
    else cb(null, chunk);
  }
}

export class UpstreamProxy {
  readonly agent: Agent;
  private readonly engine: ProxyEngine;
  /** The upstream request of each incoming one, to cut it when the body limit trips. */
  private readonly upstreamOf = new WeakMap<IncomingMessage, ClientRequest>();

  constructor(private readonly opts: ProxyOptions) {
    // LIFO keeps few sockets warm; free sockets idle longer than the app's keep-alive would be reset by it.
    this.agent = new Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: Infinity, maxFreeSockets: 1024, scheduling: 'lifo', timeout: 30_000 });
    this.engine = opts.engine ?? new NodeHttpEngine();
    this.engine.on('proxyReq', (proxyReq, req) => {
      this.upstreamOf.set(req, proxyReq);
      this.armTimeouts(proxyReq);
    });
    // A websocket handshake gets the same connect and answer timeouts.
    this.engine.on('proxyReqWs', (proxyReq) => this.armTimeouts(proxyReq));
  }

  /** A request body that exceeds the limit: by Content-Length now, or while streaming (BodyLimit). */
  bodyTooLarge(req: IncomingMessage): boolean {
    const len = req.headers['content-length'];
    return len !== undefined && Number(len) > this.opts.maxBodyBytes;
  }

  private armTimeouts(proxyReq: ClientRequest): void {
    const socket = proxyReq.socket;
    if (socket?.connecting) {
      const t = setTimeout(() => proxyReq.destroy(Object.assign(new Error('upstream connect timeout'), { code: CONNECT_TIMEOUT })), this.opts.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(t));
      proxyReq.once('close', () => clearTimeout(t));
    }
    proxyReq.setTimeout(this.opts.responseTimeoutMs, () => proxyReq.destroy(Object.assign(new Error('upstream response timeout'), { code: RESPONSE_TIMEOUT })));
  }

  /** Proxies an HTTP request; `onError` gets failures before or after the response started. */
  web(req: IncomingMessage, res: ServerResponse, target: { host: string; port: number }, onError: (f: UpstreamFailure, tooLarge: boolean) => void): void {
    const chunked = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined;
    const limit = chunked ? new BodyLimit(this.opts.maxBodyBytes) : undefined;
    if (limit) req.pipe(limit);
    this.engine.web(req, res, { target: { host: target.host, port: target.port, protocol: 'http:' }, agent: this.agent, xfwd: false, ...(this.opts.platformCookie ? { platformCookie: this.opts.platformCookie } : {}), ...(limit ? { buffer: limit } : {}) }, (err) => {
      onError(classifyUpstreamError(err), (err as NodeJS.ErrnoException).code === BODY_TOO_LARGE);
    });
    if (limit)
      limit.on('error', (err) => {
        this.upstreamOf.get(req)?.destroy();
        onError(classifyUpstreamError(err), true);
      });
  }

  /** Proxies a websocket upgrade (its own connection: upgraded sockets leave the pool). */
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, target: { host: string; port: number }, onError: (f: UpstreamFailure) => void): void {
    this.engine.ws(req, socket, head, { target: { host: target.host, port: target.port, protocol: 'http:' }, agent: false, xfwd: false, ...(this.opts.platformCookie ? { platformCookie: this.opts.platformCookie } : {}) }, (err) => onError(classifyUpstreamError(err)));
  }

  close(): void {
    this.agent.destroy();
  }
}
