import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer, toHex } from '../lib/bytes.js';
import {
  decodeAttributes,
  encodeAttributes,
  markPartialForPropagation,
  type DecodedAttributes,
} from './attributes.js';
import { makeContext } from './context.js';
import type { ErrorAction } from './errors.js';
import type { CodecContext, PathAttribute } from './types.js';
import { hex } from './testing.js';

const ctx2 = makeContext();
const ctx4 = makeContext({ as4: true });
const b = (s: string): Uint8Array => hex(s);

function dec(s: string, ctx: CodecContext = ctx2): DecodedAttributes {
  const buf = hex(s);
  return decodeAttributes(buf, 0, buf.length, ctx);
}

function one(s: string, ctx: CodecContext = ctx2): PathAttribute {
  const d = dec(s, ctx);
  assert.deepEqual(d.errors, []);
  assert.equal(d.attributes.length, 1);
  // Every well-formed vector here is canonical, so it must re-encode byte for byte.
  const w = new Writer();
  encodeAttributes(w, d.attributes, ctx);
  assert.equal(toHex(w.view()), toHex(hex(s)));
  return d.attributes[0]!;
}

test('ORIGIN', () => {
  assert.deepEqual(one('40 01 01 02'), { kind: 'origin', code: 1, flags: 0x40, origin: 2 });
});

test('AS_PATH with 2-octet ASNs: AS_SEQUENCE then AS_SET', () => {
  assert.deepEqual(one('40 02 0c 02 02 fde8 fde9 01 02 0001 0002'), {
    kind: 'as-path',
    code: 2,
    flags: 0x40,
    asnWidth: 2,
    segments: [
      { type: 2, asns: [65000, 65001] },
      { type: 1, asns: [1, 2] },
    ],
  });
});

test('AS_PATH with 4-octet ASNs and confederation segments', () => {
  assert.deepEqual(one('40 02 10 03 01 0000fde8 02 02 0000fde9 00011170', ctx4), {
    kind: 'as-path',
    code: 2,
    flags: 0x40,
    asnWidth: 4,
    segments: [
      { type: 3, asns: [65000] },
      { type: 2, asns: [65001, 70000] },
    ],
  });
});

test('empty AS_PATH (iBGP origination) is valid', () => {
  assert.deepEqual(one('40 02 00'), {
    kind: 'as-path',
    code: 2,
    flags: 0x40,
    asnWidth: 2,
    segments: [],
  });
});

test('NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE', () => {
  assert.deepEqual(one('40 03 04 c0000201'), {
    kind: 'next-hop',
    code: 3,
    flags: 0x40,
    nextHop: b('c0000201'),
  });
  assert.deepEqual(one('80 04 04 00000064'), { kind: 'med', code: 4, flags: 0x80, med: 100 });
  assert.deepEqual(one('40 05 04 ffffffff'), {
    kind: 'local-pref',
    code: 5,
    flags: 0x40,
    localPref: 0xffffffff,
  });
  assert.deepEqual(one('40 06 00'), { kind: 'atomic-aggregate', code: 6, flags: 0x40 });
});

test('AGGREGATOR is 6 octets without and 8 with 4-octet AS', () => {
  assert.deepEqual(one('c0 07 06 fde8 c0000201'), {
    kind: 'aggregator',
    code: 7,
    flags: 0xc0,
    asn: 65000,
    address: b('c0000201'),
    asnWidth: 2,
  });
  assert.deepEqual(one('c0 07 08 00011170 c0000201', ctx4), {
    kind: 'aggregator',
    code: 7,
    flags: 0xc0,
    asn: 70000,
    address: b('c0000201'),
    asnWidth: 4,
  });
});

test('AS4_PATH and AS4_AGGREGATOR are always 4-octet', () => {
  assert.deepEqual(one('c0 11 06 02 01 00011170'), {
    kind: 'as-path',
    code: 17,
    flags: 0xc0,
    asnWidth: 4,
    segments: [{ type: 2, asns: [70000] }],
  });
  assert.deepEqual(one('c0 12 08 00011170 c0000201'), {
    kind: 'aggregator',
    code: 18,
    flags: 0xc0,
    asn: 70000,
    address: b('c0000201'),
    asnWidth: 4,
  });
});

