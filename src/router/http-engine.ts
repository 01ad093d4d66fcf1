/**
 * The proxy engine the router uses: a lean reverse proxy on node:http with
 * http-proxy's web/ws interface. In bench/router it used about 60 % of
 * http-proxy-3's CPU per request (144 vs 245 µs on the loaded 2-core
 * machine; 87 vs 383 µs in a bare proxy without the router around it):
 * http-proxy-3 does more per-request work (option normalisation, listener
 * bookkeeping, header passes). docs/router.md has the figures. Hop-by-hop
 * headers are dropped in both directions; everything else passes unchanged.
 */
import { EventEmitter } from 'node:events';
import { request, type Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { ProxyEngine } from './proxy.ts';

/** RFC 9110 §7.6.1 hop-by-hop headers (Transfer-Encoding is kept: Node frames the body by it). */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/** The header names a Connection header value lists (hop-by-hop for this connection), lowercase. */
export function connectionTokens(value: string): string[] {
  return value.toLowerCase().split(',').map((s) => s.trim());
}

/** An HTTP/1.1 head: the start line, the flat [name, value, …] headers (except one named `skip`, lowercase), `extra` lines, the blank line. */
export function headBlock(startLine: string, headers: string[], extra = '', skip?: string): string {
  let s = `${startLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    const k = headers[i]!;
    if (skip !== undefined && k.length === skip.length && k.toLowerCase() === skip) continue;
    s += `${k}: ${headers[i + 1]}\r\n`;
  }
  return `${s}${extra}\r\n`;
}

/** Headers without hop-by-hop ones (and without those the Connection header names). */
export function endToEnd(headers: IncomingHttpHeaders, keepUpgrade = false): OutgoingHttpHeaders {
  const named = headers.connection ? connectionTokens(headers.connection) : [];
  const out: OutgoingHttpHeaders = {};
  for (const k in headers) {
    if ((HOP_BY_HOP.has(k) || named.includes(k)) && !(keepUpgrade && (k === 'connection' || k === 'upgrade'))) continue;
    out[k] = headers[k];
  }
  return out;
}

/**
 * Request headers for the upstream as a flat [name, value, …] list (Node stores such a list
 * as is, skipping the per-header setHeader work of an object), without hop-by-hop ones.
 */
export function requestHeaderList(headers: IncomingHttpHeaders): string[] {
  const named = headers.connection ? connectionTokens(headers.connection) : undefined;
  const out: string[] = [];
  for (const k in headers) {
    if (HOP_BY_HOP.has(k) || named?.includes(k)) continue;
    const v = headers[k];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(k, v);
    else for (const x of v) out.push(k, x);
  }
  return out;
}

/** A Set-Cookie line (name lowercase) for a cookie whose name starts with `platformCookie`: the app may not set the platform's. */
function setsPlatformCookie(lowerName: string, value: string, platformCookie: string | undefined): boolean {
  return platformCookie !== undefined && platformCookie !== '' && lowerName === 'set-cookie' && value.trimStart().startsWith(platformCookie);
}

/** `raw` without Set-Cookie lines for the platform's cookies (the rule responseHeaderList applies), all else kept. */
export function withoutPlatformCookies(raw: string[], platformCookie: string | undefined): string[] {
  if (!platformCookie) return raw;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!setsPlatformCookie(raw[i]!.toLowerCase(), raw[i + 1]!, platformCookie)) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/**
 * An upstream answer's raw headers (flat list, as received) without hop-by-hop ones and without
 * Set-Cookie lines for cookies whose names start with `platformCookie` (the app may not set the platform's).
 */
export function responseHeaderList(raw: string[], platformCookie?: string): string[] {
  const out: string[] = [];
  let named: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    if (HOP_BY_HOP.has(k)) {
      // Every Connection header counts (a second one adds names, it does not replace the first's).
      if (k === 'connection') (named ??= []).push(...connectionTokens(v));
      continue;
    }
    if (setsPlatformCookie(k, v, platformCookie)) continue;
    out.push(raw[i]!, v);
  }
  if (!named) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!named.includes(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

interface WebOptions {
  target: { host: string; port: number };
  /** Cookies the app may not set (their names start with this): the platform's session, sign-in and instance cookies. */
  platformCookie?: string;
  agent?: Agent | false;
  buffer?: Readable;
}

/** Writes a raw HTTP/1.1 response head (for upgrade answers on a bare socket). */
function rawHead(statusCode: number, statusMessage: string, rawHeaders: string[]): string {
  return headBlock(`HTTP/1.1 ${statusCode} ${statusMessage}`, rawHeaders);
}

export class NodeHttpEngine extends EventEmitter implements ProxyEngine {
  web(req: IncomingMessage, res: ServerResponse, options: object, callback: (err: Error) => void): void {
    const o = options as WebOptions;
    const up: ClientRequest = request({ host: o.target.host, port: o.target.port, method: req.method, path: req.url, headers: requestHeaderList(req.headers), agent: o.agent ?? false, setHost: false });
    up.once('socket', () => this.emit('proxyReq', up, req));
    up.once('response', (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, responseHeaderList(ur.rawHeaders, o.platformCookie));
      // By hand rather than pipe(): fewer listeners per response, same backpressure.
      ur.on('data', (chunk: Buffer) => {
        if (!res.write(chunk)) {
          ur.pause();
          res.once('drain', () => ur.resume());
        }
      });
      ur.once('end', () => res.end());
      ur.once('error', () => res.destroy());
    });
    // `on`, not `once`: a second error event without a listener would crash the process.
    let failed = false;
    up.on('error', (err) => {
      if (!failed) callback(err);
      failed = true;
    });
    // The client went away before the answer was complete: stop the upstream request too.
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    const h = req.headers;
    if (!o.buffer && (h['content-length'] === undefined || h['content-length'] === '0') && h['transfer-encoding'] === undefined) {
      // No body (most requests): send the request now instead of piping an empty stream a tick later.
      req.resume();
      up.end();
    } else (o.buffer ?? req).pipe(up);
  }

  ws(req: IncomingMessage, socket: Duplex, head: Buffer, options: object, callback: (err: Error) => void): void {
    const o = options as WebOptions;
    const up = request({ host: o.target.host, port: o.target.port, method: req.method, path: req.url, headers: endToEnd(req.headers, true), agent: false, setHost: false });
    up.once('socket', () => this.emit('proxyReqWs', up, req));
    let failed = false;
    up.on('error', (err) => {
      if (!failed) callback(err);
      failed = true;
    });
    up.once('upgrade', (ur, upSocket: Socket, upHead: Buffer) => {
      const client = socket as Socket;
      const cut = () => {
        client.destroy();
        upSocket.destroy();
      };
      client.once('error', cut);
      upSocket.once('error', cut);
      client.once('close', cut);
      upSocket.once('close', cut);
      // The handshake's timeouts no longer apply: an idle websocket is fine.
      upSocket.setTimeout(0);
      upSocket.setNoDelay?.(true);
      client.setNoDelay?.(true);
      client.setTimeout?.(0);
      // A 101 is an answer like any other: the app may not set the platform's cookies in it (issue #24 item 2).
      client.write(rawHead(101, ur.statusMessage || 'Switching Protocols', withoutPlatformCookies(ur.rawHeaders, o.platformCookie)));
      if (upHead.length) client.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.pipe(client).pipe(upSocket);
    });
    // The app answered the handshake without upgrading: relay its answer and close.
    up.once('response', (ur) => {
      // The body arrives de-chunked, so it is delimited by closing the connection.
      const kept: string[] = [];
      for (let i = 0; i < ur.rawHeaders.length; i += 2) if (!/^(connection|keep-alive|transfer-encoding)$/i.test(ur.rawHeaders[i]!)) kept.push(ur.rawHeaders[i]!, ur.rawHeaders[i + 1]!);
      socket.write(rawHead(ur.statusCode ?? 502, ur.statusMessage ?? '', [...withoutPlatformCookies(kept, o.platformCookie), 'connection', 'close']));
      ur.pipe(socket);
    });
    up.end();
  }
}
