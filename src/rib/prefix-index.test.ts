// NumberSlots (the IPv4 side of the prefix index) against a Map, under random inserts,
// updates and deletions: small tables and clustered keys force long probe runs, wrap-around
// at the end of the table and backward-shift deletions inside runs; keys of 2^31 and more
// (IPv4 /25–/32) take the other path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NumberSlots } from './prefix-index.js';

const op = fc.record({
  del: fc.boolean(),
  key: fc.oneof(
    fc.integer({ min: 0, max: 64 }), // clustered: many share a home position
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    fc.integer({ min: 2 ** 31, max: 2 ** 35 }),
  ),
  value: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

test('property: NumberSlots behaves as a Map', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const t = new NumberSlots(4);
      const m = new Map<number, number>();
      for (const o of ops) {
        if (o.del) {
          t.delete(o.key);
          m.delete(o.key);
        } else {
          t.set(o.key, o.value);
          m.set(o.key, o.value);
        }
        assert.equal(t.size, m.size);
      }
      for (const o of ops) assert.equal(t.get(o.key), m.get(o.key) ?? -1);
      for (const k of m.keys()) t.delete(k);
      assert.equal(t.size, 0);
      for (const o of ops) assert.equal(t.get(o.key), -1);
    }),
    { numRuns: 300 },
  );
});