test('COMMUNITIES, EXTENDED_COMMUNITIES, LARGE_COMMUNITY', () => {
  assert.deepEqual(one('c0 08 08 fde80064 ffffff01'), {
    kind: 'communities',
    code: 8,
    flags: 0xc0,
    communities: [0xfde80064, 0xffffff01],
  });
  assert.deepEqual(one('c0 10 10 0002fde800000064 4300000000000001'), {
    kind: 'extended-communities',
    code: 16,
    flags: 0xc0,
    communities: [b('0002fde800000064'), b('4300000000000001')],
  });
  assert.deepEqual(one('c0 20 0c 00011170 00000001 fffffffe'), {
    kind: 'large-communities',
    code: 32,
    flags: 0xc0,
    communities: [[70000, 1, 0xfffffffe]],
  });
});

test('ORIGINATOR_ID and CLUSTER_LIST (RFC 4456)', () => {
  assert.deepEqual(one('80 09 04 c6120001'), {
    kind: 'originator-id',
    code: 9,
    flags: 0x80,
    originatorId: b('c6120001'),
  });
  assert.deepEqual(one('80 0a 08 c6120001 c6120002'), {
    kind: 'cluster-list',
    code: 10,
    flags: 0x80,
    clusterIds: [b('c6120001'), b('c6120002')],
  });
});

test('MP_REACH_NLRI IPv6 with global and link-local next hop', () => {
  const nh = '20010db8000000000000000000000001' + 'fe800000000000000000000000000001';
  const a = one(`80 0e 2a 0002 01 20 ${nh} 00 20 20010db8`);
  assert.equal(a.kind, 'mp-reach');
  if (a.kind !== 'mp-reach') return;
  assert.equal(a.afi, 2);
  assert.equal(a.safi, 1);
  assert.equal(toHex(a.nextHop), nh);
  assert.equal(a.nlri?.length, 1);
  assert.equal(a.nlri?.[0]?.prefix.len, 32);
  assert.equal(toHex(a.nlri![0]!.prefix.addr), '20010db8000000000000000000000000');
});

test('MP_REACH_NLRI IPv4 unicast with ADD-PATH', () => {
  const ctx = makeContext({ addPath: [[1, 1]] });
  const a = one('80 0e 11 0001 01 04 c0000201 00 00000007 18 c63301', ctx);
  assert.deepEqual(a, {
    kind: 'mp-reach',
    code: 14,
    flags: 0x80,
    afi: 1,
    safi: 1,
    nextHop: b('c0000201'),
    reserved: 0,
    nlri: [{ prefix: { afi: 1, addr: b('c6330100'), len: 24 }, pathId: 7 }],
  });
});

test('MP_REACH_NLRI of another family is kept opaque', () => {
  // L2VPN EVPN (25/70): next hop 192.0.2.1, NLRI bytes kept as received.
  const a = one('80 0e 0e 0019 46 04 c0000201 00 02 03 aabbcc');
  assert.deepEqual(a, {
    kind: 'mp-reach',
    code: 14,
    flags: 0x80,
    afi: 25,
    safi: 70,
    nextHop: b('c0000201'),
    reserved: 0,
    opaque: b('0203aabbcc'),
  });
});

test('MP_UNREACH_NLRI IPv6 and opaque', () => {
  assert.deepEqual(one('80 0f 08 0002 01 20 20010db8'), {
    kind: 'mp-unreach',
    code: 15,
    flags: 0x80,
    afi: 2,
    safi: 1,
    withdrawn: [{ prefix: { afi: 2, addr: b('20010db8000000000000000000000000'), len: 32 } }],
  });
  assert.deepEqual(one('80 0f 05 0001 85 0102'), {
    kind: 'mp-unreach',
    code: 15,
    flags: 0x80,
    afi: 1,
    safi: 133,
    opaque: b('0102'),
  });
});

test('abbreviated MP_REACH_NLRI of MRT RIB entries (RFC 6396 §4.3.4)', () => {
  const ctx = makeContext({ as4: true, mpReachAbbreviated: true });
  const a = one('80 0e 11 10 20010db8000000000000000000000001', ctx);
  assert.deepEqual(a, {
    kind: 'mp-reach',
    code: 14,
    flags: 0x80,
    afi: 2,
    safi: 1,
    nextHop: b('20010db8000000000000000000000001'),
    reserved: 0,
    abbreviated: true,
  });
});

