/**
 * Authorization of one request or websocket upgrade to an instance, by the
 * one policy (canOpenInstance), and where anonymous users go to sign in.
 */
import type { Config } from '../config/config.ts';
import { BASE_PATH_PREFIX, mainHost, publicScheme } from '../config/instance-url.ts';
import { canOpenInstance, type InstanceFacts, type PolicyOptions } from '../auth/policy.ts';
import type { Viewer } from '../lib/principal.ts';

export type Decision = { kind: 'allow' } | { kind: 'sign-in' } | { kind: 'forbidden' };

/** Allow, send an anonymous user to sign in, or refuse a signed-in user. */
export function decide(viewer: Viewer, inst: InstanceFacts, policy: PolicyOptions): Decision {
  if (canOpenInstance(viewer, inst, policy)) return { kind: 'allow' };
  return viewer === null ? { kind: 'sign-in' } : { kind: 'forbidden' };
}

/**
 * A return path that stays on the main host: one leading `/`, no `//` or
 * `/\` (browsers read both as another host), no control characters.
 */
export function isLocalPath(p: string): boolean {
  return /^\/(?![/\\])/.test(p) && !/[\x00-\x1f\x7f\\]/.test(p);
}

/**
 * The sign-in URL for an anonymous request to instance `name` at `path`
 * (the path the app sees). The return path is always the instance's
 * BASE_URL form on the main host, built from the validated instance name,
 * so it cannot leave the site; after sign-in, a DOMAIN instance's request
 * is redirected from there to its own host.
 */
export function signInURL(config: Config, name: string, path: string, mode: 'DOMAIN' | 'BASE_URL'): string {
  const back = mode === 'BASE_URL' ? path : `${BASE_PATH_PREFIX}${name}${path.startsWith('/') ? path : `/${path}`}`;
  const safe = isLocalPath(back) ? back : `${BASE_PATH_PREFIX}${name}/`;
  return `${publicScheme(config)}://${mainHost(config)}/auth/login?return=${encodeURIComponent(safe)}`;
}
