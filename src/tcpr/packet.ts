// IP packets carrying TCP, as the TCPR filter sees them (RFC 791 §3.1, RFC 8200 §3–4,
// RFC 9293 §3.1; incremental checksum update RFC 1624). Pure functions over bytes: no I/O.
//
// Behaviour:
// - `readIp` reads the IP layer of a packet with no link header into a reusable
//   `PacketView` (the packet path allocates nothing); `parseIp` is the same as a value.
//   IPv4 headers may carry options (IHL > 5). IPv6 extension headers (hop-by-hop, routing,
//   fragment, destination options) are walked to find the upper-layer protocol.
// - What we do with what we find:
//   - not IPv4/IPv6, or an IP header that is truncated or whose lengths disagree: drop
//     (`not-ip`, `ipv4-header`, `ipv4-length`, `ipv6-length`, `ipv6-ext`);
//   - anything whose upper layer is not TCP (ICMP, ICMPv6/ND, UDP, ESP…): the caller
//     passes it through byte for byte;
//   - TCP in an IPv4 fragment (MF set or offset ≠ 0): drop (`ipv4-fragment`). The TCP
//     header may be missing or split, so the segment cannot be rewritten, and passing it
//     on unrewritten would leak an un-translated segment. Linux TCP sets DF, so a
//     protected connection never needs fragments;
//   - TCP behind IPv6 extension headers: drop (`ipv6-ext-tcp`) for the same reason;
//     stacks do not put extension headers on ordinary TCP segments.
//   Bytes after the IP total length (link padding) are ignored.
// - `readTcp` reads the TCP header fields into the view; `parseTcp` turns a packet into a
//   `TcpSegment` value (header fields, a private copy of the options, a view of the
//   payload). A short header or a data offset that is < 5 or runs past the segment drops
//   the packet (`tcp-header`). `checkTcp` (and `parseTcp` with `verify`) verifies the IPv4
//   header and TCP checksums (`ipv4-checksum`, `tcp-checksum`); the filter decides when
//   (decision E1).
// - Forwarding rewrites in place (E1): `patchTcp` writes back the view's ports, seq, ack and
//   window where they changed, `patchAddr` an address, `optionSum` + `noteOptions` account
//   for option bytes rewritten in place; each change only adds an RFC 1624 adjustment and
//   `finishPatch` applies them to the IPv4 header and TCP checksums. Lengths never change.
//   A checksum that was wrong stays wrong by the same amount: the receiver drops the packet.
// - `encodeSegment` writes a segment into a fresh packet: the original IP header is kept
//   (TOS/traffic class, TTL/hop limit, ID, flags, IPv4 options, flow label) with the
//   addresses and lengths set from the segment, and both checksums computed in full.
// - `buildSegment` makes a packet TCPR generates: IPv4 with IHL 5, TTL 64, ID 0, DF clear
//   (spec §2.4), or IPv6 with hop limit 64 and flow label 0.

import {
  applyAdjust,
  ipv4HeaderChecksum,
  ipv4HeaderValid,
  rangeAdjust,
  sumWords,
  tcpChecksum,
  tcpChecksumValid,
  tcpChecksumValidAt,
  wordAdjust,
} from './checksum.js';

export const IP_PROTO = { TCP: 6 } as const;

/** IPv6 extension headers we walk (RFC 8200 §4). Others end the walk. */
const IPV6_EXT = { HOP_BY_HOP: 0, ROUTING: 43, FRAGMENT: 44, DEST_OPTS: 60 } as const;

export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Why a packet was dropped before the TCPR rules ran. */
export type MalformedReason =
  | 'empty'
  | 'not-ip'
  | 'ipv4-header'
  | 'ipv4-length'
  | 'ipv4-checksum'
  | 'ipv4-fragment'
  | 'ipv6-length'
  | 'ipv6-ext'
  | 'ipv6-ext-tcp'
  | 'tcp-header'
  | 'tcp-checksum'
  | 'tcp-option-length'
  | 'tcp-option-overrun';

