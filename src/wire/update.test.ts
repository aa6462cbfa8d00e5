import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../lib/bytes.js';
import { makeContext } from './context.js';
import { decodeMessage, encodeMessage } from './message.js';
import type { UpdateMessage } from './types.js';
import { frame, hex } from './testing.js';

const ctx2 = makeContext();
const ctx4 = makeContext({ as4: true });

const upd = (body: string): Uint8Array => frame(2, body);

function decodeOk(msg: Uint8Array, ctx = ctx2): UpdateMessage {
  const r = decodeMessage(msg, ctx);
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
  assert.equal(r.message.type, 2);
  return r.message as UpdateMessage;
}

// ORIGIN IGP, AS_PATH SEQ 65000, NEXT_HOP 192.0.2.1: 4 + 7 + 7 = 18 octets.
const BASE = '40 01 01 00  40 02 04 02 01 fde8  40 03 04 c0000201';

test('a plain IPv4 UPDATE: withdrawn, attributes and NLRI; byte-exact round trip', () => {
  const msg = upd(`0004 18 c63364  0012 ${BASE}  18 c63365 10 c612`);
  const m = decodeOk(msg);
  assert.deepEqual(m.withdrawn, [{ prefix: { afi: 1, addr: hex('c6336400'), len: 24 } }]);
  assert.deepEqual(
    m.attributes.map((a) => a.kind),
    ['origin', 'as-path', 'next-hop'],
  );
  assert.deepEqual(m.nlri, [
    { prefix: { afi: 1, addr: hex('c6336500'), len: 24 } },
    { prefix: { afi: 1, addr: hex('c6120000'), len: 16 } },
  ]);
  assert.equal(m.errors, undefined);
  assert.equal(m.treatAsWithdraw, undefined);
  assert.equal(toHex(encodeMessage(m, ctx2)), toHex(msg));
});

test('End-of-RIB marker (RFC 4724 §2): an empty UPDATE', () => {
  const m = decodeOk(upd('0000 0000'));
  assert.deepEqual(m, { type: 2, withdrawn: [], attributes: [], nlri: [] });
});

test('attributes without NLRI need no mandatory attributes', () => {
  const m = decodeOk(upd('0000 0007 c0 08 04 fde80064'));
  assert.equal(m.errors, undefined);
});

test('MP_UNREACH alone needs no other attribute (RFC 4760 §4)', () => {
  const m = decodeOk(upd('0000 000b 80 0f 08 0002 01 20 20010db8'));
  assert.equal(m.errors, undefined);
});

test('missing mandatory attribute with NLRI → treat-as-withdraw 3/3 (RFC 7606 §3(d))', () => {
  // ORIGIN + AS_PATH but no NEXT_HOP.
  const m = decodeOk(upd('0000 000b 40 01 01 00 40 02 04 02 01 fde8 18 c63364'));
  assert.equal(m.treatAsWithdraw, true);
  assert.equal(m.errors?.[0]?.subcode, 3);
  assert.equal(toHex(m.errors![0]!.data), '03');
  // MP_REACH with NLRI does not need NEXT_HOP, but does need ORIGIN and AS_PATH.
  const nh = '20010db8000000000000000000000001';
  const mp = `80 0e 1a 0002 01 10 ${nh} 00 20 20010db8`;
  const ok = decodeOk(upd(`0000 0028 40 01 01 00 40 02 04 02 01 fde8 ${mp}`));
  assert.equal(ok.errors, undefined);
  const bad = decodeOk(upd(`0000 001d ${mp}`));
  assert.equal(bad.treatAsWithdraw, true);
  assert.equal(bad.errors?.[0]?.subcode, 3);
});

test('a malformed mandatory attribute is not also reported missing', () => {
  const m = decodeOk(upd('0000 0012 40 01 01 07 40 02 04 02 01 fde8 40 03 04 c0000201 18 c63364'));
  assert.equal(m.treatAsWithdraw, true);
  assert.deepEqual(
    m.errors?.map((e) => e.subcode),
    [6],
  );
});

test('withdrawn routes length beyond the message → session reset 3/1', () => {
  const r = decodeMessage(upd('0010 18 c63364 0000'), ctx2);
  assert.ok(!r.ok);
  assert.equal(r.error.action, 'session-reset');
  assert.deepEqual([r.error.code, r.error.subcode], [3, 1]);
});

test('total path attribute length beyond the message → session reset 3/1', () => {
  const r = decodeMessage(upd(`0000 0030 ${BASE}`), ctx2);
  assert.ok(!r.ok);
  assert.deepEqual([r.error.action, r.error.code, r.error.subcode], ['session-reset', 3, 1]);
});

test('malformed NLRI field → session reset 3/10 (RFC 7606 §5.3)', () => {
  const r = decodeMessage(upd(`0000 0012 ${BASE} 21 c0000201 01`), ctx2);
  assert.ok(!r.ok);
  assert.deepEqual([r.error.action, r.error.code, r.error.subcode], ['session-reset', 3, 10]);
  const r2 = decodeMessage(upd('0002 18 c6  0000'), ctx2);
  assert.ok(!r2.ok);
  assert.equal(r2.error.subcode, 10);
});

test('attribute overrun: treat-as-withdraw, NLRI still parsed (RFC 7606 §4)', () => {
  // The last attribute claims 8 octets of value but only 1 remains in the block.
  const m = decodeOk(upd(`0000 0016 ${BASE} c0 08 08 00 18 c63364`));
  assert.equal(m.treatAsWithdraw, true);
  assert.equal(m.nlri.length, 1);
});

test('host bits in NLRI and withdrawn routes are masked and reported', () => {
  const m = decodeOk(upd(`0002 07 c3  0012 ${BASE} 17 c63365`));
  assert.deepEqual(m.withdrawn, [{ prefix: { afi: 1, addr: hex('c2000000'), len: 7 } }]);
  assert.deepEqual(m.nlri, [{ prefix: { afi: 1, addr: hex('c6336400'), len: 23 } }]);
  assert.equal(m.hostBits?.length, 2);
});

test('ADD-PATH IPv4 unicast NLRI and withdrawn routes (RFC 7911)', () => {
  const ctx = makeContext({ as4: true, addPath: [[1, 1]] });
  const msg = upd(
    `0008 00000002 18 c63364  0014 40 01 01 00 40 02 06 02 01 0000fde8 40 03 04 c0000201 00000001 18 c63365 00000002 18 c63365`,
  );
  const m = decodeOk(msg, ctx);
  assert.deepEqual(m.withdrawn, [
    { prefix: { afi: 1, addr: hex('c6336400'), len: 24 }, pathId: 2 },
  ]);
  assert.deepEqual(
    m.nlri.map((n) => n.pathId),
    [1, 2],
  );
  assert.equal(toHex(encodeMessage(m, ctx)), toHex(msg));
  // Without ADD-PATH negotiated the same bytes are a different (here malformed) UPDATE.
  assert.equal(decodeMessage(msg, ctx4).ok, false);
});

test('4-octet AS session: AS_PATH and AGGREGATOR round-trip', () => {
  const msg = upd(
    '0000 0023 40 01 01 00 40 02 0a 02 02 0000fde8 00011170 40 03 04 c0000201 c0 07 08 00011170 c0000201 18 c63364',
  );
  const m = decodeOk(msg, ctx4);
  assert.equal(m.errors, undefined);
  assert.equal(toHex(encodeMessage(m, ctx4)), toHex(msg));
});
