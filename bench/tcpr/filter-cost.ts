// The TCPR filter's own cost per packet, in process, no devices (bench/tcpr.ts runs it to
// explain the throughput figures): one established IPv4 connection app 198.18.1.2:40000 ↔
// peer 198.18.2.2:5000 set up by a crafted handshake, then full-size data segments
// (1448 bytes of payload, MTU 1500) and pure ACKs through `fromApp` / `fromPeer`, and the
// parts of the forwarding path on their own: parse with checksum verification, re-encode
// (fresh buffer, both checksums computed in full), the TCP checksum alone.

import { tcpChecksum } from '../../src/tcpr/checksum.js';
import {
  buildSegment,
  encodeSegment,
  parseIp,
  parseTcp,
  TCP_FLAG,
  TcprFilter,
} from '../../src/tcpr/index.js';
import { parseAddr } from '../../src/lib/ip.js';
import { TCPR_ADDRESSES } from '../../src/lab/tcpr-topology.js';

/** ns per call (median of 5 batches) of each case, and the payload size of the data ones. */
export type FilterCost = Record<
  'fromAppData' | 'fromPeerData' | 'fromPeerAck' | 'parseVerify' | 'encode' | 'checksum',
  number
> & { payload: number };

const MSS = 1448;
const APP_ISN = 1000;
const PEER_ISN = 5_000_000;

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
  const emitted = (out: readonly unknown[]): void => {
    if (out.length !== 1) throw new Error('filter-cost: the filter dropped a segment');
  };
  const cost: FilterCost = {
    fromAppData: time(n, (i) => emitted(f.fromApp(appData[i % ring]!))),
    fromPeerAck: time(n, (i) => emitted(f.fromPeer(peerAcks[i % ring]!))),
    fromPeerData: time(n, (i) => emitted(f.fromPeer(peerData[i % ring]!))),
    parseVerify: time(n, (i) => {
      const p = appData[i % ring]!;
      const ip = parseIp(p);
      if (ip.ok) parseTcp(p, ip.ip, true);
    }),
    encode: 0,
    checksum: time(n, (i) => tcpChecksum(app, peer, appData[i % ring]!, 20, 20 + MSS)),
    payload: MSS,
  };
  const segs = appData.map((p) => {
    const ip = parseIp(p);
    const t = ip.ok ? parseTcp(p, ip.ip, true) : undefined;
    if (!t?.ok) throw new Error('filter-cost: crafted segment does not parse');
    return t.seg;
  });
  cost.encode = time(n, (i) => encodeSegment(segs[i % ring]!));
  return cost;
}
