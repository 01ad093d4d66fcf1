/**
 * DEVELOPMENT AND TEST TOOL — not for production, where real kubelets run
 * pods. The local pod runner makes the local kwok cluster run instance pods
 * for real: for each pod bound to a kwok node whose container runs the
 * launcher (it has H2O_CLOUD_BUNDLE_URL in its env), it runs the launcher as
 * a local process with the pod's env and volumes (under a local folder),
 * bound to the pod's loopback IP (kwok hands them out from the cluster's own 127.N.0.0/16),
 * and reports the container's status back the way a kubelet would: ready
 * from the readiness probe, terminated with the exit code, restarts with
 * backoff. Logs go to files, served through the PodLogSource interface.
 *
 * kwok and the runner share a pod's status without fighting: kwok's pod
 * stages act only on pods without status.podIP; for launcher pods the local
 * cluster's stage (kwok-stages.ts) gives the IP and "ContainerCreating",
 * never Ready. The runner waits for that IP; from then on the status is the
 * runner's alone, and Ready comes only from the pod's readiness probe (see
 * docs/launcher.md, "Local pod runner").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CoreV1Api, type KubeConfig, type V1Container, type V1ContainerStatus, type V1Node, type V1Pod, type V1PodCondition, type V1Probe } from '@kubernetes/client-node';
import type pino from 'pino';
import { Informer, objectKey, splitKey } from '../k8s/informer.ts';
import type { PodLogRequest, PodLogSource } from '../k8s/pod-logs.ts';
import { UnavailableError } from '../lib/errors.ts';
import { LAUNCHER_ENV } from './kwok-stages.ts';
import { readLogFile } from './log-files.ts';
import { materializeVolumes, objectReaders, PodConfigError, resolveEnv } from './pod-volumes.ts';

/** Nodes kwok manages carry this annotation (test/cluster/nodes.ts). */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export { LAUNCHER_ENV };

/** The launcher of this checkout, run by the current Node. */
export const DEFAULT_LAUNCHER_COMMAND = [process.execPath, join(import.meta.dirname, '..', '..', 'bin', 'launcher.mjs')];

export interface LocalPodRunnerOptions {
  kc: KubeConfig;
  /** Watch one namespace (the server's instance namespace); omitted: all. */
  namespace?: string;
  /** Pod folders, persistent volume folders and logs live here. */
  dataDir: string;
  /** Command that runs the launcher (default DEFAULT_LAUNCHER_COMMAND). */
  launcherCommand?: string[];
  /** Environment every launcher starts from (PATH, CA bundles, UV_CACHE_DIR); the pod's env goes on top. */
  baseEnv: Record<string, string>;
  /** First restart delay after a crash (kubelet: 10 s), doubling up to 5 minutes. */
  restartBackoffMs?: number;
  logger?: pino.Logger;
}

interface Run {
  uid: string;
  key: string;
  container: V1Container;
  podIP: string;
  restartCount: number;
  child?: ChildProcess;
  startedAt?: Date;
  log?: WriteStream;
  ready: boolean;
  probeFailures: number;
  probeSuccesses: number;
  probeTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  stopping: boolean;
  lastTerminated?: V1ContainerStatus['lastState'];
}

/** Runs launcher pods of the local kwok cluster as local processes; see the top of this file. */
export class LocalPodRunner implements PodLogSource {
  private readonly core: CoreV1Api;
  private readonly pods: Informer<V1Pod>;
  private readonly nodes: Informer<V1Node>;
  private readonly runs = new Map<string, Run>();
  private readonly queue = new Map<string, Promise<void>>();
  /** Processes still stopping, by pod IP: kwok hands a deleted pod's IP to the next pod, which must wait for the port. */
  private readonly stoppingIPs = new Map<string, Promise<void>>();
  private readonly readers: ReturnType<typeof objectReaders>;
  private stopped = false;

  private constructor(private readonly opts: LocalPodRunnerOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
    this.readers = objectReaders(this.core);
    this.pods = new Informer<V1Pod>(opts.kc, { apiVersion: 'v1', kind: 'Pod', plural: 'pods', ...(opts.namespace ? { namespace: opts.namespace } : {}) });
    this.nodes = new Informer<V1Node>(opts.kc, { apiVersion: 'v1', kind: 'Node', plural: 'nodes' });
  }

