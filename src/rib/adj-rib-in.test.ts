// Adj-RIB-In: pre/post-policy views, reference counts, graceful-restart stale marking and
// sweeping (RFC 4724 §4.2), and one family's (RFC 7313 §4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdjRibIn } from './adj-rib-in.js';
import { AttrPool } from './attr-set.js';
import { attrs, peer, slotsForKeys } from './testing.js';

function setup(keepPrePolicy = false) {
  const pool = new AttrPool();
  const rib = new AdjRibIn(peer({ n: 1 }), pool, slotsForKeys(200), { keepPrePolicy });
  /** Intern and hand over: the caller's own reference is dropped after storing. */
  const announce = (key: number, pathId: number, med: number, filtered = false) => {
    const pre = pool.intern(attrs({ path: [1], med }));
    const post = pool.intern(attrs({ path: [1], med, localPref: 150 }));
    const prev = rib.announce(key, pathId, pre, filtered ? undefined : post);
    pool.release(pre);
    pool.release(post);
    return prev;
  };
  return { pool, rib, announce };
}

test('announce, replace and withdraw, with pre- and post-policy views', () => {
  const { pool, rib, announce } = setup(true);
  assert.equal(announce(100, 0, 1), undefined);
  const first = rib.get(100)!;
  assert.equal(first.med, 1);
  assert.equal(first.localPref, 150);
  assert.equal(rib.getPrePolicy(100)?.localPref, undefined);
  assert.equal(announce(100, 0, 2), first);
  assert.equal(rib.get(100)?.med, 2);
  assert.equal(announce(100, 3, 3), undefined); // ADD-PATH: another path
  assert.equal(rib.size, 2);
  // Filtered by policy: no post-policy route, the pre-policy one is kept.
  announce(200, 0, 4, true);
  assert.equal(rib.get(200), undefined);
  assert.equal(rib.getPrePolicy(200)?.med, 4);
  assert.equal(rib.withdraw(100, 0)?.med, 2);
  assert.equal(rib.withdraw(100, 0), undefined);
  assert.equal(rib.withdraw(200, 0), undefined);
  assert.equal(rib.withdraw(100, 3)?.med, 3);
  assert.equal(rib.size, 0);
  assert.equal(pool.size, 0, 'every set released');
});

test('graceful restart: mark stale, refresh some, sweep the rest', () => {
  const { pool, rib, announce } = setup(true);
  for (let k = 0; k < 10; k++) announce(k, 0, k);
  rib.markAllStale();
  assert.equal(rib.size, 10);
  assert.equal(rib.staleCount, 10);
  assert.ok(rib.isStale(3));
  assert.equal(rib.get(3)?.med, 3, 'stale routes stay usable');
  // The restarted peer sends 0..4 again (4 with a new MED) and withdraws 9.
  for (let k = 0; k < 4; k++) assert.equal(announce(k, 0, k)?.med, k);
  assert.equal(announce(4, 0, 40)?.med, 4);
  assert.equal(rib.withdraw(9, 0)?.med, 9);
  assert.equal(rib.isStale(3), false);
  assert.equal(rib.staleCount, 4);
  assert.deepEqual(
    [...rib.entries()]
      .filter((e) => e[3])
      .map((e) => e[0])
      .sort(),
    [5, 6, 7, 8],
  );
  const swept = [...rib.sweepStale()].map((r) => [r.slot, r.attrs.med]);
  assert.deepEqual(swept.sort(), [
    [5, 5],
    [6, 6],
    [7, 7],
    [8, 8],
  ]);
  assert.equal(rib.staleCount, 0);
  assert.equal(rib.size, 5);
  assert.equal(rib.get(4)?.med, 40);
  // Only the fresh routes' sets remain (pre and post per route).
  assert.equal(pool.size, 10);
  assert.equal([...rib.drain()].length, 5);
  assert.equal(pool.size, 0);
});

test('sweeping is resumable, and a second restart before the sweep merges', () => {
  const { pool, rib, announce } = setup();
  for (let k = 0; k < 100; k++) announce(k, 0, k % 7);
  rib.markAllStale();
  for (let k = 0; k < 30; k++) announce(k, 0, k % 7);
  rib.markAllStale(); // restarted again: all 100 stale
  assert.equal(rib.staleCount, 100);
  announce(50, 0, 1);
  const it = rib.sweepStale();
  const firstTen = [];
  for (let i = 0; i < 10; i++) firstTen.push(it.next().value);
  assert.equal(rib.staleCount, 89);
  announce(99, 0, 1); // arrives between slices
  let rest = 0;
  for (const r of it) {
    assert.notEqual(r.slot, 50);
    rest++;
  }
  assert.ok(rest === 88 || rest === 89);
  assert.equal(rib.staleCount, 0);
  assert.equal(rib.get(50)?.med, 1);
  assert.equal(rib.get(99)?.med, 1);
  assert.equal(rib.size, 2);
  assert.equal(pool.stats().refs, 2);
});

test('enhanced route refresh: one family marked stale and swept, the other untouched', () => {
  // Slots 0-9 stand for one family, 10-19 for another; 15 was rejected by import policy
  // (pre-policy only), 12 has a second path.
  const { pool, rib, announce } = setup(true);
  const all = (): void => {
    for (let k = 0; k < 20; k++) announce(k, 0, k, k === 15);
    announce(12, 7, 70);
  };
  all();
  const second = (slot: number): boolean => slot >= 10;
  rib.markAllStale(); // a graceful restart before: both families stale, all sent again
  all();
  assert.equal(rib.staleCount, 0);
  rib.markStale(second);
  assert.equal(rib.staleCount, 10, 'slots 10-19 minus 15 (rejected) plus path 7 of 12');
  assert.equal(rib.isStale(3), false);
  assert.ok(rib.isStale(12, 7));
  // The peer re-sends 10, 11 and 12 path 0 (11 with a new MED), not the rest.
  for (const k of [10, 12]) announce(k, 0, k);
  announce(11, 0, 111);
  assert.equal(rib.staleCount, 7);
  const swept = [...rib.sweepStale(second)].map((r) => `${r.slot}/${r.pathId}`);
  assert.deepEqual(swept.sort(), ['12/7', '13/0', '14/0', '16/0', '17/0', '18/0', '19/0']);
  assert.equal(rib.staleCount, 0);
  assert.equal(rib.size, 13);
  assert.equal(rib.get(11)?.med, 111);
  assert.equal(rib.getPrePolicy(15), undefined, 'the rejected route was stale and swept');
  // Nothing of the first family was touched, and every reference is accounted for.
  for (let k = 0; k < 10; k++) assert.equal(rib.get(k)?.med, k);
  assert.equal([...rib.drain()].length, 13);
  assert.equal(pool.size, 0);
});
