/**
 * Cross-site request forgery: instance hosts (x.apps.<main host>) are same-site
 * with the main host, so the SameSite=Lax session cookie rides along on a
 * request any app page makes to the API, even a body-less `no-cors` POST.
 * A state-changing request that is authorised by something the browser adds on
 * its own (the session cookie; in local mode, merely being on loopback) must
 * prove it comes from our own origin. Browsers send `Origin` on every
 * non-GET/HEAD request and `Sec-Fetch-Site` on every request since 2020;
 * requests authorised by a bearer token (the CLI) are not at risk.
 * Pure: the API's onRequest hook applies the verdict.
 */
import type { AuthVia } from './request-auth.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CsrfRequest {
  method: string;
  /** How the request was authenticated. */
  via: AuthVia;
  headers: { origin?: string | undefined; host?: string | undefined; 'sec-fetch-site'?: string | string[] | undefined };
}

/** Undefined when the request may proceed; else why it is refused (for a 403 message). */
export function csrfRefusal(req: CsrfRequest, scheme: 'http' | 'https'): string | undefined {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return undefined;
  // Only what the browser attaches by itself is forgeable: the cookie, and loopback in local mode.
  if (req.via !== 'session' && req.via !== 'local') return undefined;
  const fix = 'send the request from the app store\'s own pages, or use a bearer token (h2o, Authorization: Bearer …)';
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (sameOrigin(origin, req.headers.host, scheme)) return undefined;
    return `cross-origin request refused: Origin ${JSON.stringify(origin)} is not this app store (${scheme}://${req.headers.host ?? ''}); ${fix}`;
  }
  const site = req.headers['sec-fetch-site'];
  const s = Array.isArray(site) ? site[0] : site;
  if (s !== undefined) {
    if (s === 'same-origin' || s === 'none') return undefined;
    return `cross-origin request refused: Sec-Fetch-Site is ${JSON.stringify(s)}; ${fix}`;
  }
  // Neither header: no current browser. Local mode serves the CLI and scripts on loopback without them;
  // a session cookie without them is refused (it proves nothing about where the request came from).
  if (req.via === 'local') return undefined;
  return `request refused: a session-cookie request that changes state must carry Origin or Sec-Fetch-Site; ${fix}`;
}

function sameOrigin(origin: string, host: string | undefined, scheme: 'http' | 'https'): boolean {
  if (!host) return false;
  try {
    const u = new URL(origin);
    return u.protocol === `${scheme}:` && u.host.toLowerCase() === host.toLowerCase() && u.origin === origin.toLowerCase().replace(/\/$/, '');
  } catch {
    return false; // "null" (sandboxed iframes, file:) and garbage
  }
}
