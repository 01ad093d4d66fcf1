/**
 * DEVELOPMENT AND TEST TOOL. kwok's pod stages for the local cluster
 * (test/cluster writes them into kwok's configuration): kwok's own defaults
 * (v0.7.0, kustomize/stage/pod/fast), except for pods the local pod runner
 * runs for real — a container that runs the launcher (env
 * H2O_CLOUD_BUNDLE_URL) from a local image (`appstore.local/…`, the
 * RuntimeVersion image of `npm start` and of the runner's tests). Those get
 * only their IP and "ContainerCreating", never Ready: their readiness is the
 * runner's, from the pod's own readiness probe. kwok's default marks every
 * pod Ready the moment it gets an IP, so an instance read Ready before its
 * app had even been downloaded. Launcher pods of other images (operator tests
 * with no runner) keep kwok's default and read Ready at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A container runs the launcher when its env has this variable (src/operator/desired.ts sets it). */
export const LAUNCHER_ENV = 'H2O_CLOUD_BUNDLE_URL';

/** Registry of images the local pod runner is meant to run (no such registry exists: the image is never pulled). */
export const LOCAL_IMAGE_PREFIX = 'appstore.local/';

/** True for an image name the local cluster leaves to the local pod runner. */
export function isLocalImage(image: string | undefined): boolean {
  return !!image?.startsWith(LOCAL_IMAGE_PREFIX);
}

/** Name of the stage that gives launcher pods their IP (tests look for it in kwok's configuration). */
export const LAUNCHER_POD_STAGE = 'pod-launcher-ip';

// A jq query on the pod (kwok evaluates selector keys with gojq); true when the runner runs it.
const launcherSelector = `    - key: 'any(.spec.containers[]; ((.image // "") | startswith("${LOCAL_IMAGE_PREFIX}")) and any(.env[]?; .name == "${LAUNCHER_ENV}"))'
      operator: '%OP%'
      values:
      - 'true'`;

const ips = `      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}`;

/** True when the local cluster in `clusterDir` runs these stages (one started before them marks launcher pods Ready at once). */
export function clusterRunsLauncherStage(clusterDir: string): boolean {
  const file = join(clusterDir, 'kwok.yaml');
  return existsSync(file) && readFileSync(file, 'utf8').includes(`name: ${LAUNCHER_POD_STAGE}\n`);
}

/** One kwok Stage for pods: `selector` is its matchExpressions, `next` what it does (YAML, indented, each ending in a newline). */
function podStage(name: string, selector: string, next: string): string {
  return `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
${selector}  next:
${next}`;
}

// Pods not being deleted that have no IP yet: the two stages that give them one.
const waitingForIP = `    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
`;

// Both IP stages start their status the same way.
const initialized = `    statusTemplate: |
      {{ $now := Now }}

      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
`;

/** kwok Stage documents (YAML, to append to a KwokConfiguration file). Giving any pod stage replaces all of kwok's defaults. */
export const KWOK_POD_STAGES = [
  podStage('pod-ready', `${waitingForIP}${launcherSelector.replace('%OP%', 'NotIn')}\n`, `${initialized}      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      {{ range .spec.readinessGates }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: {{ .conditionType | Quote }}
      {{ end }}

      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}

      initContainerStatuses:
      {{ range .spec.initContainers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        {{ if eq .restartPolicy "Always" }}
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
        {{ else }}
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
        {{ end }}
      {{ end }}

${ips}
      phase: Running
      startTime: {{ $now | Quote }}
`),
  podStage(LAUNCHER_POD_STAGE, `${waitingForIP}${launcherSelector.replace('%OP%', 'In')}\n`, `${initialized}      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: ContainersNotReady
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: ContainersNotReady

      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: ContainerCreating
      {{ end }}

${ips}
      phase: Pending
      startTime: {{ $now | Quote }}
`),
  podStage('pod-complete', `    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values:
      - 'Job'
`, `    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      {{ $origin := index $root.status.containerStatuses $index }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Succeeded
`),
  podStage('pod-delete', `    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
`, `    finalizers:
      empty: true
    delete: true
`),
].join('');
