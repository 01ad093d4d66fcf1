/**
 * Bounds applied to every untrusted bundle (upload, import, extraction), so a
 * hostile archive cannot exhaust disk, memory or time.
 */
export interface BundleLimits {
  /** Largest bundle file (the compressed .wave/.qz), in bytes. */
  maxBundleBytes: number;
  /** Most entries (files and directories) in the archive. */
  maxEntries: number;
  /** Largest total decompressed size of all entries, in bytes. */
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio of one entry (zip-bomb guard); see RATIO_CHECK_MIN_BYTES. */
  maxCompressionRatio: number;
  /** Largest app.toml, icon, screenshot, long description or requirements.txt, in bytes. */
  maxAssetBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxBundleBytes: 1024 ** 3,
  maxEntries: 10_000,
  maxUncompressedBytes: 4 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxAssetBytes: 5 * 1024 ** 2,
});

/**
 * Entries smaller than this are exempt from the ratio check: a tiny file of
 * repeated bytes compresses 1000:1 and is harmless, and the total
 * uncompressed limit still bounds them all together.
 */
export const RATIO_CHECK_MIN_BYTES = 64 * 1024;

/**
 * Where an administrator raises each limit: the server configuration key and
 * its environment variable (kept in step with src/config/options.ts by a test).
 */
export const LIMIT_SETTINGS: Readonly<Record<keyof BundleLimits, { key: string; env: string }>> = Object.freeze({
  maxBundleBytes: { key: 'Server.MaxUploadSize', env: 'H2O_CLOUD_SERVER_MAX_UPLOAD_SIZE' },
  maxEntries: { key: 'Bundle.MaxEntries', env: 'H2O_CLOUD_BUNDLE_MAX_ENTRIES' },
  maxUncompressedBytes: { key: 'Bundle.MaxUncompressedSize', env: 'H2O_CLOUD_BUNDLE_MAX_UNCOMPRESSED_SIZE' },
  maxCompressionRatio: { key: 'Bundle.MaxCompressionRatio', env: 'H2O_CLOUD_BUNDLE_MAX_COMPRESSION_RATIO' },
  maxAssetBytes: { key: 'Bundle.MaxAssetSize', env: 'H2O_CLOUD_BUNDLE_MAX_ASSET_SIZE' },
});

/** "an administrator can raise it with Bundle.MaxEntries (H2O_CLOUD_BUNDLE_MAX_ENTRIES)". */
export function howToRaise(limit: keyof BundleLimits): string {
  const s = LIMIT_SETTINGS[limit];
  return `an administrator can raise the limit with ${s.key} in the server configuration (${s.env})`;
}

/** Human-readable byte count: 1073741824 → "1 GiB", 1500 → "1500 B". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${text} ${units[u]}`;
}

/** Checks that every limit is a positive finite number; throws naming the bad one. */
export function checkLimits(limits: BundleLimits): void {
  for (const key of Object.keys(DEFAULT_BUNDLE_LIMITS) as Array<keyof BundleLimits>) {
    const v = limits[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new TypeError(`bundle limit ${key} must be a positive number, got ${String(v)}`);
    }
  }
}
