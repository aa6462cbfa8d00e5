// Best-path selection: independent of candidate order (every permutation), equal to the
// RFC 4271 §9.1.2.2 elimination procedure written out literally below, and explained.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Route } from '../rib/route.js';
import { compareAddresses } from '../rib/route.js';
import { peer, permutations, route, routeSetArb } from '../rib/testing.js';
import {
  compare,
  effectiveMed,
  resolveOptions,
  type DecisionOptions,
  type ResolvedOptions,
} from './compare.js';
import { selectBest, selectBestRoute } from './select.js';

const modesArb: fc.Arbitrary<DecisionOptions> = fc.record({
  deterministicMed: fc.boolean(),
  alwaysCompareMed: fc.boolean(),
  medMissingAsWorst: fc.boolean(),
  preferOlder: fc.boolean(),
});

test('property: the best is the same for every permutation of the candidates', () => {
  fc.assert(
    fc.property(routeSetArb(6), modesArb, (routes, opts) => {
      const o = resolveOptions(opts);
      const expected = selectBestRoute(routes, o);
      const why = selectBest(routes, opts).reason;
      for (const p of permutations(routes)) {
        assert.equal(selectBestRoute(p, o), expected);
        const s = selectBest(p, opts);
        assert.equal(s.best, expected);
        assert.equal(s.reason, why);
      }
    }),
    { numRuns: 150 },
  );
});

/**
 * RFC 4271 §9.1.2.1 and §9.1.2.2 read literally, as successive eliminations over the
 * whole candidate set, plus RFC 4456 §9 and our final tie-breaks.
 */
function rfcElimination(routes: readonly Route[], o: ResolvedOptions): Route | undefined {
  let s = routes.filter((r) => !r.unreachable);
  const keepLowest = (key: (r: Route) => number): void => {
    const min = Math.min(...s.map(key));
    s = s.filter((r) => key(r) === min);
  };
  keepLowest((r) => -(r.attrs.localPref ?? o.defaultLocalPref));
  if (!o.ignoreAsPathLength) keepLowest((r) => r.attrs.asPathLength);
  keepLowest((r) => r.attrs.origin);
  // (c) within each neighbouring AS, drop routes whose MED is not the group's lowest.
  const survivors = s;
  s = survivors.filter((r) => {
    const peers = survivors.filter((x) =>
      o.alwaysCompareMed
        ? true
        : r.attrs.neighbourAs >= 0 && x.attrs.neighbourAs === r.attrs.neighbourAs,
    );
    return peers.every((x) => effectiveMed(r, o) <= effectiveMed(x, o));
  });
  if (s.some((r) => !r.peer.ibgp)) s = s.filter((r) => !r.peer.ibgp);
  keepLowest((r) => r.igpCost);
  if (o.preferOlder && s.every((r) => !r.peer.ibgp)) keepLowest((r) => r.since);
  keepLowest((r) => r.attrs.originatorId ?? r.peer.routerId);
  keepLowest((r) => r.attrs.clusterListLength);
  const lowestAddr = s.reduce<Route | undefined>(
    (m, r) => (m === undefined || compareAddresses(r.peer.address, m.peer.address) < 0 ? r : m),
    undefined,
  );
  if (lowestAddr)
    s = s.filter((r) => compareAddresses(r.peer.address, lowestAddr.peer.address) === 0);
  keepLowest((r) => r.peer.id);
  keepLowest((r) => r.pathId);
  assert.ok(s.length <= 1);
  return s[0];
}

test('property: deterministic MED selects what the RFC elimination procedure selects', () => {
  fc.assert(
    fc.property(routeSetArb(8), modesArb, (routes, opts) => {
      const o = resolveOptions({ ...opts, deterministicMed: true });
      assert.equal(selectBestRoute(routes, o), rfcElimination(routes, o));
    }),
    { numRuns: 3000 },
  );
});

