import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidError } from '../lib/errors.ts';
import { renderProgress } from './progress-page.ts';
import { launcherSettingsFromEnv, parseListen } from './settings.ts';

const base = {
  H2O_CLOUD_BUNDLE_URL: 'http://127.0.0.1:8080/api/v1/apps/a/bundle',
  H2O_CLOUD_BUNDLE_DIGEST: `sha256:${'a'.repeat(64)}`,
  H2O_CLOUD_LAUNCHER_TOKEN: 'lt1.secret',
  H2O_CLOUD_APP_MODULE: 'app.run',
};

test('settings from the operator env: defaults, and the token is kept from the children', () => {
  const s = launcherSettingsFromEnv({ ...base, H2O_WAVE_LISTEN: ':10101', H2O_WAVE_BASE_URL: '/instance/x', GREETING: 'hi' });
  assert.deepEqual(s.listen, { host: '', port: 10101 });
  assert.equal(s.waveAddress, 'http://127.0.0.1:10101');
  assert.equal(s.baseURL, '/instance/x/');
  assert.equal(s.appDir, '/app');
  assert.equal(s.launcherToken, 'lt1.secret');
  assert.equal(s.childEnv.GREETING, 'hi');
  assert.equal(s.childEnv.H2O_CLOUD_LAUNCHER_TOKEN, undefined);
  assert.equal(s.uv, undefined);
  assert.equal(launcherSettingsFromEnv({ ...base, H2O_CLOUD_LAUNCHER_UV: 'none' }).uv, null);
});

test('bad or missing variables: one InvalidError naming each', () => {
  assert.throws(
    () => launcherSettingsFromEnv({ H2O_CLOUD_BUNDLE_URL: 'ftp://x', H2O_CLOUD_APP_MODULE: 'app-run', H2O_WAVE_LISTEN: 'nope', H2O_CLOUD_APP_DIR: 'rel' }),
    (err: unknown) => {
      assert.ok(err instanceof InvalidError);
      const paths = err.issues.map((i) => i.path).sort();
      assert.deepEqual(paths, ['H2O_CLOUD_APP_DIR', 'H2O_CLOUD_APP_MODULE', 'H2O_CLOUD_BUNDLE_URL', 'H2O_WAVE_LISTEN']);
      return true;
    },
  );
  assert.throws(() => launcherSettingsFromEnv({ ...base, H2O_CLOUD_BUNDLE_DIGEST: undefined }), /H2O_CLOUD_BUNDLE_DIGEST: is required/);
  assert.throws(() => launcherSettingsFromEnv({ ...base, H2O_CLOUD_BUNDLE_DIGEST: 'md5:abc' }), /must be sha256/);
});

test('the readiness port: optional, a port number other than the listen port', () => {
  assert.equal(launcherSettingsFromEnv(base).readyPort, undefined);
  assert.equal(launcherSettingsFromEnv({ ...base, H2O_CLOUD_LAUNCHER_READY_PORT: '10102' }).readyPort, 10102);
  assert.throws(() => launcherSettingsFromEnv({ ...base, H2O_WAVE_LISTEN: ':10101', H2O_CLOUD_LAUNCHER_READY_PORT: '10101' }), /H2O_CLOUD_LAUNCHER_READY_PORT: "10101" must be a port number/);
  assert.throws(() => launcherSettingsFromEnv({ ...base, H2O_CLOUD_LAUNCHER_READY_PORT: 'http' }), /H2O_CLOUD_LAUNCHER_READY_PORT/);
});

test('listen addresses', () => {
  assert.deepEqual(parseListen('127.64.0.3:10101'), { host: '127.64.0.3', port: 10101 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.throws(() => parseListen(':0'), /host:port/);
});

test('progress page: the current step, a refresh while preparing, the escaped error on failure', () => {
  const preparing = renderProgress({ step: 'Installing Application Dependencies' }, 'My <App>');
  assert.match(preparing, /http-equiv="refresh"/);
  assert.match(preparing, /<li class="done">Sourcing the Wave Application<\/li>/);
  assert.match(preparing, /<li class="current">Installing Application Dependencies/);
  assert.match(preparing, /My &#60;App&#62;/);
  const failed = renderProgress({ step: 'Sourcing the Wave Application', error: 'digest <mismatch>' }, 'x');
  assert.doesNotMatch(failed, /http-equiv="refresh"/);
  assert.match(failed, /<pre id="error">digest &#60;mismatch&#62;<\/pre>/);
  assert.match(failed, /<li class="failed">Sourcing the Wave Application/);
});
