// The update vote of a neighbour (BTR paper §3.1, §4.3) and the way voted values become
// UPDATEs again: a voted canonical value re-encodes, for 4-octet and 2-octet neighbours, to
// an UPDATE that canonicalises back to the same value (property); decisions are packed by
// (family, value); a key that returns to what the neighbour has within a batch sends
// nothing; End-of-RIB goes out once a majority of replicas sent theirs; ROUTE-REFRESH is
// answered from the voted output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../lib/clock.js';
import { parsePrefix } from '../lib/ip.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  DEFAULT_CONTEXT,
  decodeMessage,
  type AsPathSegment,
  type CodecContext,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';
import { canonicalRoute, canonicalUpdate } from './canonical.js';
import { routeFormOf, withAs4Attributes } from './canonical-attributes.js';
import { routeKey } from './canonical-key.js';
import { RouteTable, wireUpdate } from './testing.js';
import { UpdateVote } from './update-vote.js';
import { endOfRib, writeAnnouncements } from './update-writer.js';

const V4 = 0x0101;
const V6 = 0x0201;
const BIG = 4_200_000_001;

// --- voted value → UPDATE → the same value -------------------------------------------------

const asn = fc.oneof(
  fc.integer({ min: 1, max: 65535 }),
  fc.integer({ min: 65536, max: 0xffffffff }),
);
const attributes: fc.Arbitrary<PathAttribute[]> = fc
  .record({
    origin: fc.integer({ min: 0, max: 2 }),
    seq: fc.array(asn, { minLength: 0, maxLength: 6 }),
    set: fc.option(fc.array(asn, { minLength: 1, maxLength: 3 })),
    med: fc.option(fc.nat()),
    lp: fc.option(fc.nat()),
    atomic: fc.boolean(),
    agg: fc.option(asn),
    communities: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 4 }),
    large: fc.array(fc.tuple(asn, fc.nat(), fc.nat()), { maxLength: 2 }),
    ext: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 2 }),
    unknown: fc.option(fc.uint8Array({ minLength: 0, maxLength: 5 })),
  })
  .map((r) => {
    const segments: AsPathSegment[] = [{ type: AS_SEG.AS_SEQUENCE, asns: r.seq }];
    if (r.set) segments.push({ type: AS_SEG.AS_SET, asns: r.set });
    const a: PathAttribute[] = [
      { kind: 'origin', code: 1, flags: 0x40, origin: r.origin },
      {
        kind: 'as-path',
        code: 2,
        flags: 0x40,
        asnWidth: 4,
        segments: r.seq.length || r.set ? segments : [],
      },
    ];
    if (r.med !== null) a.push({ kind: 'med', code: 4, flags: 0x80, med: r.med });
    if (r.lp !== null) a.push({ kind: 'local-pref', code: 5, flags: 0x40, localPref: r.lp });
    if (r.atomic) a.push({ kind: 'atomic-aggregate', code: 6, flags: 0x40 });
    if (r.agg !== null) {
      a.push({
        kind: 'aggregator',
        code: 7,
        flags: 0xc0,
        asn: r.agg,
        address: Uint8Array.of(198, 18, 0, 7),
        asnWidth: 4,
      });
    }
    if (r.communities.length)
      a.push({ kind: 'communities', code: 8, flags: 0xc0, communities: r.communities });
    if (r.ext.length)
      a.push({ kind: 'extended-communities', code: 16, flags: 0xc0, communities: r.ext });
    if (r.large.length)
      a.push({ kind: 'large-communities', code: 32, flags: 0xc0, communities: r.large });
    if (r.unknown) a.push({ kind: 'unknown', code: 99, flags: 0xc0, data: r.unknown });
    return a;
  });

const ctxs: [string, CodecContext][] = [
  ['4-octet AS', AS4_CONTEXT],
  ['2-octet AS (AS4_PATH, AS4_AGGREGATOR)', DEFAULT_CONTEXT],
];

