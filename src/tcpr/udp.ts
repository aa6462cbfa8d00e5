// UDP datagrams for TCPR's side channel (RFC 768; IPv4 pseudo-header RFC 768, IPv6
// RFC 8200 §8.1). Pure functions over bytes: no I/O.
//
// The side channel travels inside the application's packet stream (spec §2.5, decision
// E15: a dedicated address and port), so the pump filter must recognise a control
// datagram in a raw IP packet and build its reply as one.
//
// Behaviour:
// - `parseUdp` returns undefined for anything that is not a UDP packet (the caller treats
//   it as TCP or passes it on). UDP in an IPv4 fragment or behind IPv6 extension headers,
//   a short header, a UDP length that disagrees with the IP payload, or (with `verify`) a
//   wrong IPv4 header or UDP checksum is malformed. An IPv4 checksum of 0 means "none"
//   (RFC 768); over IPv6 it is invalid (RFC 8200 §8.1).
// - `buildUdp` makes a datagram as TCPR generates packets: IPv4 IHL 5, TTL 64, ID 0, DF
//   clear; IPv6 hop limit 64, flow label 0; both checksums in full (a computed UDP checksum
//   of 0 is sent as 0xffff).

import { finish, ipv4HeaderChecksum, ipv4HeaderValid, sumWords } from './checksum.js';
import { parseIp } from './packet.js';

export const IP_PROTO_UDP = 17;
const UDP_HEADER = 8;

export interface UdpDatagram {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  /** A view into the packet. */
  payload: Uint8Array;
}

export type UdpMalformedReason =
  'udp-fragment' | 'udp-header' | 'udp-length' | 'ipv4-checksum' | 'udp-checksum';

export type UdpParse = { ok: true; udp: UdpDatagram } | { ok: false; reason: UdpMalformedReason };

/** The UDP checksum of udp[off, off+len) between src and dst, checksum field taken as 0. */
export function udpChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  udp: Uint8Array,
  off: number,
  len: number,
): number {
  // Pseudo-header: both families reduce to the same words for lengths below 2^16.
  let sum = sumWords(src, 0, src.length);
  sum = sumWords(dst, 0, dst.length, sum);
  sum += IP_PROTO_UDP + len;
  sum = sumWords(udp, off, off + 6, sum);
  sum = sumWords(udp, off + 8, off + len, sum);
  const c = finish(sum);
  return c === 0 ? 0xffff : c;
}

/** Parses a UDP packet; undefined when the packet is not (parseable IP carrying) UDP. */
export function parseUdp(p: Uint8Array, verify = true): UdpParse | undefined {
  const r = parseIp(p);
  // A broken IP header is the TCP path's business (it counts the reason); not UDP to us.
  if (!r.ok) return undefined;
  const ip = r.ip;
  if (ip.proto !== IP_PROTO_UDP) return undefined;
  if (ip.unusual) return { ok: false, reason: 'udp-fragment' };
  const off = ip.headerLen;
  const avail = ip.end - off;
  if (avail < UDP_HEADER) return { ok: false, reason: 'udp-header' };
  const len = (p[off + 4]! << 8) | p[off + 5]!;
  if (len < UDP_HEADER || len > avail) return { ok: false, reason: 'udp-length' };
  if (verify) {
    if (ip.version === 4 && !ipv4HeaderValid(p, 0, ip.headerLen)) {
      return { ok: false, reason: 'ipv4-checksum' };
    }
    const stored = (p[off + 6]! << 8) | p[off + 7]!;
    if (stored === 0 ? ip.version === 6 : stored !== udpChecksum(ip.src, ip.dst, p, off, len)) {
      return { ok: false, reason: 'udp-checksum' };
    }
  }
  return {
    ok: true,
    udp: {
      version: ip.version,
      src: ip.src,
      dst: ip.dst,
      srcPort: (p[off]! << 8) | p[off + 1]!,
      dstPort: (p[off + 2]! << 8) | p[off + 3]!,
      payload: p.subarray(off + UDP_HEADER, off + len),
    },
  };
}

export interface UdpSpec {
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Builds an IPv4 or IPv6 UDP packet (the family follows the address width). */
export function buildUdp(spec: UdpSpec): Uint8Array {
  const { src, dst, payload } = spec;
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new Error('buildUdp: source and destination must both be IPv4 or both IPv6');
  }
  const v4 = src.length === 4;
  const ipLen = v4 ? 20 : 40;
  const udpLen = UDP_HEADER + payload.length;
  if (udpLen > 0xffff || (v4 && ipLen + udpLen > 0xffff)) {
    throw new Error(`buildUdp: a ${payload.length}-byte payload does not fit in one datagram`);
  }
  const out = new Uint8Array(ipLen + udpLen);
  const put16 = (at: number, v: number) => {
    out[at] = v >> 8;
    out[at + 1] = v & 0xff;
  };
  if (v4) {
    out[0] = 0x45;
    put16(2, ipLen + udpLen);
    out[8] = 64;
    out[9] = IP_PROTO_UDP;
    out.set(src, 12);
    out.set(dst, 16);
    put16(10, ipv4HeaderChecksum(out, 0, 20));
  } else {
    out[0] = 0x60;
    put16(4, udpLen);
    out[6] = IP_PROTO_UDP;
    out[7] = 64;
    out.set(src, 8);
    out.set(dst, 24);
  }
  put16(ipLen, spec.srcPort);
  put16(ipLen + 2, spec.dstPort);
  put16(ipLen + 4, udpLen);
  out.set(payload, ipLen + UDP_HEADER);
  put16(ipLen + 6, udpChecksum(src, dst, out, ipLen, udpLen));
  return out;
}