/** The IP layer of a packet. Addresses are views into the packet. */
export interface IpView {
  readonly version: 4 | 6;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Upper-layer protocol (after IPv6 extension headers). */
  readonly proto: number;
  /** Offset of the upper-layer header. */
  readonly headerLen: number;
  /** End of the IP packet (total length), ≤ packet.length. */
  readonly end: number;
  /** IPv4 fragment, or IPv6 with extension headers before the upper layer. */
  readonly unusual: boolean;
}

export type IpParse = { ok: true; ip: IpView } | { ok: false; reason: MalformedReason };

/** A TCP segment with its IP envelope. Header fields are plain numbers; edit and encode. */
export interface TcpSegment {
  version: 4 | 6;
  /** The IP header as received (a copy), or a default one for generated packets. */
  ipHeader: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** FIN…CWR (byte 13 of the header). */
  flags: number;
  /** The low nibble of byte 12 (reserved bits and AE), kept as received. */
  reservedBits: number;
  window: number;
  urgent: number;
  /** Option bytes (a private copy; length a multiple of 4, at most 40). */
  options: Uint8Array;
  /** Payload (a view into the received packet). */
  payload: Uint8Array;
}

export type TcpParse = { ok: true; seg: TcpSegment } | { ok: false; reason: MalformedReason };

/**
 * One packet's IP and TCP headers, read in place. The filter keeps one and reuses it for
 * every packet (decision E14: calls are never concurrent), so reading allocates nothing.
 * The TCP fields may be edited and written back with `patchTcp`.
 */
export class PacketView {
  version: 4 | 6 = 4;
  /** Upper-layer protocol (after IPv6 extension headers). */
  proto = 0;
  /** Offset of the upper-layer header (the IP header's length). */
  t = 0;
  /** End of the IP packet (total length), ≤ packet.length. */
  end = 0;
  /** IPv4 fragment, or IPv6 with extension headers before the upper layer. */
  unusual = false;
  /** Offsets of the source and destination addresses; their length (4 or 16). */
  srcAt = 12;
  dstAt = 16;
  addrLen = 4;
  /** TCP header length in bytes (data offset × 4); the options are [t + 20, t + doff). */
  doff = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  /** FIN…CWR (byte 13 of the TCP header). */
  flags = 0;
  window = 0;
  /** Pending RFC 1624 adjustments of the IPv4 header checksum and the TCP checksum. */
  ipAdjust = 0;
  tcpAdjust = 0;
  /** Some byte of the packet was rewritten (set by every writer here; options conservatively
   * whenever noteOptions is called). Not set: the packet is as it arrived. */
  dirty = false;
}

/** Reads the IP layer of `p` into `v`; a reason when the packet is malformed. */
export function readIp(p: Uint8Array, v: PacketView): MalformedReason | undefined {
  v.ipAdjust = 0;
  v.tcpAdjust = 0;
  v.dirty = false;
  if (p.length === 0) return 'empty';
  const version = p[0]! >> 4;
  if (version === 4) return readIpv4(p, v);
  if (version === 6) return readIpv6(p, v);
  return 'not-ip';
}