  /** Starts watching; resolves once the caches are filled. */
  static async start(opts: LocalPodRunnerOptions): Promise<LocalPodRunner> {
    const r = new LocalPodRunner(opts);
    const sink = { add: (key: string) => r.enqueue(key) };
    r.pods.enqueueTo(sink);
    r.nodes.enqueueTo({ add: () => r.pods.list().forEach((p) => r.enqueue(objectKey(p))) });
    await Promise.all([r.nodes.start(), r.pods.start()]);
    await Promise.all([r.nodes.waitForSync(), r.pods.waitForSync()]);
    for (const p of r.pods.list()) r.enqueue(objectKey(p));
    return r;
  }

  /** Stops watching and every process it runs (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.pods.stop(), this.nodes.stop()]);
    await Promise.all([...this.runs.values()].map((r) => this.kill(r)));
    await Promise.allSettled([...this.queue.values()]);
  }

  /** Folder of a pod's logs: <dataDir>/logs/<namespace>/<pod>/<container>/<restart>.log. */
  private logDir(namespace: string, pod: string, container: string): string {
    return join(this.opts.dataDir, 'logs', namespace, pod, container);
  }

  /** Logs of a container this runner runs (PodLogSource, for the instance logs API). */
  async logs(req: PodLogRequest): Promise<Readable> {
    const run = this.runs.get(`${req.namespace}/${req.pod}`);
    if (!run) throw new UnavailableError(`pod ${req.namespace}/${req.pod} is not run by the local pod runner (not yet started, or gone)`);
    const n = req.previous ? run.restartCount - 1 : run.restartCount;
    if (n < 0) throw new UnavailableError(`container ${req.container} of pod ${req.pod} has no previous run`);
    const live = () => !req.previous && this.runs.get(`${req.namespace}/${req.pod}`) === run && run.restartCount === n && !!run.child && run.child.exitCode === null && run.child.signalCode === null;
    return readLogFile(join(this.logDir(req.namespace, req.pod, req.container), `${n}.log`), { follow: req.follow && !req.previous, ...(req.tailLines !== undefined ? { tailLines: req.tailLines } : {}), signal: req.signal, live });
  }

