// rtnetlink route messages (RFC 3549 §2.3.3.2; Linux uapi linux/netlink.h and
// linux/rtnetlink.h): pure encoders and decoders over bytes, no I/O. Netlink uses the host's
// byte order; every multi-byte field here is read and written in it.
//
//   struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }        16 bytes
//   struct rtmsg    { u8 family, dst_len, src_len, tos, table, protocol, scope, type;
//                     u32 flags; }                                             12 bytes
//   struct rtattr   { u16 len; u16 type; } + payload, padded to 4 bytes
//   struct rtnexthop{ u16 len; u8 flags; u8 hops; i32 ifindex; } + rtattrs   (RTA_MULTIPATH)
//   struct nlmsgerr { i32 error; struct nlmsghdr msg; [payload] } + TLVs     (NLMSG_ERROR)
//
// The generic framing (nlmsghdr, attributes, NLMSG_ERROR) is net/netlink.ts's, re-exported.

import {
  align4,
  attrMap,
  HOST_LE,
  NLM_F,
  NLMSG,
  NLMSG_HDRLEN,
  putAttrHeader,
  putNlmsghdr,
} from '../net/netlink.js';

export {
  decodeError,
  NLM_F,
  NLMSG,
  NLMSGERR_ATTR,
  splitMessages,
  type NlError,
  type NlMessage,
} from '../net/netlink.js';

export const RTM = { NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26 } as const;

export const RTA = {
  DST: 1,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  MULTIPATH: 9,
  TABLE: 15,
  VIA: 18,
} as const;

export const RTN = { UNSPEC: 0, UNICAST: 1 } as const;
export const RT_SCOPE = { UNIVERSE: 0, NOWHERE: 255 } as const;
export const RT_TABLE = { UNSPEC: 0, MAIN: 254, LOCAL: 255 } as const;
export const AF = { INET: 2, INET6: 10 } as const;

const HDR = NLMSG_HDRLEN;
const RTMSG = 12;
const LE = HOST_LE;

/** One route as rtnetlink carries it (only the fields a FIB uses). */
export interface RouteMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly dst?: Uint8Array;
  readonly priority?: number;
  readonly nextHops: readonly RouteNextHop[];
}

/** `gateway` is in the route's family; `via` carries a gateway of the other family. */
export interface RouteNextHop {
  readonly gateway?: Uint8Array;
  readonly via?: Uint8Array;
  readonly ifindex?: number;
}

/** Appends netlink messages to one growable buffer (many messages per send). */
export class NlWriter {
  private buf = new Uint8Array(65536);
  private dv = new DataView(this.buf.buffer);
  private off = 0;
  private msgStart = -1;

  get length(): number {
    return this.off;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.off);
  }

  reset(): void {
    this.off = 0;
    this.msgStart = -1;
  }

  begin(type: number, flags: number, seq: number): void {
    this.msgStart = this.off;
    this.need(HDR);
    putNlmsghdr(this.dv, this.off, { len: 0, type, flags, seq }); // len: end() writes it
    this.off += HDR;
  }

  /** Writes the length field, last, once the message is complete. */
  end(): void {
    this.dv.setUint32(this.msgStart, this.off - this.msgStart, LE);
    this.msgStart = -1;
  }

  rtmsg(r: Omit<RouteMsg, 'nextHops' | 'dst' | 'priority'>): void {
    this.need(RTMSG);
    const b = this.buf;
    const o = this.off;
    b[o] = r.family;
    b[o + 1] = r.dstLen;
    b[o + 2] = 0;
    b[o + 3] = 0;
    b[o + 4] = r.table < 256 ? r.table : RT_TABLE.UNSPEC;
    b[o + 5] = r.protocol;
    b[o + 6] = r.scope;
    b[o + 7] = r.type;
    this.dv.setUint32(o + 8, 0, LE);
    this.off += RTMSG;
  }

  attr(type: number, data: Uint8Array): void {
    this.need(align4(4 + data.length));
    putAttrHeader(this.dv, this.off, type, data.length);
    this.buf.set(data, this.off + 4);
    this.buf.fill(0, this.off + 4 + data.length, this.off + align4(4 + data.length));
    this.off += align4(4 + data.length);
  }

  u32(type: number, v: number): void {
    this.need(8);
    putAttrHeader(this.dv, this.off, type, 4);
    this.dv.setUint32(this.off + 4, v >>> 0, LE);
    this.off += 8;
  }

  /** struct rtvia: the family (u16) then the address. */
  via(family: number, addr: Uint8Array): void {
    const data = new Uint8Array(2 + addr.length);
    new DataView(data.buffer).setUint16(0, family, LE);
    data.set(addr, 2);
    this.attr(RTA.VIA, data);
  }

  /** Opens a nested attribute (RTA_MULTIPATH) or an rtnexthop; returns its start. */
  open(size: number): number {
    this.need(size);
    const at = this.off;
    this.buf.fill(0, at, at + size);
    this.off += size;
    return at;
  }

  /** Closes what `open` started: its u16 length is the first field. */
  close(at: number): void {
    this.dv.setUint16(at, this.off - at, LE);
  }

  setU16(at: number, v: number): void {
    this.dv.setUint16(at, v, LE);
  }

  setI32(at: number, v: number): void {
    this.dv.setInt32(at, v, LE);
  }

  private need(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.off + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.off));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
}

