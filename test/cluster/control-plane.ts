/**
 * Starts and stops a local Kubernetes control plane on loopback: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
 * nodes whose pods report Running). Shared by `make cluster-up/down`
 * (test/cluster/main.ts) and the test runner (test/support/cluster.ts).
 *
 * Everything a run owns lives in one folder (the run dir): state.json
 * (ports, pids), pki/, logs/ and admin.kubeconfig; etcd's data goes to
 * memory (/dev/shm) where there is one, so disk load from builds running
 * beside the tests cannot stall the apiserver.
 */
import { request } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../support/ports.ts';
import { ensureClusterBinaries, kubernetesVersion } from './binaries.ts';
import type { ClusterBinaries } from './binaries.ts';
import { KWOK_POD_STAGES } from '../../src/local-node/kwok-stages.ts';
import { fakeNodes, KWOK_NODE_ANNOTATION, nodeManifest } from './nodes.ts';
import { claimPodRange, releasePodRange } from './pod-range.ts';
import { createPki } from './pki.ts';
import type { Pki, TokenUser } from './pki.ts';
import { isOurs, logTail, processStartTicks, startProcess, stopProcesses } from './processes.ts';
import type { ProcessRecord } from './processes.ts';

/** Service ClusterIPs are only allocated, never routed (there is no kube-proxy); a loopback range keeps even that on 127/8. */
export const SERVICE_CIDR = '127.96.0.0/16';

/** Controllers the controller manager runs: what Deployments, namespaces, service accounts and garbage collection need, and the usual workload kinds. */
export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'job-controller',
  'cronjob-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'pod-garbage-collector-controller',
  'resourcequota-controller',
  'disruption-controller',
  'ttl-after-finished-controller',
  // Fills the aggregated admin/edit/view ClusterRoles, which RoleBindings in tests may use.
  'clusterrole-aggregation-controller',
];

/** What state.json records about a run. */
export interface ClusterState {
  kubernetesVersion: string;
  apiserverUrl: string;
  kubeconfig: string;
  kubectl: string;
  /** Process that owns the run (the test runner); absent for `make cluster-up`, which outlives its command. */
  owner?: { pid: number; startTicks: number };
  processes: ProcessRecord[];
  /** etcd's data folder (under /dev/shm when available), removed with the run. */
  etcdDataDir?: string;
  /** kwok's pod range, claimed for this run (./pod-range.ts) and released when it stops. */
  podCIDR?: string;
  ready: boolean;
}

/** A running control plane, as handed to callers. */
export interface Cluster {
  runDir: string;
  kubernetesVersion: string;
  apiserverUrl: string;
  /** Admin kubeconfig (cluster-admin through a static token), used by kubectl and @kubernetes/client-node alike. */
  kubeconfig: string;
  kubectl: string;
  /** CA certificate and key: tests may sign client certificates for other users with them. */
  caCert: string;
  caKey: string;
}

export interface StartOptions {
  runDir: string;
  log?: (m: string) => void;
  /** Record this process as the owner: another run may then reap the cluster once this process is gone. */
  owned?: boolean;
  /** Overall time limit for startup after the binaries are built. */
  timeoutMs?: number;
}

const stateFile = (runDir: string) => join(runDir, 'state.json');

