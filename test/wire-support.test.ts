// Unit tests of the conformance suites' own helpers (test/support): the data locator,
// the capture reader and TCP reassembly, the ExaBGP readers. A slip here would make the
// conformance suites check less than they claim.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { dataDir, projectRoot, requireData } from './support/data.js';
import { parseJsonExact, readCiFile, readConfFacts } from './support/exabgp.js';
import { readCapture, tcpSegments, type TcpSegment } from './support/pcap.js';
import { parseVpnNlri, rdText } from './support/pmacct.js';
import { reassemble } from './support/tcp.js';

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-support-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Ethernet + IPv4 + TCP frame carrying `payload`. */
function ipv4TcpFrame(seq: number, payload: Uint8Array, flags = 0x18): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload.length);
  f[12] = 0x08; // EtherType IPv4
  const ip = 14;
  f[ip] = 0x45;
  const total = 40 + payload.length;
  f[ip + 2] = total >> 8;
  f[ip + 3] = total & 0xff;
  f[ip + 9] = 6;
  f.set([10, 0, 0, 1], ip + 12);
  f.set([10, 0, 0, 2], ip + 16);
  const tcp = ip + 20;
  f.set([0xc0, 0x00, 0x00, 179], tcp); // ports 49152 → 179
  f[tcp + 4] = (seq >>> 24) & 0xff;
  f[tcp + 5] = (seq >>> 16) & 0xff;
  f[tcp + 6] = (seq >>> 8) & 0xff;
  f[tcp + 7] = seq & 0xff;
  f[tcp + 12] = 5 << 4;
  f[tcp + 13] = flags;
  f.set(payload, tcp + 20);
  return f;
}

function classicPcap(frames: Uint8Array[], littleEndian: boolean): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xa1b2c3d4, littleEndian);
  v.setUint16(4, 2, littleEndian);
  v.setUint16(6, 4, littleEndian);
  v.setUint32(16, 65535, littleEndian);
  v.setUint32(20, 1, littleEndian);
  let o = 24;
  frames.forEach((f, i) => {
    v.setUint32(o, 1000 + i, littleEndian);
    v.setUint32(o + 4, 500000, littleEndian);
    v.setUint32(o + 8, f.length, littleEndian);
    v.setUint32(o + 12, f.length, littleEndian);
    b.set(f, o + 16);
    o += 16 + f.length;
  });
  return b;
}

