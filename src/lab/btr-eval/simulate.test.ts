// The simulation of the BTR evaluation on small synthetic traces: properties that follow from
// the strategies' rules (docs/btr.md), not values taken from our own output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUG_KINDS } from '../../btr/fault-inject.js';
import { estimate, rateFromEstimate } from './estimator.js';
import type { DelayModel } from './replica-model.js';
import { simulate, type Episode, type StrategyName, type VoteConfig } from './simulate.js';
import { perKeyChanges, syntheticTrace, type Trace } from './trace.js';

const DELAY: DelayModel = { medianMs: 1, p99Ms: 10 };
const S = 1000;

/** 40 prefixes over a 60 s period; a few change every few seconds, the others never. */
function churnTrace(): Trace {
  const records: { time: number; changes: [number, number][] }[] = [];
  for (let t = 500, i = 0; t < 60_000; t += 700, i++) {
    const k = i % 8;
    records.push({ time: t, changes: [[k, (i % 3) + (k % 2 === 0 ? 0 : 3)]] });
  }
  const initial = Array.from({ length: 40 }, (_, k) => {
    // The state each key ends a period in, so that every copy is the same.
    let v = k < 8 ? -1 : 6 + (k % 5);
    for (const r of records) for (const [kk, vv] of r.changes) if (kk === k) v = vv;
    return v;
  });
  return syntheticTrace({ periodMs: 60_000, keys: 40, values: 12, initial, records });
}

const vote = (strategy: StrategyName, replicas = 3, standby = 0, steadyMs = 1000): VoteConfig => ({
  strategy,
  replicas,
  standby,
  steadyMs,
});

const STRATEGIES: StrategyName[] = ['continuous-majority', 'wait-for-consensus', 'master-slave'];

/** Changes of the replayed trace up to `endMs` that give a prefix another value. */
function realChanges(trace: Trace, endMs: number): number {
  const cur = Array.from(trace.initial);
  let n = 0;
  for (let c = 0; c * trace.periodMs < endMs; c++) {
    for (let i = 0; i < trace.changes.time.length; i++) {
      if (c * trace.periodMs + trace.changes.time[i]! >= endMs) break;
      const k = trace.changes.key[i]!;
      if (trace.changes.value[i] !== cur[k]) n++;
      cur[k] = trace.changes.value[i]!;
    }
  }
  return n;
}

test('without bugs every strategy outputs the correct table and is never faulty', () => {
  const trace = churnTrace();
  const endMs = 10 * 60_000 + 59_900;
  for (const strategy of STRATEGIES) {
    for (const replicas of [3, 4, 5]) {
      const r = simulate({
        trace,
        vote: vote(strategy, replicas),
        delay: DELAY,
        seed: 7,
        startMs: 0,
        endMs, // after the last change of the tenth copy, all caught up
        measure: { waiting: true, overhead: true },
      });
      assert.equal(r.fault.anyMs, 0, `${strategy} R=${replicas}`);
      assert.equal(r.fault.keyMs, 0);
      assert.equal(
        r.finalMismatches,
        0,
        `${strategy} R=${replicas}: the output is the correct table`,
      );
      assert.equal(r.flags.buggy, 0);
      // Every correct change is output once, or superseded before a majority held it.
      assert.ok(r.waiting);
      assert.equal(r.waiting.voter.n + r.waiting.superseded, r.correctChanges);
      // The standard router outputs every change; a master passes each change on once; a
      // majority about once (it can flip back and forth on a prefix whose values repeat).
      assert.equal(r.waiting.std.n, r.correctChanges);
      // (A record that repeats a prefix's current value, as at this trace's seams, changes
      // nothing: count the real changes independently.)
      if (strategy === 'master-slave') assert.equal(r.decisions, realChanges(trace, endMs));
      else assert.ok(r.decisions <= r.correctChanges * 1.01, `${r.decisions} decisions`);
    }
  }
});

test('one bug episode on one replica never reaches the output of a majority vote', () => {
  const trace = churnTrace();
  const perKey = perKeyChanges(trace);
  fc.assert(
    fc.property(
      fc.constantFrom<StrategyName>('continuous-majority', 'wait-for-consensus'),
      fc.integer({ min: 3, max: 5 }),
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom(...BUG_KINDS),
      fc.integer({ min: 0, max: 39 }),
      fc.integer({ min: 2_000, max: 100_000 }),
      fc.integer({ min: 1, max: 200_000 }),
      fc.integer({ min: 1, max: 254 }),
      (strategy, replicas, seatRaw, kind, key, start, duration, nextHop) => {
        const seat = seatRaw % replicas;
        const k = kind === 'add' ? 40 + key : key;
        const ep: Episode = {
          seat,
          kind,
          key: k,
          start,
          end: start + duration,
          nextHop,
          addValue: 1,
        };
        const r = simulate({
          trace,
          perKey,
          vote: vote(strategy, replicas),
          delay: DELAY,
          seed: start,
          startMs: 0,
          endMs: start + duration + 5_000,
          keys: [k],
          episodes: [ep],
        });
        assert.equal(r.fault.episodes, 1);
        assert.equal(r.fault.anyMs, 0);
      },
    ),
    { numRuns: 150 },
  );
});

