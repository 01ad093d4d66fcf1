/** Pod ranges of local control planes: two runs never share one, a stopped or dead run's range is free again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimPodRange, POD_RANGE_SECOND_OCTETS, podCidr, releasePodRange } from './pod-range.ts';
import { processStartTicks } from './processes.ts';

function withClaims(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pod-range-test-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('two live runs get different pod ranges; the same run gets its own range again', () =>
  withClaims((dir) => {
    const a = claimPodRange('/run/a', dir);
    const b = claimPodRange('/run/b', dir);
    assert.notEqual(a, b);
    assert.match(a, /^127\.(6[5-9]|[7-8]\d|9[0-5])\.0\.1\/16$/);
    assert.equal(claimPodRange('/run/a', dir), a);
    assert.equal(readdirSync(dir).length, 2);
  }));

test('a released range is free again; releasing another run\'s range does nothing', () =>
  withClaims((dir) => {
    const a = claimPodRange('/run/a', dir);
    releasePodRange('/run/b', a, dir);
    assert.equal(readdirSync(dir).length, 1);
    releasePodRange('/run/a', a, dir);
    assert.equal(readdirSync(dir).length, 0);
  }));

test('a claim whose claimer and run are gone is taken over; every range held by live runs is an error naming the fix', () =>
  withClaims((dir) => {
    const { first, last } = POD_RANGE_SECOND_OCTETS;
    // pid 0 never matches a process start time: these claims are stale.
    for (let o = first; o <= last; o++) writeFileSync(join(dir, `appstore-pod-range-127.${o}.json`), JSON.stringify({ runDir: '/gone', pid: 0, startTicks: 1 }));
    const got = claimPodRange('/run/new', dir);
    assert.match(got, /^127\.\d+\.0\.1\/16$/);
    // Now hold every range with live claims (this process), and the next run must be refused.
    for (let o = first; o <= last; o++) {
      if (podCidr(o) === got) continue;
      writeFileSync(join(dir, `appstore-pod-range-127.${o}.json`), JSON.stringify({ runDir: `/live/${o}`, pid: process.pid, startTicks: processStartTicks(process.pid) }));
    }
    assert.throws(() => claimPodRange('/run/other', dir), /no free pod range.*make cluster-down/);
  }));
