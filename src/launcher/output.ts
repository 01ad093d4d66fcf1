/** Child process output, one line at a time, each marked with its source. */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Where marked lines go: the container's stdout, or a CLI's stderr. */
export interface LineSink {
  write(text: string): unknown;
}

/** Writes `[source] line` for every line of `message`. */
export function writeLines(out: LineSink, source: string, message: string): void {
  for (const line of message.replace(/\n$/, '').split('\n')) out.write(`[${source}] ${line}\n`);
}

/**
 * Copies each line of `stream` to `out` prefixed with `[source]`; `keep`
 * (when given) holds the last lines, for error messages. Resolves at the end.
 */
export function prefixLines(stream: Readable, out: LineSink, source: string, keep?: string[], keepMax = 40): Promise<void> {
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
