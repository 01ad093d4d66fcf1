/**
 * Who is making a request, for every entry point (API, router, web UI): one
 * function from a request's headers to a Viewer, in every Auth.Mode.
 *
 * Bearer tokens: a platform token (`h2oat_…`, any mode), else in oidc mode
 * an ID token of the provider (the CLI), else a static token (local/static
 * modes). Without a bearer token: the session cookie (oidc mode; the
 * provider's tokens are refreshed when they expired; the session ends when
 * the provider refuses, and stays while it cannot be reached), the local
 * admin (local mode), or anonymous.
 * Launcher tokens are not users; the API turns them away before this.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/config.ts';
import { ForbiddenError, UnauthorizedError } from '../lib/errors.ts';
import type { Principal, Viewer } from '../lib/principal.ts';
import { isPlatformToken } from '../lib/platform-token.ts';
import { createAuthenticator, principalFromRoles, type Authenticator } from './authenticate.ts';
import type { OidcClient } from './oidc.ts';

/** What authentication reads of a request (a fastify request and a raw IncomingMessage both fit). */
export interface AuthRequest {
  headers: IncomingHttpHeaders;
}

/** How the viewer proved who they are. */
export type AuthVia = 'anonymous' | 'local' | 'static-token' | 'session' | 'id-token' | 'platform-token';

export interface Identity {
  viewer: Viewer;
  via: AuthVia;
}

/** A browser session as authentication sees it (src/repository/sessions.ts stores them). */
export interface Session {
  subject: string;
  name: string;
  roles: string[];
  idToken?: string;
  refreshToken?: string;
  tokenExpiresAt?: Date;
  expiresAt: Date;
}

/** The session store (src/repository/sessions.ts implements it). */
export interface SessionPort {
  get(token: string, now?: Date): Promise<Session | undefined>;
  refreshed(token: string, r: Pick<Session, 'name' | 'roles' | 'refreshToken' | 'tokenExpiresAt' | 'expiresAt'> & { idToken: string }): Promise<boolean>;
  delete(token: string): Promise<boolean>;
}

/** The platform-token store (src/repository/tokens.ts implements it). */
export interface TokenVerifier {
  /** The owner of a live token (identity and roles as of creation); undefined when unknown, revoked or expired. */
  verify(secret: string, now?: Date): Promise<{ subject: string; name: string; roles: string[] } | undefined>;
}

export interface RequestAuthDeps {
  config: Config;
  tokens: TokenVerifier;
  /** OIDC (Auth.Mode = oidc): the provider and the browser sessions. */
  oidc?: { client: OidcClient; sessions: SessionPort };
  /** Told when a session ends because the provider refused to refresh it. */
  onSessionEnded?: (subject: string, reason: string) => void;
  /** Told when a refresh could not reach the provider (the session stays; the next request tries again). */
  onRefreshDeferred?: (subject: string, reason: string) => void;
}

/** Cookies of a request by name (the first wins, as browsers send the most specific path first). */
export function readCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/** Authenticates requests; {@link RequestAuth.authenticate} is the function the router and the API call. */
export class RequestAuth {
  private readonly staticTokens: Authenticator;
  /** Refreshes in flight, by session cookie: concurrent requests of one browser share one refresh. */
  private readonly refreshing = new Map<string, Promise<Session | undefined>>();

  constructor(private readonly deps: RequestAuthDeps) {
    this.staticTokens = createAuthenticator(deps.config.auth);
  }

  /** The viewer of a request; throws UnauthorizedError for credentials that are presented but not valid. */
  readonly authenticate = async (req: AuthRequest): Promise<Viewer> => (await this.identify(req)).viewer;

