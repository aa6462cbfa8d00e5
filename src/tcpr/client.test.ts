// Unit tests of the TCPR client library's side channel against an in-process UDP responder
// built on TcprFilter.control and the codec (no namespaces needed).

import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { parseAddr } from '../lib/ip.js';
import { TcprChannel, TcprClientError } from './client.js';
import { decodeControl, encodeControl, ReplayGuard } from './control-codec.js';
import { emptyHard } from './connection.js';
import { TcprFilter } from './filter.js';

async function responder(o: { key?: Uint8Array; dropFirst?: number } = {}): Promise<{
  port: number;
  filter: TcprFilter;
  received: () => number;
  close: () => void;
}> {
  const filter = new TcprFilter({ addresses: [{ internal: '127.0.0.1', external: '127.0.0.1' }] });
  const s: Socket = createSocket('udp4');
  const replay = new ReplayGuard();
  let n = 0;
  let seq = 1;
  s.on('message', (data, rinfo) => {
    if (n++ < (o.dropFirst ?? 0)) return;
    const sender = `udp:${rinfo.address}:${rinfo.port}`;
    const d = decodeControl(data, { key: o.key, replay, sender });
    const reply = d.ok
      ? filter.control(d.value.msg).reply
      : ({ type: 'error', code: d.error.code, message: d.error.message } as const);
    if (reply) s.send(encodeControl(reply, { key: o.key, seq: seq++ }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, filter, received: () => n, close: () => s.close() };
}

const lo = parseAddr('127.0.0.1')!;
const peer = parseAddr('127.0.0.2')!;
const ref = { port: 4000, peerAddr: peer, peerPort: 179 };
const saved = () => ({
  internalAddr: lo,
  externalAddr: lo,
  peerAddr: peer,
  port: 4000,
  hard: { ...emptyHard(), port: 4000, peerPort: 179, ack: 1000 },
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    assert.ok(e instanceof TcprClientError, String(e));
    return e.remoteCode ? `${e.code}:${e.remoteCode}` : e.code;
  }
}

test('query, restore, checkpoint, done flags, list', async () => {
  const r = await responder();
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  try {
    assert.equal(await code(ch.query(ref)), 'ERR_TCPR_UNKNOWN_CONNECTION');
    await ch.restore(saved());
    const s = await ch.query(ref);
    assert.equal(s.hard.ack, 1000);
    await ch.update(ref, { ack: 1500 });
    assert.equal((await ch.query(ref)).hard.ack, 1500);
    assert.equal(
      await code(ch.update(ref, { ack: 1200 }, 200)),
      'ERR_TCPR_REMOTE:checkpoint-regression',
    );
    await ch.update(ref, { doneReading: true, doneWriting: true });
    const s2 = await ch.query(ref);
    assert.deepEqual([s2.hard.doneReading, s2.hard.doneWriting], [true, true]);
    assert.equal((await ch.list()).total, 1);
    await ch.update(ref, { done: true });
    assert.equal(await code(ch.query(ref)), 'ERR_TCPR_UNKNOWN_CONNECTION');
  } finally {
    ch.close();
    r.close();
  }
});

test('retransmits lost queries, then times out with a typed error', async () => {
  const r = await responder({ dropFirst: 2 });
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 50, tries: 4 });
  try {
    await ch.restore(saved());
    assert.equal(r.received(), 3);
    const dead = new TcprChannel({ address: '127.0.0.1', port: 9, timeoutMs: 30, tries: 2 });
    assert.equal(await code(dead.query(ref)), 'ERR_TCPR_TIMEOUT');
    dead.close();
    assert.equal(
      await code(ch.listen({ internalAddr: parseAddr('10.9.9.9')!, internalPort: 1, port: 1 })),
      'ERR_TCPR_REMOTE:address-not-configured',
    );
  } finally {
    ch.close();
    r.close();
  }
});

test('shared key: authenticated round trip; an unauthenticated client gets an error', async () => {
  const key = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
  const r = await responder({ key });
  const ch = new TcprChannel({
    address: '127.0.0.1',
    port: r.port,
    key: '00112233445566778899aabbccddeeff',
    timeoutMs: 100,
    tries: 2,
  });
  const plain = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 2 });
  try {
    await ch.restore(saved());
    assert.equal((await ch.query(ref)).hard.ack, 1000);
    // The error reply is tagged and our keyless client cannot check it: it times out.
    assert.equal(await code(plain.query(ref)), 'ERR_TCPR_TIMEOUT');
  } finally {
    ch.close();
    plain.close();
    r.close();
  }
});

test('closed channel refuses requests', async () => {
  const ch = new TcprChannel({ address: '127.0.0.1', port: 9 });
  ch.close();
  assert.equal(await code(ch.query(ref)), 'ERR_TCPR_CLOSED');
});
