// One build at a time for the build-if-needed scripts (bin/dist.mjs, web/build-if-needed.mjs):
// parallel test files and servers start at once, and a second build would empty the output folder
// under the first's server.
import { mkdirSync, rmSync, statSync } from 'node:fs';

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `fn` holding the lock folder `lock` (taken over when older than 5 minutes: a killed build's) and returns its result. */
export function withBuildLock(lock, fn, pollMs = 250) {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 300_000) rmSync(lock, { recursive: true, force: true });
      else sleep(pollMs);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
