/** `h2o tag list|get|assign|remove|update|create|delete`: tags on apps. */
import type { Command } from 'commander';
import type { App, NewTag, Tag, UpdateTag } from '../../api/schemas.ts';
import { InvalidError } from '../../lib/errors.ts';
import type { CliContext } from '../context.ts';
import { appFields, outputOption, print, tagFields, tagTable, type OutputFormat } from '../output.ts';
import { openClient } from '../session.ts';

interface TagFieldOptions {
  title?: string;
  color?: string;
  description?: string;
  adminRoles?: string;
  visitorRoles?: string;
  category?: boolean;
  output: OutputFormat;
}

const roles = (s: string) =>
  s
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

/** The tag fields given as flags; roles come as comma-separated lists ("" clears them). */
function tagFieldsFrom(opts: TagFieldOptions): UpdateTag {
  const fields: UpdateTag = {};
  if (opts.title !== undefined) fields.title = opts.title;
  if (opts.color !== undefined) {
    if (!/^#[0-9a-fA-F]{6}$/.test(opts.color)) throw new InvalidError('invalid color', [{ path: '--color', message: `"${opts.color}" is not an RGB colour like #1f77b4` }]);
    fields.color = opts.color;
  }
  if (opts.description !== undefined) fields.description = opts.description;
  if (opts.adminRoles !== undefined) fields.adminRoles = roles(opts.adminRoles);
  if (opts.visitorRoles !== undefined) fields.visitorRoles = roles(opts.visitorRoles);
  if (opts.category !== undefined) fields.isCategory = opts.category;
  return fields;
}

function withTagFieldOptions(cmd: Command): Command {
  return cmd
    .option('--title <title>', 'title shown in lists')
    .option('--color <#RRGGBB>', 'colour, e.g. #1f77b4')
    .option('--description <text>', 'what the tag means')
    .option('--admin-roles <a,b>', 'roles that may assign, remove and update the tag ("" = any full-access user)')
    .option('--visitor-roles <a,b>', 'visitor roles that see ALL_USERS apps carrying the tag')
    .addOption(outputOption());
}

/** Adds the `tag` command group to `program`. */
export function registerTagCommands(program: Command, ctx: CliContext): void {
  const tag = program
    .command('tag')
    .description('List, assign and manage tags.')
    .addHelpText('after', '\nExample:\n  $ h2o tag assign beta 0b0f…\n');
  const path = (t: string) => `/tags/${encodeURIComponent(t)}`;

  tag
    .command('list')
    .description('List every tag.')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o tag list -o yaml\n')
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const tags = await (await openClient(ctx, cmd)).json<Tag[]>('GET', '/tags');
      print(ctx.stdout, opts.output, tags, () => tagTable(tags));
    });

  tag
    .command('get')
    .description('Show one tag.')
    .argument('<tag>', 'tag id or name')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o tag get beta\n')
    .action(async (t: string, opts: { output: OutputFormat }, cmd: Command) => {
      const found = await (await openClient(ctx, cmd)).json<Tag>('GET', path(t));
      print(ctx.stdout, opts.output, found, () => tagFields(found));
    });

  for (const [verb, method, what] of [
    ['assign', 'PUT', 'Put a tag on an app (needs one of the tag\'s admin roles).'],
    ['remove', 'DELETE', 'Take a tag off an app (needs one of the tag\'s admin roles).'],
  ] as const) {
    tag
      .command(verb)
      .description(what)
      .argument('<tag>', 'tag id or name')
      .argument('<appId>', 'app id')
      .addOption(outputOption())
      .addHelpText('after', `\nExample:\n  $ h2o tag ${verb} beta 0b0f…\n`)
      .action(async (t: string, appId: string, opts: { output: OutputFormat }, cmd: Command) => {
        const a = await (await openClient(ctx, cmd)).json<App>(method, `/apps/${encodeURIComponent(appId)}/tags/${encodeURIComponent(t)}`);
        print(ctx.stdout, opts.output, a, () => appFields(a));
      });
  }

  withTagFieldOptions(
    tag
      .command('update')
      .description("Change a tag's title, colour, description or roles (its admins; the name never changes).")
      .argument('<tag>', 'tag id or name'),
  )
    .option('--category', 'make it a category')
    .option('--no-category', 'make it a plain tag')
    .addHelpText('after', '\nExample:\n  $ h2o tag update beta --title Beta --color "#ff8800" --visitor-roles beta-testers\n')
    .action(async (t: string, opts: TagFieldOptions, cmd: Command) => {
      const fields = tagFieldsFrom(opts);
      if (!Object.keys(fields).length) throw new InvalidError('nothing to update: give at least one of --title, --color, --description, --admin-roles, --visitor-roles, --category');
      const updated = await (await openClient(ctx, cmd)).json<Tag>('PATCH', path(t), { json: fields });
      print(ctx.stdout, opts.output, updated, () => tagFields(updated));
    });

  withTagFieldOptions(
    tag
      .command('create')
      .description('Create a tag (admins).')
      .argument('<name>', 'lowercase letters, digits, -, _ and .'),
  )
    .option('--category', 'make it a category')
    .addHelpText('after', '\nExample:\n  $ h2o tag create beta --title Beta --admin-roles editors\n')
    .action(async (name: string, opts: TagFieldOptions, cmd: Command) => {
      const body: NewTag = { name, ...tagFieldsFrom(opts) };
      const created = await (await openClient(ctx, cmd)).json<Tag>('POST', '/tags', { json: body });
      print(ctx.stdout, opts.output, created, () => tagFields(created));
    });

  tag
    .command('delete')
    .description('Delete a tag (admins); apps carrying it lose it.')
    .argument('<tag>', 'tag id or name')
    .addHelpText('after', '\nExample:\n  $ h2o tag delete beta\n')
    .action(async (t: string, _opts: unknown, cmd: Command) => {
      await (await openClient(ctx, cmd)).request('DELETE', path(t));
      ctx.stdout.write(`tag ${t} deleted\n`);
    });
}
