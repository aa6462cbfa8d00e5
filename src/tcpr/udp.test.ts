// UDP build/parse for the side channel, against a known vector and an independent sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex } from '../lib/bytes.js';
import { parseAddr } from '../lib/ip.js';
import { buildUdp, parseUdp, udpChecksum } from './udp.js';

/** RFC 1071 done the slow, obvious way. */
function naive(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += bytes[i]! * 256 + (bytes[i + 1] ?? 0);
    s = (s % 65536) + Math.floor(s / 65536);
  }
  return ~s & 0xffff;
}

function pseudo(src: Uint8Array, dst: Uint8Array, len: number): number[] {
  return src.length === 4
    ? [...src, ...dst, 0, 17, len >> 8, len & 0xff]
    : [...src, ...dst, 0, 0, len >> 8, len & 0xff, 0, 0, 0, 17];
}

const A4 = parseAddr('198.18.1.2')!;
const C4 = parseAddr('198.18.0.1')!;
const A6 = parseAddr('2001:db8:1::2')!;
const C6 = parseAddr('2001:db8::1')!;

test('IPv4 UDP: header fields, lengths and both checksums', () => {
  const p = buildUdp({ src: A4, dst: C4, srcPort: 40000, dstPort: 7780, payload: fromHex('01') });
  assert.equal(p.length, 20 + 8 + 1);
  // Version/IHL, total length, TTL, protocol, addresses.
  assert.deepEqual([...p.subarray(0, 4)], [0x45, 0, 0, 29]);
  assert.equal(p[8], 64);
  assert.equal(p[9], 17);
  assert.deepEqual([...p.subarray(12, 20)], [...A4, ...C4]);
  assert.equal(naive([...p.subarray(0, 20)]), 0, 'IPv4 header checksum verifies');
  // Ports, UDP length, checksum over pseudo-header + datagram.
  assert.deepEqual([...p.subarray(20, 26)], [0x9c, 0x40, 0x1e, 0x64, 0, 9]);
  const udp = [...p.subarray(20)];
  assert.equal(naive([...pseudo(A4, C4, 9), ...udp]), 0, 'UDP checksum verifies');
  const r = parseUdp(p);
  assert.ok(r?.ok);
  assert.equal(r.udp.version, 4);
  assert.equal(r.udp.srcPort, 40000);
  assert.equal(r.udp.dstPort, 7780);
  assert.deepEqual([...r.udp.payload], [1]);
});

test('IPv6 UDP: header fields and checksum', () => {
  const payload = new TextEncoder().encode('hello');
  const p = buildUdp({ src: C6, dst: A6, srcPort: 7780, dstPort: 5555, payload });
  assert.equal(p.length, 40 + 8 + 5);
  assert.equal(p[0]! >> 4, 6);
  assert.equal((p[4]! << 8) | p[5]!, 13, 'payload length');
  assert.equal(p[6], 17);
  assert.equal(p[7], 64);
  assert.equal(naive([...pseudo(C6, A6, 13), ...p.subarray(40)]), 0);
  const r = parseUdp(p);
  assert.ok(r?.ok);
  assert.equal(r.udp.version, 6);
  assert.deepEqual(Buffer.from(r.udp.payload).toString(), 'hello');
});

test('parseUdp: not UDP, broken lengths, bad checksums, zero checksum by family', () => {
  const p4 = buildUdp({ src: A4, dst: C4, srcPort: 1, dstPort: 2, payload: fromHex('aabb') });
  const tcp = p4.slice();
  tcp[9] = 6;
  assert.equal(parseUdp(tcp), undefined);
  assert.equal(parseUdp(new Uint8Array([0x45])), undefined);

  const badSum = p4.slice();
  badSum[28] = badSum[28]! ^ 0xff;
  assert.deepEqual(parseUdp(badSum), { ok: false, reason: 'udp-checksum' });
  assert.ok(parseUdp(badSum, false)?.ok, 'verification can be switched off');

  const badIp = p4.slice();
  badIp[8] = 63; // TTL change without a header checksum update
  assert.deepEqual(parseUdp(badIp), { ok: false, reason: 'ipv4-checksum' });

  const longLen = p4.slice();
  longLen[25] = 200;
  assert.deepEqual(parseUdp(longLen, false), { ok: false, reason: 'udp-length' });

  const zero4 = p4.slice();
  zero4[26] = 0;
  zero4[27] = 0;
  assert.ok(parseUdp(zero4)?.ok, 'IPv4: checksum 0 means none');

  const p6 = buildUdp({ src: A6, dst: C6, srcPort: 1, dstPort: 2, payload: fromHex('aabb') });
  const zero6 = p6.slice();
  zero6[46] = 0;
  zero6[47] = 0;
  assert.deepEqual(parseUdp(zero6), { ok: false, reason: 'udp-checksum' });

  const frag = p4.slice();
  frag[6] = 0x20; // MF
  frag[10] = 0;
  frag[11] = 0;
  frag.set(fromHex('0000'), 10);
  assert.deepEqual(parseUdp(frag, false), { ok: false, reason: 'udp-fragment' });
});

test('udpChecksum never yields 0 (sent as 0xffff)', () => {
  // Find a payload whose sum complements to 0 by solving for the last word.
  const p = buildUdp({ src: A4, dst: C4, srcPort: 1, dstPort: 2, payload: new Uint8Array(2) });
  const base = naive([...pseudo(A4, C4, 10), ...p.subarray(20, 26), 0, 0, 0, 0]);
  // Want sum(all) = 0xffff, i.e. the complement 0: the last word must be `base` itself.
  p[28] = base >> 8;
  p[29] = base & 0xff;
  assert.equal(udpChecksum(A4, C4, p, 20, 10), 0xffff);
});

test('property: built datagrams (v4/v6, any payload) verify with the naive sum and round-trip', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 300 }),
      (v6, sp, dp, payload) => {
        const [src, dst] = v6 ? [A6, C6] : [A4, C4];
        const p = buildUdp({ src, dst, srcPort: sp, dstPort: dp, payload });
        const off = v6 ? 40 : 20;
        assert.equal(naive([...pseudo(src, dst, 8 + payload.length), ...p.subarray(off)]), 0);
        const r = parseUdp(p);
        assert.ok(r?.ok);
        assert.equal(r.udp.srcPort, sp);
        assert.equal(r.udp.dstPort, dp);
        assert.deepEqual([...r.udp.payload], [...payload]);
      },
    ),
  );
});
