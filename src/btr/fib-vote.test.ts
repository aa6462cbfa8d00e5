// The FIB voter on a ManualClock: pushed changes, polled snapshots (diffed, stale answers
// dropped), batching into the router's FIB, a minority gateway never installed, blackholes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { parseAddr, parsePrefix } from '../lib/ip.js';
import { MemoryFib, type ApplyReport, type FibChange } from '../fib/index.js';
import { canonicalFibValue } from './canonical.js';
import { FibPoller, FibVote, fibGateways, type FibVoteEvent } from './fib-vote.js';
import type { InstanceFibRoute } from './instance.js';

const P = (s: string) => parsePrefix(s)!;
const A = (s: string) => parseAddr(s)!;
const tick = () => new Promise((r) => setImmediate(r));

class CountingFib extends MemoryFib {
  batches: FibChange[][] = [];
  override async apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    this.batches.push([...changes]);
    return super.apply(changes);
  }
}

function setup() {
  const clock = new ManualClock(0);
  const fib = new CountingFib();
  const events: FibVoteEvent[] = [];
  const fv = new FibVote({
    strategy: { kind: 'continuous-majority' },
    clock,
    steadyMs: 100,
    fib,
    onEvent: (e) => events.push(e),
  });
  for (const r of ['a', 'b', 'c']) fv.addReplica(r, { voting: true });
  return { clock, fib, events, fv };
}

test('fibGateways inverts canonicalFibValue (order-independent)', () => {
  const gws = [A('198.18.0.3'), A('2001:db8::1'), A('198.18.0.2')];
  const back = fibGateways(canonicalFibValue(gws));
  assert.equal(canonicalFibValue(back), canonicalFibValue([...gws].reverse()));
  assert.deepEqual(
    back.map((g) => [...g].join('.')).sort(),
    gws.map((g) => [...g].join('.')).sort(),
  );
});

test('a majority installs a route in one batch; a minority gateway is flagged and never installed', async () => {
  const { clock, fib, events, fv } = setup();
  for (const r of ['a', 'b']) {
    fv.route(r, P('198.18.1.0/24'), [A('198.18.0.2')]);
    fv.route(r, P('198.18.2.0/24'), [A('198.18.0.2'), A('198.18.0.3')]);
  }
  fv.route('c', P('198.18.1.0/24'), [A('198.19.253.66')]);
  fv.route('c', P('198.18.2.0/24'), [A('198.18.0.3'), A('198.18.0.2')]);
  await fv.settled();
  assert.equal(fib.batches.length, 1, 'the votes of one turn are one batch');
  assert.deepEqual(
    fv.installedRoutes(),
    new Map([
      ['198.18.1.0/24', ['198.18.0.2']],
      ['198.18.2.0/24', ['198.18.0.2', '198.18.0.3']],
    ]),
  );
  clock.advance(150);
  const faults = events.flatMap((e) =>
    e.type === 'vote' && e.event.type === 'fault' ? [e.event.name] : [],
  );
  assert.deepEqual(faults, ['c']);
  assert.equal(fv.status().disagreements, 1);
  for (const b of fib.batches) {
    for (const c of b) if (c.op !== 'delete') assert.notEqual(c.route.nextHops[0]!.gateway[0], 192);
  }
  // A withdrawal by the majority removes it.
  fv.route('a', P('198.18.1.0/24'), undefined);
  fv.route('b', P('198.18.1.0/24'), undefined);
  await fv.settled();
  assert.equal(fib.get(P('198.18.1.0/24')), undefined);
  assert.equal(fv.status().installed, 1);
});

test('polled snapshots are diffed; a stale poll (started before a reset) is dropped', async () => {
  const { fib, fv } = setup();
  const routes = (gw: string): InstanceFibRoute[] => [
    { prefix: '198.18.1.0/24', gateways: [gw] },
    { prefix: '2001:db8:1::/48', gateways: ['2001:db8::2'] },
  ];
  for (const r of ['a', 'b', 'c']) fv.snapshot(r, routes('198.18.0.2'));
  await fv.settled();
  assert.equal(fib.size, 2);
  const gen = fv.generation('a');
  fv.reset('a');
  fv.snapshot('a', routes('198.18.0.9'), gen); // stale: ignored
  assert.equal(fv.observedRoutes('a').size, 0);
  fv.snapshot('a', routes('198.18.0.2'), fv.generation('a'));
  for (const r of ['a', 'b']) fv.snapshot(r, [routes('198.18.0.2')[0]!]);
  await fv.settled();
  assert.deepEqual([...fv.installedRoutes().keys()], ['198.18.1.0/24']);
});

test('FibPoller polls running replicas every interval and feeds the vote', async () => {
  const { clock, fib, fv, events } = setup();
  let calls = 0;
  const poller = new FibPoller({
    clock,
    vote: fv,
    intervalMs: 500,
    replicas: () =>
      ['a', 'b', 'c'].map((name) => ({
        name,
        fibRoutes: async () => {
          calls++;
          if (name === 'c') throw new Error('daemon not answering');
          return [{ prefix: '198.18.5.0/24', gateways: ['198.18.0.2'] }];
        },
      })),
    onEvent: (e) => events.push(e),
  });
  poller.start();
  clock.advance(499);
  assert.equal(calls, 0);
  clock.advance(1);
  await tick();
  await fv.settled();
  assert.equal(calls, 3);
  assert.equal(fib.size, 1);
  clock.advance(500);
  await tick();
  assert.equal(calls, 6);
  assert.equal(events.filter((e) => e.type === 'observe-failed').length, 1, 'reported once');
  poller.stop();
  clock.advance(5000);
  assert.equal(calls, 6);
});

test('a voted route without a gateway is not installed (reported)', async () => {
  const { fib, fv, events } = setup();
  for (const r of ['a', 'b', 'c']) fv.route(r, P('198.18.9.0/24'), []);
  await fv.settled();
  assert.equal(fib.size, 0);
  assert.equal(fv.status().unsupported, 1);
  assert.ok(events.some((e) => e.type === 'unsupported'));
});
