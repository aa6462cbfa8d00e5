// UPDATE messages written straight from vote keys (canonical-key.ts) for the router
// hypervisor: the history replay that bootstraps a replica (BTR paper §4.1 "Bootstrapping
// new connections") and the voted output towards a neighbour (§3.1). Pure: bytes out,
// no I/O.
//
// - RFC 4271 §4.3: IPv4 unicast NLRI and withdrawals go in the UPDATE body when the route
//   came that way (or, for voted output, when its next hop is an IPv4 address); every
//   other family goes in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3, §4), one family
//   per message, always with the Extended Length bit so its header size is fixed.
// - RFC 7911 §3: a path identifier precedes each prefix when the codec context has
//   ADD-PATH for the family (keys without one carry path id 0).
// - RFC 4271 §4.1 / RFC 8654: messages are filled up to 4096 octets, or 65535 with
//   extended messages.
// - RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4 unicast) or with an
//   empty MP_UNREACH_NLRI (other families).
//
// The attribute block is handed in already encoded (the neighbour's own octets for the
// history, the canonical value re-encoded for voted output), so one block serves every
// message of a group. Prefix octets are written from the key itself: no Prefix object per
// route.

import { Writer } from '../lib/bytes.js';
import { AFI } from '../lib/ip.js';
import { ipv4KeyAddr, ipv4KeyLen } from '../rib/index.js';
import {
  ATTR,
  ATTR_FLAG,
  BGP_EXT_MAX_LEN,
  BGP_HEADER_LEN,
  BGP_MAX_LEN,
  MSG,
  SAFI,
  addPathKey,
  writeHeader,
  type CodecContext,
  type UpdateMessage,
} from '../wire/index.js';
import type { VoteKey } from './voter.js';

/** A family as one number, (AFI << 8) | SAFI, the same as wire's addPathKey. */
export type FamilyKey = number;

export const IPV4_UNICAST: FamilyKey = addPathKey(AFI.IPv4, SAFI.UNICAST);

/** How a group of routes sharing attributes is written. */
export interface RouteForm {
  /** Encoded path attributes without MP_REACH_NLRI / MP_UNREACH_NLRI. */
  readonly attrs: Uint8Array;
  /** NLRI go in MP_REACH_NLRI (with `nextHop`); false: in the UPDATE body (IPv4 unicast). */
  readonly mp: boolean;
  readonly afi: number;
  readonly safi: number;
  /** MP_REACH_NLRI next hop (empty for body NLRI). */
  readonly nextHop: Uint8Array;
}

/** The family of a vote key (IPv4 unicast for number keys). */
export function familyOfKey(key: VoteKey): FamilyKey {
  return typeof key === 'number' ? IPV4_UNICAST : (key.charCodeAt(0) << 8) | key.charCodeAt(1);
}

/** The ADD-PATH path identifier of a vote key (0 without one). */
export function pathIdOfKey(key: VoteKey): number {
  return typeof key === 'number' ? 0 : ((key.charCodeAt(2) << 16) | key.charCodeAt(3)) >>> 0;
}

const maxLen = (ctx: CodecContext): number => (ctx.extendedMessage ? BGP_EXT_MAX_LEN : BGP_MAX_LEN);

/** Octets the key's NLRI takes. */
function nlriLength(key: VoteKey, addPath: boolean): number {
  const len = typeof key === 'number' ? ipv4KeyLen(key) : key.charCodeAt(4);
  return 1 + ((len + 7) >>> 3) + (addPath ? 4 : 0);
}

/** Write the key's NLRI: [path id] length prefix-octets. */
function writeNlri(w: Writer, key: VoteKey, addPath: boolean): void {
  if (typeof key === 'number') {
    const len = ipv4KeyLen(key);
    const addr = ipv4KeyAddr(key);
    if (addPath) w.u32(0);
    w.u8(len);
    const n = (len + 7) >>> 3;
    for (let i = 0; i < n; i++) w.u8((addr >>> (24 - 8 * i)) & 0xff);
    return;
  }
  if (addPath) w.u32(((key.charCodeAt(2) << 16) | key.charCodeAt(3)) >>> 0);
  const len = key.charCodeAt(4);
  w.u8(len);
  const n = (len + 7) >>> 3;
  for (let i = 0; i < n; i++) {
    const word = key.charCodeAt(5 + (i >>> 1));
    w.u8((i & 1) === 0 ? word >>> 8 : word & 0xff);
  }
}

const w = new Writer(1 << 16);

function finish(): Uint8Array {
  writeHeader(w.buf, 0, w.pos, MSG.UPDATE);
  return w.finish();
}

/**
 * UPDATEs announcing `keys[from, to)` with the attributes of `form`, appended to `out`.
 * Throws if the attributes alone do not fit in a message (they came in one, or were
 * re-encoded from a route that did).
 */
