// Interned attribute sets: identity by canonical encoding (order, Extended Length, NLRI
// do not matter; everything else does), derived decision fields, reference counting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Writer } from '../lib/bytes.js';
import { parsePrefix } from '../lib/ip.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  AS_TRANS,
  ATTR_FLAG,
  DEFAULT_CONTEXT,
  ORIGIN,
  decodeAttributes,
  encodeAttributes,
  type MpReach,
  type PathAttribute,
} from '../wire/index.js';
import { AttrPool } from './attr-set.js';
import { attrs, attrSpecArb } from './testing.js';

const full = () =>
  attrs({
    origin: ORIGIN.EGP,
    path: [65001, 65002, 65003],
    med: 10,
    localPref: 200,
    communities: [0xfde80001],
    originatorId: 0x01020304,
    clusterIds: [1, 2],
  });

test('property: attribute order does not matter (RFC 4271 §5)', () => {
  fc.assert(
    fc.property(attrSpecArb, fc.integer(), (spec, seed) => {
      const pool = new AttrPool();
      const list = attrs(spec);
      const shuffled = [...list];
      let s = seed >>> 0;
      for (let i = shuffled.length - 1; i > 0; i--) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const j = s % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.equal(pool.intern(shuffled), pool.intern(list));
      assert.equal(pool.size, 1);
    }),
  );
});

test('equal sets are one object; any difference in value or flags makes another', () => {
  const pool = new AttrPool();
  const a = pool.intern(full());
  assert.equal(pool.intern(full()), a);
  assert.equal(a.refs, 2);
  const medChanged = full().map((x) => (x.kind === 'med' ? { ...x, med: 11 } : x));
  assert.notEqual(pool.intern(medChanged), a);
  const partial = full().map((x) =>
    x.kind === 'communities' ? { ...x, flags: x.flags | ATTR_FLAG.PARTIAL } : x,
  );
  assert.notEqual(pool.intern(partial), a);
  // Extended Length is framing only.
  const ext = full().map((x) => ({ ...x, flags: x.flags | ATTR_FLAG.EXTENDED_LENGTH }));
  assert.equal(pool.intern(ext), a);
  assert.equal(pool.size, 3);
});

test('MP_REACH NLRI and MP_UNREACH are not part of the set; the MP next hop is', () => {
  const pool = new AttrPool();
  const nh = new Uint8Array(16).fill(0x20);
  const mp = (prefix: string, hop = nh): MpReach => ({
    kind: 'mp-reach',
    code: 14,
    flags: ATTR_FLAG.OPTIONAL | ATTR_FLAG.EXTENDED_LENGTH,
    afi: 2,
    safi: 1,
    nextHop: hop,
    reserved: 0,
    nlri: [{ prefix: parsePrefix(prefix)! }],
  });
  const unreach: PathAttribute = {
    kind: 'mp-unreach',
    code: 15,
    flags: ATTR_FLAG.OPTIONAL,
    afi: 2,
    safi: 1,
    withdrawn: [{ prefix: parsePrefix('2001:db8:9::/48')! }],
  };
  const base = attrs({ path: [1] });
  const a = pool.intern([...base, mp('2001:db8:1::/48')]);
  const b = pool.intern([...base, mp('2001:db8:2::/48'), unreach]);
  assert.equal(a, b);
  const stored = a.find('mp-reach');
  assert.equal(stored?.nlri, undefined);
  assert.deepEqual(a.mpNextHop, nh);
  assert.equal(a.find('mp-unreach'), undefined);
  const other = pool.intern([...base, mp('2001:db8:1::/48', new Uint8Array(16).fill(0x21))]);
  assert.notEqual(other, a);
  // The abbreviated MRT form is the same set.
  const abbreviated: PathAttribute = { ...mp('::/0'), nlri: undefined, abbreviated: true };
  assert.equal(pool.intern([...base, abbreviated]), a);
});

test('derived fields: path length, neighbour AS, MED, LOCAL_PREF, RR attributes', () => {
  const pool = new AttrPool();
  const s = pool.intern(full());
  assert.equal(s.origin, ORIGIN.EGP);
  assert.equal(s.asPathLength, 3);
  assert.equal(s.neighbourAs, 65001);
  assert.equal(s.med, 10);
  assert.equal(s.localPref, 200);
  assert.equal(s.originatorId, 0x01020304);
  assert.equal(s.clusterListLength, 2);
  assert.deepEqual(s.communities, [0xfde80001]);
  assert.deepEqual(s.nextHop, new Uint8Array([198, 18, 0, 1]));
  const bare = pool.intern([]);
  assert.equal(bare.origin, ORIGIN.INCOMPLETE);
  assert.equal(bare.asPathLength, 0);
  assert.equal(bare.neighbourAs, 0);
  assert.equal(bare.med, undefined);
  assert.equal(bare.localPref, undefined);
  const mixed = pool.intern(
    attrs({
      path: [
        { type: AS_SEG.AS_CONFED_SEQUENCE, asns: [64512, 64513] },
        { type: AS_SEG.AS_SEQUENCE, asns: [65010, 65011] },
        { type: AS_SEG.AS_SET, asns: [1, 2, 3] },
        { type: AS_SEG.AS_CONFED_SET, asns: [64514] },
      ],
    }),
  );
  assert.equal(mixed.asPathLength, 3);
  assert.equal(mixed.neighbourAs, 65010);
  const setFirst = pool.intern(attrs({ path: [{ type: AS_SEG.AS_SET, asns: [1, 2] }] }));
  assert.equal(setFirst.neighbourAs, -1);
  assert.equal(setFirst.asPathLength, 1);
});

