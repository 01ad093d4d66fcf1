/**
 * Measures how much resident memory an S3 multipart upload of a big file
 * adds, in a process of its own so nothing else moves the numbers. Run by
 * test/storage.test.ts; prints one JSON line:
 * { baselineRss, peakRss, partSize, queueSize, fileSize }.
 *
 * Input (environment): APPSTORE_TEST_S3_* (endpoint, keys, region),
 * RSS_BUCKET, RSS_FILE (a file to upload), RSS_PART_SIZE, RSS_QUEUE_SIZE.
 */
import { copyFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const partSize = Number(env('RSS_PART_SIZE'));
const queueSize = Number(env('RSS_QUEUE_SIZE'));
const store = await S3BlobStore.open({
  endpoint: env('APPSTORE_TEST_S3_ENDPOINT'),
  region: env('APPSTORE_TEST_S3_REGION'),
  accessKeyId: env('APPSTORE_TEST_S3_ACCESS_KEY'),
  secretAccessKey: env('APPSTORE_TEST_S3_SECRET_KEY'),
  bucket: env('RSS_BUCKET'),
  forcePathStyle: true,
  createBucket: true,
  partSize,
  queueSize,
});

// Warm up: load the SDK's code paths (signing, multipart) with a small upload first.
const warm = join(store.stagingDir(), 'warm');
writeFileSync(warm, Buffer.alloc(partSize + 1024, 1));
await store.putFile('rss/warm', warm);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const baselineRss = process.memoryUsage().rss;

const staged = join(store.stagingDir(), 'big');
copyFileSync(env('RSS_FILE'), staged);
const fileSize = statSync(staged).size;
let peakRss = baselineRss;
const timer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 10);
await store.putFile('rss/big', staged);
clearInterval(timer);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
await store.delete('rss/big');
await store.delete('rss/warm');
await store.close();
process.stdout.write(`${JSON.stringify({ baselineRss, peakRss, partSize, queueSize, fileSize })}\n`);
