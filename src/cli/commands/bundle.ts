/**
 * `h2o bundle`: package the app folder into a .wave archive. Further bundle
 * subcommands (import, deploy) attach to the returned command.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeBundle } from '../../bundle/write.ts';
import type { CliContext } from '../context.ts';

interface BundleOptions {
  appDir: string;
  outputDir?: string;
}

/** Adds `bundle` to `program` and returns it, so subcommands such as `bundle import` can be added to it. */
export function registerBundleCommand(program: Command, ctx: CliContext): Command {
  return program
    .command('bundle')
    .description('Package an app folder into <Name>.<Version>.wave (or .qz for a legacy q-app.toml), after validating its app.toml.')
    .option('--app-dir <dir>', 'folder that holds app.toml', '.')
    .option('--output-dir <dir>', 'folder to write the bundle into (default: the app folder)')
    .addHelpText(
      'after',
      `
Files listed in .appignore (gitignore syntax) are left out, as are .git/,
venv/, .venv/, __pycache__/, *.pyc and earlier *.wave/*.qz bundles.
The same folder always gives the same bytes. Symlinks are refused.

Exit codes: 0 written, 2 invalid app.toml or app folder (one problem per line).

Examples:
  $ h2o bundle
  $ h2o bundle --app-dir ./peak --output-dir ./dist
`,
    )
    .action(async (opts: BundleOptions) => {
      const written = await writeBundle(resolve(ctx.cwd, opts.appDir), { outDir: opts.outputDir === undefined ? undefined : resolve(ctx.cwd, opts.outputDir) });
      for (const w of written.warnings) ctx.stderr.write(`warning: ${w.path}: ${w.message}\n`);
      ctx.stdout.write(`${written.path}\n`);
    });
}
