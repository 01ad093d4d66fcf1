/**
 * Blob keys: how files are named in the blob store, and the check every key
 * passes before it reaches a filesystem path or an S3 request.
 */
import { InvalidError } from '../lib/errors.ts';

// Segments start with a letter or digit, so `.`, `..` and hidden names (which
// the filesystem store uses for its own folders) can never be keys.
const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._-]*';
const KEY_PATTERN = new RegExp(`^${SEGMENT}(/${SEGMENT})*$`);
export const MAX_KEY_LENGTH = 512;

/** Throws InvalidError (path `key`) unless `key` is a safe relative key such as `apps/<id>/bundle.wave`. */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new InvalidError('invalid blob key', [
      {
        path: 'key',
        message:
          `${JSON.stringify(key)} is not a valid blob key: use 1-${MAX_KEY_LENGTH} characters of "/"-separated segments ` +
          'made of letters, digits, ".", "_" and "-", each starting with a letter or digit (no leading "/", no "..")',
      },
    ]);
  }
}

/** Where an app version's bundle lives. */
export function appBundleKey(appId: string, format: 'wave' | 'qz'): string {
  return `apps/${appId}/bundle.${format}`;
}

/** Where an app version's icon lives (its media type is kept in the apps row). */
export function appIconKey(appId: string): string {
  return `apps/${appId}/icon`;
}

/** Where an app version's n-th screenshot (from 0) lives. */
export function appScreenshotKey(appId: string, n: number): string {
  return `apps/${appId}/screenshots/${n}`;
}
