// NFQUEUE messages (uapi <linux/netfilter/nfnetlink_queue.h>; spec tcpr-and-tcp-repair
// §5.2): config and verdict encoders and the packet decoder, pure and tested byte for byte.
// The netlink framing (nlmsghdr, nlattr, NLMSG_ERROR) is net/netlink.ts's; the socket and
// the raw injector that use these are net/nfqueue.ts.
//
//   nlmsghdr  (16, host order)   len u32 | type u16 | flags u16 | seq u32 | pid u32
//   nfgenmsg  (4)                family u8 | version u8 (0) | res_id be16 (queue number)
//   nlattr    (4, host order)    len u16 | type u16, then data, padded to 4 bytes
//
// Attribute payloads of nfnetlink_queue are big-endian (nla_put_be32 &c.).

import {
  align4,
  NetlinkFormatError,
  NLA_HDRLEN,
  NLM_F,
  NLMSG_HDRLEN,
  putAttrHeader,
  putNlmsghdr,
  walkAttrs,
} from './netlink.js';

/** <linux/netfilter/nfnetlink.h>: subsystem in the high byte of nlmsg_type. */
export const NFNL_SUBSYS_QUEUE = 3;
export const NFGENMSG_LEN = 4;
/** The whole fixed header of every message here: nlmsghdr + nfgenmsg. */
export const NFQ_HDRLEN = NLMSG_HDRLEN + NFGENMSG_LEN;

/** enum nfqnl_msg_types */
export const NFQNL_MSG = { PACKET: 0, VERDICT: 1, CONFIG: 2, VERDICT_BATCH: 3 } as const;

/** enum nfqnl_attr_config */
export const NFQA_CFG = { CMD: 1, PARAMS: 2, QUEUE_MAXLEN: 3, MASK: 4, FLAGS: 5 } as const;
/** enum nfqnl_msg_config_cmds */
export const NFQNL_CFG_CMD = { NONE: 0, BIND: 1, UNBIND: 2, PF_BIND: 3, PF_UNBIND: 4 } as const;
/** enum nfqnl_config_mode */
export const NFQNL_COPY = { NONE: 0, META: 1, PACKET: 2 } as const;
/** NFQA_CFG_F_* */
export const NFQA_CFG_F = { FAIL_OPEN: 1, CONNTRACK: 2, GSO: 4, UID_GID: 8, SECCTX: 16 } as const;

/** enum nfqnl_attr_type (the ones we read or write). */
export const NFQA = {
  PACKET_HDR: 1,
  VERDICT_HDR: 2,
  MARK: 3,
  TIMESTAMP: 4,
  IFINDEX_INDEV: 5,
  IFINDEX_OUTDEV: 6,
  PAYLOAD: 10,
  CAP_LEN: 13,
  SKB_INFO: 14,
} as const;

/** Netfilter verdicts (<linux/netfilter.h>). */
export const NF_VERDICT = { DROP: 0, ACCEPT: 1, STOLEN: 2, QUEUE: 3, REPEAT: 4 } as const;

const AF_UNSPEC = 0;

/** The nlmsg_type of NFQUEUE messages: subsystem QUEUE in the high byte. */
export const nfqType = (msg: number): number => (NFNL_SUBSYS_QUEUE << 8) | msg;

// ---- encoding ---------------------------------------------------------------------------------

/** Writes nlmsghdr + nfgenmsg at 0 of `dv`. */
function putHeader(
  dv: DataView,
  len: number,
  msg: number,
  flags: number,
  seq: number,
  queue: number,
): void {
  putNlmsghdr(dv, 0, { len, type: nfqType(msg), flags, seq });
  dv.setUint8(16, AF_UNSPEC);
  dv.setUint8(17, 0);
  dv.setUint16(18, queue, false);
}

export interface QueueConfig {
  queue: number;
  /** Bytes of each packet copied to user space; default 0xffff (the whole packet). */
  copyRange?: number;
  /** Packets the kernel holds for us before it drops (never accepts: no FAIL_OPEN). */
  maxLen?: number;
  seq: number;
}

/**
 * NFQNL_MSG_CONFIG, with NLM_F_ACK: BIND `queue`, copy mode PACKET, the queue length, and
 * the flags FAIL_OPEN and GSO explicitly cleared (mask = both, flags = 0): a full queue
 * drops and GSO packets are segmented by the kernel before they reach us.
 */
