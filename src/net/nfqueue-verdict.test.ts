// decideVerdict (nfqueue-verdict.ts): which filter emit rides on the NFQUEUE verdict and
// which are injected, for each shape of filter result.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from './libc.js';
import { attrMap, splitMessages } from './netlink.js';
import { decideVerdict, VerdictBatch } from './nfqueue-verdict.js';
import { NF_VERDICT, NFQA, VERDICT_HDRLEN } from './nfqueue-codec.js';

/** A queued packet as the pump hands it out: a view into a larger datagram buffer. */
function queued(): { datagram: Uint8Array; packet: Uint8Array } {
  const datagram = new Uint8Array(128);
  const packet = datagram.subarray(40, 100);
  packet.set([0x45, 0, 0, 60]);
  return { datagram, packet };
}

test('the packet itself first, to the other side, rewritten in place: ACCEPT with it', () => {
  const { packet } = queued();
  packet[8] = 63; // TTL rewritten in place
  const d = decideVerdict(packet, 'app', [{ to: 'peer', packet }]);
  assert.equal(d.verdict, NF_VERDICT.ACCEPT);
  assert.equal(d.payload, packet);
  assert.equal(d.injectFrom, 1);
});

test('a shortened view of the same bytes (options stripped) is still the packet: ACCEPT', () => {
  const { packet } = queued();
  const short = packet.subarray(0, 52);
  const extra = new Uint8Array(40);
  const d = decideVerdict(packet, 'peer', [
    { to: 'app', packet: short },
    { to: 'peer', packet: extra },
  ]);
  assert.equal(d.verdict, NF_VERDICT.ACCEPT);
  assert.equal(d.payload, short);
  assert.equal(d.payload!.length, 52);
  assert.equal(d.injectFrom, 1, 'the ACK back to the peer is injected');
});

test('the packet itself to the SAME side (a reflection): DROP and inject it', () => {
  const { packet } = queued();
  const d = decideVerdict(packet, 'app', [{ to: 'app', packet }]);
  assert.deepEqual(d, { verdict: NF_VERDICT.DROP, injectFrom: 0 });
});

test('a new buffer first, the packet itself second: DROP, inject all (order kept)', () => {
  const { packet } = queued();
  const synAck = new Uint8Array(60);
  const d = decideVerdict(packet, 'app', [
    { to: 'app', packet: synAck },
    { to: 'peer', packet },
  ]);
  assert.deepEqual(d, { verdict: NF_VERDICT.DROP, injectFrom: 0 });
});

test('a copy of the packet (equal bytes, other buffer or offset) is not the packet: DROP', () => {
  const { datagram, packet } = queued();
  const copy = packet.slice();
  assert.deepEqual(decideVerdict(packet, 'app', [{ to: 'peer', packet: copy }]), {
    verdict: NF_VERDICT.DROP,
    injectFrom: 0,
  });
  const shifted = datagram.subarray(44, 100);
  assert.equal(decideVerdict(packet, 'app', [{ to: 'peer', packet: shifted }]).verdict, 0);
});

test('no emits, or a filter that threw (undefined): DROP, nothing to inject', () => {
  const { packet } = queued();
  assert.deepEqual(decideVerdict(packet, 'peer', []), { verdict: NF_VERDICT.DROP, injectFrom: 0 });
  assert.deepEqual(decideVerdict(packet, 'peer', undefined), {
    verdict: NF_VERDICT.DROP,
    injectFrom: 0,
  });
});

test('the packet itself, marked unchanged: ACCEPT without a copy; shortened, the copy goes', () => {
  const { packet } = queued();
  assert.deepEqual(decideVerdict(packet, 'peer', [{ to: 'app', packet, unchanged: true }]), {
    verdict: NF_VERDICT.ACCEPT,
    injectFrom: 1,
  });
  // A shortened view cannot be "unchanged": the kernel's copy would keep the tail.
  const short = packet.subarray(0, 52);
  const d = decideVerdict(packet, 'peer', [{ to: 'app', packet: short, unchanged: true }]);
  assert.equal(d.payload, short);
  // A reflection stays a DROP and an injection, marked or not.
  assert.deepEqual(decideVerdict(packet, 'app', [{ to: 'app', packet, unchanged: true }]), {
    verdict: NF_VERDICT.DROP,
    injectFrom: 0,
  });
});

