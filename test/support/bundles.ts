/** Builds real bundles for tests with the same writer `h2o bundle` uses. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle } from '../../src/bundle/write.ts';
import { repoRoot } from './go-tool.ts';

export const fixtureApp = join(repoRoot, 'test', 'fixtures', 'bundles', 'wave-app');

export interface TestAppSpec {
  name: string;
  version: string;
  title?: string;
  description?: string;
  category?: string;
  keywords?: string[];
  /** More TOML appended to app.toml. */
  extraToml?: string;
  /** Include the fixture's icon and screenshot (default true). */
  assets?: boolean;
}

/** Writes an app folder for `spec` and bundles it; returns the .wave bytes. */
export async function makeBundle(spec: TestAppSpec): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'appstore-app-'));
  try {
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', '__init__.py'), '');
    writeFileSync(join(dir, 'app', 'run.py'), 'from h2o_wave import main, app, Q, ui\n');
    writeFileSync(join(dir, 'requirements.txt'), 'h2o-wave\n');
    if (spec.assets !== false) {
      mkdirSync(join(dir, 'static'));
      copyFileSync(join(fixtureApp, 'static', 'icon.png'), join(dir, 'static', 'icon.png'));
      copyFileSync(join(fixtureApp, 'static', 'screenshot1.png'), join(dir, 'static', 'screenshot1.png'));
    }
    const q = (s: string) => JSON.stringify(s);
    writeFileSync(
      join(dir, 'app.toml'),
      [
        '[App]',
        `Name = ${q(spec.name)}`,
        `Version = ${q(spec.version)}`,
        `Title = ${q(spec.title ?? spec.name)}`,
        `Description = ${q(spec.description ?? 'A test app')}`,
        `Category = ${q(spec.category ?? 'Other')}`,
        `Keywords = [${(spec.keywords ?? []).map(q).join(', ')}]`,
        '[Runtime]',
        'Module = "app.run"',
        spec.extraToml ?? '',
      ].join('\n'),
    );
    const out = await writeBundle(dir, { outDir: join(dir, 'out') });
    return readFileSync(out.path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
