/**
 * Blob store in a local folder: key `apps/<id>/bundle.wave` is the file
 * `<root>/apps/<id>/bundle.wave`. Every write lands in a temp file under
 * `<root>/.tmp` and is renamed into place, so readers see a whole object or
 * none. Keys never start with ".", so `.tmp` and `.staging` cannot clash.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { NotFoundError } from '../lib/errors.ts';
import type { BlobObject, BlobStore } from './blob-store.ts';
import { validateKey } from './keys.ts';

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export class FsBlobStore implements BlobStore {
  private readonly tmp: string;
  private readonly staging: string;

  private constructor(private readonly root: string) {
    this.tmp = join(root, '.tmp');
    this.staging = join(root, '.staging');
  }

  /** Opens (creating if needed) the store rooted at `root`. */
  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(resolve(root));
    await mkdir(store.tmp, { recursive: true });
    await mkdir(store.staging, { recursive: true });
    return store;
  }

  private pathOf(key: string): string {
    validateKey(key);
    return join(this.root, key);
  }

  private tempPath(): string {
    return join(this.tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  /** Renames `from` to `to`, creating the parent folder; retried because a concurrent delete may prune that folder in between. */
  private async renameInto(from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dirname(to), { recursive: true });
      try {
        await rename(from, to);
        return;
      } catch (err) {
        if (errCode(err) !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.pathOf(key);
    try {
      await this.renameInto(localPath, target);
      return;
    } catch (err) {
      if (errCode(err) !== 'EXDEV') throw err;
    }
    // Another filesystem: copy next to the target first, then rename atomically.
    const tmp = this.tempPath();
    try {
      await copyFile(localPath, tmp);
      await this.renameInto(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await unlink(localPath);
  }

  async putBuffer(key: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    const tmp = this.tempPath();
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.renameInto(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async get(key: string): Promise<BlobObject> {
    const path = this.pathOf(key);
    // Open first, then stat the open handle: the size belongs to the very file streamed.
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errCode(err) ?? '')) throw notFound(key);
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw notFound(key);
      return { stream: createReadStream('', { fd: fh, autoClose: true }), size: st.size };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      if (!['ENOENT', 'ENOTDIR'].includes(errCode(err) ?? '')) throw err;
      return;
    }
    // Prune folders left empty (apps/<id>/screenshots, apps/<id>), never the root.
    for (let dir = dirname(path); dir.startsWith(this.root + '/') && dir !== this.root; dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or already gone): stop here
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errCode(err) ?? '')) return false;
      throw err;
    }
  }

  stagingDir(): string {
    return this.staging;
  }

  async close(): Promise<void> {}
}

function notFound(key: string): NotFoundError {
  return new NotFoundError(`blob ${key} not found`);
}
