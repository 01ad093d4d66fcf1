/**
 * The launcher's readiness endpoint (H2O_CLOUD_LAUNCHER_READY_PORT): the
 * pod's readiness probe asks `GET /ready`. It answers 200 only while waved
 * and the app both answer, so "Ready" means "the app answers": never while
 * the progress page is up (preparing, failed, or between crash restarts), and
 * not in the second between waved opening its port and the app registering.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';

/** Resolves true when the pod is ready, else the reason it is not. */
export type ReadinessCheck = () => Promise<true | string>;

export const READY_PATH = '/ready';

/** HTTP server answering GET /ready with 200 or 503 (and the reason); every other path 404. */
export class ReadyServer {
  private check: ReadinessCheck = () => Promise.resolve('the launcher is starting');
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== READY_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`only GET ${READY_PATH} is served here\n`);
        return;
      }
      const answer = (r: true | string) => {
        res.writeHead(r === true ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : r === true ? 'ready\n' : `not ready: ${r}\n`);
      };
      void this.check().then(answer, (err: unknown) => answer(`the readiness check failed: ${(err as Error).message}`));
    });
  }

  /** Listens on host:port ('' host = every interface). */
  static async listen(host: string, port: number): Promise<ReadyServer> {
    const r = new ReadyServer();
    await new Promise<void>((resolve, reject) => {
      r.server.once('error', reject);
      r.server.listen({ port, ...(host ? { host } : {}) }, () => resolve());
    });
    return r;
  }

  /** Replaces the check (the launcher moves it along as it goes). */
  setCheck(check: ReadinessCheck): void {
    this.check = check;
  }

  /** Stops answering (the launcher exits). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

/** True when host:port accepts a TCP connection within timeoutMs. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect({ host, port });
    const t = setTimeout(() => (sock.destroy(), res(false)), timeoutMs);
    sock.once('connect', () => (clearTimeout(t), sock.destroy(), res(true)));
    sock.once('error', () => (clearTimeout(t), res(false)));
  });
}
