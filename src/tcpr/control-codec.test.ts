// Side-channel codec: every message round-trips (IPv4 and IPv6), authentication and
// replay guard, every malformation gives its stable code, the JSON hard state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAddr } from '../lib/ip.js';
import type { ConnectionSnapshot, SavedState } from './connection.js';
import {
  decodeControl,
  encodeControl,
  ReplayGuard,
  savedStateFromJson,
  savedStateToJson,
  type ControlErrorCode,
  type ControlMessage,
} from './control-codec.js';

const a4 = (s: string) => parseAddr(s)!;
const KEY = new TextEncoder().encode('a shared secret for tests');

const hard = {
  port: 179,
  peerPort: 40000,
  peerMss: 1460,
  peerWs: 8,
  peerSackPermitted: true,
  appWs: 0xff,
  ack: 0xdeadbeef,
  doneReading: false,
  doneWriting: true,
};
const saved6: SavedState = {
  internalAddr: a4('2001:db8::4'),
  externalAddr: a4('2001:db8::3'),
  peerAddr: a4('2001:db8::2'),
  port: 9999,
  hard,
};
const snap: ConnectionSnapshot = {
  internalAddr: a4('10.10.10.4'),
  externalAddr: a4('10.10.10.3'),
  peerAddr: a4('10.10.10.2'),
  port: 9999,
  hard: { ...hard, doneWriting: false },
  delta: 0x33ff0000,
  ack: 1,
  fin: 2,
  seq: 0xffffffff,
  win: 65535,
  haveFin: true,
  done: false,
  failed: true,
  synSent: false,
  spliced: true,
  peer: { ack: 5, fin: 6, win: 7, haveFin: false, haveAck: true },
  appWsNow: 3,
  spliceAck: 0xfffffff0,
};

const messages: ControlMessage[] = [
  { type: 'query', conn: { port: 179, peerAddr: a4('10.10.10.2'), peerPort: 40000 } },
  {
    type: 'query',
    conn: { externalAddr: a4('2001:db8::3'), port: 1, peerAddr: a4('2001:db8::2'), peerPort: 2 },
  },
  { type: 'state', state: snap },
  { type: 'unknown', conn: { port: 0, peerAddr: a4('10.0.0.1'), peerPort: 0 } },
  { type: 'update', conn: { port: 1, peerAddr: a4('10.0.0.1'), peerPort: 2 }, fields: {} },
  {
    type: 'update',
    conn: { port: 1, peerAddr: a4('10.0.0.1'), peerPort: 2 },
    fields: {
      ack: 0x80000000,
      doneReading: true,
      doneWriting: false,
      failed: true,
      done: false,
      port: 40001,
      internalAddr: a4('10.10.10.5'),
    },
  },
  { type: 'restore', state: saved6 },
  { type: 'recover', state: saved6 },
  {
    type: 'listen',
    listen: { internalAddr: a4('10.10.10.4'), internalPort: 9999, port: 179 },
    remove: false,
  },
  {
    type: 'listen',
    listen: {
      internalAddr: a4('2001:db8::4'),
      internalPort: 1,
      externalAddr: a4('2001:db8::3'),
      port: 2,
    },
    remove: true,
  },
  { type: 'list', offset: 128 },
  { type: 'list-reply', total: 2, offset: 0, conns: [snap, { ...snap, ...saved6 }] },
  {
    type: 'no-state',
    side: 'peer',
    localAddr: a4('10.10.10.3'),
    localPort: 179,
    peerAddr: a4('10.10.10.2'),
    peerPort: 40000,
  },
  { type: 'ok' },
  { type: 'error', code: 'checkpoint-regression', message: 'zurück — behind' },
];

