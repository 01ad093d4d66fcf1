/**
 * `h2o bundle`: package the app folder into a .wave archive; `bundle import`
 * publishes it, `bundle deploy` publishes and runs it, `bundle test` does so
 * until Ctrl-C and cleans up.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { Command } from 'commander';
import { parse as parseToml } from 'smol-toml';
import type { App, ImportResult } from '../../api/schemas.ts';
import { writeBundle } from '../../bundle/write.ts';
import { ConflictError, NotFoundError } from '../../lib/errors.ts';
import type { ApiClient } from '../client.ts';
import type { CliContext } from '../context.ts';
import type { Instance } from '../../api/schemas.ts';
import { appFields, outputOption, parseVisibility, print, type OutputFormat } from '../output.ts';
import { progressReporter } from '../progress.ts';
import { openClient } from '../session.ts';
import { NotReadyError, parseTimeout, sleep } from '../wait.ts';
import { announceAndWait, runApp, runtimeVersionOption, streamLogs } from './instance.ts';

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
  registerBundleDeploy(bundle, ctx);
  return bundle;
}

interface ImportOptions {
  visibility?: string;
  appDir?: string;
  output: OutputFormat;
}

/** The app folder of a `bundle` subcommand: its own --app-dir, else the one given before the subcommand, else the working directory. */
function appDirOf(ctx: CliContext, cmd: Command, own: string | undefined): string {
  return resolve(ctx.cwd, own ?? cmd.optsWithGlobals<{ appDir?: string }>().appDir ?? '.');
}

/**
 * Bundles `appDir` into a temporary folder and uploads it (streamed from the
 * file, with progress on a terminal); warnings go to stderr.
 */
async function uploadBundle(ctx: CliContext, client: ApiClient, appDir: string, opts: { visibility?: string; version?: string }): Promise<ImportResult> {
  const outDir = await mkdtemp(join(tmpdir(), 'h2o-import-'));
  try {
    const written = await writeBundle(appDir, { outDir, version: opts.version });
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
        query: { visibility: opts.visibility },
        body,
        contentType: 'application/zip',
        headers: { 'content-length': String(written.size) },
      });
    } finally {
      progress.done();
    }
    for (const w of result.warnings) ctx.stderr.write(`warning: ${w.path}: ${w.message}\n`);
    return result;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
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
      const client = await openClient(ctx, cmd);
      const result = await uploadBundle(ctx, client, appDirOf(ctx, cmd, opts.appDir), { visibility });
      print(ctx.stdout, opts.output, result.app, () => appFields(result.app));
    });
}

/** `<Version>-<UTC timestamp>` (`0.1.2-20201013062803`), the seed's development version; build metadata stays last. */
export function deployVersion(version: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:T]/g, '');
  const plus = version.indexOf('+');
  return plus < 0 ? `${version}-${stamp}` : `${version.slice(0, plus)}-${stamp}${version.slice(plus)}`;
}

/**
 * Imports under a generated version; a version taken already (a deploy in the same second: the stamp
 * counts seconds, and the compiled CLI deploys twice within one) is retried in the next second.
 */
export async function uploadDeployVersion<T>(upload: () => Promise<T>, generated: boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await upload();
    } catch (err) {
      if (!generated || !(err instanceof ConflictError) || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    }
  }
}

interface DeployOptions {
  visibility?: string;
  instanceVisibility?: string;
  runtimeVersion?: string;
  appDir?: string;
  wait: boolean;
  timeout: string;
  output: OutputFormat;
}

/** Imports the folder under a generated version and runs it; returns the Ready (or, with --no-wait, new) instance. */
async function deploy(ctx: CliContext, cmd: Command, opts: DeployOptions, signal?: AbortSignal): Promise<{ client: ApiClient; app: App; instance?: Instance; error?: unknown }> {
  const visibility = opts.visibility === undefined ? undefined : parseVisibility(opts.visibility);
  const instanceVisibility = opts.instanceVisibility === undefined ? undefined : parseVisibility(opts.instanceVisibility, '--instance-visibility');
  const timeoutMs = parseTimeout(opts.timeout);
  const appDir = appDirOf(ctx, cmd, opts.appDir);
  const manifestVersion = await readManifestVersion(appDir);
  const client = await openClient(ctx, cmd);
  const { app } = await uploadDeployVersion(() => uploadBundle(ctx, client, appDir, { visibility, version: manifestVersion === undefined ? undefined : deployVersion(manifestVersion) }), manifestVersion !== undefined);
  if (opts.output === 'table') ctx.stdout.write(appFields(app));
  let instance: Instance;
  try {
    instance = await runApp(client, app.id, { visibility: instanceVisibility, runtimeVersion: opts.runtimeVersion });
  } catch (error) {
    return { client, app, error };
  }
  try {
    instance = await announceAndWait(ctx, client, instance, { output: opts.output, ...(opts.wait ? { wait: { timeoutMs, signal } } : {}) });
    return { client, app, instance };
  } catch (error) {
    return { client, app, instance, error };
  }
}

