/**
 * The recognisable form of platform API tokens: `h2oat_` + 43 base64url
 * characters (32 random bytes). The prefix lets people and secret scanners
 * spot a leaked token, and lets authentication tell it from an ID token.
 */
export const PLATFORM_TOKEN_PREFIX = 'h2oat_';

/** Whether `s` looks like a platform token (by prefix; not whether it is valid). */
export function isPlatformToken(s: string): boolean {
  return s.startsWith(PLATFORM_TOKEN_PREFIX);
}
