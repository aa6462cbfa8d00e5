// Messages and decode errors → FSM events (RFC 4271 §8.1.5).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventFromDecodeError, eventFromMessage, RFC_EVENT_NUMBER } from './events.js';
import { bgpError } from '../wire/index.js';
import { peerOpen } from './testing.js';

test('all 28 RFC 4271 events are numbered 1..28', () => {
  assert.deepEqual(
    Object.values(RFC_EVENT_NUMBER),
    Array.from({ length: 28 }, (_, i) => i + 1),
  );
});

test('eventFromMessage', () => {
  const open = peerOpen();
  assert.deepEqual(eventFromMessage(open), { type: 'BGPOpen', open });
  assert.equal(eventFromMessage({ type: 4 }).type, 'KeepAliveMsg');
  const ver = { type: 3 as const, code: 2, subcode: 1, data: new Uint8Array(0) };
  assert.equal(eventFromMessage(ver).type, 'NotifMsgVerErr');
  assert.equal(eventFromMessage({ ...ver, subcode: 2 }).type, 'NotifMsg');
  assert.equal(eventFromMessage({ type: 5, afi: 1, safi: 1, subtype: 0 }).type, 'RouteRefreshMsg');
  assert.equal(
    eventFromMessage({ type: 2, withdrawn: [], attributes: [], nlri: [] }).type,
    'UpdateMsg',
  );
});

test('eventFromDecodeError', () => {
  const e = (code: number) => bgpError('session-reset', code, 1, 'x');
  assert.equal(eventFromDecodeError(e(1)).type, 'BGPHeaderErr');
  assert.equal(eventFromDecodeError(e(2)).type, 'BGPOpenMsgErr');
  assert.equal(eventFromDecodeError(e(3)).type, 'UpdateMsgErr');
});