/** [App] Version of the folder's manifest, if it can be read (writeBundle reports every problem otherwise). */
async function readManifestVersion(appDir: string): Promise<string | undefined> {
  for (const name of ['app.toml', 'q-app.toml', 'wave-app.toml']) {
    const text = await readFile(join(appDir, name), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const app = parseToml(text).App as Record<string, unknown> | undefined;
      return typeof app?.Version === 'string' ? app.Version : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function withDeployOptions(cmd: Command): Command {
  return cmd
    .option('-v, --visibility <visibility>', "the app version's visibility: PRIVATE (default), ALL_USERS or PUBLIC")
    .option('--instance-visibility <visibility>', 'who may open the instance: PRIVATE (default), ALL_USERS or PUBLIC')
    .addOption(runtimeVersionOption())
    .option('--app-dir <dir>', 'folder that holds app.toml (default: .)')
    .option('--timeout <duration>', 'how long to wait for the instance to be Ready, e.g. 90s, 5m', '5m');
}

/** `h2o bundle deploy` and `h2o bundle test`: run the app under development. */
function registerBundleDeploy(bundle: Command, ctx: CliContext): void {
  withDeployOptions(bundle.command('deploy').description('Bundle the app folder, import it under a generated version <Version>-<timestamp> and run it; prints the instance URL.'))
    .option('--no-wait', 'return as soon as the instance is created, without waiting until it is Ready')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
The version is app.toml's [App] Version plus the UTC time (0.1.2-20201013062803),
so deploying again never conflicts; the app folder is not changed. Clean up
old instances (h2o instance terminate) and versions (h2o app delete).
With -o json|yaml, prints {app, instance} at the end.

Exit codes: 0 Ready (or created, with --no-wait), 2 invalid app folder,
6 over an instance limit, 7 the instance failed or was not Ready in time.

Examples:
  $ h2o bundle deploy
  $ h2o bundle deploy --app-dir ./peak --no-wait -o json
`,
    )
    .action(async (opts: DeployOptions, cmd: Command) => {
      const r = await deploy(ctx, cmd, opts);
      if (r.error) throw r.error;
      if (opts.output !== 'table') print(ctx.stdout, opts.output, { app: r.app, instance: r.instance }, () => '');
    });

  withDeployOptions(
    bundle
      .command('test')
      .description('Deploy the app folder, follow the instance log, and on Ctrl-C terminate the instance and delete the app version.'),
  )
    .addHelpText(
      'after',
      `
For a quick try on the real platform: nothing is left behind after Ctrl-C
(a second Ctrl-C leaves without cleaning up). If the instance does not
become Ready, it is cleaned up as well and the exit code is 7.

Example:
  $ h2o bundle test
`,
    )
    .action(async (opts: Omit<DeployOptions, 'wait' | 'output'>, cmd: Command) => {
      const stop = new AbortController();
      const off = ctx.onInterrupt?.(() => stop.abort(new InterruptedError('interrupted')));
      try {
        const r = await deploy(ctx, cmd, { ...opts, wait: true, output: 'table' }, stop.signal);
        try {
          if (r.error) throw r.error;
          ctx.stderr.write('following the log; press Ctrl-C to stop and clean up\n');
          await followUntilStopped(ctx, r.client, r.instance!.id, stop.signal);
        } finally {
          ctx.stderr.write(`cleaning up (Ctrl-C again to leave ${r.instance ? `instance ${r.instance.id} and ` : ''}app ${r.app.id} behind)\n`);
          await cleanUp(ctx, r.client, r.app.id, r.instance?.id);
        }
      } catch (err) {
        if (!(err instanceof InterruptedError)) throw err;
      } finally {
        off?.();
      }
    });
}

/** Ctrl-C during `bundle test`: not an error once the clean-up has run. */
class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** Follows the instance log until `signal` aborts, reconnecting when the stream ends or fails (a restart, a pod not there yet). */
async function followUntilStopped(ctx: CliContext, client: ApiClient, id: string, signal: AbortSignal): Promise<void> {
  let first = true;
  while (!signal.aborted) {
    try {
      await streamLogs(client, id, ctx.stdout, { follow: true, tail: first ? undefined : 0, signal });
      if (!signal.aborted) ctx.stderr.write('the log stream ended (the container restarted?); reconnecting\n');
    } catch (err) {
      if (signal.aborted) break;
      ctx.stderr.write(`warning: cannot read the log yet: ${(err as Error).message}; retrying\n`);
    }
    first = false;
    await sleep(2000, signal).catch(() => undefined);
  }
}

/** Terminates the instance, waits until it is gone (an app with instances cannot be deleted), deletes the app. */
async function cleanUp(ctx: CliContext, client: ApiClient, appId: string, instanceId: string | undefined): Promise<void> {
  if (instanceId) {
    await client.request('DELETE', `/instances/${encodeURIComponent(instanceId)}`).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await client.json<Instance>('GET', `/instances/${encodeURIComponent(instanceId)}`);
      } catch (err) {
        if (err instanceof NotFoundError) break;
        throw err;
      }
      if (Date.now() > deadline) throw new NotReadyError(`instance ${instanceId} is still terminating after 2m; delete the app later with \`h2o app delete ${appId}\``);
      await sleep(500);
    }
    ctx.stderr.write(`instance ${instanceId} terminated\n`);
  }
  await client.request('DELETE', `/apps/${encodeURIComponent(appId)}`);
  ctx.stderr.write(`app ${appId} deleted\n`);
}
