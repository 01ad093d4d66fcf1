/**
 * `appstore` command: `appstore server` runs the app store. Options come from
 * a TOML file, H2O_CLOUD_… environment variables and the flags below;
 * `--help` lists every option.
 */
import { Command, Option as Flag } from 'commander';
import { loadConfig } from '../config/load.ts';
import { OPTIONS } from '../config/options.ts';
import { isAppError } from '../lib/errors.ts';
import { assertLocalModeSafe } from '../auth/authenticate.ts';
import { join } from 'node:path';
import { LOCAL_CLUSTER_MODES, localClusterConfig, upLocalCluster, wantsLocalCluster, type LocalClusterMode } from './local-cluster.ts';
import { startServer } from './server.ts';
import { assertWorkersSupported, isReportingWorker, isWorkersPrimary, runPrimary } from './workers.ts';
import { instanceURL } from '../config/instance-url.ts';

function optionsHelp(): string {
  const rows = OPTIONS.map((o) => {
    const def = Array.isArray(o.default) ? (o.default.length ? o.default.join(',') : '(empty)') : o.default === '' ? '(empty)' : String(o.default);
    return `  ${`${o.section}.${o.key}`.padEnd(44)} ${o.env}\n      ${o.description} Default: ${def}.`;
  });
  return `\nEvery option (TOML section.key, then its environment variable):\n${rows.join('\n')}\n\n[[RuntimeVersion]] tables (Name, Image, Default, Deprecated) declare runtime images.\n`;
}

const program = new Command('appstore').description('The Appstore server: an app store for Kubernetes.').showHelpAfterError();

program
  .command('server')
  .description('Run the app store (API now; web, router and operator as they land). With no options it runs on its embedded default: a PGlite database and a filesystem blob store in ./data.')
  .addOption(new Flag('-c, --config <file>', 'TOML configuration file').env('H2O_CLOUD_CONFIG'))
  .option('--listen <host:port>', 'listen address (Server.Listen)')
  .option('--data-dir <dir>', 'data folder of the embedded default (Server.DataDir)')
  .option('--set <Section.Key=value...>', 'set any option, e.g. --set Scheduler.InstanceLimit=3')
  .addOption(
    new Flag('--local-cluster <mode>', 'development: start a local Kubernetes control plane in <DataDir>/cluster and run instances as local processes; auto = when Scheduler.KubeConfig is empty and not in a pod')
      .choices(LOCAL_CLUSTER_MODES)
      .default('auto')
      .env('H2O_CLOUD_LOCAL_CLUSTER'),
  )
  .addHelpText('after', optionsHelp() + '\nExample:\n  appstore server --listen 127.0.0.1:8080 --data-dir ./data\n')
  .action(async (opts: { config?: string; listen?: string; dataDir?: string; set?: string[]; localCluster: LocalClusterMode }) => {
    const flags: Record<string, string> = {};
    if (opts.listen) flags['Server.Listen'] = opts.listen;
    if (opts.dataDir) flags['Server.DataDir'] = opts.dataDir;
    for (const kv of opts.set ?? []) {
      const i = kv.indexOf('=');
      if (i < 1) fail(`--set ${kv}: write Section.Key=value, e.g. --set Scheduler.InstanceLimit=3`);
      flags[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const known = new Set(OPTIONS.map((o) => `${o.section}.${o.key}`));
    for (const k of Object.keys(flags)) if (!known.has(k)) fail(`--set ${k}: not a configuration option (see appstore server --help)`);
    try {
      const loaded = loadConfig({ file: opts.config, env: process.env, flags });
      let config = loaded.config;
      assertLocalModeSafe(config); // before starting a cluster for a server that would refuse to run
      const inPod = Boolean(process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT);
      assertWorkersSupported(config, wantsLocalCluster(opts.localCluster, config, inPod));
      // Router.Workers > 1: this process only forks and watches the workers, each of which runs this command again.
      if (isWorkersPrimary(config)) return runPrimary(config.router.workers, (l) => process.stderr.write(`${l}\n`));
      const local = wantsLocalCluster(opts.localCluster, config, inPod) ? await upLocalCluster(config, process.env, (l) => process.stderr.write(`${l}\n`)) : undefined;
      if (local) config = localClusterConfig(config, local);
      const server = await startServer(config, loaded.warnings, local ? { localPods: { dataDir: join(config.server.dataDir, 'local-node'), baseEnv: process.env as Record<string, string> } } : {});
      const lines = [`Appstore is running at ${server.url}`, `  API docs: ${server.url}/openapi.json`, `  data:     ${config.server.dataDir}`];
      if (local) lines.push(`  instances: run on this machine (local control plane ${local.kubeconfig}); open an instance at the URL \`h2o app run\` prints, e.g. ${instanceURL(config, '<name>')}`);
      if (isReportingWorker()) process.stdout.write(`${lines.join('\n')}\nOpen ${server.url} in a browser. Press Ctrl-C to stop.\n`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    } catch (err) {
      if (isAppError(err)) fail(err.message);
      throw err;
    }
  });

function fail(message: string): never {
  process.stderr.write(`appstore: ${message}\n`);
  process.exit(2);
}

await program.parseAsync(process.argv);
