// decideVerdict (nfqueue-verdict.ts): which filter emit rides on the NFQUEUE verdict and
// which are injected, for each shape of filter result.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideVerdict } from './nfqueue-verdict.js';
import { NF_VERDICT } from './nfqueue-codec.js';

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