test('AS4_PATH is reconciled for 2-octet sessions only (RFC 6793 §4.2.3)', () => {
  const pool = new AttrPool();
  const list: PathAttribute[] = [
    ...attrs({ path: [AS_TRANS, 65001] }),
    {
      kind: 'as-path',
      code: 17,
      flags: ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [4200000001, 65001] }],
      asnWidth: 4,
    },
  ];
  const two = pool.intern(list, DEFAULT_CONTEXT);
  const four = pool.intern(list, AS4_CONTEXT);
  assert.notEqual(two, four);
  assert.equal(two.neighbourAs, 4200000001);
  assert.equal(four.neighbourAs, AS_TRANS);
  // Without AS4_* attributes the session kind does not matter.
  assert.equal(pool.intern(full(), DEFAULT_CONTEXT), pool.intern(full(), AS4_CONTEXT));
});

test('canonical bytes decode to the stored attributes; byte fields are copies', () => {
  const pool = new AttrPool();
  const w = new Writer();
  encodeAttributes(w, full(), AS4_CONTEXT);
  const wire = w.finish();
  const decoded = decodeAttributes(wire, 0, wire.length, AS4_CONTEXT);
  assert.equal(decoded.errors.length, 0);
  const s = pool.intern(decoded.attributes, AS4_CONTEXT);
  assert.equal(s, pool.intern(full()));
  const canon = s.canonicalBytes();
  assert.equal(canon[0], 0);
  const again = decodeAttributes(canon, 1, canon.length, AS4_CONTEXT);
  assert.deepEqual(again.attributes, s.attrs);
  wire.fill(0xee); // the message buffer is reused: the set must not see it
  assert.deepEqual(s.nextHop, new Uint8Array([198, 18, 0, 1]));
  assert.equal(s.originatorId, 0x01020304);
  assert.deepEqual(s.find('originator-id')?.originatorId, new Uint8Array([1, 2, 3, 4]));
});

test('reference counting: release frees, misuse throws', () => {
  const pool = new AttrPool();
  const a = pool.intern(full());
  pool.retain(a);
  assert.equal(a.refs, 2);
  pool.release(a);
  assert.equal(pool.size, 1);
  pool.release(a);
  assert.equal(pool.size, 0);
  assert.equal(pool.lookup(full()), undefined);
  assert.throws(() => pool.release(a), /no reference left/);
  assert.throws(() => pool.retain(a), /already released/);
  const b = pool.intern(full());
  assert.notEqual(b, a);
  assert.ok(b.id > a.id);
});

test('memory sanity: 100k routes over 1k attribute sets keep 1k sets', () => {
  const pool = new AttrPool();
  const held = [];
  for (let i = 0; i < 100_000; i++) {
    held.push(
      pool.intern(
        attrs({ path: [65000 + (i % 1000), 3356], med: 0, nextHop: [198, 18, 0, i % 4] }),
      ),
    );
  }
  assert.equal(pool.size, 1000);
  assert.equal(pool.stats().refs, 100_000);
  assert.ok(pool.stats().sharedBytes <= 4);
  for (const s of held) pool.release(s);
  assert.equal(pool.size, 0);
  assert.equal(pool.stats().refs, 0);
});

test('property: the direct canonical encoder writes what wire encodeAttributes writes', () => {
  const longPath = Array.from({ length: 300 }, (_, i) => 64512 + i);
  fc.assert(
    fc.property(attrSpecArb, fc.boolean(), fc.boolean(), (spec, long, manyCommunities) => {
      const pool = new AttrPool();
      const list = attrs({
        ...spec,
        ...(long ? { path: longPath } : {}),
        ...(manyCommunities ? { communities: Array.from({ length: 70 }, (_, i) => i) } : {}),
      });
      const s = pool.intern(list);
      const w = new Writer();
      encodeAttributes(w, list, AS4_CONTEXT);
      const wire = w.finish();
      assert.deepEqual(s.canonicalBytes().subarray(1), wire);
      // What goes to a 4-octet-AS session unencoded is exactly the encoder's output.
      const block = s.as4WireBlock();
      if (list.some((a) => a.kind === 'mp-reach')) assert.equal(block, undefined);
      else assert.deepEqual(block, wire);
      // The attributes decoded back from the set intern to the set itself.
      assert.equal(pool.intern(s.attrs), s);
    }),
    { numRuns: 300 },
  );
});
