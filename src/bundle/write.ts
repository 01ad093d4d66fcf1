/**
 * Writing a bundle from an app folder (`h2o bundle`): validate the manifest,
 * collect files (honouring .appignore), and write a deterministic zip, so
 * the same folder always gives the same bytes and digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ignore from 'ignore';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import type { Ignore } from 'ignore';
import yazl from 'yazl';
import { InvalidError, NotFoundError, TooLargeError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import { entryNameProblem } from './entry-names.ts';
import { inspectBundle } from './inspect.ts';
import type { BundleLimits } from './limits.ts';
import { DEFAULT_BUNDLE_LIMITS, formatBytes } from './limits.ts';
import type { AppManifest, BundleFormat } from './manifest.ts';
import { parseManifest } from './manifest.ts';
import { checkWheelReferences } from './requirements.ts';

/** Always left out (before .appignore, which may re-include with `!pattern`). */
export const DEFAULT_IGNORES = ['.git/', '.hg/', '.svn/', 'venv/', '.venv/', '__pycache__/', '*.pyc', '*.wave', '*.qz'];

/** DOS timestamps are local time; this date encodes as 1980-01-01 00:00 in every time zone. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

const MANIFEST_FILES: Array<{ name: string; format: BundleFormat }> = [
  { name: 'app.toml', format: 'wave' },
  { name: 'q-app.toml', format: 'qz' },
  { name: 'wave-app.toml', format: 'qz' },
];

export interface WriteBundleOptions {
  /** Folder for the bundle; default: the app folder. */
  outDir?: string;
  /** Limits the written bundle is checked against (those the server applies by default). */
  limits?: BundleLimits;
  /** Replaces [App] Version in the bundled manifest (`h2o bundle deploy`); the file in the app folder is left alone. */
  version?: string;
}

export interface WrittenBundle {
  /** Absolute path of the written `<Name>.<Version>.wave` (or `.qz`). */
  path: string;
  manifest: AppManifest;
  warnings: FieldIssue[];
  sha256: string;
  size: number;
  /** Archive entry names, in archive order. */
  files: string[];
}

interface CollectedFile {
  name: string;
  absPath: string;
  executable: boolean;
}

/**
 * The manifest with [App] Version set to `version`. Re-serialised from the
 * parsed TOML, so comments are dropped from the bundled copy; a manifest
 * that does not parse is returned as is for parseManifest to report.
 */
function withVersion(text: string, version: string, fileName: string): string {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch {
    return text;
  }
  const app = doc.App;
  if (typeof app !== 'object' || app === null || Array.isArray(app)) {
    throw new InvalidError(`cannot set the version of ${fileName}`, [{ path: 'App', message: `${fileName} has no [App] table; add [App] with Name and Version` }]);
  }
  (app as Record<string, unknown>).Version = version;
  return `# Version set by the h2o CLI.\n${stringifyToml(doc)}\n`;
}

