/**
 * The Kubernetes cluster for a test run (`// needs: cluster`): a local
 * control plane from test/cluster/ (etcd, kube-apiserver, controller
 * manager, scheduler, kwok fake nodes) started once per run, or an existing
 * cluster when APPSTORE_TEST_KUBECONFIG is already set (e.g. kind).
 *
 * Tests find it through APPSTORE_TEST_KUBECONFIG and APPSTORE_TEST_KUBECTL
 * (see test/support/kube.ts), and APPSTORE_TEST_CLUSTER says which kind it is
 * (`local`: ours, with kwok nodes and loopback pod IPs; `external`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ownerGone, readState, startCluster, stopCluster } from '../cluster/control-plane.ts';
import { repoRoot } from './go-tool.ts';
import type { Service } from './service.ts';

const runsDir = join(repoRoot, '.appstore');
const prefix = 'test-cluster-';
const lastLogs = join(runsDir, 'last-test-cluster-logs');

/** Stops clusters of earlier test runs whose runner died without stopping them. */
async function reapAbandoned(log: (m: string) => void): Promise<void> {
  if (!existsSync(runsDir)) return;
  for (const name of readdirSync(runsDir)) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(runsDir, name);
    const s = readState(dir);
    if (!s || ownerGone(s)) {
      log(`stopping the cluster of an earlier test run that did not stop it (${dir})`);
      await stopCluster(dir);
    }
  }
}

/** Starts (or adopts) the cluster for this test run. */
export async function startTestCluster(log: (m: string) => void): Promise<Service> {
  const existing = process.env.APPSTORE_TEST_KUBECONFIG;
  if (existing) {
    if (!existsSync(existing)) throw new Error(`APPSTORE_TEST_KUBECONFIG=${existing}: no such file; point it at a kubeconfig or unset it to start a local cluster`);
    // A cluster from `make cluster-up` is ours too: recognise it by its run folder's state.
    const state = readState(dirname(existing));
    const local = state !== undefined;
    const kubectl = process.env.APPSTORE_TEST_KUBECTL ?? state?.kubectl ?? 'kubectl';
    log(`using the existing cluster in ${existing} (kubectl: ${kubectl})`);
    return {
      env: {
        APPSTORE_TEST_KUBECONFIG: existing,
        APPSTORE_TEST_KUBECTL: kubectl,
        APPSTORE_TEST_CLUSTER: local ? 'local' : 'external',
        ...(local ? { APPSTORE_TEST_CLUSTER_DIR: dirname(existing) } : {}),
      },
      async stop() {},
    };
  }
  await reapAbandoned(log);
  const runDir = join(runsDir, `${prefix}${process.pid}`);
  const c = await startCluster({ runDir, log, owned: true });
  return {
    env: {
      APPSTORE_TEST_KUBECONFIG: c.kubeconfig,
      APPSTORE_TEST_KUBECTL: c.kubectl,
      APPSTORE_TEST_CLUSTER: 'local',
      APPSTORE_TEST_CLUSTER_DIR: runDir,
    },
    async stop() {
      // The last run's logs stay for a look after a failure (CI prints where they are).
      await stopCluster(runDir, { keepLogsIn: lastLogs });
      log(`cluster stopped; its logs are in ${lastLogs}`);
    },
  };
}
