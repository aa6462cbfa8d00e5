// RFC 4271 §9.1.2.2 step by step: each scenario makes one step decide, with the later
// steps favouring the loser, so the step must decide alone. Expected winners come from the
// RFC text (cited per test), not from running the code. Then properties: antisymmetry,
// reflexivity, and transitivity when MED is always compared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AS_SEG, ORIGIN } from '../wire/index.js';
import { peer, route, routeArb } from '../rib/testing.js';
import {
  compare,
  compareFast,
  DecisionStep,
  resolveOptions,
  stepName,
  type DecisionOptions,
} from './compare.js';

// eBGP peers 1, 2 and iBGP peers 3, 4; a higher n means a higher address and router ID,
// so the later tie-breaks favour the lower-numbered peer.
const E1 = peer({ n: 1 });
const E2 = peer({ n: 2 });
const I3 = peer({ n: 3, ibgp: true });
const I4 = peer({ n: 4, ibgp: true });

function decides(
  a: ReturnType<typeof route>,
  b: ReturnType<typeof route>,
  step: DecisionStep,
  opts?: DecisionOptions,
): string {
  const c = compare(a, b, opts);
  assert.equal(stepName(c.step), stepName(step), c.reason);
  assert.equal(c.result, -1, `expected the first route to win: ${c.reason}`);
  const r = compare(b, a, opts);
  assert.equal(r.result, 1);
  assert.equal(r.step, step);
  assert.equal(r.reason, c.reason);
  return c.reason;
}

test('step 0: a route whose next hop is unreachable loses (§9.1.2.1)', () => {
  const a = route(E2, { localPref: 100, path: [1, 2, 3] });
  const b = route(E1, { localPref: 200, path: [1] }, { unreachable: true });
  decides(a, b, DecisionStep.NEXT_HOP);
});

test('step 1: highest degree of preference (LOCAL_PREF) wins (§9.1.1, §9.1.2)', () => {
  const a = route(E2, { localPref: 200, path: [1, 2, 3], origin: ORIGIN.INCOMPLETE, med: 50 });
  const b = route(E1, { path: [1], origin: ORIGIN.IGP, med: 0 });
  assert.equal(decides(a, b, DecisionStep.LOCAL_PREF), 'higher LOCAL_PREF (200 > 100 by default)');
  // A missing LOCAL_PREF counts as the default (100): no decision at step 1.
  const c = route(E2, { localPref: 100, path: [1] });
  const d = route(E1, { path: [1] });
  assert.notEqual(compare(c, d).step, DecisionStep.LOCAL_PREF);
  assert.equal(compare(c, d, { defaultLocalPref: 50 }).step, DecisionStep.LOCAL_PREF);
});

test('step 2: shortest AS_PATH wins; AS_SET counts 1, confederation segments 0 (§9.1.2.2 a)', () => {
  const a = route(E2, { path: [1, 2], origin: ORIGIN.INCOMPLETE, med: 50 });
  const b = route(E1, { path: [1, 2, 3], origin: ORIGIN.IGP, med: 0 });
  assert.equal(decides(a, b, DecisionStep.AS_PATH), 'shorter AS_PATH (2 < 3)');
  const set = route(E2, {
    path: [
      { type: AS_SEG.AS_SEQUENCE, asns: [1] },
      { type: AS_SEG.AS_SET, asns: [2, 3, 4, 5] },
    ],
    origin: ORIGIN.INCOMPLETE,
  });
  decides(set, b, DecisionStep.AS_PATH);
  const confed = route(E2, {
    path: [
      { type: AS_SEG.AS_CONFED_SEQUENCE, asns: [7, 8, 9] },
      { type: AS_SEG.AS_SEQUENCE, asns: [1, 2] },
    ],
    origin: ORIGIN.INCOMPLETE,
  });
  decides(confed, b, DecisionStep.AS_PATH);
  // With the step switched off, ORIGIN decides (b's IGP beats a's INCOMPLETE).
  assert.equal(compare(a, b, { ignoreAsPathLength: true }).step, DecisionStep.ORIGIN);
  assert.equal(compare(a, b, { ignoreAsPathLength: true }).result, 1);
});

