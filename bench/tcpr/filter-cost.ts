// The TCPR filter's own cost per packet, in process, no devices (bench/tcpr.ts runs it to
// explain the throughput figures): one established IPv4 connection app 198.18.1.2:40000 ↔
// peer 198.18.2.2:5000 set up by a crafted handshake, then full-size data segments
// (1448 bytes of payload, MTU 1500) and pure ACKs through `fromApp` / `fromPeer`, and the
// parts of the forwarding path on their own.
//
// Forwarded packets are rewritten in place (decision E1), so the rings of crafted packets
// are sent again and again only because this connection's common path changes no byte
// (no delta, external = internal address, ACK at the checkpoint); `filterCost` checks that
// they come out unchanged. `fromAppTranslated` is the path after a recovery, where every
// segment is rewritten (seq − delta, ACK clamped, source address): each call first
// restores the packet from a template, and that copy, timed on its own, is subtracted.
//
// Parts: `parseVerify` reads the headers in place and verifies both checksums (what
// `verifyChecksums: true` adds to every segment); `encode` is the in-place patch of a
// translated segment (seq, ack, source port and address; both checksums updated
// incrementally) — it replaced the re-encode into a fresh buffer; `checksum` is one TCP
// checksum computed in full.

import { tcpChecksum } from '../../src/tcpr/checksum.js';
import {
  checkTcp,
  finishPatch,
  PacketView,
  patchAddr,
  patchTcp,
  readIp,
  readTcp,
} from '../../src/tcpr/packet.js';
import { buildSegment, TCP_FLAG, TcprFilter } from '../../src/tcpr/index.js';
import { parseAddr } from '../../src/lib/ip.js';
import { TCPR_ADDRESSES } from '../../src/lab/tcpr-topology.js';

/** ns per call (median of 5 batches) of each case, and the payload size of the data ones. */
export type FilterCost = Record<
  | 'fromAppData'
  | 'fromPeerData'
  | 'fromPeerAck'
  | 'fromAppTranslated'
  | 'parseVerify'
  | 'encode'
  | 'checksum',
  number
> & { payload: number };

const MSS = 1448;
const APP_ISN = 1000;
const PEER_ISN = 5_000_000;
const RECOVERED_ISN = 77_000_000;

