/**
 * Where requests get their credentials. Today a profile holds a platform or
 * static bearer token; OIDC device sign-in (with refresh) will plug in here,
 * so the HTTP client only ever asks for an Authorization header.
 */
import type { Profile } from './config-file.ts';

/** Supplies the Authorization header for each request (undefined: anonymous). */
export interface Credentials {
  authorization(): Promise<string | undefined>;
}

/** Credentials of a profile: its bearer token if it has one. */
export function credentialsFor(profile: Profile): Credentials {
  return {
    async authorization() {
      return profile.token ? `Bearer ${profile.token}` : undefined;
    },
  };
}
