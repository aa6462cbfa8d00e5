// The pump filter's side channel without a pump: datagrams in, reply datagrams out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddr } from '../lib/ip.js';
import type { Emit } from '../net/packet-pump.js';
import { decodeControl, encodeControl, type ControlMessage } from './control-codec.js';
import { buildSegment, TCP_FLAG } from './packet.js';
import { createFilter, warmUp, type TcprPumpOptions } from './pump-filter.js';
import { buildUdp, parseUdp } from './udp.js';

const APP = parseAddr('198.18.1.2')!;
const PEER = parseAddr('198.18.2.2')!;
const CHAN = parseAddr('198.18.0.1')!;
const KEY = '00112233445566778899aabbccddeeff';

function make(extra: Partial<TcprPumpOptions> = {}) {
  const emitted: Emit[] = [];
  const f = createFilter(
    {
      addresses: [{ internal: '198.18.1.2', external: '198.18.1.2' }],
      channel: { addresses: ['198.18.0.1', '2001:db8::1'] },
      ...extra,
    },
    { emit: (e) => (emitted.push(...e), 0) },
  );
  return { f, emitted };
}

function dgram(payload: Uint8Array, src = APP, srcPort = 40000, dstPort = 7780): Uint8Array {
  return buildUdp({ src, dst: CHAN, srcPort, dstPort, payload });
}

function reply(e: Emit | undefined, key?: Uint8Array): ControlMessage {
  assert.ok(e);
  assert.equal(e.to, 'app');
  const u = parseUdp(e.packet);
  assert.ok(u?.ok);
  assert.deepEqual([...u.udp.src], [...CHAN]);
  assert.equal(u.udp.srcPort, 7780);
  assert.deepEqual([...u.udp.dst], [...APP]);
  assert.equal(u.udp.dstPort, 40000);
  const d = decodeControl(u.udp.payload, key ? { key } : {});
  assert.ok(d.ok, JSON.stringify(d));
  return d.value.msg;
}

const conn = { port: 9999, peerAddr: PEER, peerPort: 8888 };

test('the start-up warm-up leaves no trace: no connection, counter or emitted packet', () => {
  for (const extra of [
    {},
    { key: KEY },
    { addresses: [{ internal: '2001:db8:1::2', external: '2001:db8:1::2' }] },
  ]) {
    const { f, emitted } = make(extra);
    const st = f.stats();
    assert.equal(st.connections, 0);
    assert.deepEqual(f.saveAll(), []);
    assert.deepEqual(emitted, []);
    assert.ok(
      Object.values(st.filter).every(
        (v) => v === 0 || (typeof v === 'object' && Object.keys(v).length === 0),
      ),
      JSON.stringify(st.filter),
    );
    assert.deepEqual([st.channel.received, st.channel.replies, st.channel.refused], [0, 0, 0]);
  }
});

test('the warm-up runs the side channel, the recovery splice and the state-less splice', () => {
  const base: TcprPumpOptions = {
    addresses: [{ internal: '198.18.1.2', external: '198.18.1.2' }],
    channel: { addresses: ['198.18.0.1', '2001:db8::1'] },
  };
  const variants: [string, TcprPumpOptions][] = [
    ['defaults', base],
    ['a key', { ...base, key: KEY }],
    ['an allow list without the app', { ...base, allow: ['198.18.9.9'] }],
    [
      'IPv6 first, IPv4-only channel',
      {
        addresses: [{ internal: '2001:db8:1::2', external: '2001:db8:1::2' }, ...base.addresses],
        channel: { addresses: ['198.18.0.1'] },
      },
    ],
  ];
  for (const [what, options] of variants) {
    const st = warmUp(options);
    assert.deepEqual(
      [st.channel.received, st.channel.replies, st.channel.refused, st.channel.malformed],
      [4, 3, 0, {}],
      `${what}: update, query and two recovers, answered`,
    );
    assert.equal(st.filter.synAcks, 2, `${what}: the recovery SYN and the state-less splice`);
    assert.equal(st.filter.dropped['recovery-syn'], 1, what);
  }
});

