import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPTIONS } from '../config/options.ts';
import { parseQuantity } from '../lib/quantity.ts';
import { DEFAULT_BUNDLE_LIMITS, LIMIT_SETTINGS, checkLimits, formatBytes } from './limits.ts';
import type { BundleLimits } from './limits.ts';

test('every limit names a real configuration option whose default matches', () => {
  for (const [limit, setting] of Object.entries(LIMIT_SETTINGS) as Array<[keyof BundleLimits, { key: string; env: string }]>) {
    const [section, key] = setting.key.split('.');
    const opt = OPTIONS.find((o) => o.section === section && o.key === key);
    assert.ok(opt, `${setting.key} is not in src/config/options.ts`);
    assert.equal(opt.env, setting.env);
    const def = typeof opt.default === 'string' ? parseQuantity(opt.default) : opt.default;
    assert.equal(def, DEFAULT_BUNDLE_LIMITS[limit], `default of ${setting.key}`);
  }
});

test('byte counts are shown in binary units', () => {
  assert.equal(formatBytes(1024 ** 3), '1 GiB');
  assert.equal(formatBytes(5 * 1024 ** 2), '5 MiB');
  assert.equal(formatBytes(1500), '1.5 KiB');
  assert.equal(formatBytes(100), '100 B');
});

test('limits must be positive numbers', () => {
  checkLimits(DEFAULT_BUNDLE_LIMITS);
  assert.throws(() => checkLimits({ ...DEFAULT_BUNDLE_LIMITS, maxEntries: 0 }), /maxEntries/);
  assert.throws(() => checkLimits({ ...DEFAULT_BUNDLE_LIMITS, maxAssetBytes: Number.NaN }), /maxAssetBytes/);
});
