import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AS_TRANS, findAttribute, type PathAttribute } from '../wire/index.js';
import { prependAsn, prependSegments } from './edit.js';
import { evaluatePolicy } from './policy.js';
import {
  addr,
  as4Path,
  asPath,
  assertWireRoundTrip,
  compile,
  med,
  nextHop,
  origin,
  route,
  SEQ,
  SET,
} from './testing.js';
import type { PolicyResult, PolicyRoute } from './types.js';

const ctx = { localAsn: 64512 };
const base = [origin(), asPath([SEQ(65001)]), nextHop('198.18.0.1')];

function accept(then: unknown[], r: PolicyRoute = route('198.18.0.0/24', base)): PolicyResult {
  const res = evaluatePolicy(compile({ terms: [{ then: [...then, 'accept'] }] }), r, ctx);
  assert.equal(res.action, 'accept');
  return res;
}

const codes = (attrs: readonly PathAttribute[]) => attrs.map((a) => a.code);

test('set-local-pref and set-med create absent attributes in canonical order, default flags', () => {
  const out = accept([{ 'set-local-pref': 200 }, { 'set-med': 50 }]).attributes;
  assert.deepEqual(codes(out), [1, 2, 3, 4, 5]);
  assert.deepEqual(out[3], { kind: 'med', code: 4, flags: 0x80, med: 50 });
  assert.deepEqual(out[4], { kind: 'local-pref', code: 5, flags: 0x40, localPref: 200 });
  assertWireRoundTrip(out);
  // The same on a 2-octet session.
  const r2 = route('198.18.0.0/24', [origin(), asPath([SEQ(65001)], 2), nextHop('198.18.0.1')]);
  assertWireRoundTrip(accept([{ 'set-local-pref': 200 }, { 'set-med': 50 }], r2).attributes, false);
});

test('set on a present attribute keeps its place and flags', () => {
  const lp: PathAttribute = { kind: 'local-pref', code: 5, flags: 0x50, localPref: 100 };
  const r = route('198.18.0.0/24', [...base, lp]);
  const out = accept([{ 'set-local-pref': 300 }], r).attributes;
  assert.deepEqual(out[3], { ...lp, localPref: 300 });
  assertWireRoundTrip(out);
});

test('set-med relative: +n / -n saturate, absent MED counts as 0', () => {
  const withMed = (m: number) => route('198.18.0.0/24', [...base, med(m)]);
  const m = (res: PolicyResult) => findAttribute(res.attributes, 'med')?.med;
  assert.equal(m(accept([{ 'set-med': '+10' }], withMed(5))), 15);
  assert.equal(m(accept([{ 'set-med': '-10' }], withMed(5))), 0);
  assert.equal(m(accept([{ 'set-med': '+10' }], withMed(0xfffffffa))), 0xffffffff);
  assert.equal(m(accept([{ 'set-med': '+7' }])), 7);
  assert.equal(m(accept([{ 'set-med': '-7' }])), 0);
});

test('set-origin', () => {
  const out = accept(
    [{ 'set-origin': 'incomplete' }],
    route('198.18.0.0/24', [nextHop('198.18.0.1')]),
  ).attributes;
  assert.deepEqual(out[0], { kind: 'origin', code: 1, flags: 0x40, origin: 2 });
  assert.deepEqual(codes(out), [1, 3]);
  assertWireRoundTrip(out);
});

test('set-next-hop: self is a marker, an address is written', () => {
  const self = accept([{ 'set-next-hop': 'self' }]);
  assert.equal(self.nextHop, 'self');
  assert.equal(self.attributes, base, 'attributes untouched');
  const v4 = accept([{ 'set-next-hop': '198.18.7.7' }]);
  assert.deepEqual(v4.nextHop, addr('198.18.7.7'));
  assert.deepEqual(findAttribute(v4.attributes, 'next-hop')?.nextHop, addr('198.18.7.7'));
  assertWireRoundTrip(v4.attributes);
  // IPv6: the MP_REACH_NLRI next hop (global + link-local) becomes the one address.
  const mp: PathAttribute = {
    kind: 'mp-reach',
    code: 14,
    flags: 0x80,
    afi: 2,
    safi: 1,
    nextHop: new Uint8Array(32).fill(1),
    reserved: 0,
    nlri: [],
  };
  const v6 = accept(
    [{ 'set-next-hop': '2001:db8::1' }],
    route('2001:db8:1::/48', [origin(), asPath([]), mp]),
  );
  assert.deepEqual(findAttribute(v6.attributes, 'mp-reach')?.nextHop, addr('2001:db8::1'));
  assertWireRoundTrip(v6.attributes);
  // The last set-next-hop wins.
  assert.deepEqual(
    accept([{ 'set-next-hop': 'self' }, { 'set-next-hop': '198.18.0.9' }]).nextHop,
    addr('198.18.0.9'),
  );
});

