// needs: cluster
/**
 * The CRDs in crds/ against the real kube-apiserver: they install, the
 * samples apply, every validation rule rejects with its message, immutable
 * fields stay put, status goes only through /status, and kubectl shows the
 * printer columns and field descriptions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  allCrds,
  API_VERSION,
  APP_INSTANCE_PLURAL,
  appInstance,
  GROUP,
  MAX_CONDITIONS,
  RUNTIME_VERSION_PLURAL,
  runtimeVersion,
  VERSION,
} from '../src/k8s/crd/index.ts';
import type { AppInstance, AppInstanceSpec, AppInstanceStatus, RuntimeVersion } from '../src/k8s/crd/index.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { repoRoot } from './support/go-tool.ts';
import { freshNamespace, kubeConfig, kubectl } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';

const kc = kubeConfig();
const api = kc.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const crdFiles = allCrds().map((c) => join(repoRoot, 'crds', `${c.metadata.name}.yaml`));
const samplesDir = join(repoRoot, 'crds', 'samples');
const suffix = randomBytes(3).toString('hex');
let ns: TestNamespace;
const runtimeVersionsMade: string[] = [];

const spec = (extra: Partial<AppInstanceSpec> = {}): AppInstanceSpec => ({
  app: { name: 'ai.h2o.wave.tour', version: '1.2.0' },
  owner: { subject: 'alice', name: 'alice@example.com' },
  ...extra,
});

let counter = 0;
const uniqueName = (base: string): string => `${base}-${++counter}`;

// Plain objects go to the apiserver as they are, so tests can send what the TypeScript types forbid.
type Body = Record<string, unknown>;

function create(body: AppInstance | Body): Promise<AppInstance> {
  return api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, body }) as Promise<AppInstance>;
}
function get(name: string): Promise<AppInstance> {
  return api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name }) as Promise<AppInstance>;
}
function patch(name: string, body: Body): Promise<AppInstance> {
  return api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name, body }, mergePatch) as Promise<AppInstance>;
}
function patchStatus(name: string, status: AppInstanceStatus | Body): Promise<AppInstance> {
  return api.patchNamespacedCustomObjectStatus(
    { group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name, body: { status } },
    mergePatch,
  ) as Promise<AppInstance>;
}
async function createRv(name: string, body: RuntimeVersion | Body): Promise<RuntimeVersion> {
  const made = (await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, body })) as RuntimeVersion;
  runtimeVersionsMade.push(name);
  return made;
}

/** Awaits a call that must fail with 422 Invalid; returns the apiserver's Status message. */
async function rejection(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    assert.equal(err.code, 422, `expected 422 Invalid, got ${err.code}: ${String(err.body)}`);
    const body = typeof err.body === 'string' ? (JSON.parse(err.body) as { message: string }) : (err.body as { message: string });
    return body.message;
  }
  assert.fail('the apiserver accepted an invalid object');
}

/** Parses kubectl's table output by the column offsets of its header line. */
function table(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trimEnd().split('\n');
  assert.ok(header, 'kubectl printed no header');
  const cols = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  return rows.map((row) =>
    Object.fromEntries(cols.map((c, i) => [c.name, row.slice(c.start, cols[i + 1]?.start ?? row.length).trim()])),
  );
}

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  // Server-side apply, as a deployment would: idempotent, and several test files may do it at once.
  for (let i = 0; i < 2; i++) {
    await kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=appstore-tests', ...crdFiles.flatMap((f) => ['-f', f])]);
  }
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...allCrds().map((c) => `crd/${c.metadata.name}`)]);
  ns = await freshNamespace('crds');
});

after(async () => {
  await ns?.cleanup();
  for (const name of runtimeVersionsMade) {
    await kubectl(['delete', RUNTIME_VERSION_PLURAL, name, '--ignore-not-found', '--wait=false']);
  }
});

/** Asserts that the apiserver stores each CRD exactly as generated (an unknown keyword would be dropped silently). */
async function assertStoredCrdsMatchGenerated(): Promise<void> {
  for (const crd of allCrds()) {
    const stored = JSON.parse(await kubectlOk(['get', 'crd', crd.metadata.name, '-o', 'json'])) as { spec: typeof crd.spec; status: { conditions: { type: string; status: string }[] } };
    assert.ok(stored.status.conditions.some((c) => c.type === 'Established' && c.status === 'True'), `${crd.metadata.name} is not Established`);
    const [want] = crd.spec.versions;
    const [got] = stored.spec.versions;
    assert.deepEqual(got?.schema, JSON.parse(JSON.stringify(want!.schema)), `${crd.metadata.name}: stored schema differs`);
    assert.deepEqual(got?.additionalPrinterColumns, want!.additionalPrinterColumns);
    assert.deepEqual(got?.selectableFields, want!.selectableFields);
    assert.deepEqual(got?.subresources, { status: {} });
    assert.deepEqual(stored.spec.names, crd.spec.names);
  }
}

