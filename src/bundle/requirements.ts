/**
 * requirements.txt checks: a line may reference a wheel shipped inside the
 * bundle by a path relative to the archive root; such a wheel must exist.
 */
import { posix } from 'node:path';
import type { FieldIssue } from '../lib/errors.ts';

/** A wheel referenced by a local path on one line of requirements.txt. */
export interface WheelReference {
  /** 1-based line number. */
  line: number;
  /** The line as written (without the trailing comment). */
  text: string;
  /** The referenced path as written. */
  path: string;
}

/** Local `.whl` paths referenced in requirements.txt (URLs to other hosts are not local). */
export function wheelReferences(requirements: string): WheelReference[] {
  const out: WheelReference[] = [];
  const lines = requirements.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    // pip: a comment starts at '#' at line start or after whitespace.
    const text = lines[i]!.replace(/(^|\s)#.*$/, '').trim();
    if (!text) continue;
    for (const token of text.split(/[\s;]+/)) {
      let path = token.replace(/\[[^\]]*\]$/, ''); // `./x.whl[extra]`
      if (path.startsWith('--') && path.includes('=')) path = path.slice(path.indexOf('=') + 1);
      if (/^file:/i.test(path)) path = path.replace(/^file:(\/\/)?/i, '');
      else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) continue; // https://…, git+https://…
      if (!/\.whl$/i.test(path)) continue;
      out.push({ line: i + 1, text, path });
    }
  }
  return out;
}

/** One issue per wheel reference that is absolute, escapes the archive or is missing from `files`. */
export function checkWheelReferences(requirements: string, files: Set<string>, fileName = 'requirements.txt'): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const ref of wheelReferences(requirements)) {
    const path = `${fileName}:${ref.line}`;
    if (ref.path.startsWith('/')) {
      issues.push({ path, message: `"${ref.text}" references the absolute path ${ref.path}; ship the wheel in the bundle and reference it relative to the archive root (e.g. ./wheels/${posix.basename(ref.path)})` });
      continue;
    }
    const normalized = posix.normalize(ref.path);
    if (normalized.startsWith('../') || normalized === '..') {
      issues.push({ path, message: `"${ref.text}" references ${ref.path}, outside the bundle; put the wheel inside the app folder` });
      continue;
    }
    if (!files.has(normalized)) {
      issues.push({ path, message: `"${ref.text}" references ${ref.path}, which is not in the bundle; add the wheel (check .appignore) or fix the path` });
    }
  }
  return issues;
}
