/**
 * Import speed of a 200 MB bundle against a plain file copy, measured in the
 * same run: receiveToFile (stream to disk + SHA-256) followed by
 * inspectBundle (central directory + the few catalog entries).
 * Target: import runs at >= 50% of the speed of a streamed file copy.
 *
 *   node --import tsx bench/bundle-import.ts [sizeMiB]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { inspectBundle } from '../src/bundle/inspect.ts';
import { DEFAULT_BUNDLE_LIMITS } from '../src/bundle/limits.ts';
import { receiveToFile } from '../src/bundle/receive.ts';

const sizeMiB = Number(process.argv[2] ?? 200);
const dir = await mkdtemp(join(tmpdir(), 'bench-import-'));
const src = join(dir, 'bundle.wave');

// A bundle shaped like a real one: manifest, icon, code, and large wheels/data (incompressible, stored).
const zip = new yazl.ZipFile();
zip.addBuffer(Buffer.from('[App]\nName = "ai.bench.app"\nVersion = "1.0.0"\n[Runtime]\nModule = "app"\n'), 'app.toml');
zip.addBuffer(await readFile(new URL('../test/fixtures/bundles/wave-app/static/icon.png', import.meta.url)), 'static/icon.png');
zip.addBuffer(Buffer.from('h2o-wave\n./wheels/w0.whl\n'), 'requirements.txt');
for (let i = 0; i < 500; i++) zip.addBuffer(Buffer.from(`print(${i})\n`.repeat(50)), `app/m${i}.py`);
for (let i = 0; i < sizeMiB / 10; i++) zip.addBuffer(randomBytes(10 * 1024 * 1024), `wheels/w${i}.whl`, { compress: false });
zip.end();
await pipeline(zip.outputStream, createWriteStream(src));

let k = 0;
async function time(fn: (dst: string) => Promise<unknown>): Promise<number> {
  const dst = join(dir, `out${k++}`);
  const t = process.hrtime.bigint();
  await fn(dst);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  await rm(dst, { force: true });
  return ms;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const streamCopy: number[] = [];
const fsCopy: number[] = [];
const imports: number[] = [];
for (let round = 0; round < 5; round++) {
  streamCopy.push(await time((dst) => pipeline(createReadStream(src), createWriteStream(dst))));
  fsCopy.push(await time((dst) => copyFile(src, dst)));
  imports.push(await time(async (dst) => {
    await receiveToFile(createReadStream(src), dst, DEFAULT_BUNDLE_LIMITS.maxBundleBytes);
    await inspectBundle(dst, DEFAULT_BUNDLE_LIMITS);
  }));
}
const [sc, fc, im] = [median(streamCopy), median(fsCopy), median(imports)];
console.log(`bundle ${sizeMiB} MiB, median of 5`);
console.log(`  streamed copy  ${sc.toFixed(0)} ms`);
console.log(`  fs.copyFile    ${fc.toFixed(0)} ms`);
console.log(`  import         ${im.toFixed(0)} ms (receiveToFile + inspectBundle)`);
console.log(`  import speed / streamed copy speed: ${(sc / im).toFixed(2)} (target >= 0.50)`);
console.log(`  import speed / fs.copyFile speed:   ${(fc / im).toFixed(2)}`);
await rm(dir, { recursive: true, force: true });
