// Unit tests of the voter. Every expected value is worked out from the rules in voter.ts's
// header and the paper (§3.2 strategies, §4.2 steady state and faults), step by step in the
// comments, not taken from running the code. T is 100 ms throughout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { AS4_CONTEXT, encodeMessage, type PathAttribute } from '../wire/index.js';
import { canonicalUpdate } from './canonical.js';
import { routeKey } from './canonical-key.js';
import { RecordingSink, Voter, type Strategy, type VoterEvent } from './voter.js';

const T = 100;
const CM: Strategy = { kind: 'continuous-majority' };
const WFC: Strategy = { kind: 'wait-for-consensus' };
const MS: Strategy = { kind: 'master-slave' };

function setup(strategy: Strategy, names = ['a', 'b', 'c']) {
  const clock = new ManualClock(0);
  const sink = new RecordingSink();
  const voter = new Voter({ strategy, clock, steadyMs: T, sink });
  const ids = names.map((n) => voter.addReplica(n));
  return { clock, sink, voter, ids };
}

const faults = (events: readonly VoterEvent[]) =>
  events.filter((e) => e.type === 'fault').map((e) => (e.type === 'fault' ? [e.name, e.key] : []));

test('continuous-majority: output once a majority agrees, again only when the majority changes', () => {
  const { sink, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X'); // X: 1 of 3, majority is 2
  assert.deepEqual(sink.decisions, []);
  voter.replicaOutput(1, 1, 'X'); // X: 2 of 3
  assert.deepEqual(sink.decisions, [{ key: 1, value: 'X', reason: 'vote' }]);
  voter.replicaOutput(2, 1, 'X'); // unanimous; output unchanged
  voter.replicaOutput(0, 1, 'Y'); // Y: 1 of 3; X keeps 2 of 3
  assert.equal(sink.decisions.length, 1);
  voter.replicaOutput(1, 1, 'Y'); // Y: 2 of 3
  assert.deepEqual(sink.decisions[1], { key: 1, value: 'Y', reason: 'vote' });
  voter.replicaOutput(0, 1, undefined);
  voter.replicaOutput(1, 1, undefined); // absent: 2 of 3 → withdraw
  assert.deepEqual(sink.decisions[2], { key: 1, value: undefined, reason: 'vote' });
  assert.equal(voter.outputOf(1), undefined);
});

test('continuous-majority: no majority keeps the last output; R = 4 needs 3', () => {
  const { sink, voter } = setup(CM, ['a', 'b', 'c', 'd']);
  voter.replicaOutput(0, 'k', 'X');
  voter.replicaOutput(1, 'k', 'X'); // 2 of 4 is not more than half
  assert.deepEqual(sink.decisions, []);
  voter.replicaOutput(2, 'k', 'X'); // 3 of 4
  assert.deepEqual(sink.decisions, [{ key: 'k', value: 'X', reason: 'vote' }]);
  voter.replicaOutput(0, 'k', 'Y');
  voter.replicaOutput(1, 'k', 'Z'); // X 1, Y 1, Z 1, absent 1: no majority
  assert.equal(sink.decisions.length, 1);
  assert.equal(voter.outputOf('k'), 'X');
});

test('wait-for-consensus: default K = R waits for every replica', () => {
  const { sink, voter } = setup(WFC);
  voter.replicaOutput(0, 7, 'X');
  voter.replicaOutput(1, 7, 'X'); // a majority, but K = 3
  assert.deepEqual(sink.decisions, []);
  voter.replicaOutput(2, 7, 'X');
  assert.deepEqual(sink.decisions, [{ key: 7, value: 'X', reason: 'vote' }]);
});

test('wait-for-consensus: K below a majority is raised to a majority', () => {
  const { sink, voter } = setup({ kind: 'wait-for-consensus', k: 1 });
  voter.replicaOutput(0, 7, 'X'); // K = 1 would output a minority value; clamped to 2 of 3
  assert.deepEqual(sink.decisions, []);
  voter.replicaOutput(2, 7, 'X');
  assert.deepEqual(sink.decisions, [{ key: 7, value: 'X', reason: 'vote' }]);
});

test('wait-for-consensus: a mute replica delays a route by T, then the steady majority is output and the mute replica flagged', () => {
  const { clock, sink, voter } = setup(WFC);
  voter.replicaOutput(0, 7, 'X'); // t = 0
  voter.replicaOutput(1, 7, 'X'); // t = 0; c stays absent (since the key appeared at t = 0)
  clock.advance(T - 1);
  assert.deepEqual(sink.decisions, []);
  clock.advance(1); // t = 100: a, b steady on X (2 of 3), c steady absent
  assert.deepEqual(sink.decisions, [{ key: 7, value: 'X', reason: 'steady-majority' }]);
  assert.deepEqual(sink.events, [
    {
      type: 'fault',
      replica: 2,
      name: 'c',
      key: 7,
      value: undefined,
      majority: 'X',
      since: 0,
      at: 100,
    },
  ]);
  assert.equal(voter.replicas()[2]!.faultyKeys, 1);
  clock.advance(20);
  voter.replicaOutput(2, 7, 'X'); // t = 120: c catches up; its flag clears
  assert.deepEqual(sink.events[1], {
    type: 'fault-cleared',
    replica: 2,
    name: 'c',
    key: 7,
    why: 'changed',
    at: 120,
  });
  assert.equal(voter.disagreementCount, 0);
  assert.equal(voter.replicas()[2]!.faultyKeys, 0);
});

test('removing a replica re-votes: wait-for-3 with two agreeing outputs when the third is removed', () => {
  const { sink, voter } = setup(WFC);
  voter.replicaOutput(0, 7, 'X');
  voter.replicaOutput(1, 7, 'X');
  voter.replicaOutput(2, 7, 'Y');
  assert.deepEqual(sink.decisions, []);
  voter.removeReplica(2); // n = 2, K = min(3, 2) = 2: X is held by both
  assert.deepEqual(sink.decisions, [{ key: 7, value: 'X', reason: 'membership' }]);
  assert.equal(voter.disagreementCount, 0);
});

test('a restarted replica starts empty; bootstrapping replicas do not vote until told', () => {
  const { sink, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'X');
  voter.replicaOutput(2, 1, 'X');
  voter.removeReplica(2);
  const c = voter.addReplica('c2', { voting: false });
  assert.equal(c, 2); // the freed slot
  assert.equal(voter.valueOf(c, 1), undefined);
  // While c2 bootstraps it does not vote: a and b alone decide (majority of 2 is 2).
  voter.replicaOutput(0, 1, 'Y');
  voter.replicaOutput(1, 1, 'Y');
  assert.deepEqual(sink.decisions.at(-1), { key: 1, value: 'Y', reason: 'vote' });
  voter.replicaOutput(c, 1, 'Z'); // not counted
  assert.equal(voter.outputOf(1), 'Y');
  voter.replicaOutput(c, 1, 'Y');
  voter.setVoting(c, true); // all three hold Y: nothing changes
  assert.equal(sink.decisions.length, 2);
  assert.equal(voter.disagreementCount, 0);
});

test('master/slave: the master passes through at once; slaves do not', () => {
  const { sink, voter } = setup(MS);
  assert.equal(voter.masterReplica, 0);
  voter.replicaOutput(1, 5, 'X');
  voter.replicaOutput(2, 5, 'X');
  assert.deepEqual(sink.decisions, []);
  voter.replicaOutput(0, 5, 'X');
  assert.deepEqual(sink.decisions, [{ key: 5, value: 'X', reason: 'master' }]);
});

test('master/slave: a corrupted master is flagged after T and every wrong key is re-advertised from the new master', () => {
  const { clock, sink, voter } = setup(MS);
  // Keys 1..3: the master (a) is wrong on 2 (bad next hop) and 3 (extra announcement).
  for (const [r, vals] of [
    [0, ['X1', 'BAD', 'EXTRA']],
    [1, ['X1', 'X2', undefined]],
    [2, ['X1', 'X2', undefined]],
  ] as const) {
    vals.forEach((v, i) => voter.replicaOutput(r, i + 1, v));
  }
  assert.deepEqual(
    sink.decisions.map((d) => [d.key, d.value]),
    [
      [1, 'X1'],
      [2, 'BAD'],
      [3, 'EXTRA'],
    ],
  );
  sink.clear();
  clock.advance(T); // b and c are the steady majority on keys 2 and 3
  assert.deepEqual(faults(sink.events), [
    ['a', 2],
    ['a', 3],
  ]);
  const change = sink.events.find((e) => e.type === 'master-changed');
  assert.deepEqual(change, {
    type: 'master-changed',
    from: 0,
    to: 1,
    why: 'fault',
    readvertised: 2,
    at: 100,
  });
  assert.deepEqual(sink.decisions, [
    { key: 2, value: 'X2', reason: 'failover' },
    { key: 3, value: undefined, reason: 'failover' },
  ]);
  assert.equal(voter.masterReplica, 1);
});

test('master/slave: a failover never re-advertises a value the voter has flagged on the new master', () => {
  const { clock, sink, voter } = setup(MS);
  for (const r of [0, 1, 2]) for (const k of [1, 2, 3]) voter.replicaOutput(r, k, `X${k}`);
  clock.advance(1000);
  voter.replicaOutput(1, 2, 'BAD-b'); // slave b goes wrong on key 2 …
  voter.replicaOutput(2, 3, 'BAD-c'); // … and slave c on key 3
  clock.advance(T); // both flagged: a and the other slave are the steady majority
  assert.deepEqual(faults(sink.events), [
    ['b', 2],
    ['c', 3],
  ]);
  sink.clear();
  voter.replicaOutput(0, 1, 'BAD-a'); // the master goes wrong on key 1: output at once
  clock.advance(T); // a flagged: b and c have one flagged key each, b (lower slot) promoted
  assert.equal(voter.masterReplica, 1);
  // Key 1 gets b's value. Key 2: b is flagged there — its steady output BAD-b differs from the
  // steady majority X2 (a and c) — so the failover keeps X2 instead of advertising BAD-b,
  // which the voter already knows to be wrong. Key 3: b holds X3, already the output.
  assert.deepEqual(sink.decisions, [
    { key: 1, value: 'BAD-a', reason: 'master' },
    { key: 1, value: 'X1', reason: 'failover' },
  ]);
  assert.equal(voter.outputOf(2), 'X2');
  clock.advance(100_000);
  assert.equal(voter.outputOf(2), 'X2');
  // b is master: its next change of key 2 passes through at once, as any master's.
  voter.replicaOutput(1, 2, 'Y2');
  assert.equal(voter.outputOf(2), 'Y2');
});

test('master/slave: removing the master promotes the lowest slave and re-advertises its differences', () => {
  const { sink, voter } = setup(MS);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'Y'); // b differs (still converging, say)
  voter.replicaOutput(2, 1, 'Y');
  voter.removeReplica(0);
  assert.equal(voter.masterReplica, 1);
  assert.deepEqual(sink.decisions.at(-1), { key: 1, value: 'Y', reason: 'failover' });
});