test('master/slave: a buggy master is output until it is flagged, about T; a buggy slave never', () => {
  const trace = churnTrace();
  const perKey = perKeyChanges(trace);
  const key = 20; // never changes: the master's wrong value stays steady
  for (const T of [100, 1000, 3000]) {
    for (const kind of ['suppress', 'next-hop'] as const) {
      const master = simulate({
        trace,
        perKey,
        vote: vote('master-slave', 3, 0, T),
        delay: DELAY,
        seed: 1,
        startMs: 0,
        endMs: 120_000,
        keys: [key],
        episodes: [{ seat: 0, kind, key, start: 10_000, end: 70_000, nextHop: 9, addValue: 0 }],
      });
      // From the master's bug to the failover: T, rounded up to the 1 ms check granularity,
      // plus how long the slaves' steady majority takes (the slaves hold their value since
      // long before): nothing more.
      assert.ok(master.fault.anyMs >= T, `${kind} T=${T}: ${master.fault.anyMs}`);
      assert.ok(master.fault.anyMs <= T + 1, `${kind} T=${T}: ${master.fault.anyMs}`);
      assert.equal(master.failovers.fault, 1);
      assert.equal(master.detected, 1);
      const slave = simulate({
        trace,
        perKey,
        vote: vote('master-slave', 3, 0, T),
        delay: DELAY,
        seed: 1,
        startMs: 0,
        endMs: 120_000,
        keys: [key],
        episodes: [{ seat: 2, kind, key, start: 10_000, end: 70_000, nextHop: 9, addValue: 0 }],
      });
      assert.equal(slave.fault.anyMs, 0);
      assert.equal(slave.failovers.fault, 0);
    }
  }
});

test('two replicas suppressing one prefix at once outvote the third for their overlap', () => {
  const trace = churnTrace();
  const perKey = perKeyChanges(trace);
  const key = 20;
  const eps: Episode[] = [
    { seat: 0, kind: 'suppress', key, start: 10_000, end: 50_000, nextHop: 1, addValue: 0 },
    { seat: 1, kind: 'suppress', key, start: 30_000, end: 90_000, nextHop: 1, addValue: 0 },
  ];
  const common = { trace, perKey, delay: DELAY, seed: 3, startMs: 0, endMs: 120_000, keys: [key] };
  const cm = simulate({ ...common, vote: vote('continuous-majority'), episodes: eps });
  assert.equal(cm.fault.anyMs, 20_000); // exactly the overlap: the values are set at once
  // wait-for-consensus outputs the steady majority only T after the second suppression, and
  // takes T to come back when it ends (no K = 3 consensus until the third agrees again).
  const wfc = simulate({ ...common, vote: vote('wait-for-consensus'), episodes: eps });
  assert.ok(Math.abs(wfc.fault.anyMs - 20_000) <= 2, `${wfc.fault.anyMs}`);
  // With four voters, two wrong replicas are no majority.
  const cm4 = simulate({ ...common, vote: vote('continuous-majority', 4), episodes: eps });
  assert.equal(cm4.fault.anyMs, 0);
  // A standby replaces the first one flagged; the pair no longer overlaps long.
  const sb = simulate({ ...common, vote: vote('continuous-majority', 3, 1), episodes: eps });
  assert.ok(sb.replacements >= 1);
  assert.ok(sb.fault.anyMs < cm.fault.anyMs / 10, `${sb.fault.anyMs}`);
});

test('a standby takes the seat of a flagged replica and the router keeps the correct table', () => {
  const trace = churnTrace();
  const r = simulate({
    trace,
    vote: vote('continuous-majority', 3, 1),
    delay: DELAY,
    seed: 11,
    startMs: 0,
    endMs: 5 * 60_000 + 59_900,
    bootstrapMs: 1500,
    episodes: [
      { seat: 1, kind: 'next-hop', key: 30, start: 20_000, end: 200_000, nextHop: 4, addValue: 0 },
    ],
  });
  assert.equal(r.replacements, 1);
  assert.equal(r.fault.anyMs, 0);
  assert.equal(r.finalMismatches, 0); // the bug would still be active: its replica was replaced
});

test('false negatives do not depend on the strategy (flags use steady outputs only)', () => {
  const trace = churnTrace();
  const counts = STRATEGIES.map(
    (strategy) =>
      simulate({
        trace,
        vote: vote(strategy, 3, 0, 2),
        delay: DELAY,
        seed: 5,
        startMs: 0,
        endMs: 20 * 60_000,
      }).flags.healthy,
  );
  assert.ok(counts[0]! > 0, 'T = 2 ms flags healthy but slow replicas');
  assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
});

test('the estimator agrees with a direct run where bugs are frequent', () => {
  const trace = churnTrace();
  const perKey = perKeyChanges(trace);
  for (const strategy of ['master-slave', 'continuous-majority'] as StrategyName[]) {
    const v = vote(strategy);
    const bugs = {
      durationMs: 60 * S,
      interArrivalMs: 1200 * S,
      targetPool: 4,
      kinds: ['suppress'] as const,
    };
    const direct = simulate({
      trace,
      perKey,
      vote: v,
      delay: DELAY,
      seed: 99,
      startMs: 0,
      endMs: 400 * 3_600_000 * (strategy === 'master-slave' ? 0.25 : 1),
      bugs,
    });
    const e = estimate({
      trace,
      perKey,
      vote: v,
      delay: DELAY,
      seed: 99,
      durationMs: bugs.durationMs,
      targetPool: 4,
      kinds: bugs.kinds,
      samples: [300, 300, 30],
    });
    const est = rateFromEstimate(e, bugs.interArrivalMs);
    const d = direct.fault.anyMs / direct.virtualMs;
    assert.ok(
      direct.fault.intervals > 30,
      `${strategy}: ${direct.fault.intervals} faulty intervals`,
    );
    // Both are noisy: a factor of 1.5 either way (about three standard errors of each).
    assert.ok(
      d / est.rate < 1.5 && est.rate / d < 1.5,
      `${strategy}: direct ${d}, estimate ${est.rate}`,
    );
    if (strategy === 'continuous-majority') assert.equal(e.orders[0]!.mean, 0);
  }
});