// ---- VerdictBatch ----------------------------------------------------------------------

/** The (queue, id, verdict, payload length) of every verdict message in a datagram. */
function verdictsIn(d: Uint8Array): string[] {
  return [...splitMessages(d, true)].map((m) => {
    const attrs = attrMap(m.payload.subarray(4)); // past the nfgenmsg
    const hdr = new DataView(
      attrs.get(NFQA.VERDICT_HDR)!.buffer,
      attrs.get(NFQA.VERDICT_HDR)!.byteOffset,
    );
    const queue = new DataView(m.payload.buffer, m.payload.byteOffset).getUint16(2, false);
    return `${queue}/${hdr.getUint32(4, false)}/${hdr.getUint32(0, false)}/${attrs.get(NFQA.PAYLOAD)?.length ?? 0}`;
  });
}

const bv = (id: number, verdict: number = NF_VERDICT.ACCEPT) => ({
  queue: 7,
  id,
  verdict,
  to: 'peer' as const,
  bytes: 60,
});

test('VerdictBatch: several verdicts in one send, in order, payloads with the rewritten ones', () => {
  const b = new VerdictBatch();
  const sends: string[][] = [];
  assert.ok(b.add(bv(1), new Uint8Array(60)));
  assert.ok(b.add(bv(2))); // unchanged: no copy
  assert.ok(b.add(bv(3, NF_VERDICT.DROP)));
  const sent: number[] = [];
  b.flush(
    (buf, len) => (sends.push(verdictsIn(buf.subarray(0, len))), 0),
    (v) => sent.push(v.id),
    () => assert.fail('nothing failed'),
  );
  assert.deepEqual(sends, [['7/1/1/60', '7/2/1/0', '7/3/0/0']]);
  assert.deepEqual(sent, [1, 2, 3]);
  assert.equal(b.count, 0);
  const never = (): never => assert.fail('an empty batch sends nothing');
  b.flush(never, never, never);
});

test('VerdictBatch: a failed send goes again verdict by verdict; the ones still failing are reported', () => {
  const b = new VerdictBatch();
  for (const id of [1, 2, 3]) b.add(bv(id));
  const sends: string[][] = [];
  const sent: number[] = [];
  const failed: [number, number][] = [];
  b.flush(
    (buf, len) => {
      const v = verdictsIn(buf.subarray(0, len));
      sends.push(v);
      if (v.length > 1) return -ERRNO.ENOBUFS; // the batch
      return v[0] === '7/2/1/0' ? -ERRNO.EINVAL : 0;
    },
    (v) => sent.push(v.id),
    (v, errno) => failed.push([v.id, errno]),
  );
  assert.deepEqual(sends, [
    ['7/1/1/0', '7/2/1/0', '7/3/1/0'],
    ['7/1/1/0'],
    ['7/2/1/0'],
    ['7/3/1/0'],
  ]);
  assert.deepEqual(sent, [1, 3]);
  assert.deepEqual(failed, [[2, ERRNO.EINVAL]]);
});

test('VerdictBatch: a verdict that does not fit is refused, nothing added; after a flush it fits', () => {
  const b = new VerdictBatch(VERDICT_HDRLEN + 1500 + 4);
  assert.ok(b.add(bv(1), new Uint8Array(1500)));
  assert.equal(b.add(bv(2), new Uint8Array(1500)), false);
  assert.equal(b.count, 1);
  b.flush(
    () => 0,
    () => undefined,
    () => assert.fail('nothing failed'),
  );
  assert.ok(b.add(bv(2), new Uint8Array(1500)));
});
