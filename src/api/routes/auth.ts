/**
 * Browser sign-in through OpenID Connect (Auth.Mode = oidc):
 * GET /auth/login?return=/path → the provider; GET /auth/callback → a
 * server-side session in a cookie (HttpOnly, SameSite=Lax, Secure over
 * https); POST /auth/logout → session deleted, cookie cleared, on to the
 * provider's logout when it has one. The sign-in state (state, PKCE verifier,
 * nonce, return path) waits in a short-lived sealed cookie.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { principalFromRoles } from '../../auth/authenticate.ts';
import type { OidcClient } from '../../auth/oidc.ts';
import type { Config } from '../../config/config.ts';
import { InvalidError, UnauthorizedError } from '../../lib/errors.ts';
import type { Viewer } from '../../lib/principal.ts';
import { seal, unseal } from '../../lib/seal.ts';
import type { SessionStore } from '../../repository/sessions.ts';
import type { ApiContext } from '../app.ts';

/** What the API needs for OIDC sign-in; present only when Auth.Mode is oidc. */
export interface OidcDeps {
  client: OidcClient;
  sessions: SessionStore;
  /** 32-byte server secret sealing the sign-in cookie. */
  key: Buffer;
}

const LOGIN_CONTEXT = 'appstore-login-state';
const LOGIN_TTL_SECONDS = 600;

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

/**
 * A return path that stays on this site: starts with one `/`, no `//` or
 * `/\` (browsers read both as another host), no control characters.
 */
export function isLocalPath(p: string): boolean {
  return /^\/(?![/\\])/.test(p) && !/[\x00-\x1f\x7f]/.test(p);
}

function baseUrl(config: Config, request: FastifyRequest): string {
  return (config.server.publicURL || `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

function cookie(name: string, value: string, opts: { maxAge: number; path: string; secure: boolean }): string {
  return `${name}=${value}; Path=${opts.path}; Max-Age=${opts.maxAge}; HttpOnly; SameSite=Lax${opts.secure ? '; Secure' : ''}`;
}

/** The viewer of a request in oidc mode: an ID token as bearer (the CLI), else the session cookie, else anonymous. */
export async function oidcViewer(request: FastifyRequest, config: Config, oidc: OidcDeps): Promise<Viewer> {
  const authorization = request.headers.authorization;
  if (authorization) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (!bearer) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
    const audiences = [config.auth.clientID, ...(config.auth.cliClientID ? [config.auth.cliClientID] : [])];
    return (await oidc.client.verifyIdToken(bearer, audiences)).principal;
  }
  const token = readCookies(request.headers.cookie).get(config.auth.cookieName);
  if (!token) return null;
  // A tampered, expired or logged-out cookie is simply no session.
  const s = await oidc.sessions.get(token);
  return s ? principalFromRoles(s.subject, s.name, s.roles, config.auth) : null;
}

export function authRoutes(ctx: ApiContext, oidc: OidcDeps): FastifyPluginAsyncTypebox {
  const config = ctx.deps.config;
  const name = config.auth.cookieName;
  const loginCookie = `${name}_login`;
  return async (app) => {
    // Logout is a plain HTML form post; its body carries nothing we read.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, _body, done) => done(null, {}));

    app.get(
      '/auth/login',
      { schema: { tags: ['identity'], summary: 'Start browser sign-in at the identity provider', querystring: Type.Object({ return: Type.Optional(Type.String()) }) } },
      async (request, reply) => {
        const back = request.query.return ?? '/';
        if (!isLocalPath(back)) throw new InvalidError('invalid sign-in request', [{ path: 'return', message: `must be a path on this site starting with a single "/" (got ${JSON.stringify(back.slice(0, 100))})` }]);
        const base = baseUrl(config, request);
        const start = await oidc.client.start(`${base}/auth/callback`);
        const state = seal(oidc.key, JSON.stringify({ state: start.state, codeVerifier: start.codeVerifier, nonce: start.nonce, return: back }), LOGIN_CONTEXT);
        reply.header('set-cookie', cookie(loginCookie, state, { maxAge: LOGIN_TTL_SECONDS, path: '/auth', secure: base.startsWith('https:') }));
        reply.header('cache-control', 'no-store');
        return reply.redirect(start.url, 302);
      },
    );

    app.get('/auth/callback', { schema: { tags: ['identity'], summary: 'Finish browser sign-in (the identity provider redirects here)' } }, async (request, reply) => {
      const base = baseUrl(config, request);
      const raw = readCookies(request.headers.cookie).get(loginCookie);
      const opened = raw ? unseal(oidc.key, raw, LOGIN_CONTEXT) : undefined;
      if (!opened) throw new UnauthorizedError('the sign-in has expired or was started in another browser; start again at /auth/login');
      const checks = JSON.parse(opened) as { state: string; codeVerifier: string; nonce: string; return: string };
      const login = await oidc.client.callback(new URL(request.url, base), checks);
      const p = login.principal;
      const { token } = await oidc.sessions.create({
        subject: p.subject,
        name: p.name,
        roles: p.roles,
        idToken: login.tokens.idToken,
        ...(login.tokens.refreshToken ? { refreshToken: login.tokens.refreshToken } : {}),
        ttlSeconds: config.auth.sessionTTL,
      });
      const secure = base.startsWith('https:');
      reply.header('set-cookie', [cookie(name, token, { maxAge: config.auth.sessionTTL, path: '/', secure }), cookie(loginCookie, '', { maxAge: 0, path: '/auth', secure })]);
      reply.header('cache-control', 'no-store');
      return reply.redirect(isLocalPath(checks.return) ? checks.return : '/', 302);
    });

    app.post('/auth/logout', { schema: { tags: ['identity'], summary: 'Sign out: end the session here and, where supported, at the identity provider' } }, async (request, reply) => {
      const base = baseUrl(config, request);
      const token = readCookies(request.headers.cookie).get(name);
      let idToken: string | undefined;
      if (token) {
        idToken = (await oidc.sessions.get(token))?.idToken;
        await oidc.sessions.delete(token);
      }
      reply.header('set-cookie', cookie(name, '', { maxAge: 0, path: '/', secure: base.startsWith('https:') }));
      return reply.redirect(oidc.client.endSessionUrl(idToken, `${base}/`) ?? '/', 303);
    });
  };
}
