/**
 * The operator's CatalogPort on the app repository: an app version as the
 * operator needs it, from the stored app record. The stored manifest is the
 * parsed app.toml document; it is parsed again with the same parser as the
 * import, so [Runtime], [[Env]] and [[File]] come out normalised exactly as
 * when the app was accepted.
 */
import { stringify } from 'smol-toml';
import { parseManifest } from '../bundle/manifest.ts';
import { NotFoundError } from '../lib/errors.ts';
import type { CatalogPort, ResolvedApp } from '../operator/resolved-app.ts';
import type { AppRecord, AppRepository } from '../repository/apps.ts';

/** A CatalogPort reading the app repository. */
export function repositoryCatalog(apps: AppRepository): CatalogPort {
  const find = async (get: () => Promise<AppRecord>) => {
    try {
      return resolvedFromRecord(await get());
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
  return {
    resolveById: (id) => find(() => apps.get(id)),
    resolveByNameVersion: (name, version) => find(() => apps.getByNameVersion(name, version)),
  };
}

/** The operator's view of one stored app version. */
export function resolvedFromRecord(rec: AppRecord): ResolvedApp {
  const { manifest } = parseManifest(stringify(rec.manifest), { format: rec.format });
  return {
    id: rec.id,
    name: rec.name,
    version: rec.version,
    title: rec.title,
    module: manifest.runtime.module,
    bundleDigest: `sha256:${rec.bundleSha256}`,
    runtime: manifest.runtime,
    env: manifest.env,
    files: manifest.files,
    ...(manifest.runtime.runtimeVersion ? { runtimeVersion: manifest.runtime.runtimeVersion } : {}),
  };
}
