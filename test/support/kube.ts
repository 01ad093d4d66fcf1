/**
 * Helpers for tests that talk to the test cluster (`// needs: cluster`):
 * a client config, a namespace of one's own, and the built kubectl.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { waitFor } from './ports.ts';
import { serviceEnv } from './service.ts';

/** Label put on every namespace made by `freshNamespace`, so leftovers can be found and removed. */
export const TEST_NAMESPACE_LABEL = 'appstore.test/ephemeral';

/** Path of the admin kubeconfig for the test cluster. */
export function kubeconfigPath(): string {
  return serviceEnv('APPSTORE_TEST_KUBECONFIG', 'the Kubernetes cluster');
}

/** True when the cluster is the local one from test/cluster/ (kwok nodes, loopback pod IPs), not an external one. */
export function isLocalCluster(): boolean {
  return process.env.APPSTORE_TEST_CLUSTER === 'local';
}

/** A @kubernetes/client-node KubeConfig for the test cluster (cluster-admin). */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** The HTTP status of a failed client-node call, or undefined for other errors. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace; with `wait`, until it is gone. */
  cleanup(opts?: { wait?: boolean }): Promise<void>;
}

/**
 * Creates a namespace named `PREFIX-RANDOM` for one test file and waits until its
 * `default` service account exists (pods cannot be created before that).
 */
export async function freshNamespace(prefix: string, kc: KubeConfig = kubeConfig()): Promise<TestNamespace> {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'test';
  const name = `${base}-${randomBytes(4).toString('hex')}`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: 'true' } } } });
  await waitFor(`the default service account in namespace ${name}`, async () => {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    } catch (err) {
      if (apiStatus(err) === 404) return false;
      throw err;
    }
  }, 30_000, 100);
  return {
    name,
    async cleanup(opts = {}) {
      try {
        await core.deleteNamespace({ name });
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
      }
      if (!opts.wait) return;
      await waitFor(`namespace ${name} to be deleted`, async () => {
        try {
          await core.readNamespace({ name });
          return false;
        } catch (err) {
          if (apiStatus(err) === 404) return true;
          throw err;
        }
      }, 60_000, 200);
    },
  };
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the test cluster's kubectl with the admin kubeconfig; never throws for a non-zero exit (check `code`). */
export function kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  const bin = process.env.APPSTORE_TEST_KUBECTL ?? 'kubectl';
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      bin,
      ['--kubeconfig', kubeconfigPath(), ...args],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err?.killed) {
          reject(new Error(`kubectl ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms; stderr: ${stderr}`));
          return;
        }
        if (err && typeof err.code !== 'number') {
          reject(new Error(`could not run ${bin}: ${err.message}`));
          return;
        }
        resolveRun({ stdout, stderr, code: err ? Number(err.code) : 0 });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
