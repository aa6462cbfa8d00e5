// Packet parsing/encoding and checksums, checked against known vectors and against a
// straightforward one's-complement sum written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex } from '../lib/bytes.js';
import { parseAddr } from '../lib/ip.js';
import {
  applyAdjust,
  ipv4HeaderChecksum,
  tcpChecksum,
  tcpChecksumValid,
  wordAdjust,
} from './checksum.js';
import {
  buildSegment,
  checkTcp,
  encodeSegment,
  finishPatch,
  noteOptions,
  optionSum,
  PacketView,
  parseIp,
  parseTcp,
  patchAddr,
  patchTcp,
  readIp,
  readTcp,
  TCP_FLAG,
} from './packet.js';

/** RFC 1071 done the slow, obvious way. */
function naive(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += bytes[i]! * 256 + (bytes[i + 1] ?? 0);
    s = (s % 65536) + Math.floor(s / 65536);
  }
  return ~s & 0xffff;
}

test('IPv4 header checksum: the classic worked example (b861)', () => {
  const h = fromHex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
  assert.equal(ipv4HeaderChecksum(h, 0, 20), 0xb861);
});

test('TCP checksum: a captured IPv4 SYN verifies, and recomputes to its own value', () => {
  // 198.18.0.1:40000 -> 198.18.0.2:179 SYN seq 1, window 64240, MSS 1460; checksum
  // filled in by the naive sum below, then cross-checked.
  const src = parseAddr('198.18.0.1')!;
  const dst = parseAddr('198.18.0.2')!;
  const tcp = fromHex('9c40 00b3 0000 0001 0000 0000 6002 faf0 0000 0000 0204 05b4');
  const pseudo = [...src, ...dst, 0, 6, 0, tcp.length];
  const want = naive([...pseudo, ...tcp]);
  assert.equal(tcpChecksum(src, dst, tcp, 0, tcp.length), want);
  tcp[16] = want >> 8;
  tcp[17] = want & 0xff;
  assert.ok(tcpChecksumValid(src, dst, tcp, 0, tcp.length));
});

test('property: built segments (v4/v6, odd payloads, options) verify with the naive sum', () => {
  const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
  const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
  fc.assert(
    fc.property(
      fc.oneof(fc.tuple(addr4, addr4), fc.tuple(addr6, addr6)),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 0, max: 10 }),
      ([src, dst], seq, ack, payload, nopWords) => {
        const p = buildSegment({
          src,
          dst,
          srcPort: 1,
          dstPort: 2,
          seq,
          ack,
          flags: TCP_FLAG.ACK,
          window: 100,
          options: new Uint8Array(nopWords * 4).fill(1),
          payload,
        });
        const ipLen = src.length === 4 ? 20 : 40;
        if (src.length === 4) assert.equal(naive([...p.subarray(0, 20)]), 0);
        const tcp = [...p.subarray(ipLen)];
        const len = tcp.length;
        const pseudo =
          src.length === 4
            ? [...src, ...dst, 0, 6, len >> 8, len & 255]
            : [...src, ...dst, 0, 0, len >> 8, len & 255, 0, 0, 0, 6];
        assert.equal(naive([...pseudo, ...tcp]), 0);
        const r = parseIp(p);
        assert.ok(r.ok);
        const t = parseTcp(p, r.ip, true);
        assert.ok(t.ok);
        assert.deepEqual([t.seg.seq, t.seg.ack, t.seg.payload.length], [seq, ack, payload.length]);
        // Re-encoding what was parsed gives the same bytes.
        assert.deepEqual(encodeSegment(t.seg), p);
      },
    ),
    { numRuns: 300, seed: 11 },
  );
});

