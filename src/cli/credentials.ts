/**
 * Where requests get their credentials: a profile's platform (or static)
 * bearer token, or its OIDC sign-in, whose ID token is renewed with the
 * refresh token shortly before it expires and saved back to the profile.
 * The HTTP client only ever asks for an Authorization header.
 */
import type { Profile } from './config-file.ts';
import { needsRefresh, refreshSignIn } from './sign-in.ts';

/** Supplies the Authorization header for each request (undefined: anonymous). */
export interface Credentials {
  authorization(): Promise<string | undefined>;
}

/**
 * Credentials of a profile: its bearer token if it has one, else its
 * sign-in (refreshed when expired; `save` stores the renewed sign-in).
 * An expired sign-in that cannot be renewed throws an UnauthorizedError
 * saying to run `h2o config setup`.
 */
export function credentialsFor(profile: Profile, save?: (p: Profile) => Promise<void>): Credentials {
  let renewing: Promise<void> | undefined;
  return {
    async authorization() {
      if (profile.token) return `Bearer ${profile.token}`;
      if (!profile.signIn) return undefined;
      if (needsRefresh(profile.signIn)) {
        renewing ??= (async () => {
          profile.signIn = await refreshSignIn(profile.signIn!, profile.endpoint);
          await save?.(profile);
        })().finally(() => (renewing = undefined));
        await renewing;
      }
      return `Bearer ${profile.signIn.idToken}`;
    },
  };
}
