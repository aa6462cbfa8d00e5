import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer, toHex } from '../lib/bytes.js';
import { AFI, type Prefix } from '../lib/ip.js';
import { NlriError, decodePrefixes, encodePrefixes, prefixesLength } from './nlri.js';
import { hex } from './testing.js';

const v4 = (a: number[], len: number): Prefix => ({ afi: AFI.IPv4, addr: Uint8Array.from(a), len });

test('IPv4 prefixes: /0, /8, /24, /32 with minimal octets', () => {
  const b = hex('00 08 0a 18 c0 00 02 20 c6 12 00 01');
  const n = decodePrefixes(new Reader(b), AFI.IPv4, false);
  assert.ok(!(n instanceof NlriError));
  assert.deepEqual(n, [
    { prefix: v4([0, 0, 0, 0], 0) },
    { prefix: v4([10, 0, 0, 0], 8) },
    { prefix: v4([192, 0, 2, 0], 24) },
    { prefix: v4([198, 18, 0, 1], 32) },
  ]);
  const w = new Writer();
  encodePrefixes(w, n, false);
  assert.equal(toHex(w.view()), toHex(b));
  assert.equal(prefixesLength(n, false), b.length);
});

test('ADD-PATH path identifiers precede each prefix (RFC 7911 §3)', () => {
  const b = hex('00000001 18 c00002  ffffffff 10 c612');
  const n = decodePrefixes(new Reader(b), AFI.IPv4, true);
  assert.deepEqual(n, [
    { prefix: v4([192, 0, 2, 0], 24), pathId: 1 },
    { prefix: v4([198, 18, 0, 0], 16), pathId: 0xffffffff },
  ]);
  const w = new Writer();
  encodePrefixes(w, n as never, true);
  assert.equal(toHex(w.view()), toHex(b));
});

test('host bits are masked and reported, not rejected', () => {
  const hb: Prefix[] = [];
  // 192.0.2.77/24 is sent as 3 octets, so host bits can only hide in a partial octet:
  // 10.255/9 → second octet 0xff with 1 significant bit → 10.128.0.0/9.
  const n = decodePrefixes(new Reader(hex('09 0a ff 18 c0 00 02')), AFI.IPv4, false, hb);
  assert.deepEqual(n, [{ prefix: v4([10, 128, 0, 0], 9) }, { prefix: v4([192, 0, 2, 0], 24) }]);
  assert.deepEqual(hb, [v4([10, 128, 0, 0], 9)]);
});

test('IPv6 prefix 2001:db8::/32 and /128', () => {
  const b = hex('20 20010db8  80 20010db8000000000000000000000001');
  const n = decodePrefixes(new Reader(b), AFI.IPv6, false);
  assert.ok(!(n instanceof NlriError));
  assert.equal(n.length, 2);
  assert.equal(n[0]!.prefix.len, 32);
  assert.equal(toHex(n[0]!.prefix.addr), '20010db8000000000000000000000000');
  assert.equal(toHex(n[1]!.prefix.addr), '20010db8000000000000000000000001');
});

test('prefix length beyond the address width is an error', () => {
  assert.ok(
    decodePrefixes(new Reader(hex('21 01020304 05')), AFI.IPv4, false) instanceof NlriError,
  );
  assert.ok(
    decodePrefixes(new Reader(hex('81' + '00'.repeat(17))), AFI.IPv6, false) instanceof NlriError,
  );
});

test('a field ending inside a prefix or a path identifier is an error', () => {
  assert.ok(decodePrefixes(new Reader(hex('18 c000')), AFI.IPv4, false) instanceof NlriError);
  assert.ok(decodePrefixes(new Reader(hex('000000')), AFI.IPv4, true) instanceof NlriError);
  assert.ok(decodePrefixes(new Reader(hex('00000001')), AFI.IPv4, true) instanceof NlriError);
});

test('encoding never sends host bits', () => {
  const w = new Writer();
  encodePrefixes(w, [{ prefix: v4([10, 255, 255, 255], 9) }], false);
  assert.equal(toHex(w.view()), '090a80');
});
