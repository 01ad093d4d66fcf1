/**
 * DEVELOPMENT AND TEST TOOL: runs the local pod runner on its own, beside a
 * kwok cluster (production uses real kubelets).
 *
 *   node --import tsx src/local-node/main.ts --kubeconfig .appstore/cluster/admin.kubeconfig \
 *     [--namespace appstore] [--data-dir .appstore/local-node]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { LocalPodRunner } from './pod-runner.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
    namespace: { type: 'string' },
    'data-dir': { type: 'string', default: '.appstore/local-node' },
    'restart-backoff-ms': { type: 'string', default: '10000' },
  },
});
if (!values.kubeconfig) {
  process.stderr.write('local-node: --kubeconfig (or KUBECONFIG) is required: the admin kubeconfig of the local cluster\n');
  process.exit(2);
}
const kc = new KubeConfig();
kc.loadFromFile(values.kubeconfig);
const logger = pino({ name: 'local-node' });
const runner = await LocalPodRunner.start({
  kc,
  ...(values.namespace ? { namespace: values.namespace } : {}),
  dataDir: resolve(values['data-dir']!),
  baseEnv: process.env as Record<string, string>,
  restartBackoffMs: Number(values['restart-backoff-ms']),
  logger,
});
logger.info({ namespace: values.namespace ?? '(all)', dataDir: resolve(values['data-dir']!) }, 'local pod runner started (development and test tool)');
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void runner.stop().then(() => process.exit(0));
  });
}