/** Median ns per call of `fn(i)` over `n` calls, in 5 batches after a warm-up batch. */
function time(n: number, fn: (i: number) => unknown): number {
  const batches: number[] = [];
  for (let b = 0; b < 6; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    if (b > 0) batches.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return batches.sort((x, y) => x - y)[2]!;
}

export function filterCost(n = 50_000): FilterCost {
  const app = parseAddr(TCPR_ADDRESSES.app.v4)!;
  const peer = parseAddr(TCPR_ADDRESSES.peer.v4)!;
  const ports = { app: 40000, peer: 5000 };
  const fromApp = (seq: number, ack: number, flags: number, payload?: Uint8Array): Uint8Array =>
    buildSegment({
      src: app,
      dst: peer,
      srcPort: ports.app,
      dstPort: ports.peer,
      seq,
      ack,
      flags,
      window: 512,
      payload,
    });
  const fromPeer = (seq: number, ack: number, flags: number, payload?: Uint8Array): Uint8Array =>
    buildSegment({
      src: peer,
      dst: app,
      srcPort: ports.peer,
      dstPort: ports.app,
      seq,
      ack,
      flags,
      window: 512,
      payload,
    });
  const f = new TcprFilter({ addresses: [{ internal: app, external: app }] });
  const { SYN, ACK } = TCP_FLAG;
  f.fromApp(fromApp(APP_ISN, 0, SYN));
  f.fromPeer(fromPeer(PEER_ISN, APP_ISN + 1, SYN | ACK));
  f.fromApp(fromApp(APP_ISN + 1, PEER_ISN + 1, ACK));
  const data = new Uint8Array(MSS).map((_, i) => i & 0xff);
  const ring = 256;
  const appData = Array.from({ length: ring }, (_, i) =>
    fromApp(APP_ISN + 1 + i * MSS, PEER_ISN + 1, ACK, data),
  );
  const peerAcks = Array.from({ length: ring }, (_, i) =>
    fromPeer(PEER_ISN + 1, APP_ISN + 1 + (i + 1) * MSS, ACK),
  );
  const peerData = Array.from({ length: ring }, (_, i) =>
    fromPeer(PEER_ISN + 1 + i * MSS, APP_ISN + 1, ACK, data),
  );
  const pristine = [appData, peerAcks, peerData].map((r) => r.map((p) => p.slice()));
  const emitted = (out: readonly unknown[]): void => {
    if (out.length !== 1) throw new Error('filter-cost: the filter dropped a segment');
  };
  const cost: FilterCost = {
    fromAppData: time(n, (i) => emitted(f.fromApp(appData[i % ring]!))),
    fromPeerAck: time(n, (i) => emitted(f.fromPeer(peerAcks[i % ring]!))),
    fromPeerData: time(n, (i) => emitted(f.fromPeer(peerData[i % ring]!))),
    fromAppTranslated: translatedCost(n, data),
    parseVerify: 0,
    encode: 0,
    checksum: time(n, (i) => tcpChecksum(app, peer, appData[i % ring]!, 20, 20 + MSS)),
    payload: MSS,
  };
  [appData, peerAcks, peerData].forEach((r, k) =>
    r.forEach((p, i) => {
      if (!p.every((b, j) => b === pristine[k]![i]![j])) {
        throw new Error('filter-cost: the filter rewrote a packet of the no-change path');
      }
    }),
  );
  const v = new PacketView();
  cost.parseVerify = time(n, (i) => {
    const p = appData[i % ring]!;
    if (readIp(p, v) ?? readTcp(p, v) ?? checkTcp(p, v)) throw new Error('filter-cost: bad');
  });
  // Translate back and forth, so that every call changes the same words.
  const other = parseAddr('198.18.1.3')!;
  cost.encode = time(n, (i) => {
    const p = appData[i % ring]!;
    readIp(p, v);
    readTcp(p, v);
    const back = (i >> 8) & 1;
    v.seq = (v.seq + (back ? -0x12345 : 0x12345)) >>> 0;
    v.ack = (v.ack + (back ? -0x678 : 0x678)) >>> 0;
    v.srcPort = back ? ports.app : 179;
    patchTcp(p, v);
    patchAddr(p, v, v.srcAt, back ? app : other);
    finishPatch(p, v);
  });
  return cost;
}

/**
 * A data segment from the app on a recovered connection whose external address differs
 * from the internal one: seq − delta, the ACK clamped to the checkpoint, the source address
 * rewritten. Less the time of restoring the packet from its template.
 */
function translatedCost(n: number, data: Uint8Array): number {
  const app = parseAddr(TCPR_ADDRESSES.app.v4)!;
  const ext = parseAddr('198.18.1.3')!;
  const peer = parseAddr(TCPR_ADDRESSES.peer.v4)!;
  const seg = (src: Uint8Array, dst: Uint8Array, seq: number, ack: number, flags: number) =>
    buildSegment({
      src,
      dst,
      srcPort: src === peer ? 5000 : 40000,
      dstPort: src === peer ? 40000 : 5000,
      seq,
      ack,
      flags,
      window: 512,
      payload: flags === TCP_FLAG.ACK && seq > RECOVERED_ISN ? data : undefined,
    });
  const f = new TcprFilter({ addresses: [{ internal: app, external: ext }], dupAcks: 0 });
  const { SYN, ACK } = TCP_FLAG;
  f.fromApp(seg(app, peer, APP_ISN, 0, SYN));
  f.fromPeer(seg(peer, ext, PEER_ISN, APP_ISN + 1, SYN | ACK));
  f.fromApp(seg(app, peer, APP_ISN + 1, PEER_ISN + 1, ACK));
  if (f.fromApp(seg(app, peer, RECOVERED_ISN, 0, SYN))[0]?.to !== 'app') {
    throw new Error('filter-cost: no recovery');
  }
  f.fromApp(seg(app, peer, RECOVERED_ISN + 1, PEER_ISN + 1, ACK));
  // The ACK is ahead of the checkpoint (unchecked input): clamped on the way out.
  const template = seg(app, peer, RECOVERED_ISN + 1, PEER_ISN + 1 + MSS, ACK);
  const p = template.slice();
  const copy = time(n, () => p.set(template));
  const both = time(n, () => {
    p.set(template);
    const out = f.fromApp(p);
    if (out.length !== 1 || out[0]!.packet[15] !== ext[3]) {
      throw new Error('filter-cost: the recovered connection did not translate');
    }
  });
  return both - copy;
}
