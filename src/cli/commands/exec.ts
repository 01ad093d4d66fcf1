/**
 * `h2o exec`: runs an app folder (or a .wave bundle) locally through the same
 * launcher that runs in app pods, without Docker: bundle, unpack, install
 * into a venv (kept between runs while requirements are unchanged), start
 * waved and the app, and print the URL to open.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { inspectBundle } from '../../bundle/inspect.ts';
import { DEFAULT_BUNDLE_LIMITS } from '../../bundle/limits.ts';
import type { AppManifest } from '../../bundle/manifest.ts';
import { writeBundle } from '../../bundle/write.ts';
import { runLauncher } from '../../launcher/launcher.ts';
import { launcherSettingsFromEnv, parseListen } from '../../launcher/settings.ts';
import type { CliContext } from '../context.ts';

interface ExecOptions {
  appDir: string;
  listen: string;
  baseUrl: string;
  resourceDir?: string;
  fresh?: boolean;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Adds `exec` to `program`. */
export function registerExecCommand(program: Command, ctx: CliContext): void {
  program
    .command('exec')
    .description('Run an app folder or .wave bundle locally through the Appstore launcher (no Docker): install its requirements into a venv, start waved and the app, print the URL.')
    .option('--app-dir <dir>', 'app folder (with app.toml) or a .wave bundle', '.')
    .option('--listen <host:port>', 'where waved listens (the progress page first)', '127.0.0.1:10101')
    .option('--base-url <path>', 'URL path prefix to serve under, as BASE_URL routing does', '/')
    .option('--resource-dir <dir>', 'where the Python environment is kept between runs (default: ~/.cache/h2o/exec/<app name>)')
    .option('--fresh', 'throw the kept environment away and install again')
    .addHelpText(
      'after',
      `
[[Env]] and [[File]] values of app.toml are set; a secret-backed one is taken
from your environment (same name) if set, else reported and left out.
Uses uv when it is on PATH (far faster), else pip. Ctrl-C stops the app.

Exit codes: 0 stopped by Ctrl-C, 1 the app failed or exited, 2 invalid app folder.

Example:
  $ h2o exec --app-dir ./my-app
`,
    )
    .action(async (opts: ExecOptions) => {
      const listen = parseListen(opts.listen, '--listen');
      const src = resolve(ctx.cwd, opts.appDir);
      const tmp = await mkdtemp(join(tmpdir(), 'h2o-exec-'));
      try {
        let bundlePath: string;
        let manifest: AppManifest;
        if (statSync(src, { throwIfNoEntry: false })?.isFile()) {
          bundlePath = src;
          manifest = (await inspectBundle(src, DEFAULT_BUNDLE_LIMITS)).manifest;
        } else {
          const written = await writeBundle(src, { outDir: tmp });
          for (const w of written.warnings) ctx.stderr.write(`warning: ${w.path}: ${w.message}\n`);
          bundlePath = written.path;
          manifest = written.manifest;
        }
        const env: Record<string, string | undefined> = { ...ctx.env };
        for (const e of manifest.env) {
          if ('value' in e) env[e.name] = e.value;
          else if (ctx.env[e.name] === undefined) ctx.stderr.write(`warning: [[Env]] ${e.name} comes from secret ${e.secret} (key ${e.secretKey}) on the platform; set ${e.name} in your environment to pass it locally\n`);
        }
        const home = ctx.env.HOME ?? homedir();
        const resourceDir = opts.resourceDir ? resolve(ctx.cwd, opts.resourceDir) : join(home, '.cache', 'h2o', 'exec', manifest.app.name);
        if (opts.fresh) await rm(join(resourceDir, 'venv'), { recursive: true, force: true });
        const base = opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`;
        const host = listen.host && listen.host !== '0.0.0.0' ? listen.host : '127.0.0.1';
        Object.assign(env, {
          H2O_CLOUD_BUNDLE_URL: pathToFileURL(bundlePath).href,
          H2O_CLOUD_BUNDLE_DIGEST: `sha256:${await sha256File(bundlePath)}`,
          H2O_CLOUD_APP_MODULE: manifest.runtime.module,
          H2O_CLOUD_APP_NAME: manifest.app.name,
          H2O_CLOUD_APP_VERSION: manifest.app.version,
          H2O_CLOUD_APP_TITLE: manifest.app.title,
          H2O_CLOUD_APP_DIR: join(tmp, 'app'),
          H2O_CLOUD_LAUNCHER_WORK_DIR: join(tmp, 'work'),
          H2O_CLOUD_RESOURCE_PATH: resourceDir,
          H2O_CLOUD_LAUNCHER_FAILURE_HOLD: '0',
          H2O_WAVE_LISTEN: opts.listen,
          H2O_WAVE_ADDRESS: `http://${host}:${listen.port}`,
          H2O_WAVE_BASE_URL: base,
        });
        delete env.H2O_CLOUD_LAUNCHER_TOKEN;
        const settings = launcherSettingsFromEnv(env);
        for (const f of manifest.files) {
          if ('value' in f) settings.files.push({ path: f.path, content: f.value });
          else ctx.stderr.write(`warning: [[File]] ${f.path} comes from secret ${f.secret} on the platform and is not written locally\n`);
        }
        const url = `http://${host}:${listen.port}${base}`;
        ctx.stdout.write(`${url}\n`);
        ctx.stderr.write(`${manifest.app.title} ${manifest.app.version}: open ${url} (it shows progress until the app is ready; Ctrl-C stops it)\n`);
        const controller = new AbortController();
        const unsubscribe = ctx.onInterrupt?.(() => controller.abort());
        const code = await runLauncher(settings, {
          out: ctx.stderr,
          signal: controller.signal,
          onStep: (step) => {
            if (step === 'running') ctx.stderr.write(`${manifest.app.title} is running at ${url}\n`);
          },
        });
        unsubscribe?.();
        if (code !== 0) throw new Error(`${manifest.app.name} stopped (launcher exit code ${code}); the lines above say why`);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
}
