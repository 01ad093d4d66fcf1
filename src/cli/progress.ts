/**
 * Progress of uploads and downloads on stderr, only when it is a terminal
 * (scripts and logs get no carriage-return noise).
 */

export interface Progress {
  add(bytes: number): void;
  done(): void;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** A reporter that redraws one line at most every 100 ms; a no-op unless `out.isTTY`. */
export function progressReporter(out: { write(s: string): unknown; isTTY?: boolean }, verb: string, total?: number): Progress {
  if (!out.isTTY) return { add() {}, done() {} };
  let seen = 0;
  let last = 0;
  const draw = () => {
    const pct = total ? ` ${Math.min(100, Math.floor((seen / total) * 100))}%` : '';
    out.write(`\r${verb} ${mib(seen)}${total ? ` / ${mib(total)}` : ''}${pct}   `);
  };
  return {
    add(bytes) {
      seen += bytes;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      draw();
      out.write('\n');
    },
  };
}
