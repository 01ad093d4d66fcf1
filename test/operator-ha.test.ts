// needs: cluster
/**
 * The operator's availability: leader failover between two operator
 * processes (a crash and a graceful stop), and a real kube-apiserver
 * restart mid-run (a second apiserver process on the cluster's etcd,
 * killed and started again) survived with the state caught up afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { appInstance, INSTANCE_CONDITIONS } from '../src/k8s/crd/index.ts';
import type { AppInstance } from '../src/k8s/crd/index.ts';
import { childNames, LABEL_INSTANCE } from '../src/operator/desired.ts';
import { freshNamespace, kubeConfig, kubeconfigPath } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { condition, createInstance, createRuntimeVersion, deleteRuntimeVersion, ensureOperatorCrds, getInstance, MemoryCatalog, operatorConfig, patchInstanceSpec, sampleApp, startTestOperator, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';
import { exited } from './support/process.ts';
import { SecondApiserver } from './cluster/second-apiserver.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const RT = `ha-rt-${suffix()}`;
const app = sampleApp({ name: 'ai.h2o.wave.ha', version: '1.0.0' });
let ns: TestNamespace;

before(async () => {
  ns = await freshNamespace('operator-ha');
  // This file installs what it needs itself: it passes alone and in any order.
  await ensureOperatorCrds(kc, ns.name);
  await createRuntimeVersion(kc, RT, { image: 'registry.example.com/wave-launcher:1.0.0' });
});
after(async () => {
  await ns?.cleanup();
  await deleteRuntimeVersion(kc, RT);
});

function instance(name: string): AppInstance {
  return appInstance(name, ns.name, { app: { id: app.id }, owner: { subject: 'alice', name: 'alice' }, runtimeVersion: RT });
}

async function waitReady(name: string, timeoutMs = 30_000): Promise<AppInstance> {
  let last: AppInstance | undefined;
  await waitFor(`${name} to be Ready`, async () => {
    last = await getInstance(kc, ns.name, name);
    return condition(last, INSTANCE_CONDITIONS.Ready)?.status === 'True';
  }, timeoutMs, 100).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

interface OperatorProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  leading(): boolean;
}

function spawnOperator(identity: string): OperatorProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/operator-main.ts'], {
    env: { ...process.env, OPERATOR_KUBECONFIG: kubeconfigPath(), OPERATOR_NAMESPACE: ns.name, OPERATOR_IDENTITY: identity, OPERATOR_APPS: JSON.stringify([app]) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const p: OperatorProcess = { child, lines: [], leading: () => p.lines.some((l) => l.leading) };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        p.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not ours
      }
    }
  });
  return p;
}


describe('leader failover between two operator processes', () => {
  const procs: OperatorProcess[] = [];
  after(async () => {
    for (const p of procs) {
      p.child.kill('SIGKILL');
      await exited(p.child);
    }
  });

  test('one leads; after it crashes the other takes over and reconciles; a graceful stop hands over at once', async () => {
    const a = spawnOperator('op-a');
    procs.push(a);
    await waitFor('op-a to lead', async () => a.leading(), 60_000, 100);
    const b = spawnOperator('op-b');
    procs.push(b);
    await waitFor('op-b to start', async () => b.lines.some((l) => l.started), 60_000, 100);

    await createInstance(kc, instance('before-crash'));
    await waitReady('before-crash');
    assert.equal(b.leading(), false, 'only one leader');

    const crashAt = Date.now();
    a.child.kill('SIGKILL');
    await exited(a.child);
    await waitFor('op-b to take over', async () => b.leading(), 30_000, 100);
    const takeover = Date.now() - crashAt;
    // Lease 6 s (test timing): the survivor waits it out; allow retries and a loaded machine.
    assert.ok(takeover < 20_000, `took over after ${takeover} ms`);
    await createInstance(kc, instance('after-crash'));
    await waitReady('after-crash');

    const c = spawnOperator('op-c');
    procs.push(c);
    await waitFor('op-c to start', async () => c.lines.some((l) => l.started), 60_000, 100);
    const stopAt = Date.now();
    b.child.kill('SIGTERM');
    await waitFor('op-c to take over after the graceful stop', async () => c.leading(), 30_000, 100);
    const handover = Date.now() - stopAt;
    assert.ok(b.lines.some((l) => l.stopped), 'op-b stopped gracefully');
    assert.ok(handover < 6000, `a released Lease is taken at the next retry, not after the lease duration: ${handover} ms`);
    await patchInstanceSpec(kc, ns.name, 'after-crash', { suspend: true });
    await waitFor('after-crash to be suspended by op-c', async () => (await getInstance(kc, ns.name, 'after-crash'))?.status?.summary === 'Suspended', 30_000);
  });
});

const clusterDir = process.env.APPSTORE_TEST_CLUSTER_DIR;

/** The operator's children of instance `name`, by kind. */
async function childrenOf(name: string): Promise<Record<string, string[]>> {
  const sel = { namespace: ns.name, labelSelector: `${LABEL_INSTANCE}=${name}` };
  const names = (l: { items: Array<{ metadata?: { name?: string } }> }) => l.items.map((i) => i.metadata!.name!);
  return {
    deployments: names(await apps.listNamespacedDeployment(sel)),
    services: names(await core.listNamespacedService(sel)),
    secrets: names(await core.listNamespacedSecret(sel)),
  };
}

