/**
 * Each local control plane gets a pod range of its own. kwok hands pod IPs out
 * of its --cidr, and the local pod runner binds each pod's app to that IP; two
 * clusters with one range (a test run beside `npm start`) gave pods the same
 * addresses, and one cluster's router reached the other's apps.
 *
 * A claim is a file per range in the machine's temp folder, naming the run dir
 * and the process that claimed it. It is free again once that run is stopped
 * (`releasePodRange`) or once nothing of the run is alive: neither the
 * claiming process nor any process recorded in the run's state.json.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOurs, processStartTicks, type ProcessRecord } from './processes.ts';

/**
 * Candidate ranges: 127.N.0.0/16 for N in 65..95. Outside 127.64/16 (router
 * fixtures fake pod IPs there) and below the service range 127.96/16.
 */
export const POD_RANGE_SECOND_OCTETS = { first: 65, last: 95 } as const;

interface Claim {
  runDir: string;
  pid: number;
  startTicks: number;
}

/** Where claims live: the machine's temp folder, shared by every checkout (tests pass their own). */
const claimFile = (octet: number, dir: string) => join(dir, `appstore-pod-range-127.${octet}.json`);

/** kwok's --cidr for a range: it hands out the address written here first (so .0.1, never the network address). */
export function podCidr(octet: number): string {
  return `127.${octet}.0.1/16`;
}

function readClaim(octet: number, dir: string): Claim | undefined {
  try {
    return JSON.parse(readFileSync(claimFile(octet, dir), 'utf8')) as Claim;
  } catch {
    return undefined;
  }
}

/** A claim still held: its claimer lives, or a process of its run does. */
function live(c: Claim): boolean {
  if (processStartTicks(c.pid) === c.startTicks) return true;
  try {
    const state = JSON.parse(readFileSync(join(c.runDir, 'state.json'), 'utf8')) as { processes?: ProcessRecord[] };
    return (state.processes ?? []).some(isOurs);
  } catch {
    return false;
  }
}

/**
 * Claims a free pod range for `runDir` (the same one again if `runDir` already
 * holds it) and returns kwok's --cidr for it. Starts at a random range so
 * clusters started at the same moment rarely race for one file.
 */
export function claimPodRange(runDir: string, dir = tmpdir()): string {
  const { first, last } = POD_RANGE_SECOND_OCTETS;
  const n = last - first + 1;
  const offset = Math.floor(Math.random() * n);
  const me: Claim = { runDir, pid: process.pid, startTicks: processStartTicks(process.pid) ?? 0 };
  // A restart of the same run keeps its range (its pods' recorded IPs stay valid).
  for (let octet = first; octet <= last; octet++) if (readClaim(octet, dir)?.runDir === runDir) {
    writeFileSync(claimFile(octet, dir), JSON.stringify(me));
    return podCidr(octet);
  }
  for (let i = 0; i < n; i++) {
    const octet = first + ((offset + i) % n);
    const held = readClaim(octet, dir);
    if (held && held.runDir !== runDir && live(held)) continue;
    if (held) rmSync(claimFile(octet, dir), { force: true });
    try {
      // 'wx': of two clusters that both saw this range free, only one creates the file.
      writeFileSync(claimFile(octet, dir), JSON.stringify(me), { flag: 'wx' });
      return podCidr(octet);
    } catch {
      continue;
    }
  }
  throw new Error(`no free pod range: all of 127.${first}-${last}.0.0/16 are claimed by running local clusters (claims: ${join(dir, 'appstore-pod-range-*.json')}); stop one with make cluster-down`);
}

/** Gives back the range `runDir` holds, if any. */
export function releasePodRange(runDir: string, cidr: string | undefined, dir = tmpdir()): void {
  const octet = cidr ? Number(/^127\.(\d+)\./.exec(cidr)?.[1]) : NaN;
  if (!Number.isInteger(octet)) return;
  if (readClaim(octet, dir)?.runDir === runDir) rmSync(claimFile(octet, dir), { force: true });
}
