import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer, Underflow } from './bytes.js';

test('Reader reads big-endian unsigned values and refuses to overrun its view', () => {
  const r = new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]), 0, 6);
  assert.equal(r.u32(), 0xffffffff); // unsigned, not -1
  assert.equal(r.u16(), 0x0102);
  assert.throws(() => r.u8(), Underflow); // byte 6 exists in the buffer but not in the view
});

test('Reader.sub bounds the sub-view and advances the parent', () => {
  const r = new Reader(new Uint8Array([1, 2, 3, 4]));
  const s = r.sub(2);
  assert.equal(r.u8(), 3);
  assert.equal(s.u16(), 0x0102);
  assert.throws(() => s.u8(), Underflow);
});

test('Writer grows and patches reserved length fields', () => {
  const w = new Writer(2);
  const at = w.reserve(2);
  for (let i = 0; i < 300; i++) w.u8(i);
  w.patch(at, 2, 300);
  const out = w.finish();
  assert.equal(out.length, 302);
  assert.equal((out[0]! << 8) | out[1]!, 300);
  assert.equal(out[301], 299 & 0xff);
});
