/**
 * Reads PostgreSQL error details through drizzle's wrapper (DrizzleQueryError
 * keeps the driver's error as `cause`); node-postgres and PGlite both expose
 * `code` (SQLSTATE) and `constraint` on their errors.
 */

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

interface PgErrorFields {
  code?: unknown;
  constraint?: unknown;
}

function findPgError(err: unknown): PgErrorFields | undefined {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const fields = e as PgErrorFields & { cause?: unknown };
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) return fields;
    e = fields.cause;
  }
  return undefined;
}

/** True when `err` (or its cause) is the PostgreSQL error `code`, optionally on `constraint`. */
export function isPgError(err: unknown, code: string, constraint?: string): boolean {
  const pgErr = findPgError(err);
  if (!pgErr || pgErr.code !== code) return false;
  return constraint === undefined || pgErr.constraint === constraint;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else cannot name a row (and must not reach SQL as a uuid cast). */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
