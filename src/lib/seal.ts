/**
 * Authenticated encryption of short strings (AES-256-GCM) with a 32-byte
 * server key: for secrets at rest (refresh tokens) and for state the server
 * hands to a browser and must get back unchanged (the sign-in cookie).
 * Format: base64url(iv[12] | tag[16] | ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Encrypts `plain`; `context` binds the result to one use (a sealed session token is no sign-in cookie). */
export function seal(key: Buffer, plain: string, context: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(context));
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64url');
}

/** Decrypts what {@link seal} made with the same key and context; undefined when it was altered or is not sealed. */
export function unseal(key: Buffer, sealed: string, context: string): string | undefined {
  const b = Buffer.from(sealed, 'base64url');
  if (b.length < 28) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12));
    d.setAAD(Buffer.from(context));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
