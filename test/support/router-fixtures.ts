/**
 * What the router tests share: app store servers with the router, real
 * AppInstance and Pod objects in the test cluster (pods held by a scheduling
 * gate, their status set through the API as kwok would, with 127.64.x.y pod
 * IPs), real HTTP/websocket upstreams bound to those IPs on the app port, and
 * raw HTTP requests with an explicit Host header (fetch cannot set it).
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { WebSocketServer } from 'ws';
import { appInstance, APP_INSTANCE_PLURAL } from '../../src/k8s/crd/appinstance.ts';
import { installCrds } from '../../src/k8s/crd/install.ts';
import { GROUP, VERSION } from '../../src/k8s/crd/group.ts';
import type { Visibility } from '../../src/lib/principal.ts';
import { kubeConfig } from './kube.ts';

export const APP_PORT = 10101;
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** An app on a "pod IP": records every request and upgrade; echoes websocket messages; `/cookies` sets cookies. */
export class Upstream {
  readonly requests: Seen[] = [];
  readonly upgrades: Seen[] = [];
  private server!: Server;
  constructor(readonly ip: string, private readonly behaviour: 'ok' | 'silent' = 'ok') {}
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (this.behaviour === 'silent') return; // never answers: the router's timeout must fire
      req.resume();
      // An app trying to plant the platform's cookies next to its own.
      if (req.url?.endsWith('/cookies')) res.setHeader('set-cookie', ['appstore_session=planted; Path=/', 'theme=dark; Path=/', 'appstore_session_instance=planted; Path=/']);
      req.on('end', () => res.end(`hello from ${this.ip} ${req.url}`));
    });
    const wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      this.upgrades.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
    });
    await new Promise<void>((r) => this.server.listen(APP_PORT, this.ip, r));
    return this;
  }
  clear(): void {
    this.requests.length = 0;
    this.upgrades.length = 0;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Instances of one test namespace, each with (unless told otherwise) a Ready pod on its own loopback IP and a live upstream there. */
export class TestInstances {
  readonly upstreams = new Map<string, Upstream>();
  private readonly custom;
  private readonly core;
  /** A /16 of our own under 127.64/10, so parallel test files do not collide. */
  private readonly net = `127.64.${100 + Math.floor(Math.random() * 150)}`;
  private nextIP = 1;

  /** Installs the CRDs (a fresh test cluster has none) and waits until they are served. */
  static async ensureCrds(): Promise<void> {
    await installCrds(kubeConfig(), { fieldManager: 'appstore-tests', timeoutMs: 60_000 });
  }

  constructor(readonly namespace: string) {
    const kc = kubeConfig();
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** An AppInstance owned by `owner` and, unless `pod: false`, a Ready pod whose IP has a live upstream (`pod: 'dead'`: nothing listens). */
  async create(name: string, visibility: Visibility, owner: { subject: string; name: string }, opts: { pod?: boolean | 'dead'; upstream?: 'ok' | 'silent'; suspend?: boolean } = {}): Promise<Upstream | undefined> {
    const body = appInstance(name, this.namespace, { app: { name: 'ai.h2o.wave.test', version: '1.0.0' }, owner, visibility, ...(opts.suspend ? { suspend: true } : {}) });
    await this.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: APP_INSTANCE_PLURAL, body });
    if (opts.pod === false) return undefined;
    const ip = `${this.net}.${this.nextIP++}`;
    let up: Upstream | undefined;
    if (opts.pod !== 'dead') {
      up = await new Upstream(ip, opts.upstream).start();
      this.upstreams.set(name, up);
    }
    await this.core.createNamespacedPod({
      namespace: this.namespace,
      body: { metadata: { name: `${name}-pod`, labels: { 'hac.h2o.ai/instance': name } }, spec: { schedulingGates: [{ name: 'appstore.test/hold' }], containers: [{ name: 'app', image: 'none' }] } },
    });
    await this.core.patchNamespacedPodStatus(
      { name: `${name}-pod`, namespace: this.namespace, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } } },
      mergePatch,
    );
    return up;
  }

  async close(): Promise<void> {
    for (const u of this.upstreams.values()) await u.close();
  }
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to 127.0.0.1:`port` with an explicit Host header. */
export function send(port: number, host: string, path: string, opts: { headers?: Record<string, string>; method?: string; body?: string | Buffer; chunked?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host, ...opts.headers };
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (opts.body !== undefined) {
      if (opts.chunked) {
        // No Content-Length: the limit must be enforced while streaming.
        const b = Buffer.from(opts.body);
        req.write(b.subarray(0, 512));
        setTimeout(() => req.end(b.subarray(512)), 20);
        return;
      }
      req.end(opts.body);
    } else req.end();
  });
}
