// Prefix keys: exact round trip, no two prefixes share a key, short IPv4 prefixes are
// small integers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AFI, formatPrefix, maskAddr, parsePrefix, type Prefix } from '../lib/ip.js';
import { ipv4Key, keyAfi, keyToPrefix, prefixKey } from './prefix-key.js';

const prefixArb: fc.Arbitrary<Prefix> = fc.oneof(
  fc
    .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
    .map(([a, len]) => ({ afi: AFI.IPv4, addr: maskAddr(a, len), len })),
  fc
    .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
    .map(([a, len]) => ({ afi: AFI.IPv6, addr: maskAddr(a, len), len })),
);

test('property: keyToPrefix(prefixKey(p)) == p', () => {
  fc.assert(
    fc.property(prefixArb, (p) => {
      const k = prefixKey(p);
      assert.deepEqual(keyToPrefix(k), p);
      assert.equal(keyAfi(k), p.afi);
    }),
    { numRuns: 5000 },
  );
});

test('property: distinct prefixes have distinct keys', () => {
  fc.assert(
    fc.property(prefixArb, prefixArb, (a, b) => {
      if (formatPrefix(a) !== formatPrefix(b)) assert.notEqual(prefixKey(a), prefixKey(b));
      else assert.equal(prefixKey(a), prefixKey(b));
    }),
    { numRuns: 5000 },
  );
});

test('IPv4 keys: up to /24 below 2^29 (a small integer), longer ones above', () => {
  const k24 = prefixKey(parsePrefix('255.255.255.0/24')!);
  assert.ok(Number.isInteger(k24) && (k24 as number) < 2 ** 29);
  const k32 = prefixKey(parsePrefix('255.255.255.255/32')!) as number;
  assert.ok(k32 >= 2 ** 29 && Number.isSafeInteger(k32));
  assert.equal(prefixKey(parsePrefix('0.0.0.0/0')!), 0);
  assert.equal(ipv4Key(0xc6120000, 15), prefixKey(parsePrefix('198.18.0.0/15')!));
  assert.equal(
    formatPrefix(keyToPrefix(prefixKey(parsePrefix('198.18.0.128/25')!))),
    '198.18.0.128/25',
  );
});

test('IPv6 keys are short strings', () => {
  const k = prefixKey(parsePrefix('2001:db8:1::/48')!);
  assert.equal(typeof k, 'string');
  assert.equal((k as string).length, 4);
  assert.equal(formatPrefix(keyToPrefix(k)), '2001:db8:1::/48');
  assert.equal(formatPrefix(keyToPrefix(prefixKey(parsePrefix('::/0')!))), '::/0');
});
