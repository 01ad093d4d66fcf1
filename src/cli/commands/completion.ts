/** `h2o completion bash|zsh|fish`: print a shell completion script generated from the command tree. */
import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.ts';
import type { CliContext } from '../context.ts';

/** Adds the `completion` command to `program`. */
export function registerCompletionCommand(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish.')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      `
Completes commands, flags and the values of flags with a fixed set
(-o json, -v ALL_USERS) or a path.

Examples:
  $ h2o completion bash > ~/.local/share/bash-completion/completions/h2o
  $ source <(h2o completion zsh)        # in ~/.zshrc
  $ h2o completion fish > ~/.config/fish/completions/h2o.fish
`,
    )
    .action((shell: Shell) => {
      ctx.stdout.write(completionScript(program, shell));
    });
}
