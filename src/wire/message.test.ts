import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../lib/bytes.js';
import { makeContext } from './context.js';
import { KEEPALIVE_BYTES, decodeMessage, encodeMessage } from './message.js';
import {
  decodeShutdownCommunication,
  describeNotification,
  encodeShutdownCommunication,
} from './notification.js';
import type { NotificationMessage } from './types.js';
import { frame, hex } from './testing.js';

const ctx = makeContext();

test('KEEPALIVE decodes and encodes', () => {
  const r = decodeMessage(KEEPALIVE_BYTES, ctx);
  assert.deepEqual(r, { ok: true, message: { type: 4 } });
  assert.equal(toHex(encodeMessage({ type: 4 }, ctx)), toHex(KEEPALIVE_BYTES));
});

test('NOTIFICATION with data round-trips', () => {
  const msg = frame(3, '03 05 40 01 02 0000');
  const r = decodeMessage(msg, ctx);
  assert.deepEqual(r, {
    ok: true,
    message: { type: 3, code: 3, subcode: 5, data: hex('40010200 00') },
  });
  assert.equal(
    toHex(encodeMessage((r as { message: NotificationMessage }).message, ctx)),
    toHex(msg),
  );
});

test('describeNotification names code and subcode', () => {
  assert.equal(describeNotification(6, 2), 'Cease / Administrative Shutdown');
  assert.equal(describeNotification(1, 1), 'Message Header Error / Connection Not Synchronized');
  assert.equal(describeNotification(3, 11), 'UPDATE Message Error / Malformed AS_PATH');
  assert.equal(describeNotification(4, 0), 'Hold Timer Expired');
  assert.equal(describeNotification(7, 1), 'ROUTE-REFRESH Message Error / Invalid Message Length');
  assert.equal(describeNotification(6, 99), 'Cease / Unknown Subcode 99');
  assert.equal(describeNotification(42, 0), 'Unknown Error Code 42');
});

test('shutdown communication (RFC 8203 / RFC 9003)', () => {
  const data = encodeShutdownCommunication('maintenance – back at 10:00');
  const n = { code: 6, subcode: 2, data };
  assert.deepEqual(decodeShutdownCommunication(n), {
    text: 'maintenance – back at 10:00',
    rest: new Uint8Array(0),
  });
  assert.equal(decodeShutdownCommunication({ code: 6, subcode: 2, data: hex('') }), undefined);
  assert.equal(decodeShutdownCommunication({ code: 6, subcode: 3, data }), undefined);
  assert.ok('error' in decodeShutdownCommunication({ code: 6, subcode: 4, data: hex('05 6869') })!);
  assert.ok('error' in decodeShutdownCommunication({ code: 6, subcode: 2, data: hex('01 ff') })!);
  assert.equal(encodeShutdownCommunication('é'.repeat(200))[0], 254); // never splits a character
});

test('ROUTE-REFRESH normal, BoRR and EoRR', () => {
  for (const subtype of [0, 1, 2]) {
    const msg = frame(5, `0002 0${subtype} 01`);
    const r = decodeMessage(msg, ctx);
    assert.deepEqual(r, { ok: true, message: { type: 5, afi: 2, subtype, safi: 1 } });
    assert.equal(toHex(encodeMessage({ type: 5, afi: 2, subtype, safi: 1 }, ctx)), toHex(msg));
  }
});

test('ROUTE-REFRESH of the wrong length → 7/1 with the message as data (RFC 7313 §5)', () => {
  const msg = frame(5, '0001 01 01 00');
  const r = decodeMessage(msg, ctx);
  assert.ok(!r.ok);
  assert.deepEqual([r.error.code, r.error.subcode, r.error.action], [7, 1, 'session-reset']);
  assert.equal(toHex(r.error.data), toHex(msg));
});

test('decodeMessage checks the header and the buffer length itself', () => {
  const short = decodeMessage(hex('ffff'), ctx);
  assert.ok(!short.ok && short.error.code === 1 && short.error.subcode === 2);
  const longer = new Uint8Array(KEEPALIVE_BYTES.length + 1);
  longer.set(KEEPALIVE_BYTES);
  const r = decodeMessage(longer, ctx);
  assert.ok(!r.ok && r.error.subcode === 2);
});

test('encodeMessage refuses messages over the negotiated maximum', () => {
  const big = { type: 3 as const, code: 6, subcode: 0, data: new Uint8Array(5000) };
  assert.throws(() => encodeMessage(big, ctx), RangeError);
  assert.equal(encodeMessage(big, makeContext({ extendedMessage: true })).length, 5021);
});
