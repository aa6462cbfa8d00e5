// IP packets carrying TCP, as the TCPR filter sees them (RFC 791 §3.1, RFC 8200 §3–4,
// RFC 9293 §3.1). Pure functions over bytes: no I/O.
//
// Behaviour:
// - `parseIp` reads the IP layer of a packet with no link header. IPv4 headers may carry
//   options (IHL > 5). IPv6 extension headers (hop-by-hop, routing, fragment, destination
//   options) are walked to find the upper-layer protocol.
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
// - `parseTcp` turns a TCP packet into a `TcpSegment`: header fields, a private copy of
//   the options (mutable: the options walk NOPs some out) and a view of the payload. A
//   short header or a data offset that is < 5 or runs past the segment drops the packet
//   (`tcp-header`). With `verify`, a wrong IPv4 header or TCP checksum drops it too
//   (`ipv4-checksum`, `tcp-checksum`): we recompute checksums after every rewrite, and
//   would otherwise launder a corrupted segment into a valid-looking one.
// - `encodeSegment` writes a segment back into a fresh packet: the original IP header is
//   kept (TOS/traffic class, TTL/hop limit, ID, flags, IPv4 options, flow label) with the
//   addresses and lengths set from the segment, and both checksums computed in full.
// - `buildSegment` makes a packet TCPR generates: IPv4 with IHL 5, TTL 64, ID 0, DF clear
//   (spec §2.4), or IPv6 with hop limit 64 and flow label 0.

import { ipv4HeaderChecksum, ipv4HeaderValid, tcpChecksum, tcpChecksumValid } from './checksum.js';

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

export function parseIp(p: Uint8Array): IpParse {
  if (p.length === 0) return { ok: false, reason: 'empty' };
  const version = p[0]! >> 4;
  if (version === 4) return parseIpv4(p);
  if (version === 6) return parseIpv6(p);
  return { ok: false, reason: 'not-ip' };
}

function parseIpv4(p: Uint8Array): IpParse {
  if (p.length < 20) return { ok: false, reason: 'ipv4-header' };
  const ihl = (p[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > p.length) return { ok: false, reason: 'ipv4-header' };
  const total = (p[2]! << 8) | p[3]!;
  if (total < ihl || total > p.length) return { ok: false, reason: 'ipv4-length' };
  const fragField = (p[6]! << 8) | p[7]!;
  const fragment = (fragField & 0x2000) !== 0 || (fragField & 0x1fff) !== 0;
  return {
    ok: true,
    ip: {
      version: 4,
      src: p.subarray(12, 16),
      dst: p.subarray(16, 20),
      proto: p[9]!,
      headerLen: ihl,
      end: total,
      unusual: fragment,
    },
  };
}

function parseIpv6(p: Uint8Array): IpParse {
  if (p.length < 40) return { ok: false, reason: 'ipv6-length' };
  const payloadLen = (p[4]! << 8) | p[5]!;
  // Payload length 0 means a jumbogram (RFC 2675); a TUN never hands us one.
  const end = 40 + payloadLen;
  if (payloadLen === 0 || end > p.length) return { ok: false, reason: 'ipv6-length' };
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
    if (off + 8 > end) return { ok: false, reason: 'ipv6-ext' };
    unusual = true;
    const len = next === IPV6_EXT.FRAGMENT ? 8 : (p[off + 1]! + 1) * 8;
    next = p[off]!;
    off += len;
    if (off > end) return { ok: false, reason: 'ipv6-ext' };
  }
  return {
    ok: true,
    ip: {
      version: 6,
      src: p.subarray(8, 24),
      dst: p.subarray(24, 40),
      proto: next,
      headerLen: off,
      end,
      unusual,
    },
  };
}

/** Parses the TCP segment of a packet whose IP layer is `ip` (proto TCP, not unusual). */
export function parseTcp(p: Uint8Array, ip: IpView, verify: boolean): TcpParse {
  if (ip.unusual) return { ok: false, reason: ip.version === 4 ? 'ipv4-fragment' : 'ipv6-ext-tcp' };
  const t = ip.headerLen;
  const len = ip.end - t;
  if (len < 20) return { ok: false, reason: 'tcp-header' };
  const doff = (p[t + 12]! >> 4) * 4;
  if (doff < 20 || doff > len) return { ok: false, reason: 'tcp-header' };
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
