/**
 * The control plane's programs, each built from a pinned Go module under
 * test/tools/ and cached by test/support/go-tool.ts: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kubectl and kwok.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGoTools, goToolSetDir, repoRoot } from '../support/go-tool.ts';
import type { GoToolSet } from '../support/go-tool.ts';

export interface ClusterBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
}

/** Reads the version a tool module requires of `modulePath`, so go.mod stays the one place a version is written. */
export function requiredVersion(module: string, modulePath: string): string {
  const gomod = readFileSync(join(repoRoot, module, 'go.mod'), 'utf8');
  const esc = modulePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${esc}\\s+(v\\S+)`, 'm').exec(gomod);
  if (!m?.[1]) throw new Error(`${module}/go.mod does not require ${modulePath}; regenerate it (see docs/testing.md)`);
  return m[1];
}

/** The Kubernetes release the control plane is built from, e.g. `v1.34.4`. */
export function kubernetesVersion(): string {
  return requiredVersion('test/tools/k8s', 'k8s.io/kubernetes');
}

function kubernetesSet(): GoToolSet {
  const version = kubernetesVersion();
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(version) ?? [];
  const x = (name: string, value: string) => `-X ${name}=${value}`;
  return {
    module: 'test/tools/k8s',
    name: `k8s-${version}`,
    pkgs: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    // Without the -X flags every binary reports v0.0.0-master; -s -w drop symbols to link faster.
    ldflags: [
      '-s -w',
      x('k8s.io/component-base/version.gitVersion', version),
      x('k8s.io/component-base/version.gitMajor', major ?? ''),
      x('k8s.io/component-base/version.gitMinor', minor ?? ''),
      x('k8s.io/client-go/pkg/version.gitVersion', version),
      x('k8s.io/client-go/pkg/version.gitMajor', major ?? ''),
      x('k8s.io/client-go/pkg/version.gitMinor', minor ?? ''),
    ].join(' '),
    tags: 'selinux,notest',
  };
}

function etcdSet(): GoToolSet {
  const version = requiredVersion('test/tools/etcd', 'go.etcd.io/etcd/server/v3');
  return { module: 'test/tools/etcd', name: `etcd-${version}`, pkgs: { etcd: 'go.etcd.io/etcd/server/v3' }, ldflags: '-s -w' };
}

function kwokSet(): GoToolSet {
  const version = requiredVersion('test/tools/kwok', 'sigs.k8s.io/kwok');
  return { module: 'test/tools/kwok', name: `kwok-${version}`, pkgs: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' }, ldflags: '-s -w' };
}

/** Where the binaries are cached (whether or not they are built yet). */
export function binaryDirs(): string[] {
  return [kubernetesSet(), etcdSet(), kwokSet()].map(goToolSetDir);
}

/** Builds (once) and returns every control-plane binary. The three modules build one after another: each `go build` already uses every core. */
export async function ensureClusterBinaries(log: (m: string) => void = () => {}): Promise<ClusterBinaries> {
  const k8s = await ensureGoTools(kubernetesSet(), log);
  const etcd = await ensureGoTools(etcdSet(), log);
  const kwok = await ensureGoTools(kwokSet(), log);
  return {
    etcd: etcd.etcd!,
    kubeApiserver: k8s['kube-apiserver']!,
    kubeControllerManager: k8s['kube-controller-manager']!,
    kubeScheduler: k8s['kube-scheduler']!,
    kubectl: k8s.kubectl!,
    kwok: kwok.kwok!,
  };
}