test('step 3: lowest ORIGIN wins, IGP < EGP < INCOMPLETE (§9.1.2.2 b)', () => {
  const a = route(E2, { path: [1, 2], origin: ORIGIN.EGP, med: 50 });
  const b = route(E1, { path: [1, 3], origin: ORIGIN.INCOMPLETE, med: 0 });
  assert.equal(decides(a, b, DecisionStep.ORIGIN), 'lower ORIGIN (EGP < INCOMPLETE)');
  const c = route(E2, { path: [1, 2], origin: ORIGIN.IGP, med: 50 });
  decides(c, a, DecisionStep.ORIGIN);
});

test('step 4: lowest MED wins among routes from the same neighbour AS (§9.1.2.2 c)', () => {
  const a = route(I4, { path: [1, 2], med: 10 }, { igpCost: 9 });
  const b = route(E1, { path: [1, 3], med: 20 });
  assert.equal(decides(a, b, DecisionStep.MED), 'lower MED (10 < 20) from the same neighbour AS 1');
  // Different neighbour ASes: MED is not compared; eBGP over iBGP decides for b.
  const c = route(I4, { path: [2, 3], med: 10 });
  const cb = compare(c, b);
  assert.equal(cb.step, DecisionStep.EBGP);
  assert.equal(cb.result, 1);
  // ... unless always-compare-med.
  assert.match(decides(c, b, DecisionStep.MED, { alwaysCompareMed: true }), /always-compare-med/);
});

test('step 4: a missing MED is the lowest value (0), or the worst with med-missing-as-worst', () => {
  const none = route(I4, { path: [1, 2] });
  const five = route(E1, { path: [1, 3], med: 5 });
  decides(none, five, DecisionStep.MED);
  decides(five, none, DecisionStep.MED, { medMissingAsWorst: true });
  // Even a MED of 2^32-1 beats a missing MED taken as worst.
  const max = route(I4, { path: [1, 3], med: 0xffffffff });
  decides(max, route(E1, { path: [1, 2] }), DecisionStep.MED, { medMissingAsWorst: true });
});

test('step 4: no neighbour AS when the path starts with an AS_SET; empty paths compare', () => {
  const setFirst = (med: number, p: ReturnType<typeof peer>) =>
    route(p, { path: [{ type: AS_SEG.AS_SET, asns: [1, 2] }], med });
  assert.notEqual(compare(setFirst(10, I4), setFirst(20, E1)).step, DecisionStep.MED);
  // Routes with an empty AS_PATH come from inside our AS: same "neighbour", MED compares.
  decides(route(I4, { med: 1 }), route(I3, { med: 2 }), DecisionStep.MED);
  // Leading confederation segments are skipped when finding the neighbour AS.
  const confed = route(I4, {
    path: [
      { type: AS_SEG.AS_CONFED_SEQUENCE, asns: [7] },
      { type: AS_SEG.AS_SEQUENCE, asns: [1, 9] },
    ],
    med: 1,
  });
  decides(confed, route(E1, { path: [1, 8], med: 2 }), DecisionStep.MED);
});

test('step 5: eBGP-learned wins over iBGP-learned (§9.1.2.2 d)', () => {
  const a = route(E2, { path: [1, 2] }, { igpCost: 10 });
  const b = route(I3, { path: [1, 2] }, { igpCost: 0 });
  assert.equal(decides(a, b, DecisionStep.EBGP), 'learned over eBGP, the other over iBGP');
});

test('step 6: lowest interior cost to the next hop wins (§9.1.2.2 e)', () => {
  const a = route(I4, { path: [1, 2] }, { igpCost: 1 });
  const b = route(I3, { path: [2, 3] }, { igpCost: 5 });
  assert.equal(decides(a, b, DecisionStep.IGP_COST), 'lower IGP cost to the next hop (1 < 5)');
});

test('step 7: oldest eBGP route, only when enabled (RFC 5004)', () => {
  const a = route(E2, { path: [1, 2] }, { since: 1 });
  const b = route(E1, { path: [1, 2] }, { since: 2 });
  decides(a, b, DecisionStep.OLDER, { preferOlder: true });
  // Off by default: router ID decides for b.
  assert.equal(compare(a, b).step, DecisionStep.ROUTER_ID);
  assert.equal(compare(a, b).result, 1);
  // Not between iBGP routes.
  const c = route(I4, { path: [1, 2] }, { since: 1 });
  const d = route(I3, { path: [1, 2] }, { since: 2 });
  assert.equal(compare(c, d, { preferOlder: true }).step, DecisionStep.ROUTER_ID);
});

