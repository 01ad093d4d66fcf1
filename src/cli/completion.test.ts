import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completionScript } from './completion.ts';
import { buildProgram } from './program.ts';

const program = () => buildProgram({ cwd: '/', env: {}, stdout: { write: () => true }, stderr: { write: () => true } });
const which = (cmd: string) => ['/usr/bin', '/bin', '/usr/local/bin'].map((d) => join(d, cmd)).find((p) => existsSync(p));

/** Runs bash with the generated script sourced and COMP_WORDS set to `words` (the last is the word being completed). */
function complete(script: string, words: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'h2o-completion-'));
  try {
    writeFileSync(join(dir, 'h2o.bash'), script);
    const driver = `source ${dir}/h2o.bash
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_h2o
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync('bash', ['--norc', '--noprofile', '-c', driver], { cwd: dir, encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('bash completion offers the subcommands of the command path, from the commander tree', () => {
  const script = completionScript(program(), 'bash');
  // Every top-level command, whoever registered it.
  const top = program().commands.map((c) => c.name());
  assert.ok(top.includes('instance') && top.includes('completion'));
  assert.deepEqual(complete(script, ['h2o', '']), top);
  assert.deepEqual(complete(script, ['h2o', 'in']), ['instance']);
  assert.deepEqual(complete(script, ['h2o', 'instance', '']), ['list', 'get', 'status', 'logs', 'update', 'suspend', 'resume', 'terminate']);
  assert.deepEqual(complete(script, ['h2o', 'bundle', '']), ['import', 'deploy', 'test']);
  // Global flags and their values are skipped on the way to the command path.
  assert.deepEqual(complete(script, ['h2o', '--profile', 'staging', 'app', 'l']), ['list']);
  assert.deepEqual(complete(script, ['h2o', 'completion', '']), ['bash', 'zsh', 'fish']);
});

test('bash completion offers flags (global ones too) and the values of flags with a fixed set', () => {
  const script = completionScript(program(), 'bash');
  const flags = complete(script, ['h2o', 'instance', 'logs', '--']);
  for (const f of ['--follow', '--previous', '--tail', '--config', '--profile', '--endpoint', '--help']) assert.ok(flags.includes(f), `${f} in ${flags.join(' ')}`);
  assert.ok(!flags.includes('--visibility'), 'no flags of other commands');
  assert.deepEqual(complete(script, ['h2o', 'app', 'list', '-o', '']), ['table', 'json', 'yaml']);
  assert.deepEqual(complete(script, ['h2o', 'app', 'run', 'x', '-v', 'A']), ['ALL_USERS']);
  assert.deepEqual(complete(script, ['h2o', 'instance', 'update', 'x', '--visibility', '']), ['PRIVATE', 'ALL_USERS', 'PUBLIC']);
  // A flag that takes a free value completes to nothing rather than to subcommands.
  assert.deepEqual(complete(script, ['h2o', 'app', 'list', '--search', '']), []);
});

/** Writes `script` to a temporary file and runs `shell -c body` with $SCRIPT naming it; returns stdout lines. */
function runShell(shell: string, script: string, body: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), `h2o-${shell}-`));
  try {
    writeFileSync(join(dir, 'h2o.script'), script);
    const r = spawnSync(shell, ['-c', body], { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir, SCRIPT: join(dir, 'h2o.script') } });
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('zsh: the script loads and completes through bashcompinit', { skip: !which('zsh') && 'zsh is not installed' }, () => {
  const script = completionScript(program(), 'zsh');
  assert.match(script, /^#compdef h2o\n/);
  // bashcompinit's wrapper runs the bash function under `emulate sh` (0-based arrays); so does this driver.
  const out = runShell(
    'zsh',
    script,
    'source "$SCRIPT"; echo "${_comps[h2o]}"; f() { emulate -L sh; setopt kshglob noshglob braceexpand; COMP_WORDS=(h2o --profile x instance ""); COMP_CWORD=4; _h2o; echo "${COMPREPLY[@]}"; }; f',
  );
  // zsh's compgen emulation leaves prefix filtering to compadd, so the driver asks with an empty word.
  assert.deepEqual(out, ['_bash_complete -o default -F _h2o', 'list get status logs update suspend resume terminate']);
});

test('fish: subcommands, flag values and descriptions', { skip: !which('fish') && 'fish is not installed' }, () => {
  const out = runShell('fish', completionScript(program(), 'fish'), 'source $SCRIPT; complete -C "h2o --profile x inst"; complete -C "h2o instance l"; complete -C "h2o app list -o "; complete -C "h2o app run x -v A"');
  assert.deepEqual(
    out.map((l) => l.split('\t')[0]),
    ['instance', 'list', 'logs', 'json', 'table', 'yaml', 'ALL_USERS'],
  );
  assert.match(out[1]!, /^list\tList your instances/);
});
