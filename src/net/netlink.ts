// Netlink framing (RFC 3549 §2.3.2; Linux uapi linux/netlink.h), shared by rtnetlink
// (fib/rtnetlink.ts) and nfnetlink_queue (net/nfqueue-codec.ts): pure, no I/O. Netlink
// headers use the host's byte order; every nlmsghdr and nlattr field here is read and
// written in it (attribute payloads are the subsystem's business: nfqueue's are big-endian).
//
//   struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }        16 bytes
//   struct nlattr   { u16 len; u16 type; } + payload, padded to 4 bytes
//   struct nlmsgerr { i32 error; struct nlmsghdr msg; [payload] } + TLVs     (NLMSG_ERROR)

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP_INTR: 0x10,
  DUMP: 0x300,
  // modifiers of NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  // flags of NLMSG_ERROR messages
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2 } as const;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
/** nla_type carries NLA_F_NESTED / NLA_F_NET_BYTEORDER in its top two bits. */
export const NLA_TYPE_MASK = 0x3fff;
/** Netlink's byte order is the host's: true on little-endian hosts (DataView's flag). */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const align4 = (n: number): number => (n + 3) & ~3;

/** One message of a datagram; `payload` follows the nlmsghdr (a view, not a copy). */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly payload: Uint8Array;
}

/** A malformed netlink datagram or attribute (a kernel/user-space mismatch: a bug). */
export class NetlinkFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetlinkFormatError';
  }
}

/**
 * The messages in one datagram (NLMSG_ALIGN between them). A truncated message ends the
 * walk, or, with `strict`, throws NetlinkFormatError.
 */
export function* splitMessages(buf: Uint8Array, strict = false): Generator<NlMessage> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  while (o + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(o, HOST_LE);
    if (len < NLMSG_HDRLEN || o + len > buf.length) {
      if (!strict) return;
      throw new NetlinkFormatError(
        `netlink message at byte ${o} claims ${len} bytes; ${buf.length - o} remain`,
      );
    }
    yield {
      type: dv.getUint16(o + 4, HOST_LE),
      flags: dv.getUint16(o + 6, HOST_LE),
      seq: dv.getUint32(o + 8, HOST_LE),
      pid: dv.getUint32(o + 12, HOST_LE),
      payload: buf.subarray(o + NLMSG_HDRLEN, o + len),
    };
    o += align4(len);
  }
}

/**
 * Calls `fn(type, data)` for each nlattr in `buf[from, to)`, type masked with 0x3fff, data
 * a view without padding. A truncated attribute ends the walk, or, with `strict`, throws.
 */
export function walkAttrs(
  buf: Uint8Array,
  from: number,
  to: number,
  fn: (type: number, data: Uint8Array) => void,
  strict = false,
): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = from;
  while (o + NLA_HDRLEN <= to) {
    const len = dv.getUint16(o, HOST_LE);
    if (len < NLA_HDRLEN || o + len > to) {
      if (!strict) return;
      throw new NetlinkFormatError(`nlattr at byte ${o} claims ${len} bytes; ${to - o} remain`);
    }
    fn(dv.getUint16(o + 2, HOST_LE) & NLA_TYPE_MASK, buf.subarray(o + NLA_HDRLEN, o + len));
    o += align4(len);
  }
}

/** The nlattrs of `buf`, as type → payload (last one wins). */
export function attrMap(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  walkAttrs(buf, 0, buf.length, (type, data) => out.set(type, data));
  return out;
}

/** Writes an nlmsghdr at `off` of `dv`, in host order. */
export function putNlmsghdr(
  dv: DataView,
  off: number,
  h: { len: number; type: number; flags: number; seq: number; pid?: number },
): void {
  dv.setUint32(off, h.len, HOST_LE);
  dv.setUint16(off + 4, h.type, HOST_LE);
  dv.setUint16(off + 6, h.flags, HOST_LE);
  dv.setUint32(off + 8, h.seq >>> 0, HOST_LE);
  dv.setUint32(off + 12, h.pid ?? 0, HOST_LE);
}

/** Writes an nlattr header at `off` (host order); returns the offset of its data. */
export function putAttrHeader(dv: DataView, off: number, type: number, dataLen: number): number {
  dv.setUint16(off, NLA_HDRLEN + dataLen, HOST_LE);
  dv.setUint16(off + 2, type, HOST_LE);
  return off + NLA_HDRLEN;
}

export interface NlError {
  /** Positive errno; 0 for a plain acknowledgement. */
  readonly errno: number;
  /** Sequence number of the request this answers. */
  readonly seq: number;
  /** The kernel's extended-ack explanation (NETLINK_EXT_ACK), if it gave one. */
  readonly text?: string;
}

/** Decodes the payload of an NLMSG_ERROR message. */
export function decodeError(p: Uint8Array, flags: number): NlError | undefined {
  if (p.length < 4 + NLMSG_HDRLEN) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const errno = -dv.getInt32(0, HOST_LE) | 0; // | 0: an ACK is 0, not -0
  const origLen = dv.getUint32(4, HOST_LE);
  const seq = dv.getUint32(12, HOST_LE);
  let text: string | undefined;
  if (flags & NLM_F.ACK_TLVS) {
    const start = 4 + (flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(origLen));
    const msg = attrMap(p.subarray(Math.min(start, p.length))).get(NLMSGERR_ATTR.MSG);
    if (msg) {
      const nul = msg.indexOf(0);
      text = new TextDecoder().decode(nul >= 0 ? msg.subarray(0, nul) : msg);
    }
  }
  return text ? { errno, seq, text } : { errno, seq };
}
