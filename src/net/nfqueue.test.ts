// The NFQUEUE codec against bytes written out by hand from the uapi layouts (spec
// tcpr-and-tcp-repair §5.2; <linux/netlink.h>, <linux/netfilter/nfnetlink_queue.h>), not
// produced by the encoder; and, as root, a bind/unbind round trip in a scratch namespace.
// The nlmsghdr/nlattr fields of the fixtures are written little-endian (host order here);
// on a big-endian host the byte-for-byte tests are skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  decodeError,
  HOST_LE,
  NetlinkFormatError,
  NLMSG,
  splitMessages as split,
  walkAttrs,
} from './netlink.js';
import {
  decodePacket,
  encodeQueueConfig,
  encodeVerdict,
  NF_VERDICT,
  VERDICT_HDRLEN,
} from './nfqueue-codec.js';
import { NfQueueError, NfQueueSocket, RawInjector } from './nfqueue.js';
import { PumpError, startPump } from './packet-pump.js';

const splitMessages = (b: Uint8Array) => [...split(b, true)];
const bigEndian = HOST_LE ? false : 'fixtures are little-endian; this host is big-endian';

/** Hex bytes; whitespace is ignored and `|` starts a comment up to the end of the line. */
const hex = (s: string): Uint8Array =>
  Uint8Array.from(
    Buffer.from(
      s
        .split('\n')
        .map((l) => l.split('|')[0]!)
        .join('')
        .replace(/\s/g, ''),
      'hex',
    ),
  );
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test(
  'config: BIND, copy mode PACKET, queue length, FAIL_OPEN and GSO cleared, with ACK',
  { skip: bigEndian },
  () => {
    const got = encodeQueueConfig({ queue: 101, maxLen: 8192, seq: 7 });
    const want = hex(`
    40000000 0203 0500 07000000 00000000  | nlmsghdr: len 64, type QUEUE<<8|CONFIG, REQUEST|ACK, seq 7
    00 00 0065                            | nfgenmsg: AF_UNSPEC, v0, res_id 101 (be)
    0800 0100 01 00 0000                  | NFQA_CFG_CMD {BIND, pad, pf 0}
    0900 0200 0000ffff 02 000000          | NFQA_CFG_PARAMS {copy_range be32 65535, mode PACKET} + 3 pad
    0800 0300 00002000                    | NFQA_CFG_QUEUE_MAXLEN be32 8192
    0800 0400 00000005                    | NFQA_CFG_MASK be32 FAIL_OPEN|GSO
    0800 0500 00000000                    | NFQA_CFG_FLAGS be32 0
  `);
    assert.equal(toHex(got), toHex(want));
    // Without a queue length the attribute is left out.
    assert.equal(encodeQueueConfig({ queue: 1, seq: 1 }).length, 56);
  },
);

test(
  'verdict: ACCEPT with a rewritten packet, payload padded to 4 bytes',
  { skip: bigEndian },
  () => {
    const out = new Uint8Array(VERDICT_HDRLEN + 8);
    const n = encodeVerdict(out, 2, 0x01020304, NF_VERDICT.ACCEPT, hex('4501020304'));
    const want = hex(`
    2c000000 0103 0100 00000000 00000000  | nlmsghdr: len 44, type QUEUE<<8|VERDICT, REQUEST
    00 00 0002                            | nfgenmsg: res_id 2
    0c00 0200 00000001 01020304           | NFQA_VERDICT_HDR {verdict be32 ACCEPT, id be32}
    0900 0a00 4501020304 000000           | NFQA_PAYLOAD, 5 bytes + 3 pad
  `);
    assert.equal(toHex(out.subarray(0, n)), toHex(want));
  },
);

test(
  'verdict: DROP carries no payload; stale bytes in the buffer are not sent',
  { skip: bigEndian },
  () => {
    const out = new Uint8Array(VERDICT_HDRLEN + 64).fill(0xee);
    const n = encodeVerdict(out, 0xfffe, 7, NF_VERDICT.DROP);
    const want = hex(`
    20000000 0103 0100 00000000 00000000
    00 00 fffe
    0c00 0200 00000000 00000007
  `);
    assert.equal(toHex(out.subarray(0, n)), toHex(want));
  },
);

// A PACKET message as the kernel builds it (nfqnl_build_packet_message): packet header with
// its 7-byte struct padded, an ifindex, SKB_INFO with NLA_F_NET_BYTEORDER set in the type
// (masked off when read), and the payload.
const PACKET = hex(`
  3c000000 0003 0000 00000000 00000000  | nlmsghdr: len 60, type QUEUE<<8|PACKET
  02 00 0065                            | nfgenmsg: AF_INET, res_id 101
  0b00 0100 0000002a 0800 02 00         | NFQA_PACKET_HDR {id 42, hw 0x0800, hook FORWARD(2)} + pad
  0800 0500 00000003                    | NFQA_IFINDEX_INDEV 3
  0800 0e40 00000001                    | NFQA_SKB_INFO (type 14 | NLA_F_NET_BYTEORDER) CSUMNOTREADY
  0a00 0a00 450000066162 0000           | NFQA_PAYLOAD 6 bytes + 2 pad
`);