describe('installation', () => {
  test('the CRDs from crds/ are Established and the apiserver keeps the generated schema exactly (nothing dropped)', async () => {
    await assertStoredCrdsMatchGenerated();
  });

  test('installCrds from code is idempotent and applies the same schema as the YAML (same field manager, so a dropped field would be removed)', async () => {
    await installCrds(kc, { fieldManager: 'appstore-tests' });
    await installCrds(kc, { fieldManager: 'appstore-tests' });
    await assertStoredCrdsMatchGenerated();
  });
});

describe('samples', () => {
  test('every sample in crds/samples applies cleanly (server-side) and gets the defaults', async () => {
    for (const file of readdirSync(samplesDir).filter((f) => f.endsWith('.yaml'))) {
      const obj = parse(readFileSync(join(samplesDir, file), 'utf8')) as { kind: string; metadata: { name: string } };
      if (obj.kind === 'RuntimeVersion') runtimeVersionsMade.push(obj.metadata.name);
      await kubectlOk(['apply', '--server-side', '--field-manager=appstore-tests', '-n', ns.name, '-f', join(samplesDir, file)]);
    }
    const byName = await get('tour-alice');
    assert.equal(byName.spec.suspend, false, 'suspend defaults to false');
    const byId = await get('churn-bob');
    assert.equal(byId.spec.visibility, 'PRIVATE', 'visibility defaults to PRIVATE');
    assert.equal(byId.spec.overrides?.cpuLimit, 2, 'an integer quantity stays an integer');
    const suspended = await get('demo-public');
    assert.equal(suspended.spec.suspend, true);
    assert.equal(suspended.spec.visibility, 'PUBLIC');
  });

  test('a server-side dry run of the samples as one stream succeeds again (apply is idempotent)', async () => {
    const files = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml'));
    const stream = files.map((f) => readFileSync(join(samplesDir, f), 'utf8')).join('\n---\n');
    await kubectlOk(['apply', '--server-side', '--dry-run=server', '--field-manager=appstore-tests', '-n', ns.name, '-f', '-'], stream);
  });
});

