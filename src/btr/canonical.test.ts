// Canonical form: the same route encoded the ways diverse BGP implementations encode it
// (attribute order, Extended Length and Partial flags, 2-octet AS with AS4_PATH versus
// 4-octet AS, path segmentation, community order, one UPDATE or several, NLRI in the body
// or in MP_REACH_NLRI) canonicalises to the same bytes; a change of meaning does not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AFI, parsePrefix, type Prefix } from '../lib/ip.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  AS_TRANS,
  DEFAULT_CONTEXT,
  encodeMessage,
  makeContext,
  type CodecContext,
  type Nlri,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';
import { fromHex } from '../lib/bytes.js';
import {
  canonicalFibValue,
  canonicalRoute,
  canonicalUpdate,
  describeValue,
  type CanonicalEntry,
} from './canonical.js';
import { describeKey, fibKey, keyRoute, routeKey } from './canonical-key.js';

const pfx = (s: string): Prefix => parsePrefix(s)!;
const ip = (s: string): Uint8Array => parsePrefix(`${s}/${s.includes(':') ? 128 : 32}`)!.addr;

const BIG = 4_200_000_000; // a 4-octet ASN

/** The route of the tests, attributes in RFC order with RFC default flags, 4-octet AS. */
function attrs4(): PathAttribute[] {
  return [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: 0x40,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [64500, BIG, 65001] }],
      asnWidth: 4,
    },
    { kind: 'next-hop', code: 3, flags: 0x40, nextHop: ip('198.18.0.1') },
    { kind: 'med', code: 4, flags: 0x80, med: 10 },
    { kind: 'aggregator', code: 7, flags: 0xc0, asn: BIG, address: ip('198.18.0.9'), asnWidth: 4 },
    { kind: 'communities', code: 8, flags: 0xc0, communities: [0xfde80001, 0xfde80002] },
    { kind: 'unknown', code: 99, flags: 0xc0, data: Uint8Array.of(1, 2, 3) },
  ];
}

function update(attributes: PathAttribute[], nlri: string[], withdrawn: string[] = []) {
  const m: UpdateMessage = {
    type: 2,
    withdrawn: withdrawn.map((p) => ({ prefix: pfx(p) })),
    attributes,
    nlri: nlri.map((p) => ({ prefix: pfx(p) })),
  };
  return m;
}

function canon(msg: UpdateMessage, ctx: CodecContext): CanonicalEntry[] {
  const r = canonicalUpdate(encodeMessage(msg, ctx), ctx);
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
  return r.routes;
}

const values = (rs: CanonicalEntry[]) => rs.map((r) => [r.key, r.value]);

const reference = canon(update(attrs4(), ['198.18.1.0/24']), AS4_CONTEXT);

test('reference route: one announcement with the expected description', () => {
  assert.equal(reference.length, 1);
  assert.equal(reference[0]!.key, routeKey(1, 1, pfx('198.18.1.0/24')));
  // Worked out from the layout in canonical.ts: next hop first, then by type code,
  // communities as high:low, the unknown attribute with O|T (0xc0) and its value.
  assert.equal(
    describeValue(reference[0]!.value),
    'next-hop 198.18.0.1 origin IGP as-path 64500 4200000000 65001 med 10 ' +
      'aggregator 4200000000 198.18.0.9 communities 65000:1 65000:2 attr-99/0xc0 0x010203',
  );
});

test('attribute order does not matter', () => {
  const a = attrs4().reverse();
  assert.deepEqual(values(canon(update(a, ['198.18.1.0/24']), AS4_CONTEXT)), values(reference));
});

test('Extended Length and Partial flags do not matter', () => {
  const a = attrs4().map((x) => ({ ...x, flags: x.flags | 0x10 }) as PathAttribute);
  const last = a[a.length - 1]!;
  a[a.length - 1] = { ...last, flags: last.flags | 0x20 } as PathAttribute; // Partial
  assert.deepEqual(values(canon(update(a, ['198.18.1.0/24']), AS4_CONTEXT)), values(reference));
});

