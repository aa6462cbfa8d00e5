// `--tcpr-compact-threshold SIZE` of `nonstop speaker` (docs/tcpr.md "Non-stop BGP"):
// octets, or binary k/M/G multiples.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSize } from './speaker.js';

test('parseSize: octets and binary multiples; anything else is refused', () => {
  assert.equal(parseSize('65536'), 65536);
  assert.equal(parseSize('0'), 0);
  assert.equal(parseSize('64k'), 64 * 1024);
  assert.equal(parseSize('32M'), 32 * 1024 * 1024);
  assert.equal(parseSize('1g'), 1024 ** 3);
  for (const bad of ['', '-1', '1.5M', '32MB', 'M', '1T', '9'.repeat(20)]) {
    assert.equal(parseSize(bad), null, bad);
  }
});
