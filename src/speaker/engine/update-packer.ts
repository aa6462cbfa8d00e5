// Update packing (RFC 4271 §4.3, §9.2; RFC 4760 §3–4): turn "these prefixes now carry these
// attributes" and "these prefixes are withdrawn" into as few UPDATE messages as fit in the
// negotiated maximum size (4096 octets, or 65535 with RFC 8654 extended messages).
//
// - IPv4 unicast uses the UPDATE's own Withdrawn Routes and NLRI fields; every other
//   family goes in MP_REACH_NLRI / MP_UNREACH_NLRI (one family per message).
// - The attribute block of an announcement is encoded once and reused for every message
//   of the group; only the NLRI (or, for MP families, the MP_REACH attribute) changes.
// - With ADD-PATH negotiated for sending, every NLRI carries its path identifier (RFC 7911).
// - End-of-RIB (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an empty MP_UNREACH_NLRI
//   for the other families.

import { Writer } from '../../lib/bytes.js';
import { AFI, type Prefix } from '../../lib/ip.js';
import { ipv4KeyAddr, ipv4KeyLen } from '../../rib/index.js';
import {
  ATTR_DEFAULT_FLAGS,
  BGP_EXT_MAX_LEN,
  BGP_HEADER_LEN,
  BGP_MAX_LEN,
  MSG,
  SAFI,
  addPathKey,
  encodeAttributes,
  encodePrefixes,
  writeHeader,
  type CodecContext,
  type MpReach,
  type MpUnreach,
  type Nlri,
  type PathAttribute,
} from '../../wire/index.js';

const w = new Writer(1 << 16);
const attrWriter = new Writer(4096);

function maxLen(ctx: CodecContext): number {
  return ctx.extendedMessage ? BGP_EXT_MAX_LEN : BGP_MAX_LEN;
}

function nlriLen(n: Nlri, addPath: boolean): number {
  return 1 + ((n.prefix.len + 7) >>> 3) + (addPath ? 4 : 0);
}

/** Splits `nlri` into runs whose encoded size stays within `room` octets. */
function* chunks(
  nlri: readonly Nlri[],
  addPath: boolean,
  room: number,
): Generator<readonly Nlri[]> {
  let start = 0;
  let size = 0;
  for (let i = 0; i < nlri.length; i++) {
    const l = nlriLen(nlri[i]!, addPath);
    if (size + l > room && i > start) {
      yield nlri.slice(start, i);
      start = i;
      size = 0;
    }
    size += l;
  }
  if (start < nlri.length) yield start === 0 ? nlri : nlri.slice(start);
}

function finishMessage(): Uint8Array {
  writeHeader(w.buf, 0, w.pos, MSG.UPDATE);
  return w.finish();
}

const isIPv4Unicast = (afi: number, safi: number): boolean =>
  afi === AFI.IPv4 && safi === SAFI.UNICAST;

/** UPDATEs withdrawing `nlri` of one family. */
export function packWithdrawals(
  afi: number,
  safi: number,
  nlri: readonly Nlri[],
  ctx: CodecContext,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const addPath = ctx.addPath.has(addPathKey(afi, safi));
  if (isIPv4Unicast(afi, safi)) {
    const room = maxLen(ctx) - BGP_HEADER_LEN - 4;
    for (const c of chunks(nlri, addPath, room)) {
      w.reset();
      w.pos = BGP_HEADER_LEN;
      const at = w.reserve(2);
      encodePrefixes(w, c, addPath);
      w.patch(at, 2, w.pos - at - 2);
      w.u16(0);
      out.push(finishMessage());
    }
    return out;
  }
  // Header, withdrawn length, attribute length, MP_UNREACH header (4) and AFI/SAFI (3).
  const room = maxLen(ctx) - BGP_HEADER_LEN - 4 - 4 - 3;
  for (const c of chunks(nlri, addPath, room)) {
    const unreach: MpUnreach = {
      kind: 'mp-unreach',
      code: 15,
      flags: ATTR_DEFAULT_FLAGS[15]! | 0x10,
      afi,
      safi,
      withdrawn: c,
    };
    out.push(messageWithAttributes([unreach], ctx, undefined, false));
  }
  return out;
}

/**
 * UPDATEs announcing `nlri` of one family with `attributes` (no MP_REACH_NLRI among them;
 * for MP families `nextHop` becomes its next-hop field).
 */
export function packAnnouncements(
  afi: number,
  safi: number,
  attributes: readonly PathAttribute[],
  nextHop: Uint8Array,
  nlri: readonly Nlri[],
  ctx: CodecContext,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const addPath = ctx.addPath.has(addPathKey(afi, safi));
  if (isIPv4Unicast(afi, safi)) {
    attrWriter.reset();
    encodeAttributes(attrWriter, attributes, ctx);
    const block = attrWriter.view();
    const room = maxLen(ctx) - BGP_HEADER_LEN - 4 - block.length;
    for (const c of chunks(nlri, addPath, room)) {
      w.reset();
      w.pos = BGP_HEADER_LEN;
      w.u16(0).u16(block.length).bytes(block);
      encodePrefixes(w, c, addPath);
      out.push(finishMessage());
    }
    return out;
  }
  attrWriter.reset();
  encodeAttributes(attrWriter, attributes, ctx);
  // MP_REACH with the extended-length header (4) + AFI/SAFI (3) + next-hop length (1) +
  // next hop + reserved (1).
  const room = maxLen(ctx) - BGP_HEADER_LEN - 4 - attrWriter.pos - 4 - 5 - nextHop.length;
  for (const c of chunks(nlri, addPath, room)) {
    const reach: MpReach = {
      kind: 'mp-reach',
      code: 14,
      flags: ATTR_DEFAULT_FLAGS[14]! | 0x10,
      afi,
      safi,
      nextHop,
      reserved: 0,
      nlri: c,
    };
    out.push(messageWithAttributes(attributes, ctx, reach, true));
  }
  return out;
}