test('unknown optional attributes are kept with their flags', () => {
  assert.deepEqual(one('e0 63 02 abcd'), {
    kind: 'unknown',
    code: 99,
    flags: 0xe0,
    data: b('abcd'),
  });
});

test('Extended Length bit is kept even for short values, and set when needed', () => {
  const a = one('50 02 00 06 02 02 fde8 fde9');
  assert.equal(a.flags, 0x50);
  const long: PathAttribute = {
    kind: 'communities',
    code: 8,
    flags: 0xc0,
    communities: Array.from({ length: 70 }, (_, i) => i),
  };
  const w = new Writer();
  encodeAttributes(w, [long], ctx2);
  const out = w.view();
  assert.equal(toHex(out.subarray(0, 4)), 'd0080118'); // 0xc0|0x10, code 8, length 280
  const back = decodeAttributes(out, 0, out.length, ctx2);
  assert.deepEqual(back.errors, []);
  assert.deepEqual((back.attributes[0] as { communities?: unknown }).communities, long.communities);
});

// RFC 7606 actions per malformation: [description, attribute octets, context, action, subcode].
const malformed: [string, string, CodecContext, ErrorAction, number][] = [
  ['ORIGIN length 2', '40 01 02 0000', ctx2, 'treat-as-withdraw', 5],
  ['ORIGIN value 3', '40 01 01 03', ctx2, 'treat-as-withdraw', 6],
  ['AS_PATH unknown segment type', '40 02 04 05 01 fde8', ctx2, 'treat-as-withdraw', 11],
  ['AS_PATH segment overrun', '40 02 04 02 02 fde8', ctx2, 'treat-as-withdraw', 11],
  ['AS_PATH zero-length segment', '40 02 02 02 00', ctx2, 'treat-as-withdraw', 11],
  ['AS_PATH lone trailing octet', '40 02 05 02 01 fde8 02', ctx2, 'treat-as-withdraw', 11],
  [
    'AS_PATH 4-octet ASNs read as 2-octet',
    '40 02 06 02 01 0000fde8',
    ctx2,
    'treat-as-withdraw',
    11,
  ],
  ['NEXT_HOP length 5', '40 03 05 c000020100', ctx2, 'treat-as-withdraw', 5],
  ['MED length 3', '80 04 03 000064', ctx2, 'treat-as-withdraw', 5],
  ['LOCAL_PREF length 2', '40 05 02 0064', ctx2, 'treat-as-withdraw', 5],
  ['ATOMIC_AGGREGATE length 1', '40 06 01 00', ctx2, 'attribute-discard', 5],
  [
    'AGGREGATOR 8 octets on a 2-octet session',
    'c0 07 08 00011170 c0000201',
    ctx2,
    'attribute-discard',
    5,
  ],
  [
    'AGGREGATOR 6 octets on a 4-octet session',
    'c0 07 06 fde8 c0000201',
    ctx4,
    'attribute-discard',
    5,
  ],
  ['COMMUNITIES length 5', 'c0 08 05 0000000001', ctx2, 'treat-as-withdraw', 5],
  ['COMMUNITIES length 0', 'c0 08 00', ctx2, 'treat-as-withdraw', 5],
  ['ORIGINATOR_ID length 3', '80 09 03 c61200', ctx2, 'treat-as-withdraw', 5],
  ['CLUSTER_LIST length 6', '80 0a 06 c6120001 c612', ctx2, 'treat-as-withdraw', 5],
  [
    'MP_REACH IPv6 with a 4-octet next hop',
    '80 0e 0a 0002 01 04 c0000201 00 00',
    ctx2,
    'session-reset',
    9,
  ],
  ['MP_REACH bad prefix length', '80 0e 0b 0001 01 04 c0000201 00 21 0a', ctx2, 'session-reset', 9],
  ['MP_REACH next hop overrun', '80 0e 06 0001 01 09 c000', ctx2, 'session-reset', 9],
  ['MP_UNREACH too short', '80 0f 02 0001', ctx2, 'session-reset', 9],
  ['EXTENDED_COMMUNITIES length 4', 'c0 10 04 00020001', ctx2, 'treat-as-withdraw', 5],
  ['AS4_PATH bad segment type', 'c0 11 06 07 01 00011170', ctx2, 'attribute-discard', 11],
  ['AS4_AGGREGATOR length 6', 'c0 12 06 fde8 c0000201', ctx2, 'attribute-discard', 5],
  ['LARGE_COMMUNITY length 8', 'c0 20 08 0000000100000002', ctx2, 'treat-as-withdraw', 5],
  ['ORIGIN marked optional (flags)', 'c0 01 01 00', ctx2, 'treat-as-withdraw', 4],
  ['MED marked transitive (flags)', 'c0 04 04 00000001', ctx2, 'treat-as-withdraw', 4],
  ['AGGREGATOR marked well-known (flags)', '40 07 06 fde8 c0000201', ctx2, 'attribute-discard', 4],
  ['MP_UNREACH marked transitive (flags)', 'c0 0f 03 000101', ctx2, 'session-reset', 4],
  ['unrecognised well-known attribute', '40 63 01 00', ctx2, 'session-reset', 2],
  ['attribute overruns the block', '40 01 05 00', ctx2, 'treat-as-withdraw', 1],
  ['MP_REACH overruns the block', '80 0e 20 0001 01', ctx2, 'session-reset', 1],
  ['too few octets for a header', '40 01 01 00 40', ctx2, 'treat-as-withdraw', 1],
];

