/** `h2o runtime-version list`: the runtime images instances can run in. */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { runtimeVersionTable } from '../instance-output.ts';
import type { RuntimeVersionInfoList } from '../../api/schemas.ts';
import { outputOption, print, type OutputFormat } from '../output.ts';
import { openClient } from '../session.ts';

/** Adds the `runtime-version` command group to `program`. */
export function registerRuntimeVersionCommands(program: Command, ctx: CliContext): void {
  const rv = program
    .command('runtime-version')
    .description('Runtime images (Python and Wave versions) app instances run in.')
    .addHelpText('after', '\nExample:\n  $ h2o runtime-version list\n');

  rv.command('list')
    .description('List runtime versions: which is the default, which are deprecated, how many instances use each.')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ h2o runtime-version list\n  $ h2o runtime-version list -o json\n')
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const list = await (await openClient(ctx, cmd)).json<RuntimeVersionInfoList>('GET', '/runtime-versions');
      print(ctx.stdout, opts.output, list.items, () => runtimeVersionTable(list.items));
    });
}
