/**
 * Pure builders of an AppInstance's desired children: the Deployment that
 * runs the launcher, its Service, PVCs and the operator-owned Secret. No I/O:
 * the reconciler applies what these return. A problem the user or admin must
 * fix (a GPU type that is not allowed) comes back as a typed result, not a
 * throw, so the reconciler can turn it into a condition. See docs/operator.md.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1Secret,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { Config } from '../config/config.ts';
import { describeScope, resolutionOrder, resolveAppSecret, secretNameProblem, type SecretLookup } from '../k8s/app-secrets.ts';
import type { AppInstance } from '../k8s/crd/index.ts';
import { ownerReference } from '../k8s/apply.ts';
import { parseQuantity } from '../lib/quantity.ts';
import type { ResolvedApp } from './resolved-app.ts';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'appstore';
export const LABEL_INSTANCE = 'hac.h2o.ai/instance';
export const LABEL_APP_ID = 'hac.h2o.ai/app-id';
export const LABEL_APP_NAME = 'hac.h2o.ai/app-name';
export const LABEL_APP_VERSION = 'hac.h2o.ai/app-version';
/** Node label GPU types are matched against. */
export const ACCELERATOR_LABEL = 'hac.h2o.ai/accelerator';
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** Port waved listens on inside the pod (Wave's default). */
export const APP_PORT = 10101;
/** The launcher's readiness endpoint (GET /ready answers 200 only while waved and the app answer; src/launcher/ready-server.ts). */
export const READY_PORT = 10102;
/** Where the launcher unpacks the bundle; relative [[File]] paths are below it. */
export const APP_DIR = '/app';
/** Non-root user and group the app runs as; fsGroup makes PVCs writable for it. */
export const APP_UID = 1000;
/** Path of the bundle download route on the API (src/api/routes/apps.ts BUNDLE_ROUTE; operator may not import api). */
export const BUNDLE_PATH = (appId: string): string => `/api/v1/apps/${encodeURIComponent(appId)}/bundle`;
/** Key of the launcher token in the operator-owned Secret (and the default key in an external one). */
export const LAUNCHER_TOKEN_KEY = 'launcher-token';
const CONTAINER = 'app';

export type RoutingMode = 'DOMAIN' | 'BASE_URL';

/** How the launcher gets its bundle download credential. */
export type LauncherCredential =
  | { apiURL: string; token: string }
  | { apiURL: string; tokenSecretName: string; tokenSecretKey?: string };

export interface DesiredInput {
  /** The AppInstance as read from the API (needs metadata.uid for owner references). */
  instance: AppInstance;
  app: ResolvedApp;
  /** The RuntimeVersion chosen for the instance. */
  runtime: { name: string; image: string };
  config: Config['scheduler'];
  /** apiURL: base URL of the Appstore server as reachable from pods (no path). */
  launcher: LauncherCredential;
  /** Where users open the instance; BASE_URL passes the URL's path to the app as H2O_WAVE_BASE_URL. */
  routing: { mode: RoutingMode; url: string };
  /** App secrets by object name (src/k8s/app-secrets.ts); `Secret = "x"` resolves only among them. */
  secrets: SecretLookup;
}

export interface DesiredChildren {
  deployment: V1Deployment;
  service: V1Service;
  pvcs: V1PersistentVolumeClaim[];
  /** The operator-owned Secret (launcher token, literal [[File]] values); absent when nothing needs it. */
  secret?: V1Secret;
}

/** Why the children cannot be built; `field` names what to change. */
export interface DesiredError {
  reason: 'GPUNotAllowed' | 'GPUTypeNotAllowed' | 'ReservedEnvName' | 'MountPathConflict' | 'SecretNotFound' | 'SecretKeyNotFound';
  field: string;
  message: string;
}

export type DesiredResult = { ok: true; children: DesiredChildren } | { ok: false; error: DesiredError };

/** Names of the children of an instance; stable so volumes survive restarts and suspend. */
export function childNames(instanceName: string): { deployment: string; service: string; secret: string; dataPVC: string; resourcesPVC: string } {
  return {
    deployment: instanceName,
    service: serviceName(instanceName),
    secret: `${instanceName}-appstore`,
    dataPVC: `${instanceName}-data`,
    resourcesPVC: `${instanceName}-resources`,
  };
}

/**
 * The Service name of an instance: its name, or — when that starts with a
 * digit, which Service names (DNS-1035 labels) may not — `i-` plus a
 * shortened name and a hash, so it stays unique and within 63 characters.
 */
export function serviceName(instanceName: string): string {
  if (/^[a-z]/.test(instanceName)) return instanceName;
  const hash = createHash('sha256').update(instanceName).digest('hex').slice(0, 8);
  return `i-${instanceName.slice(0, 52).replace(/-+$/, '')}-${hash}`;
}

/** `value` made into a valid label value: invalid characters become '_', at most 63, alphanumeric at both ends. */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, '');
}

