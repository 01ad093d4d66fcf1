/**
 * Router benchmark on loopback, one load generator (wrk, keep-alive) for
 * every target:
 *   (a) the upstream directly (nginx returning a small body at 127.66.0.10:10101, a "pod IP" outside the test cluster's 127.64.0.0/16, so a bench beside tests takes no pod's address),
 *   (b) nginx from Debian as a reverse proxy with upstream keepalive,
 *   (c) our router (createRouter in its own process: static-token authentication,
 *       instance lookup, policy, header rewriting, keep-alive agent), once per proxy engine:
 *       node-http (src/router/http-engine.ts, kept), http-proxy-3 (maintained fork),
 *       http-proxy (unmaintained), http-proxy-3's fetch path (Node's built-in undici).
 * Like with like: nginx and the router are measured with the same number of
 * worker processes — one each, and one per core each (nginx worker_processes N,
 * the router under node:cluster with N workers, as a production router would run
 * one process per core). The BENCH line uses the per-core match; the one-worker
 * figures are printed beside it. wrk (1 thread) against the upstream directly
 * shows the load generator's own ceiling, far above either proxy.
 * The other engines (http-proxy-3, http-proxy, the fetch path) run with BENCH_ENGINES=all.
 *
 * Figures (goals in parentheses):
 *   vs_nginx       router req/s ÷ nginx req/s at 50 connections (≥ 0.5)
 *   added_p99_ms   router p99 − direct p99 at half the router's max rate (≤ 1 ms). wrk2 is not in
 *                  Debian, so the rate is fixed the closed-loop way: N connections that each wait a
 *                  fixed delay (wrk's Lua delay()) between requests; latency is measured per request
 *                  from send to response, the achieved rate is reported beside it.
 *   c200_drop_pct  router req/s drop from 10 to 200 connections (≤ 5 %)
 *   ws_bytes_each  router RSS growth ÷ 10,000 idle proxied websockets, after a full GC (≤ 30 KB)
 * Last line: BENCH router vs_nginx=… added_p99_ms=… c200_drop_pct=… ws_bytes_each=… nginx_added_p99_ms=…
 * (the last for reference: what nginx adds at p99 under the same load, the machine's floor for a proxy hop).
 *
 *   make bench-router            (raises ulimit -n; installs nginx and wrk from apt when missing)
 *   node --import tsx bench/router/bench.ts [seconds-per-run=5] [websockets=10000] [rounds=3]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_TOKEN } from './token.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[4] ?? 3);
/**
 * Extra Node flags for the router processes (BENCH_ROUTER_NODE_FLAGS, e.g. --max-semi-space-size=64);
 * none by default, so the bench measures what the server runs. docs/router.md has the GC findings.
 */
const ROUTER_NODE_FLAGS = process.env.BENCH_ROUTER_NODE_FLAGS ?? '';
/** wrk against each fresh router before it is measured (V8 compiles the hot path first). */
const WARMUP_SECONDS = 5;
const WANTED_WEBSOCKETS = Number(process.argv[3] ?? 10_000);
/** The open-file limit children get (raised when allowed; some containers cap the hard limit). */
const FD_LIMIT = Number(spawnSync('sh', ['-c', 'ulimit -n 65536 2>/dev/null; ulimit -n'], { encoding: 'utf8' }).stdout.trim()) || 1024;
// Each proxied websocket holds two sockets in the router (client and upstream side).
// (minus the 200 warm-up websockets and some spare descriptors).
const WEBSOCKETS = Math.min(WANTED_WEBSOCKETS, Math.floor((FD_LIMIT - 1000) / 2));
const UPSTREAM_IP = '127.66.0.10';
const WS_UPSTREAM_IP = '127.66.0.11';
const NGINX_PORT = 18480;
const CORES = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
/** Worker processes of nginx and of the router in the per-core match. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? CORES);
const here = new URL('.', import.meta.url).pathname;
const children: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'bench-router-'));

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function ensureTools(): void {
  if (have('wrk') && have('nginx')) return;
  console.log('installing nginx-light and wrk from Debian (apt-get)…');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'nginx-light', 'wrk']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed; install nginx and wrk (as root) and run again`);
  }
}

/** Starts `cmd` with a raised open-file limit; resolves once stdout prints a line matching `ready`. */
async function start(cmd: string, ready: RegExp, timeoutMs = 20_000): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn('sh', ['-c', `ulimit -n 65536 2>/dev/null; exec ${cmd}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd}: not ready after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}`)));
    lines.on('line', (l) => {
      if (ready.test(l)) {
        clearTimeout(t);
        resolve(l);
      }
    });
  });
  return { child, line };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))]);
}