  private enqueue(key: string): void {
    if (this.stopped) return;
    const prev = this.queue.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.reconcile(key)).catch((err: unknown) => this.opts.logger?.error({ err, pod: key }, 'local pod runner: reconcile failed'));
    this.queue.set(key, next);
    void next.then(() => {
      if (this.queue.get(key) === next) this.queue.delete(key);
    });
  }

  private isRunnable(pod: V1Pod): V1Container | undefined {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return undefined;
    const node = this.nodes.get(undefined, nodeName);
    if (!node?.metadata?.annotations?.[KWOK_NODE_ANNOTATION]) return undefined;
    return pod.spec?.containers.find((c) => c.env?.some((e) => e.name === LAUNCHER_ENV));
  }

  private async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.get(namespace, name);
    const run = this.runs.get(key);
    if (!pod || pod.metadata?.deletionTimestamp || (run && run.uid !== pod.metadata?.uid)) {
      if (run) {
        this.runs.delete(key);
        await this.kill(run);
      }
      if (!pod || pod.metadata?.deletionTimestamp) return;
    }
    if (this.runs.has(key)) return;
    const container = this.isRunnable(pod);
    // kwok gives the IP first (its pod-ready stage); after that it leaves the status to us.
    if (!container || !pod.status?.podIP) return;
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return;
    // A deleted pod's process may still hold this IP's ports (kwok reuses IPs at once): wait until it is gone.
    await this.stoppingIPs.get(pod.status.podIP);
    if (this.stopped || this.runs.has(key)) return;
    const fresh: Run = { uid: pod.metadata!.uid!, key, container, podIP: pod.status.podIP, restartCount: 0, ready: false, probeFailures: 0, probeSuccesses: 0, stopping: false };
    this.runs.set(key, fresh);
    // Taken over: not ready until the probe says so (a cluster with kwok's default stages marked it Ready already).
    await this.patchStatus(fresh, { waiting: { reason: 'ContainerCreating' } });
    await this.startContainer(fresh);
  }

  private async startContainer(run: Run): Promise<void> {
    const { namespace, name } = splitKey(run.key);
    const pod = this.pods.get(namespace, name);
    if (!pod || run.stopping || this.stopped) return;
    const podDir = join(this.opts.dataDir, 'pods', `${namespace}_${name}_${run.uid}`);
    const root = join(podDir, 'root');
    let env: Record<string, string>;
    try {
      env = await resolveEnv(pod, run.container, this.readers);
      await rm(root, { recursive: true, force: true });
      await materializeVolumes(pod, run.container, root, this.readers, (claim) => join(this.opts.dataDir, 'volumes', namespace!, claim));
    } catch (err) {
      if (!(err instanceof PodConfigError)) throw err;
      await this.patchStatus(run, { waiting: { reason: 'CreateContainerConfigError', message: err.message } });
      // As a kubelet does: try again later (the Secret may appear).
      run.restartTimer = setTimeout(() => void this.startContainer(run), 5_000);
      return;
    }
    const listen = mapListen(env.H2O_WAVE_LISTEN ?? ':10101', run.podIP);
    const mapped: Record<string, string> = {
      ...env,
      // Absolute pod paths live below the pod's root folder here.
      H2O_CLOUD_APP_DIR: join(root, env.H2O_CLOUD_APP_DIR ?? '/app'),
      ...(env.H2O_CLOUD_RESOURCE_PATH ? { H2O_CLOUD_RESOURCE_PATH: join(root, env.H2O_CLOUD_RESOURCE_PATH) } : {}),
      H2O_CLOUD_LAUNCHER_WORK_DIR: join(podDir, 'work', String(run.restartCount)),
      H2O_WAVE_LISTEN: listen,
      H2O_WAVE_ADDRESS: (env.H2O_WAVE_ADDRESS ?? `http://127.0.0.1:${listen.split(':').pop()}`).replace(/\/\/(127\.0\.0\.1|localhost)(?=[:/]|$)/, `//${run.podIP}`),
      HOSTNAME: name!,
    };
    const logDir = this.logDir(namespace!, name!, run.container.name);
    await mkdir(logDir, { recursive: true });
    // The pod folder is the process's cwd; a pod without volumes has not made it yet.
    await mkdir(join(podDir, 'tmp'), { recursive: true });
    run.log = createWriteStream(join(logDir, `${run.restartCount}.log`), { flags: 'w' });
    const [cmd, ...args] = this.opts.launcherCommand ?? DEFAULT_LAUNCHER_COMMAND;
    // Own process group: stopping the pod reaches waved and the app too.
    const child = spawn(cmd!, args, { cwd: podDir, env: podProcessEnv(this.opts.baseEnv, mapped, podDir), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    run.child = child;
    run.startedAt = new Date();
    run.ready = false;
    run.probeFailures = 0;
    run.probeSuccesses = 0;
    child.stdout!.pipe(run.log, { end: false });
    child.stderr!.pipe(run.log, { end: false });
    this.opts.logger?.info({ pod: run.key, ip: run.podIP, pid: child.pid, restart: run.restartCount }, 'local pod runner: started the launcher');
    child.once('error', (err) => run.log?.write(`[local-node] cannot start ${cmd}: ${err.message}\n`));
    child.once('exit', (code, signal) => void this.onExit(run, child, code ?? (signal ? 137 : 1)));
    await this.patchStatus(run, { running: { startedAt: run.startedAt } });
    this.scheduleProbe(run);
  }

  private scheduleProbe(run: Run): void {
    const probe = run.container.readinessProbe;
    const period = (probe?.periodSeconds ?? 10) * 1000;
    const tick = async () => {
      if (run.stopping || !run.child || run.child.exitCode !== null || run.child.signalCode !== null) return;
      // As a kubelet: failureThreshold failures in a row make it unready, successThreshold successes ready again.
      const ok = probe ? await runProbe(probe, run.container, run.podIP) : true;
      run.probeFailures = ok ? 0 : run.probeFailures + 1;
      run.probeSuccesses = ok ? run.probeSuccesses + 1 : 0;
      const ready = ok ? (run.ready || run.probeSuccesses >= (probe?.successThreshold ?? 1)) : run.probeFailures >= (probe?.failureThreshold ?? 3) ? false : run.ready;
      if (ready !== run.ready) {
        run.ready = ready;
        await this.patchStatus(run, { running: { startedAt: run.startedAt! } });
      }
      if (!run.stopping) run.probeTimer = setTimeout(() => void tick(), period);
    };
    run.probeTimer = setTimeout(() => void tick(), (probe?.initialDelaySeconds ?? 0) * 1000 || 200);
  }

  private async onExit(run: Run, child: ChildProcess, exitCode: number): Promise<void> {
    clearTimeout(run.probeTimer);
    await new Promise<void>((res) => run.log ? run.log.end(res) : res());
    if (run.child !== child) return;
    const finishedAt = new Date();
    const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: run.startedAt!, finishedAt };
    run.ready = false;
    this.opts.logger?.info({ pod: run.key, exitCode }, 'local pod runner: the launcher exited');
    if (run.stopping || this.stopped) return;
    const { namespace, name } = splitKey(run.key);
    const pod = this.pods.get(namespace, name);
    const policy = pod?.spec?.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      await this.patchStatus(run, { terminated }, exitCode === 0 ? 'Succeeded' : 'Failed');
      return;
    }
    run.lastTerminated = { terminated };
    const base = this.opts.restartBackoffMs ?? 10_000;
    const delay = Math.min(base * 2 ** run.restartCount, 300_000);
    run.restartCount++;
    await this.patchStatus(run, { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${run.container.name} pod=${name}` } });
    run.restartTimer = setTimeout(() => void this.startContainer(run), delay);
  }

  private async kill(run: Run): Promise<void> {
    run.stopping = true;
    clearTimeout(run.probeTimer);
    clearTimeout(run.restartTimer);
    const child = run.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = once(child, 'exit');
    const gone = exited.then(() => undefined);
    this.stoppingIPs.set(run.podIP, gone);
    void gone.then(() => {
      if (this.stoppingIPs.get(run.podIP) === gone) this.stoppingIPs.delete(run.podIP);
    });
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Writes the container's status (and Ready conditions, phase) the way a kubelet reports it. */
  private async patchStatus(run: Run, state: NonNullable<V1ContainerStatus['state']>, phase?: 'Succeeded' | 'Failed'): Promise<void> {
    const { namespace, name } = splitKey(run.key);
    for (let attempt = 0; attempt < 5; attempt++) {
      let pod: V1Pod;
      try {
        pod = await this.core.readNamespacedPod({ namespace: namespace!, name: name! });
      } catch {
        return; // gone
      }
      if (pod.metadata?.uid !== run.uid || pod.metadata?.deletionTimestamp) return;
      const status: V1ContainerStatus = {
        name: run.container.name,
        image: run.container.image ?? '',
        imageID: '',
        ready: run.ready && !!state.running,
        started: !!state.running,
        restartCount: run.restartCount,
        state,
        ...(run.lastTerminated ? { lastState: run.lastTerminated } : {}),
      };
      const others = (pod.status?.containerStatuses ?? []).filter((c) => c.name !== run.container.name);
      const containerStatuses = [...others, status];
      const allReady = containerStatuses.every((c) => c.ready);
      const now = new Date();
      const cond = (type: string, ok: boolean): V1PodCondition => {
        const old = pod.status?.conditions?.find((c) => c.type === type);
        const s = ok ? 'True' : 'False';
        return { type, status: s, lastTransitionTime: old && old.status === s ? old.lastTransitionTime : now, ...(ok ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${run.container.name}]` }) };
      };
      const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.type !== 'ContainersReady'), cond('Ready', allReady), cond('ContainersReady', allReady)];
      pod.status = { ...pod.status, containerStatuses, conditions, phase: phase ?? 'Running' };
      try {
        await this.core.replaceNamespacedPodStatus({ namespace: namespace!, name: name!, body: pod });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) {
          this.opts.logger?.warn({ err, pod: run.key }, 'local pod runner: status update failed');
          return;
        }
      }
    }
  }
}

