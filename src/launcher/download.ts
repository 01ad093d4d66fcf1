/**
 * Fetching the bundle: an http(s) download with the launcher's bearer token,
 * or a local file:// (h2o exec), hashed with SHA-256 while streaming and
 * checked against the expected digest before anything is unpacked.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../bundle/limits.ts';

/** A failure the user can act on; its message is shown on the progress page. */
export class LaunchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LaunchError';
  }
}

export interface FetchBundleOptions {
  url: string;
  /** `sha256:<hex>` or bare hex; absent = no check. */
  digest?: string;
  token?: string;
  /** Where the bundle is written. */
  dest: string;
  maxBytes: number;
  /** Aborting stops the download. */
  signal?: AbortSignal;
}

/** Writes the bundle to `dest` and returns its sha256 (hex); throws LaunchError on HTTP errors, oversize or a wrong digest. */
export async function fetchBundle(opts: FetchBundleOptions): Promise<{ sha256: string; size: number }> {
  let source: Readable;
  const where = opts.url.replace(/\?.*$/, '');
  if (/^file:/i.test(opts.url)) {
    source = createReadStream(fileURLToPath(opts.url));
  } else {
    let res: Response;
    try {
      res = await fetch(opts.url, { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, redirect: 'error', ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      throw new LaunchError(`cannot reach the Appstore at ${where}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, { cause: err });
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      let detail = text.slice(0, 500);
      try {
        detail = (JSON.parse(text) as { message?: string }).message ?? detail;
      } catch {
        // not JSON: show the text as it came
      }
      const hint = res.status === 401 || res.status === 403 ? ' (the launcher token was refused: the operator issues a fresh one when it restarts the instance)' : '';
      throw new LaunchError(`downloading the bundle from ${where} failed: HTTP ${res.status}${detail ? `: ${detail}` : ''}${hint}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > opts.maxBytes) throw new LaunchError(`the bundle is ${formatBytes(declared)}, more than the ${formatBytes(opts.maxBytes)} the launcher accepts`);
    source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  }
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > opts.maxBytes) return cb(new LaunchError(`the bundle is larger than the ${formatBytes(opts.maxBytes)} the launcher accepts`));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(opts.dest, { mode: 0o600 }), ...(opts.signal ? [{ signal: opts.signal }] : []));
  } catch (err) {
    await rm(opts.dest, { force: true });
    if (err instanceof LaunchError) throw err;
    throw new LaunchError(`reading the bundle from ${where} failed: ${(err as Error).message}`, { cause: err });
  }
  const sha256 = hash.digest('hex');
  if (opts.digest) {
    const want = opts.digest.replace(/^sha256:/i, '').toLowerCase();
    if (want !== sha256) {
      await rm(opts.dest, { force: true });
      throw new LaunchError(
        `the bundle's digest does not match: expected sha256:${want}, downloaded sha256:${sha256} (${formatBytes(size)}). ` +
          'The bundle was changed or corrupted after import; nothing was unpacked. Re-import the app, or ask an admin to check the blob store.',
      );
    }
  }
  return { sha256, size };
}
