// PathTable / PathMap: (prefix slot, path ID) entries, single-path storage promoted to and
// demoted from the multi-path form; PrefixIndex: slots held by tables through references,
// freed and reused when no table holds them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathMap, PathTable } from './path-table.js';
import { PrefixIndex } from './prefix-index.js';

test('single and multiple paths per prefix; one slot reference per occupied slot', () => {
  const index = new PrefixIndex();
  const s = index.slot(12345);
  const t = new PathTable<{ v: number }>(index);
  const a = { v: 1 };
  const b = { v: 2 };
  const c = { v: 3 };
  assert.equal(t.set(s, 0, a), undefined);
  assert.equal(index.refCount(s), 1);
  assert.equal(t.get(s, 0), a);
  assert.equal(t.get(s, 1), undefined);
  assert.equal(t.set(s, 7, b), undefined);
  assert.equal(t.size, 2);
  assert.equal(index.refCount(s), 1, 'one reference per table, not per path');
  assert.equal(t.set(s, 0, c), a);
  assert.deepEqual(
    [...t.paths(s)].sort((x, y) => x[0] - y[0]),
    [
      [0, c],
      [7, b],
    ],
  );
  assert.equal(t.delete(s, 0), c);
  assert.equal(index.refCount(s), 1, 'path 7 still holds the slot');
  assert.equal(t.delete(s, 7), b);
  assert.equal(t.delete(s, 7), undefined);
  assert.equal(t.size, 0);
  assert.equal(index.find(12345), -1, 'no table holds it: the slot is freed');
  const s2 = index.slot(999);
  assert.equal(s2, s, 'a freed slot is reused');
  t.set(s2, 5, a);
  assert.equal(t.get(s2, 0), undefined);
  assert.deepEqual([...t.entries()], [[s2, 5, a]]);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(index.size, 0);
});

test('two tables share a slot; it lives until both let go', () => {
  const index = new PrefixIndex();
  const t1 = new PathTable<object>(index);
  const t2 = new PathTable<object>(index);
  const x = {};
  const s = index.slot('k');
  t1.set(s, 0, x);
  t2.set(s, 3, x);
  assert.equal(index.refCount(s), 2);
  t1.delete(s, 0);
  assert.equal(index.find('k'), s);
  assert.equal(index.keyOf(s), 'k');
  t2.clear();
  assert.equal(index.find('k'), -1);
  const u = index.slot('never stored');
  index.collect(u);
  assert.equal(index.find('never stored'), -1, 'collect frees a slot nothing took');
  index.collect(u);
  assert.equal(index.slot('a'), u);
  assert.equal(index.slot('b'), u + 1, 'collecting twice does not free twice');
});

test('PathMap: sparse changes by slot and path ID', () => {
  const m = new PathMap<string>();
  m.set(1_000_000, 0, 'a');
  m.set(1_000_000, 4, 'b');
  m.set(3, 0, 'c');
  assert.equal(m.size, 3);
  assert.equal(m.set(3, 0, 'd'), 'c');
  assert.equal(m.get(1_000_000, 4), 'b');
  assert.equal(m.delete(1_000_000, 4), 'b');
  assert.equal(m.delete(1_000_000, 4), undefined);
  assert.deepEqual(
    [...m.entries()].sort((x, y) => x[0] - y[0]),
    [
      [3, 0, 'd'],
      [1_000_000, 0, 'a'],
    ],
  );
});
