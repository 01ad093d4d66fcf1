/**
 * Blob store on any S3-compatible object store. Large files go up as
 * multipart uploads read from disk part by part: memory stays near
 * partSize × (queueSize + 1) whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InvalidError, NotFoundError } from '../lib/errors.ts';
import type { BlobObject, BlobStore } from './blob-store.ts';
import { validateKey } from './keys.ts';

export interface S3BlobStoreOptions {
  /** Endpoint URL of an S3-compatible server; absent means AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket, e.g. `appstore` (no leading or trailing "/"). */
  prefix?: string;
  /** Static credentials; absent means the AWS default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Create the bucket at start-up when it does not exist. */
  createBucket?: boolean;
  /** Bytes per multipart part (S3's minimum is 5 MiB; default 8 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 4). */
  queueSize?: number;
  /** Where uploads are staged; default a fresh folder under the OS temp folder. */
  stagingDir?: string;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;
const MIN_PART_SIZE = 5 * 1024 * 1024;

interface S3ErrorFields {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function isS3NotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as S3ErrorFields;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404;
}

export class S3BlobStore implements BlobStore {
  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly partSize: number,
    private readonly queueSize: number,
    private readonly staging: string,
    private readonly ownsStaging: boolean,
  ) {}

  /** Connects, checks that the bucket exists (creating it when `createBucket`), and prepares the staging folder. */
  static async open(opts: S3BlobStoreOptions): Promise<S3BlobStore> {
    const issues = [];
    if (!opts.bucket) issues.push({ path: 'bucket', message: 'an S3 bucket name is required' });
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix) {
      try {
        validateKey(prefix);
      } catch {
        issues.push({ path: 'prefix', message: `S3 prefix ${JSON.stringify(opts.prefix)} must be "/"-separated segments of letters, digits, ".", "_" and "-"` });
      }
    }
    const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE) issues.push({ path: 'partSize', message: `partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum part size)` });
    const queueSize = opts.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!Number.isInteger(queueSize) || queueSize < 1) issues.push({ path: 'queueSize', message: 'queueSize must be a whole number of at least 1' });
    if (Boolean(opts.accessKeyId) !== Boolean(opts.secretAccessKey)) {
      issues.push({ path: 'secretAccessKey', message: 'give both the S3 access key id and the secret access key, or neither (to use the AWS credential chain)' });
    }
    if (issues.length) throw new InvalidError('invalid S3 blob store settings', issues);

    const client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.accessKeyId && opts.secretAccessKey ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } } : {}),
      // Checksums only where S3 requires them: many S3-compatible servers
      // reject the newer default trailing CRC checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      await ensureBucket(client, opts.bucket, opts.createBucket ?? false, opts.endpoint);
    } catch (err) {
      client.destroy();
      throw err;
    }
    const ownsStaging = !opts.stagingDir;
    const staging = opts.stagingDir ?? (await mkdtemp(join(tmpdir(), 'appstore-staging-')));
    return new S3BlobStore(client, opts.bucket, prefix, partSize, queueSize, staging, ownsStaging);
  }

  private objectKey(key: string): string {
    validateKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async putFile(key: string, localPath: string, contentType?: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: createReadStream(localPath), ContentType: contentType },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // Abort the multipart upload on failure, so no orphaned parts are billed.
      leavePartsOnError: false,
    });
    await upload.done();
    await unlink(localPath);
  }

  async putBuffer(key: string, data: Uint8Array, contentType?: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: data, ContentType: contentType }));
  }

  async get(key: string): Promise<BlobObject> {
    let res;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      if (isS3NotFound(err)) throw new NotFoundError(`blob ${key} not found`, { cause: err });
      throw err;
    }
    // In Node the SDK's body is an http.IncomingMessage (a Readable).
    if (!(res.Body instanceof Readable)) throw new Error(`S3 returned no readable body for ${key}`);
    return { stream: res.Body, size: res.ContentLength ?? 0, ...(res.ContentType ? { contentType: res.ContentType } : {}) };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      if (!isS3NotFound(err)) throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (err) {
      if (isS3NotFound(err)) return false;
      throw err;
    }
  }

  stagingDir(): string {
    return this.staging;
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.ownsStaging) await rm(this.staging, { recursive: true, force: true });
  }
}

async function ensureBucket(client: S3Client, bucket: string, create: boolean, endpoint: string | undefined): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isS3NotFound(err)) throw err;
    if (!create) {
      throw new NotFoundError(
        `S3 bucket ${bucket} does not exist${endpoint ? ` at ${endpoint}` : ''}; create it, or set Storage.S3CreateBucket = true to let the server create it`,
        { cause: err },
      );
    }
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    // Another replica may have created it first.
    const name = (err as S3ErrorFields | null)?.name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}
