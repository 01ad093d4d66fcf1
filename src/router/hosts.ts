/**
 * Which instance a request is for, from its Host and path: DOMAIN requests
 * are `<name>.<apps-domain>`, BASE_URL requests `/instance/<name>/…` on the
 * main host. Host names are compared lowercase, with the port.
 */
import type { Config } from '../config/config.ts';
import { appsDomain, BASE_PATH_PREFIX, mainHost, type RoutingMode } from '../config/instance-url.ts';
import { HANDOFF_PATH } from './handoff.ts';

export type RouteTarget =
  /** A request for instance `name`, reached in `mode`; `path` is what goes to the app. */
  | { kind: 'instance'; name: string; mode: RoutingMode; path: string }
  /** `/instance/<name>` without the trailing slash: redirect to add it (the app's base URL ends in /). */
  | { kind: 'add-slash'; name: string }
  /** Not the router's: the main host outside /instance/. */
  | { kind: 'main' }
  /** A host this server does not serve. */
  | { kind: 'unknown-host'; host: string }
  /** An absolute-form request target (`GET http://other/… HTTP/1.1`): its host would disagree with Host; refused. */
  | { kind: 'absolute-form' }
  /** The session hand-off to a DOMAIN instance host, on the main host (./handoff.ts). */
  | { kind: 'handoff' };

/** What routing reads of a request (an IncomingMessage, or the front door's parsed head). */
export interface RoutedRequest {
  url?: string | undefined;
  headers: { host?: string | undefined };
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface HostTable {
  main: Set<string>;
  /** `.apps.example.com[:port]` (with the leading dot). */
  appsSuffix: string;
}

/** The host names this server answers to. Local defaults also accept 127.0.0.1/[::1] with the same port. */
export function hostTable(config: Config): HostTable {
  const main = new Set([mainHost(config)]);
  if (!config.router.mainHost && !config.server.publicURL) {
    const port = config.server.listen.port;
    for (const h of ['127.0.0.1', '[::1]']) main.add(`${h}:${port}`);
  }
  return { main, appsSuffix: `.${appsDomain(config)}` };
}

/** The Host header, lowercase, without a trailing dot on the name; '' when absent or malformed. */
export function requestHost(req: RoutedRequest): string {
  const h = req.headers.host;
  if (typeof h !== 'string' || h.length > 300 || /[\s/\\@,]/.test(h)) return '';
  return h.toLowerCase().replace(/\.(?=:|$)/, '');
}

/** Routes a request by Host and path. */
export function routeTarget(table: HostTable, req: RoutedRequest): RouteTarget {
  const host = requestHost(req);
  const url = req.url ?? '/';
  if (!url.startsWith('/')) return url === '*' ? { kind: 'main' } : { kind: 'absolute-form' };
  if (host.endsWith(table.appsSuffix)) {
    const name = host.slice(0, -table.appsSuffix.length);
    if (LABEL.test(name)) return { kind: 'instance', name, mode: 'DOMAIN', path: url };
    return { kind: 'unknown-host', host };
  }
  if (!table.main.has(host)) {
    // Only /instance/ paths are the router's; other hosts on other paths are left to the API.
    return url.startsWith(BASE_PATH_PREFIX) ? { kind: 'unknown-host', host } : { kind: 'main' };
  }
  if (!url.startsWith(BASE_PATH_PREFIX)) return url.startsWith(HANDOFF_PATH) && (url.length === HANDOFF_PATH.length || url[HANDOFF_PATH.length] === '?') ? { kind: 'handoff' } : { kind: 'main' };
  const rest = url.slice(BASE_PATH_PREFIX.length);
  const end = rest.search(/[/?#]/);
  const name = (end < 0 ? rest : rest.slice(0, end)).toLowerCase();
  if (!LABEL.test(name)) return { kind: 'main' };
  if (end < 0 || rest[end] !== '/') return { kind: 'add-slash', name };
  // The app is told its base URL (H2O_WAVE_BASE_URL), so it gets the full path.
  return { kind: 'instance', name, mode: 'BASE_URL', path: url };
}

/** The path below the instance's root (`/x?y` for both `x.apps…/x?y` and `/instance/n/x?y`). */
export function appPath(target: { name: string; mode: RoutingMode; path: string }): string {
  return target.mode === 'DOMAIN' ? target.path : target.path.slice(BASE_PATH_PREFIX.length + target.name.length);
}