export function writeAnnouncements(
  form: RouteForm,
  keys: readonly VoteKey[],
  from: number,
  to: number,
  ctx: CodecContext,
  out: Uint8Array[],
): void {
  const addPath = ctx.addPath.has(addPathKey(form.afi, form.safi));
  const limit = maxLen(ctx);
  // Header, withdrawn length (2), attribute length (2), attributes; for MP, MP_REACH_NLRI
  // with a 2-octet length (4), AFI/SAFI (3), next-hop length (1), next hop, reserved (1).
  const fixed = BGP_HEADER_LEN + 4 + form.attrs.length + (form.mp ? 9 + form.nextHop.length : 0);
  if (from < to && fixed + nlriLength(keys[from]!, addPath) > limit) {
    throw new RangeError(`path attributes of ${form.attrs.length} octets leave no room for NLRI`);
  }
  let k = from;
  while (k < to) {
    w.reset();
    w.pos = BGP_HEADER_LEN;
    w.u16(0);
    const attrLenAt = w.reserve(2);
    let mpLenAt = 0;
    if (form.mp) {
      w.u8(ATTR_FLAG.OPTIONAL | ATTR_FLAG.EXTENDED_LENGTH).u8(ATTR.MP_REACH_NLRI);
      mpLenAt = w.reserve(2);
      w.u16(form.afi).u8(form.safi).u8(form.nextHop.length).bytes(form.nextHop).u8(0);
    } else {
      w.bytes(form.attrs); // body NLRI follow the attributes
      w.patch(attrLenAt, 2, form.attrs.length);
    }
    const nlriStart = w.pos;
    let room = limit - fixed;
    while (k < to) {
      const n = nlriLength(keys[k]!, addPath);
      if (n > room && w.pos > nlriStart) break;
      room -= n;
      writeNlri(w, keys[k]!, addPath);
      k++;
    }
    if (form.mp) {
      w.patch(mpLenAt, 2, w.pos - mpLenAt - 2);
      w.bytes(form.attrs);
      w.patch(attrLenAt, 2, w.pos - attrLenAt - 2);
    }
    out.push(finish());
  }
}

/** UPDATEs withdrawing `keys[from, to)`, all of family (afi, safi), appended to `out`. */
export function writeWithdrawals(
  afi: number,
  safi: number,
  keys: readonly VoteKey[],
  from: number,
  to: number,
  ctx: CodecContext,
  out: Uint8Array[],
): void {
  const addPath = ctx.addPath.has(addPathKey(afi, safi));
  const body = afi === AFI.IPv4 && safi === SAFI.UNICAST;
  const limit = maxLen(ctx);
  // Body: header, withdrawn length (2), prefixes, attribute length (2). MP: header, 2 + 2,
  // MP_UNREACH_NLRI header with 2-octet length (4), AFI/SAFI (3), prefixes.
  const fixed = BGP_HEADER_LEN + 4 + (body ? 0 : 7);
  let k = from;
  while (k < to) {
    w.reset();
    w.pos = BGP_HEADER_LEN;
    let lenAt: number;
    let attrLenAt = 0;
    if (body) lenAt = w.reserve(2);
    else {
      w.u16(0);
      attrLenAt = w.reserve(2);
      w.u8(ATTR_FLAG.OPTIONAL | ATTR_FLAG.EXTENDED_LENGTH).u8(ATTR.MP_UNREACH_NLRI);
      lenAt = w.reserve(2);
      w.u16(afi).u8(safi);
    }
    const start = w.pos;
    let room = limit - fixed;
    while (k < to) {
      const n = nlriLength(keys[k]!, addPath);
      if (n > room && w.pos > start) break;
      room -= n;
      writeNlri(w, keys[k]!, addPath);
      k++;
    }
    w.patch(lenAt, 2, w.pos - lenAt - 2);
    if (body) w.u16(0);
    else w.patch(attrLenAt, 2, w.pos - attrLenAt - 2);
    out.push(finish());
  }
}

/** The End-of-RIB marker of a family (RFC 4724 §2). */
export function endOfRib(family: FamilyKey): Uint8Array {
  w.reset();
  w.pos = BGP_HEADER_LEN;
  w.u16(0);
  if (family === IPV4_UNICAST) w.u16(0);
  else {
    w.u16(6);
    w.u8(ATTR_FLAG.OPTIONAL).u8(ATTR.MP_UNREACH_NLRI).u8(3);
    w.u16(family >>> 8).u8(family & 0xff);
  }
  return finish();
}

/** The family whose End-of-RIB marker `u` is (RFC 4724 §2), or undefined. */
export function endOfRibFamily(u: UpdateMessage): FamilyKey | undefined {
  if (u.withdrawn.length > 0 || u.nlri.length > 0) return undefined;
  if (u.attributes.length === 0) return u.treatAsWithdraw ? undefined : IPV4_UNICAST;
  if (u.attributes.length !== 1) return undefined;
  const a = u.attributes[0]!;
  if (a.kind !== 'mp-unreach' || a.opaque !== undefined || (a.withdrawn?.length ?? 0) > 0) {
    return undefined;
  }
  return addPathKey(a.afi, a.safi);
}
