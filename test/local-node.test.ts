// needs: cluster
/**
 * The local pod runner (a development and test tool) on the real local
 * cluster: a pod whose container runs the launcher is run as a local process
 * bound to its kwok pod IP, serves the real Wave app there, reports readiness
 * from its probe, and a crash is reported as terminated with the exit code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, Watch, type V1ContainerStatus, type V1Pod } from '@kubernetes/client-node';
import { signLauncherToken } from '../src/auth/launcher-token.ts';
import { clusterRunsLauncherStage, LOCAL_IMAGE_PREFIX } from '../src/local-node/kwok-stages.ts';
import { LocalPodRunner } from '../src/local-node/pod-runner.ts';
import { APP_PORT, READY_PORT } from '../src/operator/desired.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { freshNamespace, kubeConfig, kubeconfigPath, type TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';
import { ensureUv, makeWaveBundle, pythonCacheEnv, waveClientMessages } from './support/python-app.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
let api: TestApi;
let ns: TestNamespace;
let runner: LocalPodRunner;
const dataDir = mkdtempSync(join(tmpdir(), 'local-node-test-'));

async function importApp(name: string, source?: string): Promise<{ id: string; digest: string }> {
  const res = await api.importBundle('alice', await makeWaveBundle({ name, ...(source ? { source } : {}) }));
  assert.equal(res.status, 201, await res.clone().text());
  const { app } = (await res.json()) as { app: { id: string; bundleSha256: string } };
  return { id: app.id, digest: `sha256:${app.bundleSha256}` };
}

/** A pod as the operator's Deployment makes them: launcher env, token from a Secret, a [[File]] volume. */
function launcherPod(name: string, app: { id: string; digest: string }, opts: { restartPolicy: 'Always' | 'Never' }): V1Pod {
  return {
    metadata: { name, labels: { 'hac.h2o.ai/instance': name } },
    spec: {
      restartPolicy: opts.restartPolicy,
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'app',
          image: `${LOCAL_IMAGE_PREFIX}launcher:test`,
          ports: [{ name: 'http', containerPort: APP_PORT }, { name: 'ready', containerPort: READY_PORT }],
          env: [
            { name: 'H2O_CLOUD_APP_MODULE', value: 'app.run' },
            { name: 'H2O_CLOUD_APP_DIR', value: '/app' },
            { name: 'H2O_CLOUD_BUNDLE_URL', value: `${api.url}/api/v1/apps/${app.id}/bundle` },
            { name: 'H2O_CLOUD_BUNDLE_DIGEST', value: app.digest },
            { name: 'H2O_CLOUD_LAUNCHER_TOKEN', valueFrom: { secretKeyRef: { name: 'launcher', key: 'launcher-token' } } },
            { name: 'H2O_WAVE_LISTEN', value: ':10101' },
            { name: 'H2O_WAVE_ADDRESS', value: 'http://127.0.0.1:10101' },
            { name: 'H2O_CLOUD_LAUNCHER_FAILURE_HOLD', value: '1' },
            { name: 'H2O_CLOUD_LAUNCHER_READY_PORT', value: String(READY_PORT) },
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } },
          ],
          // The operator's probe: the launcher answers 200 only while waved and the app answer.
          readinessProbe: { httpGet: { path: '/ready', port: 'ready' }, periodSeconds: 1, failureThreshold: 1 },
          volumeMounts: [{ name: 'file-0', mountPath: '/app/config', readOnly: true }],
        },
      ],
      volumes: [{ name: 'file-0', secret: { secretName: 'launcher', items: [{ key: 'settings', path: 'settings.txt' }] } }],
    },
  };
}

async function readPod(name: string): Promise<V1Pod> {
  return core.readNamespacedPod({ namespace: ns.name, name });
}

const status = (p: V1Pod): V1ContainerStatus | undefined => p.status?.containerStatuses?.find((c) => c.name === 'app');

/** True when the cluster's kwok runs our pod stages (a cluster started before them marks launcher pods Ready first). */
const kwokHasLauncherStage = () => clusterRunsLauncherStage(process.env.APPSTORE_TEST_CLUSTER_DIR ?? dirname(kubeconfigPath()));

