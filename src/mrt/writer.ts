// MRT writer (RFC 6396, RFC 8050): TABLE_DUMP_V2 (PEER_INDEX_TABLE, RIB_* incl. ADD-PATH)
// for RIB exports, BGP4MP_ET (messages, state changes) for update traces. Records are
// appended to one growable buffer; `take()` hands out what was written so far.
//
// Attributes and messages may be given as bytes or as wire/ values (encoded with wire's
// codec: RIB attributes with 4-octet ASNs and the abbreviated MP_REACH_NLRI of §4.3.4).

import { Writer } from '../lib/bytes.js';
import { AFI, type Prefix } from '../lib/ip.js';
import { encodeAttributes } from '../wire/attributes.js';
import { makeContext } from '../wire/context.js';
import { encodeMessage } from '../wire/message.js';
import type { BgpMessage, CodecContext, MpReach, PathAttribute } from '../wire/types.js';
import { BGP4MP, MRT_TYPE, PEER_TYPE, TABLE_DUMP_V2 } from './constants.js';

export interface WriterPeer {
  readonly bgpId: Uint8Array;
  readonly address: Uint8Array;
  readonly asn: number;
}

export interface PeerIndexTable {
  readonly collectorId: Uint8Array;
  readonly viewName?: string;
  readonly peers: readonly WriterPeer[];
}

export interface WriterRibEntry {
  readonly peerIndex: number;
  readonly originated: number;
  /** Required for ADD-PATH RIB records. */
  readonly pathId?: number;
  readonly attributes: Uint8Array | readonly PathAttribute[];
}

export interface WriterRib {
  readonly sequence: number;
  readonly prefix: Prefix;
  /** 1 unicast (default) or 2 multicast. */
  readonly safi?: 1 | 2;
  readonly addPath?: boolean;
  readonly entries: readonly WriterRibEntry[];
}

export interface WriterSession {
  readonly peerAs: number;
  readonly localAs: number;
  readonly ifIndex?: number;
  /** Both addresses of one family (4 or 16 octets). */
  readonly peerAddress: Uint8Array;
  readonly localAddress: Uint8Array;
}

export interface WriterMessage extends WriterSession {
  /** The message with its header, or a wire/ message to encode. */
  readonly message: Uint8Array | BgpMessage;
  /** Written by the local side (MESSAGE_*_LOCAL). */
  readonly local?: boolean;
  /** NLRI carry path identifiers (MESSAGE_*_ADDPATH). */
  readonly addPath?: boolean;
  /** 2-octet-AS session: MESSAGE instead of MESSAGE_AS4 (default false). */
  readonly as2?: boolean;
}

export interface WriterStateChange extends WriterSession {
  readonly oldState: number;
  readonly newState: number;
  readonly as2?: boolean;
}

const RIB_CTX: CodecContext = makeContext({
  as4: true,
  extendedMessage: true,
  mpReachAbbreviated: true,
});

/** RFC 6396 §4.3.4: in RIB entries, MP_REACH_NLRI keeps only next-hop length and next hop. */
function abbreviate(attrs: readonly PathAttribute[]): readonly PathAttribute[] {
  let out: PathAttribute[] | undefined;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.kind === 'mp-reach' && !a.abbreviated) {
      out ??= attrs.slice();
      const ab: MpReach = {
        kind: 'mp-reach',
        code: 14,
        flags: a.flags,
        afi: a.afi,
        safi: a.safi,
        nextHop: a.nextHop,
        reserved: 0,
        abbreviated: true,
      };
      out[i] = ab;
    }
  }
  return out ?? attrs;
}

export class MrtWriter {
  private readonly w = new Writer(1 << 16);
  private readonly scratch = new Writer(4096);

  private header(ts: number, type: number, subtype: number, usec?: number): number {
    this.w
      .u32(ts >>> 0)
      .u16(type)
      .u16(subtype);
    const at = this.w.reserve(4);
    if (usec !== undefined) this.w.u32(usec >>> 0);
    return at;
  }

  private close(at: number): void {
    this.w.patch(at, 4, this.w.pos - at - 4);
  }

  /** TABLE_DUMP_V2 PEER_INDEX_TABLE (§4.3.1). */
  peerIndexTable(timestamp: number, t: PeerIndexTable): this {
    const at = this.header(timestamp, MRT_TYPE.TABLE_DUMP_V2, TABLE_DUMP_V2.PEER_INDEX_TABLE);
    const name = Buffer.from(t.viewName ?? '', 'utf8');
    this.w.bytes(t.collectorId).u16(name.length).bytes(name).u16(t.peers.length);
    for (const p of t.peers) {
      const v6 = p.address.length === 16;
      const as4 = p.asn > 0xffff;
      this.w.u8((v6 ? PEER_TYPE.IPV6 : 0) | (as4 ? PEER_TYPE.AS4 : 0));
      this.w.bytes(p.bgpId).bytes(p.address);
      if (as4) this.w.u32(p.asn);
      else this.w.u16(p.asn);
    }
    this.close(at);
    return this;
  }

