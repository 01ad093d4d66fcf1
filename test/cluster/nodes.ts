/**
 * The fake Node objects the test cluster registers for kwok to run: one
 * plain node and one that looks like a GPU node, so scheduling by
 * accelerator label and `nvidia.com/gpu` requests can be tested.
 */

/** Annotation kwok selects the nodes it manages by (kwok is started with this selector). */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** Label naming a node's accelerator, as the app store's GPU scheduling expects. */
export const ACCELERATOR_LABEL = 'hac.h2o.ai/accelerator';
export const GPU_ACCELERATOR = 'nvidia-tesla-t4';
export const GPU_RESOURCE = 'nvidia.com/gpu';

export interface FakeNode {
  name: string;
  labels: Record<string, string>;
  resources: Record<string, string>;
}

export const fakeNodes: FakeNode[] = [
  { name: 'kwok-node-0', labels: {}, resources: { cpu: '16', memory: '64Gi', pods: '110' } },
  {
    name: 'kwok-gpu-node-0',
    labels: { [ACCELERATOR_LABEL]: GPU_ACCELERATOR },
    resources: { cpu: '16', memory: '64Gi', pods: '110', [GPU_RESOURCE]: '2' },
  },
];

/** The Node object for `n`, status included (the apiserver keeps a node's status on create). */
export function nodeManifest(n: FakeNode, kubernetesVersion: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
        ...n.labels,
      },
    },
    spec: {},
    status: {
      allocatable: n.resources,
      capacity: n.resources,
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: `${kubernetesVersion}-kwok`,
        kubeProxyVersion: '',
        containerRuntimeVersion: 'kwok',
        kernelVersion: '',
        osImage: 'kwok',
        bootID: '',
        machineID: '',
        systemUUID: '',
      },
      phase: 'Running',
    },
  };
}
