// Input compaction (input-compaction.ts) on crafted streams: each case replays the full
// stream and the compacted one through the speaker's receive path (compaction-testing.ts)
// and expects the same RIB, plus what RFC 4271 §9 / RFC 7606 / RFC 7911 / RFC 4760 /
// RFC 4724 say the RIB must hold. Messages are built by hand from the RFC layouts
// (RFC 4271 §4, RFC 4760 §3-4, RFC 7911 §3), not with our encoder.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeContext, type CodecContext } from '../wire/index.js';
import { compactInput, establishedOffset } from './input-compaction.js';
import {
  KEEPALIVE,
  OPEN,
  asPath,
  attr,
  med,
  mpReach6,
  mpUnreach6,
  msg,
  nextHop,
  origin,
  p4,
  p6,
  replayRib,
  u16,
  u32,
  update,
} from './compaction-testing.js';

const AS4 = makeContext({ as4: true });
const base = [origin(), asPath(65002), nextHop(198, 18, 2, 2)];
const stream = (...msgs: number[][]): Uint8Array =>
  Uint8Array.from([...OPEN, ...KEEPALIVE, ...msgs.flat()]);

/** Replays full and compacted; asserts equal RIBs and returns the compacted one's. */
function check(input: Uint8Array, ctx: CodecContext = AS4) {
  const full = replayRib(input, ctx);
  const c = compactInput(input, ctx);
  const replayed = Uint8Array.from([...c.output, ...input.subarray(c.consumed)]);
  const compacted = replayRib(replayed, ctx);
  assert.deepEqual(compacted.routes, full.routes, 'RIB from the compacted stream');
  assert.equal(compacted.received, full.received, 'Adj-RIB-In size');
  assert.equal(compacted.ended, full.ended, 'how the replay ended');
  return { full, c, compacted };
}

/** Every message of a stream after the OPEN/KEEPALIVE exchange, as [type, length]. */
function messages(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let off = establishedOffset(b)!; off + 19 <= b.length;) {
    const len = (b[off + 16]! << 8) | b[off + 17]!;
    out.push([b[off + 18]!, len]);
    off += len;
  }
  return out;
}

test('the OPEN/KEEPALIVE exchange is kept as received; nothing to do before it completes', () => {
  const s = stream(update([], base, [p4('198.18.10.0/24')]));
  const c = compactInput(s, AS4);
  assert.deepEqual(
    [...c.output.subarray(0, OPEN.length + KEEPALIVE.length)],
    [...OPEN, ...KEEPALIVE],
  );
  const early = compactInput(Uint8Array.from(OPEN), AS4);
  assert.equal(early.consumed, 0);
  assert.equal(early.output.length, 0);
});

test('withdrawals come before announcements within an UPDATE; later UPDATEs win', () => {
  const s = stream(
    update([], base, [p4('198.18.10.0/24'), p4('198.18.11.0/24'), p4('198.18.12.0/24')]),
    // Withdrawn and announced in the same UPDATE: announced (RFC 4271 §9 order of the engine).
    update([p4('198.18.10.0/24')], [...base, med(5)], [p4('198.18.10.0/24')]),
    // Announced, then withdrawn later: gone.
    update([p4('198.18.11.0/24')], []),
    // Withdrawing something never announced changes nothing.
    update([p4('198.18.99.0/24')], []),
  );
  const { compacted, c } = check(s);
  assert.deepEqual([...compacted.routes.keys()].sort(), ['198.18.10.0/24', '198.18.12.0/24']);
  assert.equal(compacted.received, 2);
  assert.equal(c.stats.routes, 2);
  // Two attribute sets (with and without MED): two UPDATEs.
  assert.deepEqual(
    messages(c.output).map(([t]) => t),
    [2, 2],
  );
});

test('RFC 7606 treat-as-withdraw removes the route; attribute-discard keeps it and its octets', () => {
  const badAggregator = attr(0xc0, 7, [1, 2, 3]); // AGGREGATOR of length 3: attribute-discard
  const s = stream(
    update([], base, [p4('198.18.20.0/24'), p4('198.18.21.0/24')]),
    // ORIGIN 7 is invalid (RFC 7606 §7.1): treat-as-withdraw.
    update([], [origin(7), asPath(65002), nextHop(198, 18, 2, 2)], [p4('198.18.20.0/24')]),
    // NEXT_HOP missing with NLRI in the field (RFC 7606 §3(d)): treat-as-withdraw.
    update([], [origin(), asPath(65002)], [p4('198.18.21.0/24')]),
    update([], [...base, badAggregator], [p4('198.18.22.0/24')]),
  );
  const { compacted, c } = check(s);
  assert.deepEqual([...compacted.routes.keys()], ['198.18.22.0/24']);
  assert.equal(messages(c.output).length, 1, 'withdrawn routes are not replayed');
  const out = Buffer.from(c.output);
  assert.ok(
    out.includes(Buffer.from(badAggregator)),
    'the malformed attribute is replayed as received',
  );
});

test('ADD-PATH: routes are (prefix, path ID); each path withdrawn on its own', () => {
  const ctx = makeContext({ as4: true, addPath: [[1, 1]] });
  const s = stream(
    update([], base, [p4('198.18.30.0/24', 1), p4('198.18.30.0/24', 2), p4('198.18.31.0/24', 1)]),
    update([p4('198.18.30.0/24', 1)], []),
    update([], [...base, med(9)], [p4('198.18.31.0/24', 7)]),
  );
  const { compacted } = check(s, ctx);
  const paths = (p: string): number[] =>
    (compacted.routes.get(p) ?? []).map((x) => Number(x.split(' ')[0])).sort((a, b) => a - b);
  assert.deepEqual(paths('198.18.30.0/24'), [2]);
  assert.deepEqual(paths('198.18.31.0/24'), [1, 7]);
});

