// TCP option walk (spec §2.1): what is kept, what is NOPed out, what is malformed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readSynOptions,
  sanitizeOptions,
  shiftSackBlocks,
  stripSack,
  synAckOptions,
} from './options.js';

const u8 = (...b: number[]) => Uint8Array.from(b);

test('keeps NOP, MSS, WS, SACK-permitted, SACK and timestamps untouched', () => {
  const o = u8(
    2,
    4,
    5,
    0xb4,
    4,
    2,
    8,
    10,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    1,
    3,
    3,
    7,
    1,
    1,
    5,
    10,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    2,
  );
  const copy = o.slice();
  assert.deepEqual(sanitizeOptions(o), { ok: true, changed: false });
  assert.deepEqual(o, copy);
});

test('NOPs out MD5 (19), TCP-AO (29), TFO (34), MPTCP (30) and experiments, same length', () => {
  const md5 = [19, 18, ...new Array<number>(16).fill(9)];
  const o = u8(...md5, 34, 2, 30, 4, 0, 0, 254, 4, 1, 2, 2, 4, 5, 0xb4);
  assert.deepEqual(sanitizeOptions(o), { ok: true, changed: true });
  assert.deepEqual([...o], [...new Array<number>(28).fill(1), 2, 4, 5, 0xb4]);
});

test('a kept option with a wrong length is NOPed; bytes after EOL are left alone', () => {
  const o = u8(2, 3, 9, 3, 3, 1, 1, 0, 19, 5);
  assert.deepEqual(sanitizeOptions(o), { ok: true, changed: true });
  assert.deepEqual([...o], [1, 1, 1, 3, 3, 1, 1, 0, 19, 5]);
});

test('length 0 or 1 and overruns are malformed', () => {
  assert.deepEqual(sanitizeOptions(u8(2, 0, 0, 0)), { ok: false, reason: 'tcp-option-length' });
  assert.deepEqual(sanitizeOptions(u8(1, 8, 1, 0)), { ok: false, reason: 'tcp-option-length' });
  assert.deepEqual(sanitizeOptions(u8(1, 1, 1, 2)), { ok: false, reason: 'tcp-option-overrun' });
  assert.deepEqual(sanitizeOptions(u8(8, 10, 0, 0)), { ok: false, reason: 'tcp-option-overrun' });
});

test('readSynOptions learns MSS, WS and SACK-permitted', () => {
  assert.deepEqual(readSynOptions(u8(2, 4, 6, 0x40, 1, 3, 3, 2, 4, 2, 0, 0)), {
    mss: 0x640,
    ws: 2,
    sackPermitted: true,
  });
  assert.deepEqual(readSynOptions(u8(1, 1, 1, 0)), { sackPermitted: false });
});

test('shiftSackBlocks adds delta to every edge, wrapping mod 2^32; stripSack removes them', () => {
  const o = u8(1, 1, 5, 18, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2);
  assert.equal(shiftSackBlocks(o, 2), true);
  assert.deepEqual([...o], [1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 11, 0, 0, 0, 3, 0, 0, 0, 4]);
  assert.equal(shiftSackBlocks(o, 0), false);
  assert.equal(stripSack(o), true);
  assert.deepEqual([...o], new Array<number>(20).fill(1));
  assert.equal(stripSack(o), false);
});

test('synAckOptions: MSS, WS, SACK-permitted, EOL padding, never a timestamp', () => {
  assert.deepEqual([...synAckOptions({ mss: 0x640, ws: 2 })], [2, 4, 6, 0x40, 3, 3, 2, 0]);
  assert.deepEqual(
    [...synAckOptions({ mss: 1460, ws: 7, sackPermitted: true })],
    [2, 4, 5, 0xb4, 3, 3, 7, 4, 2, 0, 0, 0],
  );
  assert.deepEqual([...synAckOptions({})], []);
});
