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
import type { OidcClient } from '../../auth/oidc.ts';
import { readCookies } from '../../auth/request-auth.ts';
import type { Config } from '../../config/config.ts';
import { InvalidError, UnauthorizedError } from '../../lib/errors.ts';
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
        ...(login.tokens.expiresAt ? { tokenExpiresAt: new Date(login.tokens.expiresAt) } : {}),
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

/** GET /api/v1/auth/config: how to sign in here (public; the CLI and the web UI read it). */
export const AuthConfigSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('local'), Type.Literal('static'), Type.Literal('oidc')], {
      description: 'local: no sign-in, every request without credentials is the local admin (development only); static: bearer tokens from the configuration; oidc: an identity provider',
    }),
    publicAccess: Type.Boolean({ description: 'Anonymous users may see and open PUBLIC apps and instances.' }),
    localUser: Type.Optional(Type.String({ description: 'mode local: the user every request acts as.' })),
    signInURL: Type.Optional(Type.String({ description: 'mode oidc: browser sign-in; add ?return=/path.' })),
    signOutURL: Type.Optional(Type.String({ description: 'mode oidc: POST here to sign out.' })),
    issuer: Type.Optional(Type.String({ description: 'mode oidc: the OpenID Connect issuer.' })),
    cliClientID: Type.Optional(Type.String({ description: 'mode oidc: the OIDC client id the CLI signs in with (absent: the CLI uses platform tokens).' })),
    scopes: Type.Optional(Type.Array(Type.String(), { description: 'mode oidc: scopes to ask for (they carry the roles claim).' })),
    deviceAuthorization: Type.Boolean({ description: 'The provider offers the OAuth device authorization grant (sign-in with a code, for SSH sessions).' }),
  },
  { $id: 'AuthConfig' },
);

export function authConfigRoute(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const auth = ctx.deps.config.auth;
  const oidc = ctx.deps.oidc;
  return async (app) => {
    app.get('/api/v1/auth/config', { schema: { tags: ['identity'], summary: 'How to sign in to this server (no sign-in needed)', response: { 200: AuthConfigSchema } } }, async () => ({
      mode: auth.mode,
      publicAccess: auth.publicAccess,
      ...(auth.mode === 'local' ? { localUser: auth.localUser } : {}),
      ...(oidc
        ? {
            signInURL: '/auth/login',
            signOutURL: '/auth/logout',
            issuer: oidc.client.issuer,
            ...(auth.cliClientID ? { cliClientID: auth.cliClientID } : {}),
            scopes: [...new Set(['openid', ...auth.scopes])],
          }
        : {}),
      deviceAuthorization: oidc?.client.supportsDeviceLogin ?? false,
    }));
  };
}