test('2-octet AS session with AS4_PATH and AS4_AGGREGATOR equals the 4-octet encoding', () => {
  const a = attrs4().map((x): PathAttribute => {
    if (x.kind === 'as-path') return { ...x, asnWidth: 2 }; // BIG goes out as AS_TRANS
    if (x.kind === 'aggregator') return { ...x, asnWidth: 2 };
    return x;
  });
  a.push(
    {
      kind: 'as-path',
      code: 17,
      flags: 0xc0,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [64500, BIG, 65001] }],
      asnWidth: 4,
    },
    { kind: 'aggregator', code: 18, flags: 0xc0, asn: BIG, address: ip('198.18.0.9'), asnWidth: 4 },
  );
  const msg = encodeMessage(update(a, ['198.18.1.0/24']), DEFAULT_CONTEXT);
  // The wire really carries AS_TRANS in the 2-octet AS_PATH.
  assert.ok(msg.join(',').includes([AS_TRANS >> 8, AS_TRANS & 0xff].join(',')));
  const r = canonicalUpdate(msg, DEFAULT_CONTEXT);
  assert.ok(r.ok);
  assert.deepEqual(values(r.routes), values(reference));
});

test('AS path split into several sequences, sets in another order, communities reordered and repeated', () => {
  const a = attrs4().map((x): PathAttribute => {
    if (x.kind === 'as-path') {
      return {
        ...x,
        segments: [
          { type: AS_SEG.AS_SEQUENCE, asns: [64500] },
          { type: AS_SEG.AS_SEQUENCE, asns: [BIG, 65001] },
        ],
      };
    }
    if (x.kind === 'communities')
      return { ...x, communities: [0xfde80002, 0xfde80001, 0xfde80002] };
    return x;
  });
  assert.deepEqual(values(canon(update(a, ['198.18.1.0/24']), AS4_CONTEXT)), values(reference));
  const withSet = (asns: number[]): PathAttribute[] =>
    attrs4().map((x) =>
      x.kind === 'as-path' ? { ...x, segments: [...x.segments, { type: AS_SEG.AS_SET, asns }] } : x,
    );
  assert.deepEqual(
    values(canon(update(withSet([3, 1, 2]), ['198.18.1.0/24']), AS4_CONTEXT)),
    values(canon(update(withSet([1, 2, 3, 2]), ['198.18.1.0/24']), AS4_CONTEXT)),
  );
});

test('which UPDATE packed the prefix does not matter', () => {
  const together = canon(update(attrs4(), ['198.18.1.0/24', '198.18.2.0/24']), AS4_CONTEXT);
  const apart = [
    ...canon(update(attrs4(), ['198.18.2.0/24']), AS4_CONTEXT),
    ...canon(update(attrs4().reverse(), ['198.18.1.0/24']), AS4_CONTEXT),
  ];
  const byKey = (rs: CanonicalEntry[]) => new Map(rs.map((r) => [r.key, r.value]));
  assert.deepEqual(byKey(together), byKey(apart));
  assert.equal(byKey(together).size, 2);
});

test('IPv4 NLRI in MP_REACH_NLRI equals IPv4 NLRI in the UPDATE body', () => {
  const mp: PathAttribute[] = attrs4()
    .filter((x) => x.kind !== 'next-hop')
    .concat({
      kind: 'mp-reach',
      code: 14,
      flags: 0x80,
      afi: AFI.IPv4,
      safi: 1,
      nextHop: ip('198.18.0.1'),
      reserved: 0,
      nlri: [{ prefix: pfx('198.18.1.0/24') }],
    });
  assert.deepEqual(values(canon(update(mp, []), AS4_CONTEXT)), values(reference));
});

