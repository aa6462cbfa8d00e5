// LocRib mechanics with a simple selector (lowest peer id); the property test against the
// real decision process is in decision/loc-rib-select.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrefix } from '../lib/ip.js';
import { LocRib } from './loc-rib.js';
import { prefixKey } from './prefix-key.js';
import type { Route } from './route.js';
import { attrs, peer, testPool } from './testing.js';

const lowestPeerId = (rs: readonly Route[]): Route | undefined =>
  rs.filter((r) => !r.unreachable).sort((a, b) => a.peer.id - b.peer.id)[0];

test('update reports changes of best; removal and re-selection', () => {
  const rib = new LocRib(lowestPeerId);
  const p = parsePrefix('198.18.4.0/24')!;
  const k = prefixKey(p);
  const [p1, p2, p3] = [peer(), peer(), peer()];
  const s = testPool.intern(attrs({ path: [1] }));
  const t = testPool.intern(attrs({ path: [2] }));
  let c = rib.update(p, p2!, 0, s);
  assert.ok(c.changed);
  assert.equal(c.best?.peer, p2);
  c = rib.update(p, p3!, 0, s);
  assert.equal(c.changed, false);
  assert.equal(c.best?.peer, p2);
  c = rib.update(p, p1!, 0, s, { unreachable: true });
  assert.equal(c.changed, false, 'an unreachable route is not eligible');
  c = rib.update(p, p1!, 0, s);
  assert.ok(c.changed);
  assert.equal(c.previous?.peer, p2);
  assert.equal(rib.candidates(k)[0]?.peer, p1, 'best first');
  c = rib.update(p, p1!, 0, s);
  assert.equal(c.changed, false, 'same route again');
  c = rib.update(p, p1!, 0, t);
  assert.ok(c.changed, 'the best route changed attributes');
  assert.equal(c.best?.attrs, t);
  c = rib.update(p, p1!, 0, undefined);
  assert.equal(c.best?.peer, p2);
  c = rib.update(p, p1!, 0, undefined);
  assert.equal(c.changed, false);
  assert.equal(rib.routeCount, 2);
  const changes = [...rib.removePeer(p2!)];
  assert.equal(changes.length, 1);
  assert.equal(changes[0]![1].best?.peer, p3);
  rib.update(p, p3!, 0, undefined);
  assert.equal(rib.size, 0);
  assert.equal(rib.best(k), undefined);
});

test('setSelector re-selects every prefix and yields the changes', () => {
  const rib = new LocRib(lowestPeerId);
  const [p1, p2] = [peer(), peer()];
  const s = testPool.intern(attrs({ path: [1] }));
  for (let i = 0; i < 50; i++) {
    rib.updateKey(i, p1!, 0, s);
    rib.updateKey(i, p2!, 0, s);
  }
  assert.equal(
    [...rib.entries()].every(([, b]) => b?.peer === p1),
    true,
  );
  const highest = (rs: readonly Route[]) => [...rs].sort((a, b) => b.peer.id - a.peer.id)[0];
  const changes = [...rib.setSelector(highest)];
  assert.equal(changes.length, 50);
  assert.equal(rib.best(7)?.peer, p2);
});
