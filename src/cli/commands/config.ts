/** `h2o config setup|use|list|show`: profiles in the CLI's config file. */
import type { Command } from 'commander';
import { InvalidError } from '../../lib/errors.ts';
import type { Me } from '../../api/schemas.ts';
import { ApiClient } from '../client.ts';
import { PROFILE_NAME, configPath, normalizeEndpoint, readConfig, selectProfile, writeConfig, type Profile } from '../config-file.ts';
import { browserSignIn, deviceSignIn, type AuthConfig } from '../sign-in.ts';
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
    .description('Create or change a profile and sign in (default profile: the current one, else "default"); the first profile becomes the current one.')
    .option('--token <token>', 'platform token (h2oat_…) sent as the bearer token instead of signing in (kept in the config file, mode 0600)')
    .option('--browser', 'sign in through a browser on this machine even when the identity provider offers device sign-in')
    .addHelpText(
      'after',
      `
The endpoint comes from the global --endpoint flag; --profile names the profile.
Without --token, the CLI asks the server how to sign in: with OpenID Connect it
shows a URL and a code to enter on any device (device sign-in; works over SSH),
or, when the provider has no device sign-in (or with --browser), a URL to open
in a browser on this machine. The sign-in is renewed automatically.

Examples:
  $ h2o config setup --endpoint https://appstore.example.com
  $ h2o config setup --endpoint http://127.0.0.1:8080 --token $TOKEN
  $ h2o config setup --profile staging --endpoint https://staging.example.com --browser
`,
    )
    .action(async (opts: { token?: string; browser?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const path = pathOf(cmd);
      const cfg = await readConfig(path);
      const name = g.profile ?? ctx.env.H2O_PROFILE ?? cfg.current ?? 'default';
      if (!PROFILE_NAME.test(name)) throw new InvalidError('invalid profile name', [{ path: '--profile', message: `"${name}" must be letters, digits, ., _ or -, starting with a letter or digit` }]);
      const previous = cfg.profiles[name];
      const endpointFlag = g.endpoint ?? previous?.endpoint;
      if (!endpointFlag) throw new InvalidError('no endpoint given', [{ path: '--endpoint', message: "is required for a new profile: the server's URL, e.g. --endpoint http://127.0.0.1:8080" }]);
      const endpoint = normalizeEndpoint(endpointFlag);
      if (opts.token !== undefined && !opts.token.trim()) throw new InvalidError('empty token', [{ path: '--token', message: 'is empty; pass the token itself' }]);
      let profile: Profile;
      let signedInAs = '';
      if (opts.token) {
        profile = { endpoint, token: opts.token };
      } else {
        const auth = await authConfig(endpoint, ctx);
        if (auth?.mode === 'oidc') {
          const signIn = opts.browser || !auth.deviceAuthorization ? await browserSignIn(auth, endpoint, ctx.stderr) : await deviceSignIn(auth, endpoint, ctx.stderr);
          profile = { endpoint, signIn };
          const me = await new ApiClient(endpoint, { authorization: async () => `Bearer ${signIn.idToken}` }).json<Me>('GET', '/me');
          signedInAs = `signed in as ${me.name ?? me.subject ?? '?'}${me.admin ? ' (admin)' : me.visitor ? ' (visitor)' : ''}; `;
        } else {
          // Local and static servers (or one not reachable now): keep a token given earlier.
          profile = { endpoint, ...(previous?.token ? { token: previous.token } : {}) };
          if (auth?.mode === 'local') signedInAs = `local sign-in: requests without a token act as ${auth.localUser ?? 'the local admin'}; `;
          if (auth?.mode === 'static' && !profile.token) ctx.stderr.write('warning: this server accepts only configured tokens; run `h2o config setup --token TOKEN`\n');
        }
      }
      cfg.profiles[name] = profile;
      if (!cfg.current || !cfg.profiles[cfg.current]) cfg.current = name;
      await writeConfig(path, cfg);
      ctx.stdout.write(`${signedInAs}profile ${name} saved in ${path}${cfg.current === name ? ' (current)' : `; run \`h2o config use ${name}\` to make it current`}\n`);
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
      const rows = Object.entries(cfg.profiles).map(([name, p]) => ({ name, current: name === cfg.current, endpoint: p.endpoint, token: credentialState(p) }));
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
      const data = { config: path, profile: name, endpoint: g.endpoint ?? profile.endpoint, token: credentialState(profile) };
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

/** How a profile signs in, for list/show: a token, an OIDC sign-in (with its renewal state), or none. */
function credentialState(p: Profile): string {
  if (p.token) return 'set';
  if (p.signIn) return p.signIn.refreshToken || p.signIn.expiresAt > Date.now() ? 'sign-in' : 'sign-in (expired)';
  return 'none';
}

/** The server's sign-in settings; undefined (with a warning) when it cannot be asked, so a profile can be prepared offline. */
async function authConfig(endpoint: string, ctx: CliContext): Promise<AuthConfig | undefined> {
  try {
    return await new ApiClient(endpoint, { authorization: async () => undefined }).json<AuthConfig>('GET', '/auth/config');
  } catch (err) {
    ctx.stderr.write(`warning: could not ask ${endpoint} how to sign in (${err instanceof Error ? err.message : String(err)}); the profile is saved without credentials, run \`h2o config setup\` again when the server is reachable\n`);
    return undefined;
  }
}
