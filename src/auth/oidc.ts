/**
 * OpenID Connect sign-in on openid-client (the certified relying-party
 * library): discovery from the issuer URL, the authorization-code flow with
 * PKCE, state and nonce, refresh, the end-session (logout) URL, and
 * verification of ID tokens presented as bearer tokens (signature against
 * the provider's JWKS, issuer, audience, expiry). Claims become a Principal
 * through a configurable roles claim; a missing claim means no roles.
 */
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config/config.ts';
import { isLoopback } from '../config/load.ts';
import { UnauthorizedError } from '../lib/errors.ts';
import type { Principal } from '../lib/principal.ts';
import { principalFromRoles } from './authenticate.ts';

export interface OidcSettings {
  issuerURL: string;
  clientID: string;
  clientSecret: string;
  /** Scopes asked for at sign-in; `openid` is always added. */
  scopes: string[];
  /** Claim holding the roles; a dotted path reads nested objects (`realm_access.roles`). */
  rolesClaim: string;
  adminRole: string;
  fullAccessRole: string;
}

/** What the browser flow must remember between start and callback (in a short-lived cookie or session). */
export interface LoginStart {
  /** Where to send the browser. */
  url: string;
  state: string;
  codeVerifier: string;
  nonce: string;
}

export interface OidcTokens {
  idToken: string;
  accessToken: string;
  refreshToken?: string;
  /** Access-token expiry, milliseconds since the epoch, when the provider said. */
  expiresAt?: number;
}

/** A device sign-in in progress: show `userCode` and `verificationUri` to the user. */
export interface DeviceLogin {
  userCode: string;
  verificationUri: string;
  /** The URI with the code filled in, when the provider gives one. */
  verificationUriComplete?: string;
  /** Seconds until the code expires. */
  expiresIn: number;
  /** The provider's answer, needed to poll. */
  response: oidc.DeviceAuthorizationResponse;
}

export interface OidcLogin {
  tokens: OidcTokens;
  /** The validated ID token's claims. */
  claims: Record<string, unknown>;
  principal: Principal;
}

/** Reads a claim by dotted path (`realm_access.roles`); undefined when any step is missing. */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  // A claim whose own name contains dots wins over the nested reading.
  if (path in claims) return claims[path];
  let cur: unknown = claims;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The roles in `claims` at `path`: a list of strings, or one string; anything else (or nothing) is no roles. */
