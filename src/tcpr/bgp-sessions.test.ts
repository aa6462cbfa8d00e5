// establishedOffset: where the replay of a recovered session's input starts (after the
// peer's OPEN and the KEEPALIVE that completed the handshake, RFC 4271 §8.2.2). Messages
// are built by hand from the RFC 4271 §4 layouts, not with our encoder.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { establishedOffset, sessionDirName } from './bgp-sessions.js';

const marker = new Array<number>(16).fill(0xff);
const msg = (type: number, body: number[] = []): number[] => {
  const len = 19 + body.length;
  return [...marker, len >> 8, len & 0xff, type, ...body];
};
// OPEN: version 4, AS 65002, hold 30, BGP id 198.18.2.2, no optional parameters.
const OPEN = msg(1, [4, 0xfd, 0xea, 0, 30, 198, 18, 2, 2, 0]);
const KEEPALIVE = msg(4);
// UPDATE withdrawing nothing, no attributes, no NLRI (an IPv4 End-of-RIB).
const EOR = msg(2, [0, 0, 0, 0]);

test('establishedOffset: after the OPEN and the first KEEPALIVE', () => {
  const stream = Uint8Array.from([...OPEN, ...KEEPALIVE, ...EOR, ...KEEPALIVE]);
  assert.equal(establishedOffset(stream), OPEN.length + KEEPALIVE.length);
});

test('establishedOffset: undefined before the handshake completed, or on a bad length', () => {
  assert.equal(establishedOffset(Uint8Array.from(OPEN)), undefined);
  assert.equal(establishedOffset(Uint8Array.from([...OPEN, ...KEEPALIVE.slice(0, 10)])), undefined);
  // A KEEPALIVE before any OPEN does not count.
  assert.equal(establishedOffset(Uint8Array.from([...KEEPALIVE, ...OPEN])), undefined);
  const bad = [...OPEN];
  bad[17] = 5; // length 5 < 19
  assert.equal(establishedOffset(Uint8Array.from([...bad, ...KEEPALIVE])), undefined);
});

test('sessionDirName: one safe directory name per neighbour key', () => {
  assert.equal(sessionDirName('198.18.2.2'), '198.18.2.2');
  assert.equal(sessionDirName('2001:db8::2'), '2001-db8--2');
  assert.equal(sessionDirName('../x y'), '.._x_y');
  assert.equal(sessionDirName('..'), '_..');
});