function pcapng(frames: Uint8Array[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): void => {
    const len = 12 + ((body.length + 3) & ~3);
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, len, true);
    b.set(body, 8);
    v.setUint32(len - 4, len, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true);
  new DataView(shb.buffer).setUint16(4, 1, true);
  new DataView(shb.buffer).setBigInt64(8, -1n, true);
  block(0x0a0d0d0a, shb);
  const idb = new Uint8Array(8);
  new DataView(idb.buffer).setUint16(0, 1, true);
  block(1, idb);
  for (const f of frames) {
    const epb = new Uint8Array(20 + f.length);
    const v = new DataView(epb.buffer);
    v.setUint32(8, 1_000_000, true); // 1 s in microseconds
    v.setUint32(12, f.length, true);
    v.setUint32(16, f.length, true);
    epb.set(f, 20);
    block(6, epb);
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('support: data locator', () => {
  test('project root holds package.json; data dir is ../shared/data from it', () => {
    assert.match(projectRoot(), /\S/);
    assert.equal(dataDir(), join(projectRoot(), '..', 'shared', 'data'));
  });

  test('a missing folder fails loudly unless NONSTOP_SKIP_DATA=1', (t) => {
    if (process.env['NONSTOP_SKIP_DATA'] === '1') return;
    assert.throws(() => requireData(t, 'no-such-folder-for-this-test'), /NONSTOP_SKIP_DATA=1/);
  });
});

describe('support: capture reader and TCP reassembly', () => {
  const frames = [
    ipv4TcpFrame(1000, new Uint8Array(0), 0x02), // SYN
    ipv4TcpFrame(1001, bytes('hello ')),
    ipv4TcpFrame(1013, bytes('BGP')), // out of order
    ipv4TcpFrame(1007, bytes('world ')),
    ipv4TcpFrame(1001, bytes('hello ')), // retransmission
    ipv4TcpFrame(1010, bytes('ld BG')), // overlapping retransmission
  ];

  for (const [name, file] of [
    ['pcap little-endian', classicPcap(frames, true)],
    ['pcap big-endian', classicPcap(frames, false)],
    ['pcapng', pcapng(frames)],
  ] as const) {
    test(name, () => {
      const { dir, done } = tmp();
      try {
        const p = join(dir, 'x.cap');
        writeFileSync(p, file);
        const segs = tcpSegments(readCapture(p));
        assert.equal(segs.length, 6);
        assert.equal(segs[0]!.src, '10.0.0.1');
        assert.equal(segs[0]!.dstPort, 179);
        const [s] = reassemble(segs);
        assert.ok(s);
        assert.equal(new TextDecoder().decode(s.data), 'hello world BGP');
        assert.equal(s.gaps, 0);
        assert.equal(s.duplicates, 1);
      } finally {
        done();
      }
    });
  }

  test('a gap stops the stream and is reported', () => {
    const seg = (seq: number, text: string): TcpSegment => ({
      ts: 0,
      src: 'a',
      dst: 'b',
      srcPort: 1,
      dstPort: 179,
      seq,
      flags: 0x18,
      payload: bytes(text),
    });
    const [s] = reassemble([seg(10, 'abc'), seg(20, 'xyz')]);
    assert.equal(new TextDecoder().decode(s!.data), 'abc');
    assert.equal(s!.gaps, 7);
  });

  test('sequence numbers wrapping past 2^32', () => {
    const seg = (seq: number, text: string): TcpSegment => ({
      ts: 0,
      src: 'a',
      dst: 'b',
      srcPort: 1,
      dstPort: 179,
      seq: seq >>> 0,
      flags: 0x18,
      payload: bytes(text),
    });
    const [s] = reassemble([seg(0xfffffffe, 'ab'), seg(0, 'cd'), seg(2, 'ef')]);
    assert.equal(new TextDecoder().decode(s!.data), 'abcdef');
  });
});

describe('support: ExaBGP readers', () => {
  test('64-bit integers survive JSON parsing exactly', () => {
    const j = parseJsonExact(
      '{"a": 9225060886715039744, "b": [1, -2.5e3], "c": "12345678901234567890"}',
    ) as Record<string, unknown>;
    assert.equal(j['a'], '9225060886715039744');
    assert.deepEqual(j['b'], [1, -2500]);
    assert.equal(j['c'], '12345678901234567890');
  });

  test('.ci reader ties JSON to the raw line above it and counts comments', () => {
    const { dir, done } = tmp();
    try {
      const p = join(dir, 'x.ci');
      writeFileSync(
        p,
        [
          'option:file:x.conf',
          '1:cmd:announce eor',
          '1:raw:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0017:02:00000000',
          '5:json:{"a": 1}',
          '#2:raw:FFFF',
          '2:raw:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0013:04',
          '2:jsv4:{"b": 2}',
        ].join('\n'),
      );
      const ci = readCiFile(p);
      assert.equal(ci.conf, 'x.conf');
      assert.equal(ci.vectors.length, 2);
      assert.deepEqual(ci.vectors[0]!.json, [{ a: 1 }]);
      assert.equal(ci.vectors[0]!.cmd, 'announce eor');
      assert.deepEqual(ci.vectors[1]!.json, [{ b: 2 }]);
      assert.equal(ci.vectors[1]!.raw.length, 19);
      assert.equal(ci.commentedRaw, 1);
      assert.equal(ci.jsonLines, 1);
      assert.equal(ci.versionedJsonLines, 1);
    } finally {
      done();
    }
  });

  test('configuration facts: asn4 and add-path families', () => {
    const { dir, done } = tmp();
    try {
      const a = join(dir, 'a.conf');
      writeFileSync(a, 'neighbor x {\n capability {\n  asn4 disable;\n }\n}\n');
      assert.deepEqual(readConfFacts(a), { asn4: false, addPathFamilies: [] });
      const b = join(dir, 'b.conf');
      writeFileSync(
        b,
        'neighbor x {\n capability {\n  add-path send/receive;\n }\n family {\n  ipv4 unicast;\n  ipv6 unicast;\n }\n add-path {\n  ipv4 unicast;\n }\n}\n',
      );
      assert.deepEqual(readConfFacts(b), { asn4: true, addPathFamilies: ['ipv4 unicast'] });
      const c = join(dir, 'c.conf');
      writeFileSync(
        c,
        'neighbor x {\n family {\n  ipv4 unicast;\n }\n capability {\n  add-path send/receive;\n }\n}\n',
      );
      assert.deepEqual(readConfFacts(c), { asn4: true, addPathFamilies: ['ipv4 unicast'] });
    } finally {
      done();
    }
  });
});

describe('support: VPN NLRI reader', () => {
  test('RD types 0, 1, 2', () => {
    assert.equal(rdText(Uint8Array.of(0, 0, 0xfd, 0xe8, 0, 0, 0, 1), 0), '0:65000:1');
    assert.equal(rdText(Uint8Array.of(0, 1, 10, 0, 0, 1, 0, 5), 0), '1:10.0.0.1:5');
    assert.equal(rdText(Uint8Array.of(0, 2, 0xfb, 0xf1, 0x0e, 0x49, 0, 11), 0), '2:4226879049:11');
  });

  test('label, RD, prefix; ADD-PATH', () => {
    // 24 + 64 + 24 bits: label 16 (BoS), RD 0:1:2, 10.1.2.0/24.
    const n = Uint8Array.of(112, 0x00, 0x01, 0x01, 0, 0, 0, 1, 0, 0, 0, 2, 10, 1, 2);
    assert.deepEqual(parseVpnNlri(n, 1, false), [
      { prefix: '10.1.2.0/24', rd: '0:1:2', label: 16 },
    ]);
    const withId = Uint8Array.of(0, 0, 0, 7, ...n);
    assert.deepEqual(parseVpnNlri(withId, 1, true), [
      { prefix: '10.1.2.0/24', rd: '0:1:2', label: 16, pathId: 7 },
    ]);
  });
});
