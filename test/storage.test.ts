// needs: s3
/**
 * The blob store against a folder and against a real S3 server (versitygw),
 * with the same test body; then what only S3 has (bucket checks, prefixes,
 * multipart uploads and their memory).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { InvalidError, NotFoundError } from '../src/lib/errors.ts';
import { createBlobStore } from '../src/storage/blob-store.ts';
import type { BlobStore } from '../src/storage/blob-store.ts';
import { appBundleKey, appIconKey, appScreenshotKey } from '../src/storage/keys.ts';
import { S3BlobStore } from '../src/storage/s3-blob-store.ts';
import { repoRoot } from './support/go-tool.ts';
import { serviceEnv } from './support/service.ts';
import { rejection } from './support/rejection.ts';

const MiB = 1024 * 1024;

function s3Env() {
  return {
    endpoint: serviceEnv('APPSTORE_TEST_S3_ENDPOINT', 'an S3 server'),
    accessKeyId: serviceEnv('APPSTORE_TEST_S3_ACCESS_KEY', 'an S3 server'),
    secretAccessKey: serviceEnv('APPSTORE_TEST_S3_SECRET_KEY', 'an S3 server'),
    region: serviceEnv('APPSTORE_TEST_S3_REGION', 'an S3 server'),
  };
}

function rawClient(): S3Client {
  const e = s3Env();
  return new S3Client({ endpoint: e.endpoint, region: e.region, forcePathStyle: true, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } });
}

function bucketName(what: string): string {
  return `${what}-${randomBytes(4).toString('hex')}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sha256Of(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}

const BAD_KEYS = ['', '/apps/x', '../x', 'apps/../x', 'apps/./x', 'apps//x', 'apps/x/', '.hidden', 'apps/.tmp/x', 'a\\b', 'a b', 'a\0b', 'x'.repeat(600)];

function blobStoreSuite(kind: string, open: () => Promise<{ store: BlobStore; cleanup: () => Promise<void> }>): void {
  describe(`blob store on ${kind}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await store?.close();
      await cleanup?.();
    });

    test('putBuffer then get returns the same bytes and size; a second put replaces the object', async () => {
      const key = appIconKey('11111111-2222-3333-4444-555555555555');
      await store.putBuffer(key, Buffer.from('first version'), 'image/png');
      await store.putBuffer(key, Buffer.from('second'), 'image/png');
      const obj = await store.get(key);
      assert.equal(obj.size, 6);
      assert.equal((await readAll(obj.stream)).toString(), 'second');
      if (kind === 'S3') assert.equal(obj.contentType, 'image/png');
      assert.equal(await store.exists(key), true);
    });

    test('an empty object round-trips', async () => {
      await store.putBuffer('empty/file', new Uint8Array(0));
      const obj = await store.get('empty/file');
      assert.equal(obj.size, 0);
      assert.equal((await readAll(obj.stream)).length, 0);
    });

    test('get of a missing key is NotFoundError; exists is false', async () => {
      await rejection(store.get('apps/none/bundle.wave'), NotFoundError);
      assert.equal(await store.exists('apps/none/bundle.wave'), false);
    });

    test('delete removes the object and is idempotent', async () => {
      const key = appScreenshotKey('abc', 0);
      await store.putBuffer(key, Buffer.from('png'));
      await store.delete(key);
      assert.equal(await store.exists(key), false);
      await rejection(store.get(key), NotFoundError);
      await store.delete(key);
      await store.delete('never/there');
    });

    test('invalid keys are InvalidError on path "key" for every operation', async () => {
      for (const key of BAD_KEYS) {
        for (const op of [() => store.putBuffer(key, Buffer.from('x')), () => store.get(key), () => store.delete(key), () => store.exists(key)]) {
          const err = await rejection(op(), InvalidError);
          assert.deepEqual(err.issues.map((i) => i.path), ['key'], JSON.stringify(key));
        }
      }
    });

    test('putFile consumes a file staged in stagingDir and stores it', async () => {
      const staged = join(store.stagingDir(), 'upload-1');
      const data = randomBytes(300_000);
      writeFileSync(staged, data);
      const key = appBundleKey('22222222-2222-3333-4444-555555555555', 'wave');
      await store.putFile(key, staged, 'application/zip');
      assert.equal(existsSync(staged), false, 'the staged file is consumed');
      const obj = await store.get(key);
      assert.equal(obj.size, data.length);
      assert.ok((await readAll(obj.stream)).equals(data));
      await rejection(store.putFile('../escape', join(store.stagingDir(), 'nothing')), InvalidError);
    });

    test('a 20 MB file larger than the part size round-trips byte-identical', async () => {
      const staged = join(store.stagingDir(), 'big');
      const data = randomBytes(20 * 1000 * 1000);
      writeFileSync(staged, data);
      const want = createHash('sha256').update(data).digest('hex');
      await store.putFile('apps/big/bundle.wave', staged);
      const obj = await store.get('apps/big/bundle.wave');
      assert.equal(obj.size, data.length);
      assert.equal(await sha256Of(obj.stream), want);
    });
  });
}

blobStoreSuite('the filesystem', async () => {
  const root = mkdtempSync(join(tmpdir(), 'appstore-blobs-'));
  return { store: await createBlobStore({ kind: 'fs', root }), cleanup: async () => rmSync(root, { recursive: true, force: true }) };
});

blobStoreSuite('S3', async () => {
  const store = await createBlobStore({ kind: 's3', ...s3Env(), bucket: bucketName('suite'), forcePathStyle: true, createBucket: true, partSize: 5 * MiB, queueSize: 2 });
  return { store, cleanup: async () => {} };
});

describe('filesystem blob store specifics', () => {
  test('writes leave no temp files behind, and delete prunes empty folders but keeps the root', async () => {
    const root = mkdtempSync(join(tmpdir(), 'appstore-blobs-'));
    try {
      const store = await createBlobStore({ kind: 'fs', root });
      await store.putBuffer('apps/a/screenshots/0', Buffer.from('x'));
      await store.putBuffer('apps/a/icon', Buffer.from('y'));
      assert.deepEqual(readdirSync(join(root, '.tmp')), []);
      await store.delete('apps/a/screenshots/0');
      assert.equal(existsSync(join(root, 'apps/a/screenshots')), false);
      assert.equal(existsSync(join(root, 'apps/a/icon')), true);
      await store.delete('apps/a/icon');
      assert.equal(existsSync(join(root, 'apps')), false);
      assert.equal(existsSync(root), true);
      assert.equal(statSync(store.stagingDir()).isDirectory(), true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('putFile from another filesystem copies, then removes the source', async (t) => {
    const other = '/dev/shm';
    const root = mkdtempSync(join(tmpdir(), 'appstore-blobs-'));
    try {
      if (!existsSync(other) || statSync(other).dev === statSync(root).dev) {
        t.skip(`${other} is not a separate filesystem here`);
        return;
      }
      const src = join(mkdtempSync(join(other, 'appstore-')), 'file');
      writeFileSync(src, 'across filesystems');
      const store = await createBlobStore({ kind: 'fs', root });
      await store.putFile('apps/x/bundle.wave', src);
      assert.equal(existsSync(src), false);
      assert.equal((await readAll((await store.get('apps/x/bundle.wave')).stream)).toString(), 'across filesystems');
      assert.deepEqual(readdirSync(join(root, '.tmp')), []);
      rmSync(join(src, '..'), { recursive: true, force: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('S3 blob store specifics', () => {
  test('a missing bucket is a clear NotFoundError unless createBucket is set', async () => {
    const bucket = bucketName('missing');
    const err = await rejection(S3BlobStore.open({ ...s3Env(), bucket, forcePathStyle: true }), NotFoundError);
    assert.match(err.message, new RegExp(`S3 bucket ${bucket} does not exist.*S3CreateBucket`));
    const store = await S3BlobStore.open({ ...s3Env(), bucket, forcePathStyle: true, createBucket: true });
    await store.close();
    // Opening again (another replica) with createBucket finds it and does not fail.
    await (await S3BlobStore.open({ ...s3Env(), bucket, forcePathStyle: true, createBucket: true })).close();
    await (await S3BlobStore.open({ ...s3Env(), bucket, forcePathStyle: true })).close();
  });

  test('bad settings are InvalidError naming the field', async () => {
    const err = await rejection(S3BlobStore.open({ ...s3Env(), bucket: '', partSize: MiB, prefix: '../x', secretAccessKey: undefined }), InvalidError);
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ['bucket', 'partSize', 'prefix', 'secretAccessKey']);
  });

  test('keys live under the prefix, and a multipart upload really used parts', async () => {
    const bucket = bucketName('prefix');
    const store = await S3BlobStore.open({ ...s3Env(), bucket, prefix: 'appstore/prod/', forcePathStyle: true, createBucket: true, partSize: 5 * MiB, queueSize: 2 });
    const client = rawClient();
    try {
      await store.putBuffer('apps/p/icon', Buffer.from('i'));
      const staged = join(store.stagingDir(), 'big');
      writeFileSync(staged, randomBytes(12 * MiB));
      await store.putFile('apps/p/bundle.wave', staged);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), ['appstore/prod/apps/p/bundle.wave', 'appstore/prod/apps/p/icon']);
      // A multipart object's ETag is "<md5 of part md5s>-<number of parts>".
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'appstore/prod/apps/p/bundle.wave' }));
      assert.match(head.ETag ?? '', /-3"?$/);
      assert.equal(head.ContentLength, 12 * MiB);
    } finally {
      client.destroy();
      await store.close();
    }
  });

  test('uploading a big file keeps memory near partSize × queueSize (measured in a separate process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appstore-rss-'));
    try {
      const file = join(dir, 'big');
      const fileSize = 256 * MiB;
      // Written in 1 MiB pieces so this process does not hold it either.
      const piece = randomBytes(MiB);
      const { openSync, writeSync, closeSync } = await import('node:fs');
      const fd = openSync(file, 'w');
      for (let i = 0; i < fileSize / MiB; i++) writeSync(fd, piece);
      closeSync(fd);
      const partSize = 5 * MiB;
      const queueSize = 4;
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', join(repoRoot, 'test/support/s3-upload-rss.ts')], {
        cwd: repoRoot,
        env: { ...process.env, RSS_BUCKET: bucketName('rss'), RSS_FILE: file, RSS_PART_SIZE: String(partSize), RSS_QUEUE_SIZE: String(queueSize) },
        maxBuffer: MiB,
      });
      const m = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { baselineRss: number; peakRss: number; fileSize: number };
      const grew = m.peakRss - m.baselineRss;
      // Parts in flight plus the one being filled, and room for the runtime's own
      // churn (garbage not yet collected, HTTP buffers): measured at 45-60 MiB for
      // files from 40 to 480 MiB, so flat in the file size, which is what matters.
      const bound = partSize * (queueSize + 1) + 96 * MiB;
      process.stdout.write(`# S3 upload of ${m.fileSize / MiB} MiB: RSS grew ${(grew / MiB).toFixed(1)} MiB (bound ${bound / MiB} MiB; partSize × queueSize = ${(partSize * queueSize) / MiB} MiB)\n`);
      assert.equal(m.fileSize, fileSize);
      assert.ok(grew < bound, `RSS grew ${grew} bytes, more than ${bound}`);
      assert.ok(grew < fileSize / 2, 'the upload must not hold the file in memory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('get streams: reading a big object does not need it whole in memory', async () => {
    const bucket = bucketName('stream');
    const store = await S3BlobStore.open({ ...s3Env(), bucket, forcePathStyle: true, createBucket: true, partSize: 5 * MiB });
    try {
      const staged = join(store.stagingDir(), 'f');
      writeFileSync(staged, randomBytes(8 * MiB));
      const want = createHash('sha256').update(await readAll(createReadStream(staged))).digest('hex');
      await store.putFile('s/f', staged);
      const obj = await store.get('s/f');
      let biggestChunk = 0;
      const h = createHash('sha256');
      for await (const c of obj.stream) {
        biggestChunk = Math.max(biggestChunk, (c as Buffer).length);
        h.update(c as Buffer);
      }
      assert.equal(h.digest('hex'), want);
      assert.ok(biggestChunk < MiB, `chunks arrive in pieces (largest ${biggestChunk} bytes)`);
    } finally {
      await store.close();
    }
  });
});