test('property: with always-compare-med both modes agree and the best beats every route', () => {
  fc.assert(
    fc.property(routeSetArb(8), modesArb, (routes, opts) => {
      const det = resolveOptions({ ...opts, alwaysCompareMed: true, deterministicMed: true });
      const fold = resolveOptions({ ...opts, alwaysCompareMed: true, deterministicMed: false });
      const best = selectBestRoute(routes, det);
      assert.equal(selectBestRoute(routes, fold), best);
      for (const r of routes) {
        if (best && r !== best && !r.unreachable) assert.equal(compare(best, r, det).result, -1);
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: the explanation names a route the best beats directly', () => {
  fc.assert(
    fc.property(routeSetArb(6), modesArb, (routes, opts) => {
      const s = selectBest(routes, opts);
      const eligible = routes.filter((r) => !r.unreachable);
      assert.equal(s.best === undefined, eligible.length === 0);
      if (eligible.length === 1) assert.match(s.reason, /^only eligible candidate/);
      if (eligible.length > 1) assert.match(s.reason, / preferred over /);
    }),
    { numRuns: 500 },
  );
});

test('a MED cycle: deterministic MED and the identity-order fold, both order-independent', () => {
  // A beats B on MED (same neighbour AS 1); B beats C on IGP cost; C beats A on IGP cost.
  const p1 = peer({ n: 11, ibgp: true });
  const p2 = peer({ n: 12, ibgp: true });
  const p3 = peer({ n: 13, ibgp: true });
  const a = route(p1, { path: [1, 5], med: 10 }, { igpCost: 5 });
  const b = route(p2, { path: [1, 6], med: 20 }, { igpCost: 1 });
  const c = route(p3, { path: [2, 7] }, { igpCost: 3 });
  assert.equal(compare(a, b).result, -1);
  assert.equal(compare(b, c).result, -1);
  assert.equal(compare(c, a).result, -1);
  // RFC: (c) removes B (MED 20 > 10 within AS 1); then IGP cost picks C over A.
  for (const p of permutations([a, b, c])) {
    assert.equal(selectBestRoute(p, resolveOptions()), c);
    // Identity order is A, B, C: A beats B, then C beats A.
    assert.equal(selectBestRoute(p, resolveOptions({ deterministicMed: false })), c);
  }
  const s = selectBest([b, c, a]);
  assert.equal(s.best, c);
  assert.match(s.reason, /198\.18\.0\.13 .* preferred over 198\.18\.0\.11 .*lower IGP cost/);
  // Where the two modes differ: identity order B', C', A' (addresses 14 < 15 < 16)
  // folds B' vs C' -> B' (IGP), then A' beats B' on MED: A'. Deterministic MED: C'.
  const q1 = peer({ n: 14, ibgp: true });
  const q2 = peer({ n: 15, ibgp: true });
  const q3 = peer({ n: 16, ibgp: true });
  const b2 = route(q1, { path: [1, 6], med: 20 }, { igpCost: 1 });
  const c2 = route(q2, { path: [2, 7] }, { igpCost: 3 });
  const a2 = route(q3, { path: [1, 5], med: 10 }, { igpCost: 5 });
  for (const p of permutations([a2, b2, c2])) {
    assert.equal(selectBestRoute(p, resolveOptions()), c2);
    assert.equal(selectBestRoute(p, resolveOptions({ deterministicMed: false })), a2);
  }
});

test('unreachable next hops are not eligible', () => {
  const p = peer({ n: 21 });
  const q = peer({ n: 22 });
  const good = route(q, { path: [1, 2, 3] });
  const bad = route(p, { path: [1], localPref: 500 }, { unreachable: true });
  assert.equal(selectBest([bad, good]).best, good);
  assert.match(selectBest([bad, good]).reason, /1 candidate\(s\) ignored: next hop unreachable/);
  const none = selectBest([bad]);
  assert.equal(none.best, undefined);
  assert.match(none.reason, /^no eligible candidate/);
  assert.equal(selectBestRoute([bad], resolveOptions()), undefined);
});