/** Request to add, replace or delete one route. */
export function encodeRoute(
  w: NlWriter,
  msgType: number,
  flags: number,
  seq: number,
  r: RouteMsg,
): void {
  w.begin(msgType, flags, seq);
  w.rtmsg(r);
  if (r.dst && r.dstLen > 0) w.attr(RTA.DST, r.dst); // full width: IPv4 wants exactly 4 bytes
  w.u32(RTA.TABLE, r.table);
  if (r.priority !== undefined) w.u32(RTA.PRIORITY, r.priority);
  const other = r.family === AF.INET ? AF.INET6 : AF.INET;
  if (r.nextHops.length === 1) {
    const h = r.nextHops[0]!;
    if (h.gateway) w.attr(RTA.GATEWAY, h.gateway);
    if (h.via) w.via(other, h.via);
    if (h.ifindex !== undefined) w.u32(RTA.OIF, h.ifindex);
  } else if (r.nextHops.length > 1) {
    const mp = w.open(4);
    w.setU16(mp + 2, RTA.MULTIPATH);
    for (const h of r.nextHops) {
      const nh = w.open(8);
      w.setI32(nh + 4, h.ifindex ?? 0);
      if (h.gateway) w.attr(RTA.GATEWAY, h.gateway);
      if (h.via) w.via(other, h.via);
      w.close(nh);
    }
    w.close(mp);
  }
  w.end();
}

/** Dump request for one family's routes; with strict checking the kernel filters too. */
export function encodeRouteDump(
  w: NlWriter,
  seq: number,
  family: number,
  table: number,
  protocol: number,
): void {
  w.begin(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.rtmsg({ family, dstLen: 0, table, protocol, scope: 0, type: 0 });
  if (table >= 256) w.u32(RTA.TABLE, table);
  w.end();
}

/** A request the kernel only acknowledges: marks the end of a batch. */
export function encodeBarrier(w: NlWriter, seq: number): void {
  w.begin(NLMSG.NOOP, NLM_F.REQUEST | NLM_F.ACK, seq);
  w.end();
}

const attrs = attrMap;

function u32Of(b: Uint8Array | undefined): number | undefined {
  if (!b || b.length < 4) return undefined;
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, LE);
}

function viaOf(b: Uint8Array | undefined): Uint8Array | undefined {
  return b && b.length >= 6 ? b.slice(2) : undefined;
}

/** Decodes the payload of an RTM_NEWROUTE message (from a dump). */
export function decodeRoute(p: Uint8Array): RouteMsg | undefined {
  if (p.length < RTMSG) return undefined;
  const a = attrs(p.subarray(RTMSG));
  const table = u32Of(a.get(RTA.TABLE)) ?? p[4]!;
  const nextHops: RouteNextHop[] = [];
  const mp = a.get(RTA.MULTIPATH);
  if (mp) {
    const dv = new DataView(mp.buffer, mp.byteOffset, mp.byteLength);
    let o = 0;
    while (o + 8 <= mp.length) {
      const len = dv.getUint16(o, LE);
      if (len < 8 || o + len > mp.length) break;
      const ifindex = dv.getInt32(o + 4, LE);
      const na = attrs(mp.subarray(o + 8, o + len));
      nextHops.push(hop(na.get(RTA.GATEWAY)?.slice(), viaOf(na.get(RTA.VIA)), ifindex));
      o += align4(len);
    }
  } else {
    const gw = a.get(RTA.GATEWAY)?.slice();
    const via = viaOf(a.get(RTA.VIA));
    const oif = u32Of(a.get(RTA.OIF));
    if (gw || via || oif !== undefined) nextHops.push(hop(gw, via, oif));
  }
  const dst = a.get(RTA.DST)?.slice();
  const priority = u32Of(a.get(RTA.PRIORITY));
  // Optional fields are set after the literal, not spread into it (V8: a spread that adds
  // properties is slow).
  const r: { -readonly [K in keyof RouteMsg]: RouteMsg[K] } = {
    family: p[0]!,
    dstLen: p[1]!,
    table,
    protocol: p[5]!,
    scope: p[6]!,
    type: p[7]!,
    nextHops,
  };
  if (dst) r.dst = dst;
  if (priority !== undefined) r.priority = priority;
  return r;
}

function hop(
  gateway: Uint8Array | undefined,
  via: Uint8Array | undefined,
  ifindex: number | undefined,
): RouteNextHop {
  const h: { gateway?: Uint8Array; via?: Uint8Array; ifindex?: number } = {};
  if (gateway) h.gateway = gateway;
  if (via) h.via = via;
  if (ifindex) h.ifindex = ifindex;
  return h;
}
