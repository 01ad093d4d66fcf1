/** `h2o config setup|use|list|show`: profiles in the CLI's config file. */
import type { Command } from 'commander';
import { InvalidError } from '../../lib/errors.ts';
import { PROFILE_NAME, configPath, normalizeEndpoint, readConfig, selectProfile, writeConfig } from '../config-file.ts';
import type { CliContext } from '../context.ts';
import { formatFields, formatTable, outputOption, print, type OutputFormat } from '../output.ts';
import { globalOptions } from '../session.ts';

/** Adds the `config` command group to `program`. */
export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program
    .command('config')
    .description('Manage the servers (profiles) the CLI talks to.')
    .addHelpText('after', '\nExample:\n  $ h2o config setup --endpoint https://appstore.example.com --token $TOKEN\n');
  const pathOf = (cmd: Command) => configPath(ctx.cwd, ctx.env, globalOptions(cmd).config);

  config
    .command('setup')
    .description('Create or change a profile (default: the current one, else "default"); the first profile becomes the current one.')
    .option('--token <token>', 'platform token sent as the bearer token (kept in the config file, mode 0600)')
    .addHelpText(
      'after',
      `
The endpoint comes from the global --endpoint flag; --profile names the profile.

Examples:
  $ h2o config setup --endpoint http://127.0.0.1:8080 --token $TOKEN
  $ h2o config setup --profile staging --endpoint https://staging.example.com --token $TOKEN
`,
    )
    .action(async (opts: { token?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const path = pathOf(cmd);
      const cfg = await readConfig(path);
      const name = g.profile ?? ctx.env.H2O_PROFILE ?? cfg.current ?? 'default';
      if (!PROFILE_NAME.test(name)) throw new InvalidError('invalid profile name', [{ path: '--profile', message: `"${name}" must be letters, digits, ., _ or -, starting with a letter or digit` }]);
      const previous = cfg.profiles[name];
      const endpointFlag = g.endpoint ?? previous?.endpoint;
      if (!endpointFlag) throw new InvalidError('no endpoint given', [{ path: '--endpoint', message: "is required for a new profile: the server's URL, e.g. --endpoint http://127.0.0.1:8080" }]);
      const endpoint = normalizeEndpoint(endpointFlag);
      const token = opts.token ?? previous?.token;
      if (token !== undefined && !token.trim()) throw new InvalidError('empty token', [{ path: '--token', message: 'is empty; pass the token itself' }]);
      cfg.profiles[name] = { endpoint, ...(token ? { token } : {}) };
      if (!cfg.current || !cfg.profiles[cfg.current]) cfg.current = name;
      await writeConfig(path, cfg);
      ctx.stdout.write(`profile ${name} saved in ${path}${cfg.current === name ? ' (current)' : `; run \`h2o config use ${name}\` to make it current`}\n`);
    });

  config
    .command('use')
    .description('Make a profile the current one.')
    .argument('<profile>', 'profile name')
    .addHelpText('after', '\nExample:\n  $ h2o config use staging\n')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const path = pathOf(cmd);
      const cfg = await readConfig(path);
      selectProfile(cfg, path, name);
      cfg.current = name;
      await writeConfig(path, cfg);
      ctx.stdout.write(`current profile: ${name}\n`);
    });

  config
    .command('list')
    .description('List the profiles; * marks the current one.')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o config list\n')
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const cfg = await readConfig(pathOf(cmd));
      const rows = Object.entries(cfg.profiles).map(([name, p]) => ({ name, current: name === cfg.current, endpoint: p.endpoint, token: p.token ? 'set' : 'none' }));
      print(ctx.stdout, opts.output, rows, () => formatTable(['CURRENT', 'NAME', 'ENDPOINT', 'TOKEN'], rows.map((r) => [r.current ? '*' : '', r.name, r.endpoint, r.token])));
    });

  config
    .command('show')
    .description('Show the profile in use (the token itself is never printed).')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o config show\n  $ h2o --profile staging config show -o json\n')
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const g = globalOptions(cmd);
      const path = pathOf(cmd);
      const cfg = await readConfig(path);
      const { name, profile } = selectProfile(cfg, path, g.profile ?? ctx.env.H2O_PROFILE);
      const data = { config: path, profile: name, endpoint: g.endpoint ?? profile.endpoint, token: profile.token ? 'set' : 'none' };
      print(ctx.stdout, opts.output, data, () =>
        formatFields([
          ['Config', data.config],
          ['Profile', data.profile],
          ['Endpoint', data.endpoint],
          ['Token', data.token],
        ]),
      );
    });
}
