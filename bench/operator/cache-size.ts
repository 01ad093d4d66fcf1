/**
 * Heap bytes the operator's informers take for one namespace: run in a fresh
 * process (node --expose-gc) by bench.ts, so nothing else allocates between
 * the two readings. Prints one JSON line {instances, bytes}.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { OperatorCaches } from '../../src/operator/caches.ts';

const [kubeconfig, namespace] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !kubeconfig || !namespace) throw new Error('usage: node --expose-gc --import tsx bench/operator/cache-size.ts KUBECONFIG NAMESPACE');
const settle = async () => {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
};
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const caches = new OperatorCaches(kc, namespace);
// A first sync of an empty selector warms up the client (TLS, discovery, code paths) outside the measurement.
const warm = new OperatorCaches(kc, 'kube-system');
await warm.start();
await warm.stop();
await settle();
const heap0 = process.memoryUsage().heapUsed;
await caches.start();
await settle();
const heap1 = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ instances: caches.instances.list().length, bytes: heap1 - heap0 }));
await caches.stop();
process.exit(0);