/** The recorded state of the run in `runDir`, if any. */
export function readState(runDir: string): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(runDir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

function writeState(runDir: string, s: ClusterState): void {
  writeFileSync(stateFile(runDir), JSON.stringify(s, null, 2) + '\n');
}

/** The `Cluster` view of a recorded run. */
export function clusterFromState(runDir: string, s: ClusterState): Cluster {
  return {
    runDir,
    kubernetesVersion: s.kubernetesVersion,
    apiserverUrl: s.apiserverUrl,
    kubeconfig: s.kubeconfig,
    kubectl: s.kubectl,
    caCert: join(runDir, 'pki', 'ca.crt'),
    caKey: join(runDir, 'pki', 'ca.key'),
  };
}

/** True if every recorded process of the run is alive and ours and the apiserver answers /readyz. */
export async function isHealthy(runDir: string): Promise<boolean> {
  const s = readState(runDir);
  if (!s?.ready || !s.processes.every(isOurs)) return false;
  try {
    const ca = readFileSync(join(runDir, 'pki', 'ca.crt'));
    const token = adminToken(runDir);
    const res = await apiCall({ url: s.apiserverUrl, ca, token }, 'GET', '/readyz');
    return res.status === 200;
  } catch {
    return false;
  }
}

function adminToken(runDir: string): string {
  const line = readFileSync(join(runDir, 'pki', 'tokens.csv'), 'utf8').split('\n').find((l) => l.split(',')[1] === 'appstore-admin');
  if (!line) throw new Error(`no admin token in ${runDir}/pki/tokens.csv`);
  return line.split(',')[0]!;
}

/** True if the run's owner process (if it has one) has exited. */
export function ownerGone(s: ClusterState): boolean {
  return s.owner !== undefined && processStartTicks(s.owner.pid) !== s.owner.startTicks;
}

/**
 * Stops the processes recorded in `runDir` that are still ours and removes the folder.
 * Safe on a run that crashed half way, or whose processes are long gone.
 */
export async function stopCluster(runDir: string, opts: { keepLogsIn?: string } = {}): Promise<void> {
  const s = readState(runDir);
  if (s) await stopProcesses([...s.processes].reverse());
  if (s?.etcdDataDir) rmSync(s.etcdDataDir, { recursive: true, force: true });
  releasePodRange(runDir, s?.podCIDR);
  const logs = join(runDir, 'logs');
  if (opts.keepLogsIn && existsSync(logs)) {
    rmSync(opts.keepLogsIn, { recursive: true, force: true });
    mkdirSync(join(opts.keepLogsIn, '..'), { recursive: true });
    renameSync(logs, opts.keepLogsIn);
  }
  rmSync(runDir, { recursive: true, force: true });
}

interface ApiTarget {
  url: string;
  ca: Buffer;
  token: string;
}

/** One request to the apiserver with the admin token; resolves with status and parsed JSON body (or text). */
function apiCall(t: ApiTarget, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolveCall, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, t.url),
      {
        method,
        ca: t.ca,
        headers: { authorization: `Bearer ${t.token}`, accept: 'application/json', ...(data ? { 'content-type': 'application/json' } : {}) },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON (e.g. /readyz says "ok").
          }
          resolveCall({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

function kubeconfigYaml(server: string, caCert: string, u: TokenUser): string {
  const ca = readFileSync(caCert).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'appstore-test', cluster: { server, 'certificate-authority-data': ca } }],
    users: [{ name: u.user, user: { token: u.token } }],
    contexts: [{ name: 'appstore-test', context: { cluster: 'appstore-test', user: u.user, namespace: 'default' } }],
    'current-context': 'appstore-test',
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function args(flags: Record<string, string | number | boolean>): string[] {
  return Object.entries(flags).map(([k, v]) => `--${k}=${String(v)}`);
}

/**
 * Starts a control plane in `runDir` (anything left there by an earlier run is stopped and removed first),
 * waits until the apiserver is ready, the fake nodes are Ready and the default service account exists.
 */
export async function startCluster(opts: StartOptions): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  const { runDir } = opts;
  const bins = await ensureClusterBinaries(log);
  const started = Date.now();
  await stopCluster(runDir);
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const version = kubernetesVersion();
  const pki = await createPki(join(runDir, 'pki'));
  const [etcdPort, etcdPeerPort, apiPort] = (await distinctFreePorts(3)) as [number, number, number];
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfigs = writeKubeconfigs(runDir, apiserverUrl, pki);
  const state: ClusterState = {
    kubernetesVersion: version,
    apiserverUrl,
    kubeconfig: kubeconfigs.admin,
    kubectl: bins.kubectl,
    processes: [],
    etcdDataDir: existsSync('/dev/shm') ? mkdtempSync('/dev/shm/appstore-etcd-') : join(runDir, 'etcd'),
    podCIDR: claimPodRange(runDir),
    ready: false,
  };
  if (opts.owned) state.owner = { pid: process.pid, startTicks: processStartTicks(process.pid)! };
  writeState(runDir, state);
  try {
    const all = commands(runDir, state.etcdDataDir!, bins, pki, kubeconfigs, { etcdPort, etcdPeerPort, apiPort }, state.podCIDR!);
    const startAll = (cmds: typeof all) => {
      for (const [name, exe, argv] of cmds) {
        state.processes.push(startProcess(name, exe, argv, join(runDir, 'logs')));
        writeState(runDir, state);
      }
    };
    const api: ApiTarget = { url: apiserverUrl, ca: readFileSync(pki.caCert), token: pki.users.admin.token };
    const deadline = started + (opts.timeoutMs ?? 90_000);
    const alive = () => {
      const dead = state.processes.find((p) => !isOurs(p));
      if (dead) throw new Error(`${dead.name} exited during startup; last lines of ${dead.log}:\n${logTail(dead.log)}`);
    };
    // etcd and the apiserver first; the others once /readyz passes (it includes the RBAC bootstrap). Started together
    // on a loaded machine, the controller manager gave up after its own 10 s wait for /healthz, which its user may
    // only read once the bootstrap roles exist.
    startAll(all.slice(0, 2));
    await poll('kube-apiserver /readyz', alive, async () => (await apiCall(api, 'GET', '/readyz')).status === 200, deadline);
    log(`apiserver ready at ${apiserverUrl} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    startAll(all.slice(2));
    for (const n of fakeNodes) {
      const res = await apiCall(api, 'POST', '/api/v1/nodes', nodeManifest(n, version));
      if (res.status !== 201 && res.status !== 409) throw new Error(`creating node ${n.name} failed (${res.status}): ${JSON.stringify(res.body)}`);
    }
    await poll('kwok to mark the fake nodes Ready', alive, async () => {
      const res = await apiCall(api, 'GET', '/api/v1/nodes');
      const items = (res.body as { items?: NodeLike[] }).items ?? [];
      return fakeNodes.every((n) => items.some((i) => i.metadata.name === n.name && i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
    }, deadline);
    await poll('the controller manager to create the default service account', alive,
      async () => (await apiCall(api, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, deadline);
    state.ready = true;
    writeState(runDir, state);
    log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${runDir})`);
    return clusterFromState(runDir, state);
  } catch (err) {
    log(`startup failed; logs are in ${join(runDir, 'logs')}`);
    await stopProcesses([...state.processes].reverse()).catch(() => {});
    throw err;
  }
}

/** Polls `check` every `everyMs` until it returns true; errors from `fatal` end the wait at once, others are retried. */
async function poll(what: string, fatal: () => void, check: () => Promise<boolean>, deadline: number, everyMs = 100): Promise<void> {
  let lastErr: unknown;
  for (;;) {
    fatal();
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface NodeLike {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

interface Kubeconfigs {
  admin: string;
  controllerManager: string;
  scheduler: string;
  kwok: string;
}

function writeKubeconfigs(runDir: string, server: string, pki: Pki): Kubeconfigs {
  const out = {} as Kubeconfigs;
  for (const key of ['admin', 'controllerManager', 'scheduler', 'kwok'] as const) {
    const file = key === 'admin' ? join(runDir, 'admin.kubeconfig') : join(pki.dir, `${key}.kubeconfig`);
    writeFileSync(file, kubeconfigYaml(server, pki.caCert, pki.users[key]), { mode: 0o600 });
    out[key] = file;
  }
  return out;
}

function commands(
  runDir: string,
  etcdDataDir: string,
  bins: ClusterBinaries,
  pki: Pki,
  kc: Kubeconfigs,
  ports: { etcdPort: number; etcdPeerPort: number; apiPort: number },
  podCIDR: string,
): [string, string, string[]][] {
  const etcdUrl = `http://127.0.0.1:${ports.etcdPort}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeerPort}`;
  // kwok reads ~/.kwok/kwok.yaml unless given a config; ours keeps a developer's own settings out.
  // One pod worker: kwok v0.7.0 creates its pod-IP pool lazily without a lock, so parallel workers
  // could each make a pool and hand the first pods the same IP.
  const kwokConfig = join(runDir, 'kwok.yaml');
  // Pod stages: kwok's defaults, except that launcher pods never read Ready from kwok (the local pod runner's probes decide).
  writeFileSync(kwokConfig, 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  podPlayStageParallelism: 1\n' + KWOK_POD_STAGES);
  return [
    [
      'etcd',
      bins.etcd,
      args({
        name: 'appstore-test',
        'data-dir': etcdDataDir,
        'listen-client-urls': etcdUrl,
        'advertise-client-urls': etcdUrl,
        'listen-peer-urls': peerUrl,
        'initial-advertise-peer-urls': peerUrl,
        'initial-cluster': `appstore-test=${peerUrl}`,
        // Test data is thrown away: skip fsync, which is most of etcd's write latency.
        'unsafe-no-fsync': true,
        'log-level': 'warn',
      }),
    ],
    [
      'kube-apiserver',
      bins.kubeApiserver,
      args({
        'etcd-servers': etcdUrl,
        'bind-address': '127.0.0.1',
        'advertise-address': '127.0.0.1',
        'secure-port': ports.apiPort,
        'cert-dir': pki.dir,
        'tls-cert-file': pki.servingCert,
        'tls-private-key-file': pki.servingKey,
        'client-ca-file': pki.caCert,
        'token-auth-file': pki.tokenFile,
        'authorization-mode': 'RBAC',
        'service-account-issuer': 'https://kubernetes.default.svc.cluster.local',
        'service-account-key-file': pki.saPublicKey,
        'service-account-signing-key-file': pki.saPrivateKey,
        'service-cluster-ip-range': SERVICE_CIDR,
        // The `kubernetes` Endpoints would hold 127.0.0.1, which Endpoints validation rejects.
        'endpoint-reconciler-type': 'none',
        'allow-privileged': true,
        // This plugin taints new nodes not-ready until the node-lifecycle controller sees them Ready; that
        // controller also evicts pods from nodes whose heartbeats lag, which a busy 2-core test machine invites.
        // Neither runs here: kwok's nodes are Ready from the start.
        'disable-admission-plugins': 'TaintNodesByCondition',
        profiling: false,
      }),
    ],
    [
      'kube-controller-manager',
      bins.kubeControllerManager,
      args({
        kubeconfig: kc.controllerManager,
        controllers: CONTROLLERS.join(','),
        'use-service-account-credentials': true,
        'service-account-private-key-file': pki.saPrivateKey,
        'root-ca-file': pki.caCert,
        'leader-elect': false,
        'secure-port': 0,
        profiling: false,
      }),
    ],
    [
      'kube-scheduler',
      bins.kubeScheduler,
      args({ kubeconfig: kc.scheduler, 'leader-elect': false, 'secure-port': 0, profiling: false }),
    ],
    [
      'kwok',
      bins.kwok,
      args({
        config: kwokConfig,
        kubeconfig: kc.kwok,
        'manage-all-nodes': false,
        'manage-nodes-with-annotation-selector': `${KWOK_NODE_ANNOTATION}=fake`,
        'node-ip': '127.0.0.1',
        cidr: podCIDR,
      }),
    ],
  ];
}

/** True if `runDir` has a recorded run (live or not). */
export function hasRun(runDir: string): boolean {
  return existsSync(stateFile(runDir));
}