export function encodeQueueConfig(c: QueueConfig): Uint8Array {
  const len = NFQ_HDRLEN + 8 + align4(NLA_HDRLEN + 5) + (c.maxLen !== undefined ? 8 : 0) + 8 + 8;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  putHeader(dv, len, NFQNL_MSG.CONFIG, NLM_F.REQUEST | NLM_F.ACK, c.seq, c.queue);
  let off = NFQ_HDRLEN;
  // struct nfqnl_msg_config_cmd { u8 command; u8 _pad; be16 pf; } (pf is unused since 3.8)
  let d = putAttrHeader(dv, off, NFQA_CFG.CMD, 4);
  dv.setUint8(d, NFQNL_CFG_CMD.BIND);
  off = d + 4;
  // struct nfqnl_msg_config_params { be32 copy_range; u8 copy_mode; } __packed (5 bytes)
  d = putAttrHeader(dv, off, NFQA_CFG.PARAMS, 5);
  dv.setUint32(d, c.copyRange ?? 0xffff, false);
  dv.setUint8(d + 4, NFQNL_COPY.PACKET);
  off = d + align4(5);
  if (c.maxLen !== undefined) {
    d = putAttrHeader(dv, off, NFQA_CFG.QUEUE_MAXLEN, 4);
    dv.setUint32(d, c.maxLen, false);
    off = d + 4;
  }
  d = putAttrHeader(dv, off, NFQA_CFG.MASK, 4);
  dv.setUint32(d, NFQA_CFG_F.FAIL_OPEN | NFQA_CFG_F.GSO, false);
  off = d + 4;
  d = putAttrHeader(dv, off, NFQA_CFG.FLAGS, 4);
  dv.setUint32(d, 0, false);
  return b;
}

/** Bytes of a verdict message before the payload attribute's data. */
export const VERDICT_HDRLEN = NFQ_HDRLEN + NLA_HDRLEN + 8 + NLA_HDRLEN;
/** Largest payload a verdict can carry (nla_len is 16 bits). */
export const MAX_VERDICT_PAYLOAD = 0xffff - NLA_HDRLEN;

/**
 * NFQNL_MSG_VERDICT (no ACK: the kernel reports errors anyway) into `out`, which must hold
 * VERDICT_HDRLEN + align4(payload): verdict header {verdict be32, id be32}, then the
 * rewritten packet as NFQA_PAYLOAD if given. Returns the message length.
 */
export function encodeVerdict(
  out: Uint8Array,
  queue: number,
  id: number,
  verdict: number,
  payload?: Uint8Array,
  seq = 0,
): number {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let off = NFQ_HDRLEN;
  let d = putAttrHeader(dv, off, NFQA.VERDICT_HDR, 8);
  dv.setUint32(d, verdict, false);
  dv.setUint32(d + 4, id >>> 0, false);
  off = d + 8;
  if (payload) {
    if (payload.length > MAX_VERDICT_PAYLOAD) {
      throw new RangeError(`NFQUEUE verdict payload of ${payload.length} bytes is too long`);
    }
    d = putAttrHeader(dv, off, NFQA.PAYLOAD, payload.length);
    out.set(payload, d);
    const end = d + payload.length;
    off = align4(end);
    out.fill(0, end, off);
  }
  putHeader(dv, off, NFQNL_MSG.VERDICT, NLM_F.REQUEST, seq, queue);
  return off;
}

// ---- decoding ---------------------------------------------------------------------------------

/** An NFQNL_MSG_PACKET: what the kernel queued. */
export interface QueuedPacket {
  /** The queue it came from (nfgenmsg.res_id). */
  queue: number;
  /** Packet id for the verdict (NFQA_PACKET_HDR). */
  id: number;
  /** Link-layer protocol (0x0800 IPv4, 0x86dd IPv6) and netfilter hook number. */
  hwProtocol: number;
  hook: number;
  /** The IP packet (a view into the datagram). */
  payload: Uint8Array;
  /** Original length when the copy was cut short (NFQA_CAP_LEN). */
  capLen?: number;
  mark?: number;
  /** NFQA_SKB_INFO flags (CSUMNOTREADY 1, GSO 2, CSUM_NOTVERIFIED 4). */
  skbInfo?: number;
}

/** Decodes a PACKET message's payload (what follows the nlmsghdr: nfgenmsg, then nlattrs). */
export function decodePacket(p: Uint8Array): QueuedPacket {
  if (p.length < NFGENMSG_LEN) {
    throw new NetlinkFormatError(`NFQUEUE packet message of ${p.length} bytes is too short`);
  }
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const out: QueuedPacket = {
    queue: dv.getUint16(2, false),
    id: -1,
    hwProtocol: 0,
    hook: 0,
    payload: p.subarray(0, 0),
  };
  walkAttrs(
    p,
    NFGENMSG_LEN,
    p.length,
    (type, data) => {
      const a = new DataView(data.buffer, data.byteOffset, data.byteLength);
      switch (type) {
        case NFQA.PACKET_HDR:
          if (data.length < 7) throw new NetlinkFormatError('NFQA_PACKET_HDR shorter than 7 bytes');
          out.id = a.getUint32(0, false);
          out.hwProtocol = a.getUint16(4, false);
          out.hook = a.getUint8(6);
          break;
        case NFQA.PAYLOAD:
          out.payload = data;
          break;
        case NFQA.CAP_LEN:
          if (data.length >= 4) out.capLen = a.getUint32(0, false);
          break;
        case NFQA.MARK:
          if (data.length >= 4) out.mark = a.getUint32(0, false);
          break;
        case NFQA.SKB_INFO:
          if (data.length >= 4) out.skbInfo = a.getUint32(0, false);
          break;
      }
    },
    true,
  );
  if (out.id < 0) throw new NetlinkFormatError('NFQUEUE packet message without NFQA_PACKET_HDR');
  return out;
}
