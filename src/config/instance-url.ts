/**
 * Where users reach the app store and its instances, from the [Router] and
 * [Server] options. Pure functions: the router routes by them, the operator
 * writes status.url with them (it may not import the router).
 */
import type { Config } from './config.ts';

export type RoutingMode = Config['router']['routingMode'];

/** The path prefix of BASE_URL instances: `/instance/<name>/`. */
export const BASE_PATH_PREFIX = '/instance/';

/** `http` or `https`: the scheme of Server.PublicURL, http when it is unset. */
export function publicScheme(config: Config): 'http' | 'https' {
  return config.server.publicURL.startsWith('https:') ? 'https' : 'http';
}

/** host[:port] of the app store (lowercase): Router.MainHost, else Server.PublicURL's, else localhost:<listen port>. */
export function mainHost(config: Config): string {
  if (config.router.mainHost) return config.router.mainHost.toLowerCase();
  if (config.server.publicURL) return new URL(config.server.publicURL).host.toLowerCase();
  return `localhost:${config.server.listen.port}`;
}

/** host[:port] under which instance x is `x.<appsDomain>` (lowercase): Router.AppsDomain, else apps.<main host>. */
export function appsDomain(config: Config): string {
  return (config.router.appsDomain || `apps.${mainHost(config)}`).toLowerCase();
}

/** The URL users open instance `name` at, in `mode` (default: Router.RoutingMode), with a trailing slash. */
export function instanceURL(config: Config, name: string, mode: RoutingMode = config.router.routingMode): string {
  const scheme = publicScheme(config);
  if (mode === 'DOMAIN') return `${scheme}://${name}.${appsDomain(config)}/`;
  return `${scheme}://${mainHost(config)}${BASE_PATH_PREFIX}${name}/`;
}

/** A host[:port] as MainHost and AppsDomain take it: DNS labels, optional port, no scheme or path. */
export function isHostPort(s: string): boolean {
  return /^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i.test(s);
}