  /** The viewer and how they signed in (creating tokens needs more than a token). */
  async identify(req: AuthRequest, now = new Date()): Promise<Identity> {
    const auth = this.deps.config.auth;
    const authorization = req.headers.authorization;
    if (authorization) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (!bearer) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
      if (isPlatformToken(bearer)) {
        const owner = await this.deps.tokens.verify(bearer, now);
        if (!owner) throw new UnauthorizedError('the platform token is unknown, revoked or expired; create a new one (POST /api/v1/tokens)');
        return { viewer: principalFromRoles(owner.subject, owner.name, owner.roles, auth), via: 'platform-token' };
      }
      if (this.deps.oidc) {
        const audiences = [auth.clientID, ...(auth.cliClientID ? [auth.cliClientID] : [])];
        return { viewer: (await this.deps.oidc.client.verifyIdToken(bearer, audiences)).principal, via: 'id-token' };
      }
      return { viewer: this.staticTokens(authorization), via: 'static-token' };
    }
    if (this.deps.oidc) {
      const token = readCookies(req.headers.cookie).get(auth.cookieName);
      // A tampered, expired or logged-out cookie is simply no session.
      const s = token ? await this.session(token, now) : undefined;
      return s ? { viewer: principalFromRoles(s.subject, s.name, s.roles, auth), via: 'session' } : { viewer: null, via: 'anonymous' };
    }
    const local = this.staticTokens(undefined);
    if (local && !auth.forceLocalOnPublicAddress && !isLoopbackHostHeader(req.headers.host)) {
      // DNS rebinding: a foreign name resolving to 127.0.0.1 must not make its pages the local admin.
      throw new ForbiddenError(
        `Auth.Mode = "local" answers only loopback host names (localhost, *.localhost, 127.x.x.x, [::1]), but this request's Host is ${JSON.stringify(req.headers.host ?? '')}. Open the server as http://localhost:<port>, configure sign-in, or set Auth.ForceLocalOnPublicAddress = true if you really mean it.`,
      );
    }
    return local ? { viewer: local, via: 'local' } : { viewer: null, via: 'anonymous' };
  }

  /** The live session of a cookie, refreshed at the provider when its tokens expired. */
  private async session(token: string, now: Date): Promise<Session | undefined> {
    const { sessions } = this.deps.oidc!;
    const s = await sessions.get(token, now);
    if (!s?.tokenExpiresAt || s.tokenExpiresAt.getTime() > now.getTime() || !s.refreshToken) return s;
    let p = this.refreshing.get(token);
    if (!p) {
      p = this.refresh(token, s, now).finally(() => this.refreshing.delete(token));
      this.refreshing.set(token, p);
    }
    return p;
  }

  private async refresh(token: string, s: Session, now: Date): Promise<Session | undefined> {
    const { client, sessions } = this.deps.oidc!;
    try {
      const r = await client.refresh(s.refreshToken!, s.idToken);
      const p: Principal = r.principal;
      if (p.subject !== s.subject) throw new UnauthorizedError('the provider answered the refresh for another subject');
      const next = {
        name: p.name,
        roles: p.roles,
        idToken: r.tokens.idToken,
        ...(r.tokens.refreshToken ? { refreshToken: r.tokens.refreshToken } : {}),
        ...(r.tokens.expiresAt ? { tokenExpiresAt: new Date(r.tokens.expiresAt) } : {}),
        expiresAt: new Date(now.getTime() + this.deps.config.auth.sessionTTL * 1000),
      };
      if (!(await sessions.refreshed(token, next))) return undefined;
      return { ...s, ...next, refreshToken: next.refreshToken ?? s.refreshToken };
    } catch (err) {
      // Another replica may have refreshed first (and the provider rotated the refresh token): use its result.
      const again = await sessions.get(token, now);
      if (again?.tokenExpiresAt && again.tokenExpiresAt.getTime() > now.getTime()) return again;
      // The provider is unreachable (an outage, not a refusal): keep the session as it is and try again on a later request.
      if (!(err instanceof UnauthorizedError)) {
        this.deps.onRefreshDeferred?.(s.subject, err instanceof Error ? err.message : String(err));
        return again;
      }
      // The provider refused (user disabled, grant revoked, refresh token expired): the session ends.
      await sessions.delete(token);
      this.deps.onSessionEnded?.(s.subject, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }
}

/** True when a Host header names this machine only: localhost, *.localhost, 127.0.0.0/8 or [::1], with any port. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d{1,5})?$/.exec(host.trim().toLowerCase());
  const name = (m?.[1] ?? m?.[2] ?? '').replace(/\.$/, '');
  if (m?.[1] !== undefined) return name === '::1';
  return name === 'localhost' || name.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