  /** TABLE_DUMP_V2 RIB_IPV4/IPV6_UNICAST/MULTICAST[_ADDPATH] (§4.3.2, RFC 8050 §4). */
  rib(timestamp: number, rib: WriterRib): this {
    const v6 = rib.prefix.afi === AFI.IPv6;
    const multicast = rib.safi === 2;
    let subtype: number = v6
      ? multicast
        ? TABLE_DUMP_V2.RIB_IPV6_MULTICAST
        : TABLE_DUMP_V2.RIB_IPV6_UNICAST
      : multicast
        ? TABLE_DUMP_V2.RIB_IPV4_MULTICAST
        : TABLE_DUMP_V2.RIB_IPV4_UNICAST;
    if (rib.addPath) subtype += 6;
    const at = this.header(timestamp, MRT_TYPE.TABLE_DUMP_V2, subtype);
    const p = rib.prefix;
    this.w
      .u32(rib.sequence)
      .u8(p.len)
      .bytes(p.addr.subarray(0, (p.len + 7) >> 3));
    this.w.u16(rib.entries.length);
    for (const e of rib.entries) {
      this.w.u16(e.peerIndex).u32(e.originated);
      if (rib.addPath) this.w.u32(e.pathId ?? 0);
      this.attributes(e.attributes);
    }
    this.close(at);
    return this;
  }

  private attributes(a: Uint8Array | readonly PathAttribute[]): void {
    if (a instanceof Uint8Array) {
      this.w.u16(a.length).bytes(a);
      return;
    }
    const s = this.scratch;
    s.reset();
    encodeAttributes(s, abbreviate(a), RIB_CTX);
    this.w.u16(s.pos).bytes(s.view());
  }

  private session(s: WriterSession, as4: boolean): void {
    if (s.peerAddress.length !== s.localAddress.length) {
      throw new Error('MRT writer: peer and local addresses must be of one family');
    }
    if (as4) this.w.u32(s.peerAs).u32(s.localAs);
    else this.w.u16(s.peerAs).u16(s.localAs);
    this.w.u16(s.ifIndex ?? 0).u16(s.peerAddress.length === 16 ? AFI.IPv6 : AFI.IPv4);
    this.w.bytes(s.peerAddress).bytes(s.localAddress);
  }

  /** BGP4MP_ET MESSAGE[_AS4][_LOCAL][_ADDPATH] (§4.4, §4.5, RFC 8050 §3). */
  message(timestamp: number, microseconds: number, m: WriterMessage): this {
    const as4 = !m.as2;
    const subtype = m.addPath
      ? m.local
        ? as4
          ? BGP4MP.MESSAGE_AS4_LOCAL_ADDPATH
          : BGP4MP.MESSAGE_LOCAL_ADDPATH
        : as4
          ? BGP4MP.MESSAGE_AS4_ADDPATH
          : BGP4MP.MESSAGE_ADDPATH
      : m.local
        ? as4
          ? BGP4MP.MESSAGE_AS4_LOCAL
          : BGP4MP.MESSAGE_LOCAL
        : as4
          ? BGP4MP.MESSAGE_AS4
          : BGP4MP.MESSAGE;
    const at = this.header(timestamp, MRT_TYPE.BGP4MP_ET, subtype, microseconds);
    this.session(m, as4);
    const bytes =
      m.message instanceof Uint8Array
        ? m.message
        : encodeMessage(
            m.message,
            makeContext({
              as4,
              extendedMessage: true,
              addPath: m.addPath
                ? [
                    [1, 1],
                    [1, 2],
                    [2, 1],
                    [2, 2],
                  ]
                : [],
            }),
          );
    this.w.bytes(bytes);
    this.close(at);
    return this;
  }

  /** BGP4MP_ET STATE_CHANGE[_AS4] (§4.4.1, §4.4.4). */
  stateChange(timestamp: number, microseconds: number, s: WriterStateChange): this {
    const as4 = !s.as2;
    const at = this.header(
      timestamp,
      MRT_TYPE.BGP4MP_ET,
      as4 ? BGP4MP.STATE_CHANGE_AS4 : BGP4MP.STATE_CHANGE,
      microseconds,
    );
    this.session(s, as4);
    this.w.u16(s.oldState).u16(s.newState);
    this.close(at);
    return this;
  }

  /** Bytes written so far (a copy); the writer starts afresh. */
  take(): Uint8Array {
    const out = this.w.finish();
    this.w.reset();
    return out;
  }

  get length(): number {
    return this.w.pos;
  }
}
