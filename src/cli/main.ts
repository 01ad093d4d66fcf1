/** Entry of the `h2o` CLI (bin/h2o.mjs): the only place that reads argv and the environment. */
import { run } from './program.ts';

process.exitCode = await run(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  onInterrupt(listener) {
    const off = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
    // Removed before the listener runs, so a second Ctrl-C gets Node's default: exit at once.
    const handler = () => {
      off();
      listener();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return off;
  },
});
