/**
 * The control-plane launcher itself (test/cluster/): a run that crashed does
 * not block the next one in the same folder, stopping signals only the
 * processes the run started, and leaves nothing behind. Starts its own
 * cluster in a temporary folder (the binaries are built first if needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHealthy, readState, startCluster, stopCluster } from './cluster/control-plane.ts';
import { isOurs, processStartTicks } from './cluster/processes.ts';

test('a crashed run is replaced by a fresh one, and stopping touches only our processes', { timeout: 30 * 60_000 }, async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'appstore-cluster-lifecycle-')), 'run');
  const impostor = spawn('sleep', ['300'], { stdio: 'ignore' });
  try {
    const first = await startCluster({ runDir });
    assert.ok(await isHealthy(runDir));
    const s1 = readState(runDir)!;
    assert.deepEqual(s1.processes.map((p) => p.name), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
    assert.match(readFileSync(first.kubeconfig, 'utf8'), /server: https:\/\/127\.0\.0\.1:\d+/);

    // Crash: the apiserver dies without the launcher knowing.
    const apiserver = s1.processes.find((p) => p.name === 'kube-apiserver')!;
    process.kill(apiserver.pid, 'SIGKILL');
    await waitUntil(() => !isOurs(apiserver));
    assert.equal(await isHealthy(runDir), false);

    // The next start in the same folder stops what is left of the old run and comes up on new ports.
    const second = await startCluster({ runDir });
    assert.ok(await isHealthy(runDir));
    for (const p of s1.processes) assert.equal(isOurs(p), false, `${p.name} of the crashed run is gone`);
    assert.equal(existsSync(s1.etcdDataDir!), false, 'the crashed run\'s etcd data is removed');
    assert.notEqual(second.apiserverUrl, first.apiserverUrl);

    // A recorded pid now used by another process (pid reuse after a crash) is never signalled.
    const s2 = readState(runDir)!;
    s2.processes.push({ name: 'impostor', pid: impostor.pid!, startTicks: 1, exe: '/usr/bin/sleep', log: '/dev/null' });
    writeFileSync(join(runDir, 'state.json'), JSON.stringify(s2));
    await stopCluster(runDir);
    assert.notEqual(processStartTicks(impostor.pid!), undefined, 'the unrelated process still runs');
    for (const p of s2.processes.slice(0, -1)) assert.equal(isOurs(p), false, `${p.name} stopped`);
    assert.equal(existsSync(runDir), false);
    assert.equal(existsSync(s2.etcdDataDir!), false);
  } finally {
    impostor.kill();
    await stopCluster(runDir);
    rmSync(join(runDir, '..'), { recursive: true, force: true });
  }
});

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