test('a query from the app gets a reply datagram from the channel address and port', () => {
  const { f } = make();
  const out = f.fromApp(dgram(encodeControl({ type: 'query', conn })));
  assert.equal(out.length, 1);
  assert.deepEqual(reply(out[0]), { type: 'unknown', conn });
  assert.equal(f.stats().channel.received, 1);
});

test('sources not allowed get nothing; other ports and protocols to the channel are dropped', () => {
  const { f } = make();
  assert.deepEqual(f.fromApp(dgram(encodeControl({ type: 'list', offset: 0 }), PEER)), []);
  assert.deepEqual(f.fromApp(dgram(encodeControl({ type: 'list', offset: 0 }), APP, 1, 53)), []);
  const tcp = buildSegment({
    src: APP,
    dst: CHAN,
    srcPort: 1,
    dstPort: 7780,
    seq: 1,
    ack: 0,
    flags: TCP_FLAG.SYN,
    window: 100,
  });
  assert.deepEqual(f.fromApp(tcp), []);
  const s = f.stats().channel;
  assert.equal(s.refused, 1);
  assert.equal(s.otherToChannel, 2);
});

test('malformed datagrams get an error reply with the codec code', () => {
  const { f } = make();
  const out = f.fromApp(dgram(new TextEncoder().encode('hello, is this the TCPR side channel?')));
  const m = reply(out[0]);
  assert.equal(m.type, 'error');
  assert.equal(m.type === 'error' && m.code, 'ERR_TCPR_CTL_MAGIC');
  assert.equal(f.stats().channel.malformed['ERR_TCPR_CTL_MAGIC'], 1);
});

test('with a key: unauthenticated refused, authenticated answered (signed), replay refused', () => {
  const { f } = make({ key: KEY });
  const key = Uint8Array.from(Buffer.from(KEY, 'hex'));
  const plain = f.fromApp(dgram(encodeControl({ type: 'list', offset: 0 })));
  const e1 = reply(plain[0], key);
  assert.equal(e1.type === 'error' && e1.code, 'ERR_TCPR_CTL_AUTH_REQUIRED');
  const signed = encodeControl({ type: 'list', offset: 0 }, { key, seq: 5 });
  assert.equal(reply(f.fromApp(dgram(signed))[0], key).type, 'list-reply');
  const again = reply(f.fromApp(dgram(signed))[0], key);
  assert.equal(again.type === 'error' && again.code, 'ERR_TCPR_CTL_REPLAY');
});

test('E9: a no-state notice goes to the last channel endpoint of that app address', () => {
  const { f, emitted } = make();
  const ack = () =>
    buildSegment({
      src: APP,
      dst: PEER,
      srcPort: 9999,
      dstPort: 8888,
      seq: 100,
      ack: 200,
      flags: TCP_FLAG.ACK,
      window: 100,
    });
  assert.deepEqual(f.fromApp(ack()), []);
  assert.equal(f.stats().channel.noticesUnsent, 1, 'no endpoint known yet');
  f.fromApp(dgram(encodeControl({ type: 'list', offset: 0 }), APP, 41000));
  f.fromApp(dgram(encodeControl({ type: 'list', offset: 0 }), APP, 40000));
  // Per-connection rate limit: the 33rd packet is reported again (noticeEvery 32).
  for (let i = 0; i < 32; i++) f.fromApp(ack());
  assert.equal(emitted.length, 1);
  const m = reply(emitted[0]);
  assert.equal(m.type, 'no-state');
  assert.equal(m.type === 'no-state' && m.localPort, 9999);
});

test('control() and reload()', () => {
  const { f } = make();
  assert.equal(f.control({ type: 'list', offset: 0 }).reply?.type, 'list-reply');
  f.reload({ allow: ['198.18.2.2'] });
  assert.equal(f.fromApp(dgram(encodeControl({ type: 'list', offset: 0 }))).length, 0);
  assert.throws(() => f.reload({ key: 'zz' }), /hex/);
});
