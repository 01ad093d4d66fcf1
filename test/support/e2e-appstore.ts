/**
 * The app store as startServer composes it (API, router, instance cache,
 * operator) in the test process, with static-token users and the local pod
 * runner running the operator's pods for real and serving their logs, in a
 * namespace and with a RuntimeVersion of its own: the fixture of the
 * end-to-end tests.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type pino from 'pino';
import { buildApi } from '../../src/api/app.ts';
import { installCrds } from '../../src/k8s/crd/install.ts';
import { instanceURL } from '../../src/config/instance-url.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createMetricsRegistry } from '../../src/lib/metrics.ts';
import { LOCAL_IMAGE_PREFIX } from '../../src/local-node/kwok-stages.ts';
import { LocalPodRunner } from '../../src/local-node/pod-runner.ts';
import { startOperator } from '../../src/operator/operator.ts';
import { createRouter } from '../../src/router/router.ts';
import { routerServerFactory } from '../../src/router/server-factory.ts';
import { repositoryCatalog } from '../../src/server/catalog-port.ts';
import { startInstanceBackend } from '../../src/server/instance-backend.ts';
import { apiDeps, openStores } from '../../src/server/server.ts';
import { USERS } from './api-server.ts';
import { freshNamespace, kubeconfigPath } from './kube.ts';
import { createRuntimeVersion, deleteRuntimeVersion, suffix } from './operator.ts';
import { freePort } from './ports.ts';
import { ensureUv, pythonCacheEnv } from './python-app.ts';

export interface E2eAppstore {
  /** The main URL, http://127.0.0.1:<port>. */
  url: string;
  port: number;
  runner: LocalPodRunner;
  /** The instances' namespace. */
  namespace: string;
  /** A RuntimeVersion with a local launcher image, which the local pod runner runs (name it in app.toml). */
  runtimeVersion: string;
  /** Stops the operator, router, API, cache, database and runner, in that order, then deletes the namespace and the RuntimeVersion. */
  close(): Promise<void>;
}

/**
 * Installs uv and the CRDs, makes a fresh namespace named after `name` and a
 * RuntimeVersion, starts the runner on that namespace and the app store on a
 * free port; `flags` (given the port) add to or override the server options.
 */
export async function startE2eAppstore(o: { kc: KubeConfig; name: string; dir: string; logger: pino.Logger; flags?: (port: number) => Record<string, string> }): Promise<E2eAppstore> {
  const uv = await ensureUv();
  await installCrds(o.kc, { fieldManager: 'appstore-tests' });
  const ns = await freshNamespace(o.name, o.kc);
  const runtimeVersion = `${o.name}-rv-${suffix()}`;
  await createRuntimeVersion(o.kc, runtimeVersion, { image: `${LOCAL_IMAGE_PREFIX}wave-launcher:1.0.0` });
  const namespace = ns.name;
  const runner = await LocalPodRunner.start({
    kc: o.kc,
    namespace,
    dataDir: join(o.dir, 'node'),
    baseEnv: { ...(process.env as Record<string, string>), ...pythonCacheEnv(), PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}` },
    restartBackoffMs: 1000,
    logger: o.logger,
  });
  const closers: Array<() => Promise<unknown>> = [() => deleteRuntimeVersion(o.kc, runtimeVersion), () => ns.cleanup(), () => runner.stop()];
  const close = async () => {
    for (const c of [...closers].reverse()) await c();
  };
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const file = join(o.dir, 'appstore.toml');
    writeFileSync(file, Object.values(USERS).map((u) => `[[Auth.StaticToken]]\nToken = "${u.token}"\nSubject = "${u.subject}"\nName = "${u.name}"\nRoles = ${JSON.stringify(u.roles)}\n`).join('\n'));
    const { config } = loadConfig({
      file,
      flags: {
        'Server.Listen': `127.0.0.1:${port}`,
        'Server.PublicURL': url,
        'Server.DataDir': join(o.dir, 'data'),
        'Auth.Mode': 'static',
        'Scheduler.KubeConfig': kubeconfigPath(),
        'Scheduler.Namespace': namespace,
        ...o.flags?.(port),
      },
    });
    const stores = await openStores(config);
    closers.push(() => stores.db.close());
    const metrics = createMetricsRegistry();
    const backend = await startInstanceBackend(config, { logger: o.logger, logs: runner });
    if (!backend) throw new Error('no instance backend: Scheduler.KubeConfig is not set');
    closers.push(() => backend.cache.stop());
    const deps = await apiDeps(config, stores.db, stores.blobs, { logger: o.logger, metrics, instanceBackend: backend });
    const router = createRouter({ config, instances: backend.cache, authenticate: deps.auth.authenticate, metrics, logger: o.logger });
    const api = await buildApi({ ...deps, serverFactory: routerServerFactory(router, { maxHeaderSize: config.router.maxHeaderSize }) });
    closers.push(() => api.close(), () => router.close());
    await api.listen({ host: '127.0.0.1', port });
    const operator = await startOperator({
      kc: o.kc,
      config: { ...config, runtimeVersions: [] },
      catalog: repositoryCatalog(deps.apps),
      launcherKey: deps.launcherKey,
      apiURL: url,
      routing: (name) => ({ mode: config.router.routingMode, url: instanceURL(config, name) }),
      logger: o.logger,
      metrics,
    });
    closers.push(() => operator.stop());
    return { url, port, runner, namespace, runtimeVersion, close };
  } catch (err) {
    await close();
    throw err;
  }
}
