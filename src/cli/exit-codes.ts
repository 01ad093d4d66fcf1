/**
 * The one mapping from typed errors to process exit codes, so scripts can
 * tell a mistake in their input (2) from a failure of the tool (1).
 */
import { CommanderError } from 'commander';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, TooLargeError, UnauthorizedError } from '../lib/errors.ts';
import { NotReadyError } from './wait.ts';

export const EXIT = {
  ok: 0,
  /** Unexpected failure (a bug, an unreachable server, a full disk). */
  failure: 1,
  /** Invalid input: bad arguments, an invalid app.toml or bundle, a bundle over a limit. */
  invalid: 2,
  notFound: 3,
  unauthorized: 4,
  forbidden: 5,
  conflict: 6,
  /** An instance did not become Ready: it failed, was stopped, or the wait timed out. */
  notReady: 7,
} as const;

/** Exit code for an error thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
  if (err instanceof InvalidError || err instanceof TooLargeError) return EXIT.invalid;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof UnauthorizedError) return EXIT.unauthorized;
  if (err instanceof ForbiddenError) return EXIT.forbidden;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof NotReadyError) return EXIT.notReady;
  return EXIT.failure;
}
