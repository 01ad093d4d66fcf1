import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidError } from '../lib/errors.ts';
import type { FieldIssue } from '../lib/errors.ts';
import { parseManifest } from './manifest.ts';
import type { ParseManifestOptions } from './manifest.ts';

const WAVE: ParseManifestOptions = { format: 'wave' };

/** A valid document with extra lines appended to [App], [Runtime] and the end. */
function doc(app = '', runtime = '', rest = ''): string {
  return `[App]\nName = "ai.h2o.wave.x"\nVersion = "1.0.0"\n${app}\n[Runtime]\nModule = "app"\n${runtime}\n${rest}\n`;
}

/** The issues of an invalid document (fails the test if it parses). */
function issuesOf(text: string, opts: ParseManifestOptions = WAVE): FieldIssue[] {
  try {
    parseManifest(text, opts);
  } catch (err) {
    assert.ok(err instanceof InvalidError, `expected InvalidError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail(`expected the manifest to be refused:\n${text}`);
}

/** Asserts the document is refused with an issue at exactly `path` (and the message matches). */
function refused(text: string, path: string, message?: RegExp, opts: ParseManifestOptions = WAVE): void {
  const issues = issuesOf(text, opts);
  const hit = issues.find((i) => i.path === path);
  assert.ok(hit, `expected an issue at ${path}, got ${JSON.stringify(issues)}`);
  if (message) assert.match(hit.message, message);
}

function accepted(text: string, opts: ParseManifestOptions = WAVE): ReturnType<typeof parseManifest> {
  return parseManifest(text, opts);
}

// The example of the developer guide (seed 002), verbatim.
const SEED_APP_TOML = `[App]
Name = "ai.h2o.wave.my-app"
Version = "0.0.1"
Title = "My awesome app"
Description = "This is my awesome app"
Category = "Other"
Keywords = ["awesome"]
[Runtime]
Module = "app.run"
VolumeMount = "/data"
VolumeSize = "1Gi"
ResourceVolumeSize = "2Gi"
MemoryLimit = "500Mi"
MemoryReservation = "400Mi"
[[Env]]
Name = "ENVIRONMENT_VARIABLE_NAME"
Secret = "SecretName"
SecretKey = "SecretKeyName"
[[Env]]
Name = "ANOTHER_ENVIRONMENT_VARIABLE_NAME"
Value = "some value"
[[File]]
Path = "some/path.file"
Secret = "FileSecretName"
SecretKey = "FileSecretKeyName"
[[File]]
Path = "/another/path.file"
Value = '''
some
string
'''
`;

// The example of the q8s guide (seed 004), verbatim.
const SEED_Q_APP_TOML = `[App]
Name = "ai.h2o.q.my-app"
Version = "0.0.1"
Title = "My awesome app"
Description = "This is my awesome app"
Category = "Other"
Keywords = ["awesome"]
[Runtime]
Module = "q_app.run"
VolumeMount = "/data"
VolumeSize = "1Gi"
MemoryLimit = "500Mi"
MemoryReservation = "400Mi"
[[Env]]
Name = "ENVIRONMENT_VARIABLE_NAME"
Secret = "SecretName"
SecretKey = "SecretKeyName"
[[Env]]
Name = "ANOTHER_ENVIRONMENT_VARIABLE_NAME"
Secret = "SecretName"
SecretKey = "AnotherSecretKeyName"
`;

describe('valid manifests', () => {
  test('the developer guide example parses into every field', () => {
    const { manifest, warnings } = accepted(SEED_APP_TOML);
    assert.deepEqual(warnings, []);
    assert.equal(manifest.format, 'wave');
    assert.deepEqual(manifest.app, {
      name: 'ai.h2o.wave.my-app', version: '0.0.1', title: 'My awesome app', description: 'This is my awesome app',
      longDescription: undefined, category: 'Other', keywords: ['awesome'], instanceLifecycle: undefined,
    });
    assert.equal(manifest.runtime.module, 'app.run');
    assert.equal(manifest.runtime.volumeMount, '/data');
    assert.equal(manifest.runtime.volumeSize, '1Gi');
    assert.equal(manifest.runtime.resourceVolumeSize, '2Gi');
    assert.equal(manifest.runtime.memoryLimit, '500Mi');
    assert.equal(manifest.runtime.memoryReservation, '400Mi');
    assert.deepEqual(manifest.env, [
      { name: 'ENVIRONMENT_VARIABLE_NAME', secret: 'SecretName', secretKey: 'SecretKeyName' },
      { name: 'ANOTHER_ENVIRONMENT_VARIABLE_NAME', value: 'some value' },
    ]);
    assert.deepEqual(manifest.files, [
      { path: 'some/path.file', secret: 'FileSecretName', secretKey: 'FileSecretKeyName' },
      { path: '/another/path.file', value: 'some\nstring\n' },
    ]);
    assert.equal((manifest.raw.App as Record<string, unknown>).Name, 'ai.h2o.wave.my-app');
    assert.equal(manifest.source, SEED_APP_TOML);
  });

  test('the q8s guide example parses as a legacy qz manifest', () => {
    const { manifest } = accepted(SEED_Q_APP_TOML, { format: 'qz' });
    assert.equal(manifest.format, 'qz');
    assert.equal(manifest.runtime.module, 'q_app.run');
    assert.equal(manifest.env.length, 2);
  });

  test('a manifest with only Name, Version and Module is enough', () => {
    const { manifest, warnings } = accepted('[App]\nName = "x"\nVersion = "0.1.0"\n[Runtime]\nModule = "main"\n');
    assert.equal(manifest.app.name, 'x');
    assert.deepEqual(manifest.app.keywords, []);
    assert.deepEqual(manifest.env, []);
    assert.deepEqual(warnings, []);
  });

  test('the attributes real bundles carry are parsed and typed', () => {
    const { manifest, warnings } = accepted(
      doc(
        'LongDescription = "./docs/about.md"\nInstanceLifecycle = "MANAGED"',
        [
          'CPULimit = "2"', 'CPUReservation = "500m"', 'GPUCount = 1', 'GPUType = "nvidia-tesla-t4"', 'EnableOIDC = true', 'EnableSHM = false',
          'RoutingMode = "BASE_URL"', 'RuntimeVersion = "deb11_py310_wlatest"', 'InstanceTimeout = "1h30m"', 'MemoryLimit = "1e9"', 'MemoryReservation = "0.5Gi"',
        ].join('\n'),
      ),
      { format: 'wave', archiveFiles: new Set(['docs/about.md', 'app.toml']) },
    );
    assert.deepEqual(warnings, []);
    assert.equal(manifest.app.longDescription, 'docs/about.md');
    assert.equal(manifest.app.instanceLifecycle, 'MANAGED');
    const r = manifest.runtime;
    assert.equal(r.cpuLimit, '2');
    assert.equal(r.cpuReservation, '500m');
    assert.equal(r.gpuCount, 1);
    assert.equal(r.gpuType, 'nvidia-tesla-t4');
    assert.equal(r.enableOIDC, true);
    assert.equal(r.enableSHM, false);
    assert.equal(r.routingMode, 'BASE_URL');
    assert.equal(r.runtimeVersion, 'deb11_py310_wlatest');
    assert.equal(r.instanceTimeout, '1h30m');
    assert.equal(r.instanceTimeoutMs, 90 * 60_000);
  });

  test('prerelease and build-metadata versions are semver', () => {
    for (const v of ['0.1.2-20201013062803', '1.0.0-rc.1', '1.0.0+build.7', '10.20.30']) {
      assert.equal(accepted(doc().replace('"1.0.0"', `"${v}"`)).manifest.app.version, v);
    }
  });

  test('every category the UI knows is accepted without a warning', () => {
    for (const c of ['All', 'Data Science', 'Financial Services', 'Healthcare', 'Insurance', 'Manufacturing', 'Marketing', 'Retail', 'Sales', 'Telecommunications', 'Other']) {
      assert.deepEqual(accepted(doc(`Category = "${c}"`)).warnings, [], c);
    }
  });

  test('quantities in every Kubernetes form are accepted', () => {
    for (const q of ['500Mi', '1Gi', '1e3', '2G', '1000', '1.5Gi']) accepted(doc('', `MemoryLimit = "${q}"`));
    for (const q of ['0.5', '100m', '2', '1e0', '1500m']) accepted(doc('', `CPULimit = "${q}"`));
  });

  test('a byte order mark before the TOML is ignored', () => {
    assert.equal(accepted(`\ufeff${doc()}`).manifest.app.name, 'ai.h2o.wave.x');
  });
});

describe('[App] rules', () => {
  test('Name, Version and Module are required, all reported at once', () => {
    const paths = issuesOf('').map((i) => i.path).sort();
    assert.deepEqual(paths, ['App.Name', 'App.Version', 'Runtime.Module']);
  });

  test('Name must be a machine name', () => {
    refused(doc().replace('"ai.h2o.wave.x"', '"my app"'), 'App.Name', /not a valid app name/);
    refused(doc().replace('"ai.h2o.wave.x"', '"a/b"'), 'App.Name');
    refused(doc().replace('"ai.h2o.wave.x"', '".hidden"'), 'App.Name');
    refused(doc().replace('"ai.h2o.wave.x"', '42'), 'App.Name', /must be a string/);
    refused(doc().replace('"ai.h2o.wave.x"', `"${'a'.repeat(254)}"`), 'App.Name', /at most 253/);
  });

  test('Version must be a strict semantic version', () => {
    refused(doc().replace('"1.0.0"', '"1.0"'), 'App.Version', /semantic version.*"1\.0\.0"/);
    refused(doc().replace('"1.0.0"', '"v1.0.0"'), 'App.Version', /"1\.0\.0"/);
    refused(doc().replace('"1.0.0"', '"01.0.0"'), 'App.Version');
    refused(doc().replace('"1.0.0"', '1'), 'App.Version', /must be a string/);
  });

  test('Title and Description must be strings', () => {
    refused(doc('Title = 3'), 'App.Title', /string/);
    refused(doc('Description = ["a"]'), 'App.Description', /not a list/);
  });

  test('Category must be a string; an unknown one is only a warning', () => {
    refused(doc('Category = 1'), 'App.Category');
    const { warnings } = accepted(doc('Category = "Gaming"'));
    assert.deepEqual(warnings.map((w) => w.path), ['App.Category']);
    assert.match(warnings[0]!.message, /Data Science/);
  });

  test('Keywords must be a list of strings', () => {
    refused(doc('Keywords = "finance"'), 'App.Keywords', /list of strings/);
    refused(doc('Keywords = ["ok", 2]'), 'App.Keywords[1]', /string/);
    refused(doc('Keywords = ["ok", ""]'), 'App.Keywords[1]', /empty/);
    refused(doc(`Keywords = [${Array.from({ length: 51 }, (_, i) => `"k${i}"`).join(', ')}]`), 'App.Keywords', /at most 50/);
  });

  test('LongDescription must name a file in the bundle when the file list is known', () => {
    const files = new Set(['README.md']);
    accepted(doc('LongDescription = "README.md"'), { format: 'wave', archiveFiles: files });
    accepted(doc('LongDescription = "ABOUT.md"')); // no file list: not checked
    refused(doc('LongDescription = "ABOUT.md"'), 'App.LongDescription', /not in the bundle/, { format: 'wave', archiveFiles: files });
    refused(doc('LongDescription = "/etc/passwd"'), 'App.LongDescription', /inside the bundle/);
    refused(doc('LongDescription = "../README.md"'), 'App.LongDescription', /inside the bundle/);
    refused(doc('LongDescription = 1'), 'App.LongDescription', /string/);
    assert.deepEqual(accepted(doc('LongDescription = "about.txt"')).warnings.map((w) => w.path), ['App.LongDescription']);
  });

  test('InstanceLifecycle is ON_DEMAND, MANAGED or LINK', () => {
    for (const v of ['ON_DEMAND', 'MANAGED', 'LINK']) accepted(doc(`InstanceLifecycle = "${v}"`));
    refused(doc('InstanceLifecycle = "on_demand"'), 'App.InstanceLifecycle', /did you mean ON_DEMAND/);
    refused(doc('InstanceLifecycle = "ALWAYS"'), 'App.InstanceLifecycle', /not one of ON_DEMAND, MANAGED, LINK/);
  });

  test('[App] must be a table', () => {
    refused('App = "x"\n[Runtime]\nModule = "a"\n', 'App', /must be a table/);
  });
});

describe('[Runtime] rules', () => {
  test('Module must be a dotted Python module name', () => {
    refused(doc().replace('Module = "app"', 'Module = "app.py"'), 'Runtime.Module', /drop the \.py/);
    refused(doc().replace('Module = "app"', 'Module = "app/run"'), 'Runtime.Module', /dots, not slashes/);
    refused(doc().replace('Module = "app"', 'Module = "1app"'), 'Runtime.Module');
    refused(doc().replace('Module = "app"', 'Module = "app..run"'), 'Runtime.Module');
    refused(doc().replace('Module = "app"', 'Module = ["app"]'), 'Runtime.Module', /string/);
  });

  test('VolumeMount must be an absolute, normalized path other than / and /resources', () => {
    accepted(doc('', 'VolumeMount = "/data/app"\nVolumeSize = "1Gi"'));
    refused(doc('', 'VolumeMount = "data"\nVolumeSize = "1Gi"'), 'Runtime.VolumeMount', /absolute/);
    refused(doc('', 'VolumeMount = "/"\nVolumeSize = "1Gi"'), 'Runtime.VolumeMount', /root/);
    refused(doc('', 'VolumeMount = "/data/../etc"\nVolumeSize = "1Gi"'), 'Runtime.VolumeMount', /normalized/);
    refused(doc('', 'VolumeMount = "/data/"\nVolumeSize = "1Gi"'), 'Runtime.VolumeMount', /normalized/);
    refused(doc('', 'VolumeMount = "/resources"\nVolumeSize = "1Gi"'), 'Runtime.VolumeMount', /Python environment/);
  });

  test('VolumeMount and VolumeSize go together', () => {
    refused(doc('', 'VolumeMount = "/data"'), 'Runtime.VolumeSize', /required with VolumeMount/);
    refused(doc('', 'VolumeSize = "1Gi"'), 'Runtime.VolumeMount', /required with VolumeSize/);
  });

  test('sizes must be Kubernetes quantities of whole bytes', () => {
    refused(doc('', 'VolumeMount = "/data"\nVolumeSize = "1GB"'), 'Runtime.VolumeSize', /not a Kubernetes quantity.*Gi/);
    refused(doc('', 'ResourceVolumeSize = "lots"'), 'Runtime.ResourceVolumeSize', /not a Kubernetes quantity/);
    refused(doc('', 'MemoryLimit = 500'), 'Runtime.MemoryLimit', /quantity string/);
    refused(doc('', 'MemoryLimit = "100m"'), 'Runtime.MemoryLimit', /did you mean 100Mi/);
    refused(doc('', 'MemoryReservation = "0.5"'), 'Runtime.MemoryReservation', /whole number of bytes/);
    refused(doc('', 'MemoryLimit = "0"'), 'Runtime.MemoryLimit', /positive/);
    refused(doc('', 'MemoryLimit = "-1Gi"'), 'Runtime.MemoryLimit', /positive/);
  });

  test('CPU limits and reservations are quantities', () => {
    refused(doc('', 'CPULimit = 2'), 'Runtime.CPULimit', /quantity string/);
    refused(doc('', 'CPULimit = "two"'), 'Runtime.CPULimit', /not a Kubernetes quantity/);
    refused(doc('', 'CPUReservation = "0"'), 'Runtime.CPUReservation', /positive/);
  });

  test('a reservation may not exceed its limit', () => {
    accepted(doc('', 'MemoryLimit = "1Gi"\nMemoryReservation = "1024Mi"'));
    refused(doc('', 'MemoryLimit = "300Mi"\nMemoryReservation = "400Mi"'), 'Runtime.MemoryReservation', /more than MemoryLimit/);
    refused(doc('', 'CPULimit = "500m"\nCPUReservation = "1"'), 'Runtime.CPUReservation', /more than CPULimit/);
    accepted(doc('', 'MemoryReservation = "4Gi"')); // no limit: nothing to compare
  });

  test('GPUCount is a non-negative integer and GPUType a string', () => {
    accepted(doc('', 'GPUCount = 0'));
    refused(doc('', 'GPUCount = -1'), 'Runtime.GPUCount', /0 or more/);
    refused(doc('', 'GPUCount = 1.5'), 'Runtime.GPUCount');
    refused(doc('', 'GPUCount = "1"'), 'Runtime.GPUCount', /without quotes/);
    refused(doc('', 'GPUType = 4'), 'Runtime.GPUType', /string/);
  });

  test('EnableOIDC and EnableSHM are booleans', () => {
    refused(doc('', 'EnableOIDC = "true"'), 'Runtime.EnableOIDC', /true or false/);
    refused(doc('', 'EnableSHM = 1'), 'Runtime.EnableSHM', /true or false/);
  });

  test('RoutingMode is DOMAIN or BASE_URL', () => {
    accepted(doc('', 'RoutingMode = "DOMAIN"'));
    refused(doc('', 'RoutingMode = "domain"'), 'Runtime.RoutingMode', /did you mean DOMAIN/);
    refused(doc('', 'RoutingMode = "PATH"'), 'Runtime.RoutingMode');
  });

  test('RuntimeVersion is a name', () => {
    refused(doc('', 'RuntimeVersion = "bad name!"'), 'Runtime.RuntimeVersion', /runtime version name/);
    refused(doc('', 'RuntimeVersion = 3'), 'Runtime.RuntimeVersion', /string/);
  });

  test('InstanceTimeout is a positive duration with units', () => {
    for (const v of ['30m', '2h', '90s', '1h30m', '1.5h']) accepted(doc('', `InstanceTimeout = "${v}"`));
    refused(doc('', 'InstanceTimeout = "30"'), 'Runtime.InstanceTimeout', /"30m"/);
    refused(doc('', 'InstanceTimeout = "-5m"'), 'Runtime.InstanceTimeout');
    refused(doc('', 'InstanceTimeout = "0s"'), 'Runtime.InstanceTimeout', /positive/);
    refused(doc('', 'InstanceTimeout = "2 hours"'), 'Runtime.InstanceTimeout');
    refused(doc('', 'InstanceTimeout = 30'), 'Runtime.InstanceTimeout', /string/);
  });
});

describe('[[Env]] rules', () => {
  const env = (body: string): string => doc('', '', `[[Env]]\n${body}`);

  test('Env must be repeated tables', () => {
    // Top-level keys must come before the first [section].
    refused(`Env = "X=1"\n${doc()}`, 'Env', /\[\[Env\]\]/);
    refused(`Env = [1]\n${doc()}`, 'Env[0]', /must be a table/);
    refused(`File = {}\n${doc()}`, 'File', /\[\[File\]\]/);
  });

  test('Name is required and must be a valid variable name', () => {
    refused(env('Value = "1"'), 'Env[0].Name', /required/);
    refused(env('Name = "1X"\nValue = "1"'), 'Env[0].Name', /not a valid environment variable name/);
    refused(env('Name = "MY-VAR"\nValue = "1"'), 'Env[0].Name');
    refused(env('Name = 5\nValue = "1"'), 'Env[0].Name', /string/);
  });

  test('names prefixed with H2O_CLOUD are reserved', () => {
    refused(env('Name = "H2O_CLOUD_TOKEN"\nValue = "1"'), 'Env[0].Name', /reserved/);
    refused(env('Name = "h2o_cloud_token"\nValue = "1"'), 'Env[0].Name', /reserved/);
    accepted(env('Name = "H2O_WAVE_MAX_REQUEST_SIZE"\nValue = "20M"'));
  });

  test('names prefixed with Q8S are reserved in a legacy q-app.toml only', () => {
    accepted(env('Name = "Q8S_TOKEN"\nValue = "1"'));
    refused(env('Name = "Q8S_TOKEN"\nSecret = "s"\nSecretKey = "k"'), 'Env[0].Name', /Q8S/, { format: 'qz' });
    refused(env('Name = "H2O_CLOUD_X"\nSecret = "s"\nSecretKey = "k"'), 'Env[0].Name', /H2O_CLOUD/, { format: 'qz' });
  });

  test('names are unique', () => {
    refused(doc('', '', '[[Env]]\nName = "A"\nValue = "1"\n[[Env]]\nName = "B"\nValue = "2"\n[[Env]]\nName = "A"\nValue = "3"'), 'Env[2].Name', /already set by Env\[0\]/);
  });

  test('Secret and SecretKey go together', () => {
    accepted(env('Name = "A"\nSecret = "s"\nSecretKey = "k"'));
    refused(env('Name = "A"\nSecret = "s"'), 'Env[0].SecretKey', /required with Secret/);
    refused(env('Name = "A"\nSecretKey = "k"'), 'Env[0].Secret', /required with SecretKey/);
  });

  test('Value excludes Secret and SecretKey, and one form is required', () => {
    refused(env('Name = "A"\nValue = "1"\nSecretKey = "k"'), 'Env[0].SecretKey', /cannot be used together with Value/);
    const both = issuesOf(env('Name = "A"\nValue = "1"\nSecret = "s"\nSecretKey = "k"')).map((i) => i.path).sort();
    assert.deepEqual(both, ['Env[0].Secret', 'Env[0].SecretKey']);
    refused(env('Name = "A"'), 'Env[0]', /needs a value/);
    refused(env('Name = "A"\nValue = 1'), 'Env[0].Value', /string/);
    accepted(env('Name = "A"\nValue = ""'));
  });

  test('secret names and keys are checked', () => {
    refused(env('Name = "A"\nSecret = "a b"\nSecretKey = "k"'), 'Env[0].Secret', /not a secret name/);
    refused(env('Name = "A"\nSecret = "s"\nSecretKey = "k/1"'), 'Env[0].SecretKey', /not a secret key/);
  });
});

describe('[[File]] rules', () => {
  const file = (body: string): string => doc('', '', `[[File]]\n${body}`);

  test('Path is required', () => {
    refused(file('Value = "x"'), 'File[0].Path', /required/);
    refused(file('Path = 1\nValue = "x"'), 'File[0].Path', /string/);
  });

  test('the directory of Path cannot be / or .', () => {
    refused(file('Path = "path.file"\nValue = "x"'), 'File[0].Path', /subdirectory/);
    refused(file('Path = "./path.file"\nValue = "x"'), 'File[0].Path', /subdirectory/);
    refused(file('Path = "/path.file"\nValue = "x"'), 'File[0].Path', /subdirectory/);
    accepted(file('Path = "conf/path.file"\nValue = "x"'));
    accepted(file('Path = "/etc/app/path.file"\nValue = "x"'));
  });

  test('the directory /resources is disallowed', () => {
    refused(file('Path = "/resources/x.cfg"\nValue = "x"'), 'File[0].Path', /\/resources/);
    refused(file('Path = "/resources/venv/x.cfg"\nValue = "x"'), 'File[0].Path', /\/resources/);
  });

  test('each File has its own directory', () => {
    refused(doc('', '', '[[File]]\nPath = "/conf/a"\nValue = "1"\n[[File]]\nPath = "/other/b"\nValue = "2"\n[[File]]\nPath = "/conf/c"\nValue = "3"'), 'File[2].Path', /already used by File\[0\]/);
    refused(doc('', '', '[[File]]\nPath = "conf/a"\nValue = "1"\n[[File]]\nPath = "./conf/b"\nValue = "2"'), 'File[1].Path', /already used/);
  });

  test('Path may not escape with .. or name a directory', () => {
    refused(file('Path = "../etc/x"\nValue = "x"'), 'File[0].Path', /'\.\.'/);
    refused(file('Path = "conf/"\nValue = "x"'), 'File[0].Path', /not a directory/);
  });

  test('Secret/SecretKey and Value follow the same rules as Env', () => {
    accepted(file('Path = "c/x"\nSecret = "s"\nSecretKey = "k"'));
    refused(file('Path = "c/x"\nSecret = "s"'), 'File[0].SecretKey');
    refused(file('Path = "c/x"\nValue = "v"\nSecret = "s"\nSecretKey = "k"'), 'File[0].Secret', /together with Value/);
    refused(file('Path = "c/x"'), 'File[0]', /needs a value/);
  });
});

describe('unknown content, syntax and reporting', () => {
  test('unknown sections and keys are kept and reported as warnings', () => {
    const { manifest, warnings } = accepted(doc('Color = "red"', 'Port = 8080', '[Brand]\nLogo = "x.png"\n[[Env]]\nName = "A"\nValue = "1"\nComment = "hi"'));
    assert.deepEqual(warnings.map((w) => w.path).sort(), ['App.Color', 'Brand', 'Env[0].Comment', 'Runtime.Port']);
    assert.deepEqual(JSON.parse(JSON.stringify(manifest.extra)), { Brand: { Logo: 'x.png' }, 'App.Color': 'red', 'Runtime.Port': 8080, 'Env[0].Comment': 'hi' });
    assert.match(warnings.find((w) => w.path === 'Brand')!.message, /unknown section \[Brand\].*kept/);
  });

  test('a key in the wrong case is a warning with a hint, and the required key is still missing', () => {
    const issues = issuesOf('[App]\nname = "x"\nVersion = "1.0.0"\n[Runtime]\nModule = "a"\n');
    assert.deepEqual(issues.map((i) => i.path), ['App.Name']);
    const { warnings } = accepted('[App]\nName = "x"\nVersion = "1.0.0"\ntitle = "T"\n[Runtime]\nModule = "a"\n');
    assert.deepEqual(warnings.map((w) => w.path), ['App.title']);
    assert.match(warnings[0]!.message, /did you mean Title/);
    const section = accepted(`${doc()}[env]\nName = "A"\n`).warnings;
    assert.match(section[0]!.message, /did you mean \[Env\]/);
  });

  test('a TOML syntax error names the line and column', () => {
    const issues = issuesOf('[App]\nName = "x"\nVersion = 1.0.0\n');
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'app.toml:3:14');
    assert.match(issues[0]!.message, /line 3, column 14/);
    assert.equal(issuesOf('[App\n', { format: 'qz' })[0]!.path.split(':')[0], 'q-app.toml');
  });

  test('duplicate keys and __proto__ keys are syntax errors', () => {
    assert.match(issuesOf('[App]\nName = "x"\nName = "y"\n')[0]!.path, /^app\.toml:3:/);
    assert.match(issuesOf('[App]\n__proto__ = 1\n')[0]!.path, /^app\.toml:2:/);
  });

  test('every problem is reported at once, each with its own path', () => {
    const text = `[App]
Name = "bad name"
Version = "1"
Keywords = "x"
[Runtime]
Module = "app.py"
MemoryLimit = "300Mi"
MemoryReservation = "1Gi"
[[Env]]
Name = "H2O_CLOUD_X"
Value = "1"
[[Env]]
Name = "B"
Secret = "s"
SecretKey = "k"
Value = "v"
[[File]]
Path = "x.cfg"
Value = "1"
`;
    const paths = issuesOf(text).map((i) => i.path).sort();
    assert.deepEqual(paths, ['App.Keywords', 'App.Name', 'App.Version', 'Env[0].Name', 'Env[1].Secret', 'Env[1].SecretKey', 'File[0].Path', 'Runtime.MemoryReservation', 'Runtime.Module']);
    try {
      parseManifest(text, WAVE);
    } catch (err) {
      assert.match((err as Error).message, /app\.toml is invalid \(9 problems\)/);
      assert.match((err as Error).message, /\n {2}Env\[1\]\.SecretKey: cannot be used together with Value/);
    }
  });
});

describe('[[Env]]/[[File]] Optional (as H2O documents it)', () => {
  test('Optional = true on a secret entry is kept; absent means required', () => {
    const { manifest: m } = accepted(doc('', '', '[[Env]]\nName = "A"\nSecret = "s3"\nSecretKey = "k"\nOptional = true\n[[Env]]\nName = "B"\nSecret = "s3"\nSecretKey = "k"\n[[File]]\nPath = "c/f"\nSecret = "s3"\nSecretKey = "k"\nOptional = true\n'));
    assert.deepEqual(m.env, [{ name: 'A', secret: 's3', secretKey: 'k', optional: true }, { name: 'B', secret: 's3', secretKey: 'k' }]);
    assert.equal((m.files[0] as { optional?: boolean }).optional, true);
  });
  test('Optional with Value, or not a boolean, is refused on Optional', () => {
    refused(doc('', '', '[[Env]]\nName = "A"\nValue = "x"\nOptional = true\n'), 'Env[0].Optional', /cannot be used together with Value/);
    refused(doc('', '', '[[Env]]\nName = "A"\nSecret = "s"\nSecretKey = "k"\nOptional = "yes"\n'), 'Env[0].Optional');
  });
});
