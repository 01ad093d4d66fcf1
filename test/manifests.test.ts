// needs: cluster
/**
 * manifests/ against the real Kubernetes API: every rendered overlay (base,
 * kind, production) and every sample validates with kubeconform (built from
 * test/tools/kubeconform) against strict schemas generated from this
 * apiserver's /openapi/v2 and from crds/ (no download); the overlays apply
 * with server-side dry-run into a namespace that enforces the restricted
 * Pod Security profile; the server TOML in each ConfigMap loads with the
 * server's own config loader; and the RBAC grants exactly what the operator,
 * API and router call — each verb checked with `kubectl auth can-i` as the
 * ServiceAccount, and a list of things it must not be able to do.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { installCrds } from '../src/k8s/crd/install.ts';
import { ensureGoTool, repoRoot } from './support/go-tool.ts';
import { freshNamespace, kubeConfig, kubectl } from './support/kube.ts';
import { intoNamespace, kustomize, RBAC_KINDS, yamlObjects as docs } from './support/manifests.ts';
import type { ManifestObject } from './support/manifests.ts';
import type { TestNamespace } from './support/kube.ts';
import { schemasFromCrds, schemasFromOpenAPIv2, writeSchemas } from './tools/kubeconform/schemas.ts';

const run = promisify(execFile);
const kubeconformTool = { module: 'test/tools/kubeconform', pkg: 'github.com/yannh/kubeconform/cmd/kubeconform', name: 'kubeconform' };
const overlays = { base: 'manifests/base', kind: 'manifests/overlays/kind', production: 'manifests/overlays/production' } as const;
type Overlay = keyof typeof overlays;

// Rendered manifests are plain JSON-like objects; a loose shape keeps the assertions readable.
type Obj = ManifestObject;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- deep paths into rendered Kubernetes objects; each use is checked by an assertion
type Any = any;

const rendered = {} as Record<Overlay, { text: string; objects: Obj[] }>;
const work = mkdtempSync(join(tmpdir(), 'manifests-test-'));

const find = (o: Overlay, kind: string, name: string): Any => {
  const found = rendered[o].objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(found, `${o}: no ${kind} ${name} in the rendered manifests`);
  return found;
};
const configMap = (o: Overlay): Any => rendered[o].objects.find((x) => x.kind === 'ConfigMap' && x.metadata.name.startsWith('appstore-config-'));

before(async () => {
  for (const o of Object.keys(overlays) as Overlay[]) {
    const text = await kustomize(overlays[o]);
    rendered[o] = { text, objects: docs(text) };
  }
});

describe('kubeconform against the apiserver\'s schemas', () => {
  let bin: string;
  let location: string;

  before(async () => {
    bin = await ensureGoTool(kubeconformTool, (m) => console.log(m));
    const raw = await kubectl(['get', '--raw', '/openapi/v2'], { timeoutMs: 120_000 });
    assert.equal(raw.code, 0, raw.stderr);
    const crds = ['appinstances.hac.h2o.ai.yaml', 'runtimeversions.hac.h2o.ai.yaml'].map((f) => docs(readFileSync(join(repoRoot, 'crds', f), 'utf8'))[0] as Any);
    // CRD schemas last: crds/ is the source of truth, whatever version the cluster has installed.
    location = writeSchemas(join(work, 'schemas'), schemasFromOpenAPIv2(JSON.parse(raw.stdout)), schemasFromCrds(crds));
  });

  interface Result {
    resources: Array<{ filename: string; kind: string; name: string; status: string; msg?: string }>;
    summary: { valid: number; invalid: number; errors: number; skipped: number };
  }
  async function kubeconform(files: string[]): Promise<Result> {
    try {
      const { stdout } = await run(bin, ['-strict', '-summary', '-verbose', '-output', 'json', '-schema-location', location, ...files], { maxBuffer: 64 * 1024 * 1024 });
      return JSON.parse(stdout) as Result;
    } catch (err) {
      const e = err as { code?: number; stdout?: string };
      if (e.code === 1 && e.stdout) return JSON.parse(e.stdout) as Result;
      throw err;
    }
  }

  for (const o of Object.keys(overlays) as Overlay[]) {
    test(`${overlays[o]} renders and every resource is valid`, async () => {
      const file = join(work, `${o}.yaml`);
      writeFileSync(file, rendered[o].text);
      const r = await kubeconform([file]);
      const bad = r.resources.filter((x) => x.status !== 'statusValid');
      assert.deepEqual(bad, [], `${o}: ${bad.map((x) => `${x.kind}/${x.name}: ${x.msg}`).join('\n')}`);
      assert.equal(r.summary.valid, rendered[o].objects.length, 'every rendered object was validated (none skipped)');
    });
  }

  test('the samples, GitOps instances and the kind CoreDNS config are valid', async () => {
    const files = ['crds/samples', 'manifests/gitops/instances', 'manifests/overlays/kind/coredns.yaml'].map((f) => join(repoRoot, f));
    const r = await kubeconform(files);
    const bad = r.resources.filter((x) => x.status !== 'statusValid');
    assert.deepEqual(bad, [], bad.map((x) => `${x.filename} ${x.kind}/${x.name}: ${x.msg}`).join('\n'));
    assert.ok(r.summary.valid >= 6, `expected the samples to be validated, got ${JSON.stringify(r.summary)}`);
  });

  test('a misspelt field, a wrong type, a bad enum and an unknown kind are all rejected', async () => {
    const deployment = structuredClone(find('base', 'Deployment', 'appstore'));
    deployment.spec.replica = deployment.spec.replicas;
    delete deployment.spec.replicas;
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    const inst = docs(readFileSync(join(repoRoot, 'manifests/gitops/instances/tour-team.yaml'), 'utf8'))[0] as Any;
    inst.spec.visibility = 'EVERYONE';
    const unknown = { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } };
    const file = join(work, 'broken.yaml');
    writeFileSync(file, [deployment, inst, unknown].map((x) => stringify(x)).join('---\n'));
    const r = await kubeconform([file]);
    const by = (kind: string) => r.resources.find((x) => x.kind === kind);
    assert.equal(by('Deployment')?.status, 'statusInvalid');
    assert.match(by('Deployment')?.msg ?? '', /'replica' not allowed/);
    assert.match(by('Deployment')?.msg ?? '', /containerPort.*got string, want integer/);
    assert.equal(by('AppInstance')?.status, 'statusInvalid');
    assert.match(by('AppInstance')?.msg ?? '', /visibility/);
    assert.equal(by('Gadget')?.status, 'statusError', 'a kind without a schema is an error, not skipped');
  });
});

describe('what the manifests say', () => {
  test('base: 2+ replicas, probes on the server\'s health routes, requests, anti-affinity, PDB, non-root', () => {
    const d = find('base', 'Deployment', 'appstore');
    assert.ok(d.spec.replicas >= 2);
    assert.ok(find('production', 'Deployment', 'appstore').spec.replicas >= 2);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    const meta = readFileSync(join(repoRoot, 'src/api/routes/meta.ts'), 'utf8');
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      assert.ok(meta.includes(`'${probe.httpGet.path}'`), `probe path ${probe.httpGet.path} is not a route in src/api/routes/meta.ts`);
      assert.equal(probe.httpGet.port, c.ports[0].name);
    }
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
    assert.equal(pod.serviceAccountName, 'appstore');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    assert.deepEqual(term.labelSelector.matchLabels, d.spec.selector.matchLabels);
    const pdb = find('base', 'PodDisruptionBudget', 'appstore');
    assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
    assert.ok(pdb.spec.maxUnavailable < d.spec.replicas);
    const svc = find('base', 'Service', 'appstore');
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);
  });

  test('ingress: the main host and the wildcard instance domain, both under TLS', () => {
    for (const o of ['base', 'production'] as const) {
      const ing = find(o, 'Ingress', 'appstore');
      const hosts: string[] = ing.spec.rules.map((r: Any) => r.host);
      assert.equal(hosts.length, 2);
      assert.ok(hosts.some((h) => h.startsWith('*.')), `${o}: no wildcard host in ${hosts.join(', ')}`);
      assert.deepEqual([...ing.spec.tls[0].hosts].sort(), [...hosts].sort());
      for (const r of ing.spec.rules) assert.equal(r.http.paths[0].backend.service.name, 'appstore');
    }
    assert.equal(find('production', 'Ingress', 'appstore').metadata.annotations['cert-manager.io/cluster-issuer'], 'letsencrypt-dns01');
  });

  test('the server TOML of every overlay loads with the server\'s config loader', () => {
    for (const o of Object.keys(overlays) as Overlay[]) {
      const cm = configMap(o);
      assert.ok(cm, `${o}: no appstore-config ConfigMap`);
      const file = join(work, `${o}.toml`);
      writeFileSync(file, cm.data['appstore.toml']);
      const d = find(o, 'Deployment', 'appstore');
      // The Secrets' values stand in as the variables the Deployment sets from them.
      const env: Record<string, string> = {};
      for (const e of d.spec.template.spec.containers[0].env) env[e.name] = e.value ?? `placeholder-${e.valueFrom.secretKeyRef.key}`;
      const { config } = loadConfig({ file, env });
      assert.equal(config.server.listen.host, '0.0.0.0', `${o}: the server must listen on every interface in a pod`);
      assert.equal(config.server.listen.port, d.spec.template.spec.containers[0].ports[0].containerPort);
      assert.equal(config.storage.kind, 's3');
      assert.equal(config.auth.mode, 'oidc');
      assert.equal(config.scheduler.kubeConfig, '', 'in-cluster credentials');
      assert.equal(config.scheduler.namespace, 'appstore');
      assert.equal(config.runtimeVersions.filter((r) => r.default).length, 1, `${o}: one default [[RuntimeVersion]]`);
      assert.deepEqual(config.scheduler.allowedGPUTypes.includes('nvidia-tesla-t4'), true);
      // The Ingress sends exactly the router's hosts to the server.
      const hosts: string[] = find(o, 'Ingress', 'appstore').spec.rules.map((r: Any) => r.host);
      assert.equal(config.router.routingMode, 'DOMAIN');
      assert.deepEqual(hosts.sort(), [config.router.mainHost, `*.${config.router.appsDomain}`].sort(), `${o}: Ingress hosts vs [Router]`);
      assert.equal(new URL(config.server.publicURL).host, config.router.mainHost);
    }
  });

  test('kind: every Secret and ConfigMap the pods reference is in the overlay; production inlines no Secret', () => {
    const kindNames = new Set(rendered.kind.objects.map((x) => `${x.kind}/${x.metadata.name}`));
    const refs = (o: Overlay): string[] => {
      const out: string[] = [];
      const walk = (n: Any): void => {
        if (Array.isArray(n)) n.forEach(walk);
        else if (n && typeof n === 'object') {
          if (n.secretKeyRef) out.push(`Secret/${n.secretKeyRef.name}`);
          if (n.configMap?.name) out.push(`ConfigMap/${n.configMap.name}`);
          Object.values(n).forEach(walk);
        }
      };
      rendered[o].objects.filter((x) => ['Deployment', 'StatefulSet'].includes(x.kind)).forEach(walk);
      return out;
    };
    for (const r of refs('kind')) assert.ok(kindNames.has(r), `kind overlay: ${r} is referenced but not created`);
    for (const w of ['StatefulSet/postgres', 'StatefulSet/s3', 'Deployment/dex', 'Ingress/dex']) assert.ok(kindNames.has(w), `kind overlay lacks ${w}`);
    assert.deepEqual(rendered.production.objects.filter((x) => x.kind === 'Secret'), []);
    const deployDoc = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
    for (const r of new Set(refs('production'))) if (r.startsWith('Secret/')) assert.ok(deployDoc.includes(r.slice('Secret/'.length)), `docs/deploy.md does not tell how to create ${r}`);
  });

  test('kind-config.yaml maps the ingress ports and labels one node with a GPU type', () => {
    const cfg = docs(readFileSync(join(repoRoot, 'kind-config.yaml'), 'utf8'))[0] as Any;
    const ports = cfg.nodes.flatMap((n: Any) => n.extraPortMappings ?? []).map((p: Any) => p.hostPort);
    assert.deepEqual(ports.sort(), [443, 80].sort());
    assert.equal(cfg.nodes.filter((n: Any) => n.labels?.['hac.h2o.ai/accelerator'] === 'nvidia-tesla-t4').length, 1);
  });

  test('the Argo CD Application points at a kustomization in this repository', () => {
    const apps = docs(readFileSync(join(repoRoot, 'manifests/gitops/argocd-application.yaml'), 'utf8')) as Any[];
    assert.ok(apps.length >= 1);
    for (const a of apps) {
      assert.equal(a.kind, 'Application');
      // Argo CD renders a folder with a kustomization.yaml through kustomize, else applies its YAML files.
      const dir = join(repoRoot, a.spec.source.path);
      const files = readdirSync(dir);
      assert.ok(files.includes('kustomization.yaml') || files.some((f) => f.endsWith('.yaml')), `${a.metadata.name}: ${a.spec.source.path} has nothing to apply`);
      assert.equal(a.spec.destination.namespace, 'appstore');
    }
  });
});

describe('on the cluster', () => {
  let ns: TestNamespace;
  const clusterScoped: string[] = [];

  before(async () => {
    // can-i answers for runtimeversions/appinstances only name resources the server knows on a fresh cluster.
    await installCrds(kubeConfig(), { fieldManager: 'appstore-tests' });
    ns = await freshNamespace('manifests');
    // The same Pod Security level the base Namespace declares, so dry-run warns about any pod that breaks it.
    const r = await kubectl(['label', 'namespace', ns.name, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    for (const name of clusterScoped) await kubectl(['delete', '--ignore-not-found', name]);
    await ns?.cleanup();
  });

  async function dryRun(objects: Obj[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const input = objects.map((o) => stringify(o)).join('---\n');
    return kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager=appstore-manifests-test', '-f', '-'], { input, timeoutMs: 120_000 });
  }

  for (const o of Object.keys(overlays) as Overlay[]) {
    test(`${overlays[o]} applies with server-side dry-run, within the restricted Pod Security profile`, async () => {
      const objects = intoNamespace(rendered[o].objects, ns.name);
      const r = await dryRun(objects);
      assert.equal(r.code, 0, `${o}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /PodSecurity/, `${o}: ${r.stderr}`);
      assert.equal(r.stdout.trim().split('\n').length, objects.length, r.stdout);
    });
  }

  test('the dry-run does report a pod that breaks the restricted profile (the check above can fail)', async () => {
    const d = structuredClone(find('base', 'Deployment', 'appstore'));
    d.metadata.namespace = ns.name;
    d.spec.template.spec.securityContext = {};
    d.spec.template.spec.containers[0].securityContext = { privileged: true };
    const r = await dryRun([d]);
    assert.match(r.stderr, /would violate PodSecurity "restricted/);
  });

  describe('RBAC: exactly what the operator, API and router use', () => {
    let sa: string;

    before(async () => {
      const objects = intoNamespace(rendered.base.objects, ns.name).filter((o) => RBAC_KINDS.includes(o.kind));
      assert.equal(objects.length, RBAC_KINDS.length, 'the base has one of each RBAC object');
      for (const o of objects) if (o.kind.startsWith('Cluster')) clusterScoped.push(`${o.kind.toLowerCase()}/${o.metadata.name}`);
      const r = await kubectl(['apply', '--server-side', '--field-manager=appstore-manifests-test', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
      assert.equal(r.code, 0, r.stderr);
      sa = `system:serviceaccount:${ns.name}:appstore`;
    });

    async function can(verb: string, resource: string, opts: { namespace?: string | null; subresource?: string } = {}): Promise<boolean> {
      const args = ['auth', 'can-i', verb, resource, `--as=${sa}`];
      if (opts.namespace !== null) args.push('-n', opts.namespace ?? ns.name);
      if (opts.subresource) args.push(`--subresource=${opts.subresource}`);
      const r = await kubectl(args);
      if (r.stdout.trim() === 'yes') return true;
      if (r.stdout.trim() === 'no') return false;
      throw new Error(`kubectl ${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    }

    // [verb, resource, subresource?, who needs it] — from the calls in src/operator, src/api/routes, src/router, src/k8s.
    type Need = [string, string, string | undefined, string];
    const each = (verbs: string[], resources: string[], sub: string | undefined, why: string): Need[] => verbs.flatMap((v) => resources.map((r): Need => [v, r, sub, why]));
    const needed: Need[] = [
      ...each(['get', 'list', 'watch', 'create', 'patch', 'delete'], ['appinstances.hac.h2o.ai'], undefined, 'API creates/patches/deletes; operator, API and router watch'),
      ['patch', 'appinstances.hac.h2o.ai', 'status', 'operator conditions, router lastActivityTime'],
      ['update', 'appinstances.hac.h2o.ai', 'finalizers', 'blockOwnerDeletion on the children'],
      ...each(['get', 'list', 'watch', 'create', 'patch'], ['deployments.apps', 'services', 'persistentvolumeclaims', 'secrets'], undefined, 'operator applies the children'),
      ...each(['get', 'list', 'watch'], ['pods'], undefined, 'API status, router backends'),
      ['get', 'pods', 'log', 'logs API'],
      ...each(['create', 'patch', 'list'], ['events'], undefined, 'operator records, API lists'),
      ...each(['get', 'create', 'update'], ['leases.coordination.k8s.io'], undefined, 'operator leader election'),
    ];
    const clusterNeeded: Array<[string, string, string | undefined]> = [
      ...['get', 'list', 'watch', 'create', 'patch'].map((v): [string, string, undefined] => [v, 'runtimeversions.hac.h2o.ai', undefined]),
      ['patch', 'runtimeversions.hac.h2o.ai', 'status'],
      // The RuntimeVersion controller counts instances of every namespace.
      ...['get', 'list', 'watch'].map((v): [string, string, undefined] => [v, 'appinstances.hac.h2o.ai', undefined]),
    ];

    test('every verb the components use is allowed', async () => {
      const missing: string[] = [];
      for (const [verb, resource, sub, why] of needed) if (!(await can(verb, resource, sub ? { subresource: sub } : {}))) missing.push(`${verb} ${resource}${sub ? `/${sub}` : ''} (${why})`);
      for (const [verb, resource, sub] of clusterNeeded) if (!(await can(verb, resource, { namespace: null, ...(sub ? { subresource: sub } : {}) }))) missing.push(`${verb} ${resource}${sub ? `/${sub}` : ''} (cluster-scoped)`);
      assert.deepEqual(missing, []);
    });

    test('nothing beyond that: no cluster-admin, no other namespaces, no pod exec, no RBAC or CRD changes', async () => {
      const forbidden: Array<[string, string, { namespace?: string | null; subresource?: string }]> = [
        ['*', '*', {}],
        ['*', '*', { namespace: null }],
        ['get', 'secrets', { namespace: 'kube-system' }],
        ['list', 'secrets', { namespace: 'default' }],
        ['create', 'deployments.apps', { namespace: 'default' }],
        // Instances of other namespaces are read (RuntimeVersion usage), never written.
        ['patch', 'appinstances.hac.h2o.ai', { namespace: 'default' }],
        ['delete', 'appinstances.hac.h2o.ai', { namespace: 'default' }],
        ['patch', 'appinstances.hac.h2o.ai', { namespace: 'default', subresource: 'status' }],
        ['create', 'pods', {}],
        ['delete', 'pods', {}],
        ['create', 'pods', { subresource: 'exec' }],
        ['create', 'pods', { subresource: 'portforward' }],
        ['create', 'serviceaccounts', { subresource: 'token' }],
        ['create', 'rolebindings.rbac.authorization.k8s.io', {}],
        ['create', 'roles.rbac.authorization.k8s.io', {}],
        ['create', 'clusterrolebindings.rbac.authorization.k8s.io', { namespace: null }],
        ['create', 'customresourcedefinitions.apiextensions.k8s.io', { namespace: null }],
        ['list', 'nodes', { namespace: null }],
        ['list', 'namespaces', { namespace: null }],
        ['delete', 'leases.coordination.k8s.io', {}],
        ['create', 'configmaps', {}],
        // Writes nobody makes: children are applied (patch) and garbage-collected, not updated or deleted.
        ['update', 'deployments.apps', {}],
        ['delete', 'secrets', {}],
        ['delete', 'persistentvolumeclaims', {}],
        ['update', 'appinstances.hac.h2o.ai', {}],
        ['update', 'appinstances.hac.h2o.ai', { subresource: 'status' }],
        ['delete', 'runtimeversions.hac.h2o.ai', { namespace: null }],
      ];
      const allowed: string[] = [];
      for (const [verb, resource, opts] of forbidden) if (await can(verb, resource, opts)) allowed.push(`${verb} ${resource}${opts.subresource ? `/${opts.subresource}` : ''} in ${opts.namespace === null ? 'the cluster' : (opts.namespace ?? 'its namespace')}`);
      assert.deepEqual(allowed, []);
    });
  });
});
