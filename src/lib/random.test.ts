import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom, seededRandomAt } from './random.js';

test('seededRandomAt(seed, n) is the (n + 1)-th value of seededRandom(seed)', () => {
  for (const seed of [0, 1, 42, 0xdeadbeef, -7]) {
    const next = seededRandom(seed);
    for (let n = 0; n < 1000; n++)
      assert.equal(seededRandomAt(seed, n), next(), `seed ${seed}, n ${n}`);
  }
});

test('seededRandomAt stays in [0, 1) far into the stream', () => {
  for (let n = 0; n < 2 ** 31; n += 104_729_993) {
    const x = seededRandomAt(9, n);
    assert.ok(x >= 0 && x < 1);
  }
});
