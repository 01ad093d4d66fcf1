/** `h2o instance list|get|status|logs|update|suspend|resume|terminate`: running copies of apps. */
import { Option, type Command } from 'commander';
import { InvalidError } from '../../lib/errors.ts';
import type { ApiClient } from '../client.ts';
import type { CliContext } from '../context.ts';
import { idLine, instanceFields, instanceStatusText, instanceTable, urlLine } from '../instance-output.ts';
import type { Instance, InstanceList, InstanceStatusDetail } from '../../api/schemas.ts';
import { outputOption, parseVisibility, print, type OutputFormat } from '../output.ts';
import { openClient } from '../session.ts';
import { waitUntilReady } from '../wait.ts';

const path = (id: string) => `/instances/${encodeURIComponent(id)}`;

function parseTail(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidError('invalid tail', [{ path: '--tail', message: `"${value}" is not a whole number of lines (0 or more)` }]);
  return n;
}

export interface LogOptions {
  follow?: boolean;
  previous?: boolean;
  tail?: number;
  /** Ends a followed stream early (Ctrl-C in `bundle test`). */
  signal?: AbortSignal;
}

/** Copies an instance's log to `out` as it arrives; resolves when the server ends the stream (or `signal` aborts it). */
export async function streamLogs(client: ApiClient, id: string, out: CliContext['stdout'], opts: LogOptions): Promise<void> {
  const res = await client.request('GET', `${path(id)}/logs`, {
    query: { follow: opts.follow ? 'true' : undefined, previous: opts.previous ? 'true' : undefined, tail: opts.tail },
    headers: { accept: 'text/plain' },
    signal: opts.signal,
  });
  if (!res.body) return;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      const text = decoder.decode(chunk, { stream: true });
      // Respect a slow reader (a pipe into less): wait for 'drain' rather than buffering the whole log.
      if (out.write(text) === false && typeof (out as { once?: unknown }).once === 'function') {
        await new Promise<void>((r) => (out as NodeJS.WritableStream).once('drain', () => r()));
      }
    }
    const rest = decoder.decode();
    if (rest) out.write(rest);
  } catch (err) {
    if (opts.signal?.aborted) return;
    throw err;
  }
}

