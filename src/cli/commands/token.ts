/** `h2o token create|list|revoke`: platform API tokens for scripts and CI. */
import type { Command } from 'commander';
import type { TokenJson } from '../../api/schemas.ts';
import { InvalidError, NotFoundError } from '../../lib/errors.ts';
import type { CliContext } from '../context.ts';
import { formatFields, formatTable, formatTime, outputOption, print, relativeAge, type OutputFormat } from '../output.ts';
import { openClient } from '../session.ts';

type CreatedToken = TokenJson & { token: string };

/** The `token list` table: ID NAME CREATED EXPIRES LAST USED. */
export function tokenTable(tokens: TokenJson[], now: Date = new Date()): string {
  return formatTable(
    ['ID', 'NAME', 'CREATED', 'EXPIRES', 'LAST USED'],
    tokens.map((t) => [t.id, t.name, relativeAge(t.createdAt, now), t.expired ? 'expired' : formatTime(t.expiresAt), t.lastUsedAt ? `${relativeAge(t.lastUsedAt, now)} ago` : 'never']),
  );
}

function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidError('invalid token lifetime', [{ path: '--expires-in-days', message: `"${value}" is not a whole number of days (1 or more)` }]);
  return n;
}

/** Adds the `token` command group to `program`. */
export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program
    .command('token')
    .description('Platform API tokens for scripts and CI: named, expiring, revocable.')
    .addHelpText('after', '\nExample:\n  $ h2o token create "nightly build" --expires-in-days 90\n');

  token
    .command('create')
    .description('Create a token. Its secret is printed once: store it now (e.g. as a CI secret).')
    .argument('<name>', 'unique among your tokens: letters, digits, space, ., _ or -')
    .option('--expires-in-days <days>', 'lifetime in days (the server allows 1 to 365)', days, 30)
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o token create ci\n  $ H2O_TOKEN=$(h2o token create ci -o json | jq -r .token)\n')
    .action(async (name: string, opts: { expiresInDays: number; output: OutputFormat }, cmd: Command) => {
      const created = await (await openClient(ctx, cmd)).json<CreatedToken>('POST', '/tokens', { json: { name, expiresInDays: opts.expiresInDays } });
      print(ctx.stdout, opts.output, created, () =>
        formatFields([
          ['ID', created.id],
          ['Name', created.name],
          ['Expires', formatTime(created.expiresAt)],
          ['Token', created.token],
        ]),
      );
      if (opts.output === 'table') ctx.stderr.write('The token is shown only now. Send it as "Authorization: Bearer <token>", or `h2o config setup --token <token>`.\n');
    });

  token
    .command('list')
    .description('List your tokens with their expiry and last use (never their secrets).')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o token list\n')
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const list = await (await openClient(ctx, cmd)).json<{ items: TokenJson[] }>('GET', '/tokens');
      print(ctx.stdout, opts.output, list.items, () => tokenTable(list.items));
    });

  token
    .command('revoke')
    .description('Revoke one of your tokens: it stops working at once.')
    .argument('<token>', 'token id or name')
    .addHelpText('after', '\nExample:\n  $ h2o token revoke "nightly build"\n')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const client = await openClient(ctx, cmd);
      const { items } = await client.json<{ items: TokenJson[] }>('GET', '/tokens');
      const found = items.find((t) => t.id === ref) ?? items.find((t) => t.name === ref);
      if (!found) throw new NotFoundError(`no token with id or name "${ref}"; \`h2o token list\` shows yours`);
      await client.request('DELETE', `/tokens/${encodeURIComponent(found.id)}`);
      ctx.stdout.write(`token ${found.name} (${found.id}) revoked\n`);
    });
}