for (const [name, ctx] of ctxs) {
  test(`property: a voted value re-encoded for a ${name} neighbour canonicalises to itself`, () => {
    fc.assert(
      fc.property(attributes, fc.boolean(), (attrs, v6) => {
        const nh = v6 ? parsePrefix('2001:db8::1/128')!.addr : Uint8Array.of(198, 18, 0, 1);
        const value = canonicalRoute(attrs, nh, AS4_CONTEXT);
        const [afi, p] = v6 ? [2, '2001:db8:1::/48'] : [1, '198.18.1.0/24'];
        const key = routeKey(afi, 1, parsePrefix(p)!);
        const out: Uint8Array[] = [];
        writeAnnouncements(routeFormOf(value, afi, 1, ctx), [key], 0, 1, ctx, out);
        assert.equal(out.length, 1);
        const c = canonicalUpdate(out[0]!, ctx);
        assert.ok(c.ok);
        assert.deepEqual(
          c.routes.map((r) => [r.key, r.value]),
          [[key, value]],
        );
      }),
      { numRuns: 300 },
    );
  });
}

test('2-octet neighbour: AS_TRANS in AS_PATH and AGGREGATOR, the real ones in AS4_PATH / AS4_AGGREGATOR; nothing added without a 4-octet ASN', () => {
  const attrs: PathAttribute[] = [
    {
      kind: 'as-path',
      code: 2,
      flags: 0x40,
      asnWidth: 4,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [65001, BIG] }],
    },
    {
      kind: 'aggregator',
      code: 7,
      flags: 0xc0,
      asn: BIG,
      address: Uint8Array.of(1, 2, 3, 4),
      asnWidth: 4,
    },
  ];
  const with4 = withAs4Attributes(attrs);
  assert.deepEqual(
    with4.map((a) => a.code),
    [2, 7, 17, 18],
  );
  const small: PathAttribute[] = [
    {
      kind: 'as-path',
      code: 2,
      flags: 0x40,
      asnWidth: 4,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [65001] }],
    },
  ];
  assert.equal(withAs4Attributes(small), small);
});

test('an unknown optional transitive attribute is passed on with the Partial bit (RFC 4271 §5)', () => {
  const attrs: PathAttribute[] = [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    { kind: 'unknown', code: 99, flags: 0xc0, data: Uint8Array.of(1) },
    { kind: 'unknown', code: 98, flags: 0x80, data: Uint8Array.of(2) },
  ];
  const value = canonicalRoute(attrs, Uint8Array.of(198, 18, 0, 1), AS4_CONTEXT);
  const out: Uint8Array[] = [];
  writeAnnouncements(
    routeFormOf(value, 1, 1, AS4_CONTEXT),
    [routeKey(1, 1, parsePrefix('198.18.1.0/24')!)],
    0,
    1,
    AS4_CONTEXT,
    out,
  );
  const d = decodeMessage(out[0]!, AS4_CONTEXT);
  assert.ok(d.ok && d.message.type === 2);
  const flags = Object.fromEntries(d.message.attributes.map((a) => [a.code, a.flags]));
  assert.equal(flags[99], 0xe0, 'optional transitive: Partial set');
  assert.equal(flags[98], 0x80, 'optional non-transitive: as it was');
});

// --- the vote ---------------------------------------------------------------------------

const pfx = (s: string) => ({ prefix: parsePrefix(s)! });