for (const [name, attr, ctx, action, subcode] of malformed) {
  test(`RFC 7606: ${name} → ${action} 3/${subcode}`, () => {
    const d = dec(attr, ctx);
    assert.equal(d.errors.length, 1, JSON.stringify(d.errors.map((e) => e.reason)));
    const e = d.errors[0]!;
    assert.equal(e.action, action);
    assert.equal(e.code, 3);
    assert.equal(e.subcode, subcode);
    assert.equal(d.fatal, action === 'session-reset');
    // The malformed attribute itself never appears in the output.
    if (e.attribute !== undefined) assert.ok(!d.attributes.some((a) => a.code === e.attribute));
  });
}

test('NOTIFICATION data is the offending attribute (type, length, value)', () => {
  const d = dec('40 01 01 00  80 04 03 000064');
  assert.equal(toHex(d.errors[0]!.data), '800403000064');
  assert.equal(d.errors[0]!.attribute, 4);
  assert.deepEqual(d.attributes, [{ kind: 'origin', code: 1, flags: 0x40, origin: 0 }]);
});

test('duplicates: the first is kept, later ones discarded (RFC 7606 §3(g))', () => {
  const d = dec('40 01 01 00  40 01 01 01  e0 63 01 aa  e0 63 01 bb');
  assert.deepEqual(d.attributes, [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    { kind: 'unknown', code: 99, flags: 0xe0, data: b('aa') },
  ]);
  assert.deepEqual(
    d.errors.map((e) => [e.action, e.attribute]),
    [
      ['attribute-discard', 1],
      ['attribute-discard', 99],
    ],
  );
  assert.equal(d.fatal, false);
});

test('a second MP_REACH_NLRI resets the session with Malformed Attribute List', () => {
  const d = dec('80 0f 03 000101  80 0f 03 000201');
  assert.equal(d.fatal, true);
  assert.equal(d.errors[0]!.subcode, 1);
});

test('later attributes still decode after an attribute-discard', () => {
  const d = dec('40 06 01 00  40 01 01 02');
  assert.equal(d.errors[0]!.action, 'attribute-discard');
  assert.deepEqual(d.attributes, [{ kind: 'origin', code: 1, flags: 0x40, origin: 2 }]);
});

test('markPartialForPropagation sets Partial on unknown transitive, drops unknown non-transitive', () => {
  const attrs: PathAttribute[] = [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    { kind: 'unknown', code: 99, flags: 0xc0, data: b('01') },
    { kind: 'unknown', code: 100, flags: 0x80, data: b('02') },
    { kind: 'unknown', code: 101, flags: 0xe0, data: b('03') },
  ];
  const out = markPartialForPropagation(attrs);
  assert.deepEqual(out, [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    { kind: 'unknown', code: 99, flags: 0xe0, data: b('01') },
    { kind: 'unknown', code: 101, flags: 0xe0, data: b('03') },
  ]);
  assert.equal(attrs[1]!.flags, 0xc0, 'input untouched');
  const clean = [attrs[0]!];
  assert.equal(markPartialForPropagation(clean), clean);
});
