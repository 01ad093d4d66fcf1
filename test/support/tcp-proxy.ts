/**
 * A loopback TCP proxy in front of the test apiserver whose connections can be
 * cut at will: how tests break a watch or a leader's renewals for real.
 */
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** A loopback TCP proxy to the apiserver (TLS passes through) whose connections can be cut. */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private isDown = false;
  private isBlackhole = false;
  private readonly server: Server;
  port = 0;
  /** Client connections accepted so far (a client that reuses connections opens few). */
  accepted = 0;

  private constructor(target: URL) {
    this.server = createServer((client) => {
      this.accepted++;
      if (this.isDown) {
        client.destroy();
        return;
      }
      if (this.isBlackhole) {
        // Accept and say nothing, like a partitioned network: requests hang instead of failing.
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => {});
        client.resume();
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(target: URL): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    const addr = proxy.server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy has no port');
    proxy.port = addr.port;
    return proxy;
  }

  /** While down, every open connection is cut and new ones are closed at once. */
  set down(v: boolean) {
    this.isDown = v;
    if (v) for (const s of this.sockets) s.destroy();
  }

  /** While a black hole, bytes are no longer forwarded either way and new connections are accepted but never answered. */
  set blackhole(v: boolean) {
    this.isBlackhole = v;
    if (!v) return;
    for (const s of this.sockets) {
      s.unpipe();
      s.removeAllListeners('data');
      s.resume();
    }
  }

  /** A copy of `kc` whose cluster is reached through this proxy (same certificate name, 127.0.0.1). */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const out = new KubeConfig();
    out.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${this.port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return out;
  }

  async close(): Promise<void> {
    this.down = true;
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
