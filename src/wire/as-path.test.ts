import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asPathLength, effectiveAsPath, reconcileAggregator, reconcileAsPath } from './as-path.js';
import type { AsPathSegment, PathAttribute } from './types.js';

const SEQ = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
const SET = (...asns: number[]): AsPathSegment => ({ type: 1, asns });
const CSEQ = (...asns: number[]): AsPathSegment => ({ type: 3, asns });
const CSET = (...asns: number[]): AsPathSegment => ({ type: 4, asns });

test('path length: AS_SET counts 1, confederation segments 0', () => {
  assert.equal(asPathLength([SEQ(1, 2, 3), SET(4, 5, 6)]), 4);
  assert.equal(asPathLength([CSEQ(65001, 65002), CSET(65003), SEQ(1)]), 1);
  assert.equal(asPathLength([]), 0);
});

test('RFC 6793 §4.2.3: AS_TRANS entries replaced from AS4_PATH', () => {
  assert.deepEqual(reconcileAsPath([SEQ(1, 2, 23456, 23456)], [SEQ(70000, 80000)]), [
    SEQ(1, 2, 70000, 80000),
  ]);
});

test('AS4_PATH longer than AS_PATH is ignored', () => {
  const p = [SEQ(23456)];
  assert.deepEqual(reconcileAsPath(p, [SEQ(70000, 80000)]), p);
});

test('same length: AS4_PATH replaces the whole path', () => {
  assert.deepEqual(reconcileAsPath([SEQ(23456, 2)], [SEQ(70000, 2)]), [SEQ(70000, 2)]);
});

test('AS_SET counts as one when taking the leading part', () => {
  assert.deepEqual(reconcileAsPath([SEQ(1, 23456), SET(23456, 3)], [SEQ(70000), SET(80000, 3)]), [
    SEQ(1, 70000),
    SET(80000, 3),
  ]);
  // The leading part may end on a whole AS_SET.
  assert.deepEqual(reconcileAsPath([SET(5, 6), SEQ(23456)], [SEQ(70000)]), [SET(5, 6), SEQ(70000)]);
});

test('confederation segments of AS_PATH are kept, those of AS4_PATH dropped', () => {
  assert.deepEqual(reconcileAsPath([CSEQ(65001), SEQ(23456, 2)], [SEQ(70000, 2)]), [
    CSEQ(65001),
    SEQ(70000, 2),
  ]);
  assert.deepEqual(reconcileAsPath([SEQ(1, 23456)], [CSEQ(9), SEQ(70000)]), [SEQ(1, 70000)]);
});

test('no AS4_PATH: AS_PATH unchanged', () => {
  const p = [SEQ(1, 2)];
  assert.equal(reconcileAsPath(p, undefined), p);
});

const agg = (code: 7 | 18, asn: number): Extract<PathAttribute, { kind: 'aggregator' }> => ({
  kind: 'aggregator',
  code,
  flags: 0xc0,
  asn,
  address: Uint8Array.of(192, 0, 2, 1),
  asnWidth: code === 18 ? 4 : 2,
});

test('AS4_AGGREGATOR is used only when AGGREGATOR carries AS_TRANS', () => {
  const r1 = reconcileAggregator(agg(7, 23456), agg(18, 70000));
  assert.equal(r1.aggregator?.asn, 70000);
  assert.equal(r1.ignoreAs4, false);
  const r2 = reconcileAggregator(agg(7, 65000), agg(18, 70000));
  assert.equal(r2.aggregator?.asn, 65000);
  assert.equal(r2.ignoreAs4, true);
  assert.equal(reconcileAggregator(undefined, agg(18, 70000)).aggregator, undefined);
});

test('effectiveAsPath: AGGREGATOR not AS_TRANS makes AS4_PATH ignored too', () => {
  const attrs: PathAttribute[] = [
    { kind: 'as-path', code: 2, flags: 0x40, asnWidth: 2, segments: [SEQ(1, 23456)] },
    agg(7, 65000),
    { kind: 'as-path', code: 17, flags: 0xc0, asnWidth: 4, segments: [SEQ(70000)] },
    agg(18, 70000),
  ];
  assert.deepEqual(effectiveAsPath(attrs, false).asPath, [SEQ(1, 23456)]);
  const attrs2 = attrs.map((a) => (a.kind === 'aggregator' && a.code === 7 ? agg(7, 23456) : a));
  const e = effectiveAsPath(attrs2, false);
  assert.deepEqual(e.asPath, [SEQ(1, 70000)]);
  assert.equal(e.aggregator?.asn, 70000);
  // On a 4-octet session the AS4_* attributes are not consulted.
  assert.deepEqual(effectiveAsPath(attrs2, true).asPath, [SEQ(1, 23456)]);
});