test(
  'packet: queue from res_id, id/protocol/hook, payload view, masked attribute types',
  { skip: bigEndian },
  () => {
    const [m, ...rest] = splitMessages(PACKET);
    assert.equal(rest.length, 0);
    assert.equal(m!.type, 0x0300);
    const p = decodePacket(m!.payload);
    assert.equal(p.queue, 101);
    assert.equal(p.id, 42);
    assert.equal(p.hwProtocol, 0x0800);
    assert.equal(p.hook, 2);
    assert.equal(p.skbInfo, 1);
    assert.equal(toHex(p.payload), '450000066162');
    // A view into the datagram, not a copy.
    assert.equal(p.payload.buffer, PACKET.buffer);
    assert.equal(p.payload.byteOffset, PACKET.byteOffset + 52);
  },
);

test(
  'two messages in one datagram: a packet, then an error ACK (EBUSY) echoing its request',
  { skip: bigEndian },
  () => {
    const ack = hex(`
    24000000 0200 0001 07000000 00000000  | NLMSG_ERROR, NLM_F_CAPPED, seq 7
    f0ffffff                              | error -16 (EBUSY), host order
    40000000 0203 0500 07000000 34120000  | the request's nlmsghdr, echoed
  `);
    const both = new Uint8Array(PACKET.length + ack.length);
    both.set(PACKET);
    both.set(ack, PACKET.length);
    const ms = splitMessages(both);
    assert.deepEqual(
      ms.map((m) => [m.type, m.seq, m.payload.length]),
      [
        [0x0300, 0, 44],
        [NLMSG.ERROR, 7, 20],
      ],
    );
    assert.deepEqual(decodeError(ms[1]!.payload, ms[1]!.flags), { errno: 16, seq: 7 });
    const ok = hex(
      '24000000 0200 0001 09000000 00000000 00000000 20000000 0203 0500 09000000 00000000',
    );
    assert.equal(decodeError(ok.subarray(16), 0x100)?.errno, 0);
  },
);

test(
  'nlattrs: 4-byte alignment between attributes; a truncated one is an error',
  { skip: bigEndian },
  () => {
    const seen: [number, string][] = [];
    const b = hex('0500 0100 aa 000000 0600 0200 bbcc 0000 0400 0300');
    walkAttrs(b, 0, b.length, (t, d) => seen.push([t, toHex(d)]));
    assert.deepEqual(seen, [
      [1, 'aa'],
      [2, 'bbcc'],
      [3, ''],
    ]);
    assert.throws(
      () => walkAttrs(hex('0900 0100 aabb'), 0, 6, () => undefined, true),
      NetlinkFormatError,
    );
    // A message longer than the datagram, and a packet message without its header attribute.
    assert.throws(() => splitMessages(hex('40000000 0003 0000 00000000 00000000')), /claims 64/);
    const noHdr = hex('1c000000 0003 0000 00000000 00000000 02000001 0800 0a00 45000000');
    assert.throws(() => decodePacket(noHdr.subarray(16)), /without NFQA_PACKET_HDR/);
  },
);

test('injection mark 0 (fail open) or out of range: refused by RawInjector and startPump', async () => {
  for (const mark of [0, -1, 0x100000000, 1.5]) {
    assert.throws(
      () => RawInjector.open({ mark }),
      (e: unknown) => e instanceof NfQueueError && e.code === 'EINVAL' && /mark/.test(e.message),
    );
    await assert.rejects(
      startPump({ nfqueue: { appQueue: 1, peerQueue: 2, mark } }),
      (e: unknown) => e instanceof PumpError && e.code === 'EINVAL' && /0xffffffff/.test(e.message),
    );
  }
});

const root = process.getuid?.() === 0;
// Shaped like a lab name (`nst-<pid base 36>_<xx>-`), so cleanupStale() finds it after a crash.
const ns = `nst-${process.pid.toString(36)}_nq-unit`;

test(
  'bind two queues in a namespace; a second binder is refused (EPERM); bad numbers refused',
  { skip: root ? false : 'needs root (netns, CAP_NET_ADMIN)' },
  () => {
    assert.throws(() => NfQueueSocket.open({ queues: [70000] }), /bad queue number 70000/);
    assert.throws(() => NfQueueSocket.open({ queues: [3, 3] }), /must differ/);
    assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
    try {
      const a = NfQueueSocket.open({ queues: [11, 12], netns: ns });
      try {
        assert.throws(
          () => NfQueueSocket.open({ queues: [12], netns: ns }),
          (e: unknown) =>
            e instanceof NfQueueError &&
            e.code === 'EPERM' &&
            /bind queue 12 \(network namespace nst-.*\): bound by another process/.test(e.message),
        );
      } finally {
        a.close();
      }
      // Closed: the queues are free again.
      NfQueueSocket.open({ queues: [12], netns: ns }).close();
      assert.throws(
        () => NfQueueSocket.open({ queues: [1], netns: `${ns}-missing` }),
        (e: unknown) => e instanceof NfQueueError && e.code === 'ENOENT',
      );
    } finally {
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  },
);
