/**
 * `h2o bundle`: package the app folder into a .wave archive. Further bundle
 * subcommands (import, deploy) attach to the returned command.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { Command } from 'commander';
import type { ImportResult } from '../../api/schemas.ts';
import { writeBundle } from '../../bundle/write.ts';
import type { CliContext } from '../context.ts';
import { appFields, outputOption, parseVisibility, print, type OutputFormat } from '../output.ts';
import { progressReporter } from '../progress.ts';
import { openClient } from '../session.ts';

interface BundleOptions {
  appDir: string;
  outputDir?: string;
}

/** Adds `bundle` to `program` and returns it, so subcommands such as `bundle import` can be added to it. */
export function registerBundleCommand(program: Command, ctx: CliContext): Command {
  const bundle = program
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
  registerBundleImport(bundle, ctx);
  return bundle;
}

interface ImportOptions {
  visibility?: string;
  appDir?: string;
  output: OutputFormat;
}

/** `h2o bundle import`: bundle the app folder and publish it to the catalog. */
function registerBundleImport(bundle: Command, ctx: CliContext): void {
  bundle
    .command('import')
    .description('Bundle the app folder and import it into the app store as a new app version.')
    .option('-v, --visibility <visibility>', 'PRIVATE (default), ALL_USERS or PUBLIC')
    // Also accepted before `import` (it is an option of `bundle`); defaults to the working directory.
    .option('--app-dir <dir>', 'folder that holds app.toml (default: .)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Name and Version of app.toml must be new to the store: bump [App] Version
before importing again. ALL_USERS lets others run the app.

Exit codes: 0 imported, 2 invalid app folder or bundle, 4 bad token,
5 not allowed to import, 6 this version exists already.

Examples:
  $ h2o bundle import
  $ h2o bundle import -v ALL_USERS --app-dir ./peak
`,
    )
    .action(async (opts: ImportOptions, cmd: Command) => {
      const visibility = opts.visibility === undefined ? undefined : parseVisibility(opts.visibility);
      const appDir = opts.appDir ?? cmd.optsWithGlobals<{ appDir?: string }>().appDir ?? '.';
      const client = await openClient(ctx, cmd);
      const outDir = await mkdtemp(join(tmpdir(), 'h2o-import-'));
      try {
        const written = await writeBundle(resolve(ctx.cwd, appDir), { outDir });
        for (const w of written.warnings) ctx.stderr.write(`warning: ${w.path}: ${w.message}\n`);
        const progress = progressReporter(ctx.stderr, 'uploading', written.size);
        const counted = new Transform({
          transform(chunk: Buffer, _enc, done) {
            progress.add(chunk.length);
            done(null, chunk);
          },
        });
        // Streamed from the file, never held in memory whole; the length lets the server refuse oversize bundles up front.
        const body = Readable.toWeb(createReadStream(written.path).pipe(counted)) as ReadableStream<Uint8Array>;
        let result: ImportResult;
        try {
          result = await client.json<ImportResult>('POST', '/apps', {
            query: { visibility },
            body,
            contentType: 'application/zip',
            headers: { 'content-length': String(written.size) },
          });
        } finally {
          progress.done();
        }
        for (const w of result.warnings) ctx.stderr.write(`warning: ${w.path}: ${w.message}\n`);
        print(ctx.stdout, opts.output, result.app, () => appFields(result.app));
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
    });
}