/**
 * IPv4 unicast UPDATEs announcing the prefixes given by their Loc-RIB keys (rib/
 * prefix-key.ts), or withdrawing them when `attributes` is undefined: the NLRI octets are
 * written straight from the keys, with no prefix object per route. `attributes` may be
 * the encoded attribute block itself.
 */
export function packIpv4Keys(
  attributes: readonly PathAttribute[] | Uint8Array | undefined,
  keys: readonly number[],
  pathIds: readonly number[],
  ctx: CodecContext,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const addPath = ctx.addPath.has(addPathKey(AFI.IPv4, SAFI.UNICAST));
  let block: Uint8Array | undefined;
  if (attributes instanceof Uint8Array)
    block = attributes; // encoded by the caller
  else if (attributes) {
    attrWriter.reset();
    encodeAttributes(attrWriter, attributes, ctx);
    block = attrWriter.view();
  }
  // A withdrawal still needs its Total Path Attribute Length (2) after the prefixes.
  const limit = maxLen(ctx) - (block ? 0 : 2);
  let k = 0;
  while (k < keys.length) {
    w.reset();
    w.pos = BGP_HEADER_LEN;
    let at = 0;
    if (block) w.u16(0).u16(block.length).bytes(block);
    else at = w.reserve(2);
    const start = w.pos;
    while (k < keys.length) {
      const key = keys[k]!;
      const len = ipv4KeyLen(key);
      const addr = ipv4KeyAddr(key);
      const n = (len + 7) >>> 3;
      if (w.pos + 1 + n + (addPath ? 4 : 0) > limit && w.pos > start) break;
      if (addPath) w.u32(pathIds[k]!);
      w.u8(len);
      for (let i = 0; i < n; i++) w.u8((addr >>> (24 - 8 * i)) & 0xff);
      k++;
    }
    if (!block) {
      w.patch(at, 2, w.pos - at - 2);
      w.u16(0);
    }
    out.push(finishMessage());
  }
  return out;
}

/** An UPDATE with no withdrawn routes or NLRI field: attributes (with `mp` in code order). */
function messageWithAttributes(
  attributes: readonly PathAttribute[],
  ctx: CodecContext,
  mp: MpReach | undefined,
  useMp: boolean,
): Uint8Array {
  w.reset();
  w.pos = BGP_HEADER_LEN;
  w.u16(0);
  const at = w.reserve(2);
  if (useMp && mp) {
    let placed = false;
    const withMp: PathAttribute[] = [];
    for (const a of attributes) {
      if (!placed && a.code > 14) {
        withMp.push(mp);
        placed = true;
      }
      withMp.push(a);
    }
    if (!placed) withMp.push(mp);
    encodeAttributes(w, withMp, ctx);
  } else encodeAttributes(w, attributes, ctx);
  w.patch(at, 2, w.pos - at - 2);
  return finishMessage();
}

/** The End-of-RIB marker of a family (RFC 4724 §2). */
export function endOfRib(afi: number, safi: number, ctx: CodecContext): Uint8Array {
  if (isIPv4Unicast(afi, safi)) {
    w.reset();
    w.pos = BGP_HEADER_LEN;
    w.u16(0).u16(0);
    return finishMessage();
  }
  const unreach: MpUnreach = {
    kind: 'mp-unreach',
    code: 15,
    flags: ATTR_DEFAULT_FLAGS[15]!,
    afi,
    safi,
    withdrawn: [],
  };
  return messageWithAttributes([unreach], ctx, undefined, false);
}

/** Whether a received UPDATE is an End-of-RIB marker; returns its family. */
export function endOfRibFamily(u: {
  withdrawn: readonly Nlri[];
  nlri: readonly Nlri[];
  attributes: readonly PathAttribute[];
}): { afi: number; safi: number } | undefined {
  if (u.withdrawn.length > 0 || u.nlri.length > 0) return undefined;
  if (u.attributes.length === 0) return { afi: AFI.IPv4, safi: SAFI.UNICAST };
  if (u.attributes.length === 1) {
    const a = u.attributes[0]!;
    if (a.kind === 'mp-unreach' && (a.withdrawn?.length ?? 0) === 0 && a.opaque === undefined) {
      return { afi: a.afi, safi: a.safi };
    }
  }
  return undefined;
}

export function nlriOf(prefix: Prefix, pathId: number): Nlri {
  return pathId === 0 ? { prefix } : { prefix, pathId };
}
