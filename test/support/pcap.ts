// A minimal capture-file reader for tests: classic libpcap (both byte orders, micro- and
// nanosecond timestamps) and pcapng (SHB, IDB, EPB, SPB; other blocks skipped), and the
// link layers our fixtures use (Ethernet with VLAN tags, Linux cooked v1/v2, raw IP,
// BSD loopback). Frames are decoded down to IPv4/IPv6 + TCP; everything else is skipped.

import { readFileSync } from 'node:fs';
import { formatAddr } from '../../src/lib/ip.js';

export interface Frame {
  /** Seconds since the epoch (fractional). */
  readonly ts: number;
  readonly linkType: number;
  readonly data: Uint8Array;
}

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function readCapture(path: string): Frame[] {
  const b = new Uint8Array(readFileSync(path));
  if (b.length < 4) throw new Error(`${path}: too short for a capture file`);
  const magic = dv(b).getUint32(0, false);
  if (magic === 0x0a0d0d0a) return readPcapng(b, path);
  return readPcap(b, path);
}

function readPcap(b: Uint8Array, path: string): Frame[] {
  const v = dv(b);
  const m = v.getUint32(0, false);
  let le: boolean;
  let nano: boolean;
  if (m === 0xa1b2c3d4) [le, nano] = [false, false];
  else if (m === 0xd4c3b2a1) [le, nano] = [true, false];
  else if (m === 0xa1b23c4d) [le, nano] = [false, true];
  else if (m === 0x4d3cb2a1) [le, nano] = [true, true];
  else throw new Error(`${path}: not a pcap or pcapng file (magic 0x${m.toString(16)})`);
  if (b.length < 24) throw new Error(`${path}: truncated pcap header`);
  const linkType = v.getUint32(20, le) & 0x0fffffff;
  const frames: Frame[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const incl = v.getUint32(off + 8, le);
    off += 16;
    if (off + incl > b.length) throw new Error(`${path}: truncated record at offset ${off - 16}`);
    frames.push({
      ts: sec + frac / (nano ? 1e9 : 1e6),
      linkType,
      data: b.subarray(off, off + incl),
    });
    off += incl;
  }
  if (off !== b.length)
    throw new Error(`${path}: ${b.length - off} trailing octets after the last record`);
  return frames;
}

function readPcapng(b: Uint8Array, path: string): Frame[] {
  const v = dv(b);
  const frames: Frame[] = [];
  let le = true;
  const ifaces: { linkType: number; tsDiv: number }[] = [];
  let off = 0;
  while (off + 12 <= b.length) {
    const typeBE = v.getUint32(off, false);
    if (typeBE === 0x0a0d0d0a) {
      const bom = v.getUint32(off + 8, true);
      le = bom === 0x1a2b3c4d;
      ifaces.length = 0;
    }
    const type = v.getUint32(off, le);
    const len = v.getUint32(off + 4, le);
    if (len < 12 || off + len > b.length) throw new Error(`${path}: bad pcapng block at ${off}`);
    const body = off + 8;
    if (type === 1) {
      // Interface Description Block; if_tsresol option (9) changes the time unit.
      let tsDiv = 1e6;
      let o = body + 8;
      while (o + 4 <= off + len - 4) {
        const code = v.getUint16(o, le);
        const olen = v.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = b[o + 4]!;
          tsDiv = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linkType: v.getUint16(body, le), tsDiv });
    } else if (type === 6) {
      const iface = ifaces[v.getUint32(body, le)];
      if (!iface) throw new Error(`${path}: packet for unknown interface at ${off}`);
      const ts = v.getUint32(body + 4, le) * 2 ** 32 + v.getUint32(body + 8, le);
      const cap = v.getUint32(body + 12, le);
      frames.push({
        ts: ts / iface.tsDiv,
        linkType: iface.linkType,
        data: b.subarray(body + 20, body + 20 + cap),
      });
    } else if (type === 3) {
      const iface = ifaces[0];
      if (!iface) throw new Error(`${path}: simple packet before any interface at ${off}`);
      const orig = v.getUint32(body, le);
      const cap = Math.min(orig, len - 16);
      frames.push({ ts: 0, linkType: iface.linkType, data: b.subarray(body + 4, body + 4 + cap) });
    }
    off += len;
  }
  return frames;
}

