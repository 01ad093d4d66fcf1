/**
 * Inspecting a bundle at import: header-level checks of the whole archive and
 * decompression of only the few entries the catalog needs (manifest, icon,
 * screenshots, long description, requirements.txt). The full per-byte checks
 * of every entry happen in extract.ts, where the bundle is unpacked.
 */
import { InvalidError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import type { ImageContentType } from './image-type.ts';
import { sniffImage } from './image-type.ts';
import type { BundleLimits } from './limits.ts';
import type { AppManifest, BundleFormat } from './manifest.ts';
import { parseManifest } from './manifest.ts';
import { checkWheelReferences } from './requirements.ts';
import { ZipArchive } from './zip-reader.ts';
import type { ZipEntry } from './zip-reader.ts';

/** A file taken out of the bundle for the catalog. */
export interface Asset {
  /** Path in the archive, e.g. `static/icon.png`. */
  name: string;
  contentType: ImageContentType;
  data: Buffer;
}

export interface InspectedBundle {
  format: BundleFormat;
  /** Archive path of the manifest: app.toml, q-app.toml or wave-app.toml. */
  manifestName: string;
  manifest: AppManifest;
  /** Manifest warnings plus bundle-level ones (no icon, several icons…). */
  warnings: FieldIssue[];
  icon?: Asset;
  /** `static/screenshot*`, in natural name order (screenshot2 before screenshot10). */
  screenshots: Asset[];
  /** Text of the file named by App.LongDescription. */
  longDescription?: string;
  /** Text of requirements.txt at the archive root. */
  requirements?: string;
  entryCount: number;
  /** Sum of the declared decompressed sizes. */
  uncompressedBytes: number;
}

/** Manifest file names by format, in order of preference. */
const MANIFESTS: Array<{ name: string; format: BundleFormat }> = [
  { name: 'app.toml', format: 'wave' },
  { name: 'q-app.toml', format: 'qz' },
  { name: 'wave-app.toml', format: 'qz' },
];

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Files directly in `static/` whose name starts with `prefix`, in natural order. */
function staticFiles(archive: ZipArchive, prefix: string): ZipEntry[] {
  return archive.entries
    .filter((e) => !e.isDirectory && e.name.startsWith(`static/${prefix}`) && !e.name.slice('static/'.length).includes('/'))
    .sort((a, b) => naturalOrder.compare(a.name, b.name) || (a.name < b.name ? -1 : 1));
}

async function readImage(archive: ZipArchive, e: ZipEntry, limits: BundleLimits, role: string): Promise<Asset> {
  const data = await archive.readEntry(e, limits.maxAssetBytes);
  const contentType = sniffImage(data);
  if (!contentType) {
    throw new InvalidError(`the bundle is invalid: ${e.name} is not an image`, [
      { path: e.name, message: `is used as the app's ${role} but is not a PNG, JPEG, GIF, WebP or SVG image (by its content); replace it with an image or rename it` },
    ]);
  }
  return { name: e.name, contentType, data };
}

function decodeText(data: Buffer, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new InvalidError(`the bundle is invalid: ${name} is not UTF-8 text`, [{ path: name, message: 'is not valid UTF-8 text; save it as UTF-8' }]);
  }
}

/** Finds the manifest at the archive root and the format it implies, or throws naming what was found instead. */
export function findManifest(archive: ZipArchive): { entry: ZipEntry; format: BundleFormat; warnings: FieldIssue[] } {
  const present = MANIFESTS.filter((m) => archive.find(m.name) && !archive.find(m.name)!.isDirectory);
  const chosen = present[0];
  if (!chosen) {
    const nested = archive.entries.find((e) => /(^|\/)(app|q-app|wave-app)\.toml$/.test(e.name));
    const hint = nested ? ` (found ${nested.name}: bundle the contents of the app folder, not the folder itself)` : '';
    throw new InvalidError('the bundle has no app.toml', [{ path: 'app.toml', message: `is missing at the root of the archive${hint}; add app.toml with [App] Name and Version and [Runtime] Module` }]);
  }
  const warnings = present.slice(1).map((m) => ({ path: m.name, message: `is ignored: ${chosen.name} at the root takes precedence; remove one of them` }));
  return { entry: archive.find(chosen.name)!, format: chosen.format, warnings };
}

/**
 * What an import needs to know about the bundle at `path`: its manifest,
 * icon, screenshots, long description and requirements. Refuses hostile or
 * invalid bundles with InvalidError (all issues) or TooLargeError (a limit).
 * Decompresses only those few entries, with real sizes enforced.
 */
export async function inspectBundle(path: string, limits: BundleLimits): Promise<InspectedBundle> {
  const archive = await ZipArchive.open(path, limits);
  try {
    return await inspectOpened(archive, limits);
  } finally {
    await archive.close();
  }
}

/** inspectBundle on an archive already opened (and header-checked) by ZipArchive.open. */
export async function inspectOpened(archive: ZipArchive, limits: BundleLimits): Promise<InspectedBundle> {
  const files = archive.fileNames();
  const found = findManifest(archive);
  const text = decodeText(await archive.readEntry(found.entry, limits.maxAssetBytes), found.entry.name);
  const { manifest, warnings: manifestWarnings } = parseManifest(text, { format: found.format, archiveFiles: files, fileName: found.entry.name });
  const warnings: FieldIssue[] = [...found.warnings, ...manifestWarnings];

  const icons = staticFiles(archive, 'icon');
  let icon: Asset | undefined;
  if (icons[0]) {
    icon = await readImage(archive, icons[0], limits, 'icon');
    if (icons.length > 1) warnings.push({ path: icons[0].name, message: `is used as the icon; ${icons.slice(1).map((e) => e.name).join(', ')} ignored (keep one static/icon.*)` });
  } else {
    warnings.push({ path: 'static/icon.png', message: 'no icon (static/icon.*); the catalog shows a placeholder' });
  }
  const screenshots: Asset[] = [];
  for (const e of staticFiles(archive, 'screenshot')) screenshots.push(await readImage(archive, e, limits, 'screenshot'));

  let longDescription: string | undefined;
  if (manifest.app.longDescription) {
    const e = archive.find(manifest.app.longDescription)!;
    longDescription = decodeText(await archive.readEntry(e, limits.maxAssetBytes), e.name);
  }
  let requirements: string | undefined;
  const req = archive.find('requirements.txt');
  if (req && !req.isDirectory) {
    requirements = decodeText(await archive.readEntry(req, limits.maxAssetBytes), req.name);
    const issues = checkWheelReferences(requirements, files);
    if (issues.length) throw new InvalidError('requirements.txt references wheels that are not in the bundle', issues);
  }
  return {
    format: found.format,
    manifestName: found.entry.name,
    manifest,
    warnings,
    icon,
    screenshots,
    longDescription,
    requirements,
    entryCount: archive.entries.length,
    uncompressedBytes: archive.uncompressedBytes,
  };
}