function nginxConf(name: string, body: string, workers = 1): string {
  const dir = join(work, name);
  spawnSync('mkdir', ['-p', dir]);
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    `worker_processes ${workers}; daemon off; master_process ${workers > 1 ? 'on' : 'off'}; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 16384; }
http { access_log off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000; keepalive_timeout 75s;
${body}
}
`,
  );
  return file;
}

async function startNginx(name: string, body: string, port: number, host: string, workers = 1): Promise<ChildProcess> {
  const conf = nginxConf(name, body, workers);
  const child = spawn('sh', ['-c', `ulimit -n 65536 2>/dev/null; exec nginx -c ${conf} -p ${join(work, name)} -e stderr`], { stdio: 'inherit' });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const r = await fetch(`http://${host}:${port}/`, { headers: { host: 'web.apps.localhost' } });
      await r.text();
      if (r.ok) return child;
    } catch {
      /* not listening yet */
    }
  }
  throw new Error(`nginx ${name} did not start (see ${work}/${name}/error.log)`);
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return NaN;
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[m[2]!]!;
}

/** Runs wrk (1 thread, keep-alive) and parses req/s and latency percentiles. */
function wrk(url: string, connections: number, seconds: number, opts: { host?: string; delayMs?: number } = {}): WrkResult {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', `Host: ${opts.host ?? 'web.apps.localhost'}`, '-H', `Authorization: Bearer ${BENCH_TOKEN}`];
  if (opts.delayMs) {
    const script = join(work, `delay-${opts.delayMs}.lua`);
    writeFileSync(script, `function delay() return ${opts.delayMs} end\n`);
    args.push('-s', script);
  }
  const r = spawnSync('wrk', [...args, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const pct = (p: string) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(errs?.[1] ?? 0) + (sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50: pct('50'), p99: pct('99'), errors };
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) * 1024;
}

async function startRouter(engine: string, workers = 1): Promise<{ child: ChildProcess; url: string }> {
  const { child, line } = await start(`node ${ROUTER_NODE_FLAGS} --expose-gc --import tsx ${join(here, 'router-process.ts')} ${engine} ${UPSTREAM_IP} ${WS_UPSTREAM_IP} ${workers}`, /^\{"port"/, 120_000);
  const { port } = JSON.parse(line) as { port: number };
  const url = `http://127.0.0.1:${port}/`;
  // Warm up before measuring: V8 compiles the hot path after some thousands of requests (nginx needs no warm-up).
  wrk(url, 50, WARMUP_SECONDS);
  return { child, url };
}

/** CPU seconds (user + system) a process and its children (nginx or cluster workers) have used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = (Number(f[11]) + Number(f[12])) / 100;
  const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return own + kids.reduce((a, k) => a + cpuSeconds(k), 0);
}

interface Target {
  label: string;
  url: string;
  /** The proxy process whose CPU per request is reported. */
  pid?: number;
  /** Connections for this target instead of the run's (the 10 → 200 comparison interleaves both). */
  connections?: number;
}

interface Measured extends WrkResult {
  /** CPU microseconds the proxy process spent per request. */
  cpuUs: number;
  /** Share of the machine's CPU time the hypervisor gave to other guests during the run (steal, /proc/stat), %. */
  stealPct: number;
}

/** The machine's CPU time so far, and the part of it stolen by the hypervisor (clock ticks, /proc/stat). */
function cpuTicks(): { total: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

function measure(t: Target, connections: number, seconds: number, opts: { delayMs?: number } = {}): Measured {
  const before = t.pid ? cpuSeconds(t.pid) : 0;
  const ticks = cpuTicks();
  const r = wrk(t.url, connections, seconds, opts);
  const cpu = t.pid ? cpuSeconds(t.pid) - before : NaN;
  const after = cpuTicks();
  return { ...r, cpuUs: (cpu / (r.rps * seconds)) * 1e6, stealPct: (100 * (after.steal - ticks.steal)) / Math.max(1, after.total - ticks.total) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** ROUNDS interleaved runs of every target (machine load then hits all alike); the median of each figure. */
function interleaved(targets: Target[], connections: number, opts: { delayMs?: number } = {}): Map<string, Measured> {
  const runs = new Map<string, Measured[]>(targets.map((t) => [t.label, []]));
  for (let round = 0; round < ROUNDS; round++)
    for (const t of targets) {
      wrk(t.url, t.connections ?? connections, 1, opts);
      runs.get(t.label)!.push(measure(t, t.connections ?? connections, SECONDS, opts));
    }
  const out = new Map<string, Measured>();
  for (const [label, rs] of runs) {
    const m = { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), errors: rs.reduce((a, r) => a + r.errors, 0), cpuUs: median(rs.map((r) => r.cpuUs)), stealPct: Math.max(...rs.map((r) => r.stealPct)) };
    out.set(label, m);
    show(label, m);
  }
  return out;
}

function show(label: string, r: WrkResult & { cpuUs?: number; stealPct?: number }): void {
  const cpu = r.cpuUs !== undefined && Number.isFinite(r.cpuUs) ? `  ${r.cpuUs.toFixed(0).padStart(4)} µs CPU/req` : '';
  // The worst of the rounds: a guest whose CPU is taken by the hypervisor mid-run has a tail that is not its own.
  const steal = r.stealPct !== undefined ? `  steal ≤ ${r.stealPct.toFixed(1)} %` : '';
  console.log(`${label.padEnd(40)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms${cpu}${steal}${r.errors ? `  ERRORS ${r.errors}` : ''}`);
}

const KEPT = 'node-http';

async function main(): Promise<void> {
  ensureTools();
  if (WEBSOCKETS < WANTED_WEBSOCKETS) console.log(`note: the open-file limit here is ${FD_LIMIT} and cannot be raised, so the websocket test opens ${WEBSOCKETS} (not ${WANTED_WEBSOCKETS}); the per-websocket figure is unaffected`);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`machine: ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, load average ${load} at start; every figure is the median of ${ROUNDS} interleaved ${SECONDS} s runs`);
  await startNginx('upstream', `  server { listen ${UPSTREAM_IP}:10101; location / { return 200 "hello from the upstream\\n"; } }`, 10101, UPSTREAM_IP);
  const proxyConf = `  upstream app { server ${UPSTREAM_IP}:10101; keepalive 256; }
  server { listen 127.0.0.1:${NGINX_PORT}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;
    proxy_set_header Authorization ""; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; } }`;
  const direct: Target = { label: '(a) upstream directly', url: `http://${UPSTREAM_IP}:10101/` };
  const nginxTarget = (n: ChildProcess, w: number): Target => ({ label: `(b) nginx, ${w} worker${w > 1 ? 's' : ''}, upstream keepalive`, url: `http://127.0.0.1:${NGINX_PORT}/`, pid: n.pid! });
  const routerTarget = (r: { child: ChildProcess; url: string }, e: string, w: number): Target => ({ label: `(c) router, ${e}, ${w} worker${w > 1 ? 's' : ''}`, url: r.url, pid: r.child.pid! });

  // 1. One worker each (and the other engines when asked).
  let nginx = await startNginx('proxy', proxyConf, NGINX_PORT, '127.0.0.1', 1);
  const engines = process.env.BENCH_ENGINES === 'all' ? [KEPT, 'http-proxy-3', 'http-proxy', 'http-proxy-3-fetch'] : [KEPT];
  const routers = new Map<string, { child: ChildProcess; url: string }>();
  for (const e of engines) routers.set(e, await startRouter(e, 1));
  console.log('\nmax throughput, 50 connections, one worker each');
  const nginx1 = nginxTarget(nginx, 1);
  const one = interleaved([direct, nginx1, ...engines.map((e) => routerTarget(routers.get(e)!, e, 1))], 50);
  for (const r of routers.values()) await stop(r.child);
  await stop(nginx);
  const vsNginx1 = one.get(routerTarget(routers.get(KEPT)!, KEPT, 1).label)!.rps / one.get(nginx1.label)!.rps;

  // 2. One worker per core each: the production match (the BENCH line).
  nginx = await startNginx('proxy', proxyConf, NGINX_PORT, '127.0.0.1', WORKERS);
  const routerN = await startRouter(KEPT, WORKERS);
  const viaNginx = nginxTarget(nginx, WORKERS);
  const kept = routerTarget(routerN, KEPT, WORKERS);
  console.log(`\nmax throughput, 50 connections, ${WORKERS} workers each`);
  const max = interleaved([direct, viaNginx, kept], 50);

  console.log(`\nconnection scaling, router (${KEPT}, ${WORKERS} workers)`);
  // Interleaved, so drifting machine load hits both alike.
  const scaling = interleaved([{ ...kept, label: '(c) router, 10 connections', connections: 10 }, { ...kept, label: '(c) router, 200 connections', connections: 200 }], 10);
  const c10 = scaling.get('(c) router, 10 connections')!;
  const c200 = scaling.get('(c) router, 200 connections')!;

  // Half the max rate: C connections each waiting DELAY ms between requests (closed loop; wrk2 is not in Debian).
  const best = max.get(kept.label)!.rps;
  const delayMs = 5;
  const conns = Math.max(1, Math.round(((best / 2) * delayMs) / 1000));
  console.log(`\nlatency at ~half the router's max rate (${(best / 2).toFixed(0)} req/s nominal): ${conns} connections, ${delayMs} ms pause between requests on each`);
  const lat = interleaved([direct, kept, viaNginx], conns, { delayMs });
  await stop(routerN.child);

  // Idle websockets: a fresh router, RSS before and after WEBSOCKETS connections through it, each after a full GC.
  console.log('');
  await start(`node --import tsx ${join(here, 'ws-upstream.ts')} ${WS_UPSTREAM_IP}`, /^ready/, 120_000);
  const fresh = await startRouter(KEPT);
  const port = new URL(fresh.url).port;
  await start(`node --import tsx ${join(here, 'ws-clients.ts')} ${port} 200 ${BENCH_TOKEN}`, /^open/, 120_000);
  await sleep(1000);
  fresh.child.kill('SIGUSR2');
  await sleep(1500);
  const before = rss(fresh.child.pid!);
  const clients = await start(`node --import tsx ${join(here, 'ws-clients.ts')} ${port} ${WEBSOCKETS} ${BENCH_TOKEN}`, /^open/, 600_000);
  console.log(`websockets: ${clients.line}`);
  const opened = Number(/^open (\d+)/.exec(clients.line)?.[1] ?? 0);
  await sleep(2000);
  fresh.child.kill('SIGUSR2');
  await sleep(3000);
  const after = rss(fresh.child.pid!);
  const each = opened ? (after - before) / opened : NaN;
  console.log(`router RSS ${(before / 2 ** 20).toFixed(1)} MiB → ${(after / 2 ** 20).toFixed(1)} MiB with ${opened} more idle websockets: ${(each / 1024).toFixed(1)} KiB each`);

  const vsNginx = best / max.get(viaNginx.label)!.rps;
  const cpuRatio = max.get(viaNginx.label)!.cpuUs / max.get(kept.label)!.cpuUs;
  const addedP99 = lat.get(kept.label)!.p99 - lat.get(direct.label)!.p99;
  const nginxAddedP99 = lat.get(viaNginx.label)!.p99 - lat.get(direct.label)!.p99;
  const drop = ((c10.rps - c200.rps) / c10.rps) * 100;
  console.log('');
  console.log(`CPU per request: nginx ${max.get(viaNginx.label)!.cpuUs.toFixed(0)} µs, router ${max.get(kept.label)!.cpuUs.toFixed(0)} µs → capacity ratio per core ${cpuRatio.toFixed(2)} (load-independent check of vs_nginx)`);
  console.log(`one worker each: router ÷ nginx ${vsNginx1.toFixed(2)}; ${WORKERS} workers each: ${vsNginx.toFixed(2)}`);
  console.log(`latency at half rate: router p50 ${lat.get(kept.label)!.p50.toFixed(2)} ms p99 ${lat.get(kept.label)!.p99.toFixed(2)} ms, direct p99 ${lat.get(direct.label)!.p99.toFixed(2)} ms, nginx p99 ${lat.get(viaNginx.label)!.p99.toFixed(2)} ms`);
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log(`goals: vs_nginx ≥ 0.5: ${vsNginx >= 0.5 ? 'met' : 'MISSED'}; added p99 ≤ 1 ms: ${addedP99 <= 1 ? 'met' : 'MISSED'}; c200 drop ≤ 5 %: ${drop <= 5 ? 'met' : 'MISSED'}; ≤ 30 KB per websocket: ${each <= 30_000 && opened === WEBSOCKETS ? 'met' : 'MISSED'}`);
  console.log(`BENCH router vs_nginx=${vsNginx.toFixed(2)} added_p99_ms=${addedP99.toFixed(2)} c200_drop_pct=${drop.toFixed(1)} ws_bytes_each=${Math.round(each)} nginx_added_p99_ms=${nginxAddedP99.toFixed(2)}`);
}

try {
  await main();
} finally {
  for (const c of children.reverse()) await stop(c);
  rmSync(work, { recursive: true, force: true });
}
