import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { KubernetesObject, V1Deployment, V1PersistentVolumeClaim, V1Secret, V1Service } from '@kubernetes/client-node';
import type { DesiredChildren } from './desired.ts';
import { childDrift, listRepairPatch, secretValueDigest } from './drift.ts';

/** The built children of the `full` fixture (every kind of field we set), fresh per call. */
function desired(): DesiredChildren {
  return (parse(readFileSync(join(import.meta.dirname, 'fixtures', 'full', 'expected.yaml'), 'utf8')) as { children: DesiredChildren }).children;
}

const clone = <T>(x: T): T => structuredClone(x);

/** `d` as the apiserver stores it: defaults added, quantities normalised, empty values dropped, others' fields present. */
function stored(d: DesiredChildren): { deployment: V1Deployment; service: V1Service; pvc: V1PersistentVolumeClaim; secret: V1Secret } {
  const deployment = clone(d.deployment);
  const spec = deployment.spec!;
  spec.revisionHistoryLimit = 10;
  spec.progressDeadlineSeconds = 600;
  spec.template.metadata!.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T08:00:00Z' };
  const pod = spec.template.spec!;
  Object.assign(pod, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30 });
  for (const v of pod.volumes ?? []) if (v.secret) v.secret.defaultMode = 420;
  const c = pod.containers[0]!;
  Object.assign(c, { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
  Object.assign(c.readinessProbe!, { timeoutSeconds: 1, successThreshold: 1 });
  Object.assign(c.readinessProbe!.httpGet!, { scheme: 'HTTP' });
  c.resources = { limits: { memory: '1024Mi', cpu: '2000m', 'nvidia.com/gpu': '1' }, requests: { memory: '700Mi', cpu: '0.5' } };
  // Another manager's env var: our apply could not remove it, so it is not drift.
  c.env = [...c.env!, { name: 'ADDED_BY_SOMEONE', value: 'x' }];
  const service = clone(d.service);
  Object.assign(service.spec!, { clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'], sessionAffinity: 'None', ipFamilies: ['IPv4'] });
  const pvc = clone(d.pvcs[0]!);
  pvc.spec!.volumeMode = 'Filesystem';
  const secret = clone(d.secret!);
  // As the cache holds it: digests, and a real token rather than the placeholder.
  secret.data = Object.fromEntries(Object.entries(secret.data!).map(([k, v]) => [k, secretValueDigest(k === 'launcher-token' ? 'bHQxLnJlYWw=' : v)]));
  return { deployment, service, pvc, secret };
}

describe('childDrift', () => {
  test('the stored form of unchanged children is no drift (defaults, quantities, others\' items ignored)', () => {
    const d = desired();
    const live = stored(d);
    assert.deepEqual(childDrift(d.deployment, live.deployment), []);
    assert.deepEqual(childDrift(d.service, live.service), []);
    assert.deepEqual(childDrift(d.pvcs[0]!, live.pvc), []);
    assert.deepEqual(childDrift(d.secret!, live.secret), []);
  });

  test('no live object: nothing to compare', () => {
    assert.deepEqual(childDrift(desired().deployment, undefined), []);
  });

  test('Deployment: image, replicas, env, resources, probe, mounts, volumes, nodeSelector, labels edited by hand', () => {
    const d = desired();
    const live = stored(d).deployment;
    const pod = live.spec!.template.spec!;
    const c = pod.containers[0]!;
    live.spec!.replicas = 3;
    c.image = 'evil:latest';
    c.env!.find((e) => e.name === 'GREETING')!.value = 'bye';
    c.env = c.env!.filter((e) => e.name !== 'H2O_CLOUD_APP_ID');
    c.resources!.limits!.memory = '2Gi';
    c.readinessProbe!.periodSeconds = 30;
    c.volumeMounts!.find((m) => m.mountPath === '/app/config')!.readOnly = false;
    pod.volumes = pod.volumes!.filter((v) => v.name !== 'dshm');
    pod.nodeSelector = { 'hac.h2o.ai/accelerator': 'a100' };
    live.metadata!.labels!['hac.h2o.ai/app-version'] = 'other';
    assert.deepEqual(childDrift(d.deployment, live).sort(), [
      'metadata.labels.hac.h2o.ai/app-version',
      'spec.replicas',
      'spec.template.spec.containers[app].env[GREETING].value',
      'spec.template.spec.containers[app].env[H2O_CLOUD_APP_ID]',
      'spec.template.spec.containers[app].image',
      'spec.template.spec.containers[app].readinessProbe.periodSeconds',
      'spec.template.spec.containers[app].resources.limits.memory',
      'spec.template.spec.containers[app].volumeMounts[/app/config].readOnly',
      'spec.template.spec.nodeSelector.hac.h2o.ai/accelerator',
      'spec.template.spec.volumes[dshm]',
    ]);
  });

  test('Deployment: a quantity written differently but equal is no drift; a different one is', () => {
    const d = desired();
    const live = stored(d).deployment;
    live.spec!.template.spec!.containers[0]!.resources!.requests!.cpu = '500m';
    assert.deepEqual(childDrift(d.deployment, live), []);
    live.spec!.template.spec!.containers[0]!.resources!.requests!.cpu = '501m';
    assert.deepEqual(childDrift(d.deployment, live), ['spec.template.spec.containers[app].resources.requests.cpu']);
  });

  test('Service: port, type and selector', () => {
    const d = desired();
    const live = stored(d).service;
    live.spec!.ports![0]!.port = 8080;
    live.spec!.type = 'NodePort';
    live.spec!.selector = { app: 'other' };
    assert.deepEqual(childDrift(d.service, live).sort(), ['spec.ports[http].port', 'spec.selector.hac.h2o.ai/instance', 'spec.type']);
  });

  test('PVC: only a smaller size is drift (a volume can grow, never shrink)', () => {
    const d = desired();
    const live = stored(d).pvc;
    live.spec!.resources!.requests!.storage = '10Gi';
    assert.deepEqual(childDrift(d.pvcs[0]!, live), []);
    live.spec!.resources!.requests!.storage = '1Gi';
    assert.deepEqual(childDrift(d.pvcs[0]!, live), ['spec.resources.requests.storage']);
    live.spec!.accessModes = ['ReadWriteMany']; // immutable: not compared
    assert.deepEqual(childDrift(d.pvcs[0]!, live), ['spec.resources.requests.storage']);
  });

  test('Secret: a changed or missing key is drift; the token is compared by presence only', () => {
    const d = desired();
    const live = stored(d).secret;
    const file = Object.keys(d.secret!.data!).find((k) => k !== 'launcher-token')!;
    assert.deepEqual(childDrift(d.secret!, { ...live, data: { ...live.data, [file]: secretValueDigest('b3RoZXI=') } } as KubernetesObject), [`data.${file}`]);
    const { 'launcher-token': _token, ...rest } = live.data!;
    assert.deepEqual(childDrift(d.secret!, { ...live, data: rest } as KubernetesObject), ['data.launcher-token']);
    // The full object (not the cache's digests) compares too.
    assert.deepEqual(childDrift(d.secret!, d.secret!), []);
  });

  test('an empty value we set matches the absent field the apiserver stores (omitempty)', () => {
    const d = desired();
    const live = stored(d).deployment;
    d.deployment.spec!.template.spec!.containers[0]!.env!.push({ name: 'EMPTY', value: '' });
    live.spec!.template.spec!.containers[0]!.env!.push({ name: 'EMPTY' });
    assert.deepEqual(childDrift(d.deployment, live), []);
  });
});

describe('listRepairPatch', () => {
  test('a drifted Service port list is replaced whole (JSON patch)', () => {
    const d = desired();
    assert.deepEqual(listRepairPatch(d.service, stored(d).service, ['spec.ports[http].port']), [{ op: 'replace', path: '/spec/ports', value: d.service.spec!.ports }]);
  });
  test('a drifted container port list is replaced whole, at the live container\'s index; other drift needs no patch', () => {
    const d = desired();
    const live = stored(d).deployment;
    live.spec!.template.spec!.containers.unshift({ name: 'sidecar', image: 'x' });
    const ports = d.deployment.spec!.template.spec!.containers[0]!.ports;
    assert.deepEqual(listRepairPatch(d.deployment, live, ['spec.template.spec.containers[app].ports[http].containerPort']), [{ op: 'replace', path: '/spec/template/spec/containers/1/ports', value: ports }]);
    assert.deepEqual(listRepairPatch(d.deployment, live, ['spec.replicas', 'spec.template.spec.containers[app].image']), []);
    assert.deepEqual(listRepairPatch(d.service, stored(d).service, ['spec.type']), []);
  });
});