test('prepend own ASN n times into the leading AS_SEQUENCE (4-octet path)', () => {
  const out = accept([{ prepend: 3 }]).attributes;
  assert.deepEqual(findAttribute(out, 'as-path')?.segments, [SEQ(64512, 64512, 64512, 65001)]);
  assertWireRoundTrip(out);
  const given = accept([{ prepend: { asn: 4200000001, count: 2 } }]).attributes;
  assert.deepEqual(findAttribute(given, 'as-path')?.segments, [SEQ(4200000001, 4200000001, 65001)]);
  assertWireRoundTrip(given);
});

test('prepend in front of an AS_SET opens a new AS_SEQUENCE; none creates AS_PATH', () => {
  assert.deepEqual(prependSegments([SET(1, 2)], 7, 2), [SEQ(7, 7), SET(1, 2)]);
  assert.deepEqual(prependSegments([], 7, 1), [SEQ(7)]);
  // Confederation segments stay in front.
  const cseq = { type: 3, asns: [65010] };
  assert.deepEqual(prependSegments([cseq, SEQ(1)], 7, 1), [cseq, SEQ(7, 1)]);
  const created = prependAsn([origin(), nextHop('198.18.0.1')], 65000, 1);
  assert.deepEqual(codes(created), [1, 2, 3]);
  assert.deepEqual(created[1], {
    kind: 'as-path',
    code: 2,
    flags: 0x40,
    segments: [SEQ(65000)],
    asnWidth: 4,
  });
});

test('prepend splits at 255 ASNs per segment (RFC 4271 §5.1.2)', () => {
  const existing = SEQ(...new Array<number>(250).fill(65001));
  const segs = prependSegments([existing], 7, 10);
  assert.deepEqual(
    segs.map((s) => s.asns.length),
    [5, 255],
  );
  assert.deepEqual(segs[0]!.asns, [7, 7, 7, 7, 7]);
  assert.deepEqual(segs[1]!.asns.slice(0, 6), [7, 7, 7, 7, 7, 65001]);
  // Exactly full: no empty segment; larger counts fill whole segments right to left.
  assert.deepEqual(
    prependSegments([existing], 7, 5).map((s) => s.asns.length),
    [255],
  );
  assert.deepEqual(
    prependSegments([SEQ(1)], 7, 255 + 254 + 3).map((s) => s.asns.length),
    [3, 255, 255],
  );
  // Through the wire: the segments as built are what a decoder reads back.
  const out = prependAsn([origin(), asPath([existing]), nextHop('198.18.0.1')], 7, 10);
  assertWireRoundTrip(out);
  assertWireRoundTrip(
    prependAsn([origin(), asPath([existing], 2), nextHop('198.18.0.1')], 7, 10),
    false,
  );
});

test('prepend on a 2-octet AS_PATH: AS_TRANS there, real ASN in AS4_PATH', () => {
  // A 2-octet ASN: only AS_PATH changes.
  const small = prependAsn([origin(), asPath([SEQ(65001)], 2)], 65000, 1);
  assert.deepEqual(codes(small), [1, 2]);
  assert.deepEqual(findAttribute(small, 'as-path')?.segments, [SEQ(65000, 65001)]);
  // A 4-octet ASN without AS4_PATH: AS4_PATH is created from the existing path.
  const big = prependAsn(
    [origin(), asPath([SEQ(65001), SET(1, 2)], 2), nextHop('198.18.0.1')],
    4200000001,
    2,
  );
  assert.deepEqual(codes(big), [1, 2, 3, 17]);
  assert.deepEqual(big[1], asPath([SEQ(AS_TRANS, AS_TRANS, 65001), SET(1, 2)], 2));
  assert.deepEqual(big[3], as4Path([SEQ(4200000001, 4200000001, 65001), SET(1, 2)]));
  assertWireRoundTrip(big, false);
  // An existing AS4_PATH is prepended to as well, even for a 2-octet ASN.
  const both = prependAsn([asPath([SEQ(AS_TRANS)], 2), as4Path([SEQ(4200000009)])], 65000, 1);
  assert.deepEqual(both, [asPath([SEQ(65000, AS_TRANS)], 2), as4Path([SEQ(65000, 4200000009)])]);
  assertWireRoundTrip(both, false);
});
