/**
 * Unpacking a bundle for the launcher: every refusal of inspect.ts, then each
 * entry decompressed with its real size and CRC-32 enforced while streaming,
 * written only below destDir, as plain files with safe modes.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidError } from '../lib/errors.ts';
import type { InspectedBundle } from './inspect.ts';
import { inspectOpened } from './inspect.ts';
import type { BundleLimits } from './limits.ts';
import { ZipArchive } from './zip-reader.ts';

export interface ExtractedBundle extends InspectedBundle {
  destDir: string;
  /** Files written (directories not counted). */
  filesWritten: number;
  /** Decompressed bytes written. */
  bytesWritten: number;
}

/** 0o755 when the entry's unix mode has any execute bit, else 0o644: no setuid/setgid/sticky, nothing world-writable. */
function safeFileMode(unixMode: number): number {
  return unixMode & 0o111 ? 0o755 : 0o644;
}

/**
 * Extracts the bundle at `path` into `destDir`, which must be absent or
 * empty (so nothing already there, such as a planted symlink, is followed).
 * On any failure, everything written is removed.
 */
export async function extractBundle(path: string, destDir: string, limits: BundleLimits): Promise<ExtractedBundle> {
  const root = resolve(destDir);
  const archive = await ZipArchive.open(path, limits);
  let started = false;
  let madeRoot = false;
  try {
    const inspected = await inspectOpened(archive, limits);
    const existing = await readdir(root).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (existing && existing.length) {
      throw new InvalidError(`cannot extract into ${root}: the folder is not empty`, [{ path: 'destDir', message: `${root} must be absent or empty` }]);
    }
    if (!existing) {
      await mkdir(root, { recursive: true, mode: 0o755 });
      madeRoot = true;
    }
    started = true;
    let filesWritten = 0;
    let bytesWritten = 0;
    const madeDirs = new Set<string>([root]);
    const ensureDir = async (dir: string): Promise<void> => {
      if (madeDirs.has(dir)) return;
      // Every directory below root is created by us, so none can be a symlink.
      await mkdir(dir, { recursive: true, mode: 0o755 });
      madeDirs.add(dir);
    };
    for (const e of archive.entries) {
      const target = resolve(root, e.name);
      const rel = relative(root, target);
      // Names were checked already; this guards the guarantee itself.
      if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
        throw new InvalidError('the bundle is refused', [{ path: e.name, message: 'would be written outside the app folder' }]);
      }
      if (e.isDirectory) {
        await ensureDir(target);
        continue;
      }
      await ensureDir(dirname(target));
      // 'wx': O_CREAT|O_EXCL never follows or overwrites an existing path.
      const out = createWriteStream(target, { flags: 'wx', mode: safeFileMode(e.unixMode) });
      await archive.pipeEntry(e, out);
      filesWritten++;
      bytesWritten += e.uncompressedSize; // pipeEntry proved real size === declared size
    }
    return { ...inspected, destDir: root, filesWritten, bytesWritten };
  } catch (err) {
    if (madeRoot) await rm(root, { recursive: true, force: true });
    else if (started) await removeContents(root);
    throw err;
  } finally {
    await archive.close();
  }
}

async function removeContents(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((n) => rm(join(dir, n), { recursive: true, force: true })));
}
