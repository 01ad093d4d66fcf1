/**
 * What the app receives: the request headers without the platform's
 * credentials (its cookies and Authorization), with X-Forwarded-For/-Proto/
 * -Host set by us (or kept from a trusted ingress).
 */
import type { IncomingMessage } from 'node:http';

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
  if (!opts.trustForwarded || !h['x-forwarded-proto']) h['x-forwarded-proto'] = opts.scheme;
  if (!opts.trustForwarded || !h['x-forwarded-host']) h['x-forwarded-host'] = h.host ?? '';
  delete h.forwarded;
  if (!opts.trustForwarded) delete h['x-real-ip'];
}