test('every message round-trips, plain and authenticated', () => {
  for (const m of messages) {
    const plain = decodeControl(encodeControl(m));
    assert.ok(plain.ok, m.type);
    assert.deepEqual(plain.value.msg, m);
    assert.equal(plain.value.authenticated, false);
    const authed = decodeControl(encodeControl(m, { key: KEY, seq: 2 ** 40 + 3 }), { key: KEY });
    assert.ok(authed.ok, m.type);
    assert.deepEqual(authed.value, { msg: m, seq: 2 ** 40 + 3, authenticated: true });
  }
});

function code(b: Uint8Array, opts = {}): ControlErrorCode | 'ok' {
  const r = decodeControl(b, opts);
  if (r.ok) return 'ok';
  assert.ok(r.error.message.length > 10);
  return r.error.code;
}

test('authentication: wrong key, altered byte, missing tag, unexpected tag', () => {
  const m = messages[5]!;
  const b = encodeControl(m, { key: KEY, seq: 9 });
  assert.equal(
    code(b, { key: new TextEncoder().encode('another key') }),
    'ERR_TCPR_CTL_AUTH_FAILED',
  );
  for (const at of [0x08 + 7, 20, b.length - 1]) {
    const x = b.slice();
    x[at] = x[at]! ^ 1;
    assert.equal(code(x, { key: KEY }), 'ERR_TCPR_CTL_AUTH_FAILED', `byte ${at}`);
  }
  assert.equal(code(encodeControl(m), { key: KEY }), 'ERR_TCPR_CTL_AUTH_REQUIRED');
  assert.equal(code(b), 'ERR_TCPR_CTL_AUTH_UNEXPECTED');
});

test('replay guard: repeats and old numbers refused, per sender, window of 64', () => {
  const g = new ReplayGuard();
  const send = (seq: number, sender = 'a') =>
    code(encodeControl({ type: 'ok' }, { key: KEY, seq }), { key: KEY, replay: g, sender });
  assert.equal(send(100), 'ok');
  assert.equal(send(100), 'ERR_TCPR_CTL_REPLAY');
  assert.equal(send(100, 'b'), 'ok');
  assert.equal(send(90), 'ok', 'out of order inside the window');
  assert.equal(send(90), 'ERR_TCPR_CTL_REPLAY');
  assert.equal(send(200), 'ok');
  assert.equal(send(120), 'ERR_TCPR_CTL_REPLAY', 'below the window');
  // A datagram failing authentication does not advance the guard.
  const bad = encodeControl({ type: 'ok' }, { key: KEY, seq: 500 });
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
  assert.equal(code(bad, { key: KEY, replay: g, sender: 'a' }), 'ERR_TCPR_CTL_AUTH_FAILED');
  assert.equal(send(201), 'ok');
});

