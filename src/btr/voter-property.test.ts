// Property tests of the voter (issue 5, "Must show" 7; BTR paper §3.2, §4.2):
// (a) the final output does not depend on the order in which replica outputs arrive;
// (b) wait-for-consensus and continuous-majority never output a value that no majority of
//     the voting replicas held at that moment;
// (c) master/slave with a corrupted master: within T the fault is reported naming the
//     master, and afterwards every key is output with the correct value.
// Expected results come from an independent model in this file (counting values), not
// from the voter's own state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../lib/clock.js';
import {
  RecordingSink,
  Voter,
  type Strategy,
  type VoteKey,
  type VoteValue,
  type VoterSink,
} from './voter.js';

const T = 100;
const VALUES = ['a', 'b', 'c', undefined] as const;
const value = fc.constantFrom(...VALUES);
const strategies: fc.Arbitrary<Strategy> = fc.oneof(
  fc.constant<Strategy>({ kind: 'continuous-majority' }),
  fc.constant<Strategy>({ kind: 'wait-for-consensus' }),
  fc.integer({ min: 1, max: 5 }).map((k): Strategy => ({ kind: 'wait-for-consensus', k })),
);

/** Majority value of a list (more than half hold it), or NONE. */
const NONE = Symbol('none');
function majorityOf(vs: readonly (VoteValue | undefined)[]): VoteValue | undefined | typeof NONE {
  for (const v of vs) {
    if (vs.filter((x) => x === v).length * 2 > vs.length) return v;
  }
  return NONE;
}

/**
 * Per replica, per key, a short sequence of outputs (the last one is final), and an
 * interleaving: a permutation of "replica r emits its next output for key k" steps.
 */
const scenario = fc
  .record({
    r: fc.constantFrom(3, 5),
    nKeys: fc.integer({ min: 1, max: 5 }),
  })
  .chain(({ r, nKeys }) =>
    fc
      .array(
        fc.array(fc.array(value, { minLength: 1, maxLength: 3 }), {
          minLength: nKeys,
          maxLength: nKeys,
        }),
        {
          minLength: r,
          maxLength: r,
        },
      )
      .map((seqs) => ({ r, nKeys, seqs })),
  );

type Scenario = { r: number; nKeys: number; seqs: (VoteValue | undefined)[][][] };

/** The list of (replica, key) steps, each group as many times as its sequence is long. */
function steps(s: Scenario): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < s.r; r++) {
    for (let k = 0; k < s.nKeys; k++)
      for (let i = 0; i < s.seqs[r]![k]!.length; i++) out.push([r, k]);
  }
  return out;
}

/** Run an interleaving; `gaps[i]` ms pass before step i. Returns the voter after T more. */
function run(
  s: Scenario,
  strategy: Strategy,
  order: readonly [number, number][],
  gaps: readonly number[],
  sink: VoterSink = new RecordingSink(),
) {
  const clock = new ManualClock(0);
  const voter = new Voter({ strategy, clock, steadyMs: T, sink });
  for (let r = 0; r < s.r; r++) voter.addReplica(`r${r}`);
  const next = s.seqs.map((ks) => ks.map(() => 0));
  order.forEach(([r, k], i) => {
    clock.advance(gaps[i] ?? 0);
    const v = s.seqs[r]![k]![next[r]![k]!++];
    voter.replicaOutput(r, k, v);
  });
  clock.advance(T + 1);
  return voter;
}

