import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidError } from '../lib/errors.ts';
import { loadConfig } from './load.ts';
import { isRuntimeVersionName, runtimeVersionObjectName } from './runtime-version-name.ts';

test("seed-style names map to object names: '_' → '-', lowercase", () => {
  assert.equal(runtimeVersionObjectName('deb11_py310_wlatest'), 'deb11-py310-wlatest');
  assert.equal(runtimeVersionObjectName('Deb12_PY311'), 'deb12-py311');
  assert.equal(runtimeVersionObjectName('deb12-py311'), 'deb12-py311');
  assert.ok(isRuntimeVersionName('deb10_py37_wlatest'));
  assert.equal(isRuntimeVersionName('_leading'), false);
  assert.equal(isRuntimeVersionName('has space'), false);
  assert.equal(isRuntimeVersionName(''), false);
});

function toml(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rv-name-')), 'appstore.toml');
  writeFileSync(file, text);
  return file;
}

test("the seed's [[RuntimeVersion]] entries load as written, including seed-style names", () => {
  const { config } = loadConfig({
    file: toml(`[[RuntimeVersion]]\nName = 'deb10_py37_wlatest'\nImage = "container-registry/wave-launcher:latest"\nDefault = true\nDeprecated = false\n\n[[RuntimeVersion]]\nName = "deb9_py36"\nImage = "container-registry/wave-launcher:old"\nDeprecated = true\n`),
  });
  assert.deepEqual(config.runtimeVersions, [
    { name: 'deb10_py37_wlatest', image: 'container-registry/wave-launcher:latest', default: true, deprecated: false },
    { name: 'deb9_py36', image: 'container-registry/wave-launcher:old', default: false, deprecated: true },
  ]);
});

test('two names that map to the same object are refused, naming the entry', () => {
  assert.throws(
    () => loadConfig({ file: toml(`[[RuntimeVersion]]\nName = "deb11_py310"\nImage = "x"\n[[RuntimeVersion]]\nName = "DEB11-py310"\nImage = "y"\n`) }),
    (err: unknown) => err instanceof InvalidError && /RuntimeVersion\[1\]\.Name: "DEB11-py310" names the same RuntimeVersion object \(deb11-py310\)/.test(err.message),
  );
});