test('IPv6: a zero link-local next hop is dropped; a real one counts unless ignored', () => {
  const v6 = (nextHop: Uint8Array): UpdateMessage =>
    update(
      attrs4()
        .filter((x) => x.kind !== 'next-hop')
        .concat({
          kind: 'mp-reach',
          code: 14,
          flags: 0x80,
          afi: AFI.IPv6,
          safi: 1,
          nextHop,
          reserved: 0,
          nlri: [{ prefix: pfx('2001:db8:1::/48') }],
        }),
      [],
    );
  const g = ip('2001:db8::1');
  const ll = ip('fe80::1');
  const zero = new Uint8Array(16);
  const cat = (a: Uint8Array, b: Uint8Array) => Uint8Array.from([...a, ...b]);
  const [only] = canon(v6(g), AS4_CONTEXT);
  const [withZero] = canon(v6(cat(g, zero)), AS4_CONTEXT);
  const [withLl] = canon(v6(cat(g, ll)), AS4_CONTEXT);
  assert.equal(only!.key, routeKey(2, 1, pfx('2001:db8:1::/48')));
  assert.equal(withZero!.value, only!.value);
  assert.notEqual(withLl!.value, only!.value);
  const m = v6(cat(g, ll));
  const r = canonicalUpdate(encodeMessage(m, AS4_CONTEXT), AS4_CONTEXT, { ignoreLinkLocal: true });
  assert.ok(r.ok);
  assert.equal(r.routes[0]!.value, only!.value);
});

test('different routes differ', () => {
  const variants: [string, (a: PathAttribute[]) => PathAttribute[]][] = [
    ['MED', (a) => a.map((x) => (x.kind === 'med' ? { ...x, med: 11 } : x))],
    [
      'next hop',
      (a) => a.map((x) => (x.kind === 'next-hop' ? { ...x, nextHop: ip('198.18.0.2') } : x)),
    ],
    ['no MED', (a) => a.filter((x) => x.kind !== 'med')],
    [
      'AS path',
      (a) =>
        a.map((x) =>
          x.kind === 'as-path'
            ? { ...x, segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [64500, 65001, BIG] }] }
            : x,
        ),
    ],
    [
      'AS_SET instead of AS_SEQUENCE',
      (a) =>
        a.map((x) =>
          x.kind === 'as-path'
            ? { ...x, segments: [{ type: AS_SEG.AS_SET, asns: [64500, BIG, 65001] }] }
            : x,
        ),
    ],
    [
      'a community fewer',
      (a) => a.map((x) => (x.kind === 'communities' ? { ...x, communities: [0xfde80001] } : x)),
    ],
    ['origin', (a) => a.map((x) => (x.kind === 'origin' ? { ...x, origin: 2 } : x))],
    [
      'non-transitive unknown',
      (a) => a.map((x) => (x.kind === 'unknown' ? { ...x, flags: 0x80 } : x)),
    ],
    [
      'local-pref added',
      (a) => [...a, { kind: 'local-pref', code: 5, flags: 0x40, localPref: 100 }],
    ],
  ];
  const seen = new Set<string | undefined>([reference[0]!.value]);
  for (const [what, f] of variants) {
    const [r] = canon(update(f(attrs4()), ['198.18.1.0/24']), AS4_CONTEXT);
    assert.ok(!seen.has(r!.value), `${what}: must differ from the reference and the others`);
    seen.add(r!.value);
  }
});

