/** A problem with one field of the input: where it is and what to do about it. */
export interface FieldIssue {
  /** Path of the offending field, e.g. `Env[2].SecretKey` or `query.limit`. */
  path: string;
  /** What is wrong and how to fix it, in one sentence. */
  message: string;
}

/**
 * Typed errors, mapped once to HTTP status (src/api) and once to CLI exit
 * codes (src/cli). Only client errors (4xx) show their message to callers.
 */
export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidError extends AppError {
  readonly status = 400;
  readonly code = 'Invalid';
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[] = [], options?: ErrorOptions) {
    super(issues.length ? `${message}:\n${formatIssues(issues)}` : message, options);
    this.issues = issues;
  }
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = 'Unauthorized';
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = 'Forbidden';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'NotFound';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'Conflict';
}

export class TooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'TooLarge';
}

/** A dependency the request needs is not there (no cluster configured, logs not served); the message says why and what to do. */
export class UnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'Unavailable';
}

/** Renders field issues one per line, `path: message`. */
export function formatIssues(issues: FieldIssue[]): string {
  return issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
