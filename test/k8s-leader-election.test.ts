// needs: cluster
/**
 * Leader election of src/k8s/leader-election.ts with two electors in one
 * process against the real apiserver: exactly one leads; the other takes
 * over when the leader releases the Lease, when it crashes (stops renewing
 * without releasing), and when its connection to the apiserver is cut or
 * hangs (it must stop leading by itself before the other one starts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { LeaderElector } from '../src/k8s/leader-election.ts';
import { freshNamespace, kubeConfig } from './support/kube.ts';
import type { TestNamespace } from './support/kube.ts';
import { waitFor } from './support/ports.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const LEASE_MS = 2000;
const RENEW_DEADLINE_MS = 1500;
const RETRY_MS = 250;
/** Worst case for a takeover after a crash: the survivor sees the last renewal up to one retry late, waits out the lease, then acts at its next retry. */
const TAKEOVER_BOUND_MS = LEASE_MS + 2 * RETRY_MS + 1000; // + 1 s for API round trips on a busy test machine

const kc = kubeConfig();
let ns: TestNamespace;
const electors: LeaderElector[] = [];

/** Who leads right now, checked by the callbacks: more than one at a time fails the test. */
const leaders = new Set<string>();
let doubleLeadership = '';
const events: { who: string; what: 'start' | 'stop'; at: number }[] = [];

function elector(identity: string, leaseName: string, config: KubeConfig = kc): LeaderElector {
  const e = new LeaderElector(config.makeApiClient(CoordinationV1Api), {
    namespace: ns.name,
    name: leaseName,
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    onStartedLeading: () => {
      leaders.add(`${leaseName}/${identity}`);
      const same = [...leaders].filter((l) => l.startsWith(`${leaseName}/`));
      if (same.length > 1) doubleLeadership = same.join(' and ');
      events.push({ who: identity, what: 'start', at: performance.now() });
    },
    onStoppedLeading: () => {
      leaders.delete(`${leaseName}/${identity}`);
      events.push({ who: identity, what: 'stop', at: performance.now() });
    },
  });
  electors.push(e);
  return e;
}

async function leaderOf(pair: LeaderElector[]): Promise<LeaderElector> {
  await waitFor('a leader', async () => pair.some((e) => e.isLeader()), 10_000, 20);
  const leading = pair.filter((e) => e.isLeader());
  assert.equal(leading.length, 1);
  return leading[0]!;
}

before(async () => {
  ns = await freshNamespace('k8s-leader', kc);
});
after(async () => {
  for (const e of electors) await e.stop({ release: false });
  await ns?.cleanup();
});

describe('LeaderElector', () => {
  test('exactly one of two leads, and it keeps leading while it renews', async () => {
    const a = elector('a', 'steady');
    const b = elector('b', 'steady');
    a.start();
    b.start();
    const first = await leaderOf([a, b]);
    // Several lease durations: renewals keep the same leader, the other never starts.
    await new Promise((r) => setTimeout(r, LEASE_MS * 2));
    assert.equal(first.isLeader(), true);
    assert.equal([a, b].filter((e) => e.isLeader()).length, 1);
    assert.equal(events.filter((e) => e.what === 'start' && (e.who === 'a' || e.who === 'b')).length, 1);
    assert.equal(doubleLeadership, '');
    await a.stop();
    await b.stop();
  });

  test('a graceful stop releases the Lease: the other takes over at its next retry', async () => {
    const a = elector('ga', 'graceful');
    const b = elector('gb', 'graceful');
    a.start();
    b.start();
    const leader = await leaderOf([a, b]);
    const other = leader === a ? b : a;
    const t0 = performance.now();
    await leader.stop();
    assert.equal(leader.isLeader(), false);
    await waitFor('the other to lead', async () => other.isLeader(), TAKEOVER_BOUND_MS, 10);
    const took = performance.now() - t0;
    assert.ok(took < RETRY_MS + 1000, `a released Lease should be taken within one retry period, took ${Math.round(took)} ms`);
    assert.equal(doubleLeadership, '');
    await other.stop();
  });

  test('a crashed leader (no renewals, no release) is replaced within leaseDuration + 2 retry periods', async () => {
    const a = elector('ca', 'crash');
    const b = elector('cb', 'crash');
    a.start();
    b.start();
    const leader = await leaderOf([a, b]);
    const other = leader === a ? b : a;
    const t0 = performance.now();
    await leader.stop({ release: false });
    await waitFor('the other to lead', async () => other.isLeader(), TAKEOVER_BOUND_MS + 1000, 10);
    const took = performance.now() - t0;
    assert.ok(took >= LEASE_MS - 2 * RETRY_MS, `took over after ${Math.round(took)} ms, before the Lease could have expired`);
    assert.ok(took <= TAKEOVER_BOUND_MS, `took over after ${Math.round(took)} ms, more than ${TAKEOVER_BOUND_MS}`);
    await other.stop();
  });

  for (const mode of ['down', 'blackhole'] as const) {
    test(`a leader whose apiserver connection is ${mode === 'down' ? 'cut' : 'hanging'} stops leading by itself before the other starts`, async () => {
      const proxy = await TcpProxy.start(new URL(kc.getCurrentCluster()!.server));
      try {
        const cut = elector(`cut-${mode}`, `partition-${mode}`, proxy.kubeConfig(kc));
        cut.start();
        await waitFor('the proxied elector to lead', async () => cut.isLeader(), 10_000, 20);
        const other = elector(`ok-${mode}`, `partition-${mode}`);
        other.start();
        await new Promise((r) => setTimeout(r, RETRY_MS * 3));
        assert.equal(other.isLeader(), false);

        if (mode === 'down') proxy.down = true;
        else proxy.blackhole = true;
        const t0 = performance.now();
        await waitFor('the cut-off leader to stop leading', async () => !cut.isLeader(), RENEW_DEADLINE_MS + 2 * RETRY_MS + 1000, 10);
        await waitFor('the other to lead', async () => other.isLeader(), TAKEOVER_BOUND_MS + 1000, 10);
        const stopped = events.find((e) => e.who === `cut-${mode}` && e.what === 'stop')!;
        const started = events.find((e) => e.who === `ok-${mode}` && e.what === 'start')!;
        assert.ok(stopped.at < started.at, 'the old leader must stop before the new one starts');
        assert.ok(stopped.at - t0 <= RENEW_DEADLINE_MS + 2 * RETRY_MS + 1000, `stopped ${Math.round(stopped.at - t0)} ms after the cut`);
        assert.equal(doubleLeadership, '');
      } finally {
        await proxy.close();
      }
    });
  }

  test('refuses timings that could give two leaders', () => {
    const api = kc.makeApiClient(CoordinationV1Api);
    const base = { namespace: 'x', name: 'y', identity: 'z', onStartedLeading() {}, onStoppedLeading() {} };
    assert.throws(() => new LeaderElector(api, { ...base, leaseDurationMs: 5000, renewDeadlineMs: 5000 }), /leaseDurationMs \(5000\) must be greater than renewDeadlineMs/);
    assert.throws(() => new LeaderElector(api, { ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 }), /renewDeadlineMs \(2000\) must be greater than retryPeriodMs/);
  });
});