describe('a kube-apiserver restart mid-run', () => {
  // A second kube-apiserver process on the local cluster's etcd, with its first one's flags and certificates
  // (test/cluster/second-apiserver.ts): it is killed and started again; the one other tests use never is.
  test('the operator keeps working once its apiserver is back: what changed meanwhile and new instances are reconciled, without duplicate children', { skip: clusterDir ? false : 'needs the local control plane (APPSTORE_TEST_CLUSTER_DIR) to start a second kube-apiserver' }, async () => {
    const second = await SecondApiserver.start(clusterDir!);
    const catalog = new MemoryCatalog([app]);
    const config = operatorConfig(ns.name);
    // Another Lease namespace would be cleaner, but the failover test's processes are gone: this one leads alone.
    const op = await startTestOperator(second.kubeConfig(kc), config, catalog, { identity: 'op-restarted-apiserver' });
    try {
      await waitFor('the operator on the second apiserver to lead', async () => op.isLeading(), 60_000, 100);
      await createInstance(kc, instance('restart-1'));
      await waitReady('restart-1');
      const before = await childrenOf('restart-1');

      await second.kill(); // SIGKILL: its watches and keep-alive connections die, new ones are refused
      // Changes through the cluster's own apiserver, to the same etcd, while the operator's is down.
      await createInstance(kc, instance('restart-2'));
      await patchInstanceSpec(kc, ns.name, 'restart-1', { suspend: true });
      await new Promise((r) => setTimeout(r, 8000)); // longer than the renew deadline (4 s): leadership is lost too
      assert.equal((await getInstance(kc, ns.name, 'restart-2'))?.status, undefined, 'nothing reconciled while the apiserver was down');
      assert.equal(op.isLeading(), false, 'the operator stopped leading without its apiserver');

      await second.restart(); // same binary, flags and port
      await waitReady('restart-2', 90_000);
      await waitFor('restart-1 to be suspended', async () => (await getInstance(kc, ns.name, 'restart-1'))?.status?.summary === 'Suspended', 60_000);
      await createInstance(kc, instance('restart-3'));
      await waitReady('restart-3');
      await waitFor('the operator to lead after the restart', async () => op.isLeading(), 30_000, 100);

      assert.deepEqual(await childrenOf('restart-1'), before, 'the children of restart-1 are the same objects');
      for (const name of ['restart-1', 'restart-2', 'restart-3']) {
        const want = JSON.stringify({ deployments: [childNames(name).deployment], services: [childNames(name).service], secrets: [childNames(name).secret] });
        // The Service's creation is not awaited by the reconcile: it may follow Ready by a moment.
        await waitFor(`the children of ${name}`, async () => JSON.stringify(await childrenOf(name)) === want, 30_000, 200).catch(() => {});
        assert.deepEqual(await childrenOf(name), { deployments: [childNames(name).deployment], services: [childNames(name).service], secrets: [childNames(name).secret] }, `exactly one of each child of ${name}`);
      }
    } finally {
      await op.stop();
      await second.stop();
    }
  });
});