function update(asn: number, nlri: string[], withdrawn: string[] = []): UpdateMessage {
  return wireUpdate(
    {
      type: 2,
      withdrawn: withdrawn.map(pfx),
      attributes:
        nlri.length === 0
          ? []
          : [
              { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
              {
                kind: 'as-path',
                code: 2,
                flags: 0x40,
                asnWidth: 4,
                segments: [{ type: 2, asns: [65001, asn] }],
              },
              { kind: 'next-hop', code: 3, flags: 0x40, nextHop: Uint8Array.of(198, 18, 0, 1) },
            ],
      nlri: nlri.map(pfx),
    },
    AS4_CONTEXT,
  ).u;
}

function vote(families = [V4, V6]) {
  const clock = new ManualClock(0);
  const v = new UpdateVote({
    strategy: { kind: 'continuous-majority' },
    clock,
    steadyMs: 1000,
    send: AS4_CONTEXT,
    families,
    replicas: 3,
  });
  const ids = ['a', 'b', 'c'].map((n) => v.voter.addReplica(n));
  return { v, ids, clock };
}

test('decisions are packed: routes sharing a voted value share an UPDATE', () => {
  const { v, ids } = vote();
  v.fromReplica(ids[0]!, update(65002, ['198.18.1.0/24', '198.18.2.0/24']), AS4_CONTEXT);
  assert.equal(v.pending, 0, 'one replica is no majority');
  // The second replica sends them in two UPDATEs: still one value, one UPDATE out.
  v.fromReplica(ids[1]!, update(65002, ['198.18.2.0/24']), AS4_CONTEXT);
  v.fromReplica(ids[1]!, update(65002, ['198.18.1.0/24']), AS4_CONTEXT);
  const out = v.take();
  assert.equal(out.length, 1);
  const t = new RouteTable();
  t.apply(out[0]!);
  assert.equal(t.routes.size, 2);
  v.fromReplica(ids[2]!, update(65002, ['198.18.1.0/24', '198.18.2.0/24']), AS4_CONTEXT);
  assert.deepEqual(v.take(), [], 'the third replica changes nothing');
});

test('a key that comes back to what the neighbour has within one batch sends nothing', () => {
  const { v, ids } = vote();
  for (const id of ids.slice(0, 2))
    v.fromReplica(id, update(65002, ['198.18.1.0/24']), AS4_CONTEXT);
  assert.equal(v.take().length, 1);
  // Withdrawn by a majority, then announced again the same way, before the flush.
  for (const id of ids.slice(0, 2))
    v.fromReplica(id, update(0, [], ['198.18.1.0/24']), AS4_CONTEXT);
  for (const id of ids.slice(0, 2))
    v.fromReplica(id, update(65002, ['198.18.1.0/24']), AS4_CONTEXT);
  assert.deepEqual(v.take(), []);
  // A real change still goes out, and so does a withdrawal.
  for (const id of ids.slice(0, 2))
    v.fromReplica(id, update(65009, ['198.18.1.0/24']), AS4_CONTEXT);
  assert.equal(v.take().length, 1);
  for (const id of ids.slice(0, 2))
    v.fromReplica(id, update(0, [], ['198.18.1.0/24']), AS4_CONTEXT);
  const w = v.take();
  assert.equal(w.length, 1);
  const d = decodeMessage(w[0]!, AS4_CONTEXT);
  assert.ok(d.ok && d.message.type === 2 && d.message.withdrawn.length === 1);
});

test('routes of a family the neighbour did not negotiate are not sent', () => {
  const { v, ids } = vote([V6]);
  for (const id of ids) v.fromReplica(id, update(65002, ['198.18.1.0/24']), AS4_CONTEXT);
  assert.deepEqual(v.take(), []);
});

test('End-of-RIB goes to the neighbour once, when a majority of the replicas sent theirs', () => {
  const { v, ids } = vote();
  const eor = decodeMessage(endOfRib(V4), AS4_CONTEXT);
  assert.ok(eor.ok && eor.message.type === 2);
  assert.deepEqual(v.fromReplica(ids[0]!, eor.message, AS4_CONTEXT), { routes: 0, endOfRib: V4 });
  assert.equal(v.endOfRibFrom(ids[0]!, V4), false);
  assert.equal(v.endOfRibFrom(ids[0]!, V4), false, 'the same replica twice is one');
  assert.equal(v.endOfRibFrom(ids[1]!, V4), true);
  assert.equal(v.endOfRibFrom(ids[2]!, V4), false, 'once per session');
});

test('table(): the voted output of a family, for the neighbour’s ROUTE-REFRESH', () => {
  const { v, ids } = vote();
  for (const id of ids) {
    v.fromReplica(id, update(65002, ['198.18.1.0/24', '198.18.2.0/24']), AS4_CONTEXT);
    v.fromReplica(id, update(65003, ['198.18.3.0/24']), AS4_CONTEXT);
  }
  v.take();
  const t = new RouteTable();
  for (const m of v.table(V4)) t.apply(m);
  assert.equal(t.routes.size, 3);
  assert.deepEqual(v.table(V6), []);
});
