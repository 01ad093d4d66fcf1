/**
 * An operator in a process of its own, for failover tests: reads the
 * kubeconfig, namespace, identity and catalog from the environment, prints
 * one JSON line per leadership change on stdout, stops gracefully (releasing
 * the Lease) on SIGTERM. SIGKILL is a crash.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { ResolvedApp } from '../../src/operator/resolved-app.ts';
import { MemoryCatalog, operatorConfig, startTestOperator } from './operator.ts';

const kc = new KubeConfig();
kc.loadFromFile(process.env.OPERATOR_KUBECONFIG!);
const apps = JSON.parse(process.env.OPERATOR_APPS ?? '[]') as ResolvedApp[];
const runtimeVersions = JSON.parse(process.env.OPERATOR_RUNTIME_VERSIONS ?? '[]') as [];
const identity = process.env.OPERATOR_IDENTITY!;
const op = await startTestOperator(kc, operatorConfig(process.env.OPERATOR_NAMESPACE!, {}, runtimeVersions), new MemoryCatalog(apps), {
  identity,
  onLeading: () => console.log(JSON.stringify({ identity, leading: true, at: Date.now() })),
});
process.on('SIGTERM', () => {
  void op.stop().then(() => {
    console.log(JSON.stringify({ identity, stopped: true, at: Date.now() }));
    process.exit(0);
  });
});
console.log(JSON.stringify({ identity, started: true }));
