/**
 * Platform API tokens in the database. A token is `h2oat_` followed by 32
 * random bytes (base64url): the prefix lets people and secret scanners
 * recognise it, and its entropy makes a plain SHA-256 a safe stored form
 * (no salt or slow hash needed, and lookup is by hash). The secret is shown
 * once, at creation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, lt } from 'drizzle-orm';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { PLATFORM_TOKEN_PREFIX } from '../lib/platform-token.ts';
import type { Database } from './db.ts';
import { isPgError, UNIQUE_VIOLATION } from './pg-errors.ts';
import { apiTokens } from './schema.ts';


/** last_used_at is written at most this often per token, so using a token stays a read. */
const TOUCH_EVERY_MS = 60_000;

/** What a listing shows of a token (never the secret). */
export interface TokenInfo {
  id: string;
  name: string;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt?: Date;
}

/** Who a token acts as: its creator, with the roles the creator had at creation. */
export interface TokenOwner {
  subject: string;
  name: string;
  roles: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export class TokenStore {
  constructor(private readonly database: Database) {}

  /** Creates a token for `owner`; returns its listing and the secret (shown once). Names are unique per user. */
  async create(owner: TokenOwner, name: string, ttlSeconds: number, now = new Date()): Promise<{ token: TokenInfo; secret: string }> {
    const secret = PLATFORM_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    try {
      const [row] = await this.database.db
        .insert(apiTokens)
        .values({ secretHash: hash(secret), name, subject: owner.subject, userName: owner.name, roles: owner.roles, createdAt: now, expiresAt: new Date(now.getTime() + ttlSeconds * 1000) })
        .returning();
      return { token: info(row!), secret };
    } catch (err) {
      if (isPgError(err, UNIQUE_VIOLATION, 'api_tokens_subject_name_unique')) throw new ConflictError(`you already have a token named "${name}"; pick another name or delete that token first`);
      throw err;
    }
  }

  /** The owner of a live token; undefined when unknown, revoked or expired. Records the use (at most once a minute). */
  async verify(secret: string, now = new Date()): Promise<(TokenOwner & { id: string }) | undefined> {
    const [row] = await this.database.db.select().from(apiTokens).where(eq(apiTokens.secretHash, hash(secret)));
    if (!row || row.expiresAt.getTime() <= now.getTime()) return undefined;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      await this.database.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id));
    }
    return { id: row.id, subject: row.subject, name: row.userName, roles: row.roles };
  }

  /** The tokens of one user, oldest first (expired ones included until cleaned up, so the user sees why a script stopped). */
  async list(subject: string): Promise<TokenInfo[]> {
    const rows = await this.database.db.select().from(apiTokens).where(eq(apiTokens.subject, subject)).orderBy(asc(apiTokens.createdAt), asc(apiTokens.name));
    return rows.map(info);
  }

  /** Revokes (deletes) one of `subject`'s tokens; NotFoundError when it has no such token. */
  async revoke(subject: string, id: string): Promise<void> {
    // A malformed id is simply no such token (and never reaches the uuid column).
    const r = UUID.test(id) ? await this.database.db.delete(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.subject, subject))).returning({ id: apiTokens.id }) : [];
    if (!r.length) throw new NotFoundError(`you have no token with id "${id}"; list yours with GET /api/v1/tokens`);
  }

  /** Deletes tokens that expired before `olderThan`; returns how many. */
  async deleteExpired(olderThan = new Date()): Promise<number> {
    const r = await this.database.db.delete(apiTokens).where(lt(apiTokens.expiresAt, olderThan)).returning({ id: apiTokens.id });
    return r.length;
  }
}

function info(row: typeof apiTokens.$inferSelect): TokenInfo {
  return { id: row.id, name: row.name, createdAt: row.createdAt, expiresAt: row.expiresAt, ...(row.lastUsedAt ? { lastUsedAt: row.lastUsedAt } : {}) };
}