/** Adds the `instance` command group to `program`. */
export function registerInstanceCommands(program: Command, ctx: CliContext): void {
  const instance = program
    .command('instance')
    .description('List, inspect, change, suspend and terminate app instances.')
    .addHelpText('after', '\nExamples:\n  $ h2o instance list\n  $ h2o instance logs 2f1c… -f\n');

  instance
    .command('list')
    .description('List your instances and the instances of your apps, newest first.')
    .option('-a, --all', "everyone's instances (admins)")
    .option('--app <appId>', 'only instances of this app version')
    .option('--owner <subject>', 'only instances of this owner')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o instance list\n  $ h2o instance list --app 0b0f… -o json\n')
    .action(async (opts: { all?: boolean; app?: string; owner?: string; output: OutputFormat }, cmd: Command) => {
      const client = await openClient(ctx, cmd);
      const items: InstanceList['items'] = [];
      let cursor: string | undefined;
      do {
        const page = await client.json<InstanceList>('GET', '/instances', { query: { all: opts.all ? 'true' : undefined, app: opts.app, owner: opts.owner, limit: 500, cursor } });
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      print(ctx.stdout, opts.output, items, () => instanceTable(items));
    });

  instance
    .command('get')
    .description('Show one instance.')
    .argument('<id>', 'instance id')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o instance get 2f1c…\n  $ h2o instance get 2f1c… -o yaml\n')
    .action(async (id: string, opts: { output: OutputFormat }, cmd: Command) => {
      const inst = await (await openClient(ctx, cmd)).json<Instance>('GET', path(id));
      print(ctx.stdout, opts.output, inst, () => instanceFields(inst));
    });

  instance
    .command('status')
    .description('Why an instance is (not) ready: its conditions, pod containers and recent events.')
    .argument('<id>', 'instance id')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o instance status 2f1c…\n')
    .action(async (id: string, opts: { output: OutputFormat }, cmd: Command) => {
      const detail = await (await openClient(ctx, cmd)).json<InstanceStatusDetail>('GET', `${path(id)}/status`);
      print(ctx.stdout, opts.output, detail, () => instanceStatusText(detail));
    });

  instance
    .command('logs')
    .description("Print an instance's log (the app's container).")
    .argument('<id>', 'instance id')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-p, --previous', 'the log of the previous container (after a crash or restart)')
    .option('--tail <n>', 'only the last n lines')
    .addHelpText('after', '\nExamples:\n  $ h2o instance logs 2f1c…\n  $ h2o instance logs 2f1c… -f --tail 100\n')
    .action(async (id: string, opts: { follow?: boolean; previous?: boolean; tail?: string }, cmd: Command) => {
      const tail = parseTail(opts.tail);
      const client = await openClient(ctx, cmd);
      await streamLogs(client, id, ctx.stdout, { follow: opts.follow, previous: opts.previous, tail });
    });

  instance
    .command('update')
    .description("Change an instance's visibility: who may open it.")
    .argument('<id>', 'instance id')
    .requiredOption('-v, --visibility <visibility>', 'PRIVATE, ALL_USERS or PUBLIC')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  $ h2o instance update 2f1c… -v ALL_USERS\n')
    .action(async (id: string, opts: { visibility: string; output: OutputFormat }, cmd: Command) => {
      const visibility = parseVisibility(opts.visibility);
      const inst = await (await openClient(ctx, cmd)).json<Instance>('PATCH', path(id), { json: { visibility } });
      print(ctx.stdout, opts.output, inst, () => instanceFields(inst));
    });

  for (const [verb, what] of [
    ['suspend', 'Stop an instance, keeping its data volume; `resume` starts it again.'],
    ['resume', 'Start a suspended instance again.'],
  ] as const) {
    instance
      .command(verb)
      .description(what)
      .argument('<id>', 'instance id')
      .addOption(outputOption())
      .addHelpText('after', `\nExample:\n  $ h2o instance ${verb} 2f1c…\n`)
      .action(async (id: string, opts: { output: OutputFormat }, cmd: Command) => {
        const inst = await (await openClient(ctx, cmd)).json<Instance>('POST', `${path(id)}/${verb}`);
        print(ctx.stdout, opts.output, inst, () => instanceFields(inst));
      });
  }

  instance
    .command('terminate')
    .description('Delete an instance and its data for good.')
    .argument('<id>', 'instance id')
    .addHelpText('after', '\nExample:\n  $ h2o instance terminate 2f1c…\n')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await (await openClient(ctx, cmd)).request('DELETE', path(id));
      ctx.stdout.write(`instance ${id} terminated\n`);
    });
}

/** The `--runtime-version` option of `app run` and `bundle deploy`. */
export function runtimeVersionOption(): Option {
  return new Option('--runtime-version <name>', 'runtime image to run in (default: the app.toml RuntimeVersion, else the default one; see `h2o runtime-version list`)');
}

/**
 * Prints a new instance like the seed (`ID …`, `URL …`) in table output:
 * the ID at once, the URL once known: after Ready when waiting, else what
 * the server has now (the operator assigns it), with a hint when empty.
 * Waits when `wait` is given; returns the instance to print as JSON/YAML.
 */
export async function announceAndWait(ctx: CliContext, client: ApiClient, inst: Instance, opts: { output: OutputFormat; wait?: { timeoutMs: number; signal?: AbortSignal } }): Promise<Instance> {
  const table = opts.output === 'table';
  if (table) ctx.stdout.write(idLine(inst));
  if (opts.wait) {
    inst = await waitUntilReady(client, inst.id, { timeoutMs: opts.wait.timeoutMs, stderr: ctx.stderr, signal: opts.wait.signal });
    ctx.stderr.write(`instance ${inst.id} is Ready\n`);
  } else if (!inst.url) {
    ctx.stderr.write(`the URL is assigned once the instance is scheduled: see \`h2o instance get ${inst.id}\`\n`);
  }
  if (table) ctx.stdout.write(urlLine(inst));
  return inst;
}

/** `POST /apps/:id/instances`: starts an instance of an app version. */
export function runApp(client: ApiClient, appId: string, opts: { visibility?: string; runtimeVersion?: string }): Promise<Instance> {
  return client.json<Instance>('POST', `/apps/${encodeURIComponent(appId)}/instances`, { json: { visibility: opts.visibility, runtimeVersion: opts.runtimeVersion } });
}
