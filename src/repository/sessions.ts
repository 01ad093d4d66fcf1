/**
 * Browser sign-in sessions in the database (every replica sees them). The
 * caller gets a random token for the cookie; only its SHA-256 is stored, and
 * the provider's ID and refresh tokens are stored sealed (AES-256-GCM).
 */
import { createHash, randomBytes } from 'node:crypto';
import { eq, lt } from 'drizzle-orm';
import { seal, unseal } from '../lib/seal.ts';
import type { Database } from './db.ts';
import { sessions } from './schema.ts';

export interface NewSession {
  subject: string;
  name: string;
  roles: string[];
  idToken?: string;
  refreshToken?: string;
  /** When the provider's tokens expire (refresh after that). */
  tokenExpiresAt?: Date;
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

/** What a refresh at the provider changes in a session. */
export interface RefreshedSession {
  name: string;
  roles: string[];
  idToken: string;
  refreshToken?: string;
  tokenExpiresAt?: Date;
  /** The session's new end (sliding: SessionTTL from the refresh). */
  expiresAt: Date;
}

export interface Session {
  subject: string;
  name: string;
  roles: string[];
  idToken?: string;
  refreshToken?: string;
  tokenExpiresAt?: Date;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

const SEAL_CONTEXT = 'appstore-session-token';
/** last_seen_at is written at most this often per session, so reads stay reads. */
const TOUCH_EVERY_MS = 60_000;

export class SessionStore {
  /** `key`: a 32-byte server secret that seals the stored provider tokens. */
  constructor(
    private readonly database: Database,
    private readonly key: Buffer,
  ) {}

  /** Stores a session and returns the token for the cookie (shown once, stored hashed). */
  async create(s: NewSession, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + s.ttlSeconds * 1000);
    await this.database.db.insert(sessions).values({
      idHash: hash(token),
      subject: s.subject,
      name: s.name,
      roles: s.roles,
      idToken: s.idToken ? seal(this.key, s.idToken, SEAL_CONTEXT) : null,
      refreshToken: s.refreshToken ? seal(this.key, s.refreshToken, SEAL_CONTEXT) : null,
      tokenExpiresAt: s.tokenExpiresAt ?? null,
      createdAt: now,
      expiresAt,
      lastSeenAt: now,
    });
    return { token, expiresAt };
  }

  /** The live session for a cookie token; undefined when unknown or expired (an expired one is deleted). */
  async get(token: string, now = new Date()): Promise<Session | undefined> {
    const [row] = await this.database.db.select().from(sessions).where(eq(sessions.idHash, hash(token)));
    if (!row) return undefined;
    if (row.expiresAt.getTime() <= now.getTime()) {
      await this.database.db.delete(sessions).where(eq(sessions.idHash, row.idHash));
      return undefined;
    }
    if (now.getTime() - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.database.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.idHash, row.idHash));
      row.lastSeenAt = now;
    }
    const idToken = row.idToken ? unseal(this.key, row.idToken, SEAL_CONTEXT) : undefined;
    const refreshToken = row.refreshToken ? unseal(this.key, row.refreshToken, SEAL_CONTEXT) : undefined;
    return {
      subject: row.subject,
      name: row.name,
      roles: row.roles,
      ...(idToken ? { idToken } : {}),
      ...(refreshToken ? { refreshToken } : {}),
      ...(row.tokenExpiresAt ? { tokenExpiresAt: row.tokenExpiresAt } : {}),
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      lastSeenAt: row.lastSeenAt,
    };
  }

  /** Stores the result of a refresh at the provider (new tokens, current name and roles, later end); false when the session is gone. */
  async refreshed(token: string, r: RefreshedSession): Promise<boolean> {
    const rows = await this.database.db
      .update(sessions)
      .set({
        name: r.name,
        roles: r.roles,
        idToken: seal(this.key, r.idToken, SEAL_CONTEXT),
        // A provider that does not rotate refresh tokens sends none: keep the old one.
        ...(r.refreshToken ? { refreshToken: seal(this.key, r.refreshToken, SEAL_CONTEXT) } : {}),
        tokenExpiresAt: r.tokenExpiresAt ?? null,
        expiresAt: r.expiresAt,
      })
      .where(eq(sessions.idHash, hash(token)))
      .returning({ idHash: sessions.idHash });
    return rows.length > 0;
  }

  /** Ends a session (logout); returns whether it existed. */
  async delete(token: string): Promise<boolean> {
    const r = await this.database.db.delete(sessions).where(eq(sessions.idHash, hash(token))).returning({ idHash: sessions.idHash });
    return r.length > 0;
  }

  /** Removes expired sessions; returns how many. */
  async deleteExpired(now = new Date()): Promise<number> {
    const r = await this.database.db.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ idHash: sessions.idHash });
    return r.length;
  }
}
