/**
 * What a CLI command may use from its surroundings. Only main.ts builds it
 * from the real process, so commands stay testable in-process.
 */
export interface CliContext {
  /** Working directory relative paths are resolved against. */
  cwd: string;
  /** Environment variables (for configuration such as the server URL). */
  env: Record<string, string | undefined>;
  /** Where results go (one line per result, for scripts). */
  stdout: { write(text: string): unknown };
  /** Where warnings, errors and progress go (progress only when it is a terminal). */
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /**
   * Calls `listener` once on the first Ctrl-C (SIGINT) or SIGTERM instead of
   * exiting, so a command can clean up; a second signal exits as usual.
   * Returns an unsubscribe. Absent in-process (tests): no interrupts.
   */
  onInterrupt?(listener: () => void): () => void;
}
