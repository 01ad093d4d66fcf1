/** `h2o app list|get|update|run|delete|transfer|download`: the catalog of app versions. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Option, type Command } from 'commander';
import type { App, AppList, AppNameOwner } from '../../api/schemas.ts';
import { InvalidError } from '../../lib/errors.ts';
import { ServerError } from '../client.ts';
import type { CliContext } from '../context.ts';
import { appFields, appTable, outputOption, parseVisibility, print, type OutputFormat } from '../output.ts';
import { progressReporter } from '../progress.ts';
import { openClient } from '../session.ts';
import { parseTimeout } from '../wait.ts';
import { announceAndWait, runApp, runtimeVersionOption } from './instance.ts';

interface ListOptions {
  all?: boolean;
  search?: string;
  category?: string;
  tag?: string;
  limit?: string;
  pageSize: string;
  output: OutputFormat;
}

function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidError('invalid limit', [{ path: '--limit', message: `"${value}" is not a whole number of at least 1` }]);
  return n;
}

/** The file name from a Content-Disposition header, reduced to a plain name so it cannot point elsewhere. */
function dispositionName(header: string | null): string | undefined {
  const m = header && /filename="?([^";]+)"?/i.exec(header);
  const name = m ? basename(m[1]!) : undefined;
  return name && name !== '.' && name !== '..' ? name : undefined;
}

