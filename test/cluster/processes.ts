/**
 * Starts the control plane's programs as detached background processes
 * (so `make cluster-up` can return) and stops exactly those again later,
 * from a record of pid + kernel start time + executable: a pid reused by
 * an unrelated process after a crash or reboot is never signalled.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** What is recorded about one started process. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): with the pid, unique for the machine's uptime. */
  startTicks: number;
  exe: string;
  log: string;
}

/** Start time of `pid` from /proc, or undefined if no such process. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may contain spaces: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 is rest[19].
    if (rest[0] === 'Z') return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

/** True while the recorded process is still the very process we started. */
export function isOurs(p: ProcessRecord): boolean {
  if (processStartTicks(p.pid) !== p.startTicks) return false;
  try {
    // A rebuilt binary shows as "PATH (deleted)"; still ours.
    return readlinkSync(`/proc/${p.pid}/exe`).replace(/ \(deleted\)$/, '') === p.exe;
  } catch {
    return false;
  }
}

/** Starts `exe` detached from this process, its output appended to `logDir/NAME.log`. */
export function startProcess(name: string, exe: string, args: string[], logDir: string, env: NodeJS.ProcessEnv = process.env): ProcessRecord {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(exe, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${name} (${exe})`);
    const startTicks = processStartTicks(child.pid);
    if (startTicks === undefined) throw new Error(`${name} exited at once; see ${log}:\n${logTail(log)}`);
    return { name, pid: child.pid, startTicks, exe, log };
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(path: string, lines = 15): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Stops the recorded processes that are still ours: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcesses(records: ProcessRecord[], graceMs = 5000): Promise<void> {
  const live = records.filter(isOurs);
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // Exited in between.
    }
  }
  const deadline = Date.now() + graceMs;
  while (live.some(isOurs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of live.filter(isOurs)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Exited in between.
    }
  }
  const killDeadline = Date.now() + 5000;
  while (live.some(isOurs) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
  const left = live.filter(isOurs);
  if (left.length) throw new Error(`could not stop ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
}