test('malformed datagrams: each gives its stable code', () => {
  const good = encodeControl(messages[5]!);
  const mut = (f: (b: Uint8Array) => void, from = good) => {
    const b = from.slice();
    f(b);
    return b;
  };
  const withBody = (type: number, body: number[]) =>
    Uint8Array.from([
      0x54,
      0x43,
      0x50,
      0x52,
      1,
      type,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      body.length >> 8,
      body.length & 255,
      ...body,
    ]);
  const cases: [ControlErrorCode, Uint8Array][] = [
    ['ERR_TCPR_CTL_SHORT', new Uint8Array(0)],
    ['ERR_TCPR_CTL_SHORT', good.subarray(0, 17)],
    ['ERR_TCPR_CTL_MAGIC', mut((b) => (b[0] = 0x55))],
    ['ERR_TCPR_CTL_VERSION', mut((b) => (b[4] = 2))],
    ['ERR_TCPR_CTL_TYPE', mut((b) => (b[5] = 0))],
    ['ERR_TCPR_CTL_TYPE', mut((b) => (b[5] = 99))],
    ['ERR_TCPR_CTL_FLAGS', mut((b) => (b[6] = 2))],
    ['ERR_TCPR_CTL_FLAGS', mut((b) => (b[7] = 1))],
    ['ERR_TCPR_CTL_VALUE', mut((b) => (b[8] = 0xff))],
    ['ERR_TCPR_CTL_LENGTH', good.subarray(0, good.length - 1)],
    ['ERR_TCPR_CTL_LENGTH', Uint8Array.from([...good, 0])],
    ['ERR_TCPR_CTL_TRUNCATED', withBody(1, [4, 10, 0])],
    ['ERR_TCPR_CTL_TRAILING', withBody(10, [0])],
    ['ERR_TCPR_CTL_ADDRESS', withBody(1, [5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['ERR_TCPR_CTL_ADDRESS', withBody(1, [0, 0, 1, 0, 0, 2])],
    ['ERR_TCPR_CTL_VALUE', withBody(6, [4, 10, 0, 0, 4, 0, 1, 0, 0, 1, 2])],
    ['ERR_TCPR_CTL_VALUE', withBody(9, [2, 4, 1, 2, 3, 4, 0, 1, 4, 1, 2, 3, 4, 0, 1])],
    ['ERR_TCPR_CTL_VALUE', withBody(4, [0, 0, 1, 4, 1, 2, 3, 4, 0, 1, 0x80, 0])],
    ['ERR_TCPR_CTL_VALUE', withBody(4, [0, 0, 1, 4, 1, 2, 3, 4, 0, 1, 0, 1])],
  ];
  // A restore whose window-scale code and flag byte are out of range.
  const r = encodeControl({ type: 'restore', state: saved6 });
  const wsAt = 18 + 3 * 17 + 2 + 6;
  cases.push(['ERR_TCPR_CTL_VALUE', mut((b) => (b[wsAt] = 16), r)]);
  cases.push(['ERR_TCPR_CTL_VALUE', mut((b) => (b[wsAt + 2] = 8), r)]);
  // A state whose flag byte (before the window code and the 4-byte splice point) has a
  // bit past `spliced` (64).
  const st = encodeControl({ type: 'state', state: snap });
  assert.equal(code(mut((b) => (b[b.length - 6]! |= 64), st)), 'ok');
  cases.push(['ERR_TCPR_CTL_VALUE', mut((b) => (b[b.length - 6]! |= 128), st)]);
  for (const [want, b] of cases)
    assert.equal(code(b), want, `${want} ${Buffer.from(b).toString('hex')}`);
});

test('property: random bytes and random corruptions never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      decodeControl(b);
      decodeControl(b, { key: KEY, replay: new ReplayGuard() });
    }),
    { numRuns: 500, seed: 3 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...messages),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      (m, at, v) => {
        const b = encodeControl(m);
        b[at % b.length] = v;
        decodeControl(b);
        decodeControl(b.subarray(0, at % b.length));
      },
    ),
    { numRuns: 1000, seed: 4 },
  );
});

test('hard state JSON round-trips and explains what is wrong', () => {
  const text = savedStateToJson(saved6);
  assert.match(text, /"internal": "2001:db8::4"/);
  const back = savedStateFromJson(text);
  assert.ok(back.ok);
  assert.deepEqual(back.value, saved6);
  const bad = (t: string) => {
    const r = savedStateFromJson(t);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'ERR_TCPR_STATE_JSON');
    return r.error.message;
  };
  assert.match(bad('{'), /not JSON/);
  assert.match(bad('[]'), /format/);
  const o = JSON.parse(text) as Record<string, unknown>;
  assert.match(bad(JSON.stringify({ ...o, peer: 'nope' })), /address/);
  assert.match(bad(JSON.stringify({ ...o, peer: '10.0.0.1' })), /mix/);
  assert.match(bad(JSON.stringify({ ...o, port: 70000 })), /port/);
  assert.match(bad(JSON.stringify({ ...o, hard: { ...hard, ack: -1 } })), /hard/);
  assert.match(bad(JSON.stringify({ ...o, hard: { ...hard, appWs: 16 } })), /hard/);
});