test('IPv4 options are kept and the header checksum recomputed after a rewrite', () => {
  const base = buildSegment({
    src: parseAddr('198.18.0.1')!,
    dst: parseAddr('198.18.0.2')!,
    srcPort: 1,
    dstPort: 2,
    seq: 3,
    ack: 4,
    flags: TCP_FLAG.ACK,
    window: 5,
    payload: Uint8Array.of(1, 2, 3),
  });
  // Insert a 4-byte IP option (NOP NOP NOP EOL): IHL 6.
  const p = new Uint8Array(base.length + 4);
  p.set(base.subarray(0, 20));
  p.set([1, 1, 1, 0], 20);
  p.set(base.subarray(20), 24);
  p[0] = 0x46;
  p[3] = p.length;
  const hc = ipv4HeaderChecksum(p, 0, 24);
  p[10] = hc >> 8;
  p[11] = hc & 0xff;
  const r = parseIp(p);
  assert.ok(r.ok && r.ip.headerLen === 24);
  const t = parseTcp(p, r.ip, true);
  assert.ok(t.ok);
  t.seg.src = parseAddr('198.18.0.7')!;
  t.seg.seq = 99;
  const out = encodeSegment(t.seg);
  assert.deepEqual([...out.subarray(20, 24)], [1, 1, 1, 0]);
  assert.equal(naive([...out.subarray(0, 24)]), 0);
  const r2 = parseIp(out);
  assert.ok(r2.ok);
  assert.ok(parseTcp(out, r2.ip, true).ok);
});

test('parseIp: trailing link padding ignored; non-TCP extension chains reported as such', () => {
  const p = buildSegment({
    src: parseAddr('2001:db8::1')!,
    dst: parseAddr('2001:db8::2')!,
    srcPort: 1,
    dstPort: 2,
    seq: 0,
    ack: 0,
    flags: TCP_FLAG.SYN,
    window: 0,
  });
  const padded = new Uint8Array(p.length + 6);
  padded.set(p);
  const r = parseIp(padded);
  assert.ok(r.ok && r.ip.end === p.length && r.ip.proto === 6);
  // Destination options header followed by ICMPv6: not TCP, not unusual TCP.
  const q = new Uint8Array(40 + 8 + 8);
  q[0] = 0x60;
  q[5] = 16;
  q[6] = 60;
  q[40] = 58;
  const r2 = parseIp(q);
  assert.ok(r2.ok && r2.ip.proto === 58 && r2.ip.headerLen === 48);
  q[41] = 5; // header runs past the packet
  const r3 = parseIp(q);
  assert.ok(!r3.ok && r3.reason === 'ipv6-ext');
});

test('buildSegment refuses mixed families; encodeSegment refuses bad option lengths', () => {
  assert.throws(() =>
    buildSegment({
      src: new Uint8Array(4),
      dst: new Uint8Array(16),
      srcPort: 0,
      dstPort: 0,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
    }),
  );
  assert.throws(() =>
    buildSegment({
      src: new Uint8Array(4),
      dst: new Uint8Array(4),
      srcPort: 0,
      dstPort: 0,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
      options: new Uint8Array(3),
    }),
  );
});

test('RFC 1624 §4: the incremental update gives 0x0000 where eqn. 2 gave 0xffff', () => {
  assert.equal(applyAdjust(0xdd2f, wordAdjust(0x5555, 0x3285)), 0x0000);
  // The other zero in, a no-op change: still a zero, in the form a full sum gives.
  assert.equal(applyAdjust(0xffff, wordAdjust(0x1234, 0x1234)), 0x0000);
});

/** The packet with `n` 32-bit words of IPv4 options (NOPs) inserted, header re-signed. */
function ipv4Options(p: Uint8Array, n: number): Uint8Array {
  if (n === 0 || p[0]! >> 4 !== 4) return p;
  const q = new Uint8Array(p.length + 4 * n);
  q.set(p.subarray(0, 20));
  q.fill(1, 20, 20 + 4 * n);
  q.set(p.subarray(20), 20 + 4 * n);
  q[0] = 0x45 + n;
  q[2] = q.length >> 8;
  q[3] = q.length & 0xff;
  q[10] = q[11] = 0;
  const hc = naive([...q.subarray(0, 20 + 4 * n)]);
  q[10] = hc >> 8;
  q[11] = hc & 0xff;
  return q;
}

