import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../lib/bytes.js';
import type { BgpError } from './errors.js';
import { Framer } from './framer.js';
import { KEEPALIVE_BYTES } from './message.js';
import { frame, hex } from './testing.js';

function drain(f: Framer): (Uint8Array | BgpError)[] {
  const out: (Uint8Array | BgpError)[] = [];
  for (let m = f.next(); m !== undefined; m = f.next()) {
    out.push(m);
    if (!(m instanceof Uint8Array)) break;
  }
  return out;
}

const STREAM = [
  frame(1, '04 fde8 00b4 c6120001 08 02 06 41 04 0000fde8'),
  KEEPALIVE_BYTES,
  frame(2, '0000 0000'),
  frame(3, '06 02 05 68656c6c6f'),
  frame(5, '0001 00 01'),
];
const ALL = Uint8Array.from(STREAM.flatMap((m) => [...m]));

test('KEEPALIVE_BYTES is the 19-octet header of type 4', () => {
  assert.equal(toHex(KEEPALIVE_BYTES), 'ff'.repeat(16) + '001304');
});

test('every split offset of a multi-message buffer yields the same messages', () => {
  for (let cut = 0; cut <= ALL.length; cut++) {
    const f = new Framer();
    f.push(ALL.subarray(0, cut));
    const got = drain(f);
    f.push(ALL.subarray(cut));
    got.push(...drain(f));
    assert.deepEqual(
      got.map((m) => toHex(m as Uint8Array)),
      STREAM.map(toHex),
      `cut at ${cut}`,
    );
  }
});

test('byte-by-byte feeding, and views stay valid after later pushes', () => {
  const f = new Framer({ initialCapacity: 32 });
  const got: Uint8Array[] = [];
  for (let i = 0; i < ALL.length; i++) {
    f.push(ALL.subarray(i, i + 1));
    for (let m = f.next(); m !== undefined; m = f.next()) got.push(m as Uint8Array);
  }
  assert.deepEqual(got.map(toHex), STREAM.map(toHex));
  assert.equal(f.buffered, 0);
});

function firstError(bytes: Uint8Array, ext = false): BgpError {
  const f = new Framer({ extendedMessage: ext });
  f.push(bytes);
  const m = f.next();
  assert.ok(m !== undefined && !(m instanceof Uint8Array), 'expected an error');
  // A header error kills the framer: the same error again, whatever follows.
  f.push(KEEPALIVE_BYTES);
  assert.equal(f.next(), m);
  return m;
}

test('bad marker → 1/1 Connection Not Synchronized', () => {
  const b = KEEPALIVE_BYTES.slice();
  b[7] = 0xfe;
  const e = firstError(b);
  assert.deepEqual([e.code, e.subcode, e.action], [1, 1, 'session-reset']);
});

test('bad lengths → 1/2 with the length as data', () => {
  const withLen = (type: number, len: number): Uint8Array => {
    const b = new Uint8Array(Math.max(len, 19));
    b.fill(0xff, 0, 16);
    b[16] = len >> 8;
    b[17] = len & 0xff;
    b[18] = type;
    return b;
  };
  const cases: [number, number][] = [
    [4, 18], // below the header
    [4, 20], // KEEPALIVE must be 19
    [1, 28], // OPEN ≥ 29
    [2, 22], // UPDATE ≥ 23
    [3, 20], // NOTIFICATION ≥ 21
    [5, 22], // ROUTE-REFRESH ≥ 23
    [2, 4097], // over 4096 without extended messages
  ];
  for (const [type, len] of cases) {
    const e = firstError(withLen(type, len));
    assert.deepEqual([e.code, e.subcode], [1, 2], `type ${type} length ${len}`);
    assert.equal(toHex(e.data), len.toString(16).padStart(4, '0'));
  }
});

test('extended messages raise the limit to 65535 (RFC 8654)', () => {
  const big = frame(2, new Uint8Array(5000));
  const f = new Framer();
  f.setExtendedMessage(true);
  f.push(big);
  assert.equal((f.next() as Uint8Array).length, 5019);
});

test('unknown type → 1/3 with the type as data', () => {
  const b = frame(9, '');
  const e = firstError(b);
  assert.deepEqual([e.code, e.subcode], [1, 3]);
  assert.equal(toHex(e.data), '09');
});

test('an incomplete header or body waits for more', () => {
  const f = new Framer();
  f.push(hex('ffff'));
  assert.equal(f.next(), undefined);
});
