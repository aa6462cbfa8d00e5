// LocRib with the real selector: after any sequence of announcements and withdrawals, the
// best route of every prefix equals brute-force selection over a model of its candidates,
// and `changed` reports exactly the changes of best.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrefix } from '../lib/ip.js';
import { LocRib } from '../rib/loc-rib.js';
import { prefixKey } from '../rib/prefix-key.js';
import { makeRoute, type Route } from '../rib/route.js';
import { routeSpecArb, testPool, attrs } from '../rib/testing.js';
import { resolveOptions, type DecisionOptions } from './compare.js';
import { bestSelector, selectBestRoute } from './select.js';

const PREFIXES = ['198.18.0.0/24', '198.18.1.0/24', '2001:db8::/48'].map((s) => parsePrefix(s)!);

const commandArb = fc.record({
  prefix: fc.integer({ min: 0, max: PREFIXES.length - 1 }),
  withdraw: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
  route: routeSpecArb,
});

const optsArb: fc.Arbitrary<DecisionOptions> = fc.record({
  deterministicMed: fc.boolean(),
  alwaysCompareMed: fc.boolean(),
  medMissingAsWorst: fc.boolean(),
});

const same = (a: Route | undefined, b: Route | undefined): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.peer === b.peer &&
    a.pathId === b.pathId &&
    a.attrs === b.attrs &&
    a.igpCost === b.igpCost &&
    a.unreachable === b.unreachable);

test('property: LocRib best equals selectBest over the candidates after every update', () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 60 }), optsArb, (commands, opts) => {
      const o = resolveOptions(opts);
      const rib = new LocRib(bestSelector(opts));
      const model = PREFIXES.map(() => new Map<string, Route>());
      for (const c of commands) {
        const prefix = PREFIXES[c.prefix]!;
        const m = model[c.prefix]!;
        const id = `${c.route.peer.id}/${c.route.pathId}`;
        const before = selectBestRoute([...m.values()], o);
        let change;
        if (c.withdraw) {
          m.delete(id);
          change = rib.update(prefix, c.route.peer, c.route.pathId, undefined);
        } else {
          const set = testPool.intern(attrs(c.route.spec));
          const meta = { igpCost: c.route.igpCost, unreachable: c.route.unreachable };
          m.set(id, makeRoute(c.route.peer, c.route.pathId, set, meta));
          change = rib.update(prefix, c.route.peer, c.route.pathId, set, meta);
        }
        const expected = selectBestRoute([...m.values()], o);
        assert.ok(same(change.best, expected));
        assert.equal(change.changed, !same(before, expected));
        if (change.changed) assert.ok(same(change.previous, before));
        for (let i = 0; i < PREFIXES.length; i++) {
          const key = prefixKey(PREFIXES[i]!);
          assert.ok(same(rib.best(key), selectBestRoute([...model[i]!.values()], o)));
          assert.equal(rib.candidates(key).length, model[i]!.size);
        }
      }
      assert.equal(
        rib.routeCount,
        model.reduce((n, m) => n + m.size, 0),
      );
      assert.equal(rib.size, model.filter((m) => m.size > 0).length);
    }),
    { numRuns: 400 },
  );
});