test('step 8: lowest BGP Identifier, ORIGINATOR_ID in its place (§9.1.2.2 f, RFC 4456 §9)', () => {
  const a = route(I3, { path: [1], clusterIds: [1, 2] });
  const b = route(I4, { path: [1] });
  assert.equal(
    decides(a, b, DecisionStep.ROUTER_ID),
    'lower router ID (router ID 10.0.0.3 < router ID 10.0.0.4)',
  );
  // Reflected routes: the ORIGINATOR_ID stands for the router ID.
  const c = route(I4, { path: [1], originatorId: 0x01010101, clusterIds: [1] });
  const d = route(I3, { path: [1], originatorId: 0x02020202, clusterIds: [1] });
  assert.match(decides(c, d, DecisionStep.ROUTER_ID), /ORIGINATOR_ID 1\.1\.1\.1/);
  decides(c, b, DecisionStep.ROUTER_ID);
});

test('step 9: shortest CLUSTER_LIST (RFC 4456 §9)', () => {
  const a = route(I4, { path: [1], originatorId: 0x01010101, clusterIds: [1] });
  const b = route(I3, { path: [1], originatorId: 0x01010101, clusterIds: [1, 2] });
  assert.equal(decides(a, b, DecisionStep.CLUSTER_LIST), 'shorter CLUSTER_LIST (1 < 2)');
});

test('step 10: lowest peer address (§9.1.2.2 g)', () => {
  const p5 = peer({ n: 5, routerId: 0x0a0000ff });
  const p6 = peer({ n: 6, routerId: 0x0a0000ff });
  const a = route(p5, { path: [1] }, { pathId: 9 });
  const b = route(p6, { path: [1] }, { pathId: 1 });
  assert.equal(
    decides(a, b, DecisionStep.PEER_ADDRESS),
    'lower peer address (198.18.0.5 < 198.18.0.6)',
  );
  // Same address (two sessions to one neighbour): the internal id keeps the order total.
  const p5b = peer({ n: 5, routerId: 0x0a0000ff });
  decides(route(p5, { path: [1] }), route(p5b, { path: [1] }), DecisionStep.PEER_ADDRESS);
});

test('step 11: lowest ADD-PATH path ID; the same route compares equal', () => {
  const a = route(E1, { path: [1] }, { pathId: 1 });
  const b = route(E1, { path: [1] }, { pathId: 2 });
  decides(a, b, DecisionStep.PATH_ID);
  const same = compare(a, route(E1, { path: [1] }, { pathId: 1 }));
  assert.equal(same.result, 0);
  assert.equal(same.step, DecisionStep.EQUAL);
});

const optsArb: fc.Arbitrary<DecisionOptions> = fc.record({
  alwaysCompareMed: fc.boolean(),
  medMissingAsWorst: fc.boolean(),
  ignoreAsPathLength: fc.boolean(),
  preferOlder: fc.boolean(),
});

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

test('property: compare is antisymmetric and 0 only for the same route', () => {
  fc.assert(
    fc.property(routeArb, routeArb, optsArb, (a, b, opts) => {
      const o = resolveOptions(opts);
      const ab = compareFast(a, b, o);
      const ba = compareFast(b, a, o);
      assert.equal(sign(ab) + sign(ba), 0);
      assert.equal(Math.abs(ab), Math.abs(ba));
      assert.equal(compareFast(a, a, o), 0);
      // 0 only for the same (peer, path ID): two distinct candidates never tie.
      if (ab === 0) assert.ok(a.peer === b.peer && a.pathId === b.pathId);
      const c = compare(a, b, opts);
      assert.equal(c.result, sign(ab));
      assert.ok(c.reason.length > 0);
    }),
    { numRuns: 2000 },
  );
});

test('property: with always-compare-med the comparison is transitive', () => {
  fc.assert(
    fc.property(routeArb, routeArb, routeArb, optsArb, (a, b, c, opts) => {
      const o = resolveOptions({ ...opts, alwaysCompareMed: true });
      if (compareFast(a, b, o) < 0 && compareFast(b, c, o) < 0) {
        assert.ok(compareFast(a, c, o) < 0);
      }
    }),
    { numRuns: 3000 },
  );
});
