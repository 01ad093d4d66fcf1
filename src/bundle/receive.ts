/**
 * Receiving an upload: stream it to a file while hashing, never holding more
 * than a stream buffer in memory, and stop as soon as it passes the limit.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { TooLargeError } from '../lib/errors.ts';
import type { BundleLimits } from './limits.ts';
import { formatBytes, howToRaise } from './limits.ts';

const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** Writes all of buf at position (a write may be short). */
async function writeAll(handle: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await handle.write(buf, off, buf.length - off, position + off);
    off += bytesWritten;
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
  const hash = createHash('sha256');
  let size = 0;
  // Positional writes run in the thread pool while the next chunk is hashed; at most
  // MAX_PENDING_BYTES wait to be written, so memory stays bounded.
  const pending: Array<Promise<void>> = [];
  let pendingBytes = 0;
  let writeError: unknown;
  try {
    for await (const chunk of stream) {
      const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (writeError) throw writeError;
      const position = size;
      size += buf.length;
      if (size > maxBytes) {
        throw new TooLargeError(`the upload is larger than the limit of ${formatBytes(maxBytes)} (${limitName}); make the bundle smaller (see .appignore) or ${howToRaise(limitName)}`);
      }
      hash.update(buf);
      pendingBytes += buf.length;
      pending.push(
        writeAll(handle, buf, position).then(
          () => void (pendingBytes -= buf.length),
          (err: unknown) => void (writeError ??= err),
        ),
      );
      while (pendingBytes > MAX_PENDING_BYTES && !writeError) await pending.shift();
    }
    await Promise.all(pending);
    if (writeError) throw writeError;
    await handle.close();
  } catch (err) {
    stream.destroy();
    await Promise.allSettled(pending);
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw err;
  }
  return { sha256: hash.digest('hex'), size };
}
