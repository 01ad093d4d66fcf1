/**
 * Receiving an upload: stream it to a file while hashing, holding at most a
 * few MiB in memory, and stop as soon as it passes the limit.
 *
 * Three things overlap: reading the socket (main thread), hashing (a worker
 * thread, see lib/background-hash.ts) and writing the file (the libuv thread
 * pool). Chunks are gathered into ~1 MiB batches so each costs one writev and
 * one message instead of dozens.
 */
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BackgroundHash } from '../lib/background-hash.ts';
import { TooLargeError } from '../lib/errors.ts';
import type { BundleLimits } from './limits.ts';
import { formatBytes, howToRaise } from './limits.ts';

const BATCH_BYTES = 1024 * 1024;
/** Bytes handed to the file system but not yet written; bounds memory together with the hash backlog. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** Writes all of `chunks` at `position` (a writev may be short). */
async function writeAllv(handle: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  let rest = chunks;
  let pos = position;
  while (rest.length) {
    const { bytesWritten } = await handle.writev(rest, pos);
    pos += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const c of rest) {
      if (skip >= c.length) skip -= c.length;
      else {
        next.push(skip ? c.subarray(skip) : c);
        skip = 0;
      }
    }
    rest = next;
  }
}

export interface ReceivedFile {
  /** Lower-case hex SHA-256 of the bytes written. */
  sha256: string;
  /** Bytes written. */
  size: number;
}

/**
 * Writes `stream` to a new file at `path` (which must not exist) while
 * hashing it. Past `maxBytes` it throws TooLargeError and removes the partial
 * file; on any other failure the partial file is removed too.
 * `limitName` names the limit in the error (default: the bundle upload limit).
 */
export async function receiveToFile(
  stream: Readable,
  path: string,
  maxBytes: number,
  limitName: keyof BundleLimits = 'maxBundleBytes',
): Promise<ReceivedFile> {
  // 'wx': never follow or clobber something already at path (e.g. a planted symlink in a temp dir).
  const handle = await open(path, 'wx', 0o600);
  const hash = new BackgroundHash();
  let size = 0;
  let written = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const pending: Array<Promise<void>> = [];
  let pendingBytes = 0;
  let writeError: unknown;

  const flush = async () => {
    if (!batchBytes) return;
    const chunks = batch;
    const n = batchBytes;
    batch = [];
    batchBytes = 0;
    const position = written;
    written += n;
    pendingBytes += n;
    pending.push(
      writeAllv(handle, chunks, position).then(
        () => void (pendingBytes -= n),
        (err: unknown) => void (writeError ??= err),
      ),
    );
    await hash.update(chunks);
    while (pendingBytes > MAX_PENDING_BYTES && !writeError) await pending.shift();
    if (writeError) throw writeError;
  };

  try {
    for await (const chunk of stream) {
      const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buf.length;
      if (size > maxBytes) {
        throw new TooLargeError(`the upload is larger than the limit of ${formatBytes(maxBytes)} (${limitName}); make the bundle smaller (see .appignore) or ${howToRaise(limitName)}`);
      }
      batch.push(buf);
      batchBytes += buf.length;
      if (batchBytes >= BATCH_BYTES) await flush();
    }
    await flush();
    await Promise.all(pending);
    if (writeError) throw writeError;
    await handle.close();
  } catch (err) {
    stream.destroy();
    hash.drop();
    await Promise.allSettled(pending);
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw err;
  }
  return { sha256: await hash.digest(), size };
}