/** The ignore rules of an app folder: defaults, then its .appignore. */
async function ignoreRules(root: string): Promise<Ignore> {
  const ig = ignore().add(DEFAULT_IGNORES);
  const text = await readFile(join(root, '.appignore'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return ig.add(text);
}

/**
 * Files of the app folder in sorted order. Symlinks are refused (not
 * followed) unless ignored: a link could pull in files from outside the
 * folder, and what it points to differs between machines.
 */
async function collectFiles(root: string, ig: Ignore): Promise<{ files: CollectedFile[]; issues: FieldIssue[] }> {
  const files: CollectedFile[] = [];
  const issues: FieldIssue[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of entries) {
      const rel = prefix + d.name;
      const abs = join(dir, d.name);
      if (d.isDirectory()) {
        if (ig.ignores(`${rel}/`)) continue;
        await walk(abs, `${rel}/`);
      } else if (ig.ignores(rel)) {
        continue;
      } else if (d.isSymbolicLink()) {
        issues.push({ path: rel, message: 'is a symbolic link; bundles may not contain symlinks: replace it with a copy of the file, or list it in .appignore' });
      } else if (!d.isFile()) {
        issues.push({ path: rel, message: 'is not a regular file (a socket, pipe or device); list it in .appignore' });
      } else {
        const problem = entryNameProblem(rel);
        if (problem) {
          issues.push({ path: rel, message: `${problem}; rename it or list it in .appignore` });
          continue;
        }
        const st = await lstat(abs);
        files.push({ name: rel, absPath: abs, executable: (st.mode & 0o111) !== 0 });
      }
    }
  };
  await walk(root, '');
  // Sort by the full path (code-unit order), independent of how directories were walked.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, issues };
}

/**
 * Validates the app folder's manifest and writes `<Name>.<Version>.wave` (or
 * `.qz` for a legacy q-app.toml) into `outDir`. Deterministic: sorted entries,
 * fixed timestamps and modes (0644, or 0755 for executables). The result is
 * re-read with inspectBundle, so an archive the server would refuse (say, a
 * non-image icon) is reported here. Throws InvalidError with every problem.
 */
export async function writeBundle(appDir: string, opts: WriteBundleOptions = {}): Promise<WrittenBundle> {
  const root = resolve(appDir);
  const limits = opts.limits ?? DEFAULT_BUNDLE_LIMITS;
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new NotFoundError(`app folder ${root} does not exist or is not a folder; pass the folder that holds app.toml`);

  let manifestFile: { name: string; format: BundleFormat } | undefined;
  for (const m of MANIFEST_FILES) {
    const st = await lstat(join(root, m.name)).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      throw new InvalidError(`cannot bundle ${root}`, [{ path: m.name, message: 'is a symbolic link; bundles may not contain symlinks: replace it with the file itself' }]);
    }
    if (st?.isFile()) {
      manifestFile = m;
      break;
    }
  }
  if (!manifestFile) {
    throw new InvalidError(`${root} has no app.toml`, [{ path: 'app.toml', message: `is missing in ${root}; create it with [App] Name and Version and [Runtime] Module (see docs/bundles.md)` }]);
  }
  const original = await readFile(join(root, manifestFile.name), 'utf8');
  const text = opts.version === undefined ? original : withVersion(original, opts.version, manifestFile.name);
  const outDir = resolve(opts.outDir ?? root);

  const ig = await ignoreRules(root);
  const collected = await collectFiles(root, ig);
  const issues = collected.issues;
  if (!collected.files.some((f) => f.name === manifestFile.name)) {
    issues.push({ path: manifestFile.name, message: 'is excluded by .appignore, but every bundle needs it; remove the pattern that matches it' });
  }
  const names = new Set(collected.files.map((f) => f.name));
  if (names.has('requirements.txt')) {
    issues.push(...checkWheelReferences(await readFile(join(root, 'requirements.txt'), 'utf8'), names));
  }
  let parsed: ReturnType<typeof parseManifest>;
  try {
    parsed = parseManifest(text, { format: manifestFile.format, archiveFiles: names, fileName: manifestFile.name });
  } catch (err) {
    // Report manifest and file problems together.
    if (!(err instanceof InvalidError) || !issues.length) throw err;
    throw new InvalidError(`cannot bundle ${root}`, [...err.issues, ...issues], { cause: err });
  }
  const { manifest, warnings } = parsed;
  if (issues.length) throw new InvalidError(`cannot bundle ${root}`, issues);
  const ext = manifestFile.format === 'qz' ? 'qz' : 'wave';
  const outPath = join(outDir, `${manifest.app.name}.${manifest.app.version}.${ext}`);
  // The output itself is never bundled, even when .appignore re-includes *.wave.
  const files = collected.files.filter((f) => f.absPath !== outPath);
  if (files.length > limits.maxEntries) {
    throw new TooLargeError(`the bundle would have ${files.length} files, over the server's limit of ${limits.maxEntries}; list what the app does not need (data, build output) in .appignore`);
  }

  const zip = new yazl.ZipFile();
  for (const f of files) {
    const entry = { mtime: FIXED_MTIME, mode: f.executable ? 0o100755 : 0o100644, forceDosTimestamp: true, compress: true };
    if (f.name === manifestFile.name && text !== original) zip.addBuffer(Buffer.from(text), f.name, entry);
    else zip.addFile(f.absPath, f.name, entry);
  }
  zip.end();

  await mkdir(outDir, { recursive: true });
  const tmpPath = join(outDir, `.${manifest.app.name}.${randomBytes(6).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(zip.outputStream, tap, createWriteStream(tmpPath, { flags: 'wx', mode: 0o644 }));
    if (size > limits.maxBundleBytes) {
      throw new TooLargeError(`the bundle is ${formatBytes(size)}, over the server's limit of ${formatBytes(limits.maxBundleBytes)}; list what the app does not need in .appignore`);
    }
    // The server's own checks, so `h2o bundle` fails where an import would.
    const inspected = await inspectBundle(tmpPath, limits);
    await rename(tmpPath, outPath);
    const extraWarnings = inspected.warnings.filter((w) => !warnings.some((x) => x.path === w.path && x.message === w.message));
    return { path: outPath, manifest, warnings: [...warnings, ...extraWarnings], sha256: hash.digest('hex'), size, files: files.map((f) => f.name) };
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
}
