/**
 * The configuration-only credentials of the `local` and `static` modes
 * (request-auth.ts adds platform tokens, OIDC ID tokens and sessions):
 * - `local`: a request without credentials is the local admin user, so the
 *   embedded default works with no identity provider. The server refuses
 *   this mode on a non-loopback address unless forced (see assertLocalModeSafe).
 * - static bearer tokens (`[[Auth.StaticToken]]`) map to fixed principals;
 *   tests use them to act as several users.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { isLoopback } from '../config/load.ts';
import { InvalidError, UnauthorizedError } from '../lib/errors.ts';
import type { Principal, Viewer } from '../lib/principal.ts';

export type Authenticator = (authorization: string | undefined) => Viewer;

/** Derives admin/full-access flags from raw roles. */
export function principalFromRoles(subject: string, name: string, roles: string[], auth: Pick<Config['auth'], 'adminRole' | 'fullAccessRole'>): Principal {
  const admin = roles.includes(auth.adminRole);
  return { subject, name, roles, admin, fullAccess: admin || roles.includes(auth.fullAccessRole) };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function createAuthenticator(auth: Config['auth']): Authenticator {
  const tokens = auth.staticTokens.map((t) => ({ hash: digest(t.token), principal: principalFromRoles(t.subject, t.name, t.roles, auth) }));
  const local = principalFromRoles(auth.localUser, auth.localUser, [auth.adminRole], auth);
  return (authorization) => {
    if (authorization) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m?.[1]) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
      const h = digest(m[1]);
      // Compare every token in constant time so timing reveals nothing.
      let found: Principal | undefined;
      for (const t of tokens) if (timingSafeEqual(t.hash, h)) found = t.principal;
      if (!found) throw new UnauthorizedError('the bearer token is not valid; sign in again or create a new token');
      return found;
    }
    return auth.mode === 'local' ? local : null;
  };
}

/** Refuses local mode (everyone is admin) on an address other machines can reach. */
export function assertLocalModeSafe(config: Config): void {
  if (config.auth.mode !== 'local' || config.auth.forceLocalOnPublicAddress) return;
  const host = config.server.listen.host;
  if (!isLoopback(host)) {
    throw new InvalidError('unsafe configuration', [
      {
        path: 'Auth.Mode',
        message: `"local" makes every request the local admin, so it is only allowed on a loopback address, but Server.Listen is ${host}. Listen on 127.0.0.1, configure sign-in, or set Auth.ForceLocalOnPublicAddress = true if you really mean it.`,
      },
    ]);
  }
}