test('withdrawals, MP_UNREACH and RFC 7606 treat-as-withdraw give undefined values', () => {
  const w = canon(update([], [], ['198.18.1.0/24']), AS4_CONTEXT);
  assert.deepEqual(values(w), [[routeKey(1, 1, pfx('198.18.1.0/24')), undefined]]);
  const un = canon(
    update(
      [
        {
          kind: 'mp-unreach',
          code: 15,
          flags: 0x80,
          afi: AFI.IPv6,
          safi: 1,
          withdrawn: [{ prefix: pfx('2001:db8:1::/48') }],
        },
      ],
      [],
    ),
    AS4_CONTEXT,
  );
  assert.deepEqual(values(un), [[routeKey(2, 1, pfx('2001:db8:1::/48')), undefined]]);
  // ORIGIN, AS_PATH but no NEXT_HOP with body NLRI: treat-as-withdraw (RFC 7606 §3(d)).
  const msg = encodeMessage(
    update(
      attrs4().filter((x) => x.kind !== 'next-hop'),
      ['198.18.1.0/24'],
    ),
    AS4_CONTEXT,
  );
  const r = canonicalUpdate(msg, AS4_CONTEXT);
  assert.ok(r.ok);
  assert.deepEqual(values(r.routes), [[routeKey(1, 1, pfx('198.18.1.0/24')), undefined]]);
});

test('a session-reset malformation is returned as an error; other messages are refused', () => {
  // Withdrawn routes length 0xffff overruns the message.
  const bad = fromHex('ffffffffffffffffffffffffffffffff 0017 02 ffff 0000');
  const r = canonicalUpdate(bad, AS4_CONTEXT);
  assert.equal(r.ok, false);
  const keepalive = fromHex('ffffffffffffffffffffffffffffffff 0013 04');
  assert.throws(() => canonicalUpdate(keepalive, AS4_CONTEXT), /not an UPDATE/);
});

test('ADD-PATH: path ids are part of the key', () => {
  const ctx = makeContext({ as4: true, addPath: [[1, 1]] });
  const m: UpdateMessage = {
    type: 2,
    withdrawn: [],
    attributes: attrs4(),
    nlri: [1, 2].map((pathId): Nlri => ({ prefix: pfx('198.18.1.0/24'), pathId })),
  };
  const rs = canon(m, ctx);
  assert.deepEqual(
    rs.map((r) => r.pathId),
    [1, 2],
  );
  assert.notEqual(rs[0]!.key, rs[1]!.key);
  assert.equal(rs[0]!.value, reference[0]!.value);
  assert.equal(describeKey(rs[1]!.key), '198.18.1.0/24 path-id 2');
});

test('keys: distinct per family, prefix and path id, and reversible', () => {
  const cases: [number, number, string, number, string][] = [
    [1, 1, '198.18.1.0/24', 0, '198.18.1.0/24'],
    [1, 1, '198.18.1.128/25', 0, '198.18.1.128/25'],
    [1, 1, '0.0.0.0/0', 0, '0.0.0.0/0'],
    [1, 2, '198.18.1.0/24', 0, '198.18.1.0/24 safi 2'],
    [1, 1, '198.18.1.0/24', 70000, '198.18.1.0/24 path-id 70000'],
    [2, 1, '2001:db8:1::/48', 0, '2001:db8:1::/48'],
    [2, 1, '2001:db8:1::1/128', 0, '2001:db8:1::1/128'],
    [2, 1, '::/0', 0, '::/0'],
  ];
  const keys = new Set();
  for (const [afi, safi, p, id, text] of cases) {
    const k = routeKey(afi, safi, pfx(p), id);
    keys.add(k);
    const back = keyRoute(k);
    assert.deepEqual([back.afi, back.safi, back.prefix, back.pathId], [afi, safi, pfx(p), id]);
    assert.equal(describeKey(k), text);
  }
  assert.equal(keys.size, cases.length);
  assert.equal(typeof routeKey(1, 1, pfx('198.18.1.0/24')), 'number');
  assert.equal(fibKey(pfx('2001:db8::/32')), routeKey(2, 1, pfx('2001:db8::/32')));
});

test('FIB values: gateway order and repeats do not matter', () => {
  const a = ip('198.18.0.1');
  const b = ip('198.18.0.2');
  assert.equal(canonicalFibValue([a, b]), canonicalFibValue([b, a, b]));
  assert.notEqual(canonicalFibValue([a]), canonicalFibValue([a, b]));
  assert.equal(describeValue(canonicalFibValue([b, a])), 'via 198.18.0.1, 198.18.0.2');
});

