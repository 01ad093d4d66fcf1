/**
 * Who is making a request. Authentication (src/auth) produces it; the
 * authorization policy (src/auth/policy.ts) and the repository's listing
 * filter consume it.
 */
export interface Principal {
  /** Stable subject identifier from the identity provider (`sub`). */
  subject: string;
  /** Human-readable name shown as owner (e-mail or preferred username). */
  name: string;
  /** Raw roles from the configured roles claim. */
  roles: string[];
  /** Holds the configured admin role. */
  admin: boolean;
  /** Holds the configured full-access role (admins always have it). */
  fullAccess: boolean;
}

/** The anonymous visitor: no subject, no roles. Sees only PUBLIC things when public access is on. */
export const ANONYMOUS = null;
export type Viewer = Principal | typeof ANONYMOUS;

/** A signed-in user without the full-access role. */
export function isVisitor(p: Principal): boolean {
  return !p.admin && !p.fullAccess;
}

export const VISIBILITIES = ['PRIVATE', 'ALL_USERS', 'PUBLIC'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export function isVisibility(v: unknown): v is Visibility {
  return typeof v === 'string' && (VISIBILITIES as readonly string[]).includes(v);
}
