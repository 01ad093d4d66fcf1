/**
 * `appstore` command: `appstore server` runs the app store. Options come from
 * a TOML file, H2O_CLOUD_… environment variables and the flags below;
 * `--help` lists every option.
 */
import { Command, Option as Flag } from 'commander';
import { loadConfig } from '../config/load.ts';
import { OPTIONS } from '../config/options.ts';
import { isAppError } from '../lib/errors.ts';
import { startServer } from './server.ts';

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
  .addHelpText('after', optionsHelp() + '\nExample:\n  appstore server --listen 127.0.0.1:8080 --data-dir ./data\n')
  .action(async (opts: { config?: string; listen?: string; dataDir?: string; set?: string[] }) => {
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
      const { config, warnings } = loadConfig({ file: opts.config, env: process.env, flags });
      const server = await startServer(config, warnings);
      process.stdout.write(`Appstore is running at ${server.url}\n  API docs: ${server.url}/openapi.json\n  data:     ${config.server.dataDir}\nPress Ctrl-C to stop.\n`);
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
