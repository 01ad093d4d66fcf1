/**
 * Browser sessions on DOMAIN instance hosts without sharing the platform
 * cookie: the session cookie stays host-only on the main host, so app code
 * on `<name>.<AppsDomain>` never receives it. An anonymous browser on an
 * instance host is handed off:
 *
 *   1. instance host: a random `state` goes into a host-only cookie
 *      (`<CookieName>_handoff`, Path=/_appstore/) and the browser is sent to
 *      `<main>/_appstore/handoff?instance=<name>&state=…&return=<path>`;
 *   2. main host: a signed-in browser (else: sign in first, then back here)
 *      gets a one-time code — sealed (AES-GCM, server key) session reference,
 *      instance name, state, return path, 60 s expiry, random id — and is sent
 *      to `<name>.<AppsDomain>/_appstore/session?code=…`;
 *   3. instance host: the code is accepted only for this host, before expiry,
 *      with the matching state cookie (a leaked code is useless in another
 *      browser) and once (used ids are remembered until they expire); the
 *      browser gets `<CookieName>_instance`, a host-only, HttpOnly cookie
 *      sealed to this instance host, and goes back to the return path.
 *
 * The instance cookie refers to the main-host session, so signing out there
 * (or the session ending) ends it too; a copy moved to another instance host
 * is refused. Both cookies start with CookieName, so the router strips them
 * before proxying like the session cookie.
 */
import { randomBytes } from 'node:crypto';
import { readCookies } from '../auth/request-auth.ts';
import { seal, unseal } from '../lib/seal.ts';
import { isLocalPath } from './authorize.ts';

/** Paths under this prefix on instance hosts are the router's (never proxied to the app). */
export const RESERVED_PREFIX = '/_appstore/';
/** Step 2, on the main host. */
export const HANDOFF_PATH = '/_appstore/handoff';
/** Step 3, on instance hosts. */
export const SESSION_PATH = '/_appstore/session';
/** How long a hand-off code may be redeemed. */
export const CODE_TTL_MS = 60_000;
/** How long the state cookie of step 1 lives (the sign-in at the provider happens in between). */
const STATE_TTL_SECONDS = 600;

const CODE_CONTEXT = 'appstore-instance-handoff-code';
const COOKIE_CONTEXT = 'appstore-instance-session-cookie';
const STATE = /^[A-Za-z0-9_-]{22,64}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface HandoffOptions {
  /** The 32-byte server key (the one sealing the sign-in cookie; a separate context here). */
  key: Buffer;
  /** Auth.CookieName: the session cookie on the main host. */
  cookieName: string;
  /** Set the Secure attribute (the public URL is https). */
  secure: boolean;
  /** Max-Age of the instance cookie (Auth.SessionTTL, seconds); the session's own expiry still applies. */
  sessionTTL: number;
  now?: () => number;
}

interface Code {
  /** The main-host session token. */
  t: string;
  /** Instance name. */
  n: string;
  s: string;
  r: string;
  /** Expiry, ms since epoch. */
  e: number;
  i: string;
}

export type Redeemed = { ok: true; returnPath: string; setCookie: string[] } | { ok: false; reason: string };

export class SessionHandoff {
  readonly stateCookie: string;
  readonly instanceCookie: string;
  /** Redeemed code ids until their expiry (single use). */
  private readonly used = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: HandoffOptions) {
    this.stateCookie = `${opts.cookieName}_handoff`;
    this.instanceCookie = `${opts.cookieName}_instance`;
    this.now = opts.now ?? Date.now;
  }

  private cookie(name: string, value: string, path: string, maxAge: number): string {
    return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${this.opts.secure ? '; Secure' : ''}`;
  }

  /** Step 1 (instance host): the state cookie and the main-host URL (path + query) to send the browser to. */
  begin(name: string, returnPath: string): { setCookie: string; handoffPath: string } {
    const state = randomBytes(24).toString('base64url');
    const back = isLocalPath(returnPath) ? returnPath : '/';
    const q = new URLSearchParams({ instance: name, state, return: back });
    return { setCookie: this.cookie(this.stateCookie, state, RESERVED_PREFIX, STATE_TTL_SECONDS), handoffPath: `${HANDOFF_PATH}?${q}` };
  }

  /** Step 2's checks of the main-host request's query; the parameters, or what is wrong. */
  parseStart(query: URLSearchParams): { name: string; state: string; returnPath: string } | { error: string } {
    const name = query.get('instance') ?? '';
    const state = query.get('state') ?? '';
    const back = query.get('return') ?? '/';
    if (!LABEL.test(name)) return { error: 'The "instance" parameter must be an instance name.' };
    if (!STATE.test(state)) return { error: 'The "state" parameter is missing or malformed; open the app again.' };
    if (!isLocalPath(back)) return { error: 'The "return" parameter must be a path starting with a single "/".' };
    return { name, state, returnPath: back };
  }

  /** Step 2 (main host, signed in): the one-time code for instance `name`. */
  issue(sessionToken: string, name: string, state: string, returnPath: string): string {
    const code: Code = { t: sessionToken, n: name, s: state, r: returnPath, e: this.now() + CODE_TTL_MS, i: randomBytes(12).toString('base64url') };
    return seal(this.opts.key, JSON.stringify(code), CODE_CONTEXT);
  }

  /** Step 3 (instance host `name`): checks and spends the code; the cookies to set and where to go. */
  redeem(rawCode: string, name: string, cookieHeader: string | undefined): Redeemed {
    const opened = rawCode.length < 4096 ? unseal(this.opts.key, rawCode, CODE_CONTEXT) : undefined;
    if (!opened) return { ok: false, reason: 'The sign-in code is not valid.' };
    const code = JSON.parse(opened) as Code;
    const now = this.now();
    if (code.n !== name) return { ok: false, reason: 'The sign-in code was issued for another app instance.' };
    if (code.e <= now) return { ok: false, reason: 'The sign-in code has expired.' };
    const state = readCookies(cookieHeader).get(this.stateCookie);
    if (!state || state !== code.s) return { ok: false, reason: 'The sign-in code was started in another browser or tab.' };
    this.sweep(now);
    if (this.used.has(code.i)) return { ok: false, reason: 'The sign-in code has already been used.' };
    this.used.set(code.i, code.e);
    const value = seal(this.opts.key, JSON.stringify({ t: code.t, n: name }), COOKIE_CONTEXT);
    return {
      ok: true,
      returnPath: isLocalPath(code.r) ? code.r : '/',
      setCookie: [this.cookie(this.instanceCookie, value, '/', this.opts.sessionTTL), this.cookie(this.stateCookie, '', RESERVED_PREFIX, 0)],
    };
  }

  /** The raw instance cookie of a request (the viewer cache's key), if any. */
  rawInstanceCookie(cookieHeader: string | undefined): string | undefined {
    return cookieHeader?.includes(this.instanceCookie) ? readCookies(cookieHeader).get(this.instanceCookie) : undefined;
  }

  /** The main-host session token an instance cookie refers to, when it was sealed for instance `name`. */
  sessionOf(raw: string, name: string): string | undefined {
    const opened = raw.length < 4096 ? unseal(this.opts.key, raw, COOKIE_CONTEXT) : undefined;
    if (!opened) return undefined;
    const c = JSON.parse(opened) as { t: string; n: string };
    return c.n === name ? c.t : undefined;
  }

  private sweep(now: number): void {
    for (const [id, until] of this.used) if (until <= now) this.used.delete(id);
  }
}