test('(a) continuous-majority and wait-for-consensus: the final output of every key with a final majority is that majority, whatever the arrival order and timing', () => {
  fc.assert(
    fc.property(
      scenario.chain((s) => {
        const st = steps(s);
        return fc.record({
          s: fc.constant(s),
          strategy: strategies,
          o1: fc.shuffledSubarray(st, { minLength: st.length, maxLength: st.length }),
          o2: fc.shuffledSubarray(st, { minLength: st.length, maxLength: st.length }),
          g1: fc.array(fc.integer({ min: 0, max: 2 * T }), {
            minLength: st.length,
            maxLength: st.length,
          }),
          g2: fc.array(fc.constant(0), { minLength: st.length, maxLength: st.length }),
        });
      }),
      ({ s, strategy, o1, o2, g1, g2 }) => {
        const v1 = run(s, strategy, o1, g1);
        const v2 = run(s, strategy, o2, g2);
        for (let k = 0; k < s.nKeys; k++) {
          const m = majorityOf(s.seqs.map((ks) => ks[k]!.at(-1)));
          if (m === NONE) continue;
          assert.equal(v1.outputOf(k), m, `key ${k}, order 1`);
          assert.equal(v2.outputOf(k), m, `key ${k}, order 2`);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('(a) master/slave: outputs arriving at one instant give the same final outputs and master in any order', () => {
  fc.assert(
    fc.property(
      scenario.chain((s) => {
        const st = steps(s);
        return fc.record({
          s: fc.constant(s),
          o1: fc.shuffledSubarray(st, { minLength: st.length, maxLength: st.length }),
          o2: fc.shuffledSubarray(st, { minLength: st.length, maxLength: st.length }),
        });
      }),
      ({ s, o1, o2 }) => {
        const ms: Strategy = { kind: 'master-slave' };
        const zero = o1.map(() => 0);
        const v1 = run(s, ms, o1, zero);
        const v2 = run(s, ms, o2, zero);
        assert.equal(v1.masterReplica, v2.masterReplica);
        const master = v1.masterReplica!;
        for (let k = 0; k < s.nKeys; k++) {
          // The output is the (final) master's final value — except where that value differs
          // from the steady majority (the master is flagged there): a failover does not
          // re-advertise a value the voter knows to be wrong, so the majority stays output.
          const finals = s.seqs.map((ks) => ks[k]!.at(-1));
          const m = majorityOf(finals);
          const own = finals[master];
          assert.equal(v1.outputOf(k), m !== NONE && own !== m ? m : own);
          assert.equal(v2.outputOf(k), v1.outputOf(k));
        }
      },
    ),
    { numRuns: 300 },
  );
});

// (b): random operations (outputs, time passing, a replica restarted) against a model.
type Op =
  | { op: 'out'; r: number; k: number; v: VoteValue | undefined }
  | { op: 'wait'; ms: number }
  | { op: 'restart'; r: number };

const ops = (r: number): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          op: fc.constant('out' as const),
          r: fc.integer({ min: 0, max: r - 1 }),
          k: fc.integer({ min: 0, max: 3 }),
          v: value,
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          op: fc.constant('wait' as const),
          ms: fc.integer({ min: 0, max: 2 * T }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('restart' as const),
          r: fc.integer({ min: 0, max: r - 1 }),
        }),
      },
    ),
    { maxLength: 80 },
  );

test('(b) continuous-majority and wait-for-consensus never output a value no majority holds', () => {
  fc.assert(
    fc.property(
      fc
        .constantFrom(3, 4, 5)
        .chain((r) => fc.record({ r: fc.constant(r), strategy: strategies, ops: ops(r) })),
      ({ r, strategy, ops }) => {
        // model[i]: replica i's outputs per key, or null while it is gone (not voting).
        const model: ((VoteValue | undefined)[] | null)[] = Array.from({ length: r }, () => [
          undefined,
          undefined,
          undefined,
          undefined,
        ]);
        const sink: VoterSink = {
          decision(key: VoteKey, v: VoteValue | undefined) {
            const live = model.filter((m) => m !== null);
            const held = live.filter((m) => m[key as number] === v).length;
            assert.ok(
              held * 2 > live.length,
              `output ${String(v)} for key ${key} held by ${held} of ${live.length}`,
            );
          },
        };
        const clock = new ManualClock(0);
        const voter = new Voter({ strategy, clock, steadyMs: T, sink });
        for (let i = 0; i < r; i++) voter.addReplica(`r${i}`);
        for (const o of ops) {
          if (o.op === 'out') {
            model[o.r]![o.k] = o.v;
            voter.replicaOutput(o.r, o.k, o.v);
          } else if (o.op === 'wait') {
            clock.advance(o.ms);
          } else {
            // kill -9 and restart: gone (the others vote alone), then back in its slot
            // with empty output.
            model[o.r] = null;
            voter.removeReplica(o.r);
            model[o.r] = [undefined, undefined, undefined, undefined];
            assert.equal(voter.addReplica(`r${o.r}'`), o.r);
          }
        }
        clock.advance(2 * T);
      },
    ),
    { numRuns: 500 },
  );
});

test('(c) master/slave: a corrupted master is reported within T and every wrong key corrected', () => {
  const corruption = fc.constantFrom('next-hop', 'extra', 'missing');
  fc.assert(
    fc.property(
      fc.record({
        r: fc.constantFrom(3, 5),
        nKeys: fc.integer({ min: 1, max: 30 }),
        bad: fc.array(fc.tuple(fc.integer({ min: 0, max: 29 }), corruption), {
          minLength: 1,
          maxLength: 10,
        }),
        seed: fc.integer(),
      }),
      ({ r, nKeys, bad, seed }) => {
        // Correct value of key k: present for even k, absent for odd k.
        const correct = (k: number): VoteValue | undefined =>
          k % 2 === 0 ? `route-${k}` : undefined;
        const master: (VoteValue | undefined)[] = [];
        for (let k = 0; k < nKeys; k++) master.push(correct(k));
        const wrong = new Set<number>();
        for (const [k0, how] of bad) {
          const k = k0 % nKeys;
          const v =
            how === 'next-hop'
              ? `route-${k}-bad-next-hop`
              : how === 'extra'
                ? `extra-${k}`
                : undefined;
          if (v !== correct(k)) {
            master[k] = v;
            wrong.add(k);
          }
        }
        fc.pre(wrong.size > 0);
        const clock = new ManualClock(0);
        const sink = new RecordingSink();
        const voter = new Voter({ strategy: { kind: 'master-slave' }, clock, steadyMs: T, sink });
        for (let i = 0; i < r; i++) voter.addReplica(`r${i}`);
        assert.equal(voter.masterReplica, 0);
        // Outputs in a seeded pseudo-random order, spread over T/2.
        const all: [number, number][] = [];
        for (let i = 0; i < r; i++) for (let k = 0; k < nKeys; k++) all.push([i, k]);
        let x = seed >>> 0;
        const rnd = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
        for (let i = all.length - 1; i > 0; i--) {
          const j = rnd(i + 1);
          [all[i], all[j]] = [all[j]!, all[i]!];
        }
        // At most 150 outputs 0.2 ms apart: all within T/2, so no slave is ever steady on
        // a value it is about to change (which would rightly flag it too).
        for (const [i, k] of all) {
          clock.advance(rnd(3) / 10);
          voter.replicaOutput(i, k, i === 0 ? master[k] : correct(k));
        }
        const last = clock.now();
        clock.advance(T + 1);
        const f = sink.events.filter((e) => e.type === 'fault');
        assert.ok(f.length > 0, 'a fault is reported');
        for (const e of f) {
          assert.equal(e.type === 'fault' && e.name, 'r0', 'only the master is named');
          assert.ok(e.type === 'fault' && wrong.has(e.key as number));
          assert.ok(e.at <= Math.ceil(last + T), 'within T of the last output');
        }
        assert.notEqual(voter.masterReplica, 0);
        for (let k = 0; k < nKeys; k++) assert.equal(voter.outputOf(k), correct(k), `key ${k}`);
      },
    ),
    { numRuns: 300 },
  );
});
