/** Child process output, one line at a time, each marked with its source. */
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Writes `[source] line` for every line of `message`. */
export function writeLines(out: Writable, source: string, message: string): void {
  for (const line of message.replace(/\n$/, '').split('\n')) out.write(`[${source}] ${line}\n`);
}

/**
 * Copies each line of `stream` to `out` prefixed with `[source]`; `keep`
 * (when given) holds the last lines, for error messages. Resolves at the end.
 */
export function prefixLines(stream: Readable, out: Writable, source: string, keep?: string[], keepMax = 40): Promise<void> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => {
    out.write(`[${source}] ${line}\n`);
    if (keep) {
      keep.push(line);
      if (keep.length > keepMax) keep.shift();
    }
  });
  return new Promise((resolve) => rl.once('close', resolve));
}
