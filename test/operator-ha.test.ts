// needs: cluster
/**
 * The operator's availability: leader failover between two operator
 * processes (a crash and a graceful stop), and an apiserver outage mid-run
 * (every connection cut and refused through a TCP proxy, which is what an
 * apiserver restart looks like to the client) survived with the state
 * caught up afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appInstance, INSTANCE_CONDITIONS } from '../src/k8s/crd/index.ts';
import type { AppInstance } from '../src/k8s/crd/index.ts';
import { freshNamespace, kubeConfig, kubeconfigPath } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { condition, createInstance, createRuntimeVersion, deleteRuntimeVersion, getInstance, MemoryCatalog, operatorConfig, patchInstanceSpec, sampleApp, startTestOperator, suffix } from './support/operator.ts';
import { waitFor } from './support/ports.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const kc = kubeConfig();
const RT = `ha-rt-${suffix()}`;
const app = sampleApp({ name: 'ai.h2o.wave.ha', version: '1.0.0' });
let ns: TestNamespace;

before(async () => {
  ns = await freshNamespace('operator-ha');
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

const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));

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

describe('an apiserver outage mid-run', () => {
  test('the operator survives: after the outage it catches up with what changed meanwhile', async () => {
    const proxy = await TcpProxy.start(new URL(kc.getCurrentCluster()!.server));
    const catalog = new MemoryCatalog([app]);
    const config = operatorConfig(ns.name);
    // Another Lease namespace would be cleaner, but the failover test's processes are gone: this one leads alone.
    const op = await startTestOperator(proxy.kubeConfig(kc), config, catalog, { identity: 'op-proxied' });
    try {
      await waitFor('the proxied operator to lead', async () => op.isLeading(), 60_000, 100);
      await createInstance(kc, instance('outage-1'));
      await waitReady('outage-1');

      proxy.down = true; // every connection cut, new ones refused
      await createInstance(kc, instance('outage-2'));
      await patchInstanceSpec(kc, ns.name, 'outage-1', { suspend: true });
      await new Promise((r) => setTimeout(r, 8000)); // longer than the renew deadline: leadership is lost too
      assert.equal((await getInstance(kc, ns.name, 'outage-2'))?.status, undefined, 'nothing reconciled while the apiserver was unreachable');
      proxy.down = false;

      await waitReady('outage-2', 60_000);
      await waitFor('outage-1 to be suspended', async () => (await getInstance(kc, ns.name, 'outage-1'))?.status?.summary === 'Suspended', 60_000);
    } finally {
      await op.stop();
      await proxy.close();
    }
  });
});
