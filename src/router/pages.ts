/**
 * The pages the router answers with instead of the app: starting (refreshes
 * itself), suspended (resume for those allowed), failed, not found,
 * forbidden, upstream errors and bad requests. Small self-contained HTML, no
 * stack traces, nothing from the request echoed unescaped.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface Page {
  status: number;
  title: string;
  /** Plain-text sentences; escaped when rendered. */
  message: string;
  /** Seconds after which the page reloads itself. */
  refreshSeconds?: number;
  /** A POST button (resume): the page calls `url`, on its own origin, and reloads. */
  action?: { label: string; url: string };
  /** A link onward (resume on the app store's own page, from a DOMAIN instance host). */
  link?: { label: string; url: string };
  /** Extra response headers (Location, Retry-After). */
  headers?: Record<string, string>;
}

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Renders a page as a complete HTML document. */
export function renderPage(p: Page): string {
  const refresh = p.refreshSeconds ? `<meta http-equiv="refresh" content="${p.refreshSeconds}">` : '';
  const action = p.action
    ? `<p><button id="act">${escapeHtml(p.action.label)}</button> <span id="msg" role="status"></span></p>` +
      `<script>document.getElementById('act').onclick=function(){var b=this;b.disabled=true;` +
      `fetch(${JSON.stringify(p.action.url).replace(/</g, '\\u003c')},{method:'POST',credentials:'include',mode:'same-origin'})` +
      `.then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);document.getElementById('msg').textContent='Starting…';setTimeout(function(){location.reload()},2000)})` +
      `.catch(function(e){b.disabled=false;document.getElementById('msg').textContent='Could not resume: '+e.message})}</script>`
    : '';
  const link = p.link ? `<p><a href="${escapeHtml(p.link.url)}">${escapeHtml(p.link.label)}</a></p>` : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${refresh}` +
    `<title>${escapeHtml(p.title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style></head>` +
    `<body><main><h1>${escapeHtml(p.title)}</h1><p>${escapeHtml(p.message)}</p>${action}${link}</main></body></html>`
  );
}

/** Answers with a page (no caching: states change). Safe to call on an already-answered response (does nothing). */
export function sendPage(res: ServerResponse, p: Page): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  const body = renderPage(p);
  res.writeHead(p.status, pageHeaders(p, body));
  res.end(body);
}

function pageHeaders(p: Page, body: string): Record<string, string | number> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src *; frame-ancestors 'none'",
    ...p.headers,
  };
}

/** A page as a complete raw HTTP/1.1 response (the front door writes it on the client socket). */
export function rawPage(p: Page, close: boolean): string {
  const body = renderPage(p);
  let head = `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status] ?? 'Unknown'}\r\n`;
  for (const [k, v] of Object.entries(pageHeaders(p, body))) head += `${k}: ${v}\r\n`;
  if (close) head += 'connection: close\r\n';
  return `${head}\r\n${body}`;
}

/** A redirect (302 by default) with a tiny body. */
export function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location, 'cache-control': 'no-store', 'content-type': 'text/plain; charset=utf-8' });
  res.end(`Redirecting to ${location}\n`);
}

/** Refuses a websocket upgrade with a plain HTTP status on the raw socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = `${reason}\n`;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
}

export const pages = {
  notFound: (name: string): Page => ({ status: 404, title: 'No such app instance', message: `There is no app instance named "${name}". It may have been deleted; ask its owner for a new link.` }),
  /** An anonymous request to a non-public instance in a mode without browser sign-in (static, local). */
  signInNeeded: (name: string, mode: string): Page => ({
    status: 401,
    title: 'Sign-in needed',
    message:
      mode === 'local'
        ? `Instance "${name}" is not public, and this request carried no usable credentials. In Auth.Mode "local" a request without an Authorization header acts as the local admin; remove the header, or send a valid bearer token.`
        : `Instance "${name}" is not public. This app store has no browser sign-in (Auth.Mode "${mode}"): send a bearer token with each request (Authorization: Bearer <token>, a static token from the configuration or a platform token from "h2o token create"), or ask the administrator to configure OpenID Connect sign-in (Auth.Mode "oidc").`,
    headers: { 'www-authenticate': 'Bearer' },
  }),
  forbidden: (name: string): Page => ({ status: 403, title: 'You cannot open this app instance', message: `You are signed in, but instance "${name}" is not shared with you. Ask its owner to share it (visibility ALL_USERS or PUBLIC).` }),
  starting: (name: string, detail?: string): Page => ({
    status: 503,
    title: 'The app is starting',
    message: `Instance "${name}" is starting${detail ? ` (${detail})` : ''}. This page reloads itself until the app is ready.`,
    refreshSeconds: 3,
    headers: { 'retry-after': '3' },
  }),
  /**
   * `resume`: for those allowed, a POST button on the app store's own origin (BASE_URL), or from a DOMAIN
   * instance host a link to the instance's page in the app store, since the API refuses cookie writes
   * from other origins (src/auth/csrf.ts).
   */
  suspended: (name: string, resume?: { postURL: string } | { pageURL: string }): Page => ({
    status: 503,
    title: 'The app is suspended',
    message: resume ? `Instance "${name}" is suspended. Resume it to use it again.` : `Instance "${name}" is suspended. Ask its owner to resume it.`,
    ...(resume && 'postURL' in resume ? { action: { label: 'Resume', url: resume.postURL } } : {}),
    ...(resume && 'pageURL' in resume ? { link: { label: 'Resume it in the app store', url: resume.pageURL } } : {}),
  }),
  stopping: (name: string): Page => ({ status: 503, title: 'The app is shutting down', message: `Instance "${name}" is being deleted or stopped.`, refreshSeconds: 5 }),
  failed: (name: string, reason: string): Page => ({ status: 503, title: 'The app failed', message: `Instance "${name}" failed: ${reason}. Its owner can see the logs in the app store, and restart or delete it.` }),
  upstream: (status: 502 | 503 | 504, name: string, what: string): Page => ({
    status,
    title: status === 504 ? 'The app did not answer in time' : 'The app is not reachable',
    message: `Instance "${name}" ${what}. Try again in a moment; if it persists, its owner can check the logs.`,
    ...(status === 503 ? { headers: { 'retry-after': '5' } } : {}),
  }),
  unknownHost: (): Page => ({ status: 421, title: 'Unknown host', message: 'This server does not serve the host name in this request.' }),
  tooLarge: (limit: number): Page => ({ status: 413, title: 'Request too large', message: `The request body is larger than the ${limit} bytes the app store passes to apps.` }),
  badRequest: (message: string): Page => ({ status: 400, title: 'Bad request', message }),
};