describe('validation', () => {
  test('visibility must be one of PRIVATE, ALL_USERS, PUBLIC', async () => {
    const msg = await rejection(create(appInstance(uniqueName('vis'), ns.name, spec({ visibility: 'EVERYONE' as 'PUBLIC' }))));
    assert.match(msg, /spec\.visibility: Unsupported value: "EVERYONE": supported values: "PRIVATE", "ALL_USERS", "PUBLIC"/);
  });

  test('an app reference is required: no spec.app, or an empty one', async () => {
    const { app: _app, ...noApp } = spec();
    assert.match(await rejection(create({ apiVersion: API_VERSION, kind: 'AppInstance', metadata: { name: uniqueName('noapp') }, spec: noApp })), /spec\.app: Required value/);
    const msg = await rejection(create(appInstance(uniqueName('emptyapp'), ns.name, spec({ app: {} }))));
    assert.match(msg, /spec\.app: Required value: spec\.app needs an app reference: set either id \(an app id\) or name and version/);
  });

  test('app id and app name cannot both be given; name needs version', async () => {
    const both = await rejection(create(appInstance(uniqueName('both'), ns.name, spec({ app: { id: '3b241101-e2bb-4255-8caf-4136c566a962', name: 'x', version: '1.0.0' } }))));
    assert.match(both, /spec\.app: Invalid value: "object": spec\.app takes either id or name and version, not both/);
    const noVersion = await rejection(create(appInstance(uniqueName('nover'), ns.name, spec({ app: { name: 'ai.h2o.wave.tour' } }))));
    assert.match(noVersion, /spec\.app\.name and spec\.app\.version go together/);
    const badId = await rejection(create(appInstance(uniqueName('badid'), ns.name, spec({ app: { id: 'not-a-uuid' } }))));
    assert.match(badId, /spec\.app\.id: Invalid value: "not-a-uuid": spec\.app\.id in body should be at least 36 chars long|spec\.app\.id in body should match/);
    const badVersion = await rejection(create(appInstance(uniqueName('badver'), ns.name, spec({ app: { name: 'a', version: 'latest' } }))));
    assert.match(badVersion, /spec\.app\.version/);
  });

  test('too-long strings are rejected with the limit', async () => {
    const longOwner = await rejection(create(appInstance(uniqueName('long'), ns.name, spec({ owner: { subject: 's', name: 'x'.repeat(257) } }))));
    assert.match(longOwner, /spec\.owner\.name: Too long: may not be (more|longer) than 256/);
    const longRv = await rejection(create(appInstance(uniqueName('longrv'), ns.name, spec({ runtimeVersion: 'a'.repeat(254) }))));
    assert.match(longRv, /spec\.runtimeVersion: Too long: may not be (more|longer) than 253/);
  });

  test('the instance name must be a DNS label of at most 63 characters (CEL on metadata.name)', async () => {
    const long = await rejection(create(appInstance('a'.repeat(64), ns.name, spec())));
    assert.match(long, /metadata\.name: Invalid value: "object": metadata\.name must be a DNS label \(at most 63/);
    const dotted = await rejection(create(appInstance('tour.alice', ns.name, spec())));
    assert.match(dotted, /metadata\.name: Invalid value: "object": metadata\.name must be a DNS label/);
    await create(appInstance('a'.repeat(63), ns.name, spec()));
  });

  test('overrides: quantities are checked, reservation cannot exceed limit, gpuType needs gpuCount', async () => {
    const badQuantity = await rejection(create(appInstance(uniqueName('q'), ns.name, spec({ overrides: { memoryLimit: '2GB' } }))));
    assert.match(badQuantity, /spec\.overrides\.memoryLimit in body should match/);
    const over = await rejection(create(appInstance(uniqueName('q'), ns.name, spec({ overrides: { memoryLimit: '1Gi', memoryReservation: '2Gi' } }))));
    assert.match(over, /spec\.overrides\.memoryReservation must not exceed spec\.overrides\.memoryLimit/);
    const cpuOver = await rejection(create(appInstance(uniqueName('q'), ns.name, spec({ overrides: { cpuLimit: 1, cpuReservation: '1500m' } }))));
    assert.match(cpuOver, /spec\.overrides\.cpuReservation must not exceed spec\.overrides\.cpuLimit/);
    const gpu = await rejection(create(appInstance(uniqueName('q'), ns.name, spec({ overrides: { gpuType: 'a100' } }))));
    assert.match(gpu, /spec\.overrides\.gpuType needs spec\.overrides\.gpuCount of at least 1/);
    const timeout = await rejection(create(appInstance(uniqueName('q'), ns.name, spec({ overrides: { timeoutSeconds: 0 } }))));
    assert.match(timeout, /spec\.overrides\.timeoutSeconds: Invalid value: 0: spec\.overrides\.timeoutSeconds in body should be greater than or equal to 1/);
    await create(appInstance(uniqueName('q'), ns.name, spec({ overrides: { memoryLimit: '2Gi', memoryReservation: 1073741824, cpuLimit: '2', cpuReservation: '2000m', gpuCount: 1, gpuType: 'a100' } })));
  });

  test('too many conditions, a duplicate condition type and a malformed reason are rejected on /status', async () => {
    const name = uniqueName('cond');
    await create(appInstance(name, ns.name, spec()));
    const cond = (type: string, reason = 'Fine') => ({ type, status: 'True', reason, message: '', lastTransitionTime: '2024-05-01T10:00:00Z' });
    const many = Array.from({ length: MAX_CONDITIONS + 1 }, (_, i) => cond(`Type${i}`));
    assert.match(await rejection(patchStatus(name, { conditions: many })), new RegExp(`status\\.conditions: Too many: ${MAX_CONDITIONS + 1}: must have at most ${MAX_CONDITIONS} items`));
    assert.match(await rejection(patchStatus(name, { conditions: [cond('Ready'), cond('Ready')] })), /status\.conditions\[1\]: Duplicate value/);
    assert.match(await rejection(patchStatus(name, { conditions: [cond('Ready', 'not a reason')] })), /status\.conditions\[0\]\.reason: Invalid value: "not a reason": .*reason in body should match/);
    assert.match(await rejection(patchStatus(name, { summary: 'Happy' })), /status\.summary: Unsupported value: "Happy"/);
  });

  test('RuntimeVersion: image is required and must be an image reference; a deprecated one cannot be the default', async () => {
    const name = `rv-bad-${suffix}`;
    assert.match(await rejection(createRv(name, { apiVersion: API_VERSION, kind: 'RuntimeVersion', metadata: { name }, spec: {} })), /spec\.image: Required value/);
    assert.match(await rejection(createRv(name, runtimeVersion(name, { image: 'https://ghcr.io/x' }))), /spec\.image in body should match/);
    assert.match(
      await rejection(createRv(name, runtimeVersion(name, { image: 'ghcr.io/x:1', default: true, deprecated: true }))),
      /a deprecated RuntimeVersion cannot be the default/,
    );
    assert.match(await rejection(createRv(name, runtimeVersion(name, { image: 'x:1', description: 'd'.repeat(1025) }))), /spec\.description: Too long/);
  });
});

describe('immutability', () => {
  test('spec.app, spec.owner and spec.runtimeVersion cannot change; visibility and suspend can', async () => {
    const name = uniqueName('imm');
    await create(appInstance(name, ns.name, spec({ runtimeVersion: 'rv-a' })));
    assert.match(await rejection(patch(name, { spec: { app: { version: '1.3.0' } } })), /spec\.app: Invalid value: "object": spec\.app is immutable/);
    assert.match(await rejection(patch(name, { spec: { owner: { subject: 'mallory' } } })), /spec\.owner: Invalid value: "object": spec\.owner is immutable/);
    assert.match(await rejection(patch(name, { spec: { runtimeVersion: 'rv-b' } })), /spec\.runtimeVersion: Invalid value: "object": spec\.runtimeVersion is immutable/);
    assert.match(await rejection(patch(name, { spec: { runtimeVersion: null } })), /spec\.runtimeVersion is immutable/);
    const changed = await patch(name, { spec: { visibility: 'PUBLIC', suspend: true } });
    assert.equal(changed.spec.visibility, 'PUBLIC');
    assert.equal(changed.spec.suspend, true);
  });

  test('a runtimeVersion cannot be added later either', async () => {
    const name = uniqueName('imm');
    await create(appInstance(name, ns.name, spec()));
    assert.match(await rejection(patch(name, { spec: { runtimeVersion: 'rv-a' } })), /spec\.runtimeVersion is immutable/);
  });
});

describe('status subresource', () => {
  test('status in a normal update is dropped; /status writes it and leaves spec and generation alone', async () => {
    const name = uniqueName('st');
    await create({ ...appInstance(name, ns.name, spec()), status: { summary: 'Ready' } });
    const created = await get(name);
    assert.equal(created.status, undefined, 'status sent on create is dropped');
    const afterPatch = await patch(name, { status: { summary: 'Ready', url: 'https://x.example.com' }, spec: { visibility: 'ALL_USERS' } });
    assert.equal(afterPatch.status, undefined, 'status sent on a main-resource update is dropped');
    assert.equal(afterPatch.spec.visibility, 'ALL_USERS');
    const gen = afterPatch.metadata.generation;
    const written = await api.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: APP_INSTANCE_PLURAL, namespace: ns.name, name, body: { spec: { visibility: 'PUBLIC' }, status: { summary: 'Starting', observedGeneration: gen } } },
      mergePatch,
    ) as AppInstance;
    assert.equal(written.status?.summary, 'Starting');
    assert.equal(written.spec.visibility, 'ALL_USERS', 'spec sent to /status is ignored');
    assert.equal(written.metadata.generation, gen, 'a status write does not bump generation');
  });
});

