/**
 * The blob store: bundles, icons and screenshots, by key. Two
 * implementations: a folder (the embedded default) and any S3-compatible
 * object store.
 */
import type { Readable } from 'node:stream';
import { FsBlobStore } from './fs-blob-store.ts';
import { S3BlobStore } from './s3-blob-store.ts';
import type { S3BlobStoreOptions } from './s3-blob-store.ts';

export interface BlobObject {
  stream: Readable;
  /** Bytes. */
  size: number;
  /** Media type given when it was stored (S3 only; the filesystem store keeps none). */
  contentType?: string;
}

export interface BlobStore {
  /**
   * Stores the staged local file at `localPath` under `key`, consuming it:
   * the filesystem store renames it into place (copies across filesystems),
   * the S3 store streams it up in parts with bounded memory and then removes it.
   */
  putFile(key: string, localPath: string, contentType?: string): Promise<void>;
  /** Stores a small object held in memory (icons, screenshots). */
  putBuffer(key: string, data: Uint8Array, contentType?: string): Promise<void>;
  /** Opens a stored object; NotFoundError when there is none. */
  get(key: string): Promise<BlobObject>;
  /** Removes an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** A local folder to stage uploads in before putFile (on the store's filesystem for fs, an OS temp folder for S3). */
  stagingDir(): string;
  close(): Promise<void>;
}

export type BlobStoreConfig = { kind: 'fs'; root: string } | ({ kind: 's3' } & S3BlobStoreOptions);

/** Opens the configured blob store (for S3: checks the bucket, creating it when asked). */
export async function createBlobStore(cfg: BlobStoreConfig): Promise<BlobStore> {
  switch (cfg.kind) {
    case 'fs':
      return FsBlobStore.open(cfg.root);
    case 's3':
      return S3BlobStore.open(cfg);
  }
}