/** Labels on every child and the pod. */
export function instanceLabels(instanceName: string, app: Pick<ResolvedApp, 'id' | 'name' | 'version'>): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_INSTANCE]: instanceName,
    [LABEL_APP_ID]: labelValue(app.id),
    [LABEL_APP_NAME]: labelValue(app.name),
    [LABEL_APP_VERSION]: labelValue(app.version),
  };
}

/** The pod selector: the instance label alone (selectors are immutable, so nothing that can change). */
export function instanceSelector(instanceName: string): Record<string, string> {
  return { [LABEL_INSTANCE]: instanceName };
}

/** Builds every child of `input.instance`, or the reason it cannot run as asked. */
export function desiredChildren(input: DesiredInput): DesiredResult {
  const { instance, app, config } = input;
  const name = instance.metadata.name;
  const namespace = instance.metadata.namespace;
  if (!name || !namespace) throw new TypeError('desiredChildren: the instance needs metadata.name and metadata.namespace');
  const names = childNames(name);
  const labels = instanceLabels(name, app);
  const meta = (childName: string) => ({ name: childName, namespace, labels: { ...labels }, ownerReferences: [ownerReference(instance)] });
  const overrides = instance.spec.overrides ?? {};
  const rt = app.runtime;

  // GPUs: count and type; a type must be one the admin allows, and no GPU at all when none are.
  const gpuCount = overrides.gpuCount ?? rt.gpuCount ?? 0;
  let gpuType: string | undefined;
  if (gpuCount > 0) {
    const countField = overrides.gpuCount !== undefined ? 'spec.overrides.gpuCount' : 'Runtime.GPUCount';
    if (config.allowedGPUTypes.length === 0) {
      return fail('GPUNotAllowed', countField, `the app asks for ${gpuCount} GPU(s) but GPUs are disabled on this platform (Scheduler.AllowedGPUTypes is empty): ask an admin to allow a GPU type, or run an app version without GPUCount`);
    }
    const typeField = overrides.gpuType !== undefined ? 'spec.overrides.gpuType' : rt.gpuType !== undefined ? 'Runtime.GPUType' : 'Scheduler.DefaultRuntimeLimit.GPUType';
    gpuType = overrides.gpuType ?? rt.gpuType ?? (config.defaultRuntimeLimit.gpuType || undefined);
    if (gpuType !== undefined && !config.allowedGPUTypes.includes(gpuType)) {
      return fail('GPUTypeNotAllowed', typeField, `GPU type ${JSON.stringify(gpuType)} is not allowed here (allowed: ${config.allowedGPUTypes.join(', ')}): use one of those, or none to take any GPU`);
    }
  }

  const secretData: Record<string, string> = {};
  const env: V1EnvVar[] = [];
  const platformEnv = new Set<string>();
  const addPlatformEnv = (v: V1EnvVar) => {
    env.push(v);
    platformEnv.add(v.name);
  };

  // Launcher: where the bundle is and the credential to fetch it (always through a Secret, never a plain value).
  const tokenRef = 'token' in input.launcher
    ? { name: names.secret, key: LAUNCHER_TOKEN_KEY }
    : { name: input.launcher.tokenSecretName, key: input.launcher.tokenSecretKey ?? LAUNCHER_TOKEN_KEY };
  if ('token' in input.launcher) secretData[LAUNCHER_TOKEN_KEY] = input.launcher.token;
  addPlatformEnv({ name: 'H2O_CLOUD_INSTANCE_NAME', value: name });
  addPlatformEnv({ name: 'H2O_CLOUD_APP_ID', value: app.id });
  addPlatformEnv({ name: 'H2O_CLOUD_APP_NAME', value: app.name });
  addPlatformEnv({ name: 'H2O_CLOUD_APP_VERSION', value: app.version });
  addPlatformEnv({ name: 'H2O_CLOUD_APP_MODULE', value: app.module });
  addPlatformEnv({ name: 'H2O_CLOUD_APP_DIR', value: APP_DIR });
  addPlatformEnv({ name: 'H2O_CLOUD_BUNDLE_URL', value: input.launcher.apiURL.replace(/\/+$/, '') + BUNDLE_PATH(app.id) });
  addPlatformEnv({ name: 'H2O_CLOUD_BUNDLE_DIGEST', value: app.bundleDigest });
  addPlatformEnv({ name: 'H2O_CLOUD_LAUNCHER_TOKEN', valueFrom: { secretKeyRef: tokenRef } });
  addPlatformEnv({ name: 'H2O_WAVE_LISTEN', value: `:${APP_PORT}` });
  addPlatformEnv({ name: 'H2O_WAVE_ADDRESS', value: `http://127.0.0.1:${APP_PORT}` });
  addPlatformEnv({ name: 'H2O_CLOUD_LAUNCHER_READY_PORT', value: String(READY_PORT) });
  if (input.routing.mode === 'BASE_URL') {
    addPlatformEnv({ name: 'H2O_WAVE_BASE_URL', value: basePath(input.routing.url) });
  }
  if (rt.resourceVolumeSize) addPlatformEnv({ name: 'H2O_CLOUD_RESOURCE_PATH', value: config.resourcePath });

  // A `Secret` reference resolves only among app secrets the instance is entitled to (src/k8s/app-secrets.ts):
  // never a platform Secret or another instance's, whatever name app.toml gives. Optional ones may be missing.
  const secretRef = (field: string, v: { secret: string; secretKey: string; optional?: true }): { objectName?: string } | { error: DesiredResult } => {
    const found = resolveAppSecret(input.secrets, app.name, instance.spec.owner.subject, v.secret);
    if (!found) {
      if (v.optional) return {};
      const scopes = resolutionOrder(app.name, instance.spec.owner.subject).map(describeScope).join(', then ');
      const naming = secretNameProblem(v.secret);
      return { error: fail('SecretNotFound', `${field}.Secret`, `no app secret ${JSON.stringify(v.secret)} is available to this instance (looked in ${scopes})${naming ? `; ${naming}` : ''}: create it (h2o secret create ${v.secret} --from-literal ${v.secretKey}=…), ask an admin for an ALL_USERS or APP one, or set Optional = true in app.toml`) };
    }
    if (!found.keys.includes(v.secretKey)) {
      if (v.optional) return {};
      return { error: fail('SecretKeyNotFound', `${field}.SecretKey`, `app secret ${JSON.stringify(v.secret)} (${describeScope(found.scope)}) has no key ${JSON.stringify(v.secretKey)} (it has: ${found.keys.join(', ') || 'none'}): add the key to the secret, or change SecretKey in app.toml`) };
    }
    return { objectName: found.objectName };
  };

  // The app's [[Env]]: literals as values, secret keys by reference.
  for (const [i, e] of app.env.entries()) {
    if (platformEnv.has(e.name)) {
      return fail('ReservedEnvName', `Env[${i}].Name`, `${e.name} is set by the platform for every instance; rename the variable in app.toml`);
    }
    if ('value' in e) {
      env.push({ name: e.name, value: e.value });
      continue;
    }
    const ref = secretRef(`Env[${i}]`, e);
    if ('error' in ref) return ref.error;
    if (ref.objectName) env.push({ name: e.name, valueFrom: { secretKeyRef: { name: ref.objectName, key: e.secretKey } } });
  }

  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  // Which app.toml field asked for each mount path: two mounts at one path make the pod invalid.
  const mountField = new Map<string, string>();
  const mountFields: string[] = [];
  const addMount = (field: string, m: V1VolumeMount) => {
    mounts.push(m);
    mountFields.push(field);
  };
  // The app's [[File]]s: each in a directory of its own (app.toml validation ensures it), mounted read-only.
  for (const [i, f] of app.files.entries()) {
    const abs = f.path.startsWith('/') ? f.path : posix.join(APP_DIR, f.path);
    const volumeName = `file-${i}`;
    const item = { path: posix.basename(abs) };
    if ('value' in f) {
      const key = `file-${i}`;
      secretData[key] = f.value;
      volumes.push({ name: volumeName, secret: { secretName: names.secret, items: [{ key, ...item }] } });
    } else {
      const ref = secretRef(`File[${i}]`, f);
      if ('error' in ref) return ref.error;
      if (!ref.objectName) continue;
      volumes.push({ name: volumeName, projected: { sources: [{ secret: { name: ref.objectName, items: [{ key: f.secretKey, ...item }] } }] } });
    }
    addMount(`File[${i}].Path`, { name: volumeName, mountPath: posix.dirname(abs), readOnly: true });
  }

  const pvcs: V1PersistentVolumeClaim[] = [];
  const pvc = (pvcName: string, size: string): V1PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(pvcName),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      ...(config.storageClass ? { storageClassName: config.storageClass } : {}),
    },
  });
  if (rt.volumeMount && rt.volumeSize) {
    pvcs.push(pvc(names.dataPVC, rt.volumeSize));
    volumes.push({ name: 'data', persistentVolumeClaim: { claimName: names.dataPVC } });
    addMount('Runtime.VolumeMount', { name: 'data', mountPath: rt.volumeMount });
  }
  if (rt.resourceVolumeSize) {
    pvcs.push(pvc(names.resourcesPVC, rt.resourceVolumeSize));
    volumes.push({ name: 'resources', persistentVolumeClaim: { claimName: names.resourcesPVC } });
    addMount('Scheduler.ResourcePath', { name: 'resources', mountPath: config.resourcePath });
  }
  if (rt.enableSHM) {
    volumes.push({ name: 'dshm', emptyDir: { medium: 'Memory' } });
    addMount('Runtime.EnableSHM', { name: 'dshm', mountPath: '/dev/shm' });
  }
  for (const [i, m] of mounts.entries()) {
    const field = mountFields[i]!;
    const first = mountField.get(m.mountPath);
    if (first !== undefined) {
      return fail('MountPathConflict', field, `${field} mounts at ${m.mountPath}, where ${first} already mounts: choose another directory in app.toml`);
    }
    mountField.set(m.mountPath, field);
  }

  // Resources: admin overrides, then app.toml, then the platform default.
  const d = config.defaultRuntimeLimit;
  // Override quantities are int-or-string (`cpuLimit: 4`); Kubernetes takes both as strings.
  const pick = (...vals: Array<string | number | undefined>) => {
    const v = vals.find((x) => x !== undefined && x !== '');
    return v === undefined ? undefined : String(v);
  };
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  setIf(limits, 'memory', pick(overrides.memoryLimit, rt.memoryLimit, d.memoryLimit));
  setIf(requests, 'memory', pick(overrides.memoryReservation, rt.memoryReservation, d.memoryReservation));
  setIf(limits, 'cpu', pick(overrides.cpuLimit, rt.cpuLimit, d.cpuLimit));
  setIf(requests, 'cpu', pick(overrides.cpuReservation, rt.cpuReservation, d.cpuReservation));
  clampRequest(requests, limits, 'memory');
  clampRequest(requests, limits, 'cpu');
  if (gpuCount > 0) limits[GPU_RESOURCE] = String(gpuCount);

  const container: V1Container = {
    name: CONTAINER,
    image: input.runtime.image,
    ports: [{ name: 'http', containerPort: APP_PORT, protocol: 'TCP' }, { name: 'ready', containerPort: READY_PORT, protocol: 'TCP' }],
    env,
    resources: { ...(Object.keys(limits).length ? { limits } : {}), ...(Object.keys(requests).length ? { requests } : {}) },
    // Ready means "the app answers": the app port serves the progress page early (install progress, a failure,
    // between crash restarts), so the probe asks the launcher, which says 200 only while waved and the app answer.
    readinessProbe: { httpGet: { path: '/ready', port: 'ready' }, periodSeconds: 2, failureThreshold: 3 },
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } },
    ...(mounts.length ? { volumeMounts: mounts } : {}),
  };

  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(names.deployment),
    spec: {
      replicas: instance.spec.suspend ? 0 : 1,
      selector: { matchLabels: instanceSelector(name) },
      // ReadWriteOnce volumes cannot be held by an old and a new pod at once.
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          containers: [container],
          ...(config.appServiceAccount ? { serviceAccountName: config.appServiceAccount } : { automountServiceAccountToken: false }),
          securityContext: { runAsNonRoot: true, runAsUser: APP_UID, runAsGroup: APP_UID, fsGroup: APP_UID, seccompProfile: { type: 'RuntimeDefault' } },
          ...(gpuType ? { nodeSelector: { [ACCELERATOR_LABEL]: gpuType } } : {}),
          ...(volumes.length ? { volumes } : {}),
        },
      },
    },
  };

  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(names.service),
    spec: {
      type: config.serviceType,
      selector: instanceSelector(name),
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };

  const children: DesiredChildren = { deployment, service, pvcs };
  if (Object.keys(secretData).length) {
    children.secret = { apiVersion: 'v1', kind: 'Secret', metadata: meta(names.secret), type: 'Opaque', data: base64Values(secretData) };
  }
  return { ok: true, children };
}

function fail(reason: DesiredError['reason'], field: string, message: string): DesiredResult {
  return { ok: false, error: { reason, field, message } };
}

/**
 * A request above its limit (an app's MemoryLimit below the platform's default
 * reservation, or an override lowering the limit) is refused by the apiserver;
 * the limit is the more deliberate of the two, so the request comes down to it.
 */
function clampRequest(requests: Record<string, string>, limits: Record<string, string>, key: string): void {
  const req = requests[key];
  const lim = limits[key];
  if (req !== undefined && lim !== undefined && parseQuantity(req) > parseQuantity(lim)) requests[key] = lim;
}

function setIf(target: Record<string, string>, key: string, value: string | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** The path of a BASE_URL instance URL, with a trailing slash (`/instance/foo/`). */
function basePath(url: string): string {
  const p = new URL(url).pathname;
  return p.endsWith('/') ? p : `${p}/`;
}

/** Secret `data` (base64) rather than write-only `stringData`, so the applied object compares with the stored one. */
function base64Values(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}