/** Checksum fields against a full computation; both valid by the naive sum too. */
function assertFull(p: Uint8Array): void {
  const r = parseIp(p);
  assert.ok(r.ok);
  const t = r.ip.headerLen;
  if (r.ip.version === 4) {
    assert.equal((p[10]! << 8) | p[11]!, ipv4HeaderChecksum(p, 0, t), 'IPv4 header checksum');
    assert.equal(naive([...p.subarray(0, t)]), 0);
  }
  const tcp = tcpChecksum(r.ip.src, r.ip.dst, p, t, p.length - t);
  assert.equal((p[t + 16]! << 8) | p[t + 17]!, tcp, 'TCP checksum');
  assert.ok(tcpChecksumValid(r.ip.src, r.ip.dst, p, t, p.length - t));
}

test('property: in-place patches (fields, addresses, option bytes) = a full computation; corruption stays', () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
  const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const sack = fc.tuple(u32, u32).map(([l, r]) => [1, 1, 5, 10, ...be(l), ...be(r)]);
  fc.assert(
    fc.property(
      fc.oneof(fc.tuple(addr4, addr4, addr4, addr4), fc.tuple(addr6, addr6, addr6, addr6)),
      fc.integer({ min: 0, max: 3 }),
      fc.record({ srcPort: u16, dstPort: u16, seq: u32, ack: u32, window: u16 }),
      fc.record({ srcPort: u16, dstPort: u16, seq: u32, ack: u32, window: u16 }),
      fc.uint8Array({ maxLength: 301 }),
      fc.option(sack, { nil: undefined }),
      fc.boolean(),
      fc.integer({ min: 0, max: 0x3fffffff }),
      ([src, dst, src2, dst2], ipOpts, before, after, payload, opts, corrupt, pick) => {
        const p = ipv4Options(
          buildSegment({
            src,
            dst,
            ...before,
            flags: TCP_FLAG.ACK,
            options: opts ? Uint8Array.from(opts) : undefined,
            payload,
          }),
          ipOpts,
        );
        const v = new PacketView();
        assert.equal(readIp(p, v), undefined);
        assert.equal(readTcp(p, v), undefined);
        // A flipped byte anywhere a checksum covers (XOR 0xff never sums to zero): not the
        // checksum fields, and for IPv6 not version, class, flow label, next header, hops.
        const tcpSum = v.t + 16;
        const at = pick % p.length;
        const covered = v.version === 4 || at === 4 || at === 5 || at >= 8;
        const field =
          (v.version === 4 && (at === 10 || at === 11)) || at === tcpSum || at === tcpSum + 1;
        const flip = corrupt && covered && !field;
        if (flip) p[at] = p[at]! ^ 0xff;
        const r0 = readIp(p, v) ?? readTcp(p, v);
        if (r0 !== undefined) return; // the flip broke a length: nothing to patch
        Object.assign(v, after);
        patchTcp(p, v);
        patchAddr(p, v, v.srcAt, src2);
        patchAddr(p, v, v.dstAt, dst2);
        if (opts) {
          const sum = optionSum(p, v);
          p.fill(1, v.t + 20, v.t + v.doff);
          noteOptions(p, v, sum);
        }
        finishPatch(p, v);
        if (flip) {
          assert.notEqual(checkTcp(p, v), undefined, 'a corrupted packet stays invalid');
          return;
        }
        assertFull(p);
        assert.equal(checkTcp(p, v), undefined);
        const r = parseIp(p);
        assert.ok(r.ok);
        const t = parseTcp(p, r.ip, true);
        assert.ok(t.ok);
        assert.deepEqual(
          [t.seg.srcPort, t.seg.dstPort, t.seg.seq, t.seg.ack, t.seg.window],
          [after.srcPort, after.dstPort, after.seq, after.ack, after.window],
        );
        assert.deepEqual([...t.seg.src, ...t.seg.dst], [...src2, ...dst2]);
        assert.deepEqual(t.seg.payload, payload);
      },
    ),
    { numRuns: 500, seed: 13 },
  );
});

function be(x: number): number[] {
  return [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
}