function readIpv4(p: Uint8Array, v: PacketView): MalformedReason | undefined {
  if (p.length < 20) return 'ipv4-header';
  const ihl = (p[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > p.length) return 'ipv4-header';
  const total = (p[2]! << 8) | p[3]!;
  if (total < ihl || total > p.length) return 'ipv4-length';
  const fragField = (p[6]! << 8) | p[7]!;
  v.version = 4;
  v.srcAt = 12;
  v.dstAt = 16;
  v.addrLen = 4;
  v.proto = p[9]!;
  v.t = ihl;
  v.end = total;
  v.unusual = (fragField & 0x2000) !== 0 || (fragField & 0x1fff) !== 0;
  return undefined;
}

function readIpv6(p: Uint8Array, v: PacketView): MalformedReason | undefined {
  if (p.length < 40) return 'ipv6-length';
  const payloadLen = (p[4]! << 8) | p[5]!;
  // Payload length 0 means a jumbogram (RFC 2675); a TUN never hands us one.
  const end = 40 + payloadLen;
  if (payloadLen === 0 || end > p.length) return 'ipv6-length';
  let next = p[6]!;
  let off = 40;
  let unusual = false;
  // Bounded walk: at most 8 extension headers, each inside the packet.
  for (let i = 0; i < 8; i++) {
    if (
      next !== IPV6_EXT.HOP_BY_HOP &&
      next !== IPV6_EXT.ROUTING &&
      next !== IPV6_EXT.FRAGMENT &&
      next !== IPV6_EXT.DEST_OPTS
    ) {
      break;
    }
    if (off + 8 > end) return 'ipv6-ext';
    unusual = true;
    const len = next === IPV6_EXT.FRAGMENT ? 8 : (p[off + 1]! + 1) * 8;
    next = p[off]!;
    off += len;
    if (off > end) return 'ipv6-ext';
  }
  v.version = 6;
  v.srcAt = 8;
  v.dstAt = 24;
  v.addrLen = 16;
  v.proto = next;
  v.t = off;
  v.end = end;
  v.unusual = unusual;
  return undefined;
}

export function parseIp(p: Uint8Array): IpParse {
  const v = new PacketView();
  const reason = readIp(p, v);
  if (reason !== undefined) return { ok: false, reason };
  return {
    ok: true,
    ip: {
      version: v.version,
      src: p.subarray(v.srcAt, v.srcAt + v.addrLen),
      dst: p.subarray(v.dstAt, v.dstAt + v.addrLen),
      proto: v.proto,
      headerLen: v.t,
      end: v.end,
      unusual: v.unusual,
    },
  };
}

/** Why the TCP header at `t` cannot be used, or undefined. */
function tcpHeaderProblem(
  p: Uint8Array,
  version: 4 | 6,
  unusual: boolean,
  t: number,
  end: number,
): MalformedReason | undefined {
  if (unusual) return version === 4 ? 'ipv4-fragment' : 'ipv6-ext-tcp';
  const len = end - t;
  if (len < 20) return 'tcp-header';
  const doff = (p[t + 12]! >> 4) * 4;
  if (doff < 20 || doff > len) return 'tcp-header';
  return undefined;
}

/** Reads the TCP header of a packet `readIp` put in `v` (proto TCP) into `v`. */
export function readTcp(p: Uint8Array, v: PacketView): MalformedReason | undefined {
  const t = v.t;
  const bad = tcpHeaderProblem(p, v.version, v.unusual, t, v.end);
  if (bad !== undefined) return bad;
  v.doff = (p[t + 12]! >> 4) * 4;
  v.srcPort = (p[t]! << 8) | p[t + 1]!;
  v.dstPort = (p[t + 2]! << 8) | p[t + 3]!;
  v.seq = ((p[t + 4]! << 24) | (p[t + 5]! << 16) | (p[t + 6]! << 8) | p[t + 7]!) >>> 0;
  v.ack = ((p[t + 8]! << 24) | (p[t + 9]! << 16) | (p[t + 10]! << 8) | p[t + 11]!) >>> 0;
  v.flags = p[t + 13]!;
  v.window = (p[t + 14]! << 8) | p[t + 15]!;
  return undefined;
}

/** Verifies the IPv4 header checksum and the TCP checksum of the packet in `v`. */
export function checkTcp(p: Uint8Array, v: PacketView): MalformedReason | undefined {
  if (v.version === 4 && !ipv4HeaderValid(p, 0, v.t)) return 'ipv4-checksum';
  if (!tcpChecksumValidAt(p, v.srcAt, v.dstAt, v.addrLen, v.t, v.end - v.t)) {
    return 'tcp-checksum';
  }
  return undefined;
}

/** Payload length of the TCP segment in `v`. */
export function payloadLength(v: PacketView): number {
  return v.end - v.t - v.doff;
}

/** Writes the word at `at` if it differs; notes the TCP checksum adjustment. */
function put16(p: Uint8Array, v: PacketView, at: number, word: number): void {
  const before = (p[at]! << 8) | p[at + 1]!;
  if (before === word) return;
  p[at] = word >>> 8;
  p[at + 1] = word & 0xff;
  v.tcpAdjust += wordAdjust(before, word);
  v.dirty = true;
}

/** Writes the view's ports, seq, ack and window back into `p` where they changed. */
export function patchTcp(p: Uint8Array, v: PacketView): void {
  const t = v.t;
  put16(p, v, t, v.srcPort);
  put16(p, v, t + 2, v.dstPort);
  put16(p, v, t + 4, v.seq >>> 16);
  put16(p, v, t + 6, v.seq & 0xffff);
  put16(p, v, t + 8, v.ack >>> 16);
  put16(p, v, t + 10, v.ack & 0xffff);
  put16(p, v, t + 14, v.window);
}

/**
 * Writes `addr` at `at` (the source or destination address) where it differs. The
 * address is in the TCP pseudo-header, and for IPv4 in the header checksum too.
 */
export function patchAddr(p: Uint8Array, v: PacketView, at: number, addr: Uint8Array): void {
  for (let i = 0; i < addr.length; i += 2) {
    const before = (p[at + i]! << 8) | p[at + i + 1]!;
    const word = (addr[i]! << 8) | addr[i + 1]!;
    if (before === word) continue;
    p[at + i] = addr[i]!;
    p[at + i + 1] = addr[i + 1]!;
    v.dirty = true;
    const adjust = wordAdjust(before, word);
    v.tcpAdjust += adjust;
    if (v.version === 4) v.ipAdjust += adjust;
  }
}

/** The (unfolded) sum of the option bytes, taken before rewriting them in place. */
export function optionSum(p: Uint8Array, v: PacketView): number {
  return sumWords(p, v.t + 20, v.t + v.doff);
}

/** Notes the checksum adjustment for option bytes rewritten since `optionSum` gave `before`. */
export function noteOptions(p: Uint8Array, v: PacketView, before: number): void {
  const after = optionSum(p, v);
  if (after !== before) v.tcpAdjust += rangeAdjust(before, after);
  v.dirty = true; // the bytes may differ with the same sum
}

/** Applies the pending adjustments to the IPv4 header and TCP checksums. */
export function finishPatch(p: Uint8Array, v: PacketView): void {
  if (v.ipAdjust !== 0) {
    const hc = applyAdjust((p[10]! << 8) | p[11]!, v.ipAdjust);
    p[10] = hc >>> 8;
    p[11] = hc & 0xff;
    v.ipAdjust = 0;
  }
  if (v.tcpAdjust !== 0) {
    const at = v.t + 16;
    const hc = applyAdjust((p[at]! << 8) | p[at + 1]!, v.tcpAdjust);
    p[at] = hc >>> 8;
    p[at + 1] = hc & 0xff;
    v.tcpAdjust = 0;
  }
}

/** The IP packet of `p` without link padding (the same buffer when there is none). */
export function ipPacket(p: Uint8Array, v: PacketView): Uint8Array {
  return v.end === p.length ? p : p.subarray(0, v.end);
}

/** Parses the TCP segment of a packet whose IP layer is `ip` (proto TCP, not unusual). */
export function parseTcp(p: Uint8Array, ip: IpView, verify: boolean): TcpParse {
  const t = ip.headerLen;
  const len = ip.end - t;
  const bad = tcpHeaderProblem(p, ip.version, ip.unusual, t, ip.end);
  if (bad !== undefined) return { ok: false, reason: bad };
  const doff = (p[t + 12]! >> 4) * 4;
  if (verify) {
    if (ip.version === 4 && !ipv4HeaderValid(p, 0, t))
      return { ok: false, reason: 'ipv4-checksum' };
    if (!tcpChecksumValid(ip.src, ip.dst, p, t, len)) return { ok: false, reason: 'tcp-checksum' };
  }
  const u16 = (o: number): number => (p[t + o]! << 8) | p[t + o + 1]!;
  const u32 = (o: number): number =>
    ((p[t + o]! << 24) | (p[t + o + 1]! << 16) | (p[t + o + 2]! << 8) | p[t + o + 3]!) >>> 0;
  return {
    ok: true,
    seg: {
      version: ip.version,
      ipHeader: p.slice(0, t),
      src: ip.src.slice(),
      dst: ip.dst.slice(),
      srcPort: u16(0),
      dstPort: u16(2),
      seq: u32(4),
      ack: u32(8),
      reservedBits: p[t + 12]! & 0x0f,
      flags: p[t + 13]!,
      window: u16(14),
      urgent: u16(18),
      options: p.slice(t + 20, t + doff),
      payload: p.subarray(t + doff, ip.end),
    },
  };
}

/** A fresh packet carrying `seg`, with lengths and both checksums computed in full. */
export function encodeSegment(seg: TcpSegment): Uint8Array {
  if (seg.options.length % 4 !== 0 || seg.options.length > 40) {
    throw new Error(
      `TCP options must be a multiple of 4 bytes up to 40, got ${seg.options.length}`,
    );
  }
  const ipLen = seg.ipHeader.length;
  const tcpLen = 20 + seg.options.length + seg.payload.length;
  const total = ipLen + tcpLen;
  const out = new Uint8Array(total);
  out.set(seg.ipHeader, 0);
  if (seg.version === 4) {
    out[2] = total >> 8;
    out[3] = total & 0xff;
    out.set(seg.src, 12);
    out.set(seg.dst, 16);
    const c = ipv4HeaderChecksum(out, 0, ipLen);
    out[10] = c >> 8;
    out[11] = c & 0xff;
  } else {
    // Extension headers are never forwarded through here (see parseTcp), so the payload
    // length is the TCP length.
    out[4] = tcpLen >> 8;
    out[5] = tcpLen & 0xff;
    out.set(seg.src, 8);
    out.set(seg.dst, 24);
  }
  const t = ipLen;
  const put16 = (o: number, v: number): void => {
    out[t + o] = (v >>> 8) & 0xff;
    out[t + o + 1] = v & 0xff;
  };
  const put32 = (o: number, v: number): void => {
    put16(o, v >>> 16);
    put16(o + 2, v & 0xffff);
  };
  put16(0, seg.srcPort);
  put16(2, seg.dstPort);
  put32(4, seg.seq);
  put32(8, seg.ack);
  out[t + 12] = (((20 + seg.options.length) / 4) << 4) | (seg.reservedBits & 0x0f);
  out[t + 13] = seg.flags & 0xff;
  put16(14, seg.window);
  put16(18, seg.urgent);
  out.set(seg.options, t + 20);
  out.set(seg.payload, t + 20 + seg.options.length);
  put16(16, tcpChecksum(seg.src, seg.dst, out, t, tcpLen));
  return out;
}

/** What a generated packet carries; the IP header is the default one for its family. */
export interface SegmentSpec {
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options?: Uint8Array;
  payload?: Uint8Array;
}

/** A default IP header: IPv4 IHL 5, TTL 64, ID 0, DF clear; IPv6 hop limit 64. */
export function defaultIpHeader(version: 4 | 6): Uint8Array {
  if (version === 4) {
    const h = new Uint8Array(20);
    h[0] = 0x45;
    h[8] = 64;
    h[9] = IP_PROTO.TCP;
    return h;
  }
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h[6] = IP_PROTO.TCP;
  h[7] = 64;
  return h;
}

export function buildSegment(spec: SegmentSpec): Uint8Array {
  if (spec.src.length !== spec.dst.length || (spec.src.length !== 4 && spec.src.length !== 16)) {
    throw new Error('buildSegment: source and destination must both be IPv4 or both IPv6');
  }
  const version = spec.src.length === 4 ? 4 : 6;
  return encodeSegment({
    version,
    ipHeader: defaultIpHeader(version),
    src: spec.src,
    dst: spec.dst,
    srcPort: spec.srcPort,
    dstPort: spec.dstPort,
    seq: spec.seq >>> 0,
    ack: spec.ack >>> 0,
    flags: spec.flags,
    reservedBits: 0,
    window: spec.window,
    urgent: 0,
    options: spec.options ?? new Uint8Array(0),
    payload: spec.payload ?? new Uint8Array(0),
  });
}
