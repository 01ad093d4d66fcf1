/**
 * What the app receives: the request headers without the platform's
 * credentials (its cookies and Authorization), with X-Forwarded-For/-Proto/
 * -Host set by us (or kept from a trusted ingress).
 */
import type { IncomingMessage } from 'node:http';
import { connectionTokens, HOP_BY_HOP } from './http-engine.ts';

export interface ForwardOptions {
  /** Cookie names of the platform: the session cookie; any cookie starting with it is the platform's too (e.g. `<name>_login`). */
  platformCookie: string;
  trustForwarded: boolean;
  /** The scheme users reach us with when no trusted proxy says otherwise. */
  scheme: 'http' | 'https';
}

/** The Cookie header without the platform's cookies; undefined when nothing is left. */
export function stripPlatformCookies(header: string | string[] | undefined, platformCookie: string): string | undefined {
  if (header === undefined) return undefined;
  const joined = Array.isArray(header) ? header.join('; ') : header;
  const kept = joined
    .split(';')
    .map((p) => p.trim())
    .filter((p) => {
      if (!p) return false;
      const eq = p.indexOf('=');
      const name = (eq < 0 ? p : p.slice(0, eq)).trim();
      return !name.startsWith(platformCookie);
    });
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * The value a trusted X-Forwarded-Proto/-Host stands for: the last of its comma-separated values over all
 * its lines, which is the one the nearest proxy (our trusted ingress) added; earlier ones came from
 * further away, a client included. Undefined when there is none.
 */
export function nearestForwarded(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const all = (Array.isArray(value) ? value.join(',') : value).split(',');
  for (let i = all.length - 1; i >= 0; i--) {
    const v = all[i]!.trim();
    if (v) return v;
  }
  return undefined;
}

/** Rewrites req.headers in place for the upstream request. */
export function prepareForwardHeaders(req: IncomingMessage, opts: ForwardOptions): void {
  const h = req.headers;
  delete h.authorization;
  const cookie = stripPlatformCookies(h.cookie, opts.platformCookie);
  if (cookie === undefined) delete h.cookie;
  else h.cookie = cookie;
  const peer = req.socket.remoteAddress ?? '';
  const priorFor = opts.trustForwarded ? h['x-forwarded-for'] : undefined;
  h['x-forwarded-for'] = priorFor ? `${String(priorFor)}, ${peer}` : peer;
  h['x-forwarded-proto'] = (opts.trustForwarded && nearestForwarded(h['x-forwarded-proto'])) || opts.scheme;
  h['x-forwarded-host'] = (opts.trustForwarded && nearestForwarded(h['x-forwarded-host'])) || h.host || '';
  delete h.forwarded;
  if (!opts.trustForwarded) delete h['x-real-ip'];
}

/**
 * The same rules on a flat [name, value, …] header list as received (the front door's fast path):
 * credentials and hop-by-hop headers (and those Connection names) dropped, Transfer-Encoding
 * dropped (the front door re-frames the body), X-Forwarded-* set; for a websocket handshake,
 * Connection: Upgrade and the Upgrade header are kept.
 */
export function forwardHeaderList(raw: string[], peer: string, opts: ForwardOptions, websocket = false): string[] {
  let named: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') (named ??= []).push(...connectionTokens(raw[i + 1]!));
  const out: string[] = [];
  let cookies: string[] | undefined;
  let priorFor: string | undefined;
  let proto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  let upgrade: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    const v = raw[i + 1]!;
    const lower = k.toLowerCase();
    switch (lower) {
      case 'authorization':
      case 'forwarded':
      case 'transfer-encoding':
        continue;
      case 'cookie':
        (cookies ??= []).push(v);
        continue;
      case 'x-forwarded-for':
        if (opts.trustForwarded) priorFor = priorFor === undefined ? v : `${priorFor}, ${v}`;
        continue;
      case 'x-forwarded-proto':
        if (opts.trustForwarded) proto = proto === undefined ? v : `${proto},${v}`;
        continue;
      case 'x-forwarded-host':
        if (opts.trustForwarded) forwardedHost = forwardedHost === undefined ? v : `${forwardedHost},${v}`;
        continue;
      case 'x-real-ip':
        if (!opts.trustForwarded) continue;
        break;
      case 'host':
        host ??= v;
        break;
      case 'upgrade':
        upgrade ??= v;
        continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.includes(lower)) continue;
    out.push(k, v);
  }
  const cookie = stripPlatformCookies(cookies, opts.platformCookie);
  if (cookie !== undefined) out.push('Cookie', cookie);
  out.push('X-Forwarded-For', priorFor ? `${priorFor}, ${peer}` : peer, 'X-Forwarded-Proto', nearestForwarded(proto) || opts.scheme, 'X-Forwarded-Host', nearestForwarded(forwardedHost) || host || '');
  // A websocket handshake keeps the two hop-by-hop headers that ask the app to switch.
  if (websocket && upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  return out;
}
