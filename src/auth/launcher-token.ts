/**
 * Launcher tokens: short-lived credentials that let an instance's launcher
 * download one app's bundle and nothing else. They are HMAC-signed claims
 * (no database lookup per download), keyed by a server secret every replica
 * shares. Format: `lt1.<base64url claims>.<base64url HMAC-SHA256>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '../lib/errors.ts';

export const LAUNCHER_TOKEN_PREFIX = 'lt1.';

export interface LauncherTokenClaims {
  /** The one app whose bundle the token downloads. */
  app: string;
  /** The instance it was issued for (for logs). */
  instance?: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(LAUNCHER_TOKEN_PREFIX).update(payload).digest();
}

/** Issues a token for `claims.app` valid until `claims.exp`. */
export function signLauncherToken(key: Buffer, claims: LauncherTokenClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${LAUNCHER_TOKEN_PREFIX}${payload}.${mac(key, payload).toString('base64url')}`;
}

export function isLauncherToken(token: string): boolean {
  return token.startsWith(LAUNCHER_TOKEN_PREFIX);
}

/** Checks signature, expiry and scope; throws Unauthorized (bad or expired) or Forbidden (another app). */
export function verifyLauncherToken(key: Buffer, token: string, appId: string, nowSeconds = Date.now() / 1000): LauncherTokenClaims {
  const [payload, sig, ...rest] = token.slice(LAUNCHER_TOKEN_PREFIX.length).split('.');
  if (!isLauncherToken(token) || !payload || !sig || rest.length) throw new UnauthorizedError('malformed launcher token');
  const expected = mac(key, payload);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthorizedError('launcher token signature is not valid');
  let claims: LauncherTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LauncherTokenClaims;
  } catch {
    throw new UnauthorizedError('malformed launcher token');
  }
  if (typeof claims.exp !== 'number' || claims.exp < nowSeconds) throw new UnauthorizedError('launcher token has expired; the operator issues a fresh one when it restarts the instance');
  if (claims.app !== appId) throw new ForbiddenError('this launcher token is for another app');
  return claims;
}