test('master/slave: the lowest slot is the designated master; a replica voting before it holds the role provisionally', () => {
  const clock = new ManualClock(0);
  const sink = new RecordingSink();
  const voter = new Voter({ strategy: MS, clock, steadyMs: T, sink });
  const [a, b, c] = ['a', 'b', 'c'].map((n) => voter.addReplica(n, { voting: false }));
  voter.setVoting(b!, true); // b votes first: master until a lower slot (a) votes
  assert.equal(voter.masterReplica, b);
  voter.replicaOutput(b!, 1, 'X'); // passed through at once (b is master)
  voter.replicaOutput(a!, 1, 'X'); // a is caught up, not voting yet
  voter.setVoting(c!, true); // a higher slot changes nothing
  assert.equal(voter.masterReplica, b);
  voter.setVoting(a!, true); // the designated master takes over; same value: nothing re-sent
  assert.equal(voter.masterReplica, a);
  const changes = sink.events.filter((e) => e.type === 'master-changed');
  assert.deepEqual(
    changes.map((e) => (e.type === 'master-changed' ? [e.from, e.to, e.why, e.readvertised] : [])),
    [
      [undefined, b, 'manual', 0],
      [b, a, 'manual', 0],
    ],
  );
  assert.deepEqual(sink.decisions, [{ key: 1, value: 'X', reason: 'master' }]);
});

