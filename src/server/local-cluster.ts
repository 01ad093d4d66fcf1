/**
 * DEVELOPMENT USE: the cluster of the embedded default. When no cluster is
 * configured (Scheduler.KubeConfig empty, not in a pod), `appstore server`
 * starts the repository's local control plane (test/cluster: etcd,
 * kube-apiserver, controllers, scheduler, kwok fake nodes) under
 * <DataDir>/cluster as a child process — `make cluster-up` with another run
 * folder — installs the CRDs, and the server then runs instances' pods as
 * local processes (src/local-node). The control plane is left running when
 * the server stops, so the next start takes seconds; stop it with
 * `APPSTORE_CLUSTER_DIR=<DataDir>/cluster make cluster-down`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/config.ts';
import { installCrds } from '../k8s/crd/install.ts';
import { LOCAL_IMAGE_PREFIX } from '../local-node/kwok-stages.ts';

/** `--local-cluster`: auto = start it when no cluster is configured and the server is not in a pod. */
export type LocalClusterMode = 'auto' | 'on' | 'off';
export const LOCAL_CLUSTER_MODES: LocalClusterMode[] = ['auto', 'on', 'off'];

/** Runtime version the embedded default declares when the configuration has none (the local pod runner ignores images; a local image tells the local cluster's kwok to leave readiness to the runner). */
export const LOCAL_RUNTIME_VERSION = { name: 'local', image: `${LOCAL_IMAGE_PREFIX}launcher:local`, default: true, deprecated: false };

const repoRoot = join(import.meta.dirname, '..', '..');

/** Whether to start the local control plane: `on` always, `auto` when no cluster is configured and the process is not in a pod. */
export function wantsLocalCluster(mode: LocalClusterMode, config: Config, inPod: boolean): boolean {
  if (mode === 'off') return false;
  if (mode === 'on') return true;
  return !config.scheduler.kubeConfig && !inPod;
}

export interface LocalCluster {
  runDir: string;
  kubeconfig: string;
}

/**
 * Starts (or reuses a healthy) local control plane in <DataDir>/cluster through
 * test/cluster/main.ts, installs the CRDs and makes Scheduler.Namespace;
 * `env` is the environment the child runs with; `say` prints progress.
 */
export async function upLocalCluster(config: Config, env: Record<string, string | undefined>, say: (line: string) => void): Promise<LocalCluster> {
  const runDir = join(config.server.dataDir, 'cluster');
  const script = join(repoRoot, 'test', 'cluster', 'main.ts');
  if (!existsSync(script)) {
    throw new Error(`the local control plane needs the repository's ${script} (it is a development tool); run from a checkout, or point Scheduler.KubeConfig at a cluster and pass --local-cluster off`);
  }
  say(
    `Starting the local Kubernetes control plane in ${runDir} (development use).\n` +
      `  The first start builds kube-apiserver, etcd and kwok from Go sources: about 15–20 min on 2 cores, once (cached in ~/.cache/appstore/bin); later starts take seconds.\n` +
      `  To use an existing cluster instead: --set Scheduler.KubeConfig=<kubeconfig> (or --local-cluster off to run without instances).`,
  );
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    // stdout (how to use the cluster) is kept for the error; stderr ([cluster] progress) goes to the user.
    const child = spawn(process.execPath, ['--import', 'tsx', script, 'up'], { cwd: repoRoot, env: { ...env, APPSTORE_CLUSTER_DIR: runDir }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the local control plane did not start (exit ${code}); see ${join(runDir, 'logs')}/ ${out.trim()}`))));
  });
  const kubeconfig = join(runDir, 'admin.kubeconfig');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await installCrds(kc);
  await ensureNamespace(kc, config.scheduler.namespace);
  say(`Local control plane ready after ${Math.round((Date.now() - started) / 1000)} s (kubeconfig ${kubeconfig}; it keeps running after the server stops: APPSTORE_CLUSTER_DIR=${runDir} make cluster-down stops it).`);
  return { runDir, kubeconfig };
}

async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.readNamespace({ name });
  } catch {
    await core.createNamespace({ body: { metadata: { name } } });
  }
}

/** The configuration the server runs with on the local cluster: its kubeconfig, and a default runtime version when none is declared. */
export function localClusterConfig(config: Config, cluster: LocalCluster): Config {
  return {
    ...config,
    scheduler: { ...config.scheduler, kubeConfig: cluster.kubeconfig },
    runtimeVersions: config.runtimeVersions.length ? config.runtimeVersions : [LOCAL_RUNTIME_VERSION],
  };
}