/** `:10101` / `0.0.0.0:10101` / `127.0.0.1:10101` → `<podIP>:10101`: every pod listens on its own loopback address. */
export function mapListen(listen: string, podIP: string): string {
  const port = listen.slice(listen.lastIndexOf(':') + 1);
  return `${podIP}:${port}`;
}

function portOf(container: V1Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** One readiness check: TCP connect, or HTTP GET answering 200–399, on the pod's IP. */
async function runProbe(probe: V1Probe, container: V1Container, ip: string): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const port = portOf(container, probe.httpGet.port as number | string);
    try {
      const res = await fetch(`http://${ip}:${port}${probe.httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    const port = portOf(container, probe.tcpSocket.port as number | string);
    return new Promise((res) => {
      const sock = connect({ host: ip, port: port ?? 0 });
      const t = setTimeout(() => (sock.destroy(), res(false)), timeoutMs);
      sock.once('connect', () => (clearTimeout(t), sock.destroy(), res(true)));
      sock.once('error', () => (clearTimeout(t), res(false)));
    });
  }
  return true;
}

/** Variables of the runner's base environment a pod process may inherit: what a process and uv/pip need, never the server's settings or secrets. */
const INHERITED_ENV = /^(PATH|LANG|LC_[A-Z]+|TZ|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|NODE_EXTRA_CA_CERTS|UV_CACHE_DIR|PIP_CACHE_DIR)$/;

/** A pod process's whole environment: the allowed base variables, HOME and TMPDIR in the pod's own folder, then the pod's declared env. */
export function podProcessEnv(baseEnv: Record<string, string | undefined>, podEnv: Record<string, string>, podDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined && INHERITED_ENV.test(k)) env[k] = v;
  return { ...env, HOME: podDir, TMPDIR: join(podDir, 'tmp'), ...podEnv };
}
