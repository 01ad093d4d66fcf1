/**
 * Importing a bundle: stream the upload to a staged file (hashing it), read
 * the manifest and assets from the archive's central directory, store the
 * blobs, then insert the row. A failure at any step removes what earlier
 * steps stored, so a failed import leaves neither a row nor orphaned blobs.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { canImportApp } from '../auth/policy.ts';
import { inspectBundle } from '../bundle/inspect.ts';
import { receiveToFile } from '../bundle/receive.ts';
import { ConflictError, ForbiddenError, type FieldIssue } from '../lib/errors.ts';
import type { Viewer, Visibility } from '../lib/principal.ts';
import { nameNotAvailable, type AppRecord } from '../repository/apps.ts';
import { appBundleKey, appIconKey, appScreenshotKey } from '../storage/keys.ts';
import type { ApiContext } from './app.ts';

export interface ImportOutcome {
  app: AppRecord;
  warnings: FieldIssue[];
}

/** Milliseconds each import phase took, for the import log line. */
export type ImportTimings = Record<'receive' | 'inspect' | 'store' | 'insert', number>;

export async function importBundle(ctx: ApiContext, viewer: Viewer, body: Readable, visibility: Visibility, timings?: Partial<ImportTimings>): Promise<ImportOutcome> {
  if (!canImportApp(viewer)) {
    throw new ForbiddenError(viewer ? 'importing apps needs the full-access role; ask an admin for it' : 'sign in to import apps');
  }
  const { apps, blobs, config } = ctx.deps;
  const staged = join(blobs.stagingDir(), `upload-${randomUUID()}.zip`);
  const stored: string[] = [];
  try {
    let t = performance.now();
    const lap = (phase: keyof ImportTimings) => {
      const now = performance.now();
      if (timings) timings[phase] = Math.round(now - t);
      t = now;
    };
    const { sha256, size } = await receiveToFile(body, staged, ctx.limits.maxBundleBytes);
    lap('receive');
    const bundle = await inspectBundle(staged, ctx.limits);
    lap('inspect');
    const m = bundle.manifest;
    // Cheap early answers before any blob is written; the insert re-checks them atomically.
    // The name comes first: someone else's name gets one answer whatever versions it has (issue #24 item 6).
    const nameOwner = await apps.nameOwner(m.app.name);
    if (nameOwner && nameOwner.owner !== viewer.subject && !viewer.admin) throw nameNotAvailable(m.app.name);
    if (await apps.getByNameVersion(m.app.name, m.app.version).catch(() => null)) {
      throw new ConflictError(`app ${m.app.name} version ${m.app.version} already exists; bump [App] Version in app.toml and import again`);
    }
    const id = randomUUID();
    let iconKey: string | null = null;
    if (bundle.icon) {
      await blobs.putBuffer(appIconKey(id), bundle.icon.data, bundle.icon.contentType);
      stored.push((iconKey = appIconKey(id)));
    }
    const screenshots = [];
    for (const [n, s] of bundle.screenshots.entries()) {
      await blobs.putBuffer(appScreenshotKey(id, n), s.data, s.contentType);
      stored.push(appScreenshotKey(id, n));
      screenshots.push({ key: appScreenshotKey(id, n), type: s.contentType });
    }
    await blobs.putFile(appBundleKey(id, bundle.format), staged);
    stored.push(appBundleKey(id, bundle.format));
    lap('store');
    const app = await apps.create(
      {
        id,
        name: m.app.name,
        version: m.app.version,
        title: m.app.title || m.app.name,
        description: m.app.description ?? '',
        category: m.app.category ?? '',
        keywords: m.app.keywords,
        owner: viewer.subject,
        ownerName: viewer.name,
        visibility,
        // smol-toml builds null-prototype tables; store plain JSON (TOML dates become ISO strings).
        manifest: JSON.parse(JSON.stringify(m.raw)) as Record<string, unknown>,
        format: bundle.format,
        bundleKey: appBundleKey(id, bundle.format),
        bundleSha256: sha256,
        bundleSize: size,
        iconKey,
        iconType: bundle.icon?.contentType ?? null,
        screenshots,
        longDescription: bundle.longDescription ?? null,
        runtimeVersion: m.runtime.runtimeVersion ?? null,
      },
      { appVersionLimit: viewer.admin ? undefined : config.scheduler.appVersionLimit, anyName: viewer.admin },
    );
    lap('insert');
    stored.length = 0;
    return { app, warnings: bundle.warnings };
  } finally {
    await Promise.allSettled([rm(staged, { force: true }), ...stored.map((k) => blobs.delete(k))]);
  }
}