test('IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI, mixed with IPv4 NLRI in one UPDATE', () => {
  const s = stream(
    update([], [...base, mpReach6(p6(1), p6(2), p6(3))], [p4('198.18.40.0/24')]),
    update([], [mpUnreach6(p6(2))]),
    // Withdrawn and re-announced in one UPDATE (MP_UNREACH before MP_REACH): announced.
    update([], [mpUnreach6(p6(3)), origin(), asPath(65002, 64500), mpReach6(p6(3))]),
  );
  const { compacted } = check(s);
  assert.deepEqual([...compacted.routes.keys()].sort(), [
    '198.18.40.0/24',
    '2001:db8:1::/48',
    '2001:db8:3::/48',
  ]);
});

test('End-of-RIB markers are kept once per family, after the routes', () => {
  const eor4 = update([], []);
  const eor6 = update([], [mpUnreach6()]);
  const s = stream(eor4, update([], base, [p4('198.18.50.0/24')]), eor6, eor4, eor6);
  const { c } = check(s);
  const types = messages(c.output);
  assert.equal(types.length, 3);
  const tail = c.output.subarray(c.output.length - eor4.length - eor6.length);
  assert.deepEqual([...tail], [...eor4, ...eor6]);
});

test('KEEPALIVE and ROUTE-REFRESH leave no trace; routes sharing attributes are packed', () => {
  const many: number[][] = [];
  for (let i = 0; i < 1500; i++) {
    many.push(update([], base, [p4(`198.${18 + (i >> 8)}.${i & 0xff}.0/24`)]));
    if (i % 100 === 0) many.push(KEEPALIVE, msg(5, [0, 1, 0, 1]));
  }
  const s = stream(...many);
  const { c, compacted } = check(s);
  assert.equal(compacted.routes.size, 1500);
  const out = messages(c.output);
  assert.ok(
    out.every(([t, len]) => t === 2 && len <= 4096),
    'UPDATEs of at most 4096 octets',
  );
  // 1500 × 4 NLRI octets in ≤ 4096-octet UPDATEs with ~26 octets of header and attributes.
  assert.ok(out.length <= 2, `${out.length} UPDATEs for 1500 routes with one attribute set`);
  assert.ok(c.output.length < s.length / 5);
});

test('a message the session cannot survive ends the compaction: kept as received from there', () => {
  const notification = msg(3, [6, 2]);
  const after = update([], base, [p4('198.18.61.0/24')]);
  const s = stream(update([], base, [p4('198.18.60.0/24')]), notification, after);
  const { c, full } = check(s);
  assert.equal(full.ended?.startsWith('NOTIFICATION'), true);
  assert.equal(c.consumed, s.length);
  assert.deepEqual(
    [...c.output.subarray(c.output.length - notification.length - after.length)],
    [...notification, ...after],
  );
  // A malformed UPDATE (attribute length overrunning MP_REACH_NLRI: session reset).
  const bad = update([], [[0x80, 14, 40, 0, 2, 1]]);
  const r = check(stream(update([], base, [p4('198.18.62.0/24')]), bad));
  assert.ok(r.full.ended, 'the malformed UPDATE ends the replay');
});

test('a message cut by the end of the input is left for the next compaction', () => {
  const whole = update([], base, [p4('198.18.70.0/24')]);
  const next = update([], base, [p4('198.18.71.0/24')]);
  const s = stream(whole, next.slice(0, 10));
  const c = compactInput(s, AS4);
  assert.equal(c.consumed, s.length - 10);
  check(stream(whole, next));
});

test('a 2-octet AS session: AS4_PATH is reconciled again on replay', () => {
  const ctx = makeContext({ as4: false });
  // AS_PATH [65002, AS_TRANS] and AS4_PATH [4200000001] (RFC 6793 §4.2.3).
  const path2 = attr(0x40, 2, [2, 2, ...u16(65002), ...u16(23456)]);
  const as4Path = attr(0xc0, 17, [2, 1, ...u32(4200000001)]);
  const s = stream(
    update([], [origin(), path2, nextHop(198, 18, 2, 2), as4Path], [p4('198.18.80.0/24')]),
    update([], [origin(), path2, nextHop(198, 18, 2, 2)], [p4('198.18.81.0/24')]),
  );
  const { compacted } = check(s, ctx);
  assert.notEqual(
    compacted.routes.get('198.18.80.0/24')?.[0],
    compacted.routes.get('198.18.81.0/24')?.[0],
    'AS4_PATH makes the two paths differ',
  );
});

test('compacting the compacted stream plus more input gives the same RIB as the whole', () => {
  const first = stream(
    update([], base, [p4('198.18.90.0/24'), p4('198.18.91.0/24')]),
    update([], [...base, mpReach6(p6(9))]),
  );
  const more = Uint8Array.from([
    ...update([p4('198.18.90.0/24')], [...base, med(1)], [p4('198.18.92.0/24')]),
    ...update([], [mpUnreach6(p6(9))]),
  ]);
  const whole = Uint8Array.from([...first, ...more]);
  const once = compactInput(first, AS4);
  const twice = compactInput(Uint8Array.from([...once.output, ...more]), AS4);
  assert.deepEqual(replayRib(twice.output, AS4).routes, replayRib(whole, AS4).routes);
  assert.deepEqual([...replayRib(twice.output, AS4).routes.keys()].sort(), [
    '198.18.91.0/24',
    '198.18.92.0/24',
  ]);
});
