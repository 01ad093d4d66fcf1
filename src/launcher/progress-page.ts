/**
 * The page the instance's port serves while the launcher prepares the app:
 * the steps, the current one, and on failure the error. It refreshes itself,
 * so a browser left open lands on the app once waved owns the port.
 */
import { createServer, type Server } from 'node:http';

export const STEPS = ['Sourcing the Wave Application', 'Installing Application Dependencies', 'Starting the Wave Application'] as const;
export type Step = (typeof STEPS)[number];

export interface ProgressState {
  step: Step;
  /** Extra detail under the step (e.g. "reusing the environment"). */
  detail?: string;
  /** Set when preparation failed; the page then shows it and stops at that step. */
  error?: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML of the page for `state`. */
export function renderProgress(state: ProgressState, appTitle: string): string {
  const current = STEPS.indexOf(state.step);
  const items = STEPS.map((s, i) => {
    const mark = i < current ? 'done' : i === current ? (state.error ? 'failed' : 'current') : 'todo';
    return `<li class="${mark}">${escape(s)}${i === current && state.detail ? ` <small>${escape(state.detail)}</small>` : ''}</li>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
${state.error ? '' : '<meta http-equiv="refresh" content="2">'}
<title>${escape(state.error ? `Failed: ${state.step}` : state.step)} · ${escape(appTitle)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:48rem;margin:4rem auto;padding:0 1rem;color:#222}
li{margin:.4rem 0} li.done{color:#2a7a2a} li.current{font-weight:bold} li.failed{color:#b00020;font-weight:bold} li.todo{color:#888}
pre{background:#fff3f3;border:1px solid #b00020;padding:1rem;white-space:pre-wrap;word-break:break-word}
</style></head><body>
<h1>${escape(appTitle)}</h1>
<ol>
${items}
</ol>
${state.error ? `<h2>The app could not start</h2>\n<pre id="error">${escape(state.error)}</pre>` : '<p>This page refreshes by itself; the app opens here when it is ready.</p>'}
</body></html>
`;
}

/** An HTTP server answering every path with the progress page (503 while preparing, 500 after a failure). */
export class ProgressServer {
  private state: ProgressState = { step: STEPS[0] };
  private readonly server: Server;
  private closing = false;

  private constructor(private readonly appTitle: string) {
    this.server = createServer((req, res) => {
      const body = renderProgress(this.state, this.appTitle);
      res.writeHead(this.state.error ? 500 : 503, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...(this.state.error ? {} : { 'retry-after': '2' }),
        'x-h2o-launcher-step': this.state.step,
        // Handing over: the client must not reuse this connection, the next request goes to waved.
        ...(this.closing ? { connection: 'close' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }

  /** Listens on host:port ('' host = every interface). */
  static async listen(host: string, port: number, appTitle: string): Promise<ProgressServer> {
    const p = new ProgressServer(appTitle);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen({ port, ...(host ? { host } : {}) }, () => resolve());
    });
    return p;
  }

  set(state: ProgressState): void {
    this.state = state;
  }

  get current(): ProgressState {
    return this.state;
  }

  /**
   * Hands the port over: stops listening, closes idle keep-alive connections
   * at once (a browser's next request then reaches waved, not a dead socket
   * of this server), lets a request in flight get its answer with
   * `connection: close`, and drops whatever is still open after graceMs.
   */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  /** Open client connections (for tests of the hand-over). */
  connections(): Promise<number> {
    return new Promise((resolve, reject) => this.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }
}
