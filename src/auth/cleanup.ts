/**
 * Scheduled removal of expired sign-in state: browser sessions as soon as
 * they expire, platform tokens a while after (so `GET /api/v1/tokens` can
 * still show a user that a script's token expired). Every replica may run
 * it; the deletes are idempotent.
 */

/** A store that can remove what expired before a time (src/repository/sessions.ts and tokens.ts). */
export interface ExpiringStore {
  deleteExpired(before: Date): Promise<number>;
}

/** Expired platform tokens stay listed this long before they are deleted. */
export const EXPIRED_TOKEN_RETENTION_MS = 7 * 86_400_000;

export interface AuthCleanupOptions {
  sessions?: ExpiringStore;
  tokens: ExpiringStore;
  /** Time between runs (the first run is one interval after start). */
  intervalMs: number;
  /** Told what each run removed, or why it failed. */
  onRun?: (result: { sessions: number; tokens: number } | { error: unknown }) => void;
}

/** Runs one cleanup now. */
export async function cleanupExpired(o: Pick<AuthCleanupOptions, 'sessions' | 'tokens'>, now = new Date()): Promise<{ sessions: number; tokens: number }> {
  const sessions = o.sessions ? await o.sessions.deleteExpired(now) : 0;
  const tokens = await o.tokens.deleteExpired(new Date(now.getTime() - EXPIRED_TOKEN_RETENTION_MS));
  return { sessions, tokens };
}

/** Starts the periodic cleanup; `stop()` ends it and waits for a run in progress. */
export function startAuthCleanup(o: AuthCleanupOptions): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = cleanupExpired(o)
      .then((r) => o.onRun?.(r), (error: unknown) => o.onRun?.({ error }))
      .finally(() => (running = undefined));
  }, o.intervalMs);
  // The timer alone never keeps the process alive.
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
