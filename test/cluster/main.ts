/**
 * `make cluster-up | cluster-down | cluster-status | cluster-build`: a local
 * control plane for development that keeps running after the command ends.
 *
 *   tsx test/cluster/main.ts up       start (or reuse a healthy) cluster, print how to use it
 *   tsx test/cluster/main.ts down     stop the processes `up` started and remove their data
 *   tsx test/cluster/main.ts status   say whether it is running
 *   tsx test/cluster/main.ts build    only build/cache the binaries
 *
 * State lives in $APPSTORE_CLUSTER_DIR (default .appstore/cluster in the repository).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../support/go-tool.ts';
import { ensureClusterBinaries } from './binaries.ts';
import { clusterFromState, hasRun, isHealthy, readState, startCluster, stopCluster } from './control-plane.ts';
import type { Cluster } from './control-plane.ts';
import { isOurs } from './processes.ts';

const runDir = process.env.APPSTORE_CLUSTER_DIR ?? join(repoRoot, '.appstore', 'cluster');
const log = (m: string) => process.stderr.write(`[cluster] ${m}\n`);

function usage(c: Cluster): string {
  const envFile = join(c.runDir, 'env');
  writeFileSync(envFile, `export KUBECONFIG='${c.kubeconfig}'\nexport PATH='${dirname(c.kubectl)}':"$PATH"\n`);
  const shown = (p: string) => (p.startsWith(repoRoot) ? relative(process.cwd(), p) || '.' : p);
  return [
    `Kubernetes ${c.kubernetesVersion} control plane on ${c.apiserverUrl} (fake nodes by kwok).`,
    `Use it:`,
    `  export KUBECONFIG=${c.kubeconfig}`,
    `  ${c.kubectl} get nodes`,
    `or put KUBECONFIG and the built kubectl in your shell:  source ${shown(envFile)}`,
    `Tests use it instead of starting their own: APPSTORE_TEST_KUBECONFIG=${c.kubeconfig} APPSTORE_TEST_KUBECTL=${c.kubectl} npm test`,
    `Logs: ${shown(join(c.runDir, 'logs'))}/   Stop: make cluster-down`,
  ].join('\n');
}

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      const s = readState(runDir);
      if (s && (await isHealthy(runDir))) {
        log('already running');
        process.stdout.write(usage(clusterFromState(runDir, s)) + '\n');
        return 0;
      }
      if (s) log('a previous run is not healthy (crashed or stopped); cleaning it up');
      const c = await startCluster({ runDir, log });
      process.stdout.write(usage(c) + '\n');
      return 0;
    }
    case 'down': {
      if (!hasRun(runDir)) {
        log(`no cluster recorded in ${runDir}`);
        return 0;
      }
      const live = readState(runDir)?.processes.filter(isOurs).map((p) => `${p.name} (${p.pid})`) ?? [];
      await stopCluster(runDir);
      log(`stopped ${live.length ? live.join(', ') : 'nothing (no recorded process was running)'}; removed ${runDir}`);
      return 0;
    }
    case 'status': {
      if (!hasRun(runDir)) {
        process.stdout.write('not running\n');
        return 1;
      }
      const s = readState(runDir)!;
      if (await isHealthy(runDir)) {
        process.stdout.write(usage(clusterFromState(runDir, s)) + '\n');
        return 0;
      }
      process.stdout.write(`not healthy: run \`make cluster-up\` to restart it or \`make cluster-down\` to clean up (${runDir})\n`);
      return 1;
    }
    case 'build': {
      const bins = await ensureClusterBinaries(log);
      for (const [k, v] of Object.entries(bins)) process.stdout.write(`${k}\t${v}\n`);
      return 0;
    }
    default:
      process.stderr.write('usage: tsx test/cluster/main.ts up|down|status|build\n');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
