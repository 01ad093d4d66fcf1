/**
 * make bench-bundle: import a 200 MB bundle through the real server over
 * HTTP (embedded default: PGlite + filesystem store) and compare it, in the
 * same run, with a plain copy of the same file into the same store.
 *
 *   import_rss_mib  how much the server's peak RSS rose during the import (goal ≤ 64)
 *   import_vs_copy  plain-copy time / import time: import speed as a fraction of
 *                   plain-copy speed (goal ≥ 0.5). The plain copy sends the same
 *                   bytes with the same client (curl -T) over loopback HTTP to a
 *                   server that only streams them into the store folder: no
 *                   hashing, no archive reading, no database.
 *   import_vs_cp    the same against `cp` inside the machine (copy_file_range, no
 *                   network, no user-space pass): shown for reference; SHA-256
 *                   alone runs at ~1.1 GB/s here, slower than that kernel copy.
 *
 * Peak RSS is the kernel's VmHWM, reset through /proc/PID/clear_refs before the import.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { freePort, waitFor } from '../test/support/ports.ts';

const SIZE_MB = Number(process.env.BENCH_BUNDLE_MB ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const root = new URL('..', import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), 'bench-bundle-'));

/** A bundle shaped like a real one: manifest, icon, code, and large incompressible wheels. */
async function makeBundle(version: string, mb: number): Promise<string> {
  const file = join(dir, `bench.${version}.wave`);
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(`[App]\nName = "ai.bench.bundle"\nVersion = "${version}"\nTitle = "Bench"\n[Runtime]\nModule = "app"\n`), 'app.toml');
  zip.addBuffer(readFileSync(join(root, 'test/fixtures/bundles/wave-app/static/icon.png')), 'static/icon.png');
  zip.addBuffer(Buffer.from('h2o-wave\n'), 'requirements.txt');
  for (let i = 0; i < 200; i++) zip.addBuffer(Buffer.from(`print(${i})\n`.repeat(50)), `app/m${i}.py`);
  const chunk = randomBytes(10 * 1024 * 1024);
  for (let i = 0; i < Math.ceil(mb / 10); i++) zip.addBuffer(Buffer.concat([randomBytes(16), chunk]), `wheels/w${i}.whl`, { compress: false });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
  return file;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) * 1024;
}

/** Uploads with curl (streams the file with -T), an efficient client outside this process. */
function upload(port: number, file: string, path = '/api/v1/apps'): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const curl = spawn('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-T', file, '-H', 'content-type: application/zip', `http://127.0.0.1:${port}${path}`]);
    let out = '';
    curl.stdout.on('data', (c: Buffer) => (out += c.toString()));
    curl.on('error', reject);
    curl.on('exit', () => resolve({ status: Number(out), ms: performance.now() - started }));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// The plain-copy server: the least any upload into the store can do.
const PLAIN_COPY_SERVER = `
const { createServer } = require('node:http');
const { createWriteStream } = require('node:fs');
const { pipeline } = require('node:stream/promises');
let n = 0;
createServer(async (req, res) => {
  await pipeline(req, createWriteStream(process.argv[1] + '/plain-copy-' + n++));
  res.end('ok');
}).listen(Number(process.argv[2]), '127.0.0.1');
`;
const port = await freePort();
const dataDir = join(dir, 'data');
const copyPort = await freePort();
const copyServer = spawn(process.execPath, ['-e', PLAIN_COPY_SERVER, join(dir, 'data', 'blobs'), String(copyPort)], { stdio: 'inherit' });
const server = spawn(process.execPath, [join(root, 'bin/appstore.mjs'), 'server', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--local-cluster', 'off', '--set', `Server.LogLevel=${process.env.BENCH_LOG ?? 'warn'}`], { stdio: ['ignore', process.env.BENCH_LOG ? 'inherit' : 'ignore', 'inherit'] });
try {
  await waitFor('the server', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, 200);
  await waitFor('the plain-copy server', async () => (await fetch(`http://127.0.0.1:${copyPort}/`, { method: 'POST', body: 'x' })).ok, 10_000, 100);
  const pid = server.pid!;
  // Warm up: the first import loads code paths and JIT-compiles them.
  const warm = await upload(port, await makeBundle('0.0.1', 10));
  if (warm.status !== 201) throw new Error(`warm-up import answered ${warm.status}`);

  const imports: number[] = [];
  const copies: number[] = [];
  const cps: number[] = [];
  const rss: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const file = await makeBundle(`1.0.${r}`, SIZE_MB);
    const size = statSync(file).size;
    // Same store, same bytes, no hashing or parsing: the floors an import is compared with.
    const plain = await upload(copyPort, file, '/');
    if (plain.status !== 200) throw new Error(`plain copy answered ${plain.status}`);
    copies.push(plain.ms);
    const t = performance.now();
    await copyFile(file, join(dataDir, 'blobs', `cp-${r}`));
    cps.push(performance.now() - t);
    await rm(join(dataDir, 'blobs', `cp-${r}`));

    const base = procStatus(pid, 'VmRSS');
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // reset VmHWM to the current RSS
    const res = await upload(port, file);
    if (res.status !== 201) throw new Error(`import answered ${res.status}`);
    rss.push((procStatus(pid, 'VmHWM') - base) / 2 ** 20);
    imports.push(res.ms);
    process.stderr.write(`round ${r + 1}: ${(size / 1e6).toFixed(0)} MB import ${res.ms.toFixed(0)} ms, plain copy ${copies.at(-1)!.toFixed(0)} ms, cp ${cps.at(-1)!.toFixed(0)} ms, peak RSS +${rss.at(-1)!.toFixed(1)} MiB\n`);
    await rm(file);
  }
  const importMs = median(imports);
  const copyMs = median(copies);
  const cpMs = median(cps);
  const ratio = copyMs / importMs;
  const rssMib = Math.max(...rss);
  console.log(`bundle import of ${SIZE_MB} MB over HTTP, median of ${ROUNDS}: ${importMs.toFixed(0)} ms; plain copy into the same store over HTTP: ${copyMs.toFixed(0)} ms; cp: ${cpMs.toFixed(0)} ms`);
  console.log(`import speed / plain copy speed = ${ratio.toFixed(2)} (goal >= 0.50); / cp speed = ${(cpMs / importMs).toFixed(2)}; peak RSS rise ${rssMib.toFixed(1)} MiB (goal <= 64)`);
  console.log(`BENCH bundle import_rss_mib=${rssMib.toFixed(1)} import_vs_copy=${ratio.toFixed(2)} import_vs_cp=${(cpMs / importMs).toFixed(2)}`);
} finally {
  copyServer.kill('SIGTERM');
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
