// PathTable: (prefix, path ID) entries, single-path storage promoted to and demoted from
// the multi-path form.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathTable } from './path-table.js';

test('single and multiple paths per prefix', () => {
  const t = new PathTable<{ v: number }>();
  const a = { v: 1 };
  const b = { v: 2 };
  const c = { v: 3 };
  assert.equal(t.set(10, 0, a), undefined);
  assert.equal(t.get(10, 0), a);
  assert.equal(t.get(10, 1), undefined);
  assert.equal(t.set(10, 7, b), undefined);
  assert.equal(t.size, 2);
  assert.equal(t.prefixCount, 1);
  assert.equal(t.set(10, 0, c), a);
  assert.deepEqual(
    [...t.paths(10)].sort((x, y) => x[0] - y[0]),
    [
      [0, c],
      [7, b],
    ],
  );
  assert.equal(t.delete(10, 7), b);
  assert.equal(t.get(10, 0), c);
  assert.equal(t.delete(10, 7), undefined);
  assert.equal(t.delete(10, 0), c);
  assert.equal(t.size, 0);
  assert.equal(t.prefixCount, 0);
  t.set('x', 5, a);
  assert.equal(t.get('x', 0), undefined);
  assert.deepEqual([...t.entries()], [['x', 5, a]]);
  t.clear();
  assert.equal(t.size, 0);
});