describe('kubectl', () => {
  test('kubectl get inst shows App, Version, Owner, Visibility, Ready, Reason; -o wide adds Status and URL', async () => {
    const byName = uniqueName('cols');
    const byId = uniqueName('cols');
    await create(appInstance(byName, ns.name, spec({ visibility: 'ALL_USERS' })));
    await create(appInstance(byId, ns.name, spec({ app: { id: '3b241101-e2bb-4255-8caf-4136c566a962' }, owner: { subject: 'bob', name: 'bob@example.com' } })));
    const ready = { type: 'Ready', status: 'True', reason: 'Running', message: 'serving', lastTransitionTime: '2024-05-01T10:00:00Z' };
    await patchStatus(byName, { conditions: [ready], summary: 'Ready', url: `https://${byName}.apps.example.com` });
    await patchStatus(byId, {
      conditions: [{ ...ready, status: 'False', reason: 'ImagePullBackOff', message: 'cannot pull' }],
      summary: 'Starting',
      resolved: { appId: '3b241101-e2bb-4255-8caf-4136c566a962', appName: 'ai.h2o.wave.churn', appVersion: '2.0.0' },
    });

    const rows = table(await kubectlOk(['get', 'inst', '-n', ns.name]));
    const header = Object.keys(rows[0] ?? {});
    assert.deepEqual(header, ['NAME', 'APP', 'VERSION', 'OWNER', 'VISIBILITY', 'READY', 'REASON', 'AGE']);
    const a = rows.find((r) => r.NAME === byName);
    assert.deepEqual({ ...a, AGE: undefined }, { NAME: byName, APP: 'ai.h2o.wave.tour', VERSION: '1.2.0', OWNER: 'alice@example.com', VISIBILITY: 'ALL_USERS', READY: 'True', REASON: 'Running', AGE: undefined });
    const b = rows.find((r) => r.NAME === byId);
    // Referenced by id: App and Version come from status.resolved.
    assert.deepEqual({ ...b, AGE: undefined }, { NAME: byId, APP: 'ai.h2o.wave.churn', VERSION: '2.0.0', OWNER: 'bob@example.com', VISIBILITY: 'PRIVATE', READY: 'False', REASON: 'ImagePullBackOff', AGE: undefined });

    const wide = table(await kubectlOk(['get', 'inst', '-n', ns.name, '-o', 'wide']));
    assert.deepEqual(Object.keys(wide[0] ?? {}), ['NAME', 'APP', 'VERSION', 'OWNER', 'VISIBILITY', 'READY', 'REASON', 'STATUS', 'URL', 'AGE']);
    const aw = wide.find((r) => r.NAME === byName);
    assert.equal(aw?.URL, `https://${byName}.apps.example.com`);
    assert.equal(aw?.STATUS, 'Ready');
    assert.equal(wide.find((r) => r.NAME === byId)?.URL, '', 'no URL yet: an empty cell');
  });

  test('kubectl get rv shows Image, Default, Deprecated, Instances', async () => {
    const name = `rv-cols-${suffix}`;
    await createRv(name, runtimeVersion(name, { image: 'ghcr.io/h2oai/wave-launcher:9.9.9', deprecated: true }));
    await api.patchClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: RUNTIME_VERSION_PLURAL, name, body: { status: { instances: 3 } } }, mergePatch);
    const rows = table(await kubectlOk(['get', 'rv', name]));
    assert.deepEqual(Object.keys(rows[0] ?? {}), ['NAME', 'IMAGE', 'DEFAULT', 'DEPRECATED', 'INSTANCES', 'AGE']);
    assert.deepEqual({ ...rows[0], AGE: undefined }, { NAME: name, IMAGE: 'ghcr.io/h2oai/wave-launcher:9.9.9', DEFAULT: 'false', DEPRECATED: 'true', INSTANCES: '3', AGE: undefined });
  });

  test('field selectors on spec.owner.subject and spec.visibility work', async () => {
    const mine = uniqueName('sel');
    await create(appInstance(mine, ns.name, spec({ owner: { subject: `dave-${suffix}`, name: 'dave' }, visibility: 'PUBLIC' })));
    const out = await kubectlOk(['get', 'inst', '-n', ns.name, '--field-selector', `spec.owner.subject=dave-${suffix}`, '-o', 'name']);
    assert.deepEqual(out.trim().split('\n'), [`appinstance.${GROUP}/${mine}`]);
    const pub = await kubectlOk(['get', 'inst', '-n', ns.name, '--field-selector', 'spec.visibility=PUBLIC', '-o', 'name']);
    assert.ok(pub.includes(`/${mine}\n`));
    assert.ok(!pub.includes('/tour-alice\n'), 'an ALL_USERS instance is not selected');
  });

  test('kubectl explain appinstance.spec.visibility shows the field description', async () => {
    // The apiserver publishes a new CRD's OpenAPI a moment after it is Established.
    let out = '';
    for (let i = 0; i < 60; i++) {
      const r = await kubectl(['explain', 'appinstance.spec.visibility']);
      out = r.stdout + r.stderr;
      if (r.code === 0 && out.includes('Who may open the instance')) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.match(out, /FIELD: visibility <string>/);
    assert.match(out, /Who may open the instance: PRIVATE \(the owner only\)/);
    assert.match(out, /ENUM:\n\s+PRIVATE\n\s+ALL_USERS\n\s+PUBLIC\n/);
  });

  test('kubectl get appstore lists both kinds (category)', async () => {
    const out = await kubectlOk(['get', 'appstore', '-n', ns.name, '-o', 'name']);
    assert.match(out, /^appinstance\.hac\.h2o\.ai\/tour-alice$/m);
    assert.match(out, /^runtimeversion\.hac\.h2o\.ai\/deb12-py312-wave1$/m);
  });
});
