// rtnetlink codec, without a kernel: requests decode back to what was encoded (a dump answer
// has the request's layout), several messages share one buffer, and NLMSG_ERROR answers
// give the errno, the request's sequence number and the kernel's extended-ack text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddr } from '../lib/ip.js';
import {
  AF,
  NLM_F,
  NLMSG,
  NlWriter,
  RT_SCOPE,
  RTM,
  RTN,
  decodeError,
  decodeRoute,
  encodeBarrier,
  encodeRoute,
  splitMessages,
  type RouteMsg,
} from './rtnetlink.js';

const base = { table: 1000, protocol: 214, scope: RT_SCOPE.UNIVERSE, type: RTN.UNICAST };

test('route requests round-trip: single hop, ECMP, RFC 8950 via, default route', () => {
  const routes: RouteMsg[] = [
    {
      ...base,
      family: AF.INET,
      dstLen: 24,
      dst: parseAddr('198.18.1.0')!,
      priority: 50,
      nextHops: [{ gateway: parseAddr('198.18.0.2')!, ifindex: 3 }],
    },
    {
      ...base,
      family: AF.INET,
      dstLen: 25,
      dst: parseAddr('198.18.2.128')!,
      nextHops: [
        { gateway: parseAddr('198.18.0.2')!, ifindex: 3 },
        { gateway: parseAddr('198.18.0.3')!, ifindex: 4 },
      ],
    },
    {
      ...base,
      family: AF.INET,
      dstLen: 24,
      dst: parseAddr('198.18.3.0')!,
      nextHops: [{ via: parseAddr('2001:db8::2')! }],
    },
    {
      ...base,
      family: AF.INET6,
      dstLen: 0,
      table: 254,
      nextHops: [{ gateway: parseAddr('2001:db8::2')! }],
    },
  ];
  const w = new NlWriter();
  routes.forEach((r, i) =>
    encodeRoute(w, RTM.NEWROUTE, NLM_F.REQUEST | NLM_F.CREATE | NLM_F.REPLACE, 100 + i, r),
  );
  encodeBarrier(w, 200);
  const msgs = [...splitMessages(w.bytes())];
  assert.equal(msgs.length, routes.length + 1);
  msgs.slice(0, -1).forEach((m, i) => {
    assert.equal(m.type, RTM.NEWROUTE);
    assert.equal(m.seq, 100 + i);
    assert.equal(m.flags, NLM_F.REQUEST | NLM_F.CREATE | NLM_F.REPLACE);
    assert.equal(m.payload.length % 4, 0);
    const want = routes[i]!;
    const got = decodeRoute(m.payload)!;
    assert.equal(got.table, want.table); // 1000 travels in RTA_TABLE, 254 in rtm_table too
    assert.deepEqual(
      { ...got, dst: got.dst ?? undefined },
      { ...want, dst: want.dst ?? undefined },
    );
  });
  assert.deepEqual(
    [msgs.at(-1)!.type, msgs.at(-1)!.flags, msgs.at(-1)!.seq],
    [NLMSG.NOOP, NLM_F.REQUEST | NLM_F.ACK, 200],
  );
});

test('NLMSG_ERROR: errno, sequence number and extended-ack text, capped or not', () => {
  const text = 'Nexthop has invalid gateway';
  const build = (capped: boolean): { payload: Uint8Array; flags: number } => {
    const origLen = capped ? 16 : 40; // the echoed request (uncapped: header + 24 bytes)
    const tlvLen = 4 + text.length + 1;
    const size = 4 + (capped ? 16 : origLen) + ((tlvLen + 3) & ~3);
    const p = new Uint8Array(size);
    const dv = new DataView(p.buffer);
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    dv.setInt32(0, -101, le); // -ENETUNREACH
    dv.setUint32(4, origLen, le);
    dv.setUint16(8, RTM.NEWROUTE, le);
    dv.setUint32(12, 4242, le);
    const at = 4 + (capped ? 16 : origLen);
    dv.setUint16(at, tlvLen, le);
    dv.setUint16(at + 2, 1, le); // NLMSGERR_ATTR_MSG
    p.set(new TextEncoder().encode(text), at + 4);
    return { payload: p, flags: NLM_F.ACK_TLVS | (capped ? NLM_F.CAPPED : 0) };
  };
  for (const capped of [true, false]) {
    const { payload, flags } = build(capped);
    assert.deepEqual(decodeError(payload, flags), { errno: 101, seq: 4242, text });
  }
  const plain = build(true).payload;
  assert.deepEqual(decodeError(plain, 0), { errno: 101, seq: 4242 });
});