test('master/slave: after a failover for a fault, a returning lower slot does not take the role back', () => {
  const { clock, voter, ids } = setup(MS);
  voter.replicaOutput(0, 1, 'BAD');
  voter.replicaOutput(1, 1, 'X');
  voter.replicaOutput(2, 1, 'X');
  clock.advance(T); // a flagged: b promoted
  assert.equal(voter.masterReplica, 1);
  voter.setVoting(ids[0]!, false); // a restarted …
  voter.replicaOutput(0, 1, 'X');
  voter.setVoting(ids[0]!, true); // … and back: b stays master
  assert.equal(voter.masterReplica, 1);
});

test('master/slave without auto failover only reports; setMaster re-advertises', () => {
  const { clock, sink, voter } = setup({ kind: 'master-slave', autoFailover: false });
  voter.replicaOutput(0, 1, 'BAD');
  voter.replicaOutput(1, 1, 'X');
  voter.replicaOutput(2, 1, 'X');
  clock.advance(T);
  assert.deepEqual(faults(sink.events), [['a', 1]]);
  assert.equal(voter.masterReplica, 0);
  assert.equal(voter.outputOf(1), 'BAD');
  voter.setMaster(2);
  assert.equal(voter.outputOf(1), 'X');
  assert.deepEqual(sink.decisions.at(-1), { key: 1, value: 'X', reason: 'failover' });
});