// ---------------------------------------------------------------------------------------
// Property: any route, re-encoded the ways implementations differ, canonicalises equal.

const asn = fc.oneof(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffffffff }));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const routeArb = fc.record({
  origin: fc.integer({ min: 0, max: 2 }),
  segments: fc.array(
    fc.record({
      type: fc.constantFrom(AS_SEG.AS_SET, AS_SEG.AS_SEQUENCE),
      asns: fc.array(asn, { minLength: 1, maxLength: 5 }),
    }),
    { maxLength: 3 },
  ),
  nextHop: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  med: fc.option(u32, { nil: undefined }),
  localPref: fc.option(u32, { nil: undefined }),
  communities: fc.array(u32, { maxLength: 4 }),
  large: fc.array(fc.tuple(u32, u32, u32), { maxLength: 2 }),
  unknown: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: undefined }),
});
type RouteSpec = typeof routeArb extends fc.Arbitrary<infer R> ? R : never;

function specAttrs(r: RouteSpec, width: 2 | 4): PathAttribute[] {
  const a: PathAttribute[] = [
    { kind: 'origin', code: 1, flags: 0x40, origin: r.origin },
    { kind: 'as-path', code: 2, flags: 0x40, segments: r.segments, asnWidth: width },
    { kind: 'next-hop', code: 3, flags: 0x40, nextHop: r.nextHop },
  ];
  if (r.med !== undefined) a.push({ kind: 'med', code: 4, flags: 0x80, med: r.med });
  if (r.localPref !== undefined) {
    a.push({ kind: 'local-pref', code: 5, flags: 0x40, localPref: r.localPref });
  }
  if (r.communities.length > 0) {
    a.push({ kind: 'communities', code: 8, flags: 0xc0, communities: r.communities });
  }
  if (r.large.length > 0) {
    a.push({ kind: 'large-communities', code: 32, flags: 0xc0, communities: r.large });
  }
  if (r.unknown) a.push({ kind: 'unknown', code: 201, flags: 0xc0, data: r.unknown });
  if (width === 2 && r.segments.some((s) => s.asns.some((x) => x > 0xffff))) {
    a.push({ kind: 'as-path', code: 17, flags: 0xc0, segments: r.segments, asnWidth: 4 });
  }
  return a;
}

test('property: order, flags, AS width and segmentation never change the canonical value', () => {
  fc.assert(
    fc.property(
      routeArb,
      fc.func(fc.integer()),
      fc.boolean(),
      fc.boolean(),
      (r, order, ext, two) => {
        const ref = canonicalRoute(specAttrs(r, 4), r.nextHop, AS4_CONTEXT);
        let a = specAttrs(r, two ? 2 : 4);
        a = a
          .map((x, i) => [x, order(i)] as const)
          .sort((x, y) => x[1] - y[1])
          .map(([x]) => (ext ? ({ ...x, flags: x.flags | 0x10 } as PathAttribute) : x));
        // Split every sequence in two (where it has at least two ASNs).
        a = a.map((x) =>
          x.kind === 'as-path'
            ? {
                ...x,
                segments: x.segments.flatMap((s) =>
                  s.type === AS_SEG.AS_SEQUENCE && s.asns.length > 1
                    ? [
                        { type: s.type, asns: s.asns.slice(0, 1) },
                        { type: s.type, asns: s.asns.slice(1) },
                      ]
                    : [s],
                ),
              }
            : x,
        );
        const ctx = two ? DEFAULT_CONTEXT : AS4_CONTEXT;
        const msg = encodeMessage(update(a, ['198.18.1.0/24']), ctx);
        const got = canonicalUpdate(msg, ctx);
        assert.ok(got.ok);
        assert.equal(got.routes[0]!.value, ref);
      },
    ),
    { numRuns: 300 },
  );
});
