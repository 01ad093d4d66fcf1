import { existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node script args…` to completion and collects its output (for tests of our commands). */
export function runNode(script: string, args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves once `child` has exited, at once when it already has (a late `once('exit')` would wait forever). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
}

/** util-linux script(1), to run a command on a pseudo-terminal (undefined where it is missing: skip such tests). */
export const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/**
 * Runs `node script args…` on a pseudo-terminal through script(1). script
 * merges the terminal's stdout and stderr into `stdout`; -e passes the exit code on.
 */
export function runNodeOnTerminal(script: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<ProcessResult> {
  const cmd = [process.execPath, script, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT!, ['-qec', cmd, '/dev/null'], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}