test('steady state: disagreement shorter than T is not a fault', () => {
  const { clock, sink, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X'); // t = 0
  clock.advance(50);
  voter.replicaOutput(1, 1, 'X'); // t = 50
  clock.advance(40);
  voter.replicaOutput(2, 1, 'X'); // t = 90: unanimous before anyone disagreed for T
  clock.advance(1000);
  assert.deepEqual(sink.events, []);
});

test('steady state: only steady outputs vote; a replica is flagged once the majority is steady', () => {
  const { clock, sink, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X'); // a: X since 0
  voter.replicaOutput(2, 1, 'Y'); // c: Y since 0
  clock.advance(60);
  voter.replicaOutput(1, 1, 'X'); // b: X since 60 → X has a majority, output X
  clock.advance(40); // t = 100: a steady X, c steady Y, b not steady: no steady majority
  assert.deepEqual(sink.events, []);
  clock.advance(60); // t = 160: a and b steady on X → c flagged, since 0
  assert.deepEqual(sink.events, [
    { type: 'fault', replica: 2, name: 'c', key: 1, value: 'Y', majority: 'X', since: 0, at: 160 },
  ]);
});

test('disagreements: which keys, since when, and every replica’s value', () => {
  const { clock, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'X');
  voter.replicaOutput(2, 1, 'X');
  clock.advance(10);
  voter.replicaOutput(0, 2, 'Z'); // key 2 disagrees from t = 10
  clock.advance(5);
  voter.replicaOutput(2, 1, 'W'); // key 1 disagrees from t = 15
  const d = voter.disagreements();
  assert.deepEqual(
    d.map((x) => [x.key, x.since, x.output]),
    [
      [2, 10, undefined],
      [1, 15, 'X'],
    ],
  );
  assert.deepEqual(
    d[1]!.replicas.map((r) => [r.name, r.value, r.since, r.steady]),
    [
      ['a', 'X', 0, false],
      ['b', 'X', 0, false],
      ['c', 'W', 15, false],
    ],
  );
  assert.equal(voter.disagreements(1).length, 1);
});

test('keys nobody outputs are forgotten', () => {
  const { voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'X');
  assert.equal(voter.size, 1);
  voter.replicaOutput(0, 1, undefined);
  voter.replicaOutput(1, 1, undefined);
  assert.equal(voter.size, 0);
  assert.deepEqual([...voter.outputs()], []);
});

test('R = 5 masks two faulty replicas under continuous-majority', () => {
  const { clock, sink, voter } = setup(CM, ['a', 'b', 'c', 'd', 'e']);
  voter.replicaOutput(0, 1, 'BAD1');
  voter.replicaOutput(1, 1, 'BAD2');
  voter.replicaOutput(2, 1, 'X');
  voter.replicaOutput(3, 1, 'X');
  assert.deepEqual(sink.decisions, []); // X has 2 of 5
  voter.replicaOutput(4, 1, 'X');
  assert.deepEqual(sink.decisions, [{ key: 1, value: 'X', reason: 'vote' }]);
  clock.advance(T);
  assert.deepEqual(faults(sink.events), [
    ['a', 1],
    ['b', 1],
  ]);
});

test('the only timer is on the injected clock, one at a time', () => {
  const { clock, voter } = setup(CM);
  for (let k = 0; k < 100; k++) voter.replicaOutput(0, k, 'X');
  assert.equal(clock.pending, 1);
  clock.advance(T);
  assert.equal(clock.pending, 0);
  voter.dispose();
});

test('bad arguments are refused', () => {
  const { voter } = setup(CM);
  assert.throws(() => voter.replicaOutput(5, 1, 'X'), /no replica in slot 5/);
  assert.throws(() => voter.setMaster(0), /master\/slave/);
  const clock = new ManualClock();
  const sink = new RecordingSink();
  assert.throws(
    () => new Voter({ strategy: CM, clock, sink, steadyMs: T, maxReplicas: 40 }),
    /maxReplicas/,
  );
  const two = new Voter({ strategy: CM, clock, sink, steadyMs: T, maxReplicas: 2 });
  two.addReplica('a');
  two.addReplica('b');
  assert.throws(() => two.addReplica('c'), /slots are in use/);
});

test('a bootstrapping (non-voting) replica is never flagged; a voting one with empty output is', () => {
  const { clock, sink, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'X');
  voter.replicaOutput(2, 1, 'X');
  const d = voter.addReplica('d', { voting: false });
  clock.advance(10 * T);
  assert.deepEqual(sink.events, []); // d is absent on key 1 but does not vote
  voter.setVoting(d, true); // t = 1000: d votes, still absent (since it joined at t = 0)
  // R = 4: X has 3 of 4, still the majority; d disagrees and is steady at once.
  assert.equal(voter.disagreementCount, 1);
  clock.advance(T);
  assert.deepEqual(faults(sink.events), [['d', 1]]);
});

test('a replica whose session just started is steady only T later: two slow ones make no majority against the fast master', () => {
  // Master/slave, replicas a (master), b, c voting since the neighbour came up (t = 0).
  const { clock, sink, voter } = setup(MS);
  clock.advance(10);
  voter.restartSteadiness(0); // t = 10: a's session up
  voter.restartSteadiness(1); // b's too
  voter.replicaOutput(0, 1, 'X'); // a, the master, sends X at once (output)
  assert.deepEqual(sink.decisions, [{ key: 1, value: 'X', reason: 'master' }]);
  clock.advance(40);
  voter.restartSteadiness(2); // t = 50: c's session up, late
  clock.advance(70);
  // t = 120: b absent since 10 (steady), c absent since 50 (not steady): no steady
  // majority, so a is not flagged. Without the restart c would count from t = 0.
  const failovers = () =>
    sink.events.filter((e) => e.type === 'master-changed' && e.why === 'fault');
  assert.deepEqual(faults(sink.events), []);
  voter.replicaOutput(1, 1, 'X'); // b catches up
  voter.replicaOutput(2, 1, 'X'); // c too: unanimous
  clock.advance(10 * T);
  assert.deepEqual(faults(sink.events), []);
  assert.deepEqual(failovers(), [], 'the master keeps its role');
  assert.equal(voter.outputOf(1), 'X');
});

test('a silent replica (its session not up yet) is counted but never steady nor flagged, until restartSteadiness', () => {
  const clock = new ManualClock(0);
  const sink = new RecordingSink();
  const voter = new Voter({ strategy: CM, clock, steadyMs: T, sink });
  for (const n of ['a', 'b', 'c']) voter.addReplica(n, { silent: true });
  voter.restartSteadiness(0);
  voter.restartSteadiness(1);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'X'); // X: 2 of 3, output
  assert.equal(voter.outputOf(1), 'X');
  clock.advance(10 * T); // c still connecting: absent, but silent
  assert.deepEqual(faults(sink.events), []);
  const c = voter.disagreements()[0]?.replicas.find((r) => r.name === 'c');
  assert.equal(c?.steady, false, 'status shows the silent replica as not steady');
  voter.restartSteadiness(2); // t = 1000: c's session up; it never sends X
  clock.advance(T - 1);
  assert.deepEqual(faults(sink.events), []);
  clock.advance(1); // t = 1100
  assert.deepEqual(faults(sink.events), [['c', 1]]);
});

test('restartSteadiness: a real fault is still found, T after the restart', () => {
  const { clock, sink, voter } = setup(CM);
  voter.replicaOutput(0, 1, 'X');
  voter.replicaOutput(1, 1, 'X'); // c absent
  clock.advance(50);
  voter.restartSteadiness(2); // t = 50: c's session up, and it never sends X
  clock.advance(T); // t = 150: c steady absent since 50, a and b steady X
  assert.deepEqual(faults(sink.events), [['c', 1]]);
});

test('master/slave: failoverAfter = 2 tolerates one flagged key', () => {
  const { clock, sink, voter } = setup({ kind: 'master-slave', failoverAfter: 2 });
  for (const r of [0, 1, 2]) voter.replicaOutput(r, 1, r === 0 ? 'BAD' : 'X');
  clock.advance(T);
  assert.deepEqual(faults(sink.events), [['a', 1]]);
  assert.equal(voter.masterReplica, 0);
  for (const r of [0, 1, 2]) voter.replicaOutput(r, 2, r === 0 ? 'BAD' : 'Y');
  clock.advance(T); // second flagged key: fail over to b
  assert.equal(voter.masterReplica, 1);
  assert.equal(voter.outputOf(1), 'X');
  assert.equal(voter.outputOf(2), 'Y');
});

test('differently encoded UPDATEs from three replicas vote as one route (canonical values)', () => {
  const { sink, voter } = setup(WFC);
  const attrs = (order: number[], ext: number): PathAttribute[] => {
    const all: PathAttribute[] = [
      { kind: 'origin', code: 1, flags: 0x40 | ext, origin: 0 },
      {
        kind: 'as-path',
        code: 2,
        flags: 0x40 | ext,
        segments: [{ type: 2, asns: [64500, 64501] }],
        asnWidth: 4,
      },
      { kind: 'next-hop', code: 3, flags: 0x40, nextHop: Uint8Array.of(198, 18, 0, 1) },
      { kind: 'communities', code: 8, flags: 0xc0 | ext, communities: [2, 1] },
    ];
    return order.map((i) => all[i]!);
  };
  const prefix = { afi: 1 as const, addr: Uint8Array.of(198, 18, 1, 0), len: 24 };
  const encodings = [attrs([0, 1, 2, 3], 0), attrs([3, 2, 1, 0], 0x10), attrs([1, 0, 3, 2], 0)];
  encodings.forEach((a, r) => {
    const msg = encodeMessage(
      { type: 2, withdrawn: [], attributes: a, nlri: [{ prefix }] },
      AS4_CONTEXT,
    );
    const c = canonicalUpdate(msg, AS4_CONTEXT);
    assert.ok(c.ok);
    for (const route of c.routes) voter.replicaOutput(r, route.key, route.value);
  });
  assert.equal(sink.decisions.length, 1); // K = 3 of 3 agreed
  assert.equal(sink.decisions[0]!.key, routeKey(1, 1, prefix));
  assert.equal(voter.disagreementCount, 0);
});
