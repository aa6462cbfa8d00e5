// MRT output of the speaker (RFC 6396): periodic TABLE_DUMP_V2 snapshots of the Loc-RIB
// candidates (every path of every prefix, like a route collector's bview) and a BGP4MP_ET
// log of the messages exchanged and of session state changes. Readable by bgpdump and by
// `nonstop mrt dump`.
//
// This module only produces bytes; the caller (cli/) decides where they go (files, with
// rotation). Times are wall-clock seconds/microseconds from an injected function.
// The RIB dump's "originated time" is the dump time: the engine does not keep a per-route
// wall-clock arrival time (it would cost 8 octets per route for this one purpose).

import { u32ToBytes } from '../lib/bytes.js';
import { parseAddr } from '../lib/ip.js';
import { MrtWriter, type WriterPeer } from '../mrt/writer.js';
import { keyToPrefix, type PrefixKey } from '../rib/index.js';
import type { PathAttribute } from '../wire/index.js';
import type { RouteEngine } from './engine/route-engine.js';

export interface RecorderSession {
  readonly peerAs: number;
  readonly localAs: number;
  readonly peerAddress: Uint8Array;
  readonly localAddress: Uint8Array;
}

/** BGP FSM state numbers of RFC 6396 §4.4.1 (Idle = 1 … Established = 6). */
export const MRT_STATE: Readonly<Record<string, number>> = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
};

export class MrtRecorder {
  private readonly log = new MrtWriter();

  constructor(private readonly wallTime: () => number = () => Date.now() / 1000) {}

  /** A BGP message sent (`local`) or received on a session. */
  message(s: RecorderSession, bytes: Uint8Array, local: boolean): void {
    const t = this.wallTime();
    const sec = Math.floor(t);
    this.log.message(sec, Math.floor((t - sec) * 1e6), {
      peerAs: s.peerAs,
      localAs: s.localAs,
      peerAddress: s.peerAddress,
      localAddress: s.localAddress,
      message: bytes,
      local,
    });
  }

  stateChange(s: RecorderSession, from: string, to: string): void {
    const t = this.wallTime();
    const sec = Math.floor(t);
    this.log.stateChange(sec, Math.floor((t - sec) * 1e6), {
      ...s,
      oldState: MRT_STATE[from] ?? 0,
      newState: MRT_STATE[to] ?? 0,
    });
  }

  /** The message log written since the last call (empty when nothing happened). */
  takeLog(): Uint8Array {
    return this.log.take();
  }

  /**
   * A TABLE_DUMP_V2 snapshot of every candidate path in the Loc-RIB: a PEER_INDEX_TABLE of
   * the peers that contributed, then one RIB record per prefix. Locally originated routes
   * appear under our own router ID and address 0.0.0.0.
   */
  ribDump(engine: RouteEngine, routerId: Uint8Array, localAs: number): Uint8Array {
    const ts = Math.floor(this.wallTime());
    const w = new MrtWriter();
    const peers: WriterPeer[] = [];
    const index = new Map<number, number>();
    const peerIndex = (id: number, p: WriterPeer): number => {
      let i = index.get(id);
      if (i === undefined) {
        i = peers.length;
        peers.push(p);
        index.set(id, i);
      }
      return i;
    };
    const records: { key: PrefixKey; entries: { peerIndex: number; attrs: PathAttribute[] }[] }[] =
      [];
    for (const [key, , cands] of engine.locRib.entries()) {
      const entries = cands.map((r) => ({
        peerIndex: peerIndex(r.peer.id, {
          bgpId: u32ToBytes(r.peer.routerId),
          address: r.peer.id === 0 ? parseAddr('0.0.0.0')! : r.peer.address,
          asn: r.peer.id === 0 ? localAs : r.peer.asn,
        }),
        attrs: [...r.attrs.attrs],
      }));
      records.push({ key, entries });
    }
    w.peerIndexTable(ts, { collectorId: routerId, viewName: 'nonstop', peers });
    let seq = 0;
    for (const r of records) {
      const prefix = keyToPrefix(r.key);
      w.rib(ts, {
        sequence: seq++,
        prefix,
        entries: r.entries.map((e) => ({
          peerIndex: e.peerIndex,
          originated: ts,
          attributes: e.attrs,
        })),
      });
    }
    return w.take();
  }
}
