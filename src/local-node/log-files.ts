/** DEVELOPMENT AND TEST TOOL (local pod runner): reading a container's log file, optionally following it. */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { UnavailableError } from '../lib/errors.ts';

export interface ReadLogOptions {
  follow: boolean;
  tailLines?: number;
  signal: AbortSignal;
  /** True while the writer is still running (following ends when it stops and the file is read out). */
  live: () => boolean;
}

/** A stream of the file's lines (the last tailLines); with follow, new lines as they are written. */
export async function readLogFile(path: string, opts: ReadLogOptions): Promise<Readable> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UnavailableError(`no log yet at ${path}: the container has not started`);
  let start = 0;
  if (opts.tailLines !== undefined) {
    // The writer keeps appending: answer from this one read, or lines written since would join the tail.
    const text = await readFile(path);
    let n = 0;
    let i = text.length;
    if (i > 0 && text[i - 1] === 0x0a) i--;
    while (i > 0 && n < opts.tailLines) {
      i--;
      if (text[i] === 0x0a) n++;
    }
    start = n >= opts.tailLines && i > 0 ? i + 1 : 0;
    if (opts.tailLines === 0) start = text.length;
    if (!opts.follow) return Readable.from([text.subarray(start)]);
  }
  if (!opts.follow) return createReadStream(path, { start });
  const out = new PassThrough();
  const fh = await open(path, 'r');
  let pos = start;
  const buf = Buffer.alloc(64 * 1024);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    void fh.close();
    out.end();
  };
  opts.signal.addEventListener('abort', finish, { once: true });
  out.once('close', finish);
  void (async () => {
    while (!done) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        out.write(Buffer.from(buf.subarray(0, bytesRead)));
        continue;
      }
      if (!opts.live()) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    finish();
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}
