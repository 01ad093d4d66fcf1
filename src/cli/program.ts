/**
 * The `h2o` command tree. Each command group lives in commands/<group>.ts and
 * registers itself here; run() maps errors to messages and exit codes once.
 */
import { Command, CommanderError } from 'commander';
import { isAppError } from '../lib/errors.ts';
import { registerAppCommands } from './commands/app.ts';
import { registerBundleCommand } from './commands/bundle.ts';
import { registerCompletionCommand } from './commands/completion.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerExecCommand } from './commands/exec.ts';
import { registerInstanceCommands } from './commands/instance.ts';
import { registerRuntimeVersionCommands } from './commands/runtime-version.ts';
import { registerTagCommands } from './commands/tag.ts';
import { registerTokenCommands } from './commands/token.ts';
import type { CliContext } from './context.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';

/** The full command tree, writing through ctx; commander errors are thrown, not exited on. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('h2o')
    .description('Command-line client of the app store: bundle Wave apps, publish them, run instances.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .option('--config <file>', 'config file (default: $H2O_CONFIG or ~/.config/h2o/config.toml)')
    .option('--profile <name>', 'profile to use (default: $H2O_PROFILE or the current one)')
    .option('--endpoint <url>', "server URL, overriding the profile's")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  program.addHelpText('after', '\nExample:\n  $ h2o bundle --app-dir ./my-app\n  $ h2o config setup --endpoint http://127.0.0.1:8080 --token $TOKEN && h2o app list -a\n');
  registerConfigCommands(program, ctx);
  registerAppCommands(program, ctx);
  registerBundleCommand(program, ctx);
  registerInstanceCommands(program, ctx);
  registerTagCommands(program, ctx);
  registerRuntimeVersionCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerExecCommand(program, ctx);
  // Last, so the script it prints covers every command registered above.
  registerCompletionCommand(program, ctx);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code; never calls process.exit. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    // Commander has already printed its own usage errors.
    if (err instanceof CommanderError) return exitCodeFor(err);
    if (isAppError(err)) ctx.stderr.write(`error: ${err.message}\n`);
    else {
      const e = err instanceof Error ? err : new Error(String(err));
      ctx.stderr.write(`error: ${ctx.env.H2O_DEBUG ? (e.stack ?? e.message) : e.message}\n`);
    }
    return exitCodeFor(err);
  }
}