export interface TcpSegment {
  readonly ts: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly flags: number;
  readonly payload: Uint8Array;
}

export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** The IP packet inside a link-layer frame, or undefined for non-IP frames. */
function ipPayload(f: Frame): Uint8Array | undefined {
  const d = f.data;
  let etherType: number;
  let off: number;
  switch (f.linkType) {
    case LINKTYPE.ETHERNET:
      if (d.length < 14) return undefined;
      etherType = (d[12]! << 8) | d[13]!;
      off = 14;
      while (etherType === 0x8100 || etherType === 0x88a8) {
        if (d.length < off + 4) return undefined;
        etherType = (d[off + 2]! << 8) | d[off + 3]!;
        off += 4;
      }
      break;
    case LINKTYPE.LINUX_SLL:
      if (d.length < 16) return undefined;
      etherType = (d[14]! << 8) | d[15]!;
      off = 16;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (d.length < 20) return undefined;
      etherType = (d[0]! << 8) | d[1]!;
      off = 20;
      break;
    case LINKTYPE.NULL: {
      if (d.length < 4) return undefined;
      const fam = d[0] === 0 ? d[3]! : d[0]!;
      etherType = fam === 2 ? 0x0800 : 0x86dd;
      off = 4;
      break;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      etherType = d[0]! >> 4 === 4 ? 0x0800 : 0x86dd;
      off = 0;
      break;
    default:
      throw new Error(`unsupported link type ${f.linkType}`);
  }
  if (etherType !== 0x0800 && etherType !== 0x86dd) return undefined;
  return d.subarray(off);
}

/** TCP segments of a capture (IPv4 without fragments, IPv6 with extension headers). */
export function tcpSegments(frames: readonly Frame[]): TcpSegment[] {
  const out: TcpSegment[] = [];
  for (const f of frames) {
    const ip = ipPayload(f);
    if (!ip || ip.length < 1) continue;
    let src: Uint8Array;
    let dst: Uint8Array;
    let proto: number;
    let l4: Uint8Array;
    const ver = ip[0]! >> 4;
    if (ver === 4) {
      const ihl = (ip[0]! & 0x0f) * 4;
      const total = (ip[2]! << 8) | ip[3]!;
      const fragOff = ((ip[6]! & 0x1f) << 8) | ip[7]!;
      const moreFrags = (ip[6]! & 0x20) !== 0;
      if (fragOff !== 0 || moreFrags)
        throw new Error('IPv4 fragments are not supported by this test reader');
      proto = ip[9]!;
      src = ip.subarray(12, 16);
      dst = ip.subarray(16, 20);
      // total may be 0 with TSO captures; then trust the frame.
      l4 = ip.subarray(ihl, total >= ihl && total <= ip.length ? total : ip.length);
    } else if (ver === 6) {
      const plen = (ip[4]! << 8) | ip[5]!;
      proto = ip[6]!;
      src = ip.subarray(8, 24);
      dst = ip.subarray(24, 40);
      let off = 40;
      const end = plen > 0 && 40 + plen <= ip.length ? 40 + plen : ip.length;
      // Hop-by-hop, routing, destination options: skip. Fragments: unsupported.
      while (proto === 0 || proto === 43 || proto === 60) {
        proto = ip[off]!;
        off += (ip[off + 1]! + 1) * 8;
      }
      if (proto === 44) throw new Error('IPv6 fragments are not supported by this test reader');
      l4 = ip.subarray(off, end);
    } else continue;
    if (proto !== 6 || l4.length < 20) continue;
    const dataOff = (l4[12]! >> 4) * 4;
    out.push({
      ts: f.ts,
      src: formatAddr(src),
      dst: formatAddr(dst),
      srcPort: (l4[0]! << 8) | l4[1]!,
      dstPort: (l4[2]! << 8) | l4[3]!,
      seq: ((l4[4]! << 24) | (l4[5]! << 16) | (l4[6]! << 8) | l4[7]!) >>> 0,
      flags: l4[13]!,
      payload: l4.subarray(dataOff),
    });
  }
  return out;
}
