import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidError } from '../lib/errors.ts';
import { camel, loadConfig, parseDuration, parseListen } from './load.ts';
import { envName, OPTIONS } from './options.ts';

function tomlFile(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'appstore.toml');
  writeFileSync(f, text);
  return f;
}

function invalid(fn: () => unknown): InvalidError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidError, String(err));
    return err;
  }
  assert.fail('expected InvalidError');
}

describe('configuration', () => {
  test('every seed [Scheduler] option exists with the seed default and environment name', () => {
    const { config } = loadConfig();
    const s = config.scheduler;
    assert.deepEqual(
      [s.kubeConfig, s.namespace, s.helmAssetDir, s.serviceType, s.storageClass, s.writeTimeoutSeconds, s.resourcePath, s.instanceLimit, s.visitorInstanceLimit, s.appVersionLimit, s.appServiceAccount, s.allowedGPUTypes],
      ['', 'default', 'var/lib/h2oq8s/helm', 'ClusterIP', '', 300, '/resources', 10, 5, 10, '', []],
    );
    assert.deepEqual(s.defaultRuntimeLimit, { memoryLimit: '2Gi', memoryReservation: '512Mi', cpuLimit: '', cpuReservation: '', gpuType: '' });
    const envs = OPTIONS.filter((o) => o.section.startsWith('Scheduler')).map((o) => o.env);
    for (const e of ['H2O_CLOUD_SCHEDULER_KUBE_CONFIG', 'H2O_CLOUD_SCHEDULER_HELM_ASSET_DIR', 'H2O_CLOUD_SCHEDULER_WRITE_TIMEOUT_SECONDS', 'H2O_CLOUD_SCHEDULER_ALLOWED_GPU_TYPES', 'H2O_CLOUD_SCHEDULER_VISITOR_INSTANCE_LIMIT', 'H2O_CLOUD_SCHEDULER_DEFAULT_RUNTIME_LIMIT_MEMORY_LIMIT', 'H2O_CLOUD_SCHEDULER_DEFAULT_RUNTIME_LIMIT_CPU_RESERVATION', 'H2O_CLOUD_SCHEDULER_DEFAULT_RUNTIME_LIMIT_GPU_TYPE'])
      assert.ok(envs.includes(e), e);
  });

  test('names convert like the seed spells them', () => {
    assert.equal(envName('X_', 'AllowedGPUTypes'), 'X_ALLOWED_GPU_TYPES');
    assert.equal(envName('X_', 'CPULimit'), 'X_CPU_LIMIT');
    assert.equal(camel('CPULimit'), 'cpuLimit');
    assert.equal(camel('URL'), 'url');
    assert.equal(camel('S3AccessKeyID'), 's3AccessKeyID');
    assert.equal(camel('DefaultRuntimeLimit'), 'defaultRuntimeLimit');
  });

  test('the TOML file sets options and environment variables override it', () => {
    const file = tomlFile(`
[Scheduler]
InstanceLimit = 3
AllowedGPUTypes = ["t4"]
[Scheduler.DefaultRuntimeLimit]
MemoryLimit = "1Gi"
[[RuntimeVersion]]
Name = "deb12-py311"
Image = "registry.example.com/launcher:1"
Default = true
`);
    const { config } = loadConfig({ file, env: { H2O_CLOUD_SCHEDULER_INSTANCE_LIMIT: '7', H2O_CLOUD_SCHEDULER_ALLOWED_GPU_TYPES: 'a100, t4' } });
    assert.equal(config.scheduler.instanceLimit, 7);
    assert.deepEqual(config.scheduler.allowedGPUTypes, ['a100', 't4']);
    assert.equal(config.scheduler.defaultRuntimeLimit.memoryLimit, '1Gi');
    assert.deepEqual(config.runtimeVersions, [{ name: 'deb12-py311', image: 'registry.example.com/launcher:1', default: true, deprecated: false }]);
  });

  test('every problem is reported at once, each naming its key', () => {
    const file = tomlFile(`
[Scheduler]
InstanceLimt = 3
WriteTimeoutSeconds = "soon"
ServiceType = "Ingress"
[Scheduler.DefaultRuntimeLimit]
MemoryLimit = "2 GB"
[Storage]
Kind = "s3"
[Frobnicate]
`);
    const err = invalid(() => loadConfig({ file, env: { H2O_CLOUD_SCHEDULER_NAMESPACE: '', H2O_CLOUD_SCHEDULER_APP_VERSION_LIMIT: 'ten' } }));
    const paths = err.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'Frobnicate',
      'H2O_CLOUD_SCHEDULER_APP_VERSION_LIMIT (environment)',
      'Scheduler.DefaultRuntimeLimit.MemoryLimit',
      'Scheduler.InstanceLimt',
      'Scheduler.ServiceType',
      'Scheduler.WriteTimeoutSeconds',
      'Storage.S3Bucket',
    ]);
    assert.match(err.message, /InstanceLimt: is not a configuration option; did you mean InstanceLimit\?/);
    assert.match(err.message, /ServiceType: must be one of ClusterIP, NodePort, LoadBalancer/);
  });

  test('reservation above limit, duplicate runtime versions and two defaults are refused', () => {
    const file = tomlFile(`
[Scheduler.DefaultRuntimeLimit]
MemoryLimit = "256Mi"
MemoryReservation = "1Gi"
[[RuntimeVersion]]
Name = "a"
Image = "x"
Default = true
[[RuntimeVersion]]
Name = "a"
Image = "y"
Default = true
`);
    const err = invalid(() => loadConfig({ file }));
    assert.match(err.message, /MemoryReservation: 1Gi exceeds MemoryLimit 256Mi/);
    assert.match(err.message, /RuntimeVersion\[1\]\.Name: "a" is used by an earlier RuntimeVersion/);
    assert.match(err.message, /only one RuntimeVersion may have Default = true/);
  });

  test('a TOML syntax error names the line', () => {
    const err = invalid(() => loadConfig({ file: tomlFile('[Scheduler]\nInstanceLimit = = 3\n') }));
    assert.match(err.message, /not valid TOML \(line 2/);
  });

  test('HelmAssetDir is accepted with a deprecation warning', () => {
    const { warnings } = loadConfig({ env: { H2O_CLOUD_SCHEDULER_HELM_ASSET_DIR: '/x' } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /HelmAssetDir is obsolete/);
  });

  test('listen addresses parse and are validated', () => {
    assert.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
    assert.equal(parseListen('8080'), undefined);
    assert.equal(parseListen('x:70000'), undefined);
    const err = invalid(() => loadConfig({ flags: { 'Server.Listen': 'nowhere' } }));
    assert.match(err.message, /Server\.Listen \(command line\): "nowhere" is not host:port/);
  });

  test('Auth.Mode oidc needs IssuerURL and ClientID, and reads the OIDC options', () => {
    const err = invalid(() => loadConfig({ flags: { 'Auth.Mode': 'oidc' } }));
    assert.match(err.message, /Auth\.IssuerURL/);
    assert.match(err.message, /Auth\.ClientID/);
    const { config } = loadConfig({
      env: { H2O_CLOUD_AUTH_MODE: 'oidc', H2O_CLOUD_AUTH_ISSUER_URL: 'https://idp.example.com/realms/x', H2O_CLOUD_AUTH_CLIENT_ID: 'appstore', H2O_CLOUD_AUTH_ROLES_CLAIM: 'realm_access.roles', H2O_CLOUD_AUTH_SESSION_TTL: '1h30m' },
    });
    assert.equal(config.auth.mode, 'oidc');
    assert.equal(config.auth.issuerURL, 'https://idp.example.com/realms/x');
    assert.equal(config.auth.clientID, 'appstore');
    assert.equal(config.auth.rolesClaim, 'realm_access.roles');
    assert.equal(config.auth.sessionTTL, 5400);
    assert.deepEqual(config.auth.scopes, ['openid', 'profile', 'email']);
    assert.equal(loadConfig().config.auth.sessionTTL, 12 * 3600);
    assert.equal(loadConfig().config.auth.cookieName, 'appstore_session');
  });

  test('durations', () => {
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('7d'), 7 * 86400);
    assert.equal(parseDuration('12'), undefined);
    assert.equal(parseDuration('1.5h'), undefined);
    const err = invalid(() => loadConfig({ flags: { 'Auth.SessionTTL': 'soon' } }));
    assert.match(err.message, /Auth\.SessionTTL \(command line\): must be a duration such as 90s/);
  });
});
