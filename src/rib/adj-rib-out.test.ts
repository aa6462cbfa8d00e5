// Adj-RIB-Out: only differences are sent, grouped by attribute set, in slices.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdjRibOut, OUT_CHANGE, type OutUpdate } from './adj-rib-out.js';
import { AttrPool } from './attr-set.js';
import { attrs, peer, slotsForKeys } from './testing.js';

function setup() {
  const pool = new AttrPool();
  // Slot k stands for prefix key k, so the keys flushed can be compared with the slots staged.
  const out = new AdjRibOut(peer({ n: 2 }), pool, slotsForKeys(1000));
  const A = pool.intern(attrs({ path: [1], med: 1 }));
  const B = pool.intern(attrs({ path: [1], med: 2 }));
  return { pool, out, A, B };
}

const summary = (u: OutUpdate[]) =>
  u.map((x) =>
    x.kind === 'withdraw' ? ['W', [...x.keys].sort()] : ['A', x.attrs.med, [...x.keys].sort()],
  );

test('flush sends announcements grouped by set, then only what changed', () => {
  const { pool, out, A, B } = setup();
  out.stage(1, 0, A);
  out.stage(2, 0, A);
  out.stage(3, 0, B);
  out.stage(4, 0, undefined); // never advertised: nothing to withdraw
  assert.deepEqual(summary([...out.flush()]), [
    ['A', 1, [1, 2]],
    ['A', 2, [3]],
  ]);
  assert.equal(out.size, 3);
  assert.equal(out.pendingCount, 0);
  // A -> B -> A before a flush: nothing to send. 2 -> B: one announcement. 3 withdrawn.
  out.stage(1, 0, B);
  out.stage(1, 0, A);
  out.stage(2, 0, B);
  out.stage(3, 0, undefined);
  assert.deepEqual(summary([...out.flush()]), [
    ['W', [3]],
    ['A', 2, [2]],
  ]);
  assert.equal(out.get(2), B);
  assert.equal(out.get(3), undefined);
  assert.equal([...out.flush()].length, 0);
  pool.release(A);
  pool.release(B);
  assert.equal(pool.size, 2, 'advertised sets are held');
  out.clear();
  assert.equal(pool.size, 0);
});

test('flush works in slices; dump re-sends everything advertised', () => {
  const { out, A, B } = setup();
  for (let k = 0; k < 1000; k++) out.stage(k, 0, k % 2 ? A : B);
  const updates = [...out.flush(100)];
  assert.equal(updates.length, 20);
  assert.equal(
    updates.reduce((n, u) => n + u.keys.length, 0),
    1000,
  );
  assert.equal(out.size, 1000);
  const dump = [...out.dump()];
  assert.equal(dump.length, 2);
  assert.equal(
    dump.reduce((n, u) => n + u.keys.length, 0),
    1000,
  );
});

test('apply: immediate diffs, ADD-PATH ids', () => {
  const { out, A, B } = setup();
  assert.equal(out.apply(7, 1, A), OUT_CHANGE.ANNOUNCE);
  assert.equal(out.apply(7, 1, A), OUT_CHANGE.NONE);
  assert.equal(out.apply(7, 2, A), OUT_CHANGE.ANNOUNCE);
  assert.equal(out.apply(7, 1, B), OUT_CHANGE.ANNOUNCE);
  assert.equal(out.apply(7, 1, undefined), OUT_CHANGE.WITHDRAW);
  assert.equal(out.apply(7, 1, undefined), OUT_CHANGE.NONE);
  assert.equal(out.size, 1);
  const [u] = [...out.dump()];
  assert.deepEqual(u && u.kind === 'announce' ? [u.keys, u.pathIds] : [], [[7], [2]]);
});