export function rolesFromClaims(claims: Record<string, unknown>, path: string): string[] {
  const v = claimAt(claims, path);
  if (typeof v === 'string') return v ? [v] : [];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** Maps validated ID-token claims to a Principal; the name is the first of name, preferred_username, email, sub. */
export function principalFromClaims(claims: Record<string, unknown>, settings: Pick<OidcSettings, 'rolesClaim' | 'adminRole' | 'fullAccessRole'>): Principal {
  const sub = claims.sub;
  if (typeof sub !== 'string' || !sub) throw new UnauthorizedError('the ID token has no subject (sub claim)');
  const name = [claims.name, claims.preferred_username, claims.email].find((x): x is string => typeof x === 'string' && x !== '') ?? sub;
  return principalFromRoles(sub, name, rolesFromClaims(claims, settings.rolesClaim), settings);
}

/** The OIDC settings of a loaded configuration (Auth.Mode = oidc). */
export function oidcSettings(auth: Config['auth']): OidcSettings {
  return {
    issuerURL: auth.issuerURL,
    clientID: auth.clientID,
    clientSecret: auth.clientSecret,
    scopes: auth.scopes,
    rolesClaim: auth.rolesClaim,
    adminRole: auth.adminRole,
    fullAccessRole: auth.fullAccessRole,
  };
}

function tokensOf(r: oidc.TokenEndpointResponse, previousIdToken?: string): OidcTokens {
  const idToken = r.id_token ?? previousIdToken;
  if (!idToken) throw new UnauthorizedError('the identity provider returned no ID token; check that the "openid" scope is allowed for this client');
  return {
    idToken,
    accessToken: r.access_token,
    ...(r.refresh_token ? { refreshToken: r.refresh_token } : {}),
    ...(typeof r.expires_in === 'number' ? { expiresAt: Date.now() + r.expires_in * 1000 } : {}),
  };
}

/** A relying party bound to one provider, made by {@link OidcClient.discover}. */
export class OidcClient {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  private constructor(
    readonly settings: OidcSettings,
    private readonly config: oidc.Configuration,
  ) {
    const uri = config.serverMetadata().jwks_uri;
    if (!uri) throw new Error(`the discovery document of ${settings.issuerURL} has no jwks_uri`);
    this.jwks = createRemoteJWKSet(new URL(uri));
  }

  /**
   * Fetches the provider's discovery document (`<issuer>/.well-known/openid-configuration`);
   * fails when its issuer differs from `issuerURL`. Plain http is accepted only for a loopback issuer (tests, local providers).
   */
  static async discover(settings: OidcSettings): Promise<OidcClient> {
    const url = new URL(settings.issuerURL);
    const insecure = url.protocol === 'http:' && isLoopback(url.hostname.replace(/^\[|\]$/g, ''));
    const auth = settings.clientSecret ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.None();
    const config = await oidc.discovery(url, settings.clientID, undefined, auth, insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
    return new OidcClient(settings, config);
  }

  /** The issuer as the provider names itself. */
  get issuer(): string {
    return this.config.serverMetadata().issuer;
  }

  /** Begins a browser sign-in: the authorization URL plus the secrets the callback must check. */
  async start(redirectUri: string): Promise<LoginStart> {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const scope = [...new Set(['openid', ...this.settings.scopes])].join(' ');
    const url = oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: redirectUri,
      scope,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state, codeVerifier, nonce };
  }

  /**
   * Completes a browser sign-in: checks state, exchanges the code (with the
   * PKCE verifier) and validates the ID token (signature, issuer, audience,
   * expiry, nonce). `currentUrl` is the full callback URL the browser hit.
   */
  async callback(currentUrl: URL, checks: Omit<LoginStart, 'url'>): Promise<OidcLogin> {
    const r = await oidc
      .authorizationCodeGrant(this.config, currentUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      })
      .catch((err: unknown) => {
        throw unauthorized('sign-in failed', err);
      });
    const claims = r.claims();
    if (!claims) throw new UnauthorizedError('the identity provider returned no ID token');
    const c = claims as unknown as Record<string, unknown>;
    return { tokens: tokensOf(r), claims: c, principal: principalFromClaims(c, this.settings) };
  }

  /**
   * Begins a device sign-in (OAuth device authorization grant, for a CLI
   * without a browser): the code to show and where to enter it. Throws when
   * the provider has no device_authorization_endpoint.
   */
  async startDeviceLogin(): Promise<DeviceLogin> {
    if (!this.supportsDeviceLogin) throw new UnauthorizedError(`${this.issuer} does not offer the device authorization grant; sign in with the browser flow`);
    const scope = [...new Set(['openid', ...this.settings.scopes])].join(' ');
    const r = await oidc.initiateDeviceAuthorization(this.config, { scope }).catch((err: unknown) => {
      throw unauthorized('starting the device sign-in failed', err);
    });
    return {
      userCode: r.user_code,
      verificationUri: r.verification_uri,
      ...(r.verification_uri_complete ? { verificationUriComplete: r.verification_uri_complete } : {}),
      expiresIn: r.expires_in,
      response: r,
    };
  }

  /** Whether the provider offers the device authorization grant. */
  get supportsDeviceLogin(): boolean {
    return typeof this.config.serverMetadata().device_authorization_endpoint === 'string';
  }

  /** Polls until the user approved (or denied, or the code expired) the device sign-in; validates the ID token. */
  async finishDeviceLogin(d: DeviceLogin, signal?: AbortSignal): Promise<OidcLogin> {
    const r = await oidc.pollDeviceAuthorizationGrant(this.config, d.response, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
      throw unauthorized('the device sign-in failed', err);
    });
    const claims = r.claims() as unknown as Record<string, unknown> | undefined;
    if (!claims) throw new UnauthorizedError('the identity provider returned no ID token');
    return { tokens: tokensOf(r), claims, principal: principalFromClaims(claims, this.settings) };
  }

  /**
   * Uses a refresh token; the result keeps the old ID token when the provider sends no new one.
   * The provider refusing (an OAuth error answer) is an UnauthorizedError; not reaching it is a
   * plain Error, so callers can tell "sign in again" from "try again later".
   */
  async refresh(refreshToken: string, previousIdToken?: string): Promise<OidcLogin> {
    const r = await oidc.refreshTokenGrant(this.config, refreshToken).catch((err: unknown) => {
      if (err instanceof oidc.ResponseBodyError) throw unauthorized('refreshing the sign-in failed', err);
      throw new Error(`the identity provider ${this.issuer} could not be asked to refresh the sign-in: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    const tokens = tokensOf(r, previousIdToken);
    const c = (r.claims() as unknown as Record<string, unknown> | undefined) ?? decodeClaims(tokens.idToken);
    return { tokens, claims: c, principal: principalFromClaims(c, this.settings) };
  }

  /** The provider's logout URL (RP-initiated logout), or undefined when it has no end_session_endpoint. */
  endSessionUrl(idTokenHint: string | undefined, postLogoutRedirectUri: string): string | undefined {
    if (!this.config.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri, client_id: this.settings.clientID };
    if (idTokenHint) params.id_token_hint = idTokenHint;
    return oidc.buildEndSessionUrl(this.config, params).href;
  }

  /**
   * Verifies an ID token presented as a bearer token (the CLI): signature by
   * the provider's keys, issuer, audience = our client id (or `audiences`),
   * and expiry (against `now`, which tests move forward). Throws UnauthorizedError with the reason otherwise.
   */
  async verifyIdToken(token: string, audiences: string[] = [this.settings.clientID], now?: Date): Promise<{ claims: JWTPayload; principal: Principal }> {
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.issuer,
        audience: audiences,
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        requiredClaims: ['exp', 'sub'],
        ...(now ? { currentDate: now } : {}),
      });
      return { claims: payload, principal: principalFromClaims(payload as Record<string, unknown>, this.settings) };
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new UnauthorizedError(`the bearer token is not a valid ID token of ${this.issuer}: ${reason}; sign in again`);
    }
  }
}

/** openid-client wraps the useful reason ("unexpected state", "invalid_grant") in `cause`; surface it. */
function unauthorized(what: string, err: unknown): UnauthorizedError {
  const reasons: string[] = [];
  for (let e: unknown = err; e instanceof Error && reasons.length < 3; e = e.cause) reasons.push(e.message);
  return new UnauthorizedError(`${what}: ${reasons.reverse()[0] ?? String(err)}; sign in again`);
}

/** Reads (without verifying) a JWT's claims: only for an ID token that came straight from the token endpoint. */
function decodeClaims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
