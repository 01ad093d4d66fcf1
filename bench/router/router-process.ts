/**
 * The benchmark's router in its own process (so its RSS is measurable): the
 * real createRouter with static-token authentication, an in-memory lookup
 * holding one AppInstance per upstream (ALL_USERS, so every request is
 * authenticated and authorized) and a keep-alive agent to the upstream.
 *
 *   node --expose-gc --import tsx bench/router/router-process.ts <engine> <upstream-ip> [<ws-upstream-ip>] [<workers>=1]
 *   engine: node-http (the router's own, default) | http-proxy-3 | http-proxy | http-proxy-3-fetch
 * With workers > 1, node:cluster forks that many router processes sharing the
 * port (the primary hands out connections round-robin), as nginx runs one
 * worker per core. Prints `{"port":N}` once all workers listen; SIGUSR2 runs a
 * full GC (for RSS readings, single process).
 */
import cluster from 'node:cluster';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { loadConfig } from '../../src/config/load.ts';
import { appInstance } from '../../src/k8s/crd/appinstance.ts';
import type { AppInstance } from '../../src/k8s/crd/appinstance.ts';
import { createRouter } from '../../src/router/router.ts';
import type { ProxyEngine } from '../../src/router/proxy.ts';

import { BENCH_TOKEN } from './token.ts';

const [engineName = 'node-http', httpIP = '127.66.0.10', wsIP = '127.66.0.11', workersArg = '1'] = process.argv.slice(2);
const workers = Number(workersArg);

if (workers > 1 && cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (_w, addr) => {
    if (++listening === workers) process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    cluster.disconnect(() => process.exit(0));
  });
} else await serveRouter();

async function serveRouter(): Promise<void> {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-router-config-')), 'appstore.toml');
  writeFileSync(file, `[[Auth.StaticToken]]\nToken = "${BENCH_TOKEN}"\nSubject = "bench"\nName = "bench"\nRoles = ["full-access"]\n`);
  const { config } = loadConfig({
    file,
    flags: { 'Server.Listen': '127.0.0.1:0', 'Router.RoutingMode': 'DOMAIN', 'Router.MainHost': 'localhost', 'Router.AppsDomain': 'apps.localhost', 'Auth.Mode': 'static' },
  });
  const authenticator = createAuthenticator(config.auth);

  function instance(name: string): AppInstance {
    return appInstance(name, 'bench', { app: { name: 'bench.app', version: '1.0.0' }, owner: { subject: 'owner', name: 'owner' }, visibility: 'ALL_USERS' });
  }
  function pod(ip: string): V1Pod {
    return { metadata: { name: 'p', creationTimestamp: new Date() }, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } };
  }
  const table = new Map<string, { inst: AppInstance; pods: V1Pod[] }>([
    ['web', { inst: instance('web'), pods: [pod(httpIP)] }],
    ['ws', { inst: instance('ws'), pods: [pod(wsIP)] }],
  ]);

  let engine: ProxyEngine | undefined;
  if (engineName === 'http-proxy') {
    const hp = (await import('http-proxy')).default;
    engine = hp.createProxyServer({}) as unknown as ProxyEngine;
  } else if (engineName === 'http-proxy-3') {
    const { createProxyServer } = await import('http-proxy-3');
    engine = createProxyServer({}) as unknown as ProxyEngine;
  } else if (engineName === 'http-proxy-3-fetch') {
    const { createProxyServer } = await import('http-proxy-3');
    // http-proxy-3's fetch path: requests go through Node's built-in undici (fetch keeps its own connection pool).
    engine = createProxyServer({ fetch }) as unknown as ProxyEngine;
  } else if (engineName !== 'node-http') throw new Error(`unknown engine ${engineName}: use node-http, http-proxy-3, http-proxy or http-proxy-3-fetch`);

  const router = createRouter({
    config,
    instances: { get: (n) => table.get(n)?.inst, pods: (n) => table.get(n)?.pods ?? [], onChange: () => () => undefined },
    authenticate: async (req) => authenticator(req.headers.authorization),
    metrics: new Registry(),
    ...(engine ? { proxyEngine: engine } : {}),
  });

  const server = createServer({ maxHeaderSize: config.router.maxHeaderSize, keepAliveTimeout: 65_000 }, (req, res) => {
    if (router.matches(req)) router.handle(req, res);
    else res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => router.upgrade(req, socket, head));
  // As the app store's server does (src/router/server-factory.ts): the front door takes the proxied requests.
  if (process.env.BENCH_FRONT_DOOR !== '0') router.attach(server);
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    // Cluster workers share the port; the primary reports it once all listen.
    if (cluster.isPrimary) process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
  });
  process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
  process.on('SIGTERM', () => {
    void router.close().then(() => process.exit(0));
  });
}
