/**
 * Rules for names of entries inside a bundle, shared by the reader (untrusted
 * archives) and the writer (`h2o bundle`), so both accept the same names.
 */

const MAX_NAME_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;

/**
 * Why `name` is not a safe archive entry name, or undefined when it is.
 * Safe: relative, `/`-separated, no `.`/`..`/empty segments, no backslash,
 * drive letter or control character. A trailing `/` marks a directory.
 */
export function entryNameProblem(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character in its name';
  if (name.includes('\\')) return "contains a backslash: archives must use '/' as the path separator (re-create the bundle with `h2o bundle`)";
  if (name.startsWith('/')) return 'is an absolute path: entries must be relative to the archive root';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter: entries must be relative to the archive root';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `has a name longer than ${MAX_NAME_BYTES} bytes`;
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  for (const s of segments) {
    if (s === '..') return "contains a '..' segment (path traversal)";
    if (s === '.') return "contains a '.' segment: entries must be normalized paths";
    if (s === '') return "contains an empty segment ('//')";
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) return `has a path segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** Every parent directory of an entry: `a/b/c.txt` → `a`, `a/b`. */
export function parentDirs(name: string): string[] {
  const parts = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}
