/**
 * A second kube-apiserver process for a running local control plane: the
 * first one's exact command line (read from /proc, so the same flags,
 * certificates, token file and etcd) on a port of its own. Both serve the
 * same etcd, as the apiservers of an HA control plane do, so a test can
 * kill this one and start it again — a real apiserver restart — while the
 * apiserver that every other test uses keeps running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from '../support/ports.ts';
import { readState } from './control-plane.ts';
import { isOurs, logTail } from './processes.ts';

/** A kube-apiserver started beside the cluster's own; see the top of this file. */
export class SecondApiserver {
  private child: ChildProcess | undefined;
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  private constructor(
    private readonly exe: string,
    private readonly argv: string[],
    readonly port: number,
    readonly log: string,
    private readonly admin: KubeConfig,
  ) {
    process.on('exit', this.killOnExit);
  }

  /**
   * Starts one for the local cluster whose run folder is `runDir` (it has
   * state.json; APPSTORE_TEST_CLUSTER_DIR in tests) and waits until it is ready.
   */
  static async start(runDir: string, timeoutMs = 120_000): Promise<SecondApiserver> {
    const state = readState(runDir);
    if (!state) throw new Error(`${runDir} has no state.json of a local cluster: a second apiserver needs the local control plane (test/cluster)`);
    const first = state.processes.find((p) => p.name === 'kube-apiserver');
    if (!first || !isOurs(first)) throw new Error(`the cluster in ${runDir} has no running kube-apiserver`);
    const cmdline = readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1);
    const port = await freePort();
    let replaced = false;
    const argv = cmdline.map((a) => {
      if (!a.startsWith('--secure-port=')) return a;
      replaced = true;
      return `--secure-port=${port}`;
    });
    if (!replaced) throw new Error(`the kube-apiserver of ${runDir} has no --secure-port flag: ${cmdline.join(' ')}`);
    const admin = new KubeConfig();
    admin.loadFromFile(state.kubeconfig);
    const s = new SecondApiserver(first.exe, argv, port, join(mkdtempSync(join(tmpdir(), 'appstore-apiserver-2-')), 'kube-apiserver.log'), admin);
    await s.restart(timeoutMs);
    return s;
  }

  /** https://127.0.0.1:PORT */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `kc` (the cluster's admin kubeconfig or a copy) pointed at this apiserver. */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const out = new KubeConfig();
    out.loadFromOptions({ clusters: kc.clusters.map((c) => ({ ...c, server: this.url })), users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
    return out;
  }

  /** Starts the process (again, on the same port) and waits for /readyz. */
  async restart(timeoutMs = 120_000): Promise<void> {
    if (this.running) throw new Error('the second apiserver is already running');
    const fd = openSync(this.log, 'a');
    try {
      // Not detached: it belongs to the test process (and its process group), and dies with it.
      this.child = spawn(this.exe, this.argv, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`the second kube-apiserver exited during startup; last lines of ${this.log}:\n${logTail(this.log)}`);
      if (await this.ready()) return;
      if (Date.now() > deadline) throw new Error(`the second kube-apiserver was not ready after ${timeoutMs} ms; last lines of ${this.log}:\n${logTail(this.log)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Kills the process (SIGKILL: a crash, no graceful shutdown) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
  }

  /** Kills it for good. */
  async stop(): Promise<void> {
    await this.kill();
    process.off('exit', this.killOnExit);
  }

  private ready(): Promise<boolean> {
    const cluster = this.admin.getCurrentCluster();
    const token = this.admin.getCurrentUser()?.token;
    return new Promise((resolve) => {
      const req = request(
        `${this.url}/readyz`,
        { ca: cluster?.caData ? Buffer.from(cluster.caData, 'base64') : undefined, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 3000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }
}