/** Every status a pod goes through (a watch sees each write; polling could miss a short Ready). */
async function watchPod(name: string): Promise<{ seen: V1Pod[]; stop: () => void }> {
  const seen: V1Pod[] = [];
  const req = await new Watch(kc).watch(`/api/v1/namespaces/${ns.name}/pods`, { fieldSelector: `metadata.name=${name}` }, (_type, obj: V1Pod) => seen.push(obj), () => undefined);
  return { seen, stop: () => req.abort() };
}

const readyCondition = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('local pod runner', { timeout: 600_000 }, () => {
  before(async () => {
    const uv = await ensureUv();
    api = await startTestApi({ db: 'pglite', store: 'fs' });
    ns = await freshNamespace('local-node');
    runner = await LocalPodRunner.start({
      kc,
      namespace: ns.name,
      dataDir,
      baseEnv: { ...(process.env as Record<string, string>), APPSTORE_CANARY_SECRET: 'canary-s3-secret', ...pythonCacheEnv(), PATH: `${join(uv, '..')}:${process.env.PATH ?? ''}` },
      restartBackoffMs: 500,
    });
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'settings' }, data: { greeting: 'hello from a ConfigMap' } } });
  });
  after(async () => {
    await runner?.stop();
    await ns?.cleanup();
    await api?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a launcher pod runs locally on its pod IP, serves the Wave app and becomes ready by its probe', async () => {
    const app = await importApp('local-node-hello', [
      'import os',
      'from h2o_wave import main, app, Q, ui  # noqa: F401',
      "print('GREETING=' + os.environ['GREETING'], flush=True)",
      "print('SETTING=' + open('config/settings.txt').read(), flush=True)",
      "print('CANARY=' + os.environ.get('APPSTORE_CANARY_SECRET', 'absent'), flush=True)",
      "@app('/')",
      'async def serve(q: Q):',
      "    q.page['x'] = ui.markdown_card(box='1 1 2 2', title='x', content='local node')",
      '    await q.page.save()',
    ].join('\n'));
    const token = signLauncherToken(api.launcherKey, { app: app.id, instance: 'hello', exp: Math.floor(Date.now() / 1000) + 3600 });
    await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'launcher' }, stringData: { 'launcher-token': token, settings: 'answer=42' } } });
    await core.createNamespacedPod({ namespace: ns.name, body: launcherPod('hello', app, { restartPolicy: 'Always' }) });

    // Not ready while the launcher prepares; ready once waved and the app answer (the launcher's /ready).
    let sawNotReadyRunning = false;
    let pod: V1Pod | undefined;
    await waitFor('the pod to be ready by its probe', async () => {
      pod = await readPod('hello');
      const s = status(pod);
      if (s?.state?.running && s.ready === false) sawNotReadyRunning = true;
      return sawNotReadyRunning && s?.ready === true;
    }, 300_000, 200);
    const ip = pod!.status!.podIP!;
    assert.match(ip, /^127\.(6[5-9]|[78]\d|9[0-5])\./, 'kwok hands out loopback pod IPs from the cluster\'s own range (test/cluster/pod-range.ts)');
    const readyz = await fetch(`http://${ip}:${READY_PORT}/ready`);
    assert.equal(readyz.status, 200, await readyz.clone().text());
    assert.equal(pod!.status!.phase, 'Running');
    assert.equal(pod!.status!.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const res = await fetch(`http://${ip}:10101/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /wave-static|H2O Wave/i);

    const logs = async () => {
      const stream = await runner.logs({ namespace: ns.name, pod: 'hello', container: 'app', follow: false, previous: false, signal: new AbortController().signal });
      let text = '';
      for await (const c of stream) text += (c as Buffer).toString();
      return text;
    };
    await waitFor('the app to register in the pod log', async () => /app_add/.test(await logs()), 60_000, 200);
    const text = await logs();
    // Registered with waved: the app's own card reaches a browser-like client on the pod IP.
    assert.match(await waveClientMessages(`http://${ip}:10101`, '/', 'local node'), /"view":"markdown"/);
    assert.match(text, /^\[launcher\] Sourcing the Wave Application/m);
    assert.match(text, /^\[app\] GREETING=hello from a ConfigMap$/m, 'env valueFrom configMapKeyRef is resolved');
    assert.match(text, /^\[waved\] .*app_add/m);
    // Issue #24 item 5: the runner's own environment (a canary secret) never reaches app code; HOME is the pod's folder.
    assert.match(text, /^\[app\] CANARY=absent$/m, 'the server environment is scrubbed from pod processes');
    assert.doesNotMatch(text, /canary-s3-secret/);
    const tail = await runner.logs({ namespace: ns.name, pod: 'hello', container: 'app', follow: false, previous: false, tailLines: 1, signal: new AbortController().signal });
    let last = '';
    for await (const c of tail) last += (c as Buffer).toString();
    assert.equal(last.trim().split('\n').length, 1);

    // Deleting the pod stops the process: the pod IP stops answering.
    await core.deleteNamespacedPod({ namespace: ns.name, name: 'hello' });
    await waitFor('the pod process to stop', async () => {
      try {
        await fetch(`http://${ip}:10101/`, { signal: AbortSignal.timeout(1000) });
        return false;
      } catch {
        return true;
      }
    }, 30_000, 200);
  });

  test('a crash is reported as terminated with the exit code (Never) and as restarts with lastState (Always)', async () => {
    const app = await importApp('local-node-crash', 'from h2o_wave import main, app, Q  # noqa: F401\nraise SystemExit(3)\n');
    const token = signLauncherToken(api.launcherKey, { app: app.id, exp: Math.floor(Date.now() / 1000) + 3600 });
    await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'launcher' }, stringData: { 'launcher-token': token, settings: 'x' } } }).catch(async () => {
      await core.replaceNamespacedSecret({ namespace: ns.name, name: 'launcher', body: { metadata: { name: 'launcher' }, stringData: { 'launcher-token': token, settings: 'x' } } });
    });
    const watch = await watchPod('crash-always');
    await core.createNamespacedPod({ namespace: ns.name, body: launcherPod('crash-never', app, { restartPolicy: 'Never' }) });
    await core.createNamespacedPod({ namespace: ns.name, body: launcherPod('crash-always', app, { restartPolicy: 'Always' }) });
    await waitFor('crash-never to terminate', async () => !!status(await readPod('crash-never'))?.state?.terminated, 300_000, 300);
    const never = await readPod('crash-never');
    assert.equal(never.status?.phase, 'Failed');
    assert.notEqual(status(never)!.state!.terminated!.exitCode, 0);
    assert.equal(status(never)!.ready, false);
    await waitFor('crash-always to restart', async () => (status(await readPod('crash-always'))?.restartCount ?? 0) >= 1, 300_000, 300);
    const always = status(await readPod('crash-always'))!;
    assert.notEqual(always.lastState?.terminated?.exitCode, 0);
    assert.ok(always.lastState?.terminated?.exitCode, 'lastState.terminated has the exit code');
    const prev = await runner.logs({ namespace: ns.name, pod: 'crash-always', container: 'app', follow: false, previous: true, signal: new AbortController().signal });
    let text = '';
    for await (const c of prev) text += (c as Buffer).toString();
    const ips = await Promise.all(['crash-never', 'crash-always'].map(async (n) => `${n} ${(await readPod(n)).status?.podIP}`));
    assert.match(text, /the app \(app\.run\) exited \(exit code \d+\)/, `pod IPs: ${ips.join(', ')}`);

    // Through two crashes and restarts the pod never read Ready: not from kwok, not from the progress page,
    // not in the second between waved opening its port and the app dying.
    await waitFor('crash-always to restart twice', async () => (status(await readPod('crash-always'))?.restartCount ?? 0) >= 2, 300_000, 300);
    watch.stop();
    const strict = kwokHasLauncherStage();
    const takenOver = strict ? 0 : watch.seen.findIndex((p) => status(p)?.ready === false);
    assert.ok(takenOver >= 0, 'the runner wrote a status');
    const readyAt = watch.seen.slice(takenOver).filter((p) => readyCondition(p) || status(p)?.ready);
    assert.deepEqual(readyAt.map((p) => p.metadata?.resourceVersion), [], `a crash-looping pod read Ready (${strict ? 'from creation' : 'after the runner took over; this cluster predates the launcher pod stage'})`);
    assert.ok(watch.seen.some((p) => status(p)?.state?.waiting?.reason === 'CrashLoopBackOff'), 'the watch saw the crash loop');
  });
});
