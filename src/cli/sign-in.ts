/**
 * The CLI's own OpenID Connect sign-in, as a public client (no secret) named
 * by the server's GET /api/v1/auth/config: the OAuth device authorization
 * grant when the provider offers it (a code typed on any device, so it works
 * over SSH), else the authorization code flow with PKCE and a loopback
 * redirect listener (RFC 8252). The ID token is the bearer token (the server
 * accepts its audience through Auth.CLIClientID); the refresh token renews
 * it before it expires.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { UnauthorizedError } from '../lib/errors.ts';

/** What the server says about signing in (GET /api/v1/auth/config). */
export interface AuthConfig {
  mode: 'local' | 'static' | 'oidc';
  publicAccess: boolean;
  localUser?: string;
  issuer?: string;
  cliClientID?: string;
  scopes?: string[];
  deviceAuthorization: boolean;
}

/** A CLI sign-in kept in the profile (the config file is 0600). */
export interface SignIn {
  issuer: string;
  clientID: string;
  scopes: string[];
  idToken: string;
  refreshToken?: string;
  /** When the ID token expires, milliseconds since the epoch. */
  expiresAt: number;
}

/** Renew this long before the ID token expires, so a request in flight does not carry a token that just died. */
const EXPIRY_SKEW_MS = 30_000;

async function discover(issuer: string, clientID: string): Promise<oidc.Configuration> {
  const url = new URL(issuer);
  // Plain http only for a provider on this machine (tests, local providers).
  const local = url.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  try {
    return await oidc.discovery(url, clientID, undefined, oidc.None(), local ? { execute: [oidc.allowInsecureRequests] } : undefined);
  } catch (err) {
    throw new UnauthorizedError(`cannot reach the identity provider ${issuer} (${reason(err)}); check your network, or ask the server's administrator about Auth.IssuerURL`);
  }
}

function reason(err: unknown): string {
  const reasons: string[] = [];
  for (let e: unknown = err; e instanceof Error && reasons.length < 3; e = e.cause) reasons.push(e.message);
  return reasons.reverse()[0] ?? String(err);
}

/** The `exp` of a JWT in milliseconds (read, not verified: the token came straight from the provider and the server verifies it). */
function expiryOf(jwt: string): number {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
  if (typeof payload.exp !== 'number') throw new UnauthorizedError('the identity provider returned an ID token without an expiry');
  return payload.exp * 1000;
}

function signInOf(r: oidc.TokenEndpointResponse, base: Pick<SignIn, 'issuer' | 'clientID' | 'scopes'>, previous?: SignIn): SignIn {
  // The ID token is the bearer token: without a fresh one there is nothing new to send.
  const idToken = r.id_token;
  if (!idToken) throw new UnauthorizedError('the identity provider returned no ID token; check that the "openid" scope is allowed for the CLI client');
  const refreshToken = r.refresh_token ?? previous?.refreshToken;
  return { ...base, idToken, ...(refreshToken ? { refreshToken } : {}), expiresAt: expiryOf(idToken) };
}

function oidcSettings(cfg: AuthConfig, endpoint: string): { issuer: string; clientID: string; scopes: string[] } {
  if (cfg.mode !== 'oidc' || !cfg.issuer) throw new UnauthorizedError(`${endpoint} does not sign in through OpenID Connect (mode ${cfg.mode})`);
  if (!cfg.cliClientID) {
    throw new UnauthorizedError(`${endpoint} has no CLI sign-in configured (Auth.CLIClientID); create a platform token in the web UI and run \`h2o config setup --token TOKEN\``);
  }
  return { issuer: cfg.issuer, clientID: cfg.cliClientID, scopes: [...new Set(['openid', ...(cfg.scopes ?? [])])] };
}

/**
 * Device sign-in: prints where to go and the code to enter on `out`, then
 * polls the provider until the user approved, denied, or the code expired.
 */
export async function deviceSignIn(cfg: AuthConfig, endpoint: string, out: { write(s: string): unknown }, signal?: AbortSignal): Promise<SignIn> {
  const base = oidcSettings(cfg, endpoint);
  const config = await discover(base.issuer, base.clientID);
  if (!config.serverMetadata().device_authorization_endpoint) throw new UnauthorizedError(`${base.issuer} does not offer device sign-in; run \`h2o config setup --browser\``);
  const d = await oidc.initiateDeviceAuthorization(config, { scope: base.scopes.join(' ') }).catch((err: unknown) => {
    throw new UnauthorizedError(`starting the device sign-in failed: ${reason(err)}`);
  });
  out.write(
    `To sign in, open ${d.verification_uri} on any device and enter the code: ${d.user_code}\n` +
      (d.verification_uri_complete ? `  (or open ${d.verification_uri_complete})\n` : '') +
      `Waiting for the sign-in (the code expires in ${Math.round(d.expires_in / 60)} minutes)…\n`,
  );
  const r = await oidc.pollDeviceAuthorizationGrant(config, d, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
    throw new UnauthorizedError(`the device sign-in did not complete: ${reason(err)}; run \`h2o config setup\` to try again`);
  });
  return signInOf(r, base);
}

/**
 * Browser sign-in: listens on a loopback port for the provider's redirect,
 * prints the authorization URL on `out` (and hands it to `open`, when given),
 * and exchanges the code with its PKCE verifier.
 */
export async function browserSignIn(cfg: AuthConfig, endpoint: string, out: { write(s: string): unknown }, opts: { open?: (url: string) => void; timeoutMs?: number } = {}): Promise<SignIn> {
  const base = oidcSettings(cfg, endpoint);
  const config = await discover(base.issuer, base.clientID);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  let resolveCallback!: (u: URL) => void;
  const callback = new Promise<URL>((r) => (resolveCallback = r));
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/callback') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>h2o sign-in</title><p>Sign-in received; you can close this tab and return to the terminal.</p>');
    resolveCallback(u);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: base.scopes.join(' '),
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    out.write(`To sign in, open this URL in a browser on this machine:\n  ${url.href}\nWaiting for the sign-in…\n`);
    opts.open?.(url.href);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new UnauthorizedError('the browser sign-in timed out; run `h2o config setup` to try again')), opts.timeoutMs ?? 600_000);
    });
    const got = await Promise.race([callback, timeout]).finally(() => clearTimeout(timer));
    const r = await oidc
      .authorizationCodeGrant(config, new URL(`${redirectUri}${got.search}`), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true })
      .catch((err: unknown) => {
        throw new UnauthorizedError(`the browser sign-in failed: ${reason(err)}; run \`h2o config setup\` to try again`);
      });
    return signInOf(r, base);
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

/** Whether the sign-in's ID token is (about to be) expired at `now`. */
export function needsRefresh(s: SignIn, now = Date.now()): boolean {
  return s.expiresAt - EXPIRY_SKEW_MS <= now;
}

/** Renews the ID token with the refresh token; an UnauthorizedError saying to sign in again when that is not possible. */
export async function refreshSignIn(s: SignIn, endpoint: string): Promise<SignIn> {
  const expired = `your sign-in to ${endpoint} has expired; run \`h2o config setup\` to sign in again`;
  if (!s.refreshToken) throw new UnauthorizedError(expired);
  const config = await discover(s.issuer, s.clientID);
  const r = await oidc.refreshTokenGrant(config, s.refreshToken).catch((err: unknown) => {
    throw new UnauthorizedError(`${expired} (the identity provider refused to renew it: ${reason(err)})`);
  });
  return signInOf(r, s, s);
}