/** Adds the `app` command group to `program`. */
export function registerAppCommands(program: Command, ctx: CliContext): void {
  const app = program
    .command('app')
    .description('List, inspect, change and download apps in the catalog.')
    .addHelpText('after', '\nExample:\n  $ h2o app list -a\n');

  app
    .command('list')
    .description('List apps, newest first: yours, or with -a every app you may see.')
    .option('-a, --all', 'every app you may see, not only yours')
    .option('--search <text>', 'match title, description and keywords')
    .option('--category <category>', 'only this category')
    .option('--tag <tag>', 'only apps carrying this tag (name)')
    .option('--limit <n>', 'at most n apps (default: all of them)')
    // Apps fetched per request; hidden, it exists so paging can be exercised with few apps.
    .addOption(new Option('--page-size <n>').default('500').hideHelp())
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o app list\n  $ h2o app list -a --tag beta -o json\n')
    .action(async (opts: ListOptions, cmd: Command) => {
      const limit = parseLimit(opts.limit);
      const pageSize = Math.min(500, parseLimit(opts.pageSize) ?? 500);
      const client = await openClient(ctx, cmd);
      const apps: App[] = [];
      let cursor: string | undefined;
      do {
        const want = limit === undefined ? pageSize : Math.min(pageSize, limit - apps.length);
        const page = await client.json<AppList>('GET', '/apps', {
          query: { scope: opts.all ? 'all' : 'mine', search: opts.search, category: opts.category, tag: opts.tag, limit: want, cursor },
        });
        apps.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor && (limit === undefined || apps.length < limit));
      print(ctx.stdout, opts.output, apps, () => appTable(apps));
    });

  app
    .command('get')
    .description('Show one app.')
    .argument('<id>', 'app id')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o app get 0b0f…\n  $ h2o app get 0b0f… -o yaml\n')
    .action(async (id: string, opts: { output: OutputFormat }, cmd: Command) => {
      const client = await openClient(ctx, cmd);
      const a = await client.json<App>('GET', `/apps/${encodeURIComponent(id)}`);
      print(ctx.stdout, opts.output, a, () => appFields(a));
    });

  app
    .command('update')
    .description("Change an app's visibility (the only thing an app version allows to change).")
    .argument('<id>', 'app id')
    .requiredOption('-v, --visibility <visibility>', 'PRIVATE, ALL_USERS or PUBLIC')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o app update 0b0f… -v PRIVATE   # de-list an old version\n')
    .action(async (id: string, opts: { visibility: string; output: OutputFormat }, cmd: Command) => {
      const visibility = parseVisibility(opts.visibility);
      const client = await openClient(ctx, cmd);
      const a = await client.json<App>('PATCH', `/apps/${encodeURIComponent(id)}`, { json: { visibility } });
      print(ctx.stdout, opts.output, a, () => appFields(a));
    });

  app
    .command('run')
    .description('Start a new instance of an app version; prints its ID and URL.')
    .argument('<id>', 'app id')
    .option('-v, --visibility <visibility>', 'who may open the instance: PRIVATE (default), ALL_USERS or PUBLIC')
    .addOption(runtimeVersionOption())
    .option('--wait', 'wait until the instance is Ready (progress on stderr)')
    .option('--timeout <duration>', 'how long --wait waits, e.g. 90s, 5m', '5m')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exit codes: 0 started (with --wait: Ready), 3 unknown app, 5 not allowed to
run it, 6 over an instance limit, 7 (--wait) it failed or timed out.

Examples:
  $ h2o app run 0b0f…
  $ h2o app run 0b0f… -v ALL_USERS --wait
`,
    )
    .action(async (id: string, opts: { visibility?: string; runtimeVersion?: string; wait?: boolean; timeout: string; output: OutputFormat }, cmd: Command) => {
      const visibility = opts.visibility === undefined ? undefined : parseVisibility(opts.visibility);
      const timeoutMs = parseTimeout(opts.timeout);
      const client = await openClient(ctx, cmd);
      const created = await runApp(client, id, { visibility, runtimeVersion: opts.runtimeVersion });
      const inst = await announceAndWait(ctx, client, created, { output: opts.output, ...(opts.wait ? { wait: { timeoutMs } } : {}) });
      if (opts.output !== 'table') print(ctx.stdout, opts.output, inst, () => '');
    });

  app
    .command('delete')
    .description('Delete an app version (refused while instances of it exist).')
    .argument('<id>', 'app id')
    .addHelpText('after', '\nExample:\n  $ h2o app delete 0b0f…\n')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = await openClient(ctx, cmd);
      await client.request('DELETE', `/apps/${encodeURIComponent(id)}`);
      ctx.stdout.write(`app ${id} deleted\n`);
    });

  app
    .command('transfer')
    .description('Give an app name to another user (admins): from then on only they (and admins) import versions of it; existing versions keep their owners.')
    .argument('<name>', '[App] Name from app.toml')
    .argument('<user>', "the new owner's subject (as `h2o config show` prints it for them)")
    .option('--user-name <name>', "the new owner's display name (default: the subject)")
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o app transfer ai.h2o.wave.tour alice --user-name alice@example.com\n')
    .action(async (name: string, user: string, opts: { userName?: string; output: OutputFormat }, cmd: Command) => {
      const client = await openClient(ctx, cmd);
      const out = await client.json<AppNameOwner>('PUT', `/app-names/${encodeURIComponent(name)}/owner`, { json: { owner: user, ...(opts.userName ? { ownerName: opts.userName } : {}) } });
      print(ctx.stdout, opts.output, out, () => `app name ${out.name} now belongs to ${out.ownerName === out.owner ? out.owner : `${out.ownerName} (${out.owner})`}\n`);
    });

  app
    .command('download')
    .description("Download an app's bundle (owner and admins), checking its SHA-256.")
    .argument('<id>', 'app id')
    .option('-o, --output <file>', 'file to write (default: <Name>.<Version>.wave in the working directory)')
    .addHelpText('after', '\nExamples:\n  $ h2o app download 0b0f…\n  $ h2o app download 0b0f… -o peak.wave\n')
    .action(async (id: string, opts: { output?: string }, cmd: Command) => {
      const client = await openClient(ctx, cmd);
      const res = await client.request('GET', `/apps/${encodeURIComponent(id)}/bundle`, { headers: { accept: 'application/zip' } });
      const expected = res.headers.get('x-bundle-sha256');
      const name = opts.output ?? dispositionName(res.headers.get('content-disposition')) ?? `${id}.wave`;
      const path = resolve(ctx.cwd, name);
      if (!res.body) throw new ServerError('the server sent no bundle body');
      const total = Number(res.headers.get('content-length') ?? 0) || undefined;
      const progress = progressReporter(ctx.stderr, 'downloading', total);
      const hash = createHash('sha256');
      const tmp = `${path}.part`;
      try {
        await pipeline(
          Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
          new Transform({
            transform(chunk: Buffer, _enc, done) {
              hash.update(chunk);
              progress.add(chunk.length);
              done(null, chunk);
            },
          }),
          createWriteStream(tmp, { mode: 0o644 }),
        );
      } catch (err) {
        await rm(tmp, { force: true });
        throw new ServerError(`download of ${id} broke off: ${(err as Error).message}; try again`, { cause: err });
      } finally {
        progress.done();
      }
      const actual = hash.digest('hex');
      if (expected && expected !== actual) {
        await rm(tmp, { force: true });
        throw new ServerError(`the downloaded bundle's SHA-256 is ${actual} but the server announced ${expected}; nothing was kept, try again`);
      }
      await rename(tmp, path);
      ctx.stdout.write(`${path}\n`);
    });
}
