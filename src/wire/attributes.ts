// Path attributes of UPDATE (RFC 4271 §4.3, §5, §6.3) with the revised error handling of
// RFC 7606 (§3 general rules, §4 attribute-list overruns, §7 per attribute), RFC 6793 §6
// (AS4_PATH, AS4_AGGREGATOR), RFC 4456 (ORIGINATOR_ID, CLUSTER_LIST), RFC 4760 (MP_*).
//
//   path attribute:
//   +----------------+----------------+------------------------+-----------------+
//   | Attr. Flags (1)| Attr. Type (1) | Length (1, or 2 if the | Value (Length)  |
//   | O T P E 0 0 0 0|                | Extended Length bit E) |                 |
//   +----------------+----------------+------------------------+-----------------+
//
// A malformed attribute never throws: it becomes a BgpError with the RFC 7606 approach,
// and the attribute is left out of the result (its octets are the error's data). Errors
// that allow the UPDATE to be processed are collected; the caller decides with
// `mostSevere`.

import { Reader, type Writer } from '../lib/bytes.js';
import type { Prefix } from '../lib/ip.js';
import { decodeAsPathSegments, encodeAsPathSegments } from './as-path.js';
import {
  decodeCommunityValues,
  decodeExtendedCommunityValues,
  decodeLargeCommunityValues,
  encodeCommunityValues,
  encodeLargeCommunityValues,
} from './communities.js';
import { ATTR, ATTR_FLAG, ERR, ERR_UPDATE } from './constants.js';
import { bgpError, type BgpError, type ErrorAction } from './errors.js';
import { decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp-reach.js';
import type { CodecContext, PathAttribute } from './types.js';

const O = ATTR_FLAG.OPTIONAL;
const T = ATTR_FLAG.TRANSITIVE;
const OT = O | T;

/** Optional/Transitive bits each recognised attribute must carry (RFC 4271 §5 etc.). */
export const ATTR_DEFAULT_FLAGS: Readonly<Record<number, number>> = {
  [ATTR.ORIGIN]: T,
  [ATTR.AS_PATH]: T,
  [ATTR.NEXT_HOP]: T,
  [ATTR.MULTI_EXIT_DISC]: O,
  [ATTR.LOCAL_PREF]: T,
  [ATTR.ATOMIC_AGGREGATE]: T,
  [ATTR.AGGREGATOR]: OT,
  [ATTR.COMMUNITIES]: OT,
  [ATTR.ORIGINATOR_ID]: O,
  [ATTR.CLUSTER_LIST]: O,
  [ATTR.MP_REACH_NLRI]: O,
  [ATTR.MP_UNREACH_NLRI]: O,
  [ATTR.EXTENDED_COMMUNITIES]: OT,
  [ATTR.AS4_PATH]: OT,
  [ATTR.AS4_AGGREGATOR]: OT,
  [ATTR.LARGE_COMMUNITY]: OT,
};

// -1: not recognised; else the expected (flags & (O|T)).
const expectedOT = new Int16Array(256).fill(-1);
for (const [code, f] of Object.entries(ATTR_DEFAULT_FLAGS)) expectedOT[Number(code)] = f;

/** RFC 7606 approach when a recognised attribute is malformed (§7, RFC 6793 §6). */
export function malformedAction(code: number): ErrorAction {
  switch (code) {
    case ATTR.ATOMIC_AGGREGATE: // RFC 7606 §7.6
    case ATTR.AGGREGATOR: // §7.7
    case ATTR.AS4_PATH: // RFC 6793 §6
    case ATTR.AS4_AGGREGATOR:
      return 'attribute-discard';
    case ATTR.MP_REACH_NLRI: // RFC 7606 §7.11 (AFI/SAFI disable is the caller's choice)
    case ATTR.MP_UNREACH_NLRI:
      return 'session-reset';
    default:
      return 'treat-as-withdraw';
  }
}

// Per-call scratch for duplicate detection: a stamp per attribute code, so no allocation
// per UPDATE. Decoding is synchronous, so sharing it is safe.
const seenStamp = new Uint32Array(256);
let stamp = 0;

export interface DecodedAttributes {
  readonly attributes: PathAttribute[];
  /** Every error found, in order; empty when the attributes were clean. */
  readonly errors: BgpError[];
  /** A session-reset error stopped parsing; `attributes` is incomplete. */
  readonly fatal: boolean;
}

/**
 * Decode the path attributes in `buf[start, end)`. `hostBits` collects MP_REACH/MP_UNREACH
 * prefixes whose host bits were masked. Never throws for bad input.
 */
export function decodeAttributes(
  buf: Uint8Array,
  start: number,
  end: number,
  ctx: CodecContext,
  hostBits?: Prefix[],
): DecodedAttributes {
  const attributes: PathAttribute[] = [];
  const errors: BgpError[] = [];
  if (++stamp === 0xffffffff) {
    seenStamp.fill(0);
    stamp = 1;
  }
  const mark = stamp;
  let p = start;
  while (p < end) {
    const at = p;
    const flags = buf[p]!;
    const ext = (flags & ATTR_FLAG.EXTENDED_LENGTH) !== 0;
    const hdr = ext ? 4 : 3;
    if (p + hdr > end) {
      // RFC 7606 §4: too few octets left for an attribute header: treat-as-withdraw, and
      // the Total Path Attribute Length is taken to be right.
      errors.push(
        bgpError(
          'treat-as-withdraw',
          ERR.UPDATE_MESSAGE,
          ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
          `${end - p} octet(s) left at offset ${p - start} of the path attributes, too few for an attribute header`,
        ),
      );
      break;
    }
    const code = buf[p + 1]!;
    const len = ext ? (buf[p + 2]! << 8) | buf[p + 3]! : buf[p + 2]!;
    const vs = p + hdr;
    const ve = vs + len;
    if (ve > end) {
      // RFC 7606 §4: the last attribute overruns the attribute block. Treat-as-withdraw,
      // unless the overrunning attribute carries NLRI we then cannot parse.
      const mp = code === ATTR.MP_REACH_NLRI || code === ATTR.MP_UNREACH_NLRI;
      errors.push(
        bgpError(
          mp ? 'session-reset' : 'treat-as-withdraw',
          ERR.UPDATE_MESSAGE,
          ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
          `attribute ${code} of length ${len} overruns the path attributes by ${ve - end} octet(s)`,
          new Uint8Array(0),
          code,
        ),
      );
      if (mp) return { attributes, errors, fatal: true };
      break;
    }
    p = ve;
    if (seenStamp[code] === mark) {
      if (code === ATTR.MP_REACH_NLRI || code === ATTR.MP_UNREACH_NLRI) {
        errors.push(
          bgpError(
            'session-reset',
            ERR.UPDATE_MESSAGE,
            ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
            `attribute ${code} appears more than once`,
            new Uint8Array(0),
            code,
          ),
        );
        return { attributes, errors, fatal: true };
      }
      // RFC 7606 §3(g): later copies are discarded.
      errors.push(
        bgpError(
          'attribute-discard',
          ERR.UPDATE_MESSAGE,
          ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
          `duplicate attribute ${code} discarded`,
          buf.subarray(at, ve),
          code,
        ),
      );
      continue;
    }
    seenStamp[code] = mark;

    const want = expectedOT[code]!;
    if (want < 0) {
      if ((flags & O) === 0) {
        // RFC 4271 §6.3: an unrecognised well-known attribute.
        errors.push(
          bgpError(
            'session-reset',
            ERR.UPDATE_MESSAGE,
            ERR_UPDATE.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            `unrecognised well-known attribute ${code}`,
            buf.subarray(at, ve),
            code,
          ),
        );
        return { attributes, errors, fatal: true };
      }
      attributes.push({ kind: 'unknown', code, flags, data: buf.subarray(vs, ve) });
      continue;
    }
    if ((flags & OT) !== want) {
      // RFC 7606 §3(c): conflicting Optional/Transitive bits make the attribute malformed.
      const action = malformedAction(code);
      errors.push(
        bgpError(
          action,
          ERR.UPDATE_MESSAGE,
          ERR_UPDATE.ATTRIBUTE_FLAGS_ERROR,
          `attribute ${code} has flags 0x${flags.toString(16)}, expected optional/transitive bits 0x${want.toString(16)}`,
          buf.subarray(at, ve),
          code,
        ),
      );
      if (action === 'session-reset') return { attributes, errors, fatal: true };
      continue;
    }
    const res = decodeValue(buf, vs, ve, code, flags, ctx, hostBits);
    if (typeof res === 'number') {
      const action = malformedAction(code);
      errors.push(
        bgpError(
          action,
          ERR.UPDATE_MESSAGE,
          res,
          `attribute ${code} (length ${len}) is malformed: ${lastReason}`,
          res === ERR_UPDATE.MALFORMED_AS_PATH ? new Uint8Array(0) : buf.subarray(at, ve),
          code,
        ),
      );
      if (action === 'session-reset') return { attributes, errors, fatal: true };
      continue;
    }
    attributes.push(res);
  }
  return { attributes, errors, fatal: false };
}

// Why the last decodeValue failed; set only on the (rare) error path.
let lastReason = '';

function fail(subcode: number, reason: string): number {
  lastReason = reason;
  return subcode;
}

const u32at = (b: Uint8Array, p: number): number =>
  ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/** A recognised attribute's value, or the NOTIFICATION subcode when it is malformed. */
function decodeValue(
  buf: Uint8Array,
  vs: number,
  ve: number,
  code: number,
  flags: number,
  ctx: CodecContext,
  hostBits: Prefix[] | undefined,
): PathAttribute | number {
  const len = ve - vs;
  const LEN = ERR_UPDATE.ATTRIBUTE_LENGTH_ERROR;
  switch (code) {
    case ATTR.ORIGIN: {
      if (len !== 1) return fail(LEN, 'length must be 1');
      const origin = buf[vs]!;
      if (origin > 2) return fail(ERR_UPDATE.INVALID_ORIGIN_ATTRIBUTE, `value ${origin}`);
      return { kind: 'origin', code, flags, origin };
    }
    case ATTR.AS_PATH:
    case ATTR.AS4_PATH: {
      const asnWidth = code === ATTR.AS4_PATH || ctx.as4 ? 4 : 2;
      const segs = decodeAsPathSegments(new Reader(buf, vs, ve), asnWidth);
      if (typeof segs === 'string') return fail(ERR_UPDATE.MALFORMED_AS_PATH, segs);
      return { kind: 'as-path', code, flags, segments: segs, asnWidth };
    }
    case ATTR.NEXT_HOP:
      if (len !== 4) return fail(LEN, 'length must be 4');
      return { kind: 'next-hop', code, flags, nextHop: buf.subarray(vs, ve) };
    case ATTR.MULTI_EXIT_DISC:
      if (len !== 4) return fail(LEN, 'length must be 4');
      return { kind: 'med', code, flags, med: u32at(buf, vs) };
    case ATTR.LOCAL_PREF:
      if (len !== 4) return fail(LEN, 'length must be 4');
      return { kind: 'local-pref', code, flags, localPref: u32at(buf, vs) };
    case ATTR.ATOMIC_AGGREGATE:
      if (len !== 0) return fail(LEN, 'length must be 0');
      return { kind: 'atomic-aggregate', code, flags };
    case ATTR.AGGREGATOR:
    case ATTR.AS4_AGGREGATOR: {
      const asnWidth = code === ATTR.AS4_AGGREGATOR || ctx.as4 ? 4 : 2;
      if (len !== asnWidth + 4) return fail(LEN, `length must be ${asnWidth + 4}`);
      const asn = asnWidth === 4 ? u32at(buf, vs) : (buf[vs]! << 8) | buf[vs + 1]!;
      return {
        kind: 'aggregator',
        code,
        flags,
        asn,
        address: buf.subarray(vs + asnWidth, ve),
        asnWidth,
      };
    }
    case ATTR.COMMUNITIES:
      if (len === 0 || (len & 3) !== 0) return fail(LEN, 'length must be a non-zero multiple of 4');
      return { kind: 'communities', code, flags, communities: decodeCommunityValues(buf, vs, ve) };
    case ATTR.ORIGINATOR_ID:
      if (len !== 4) return fail(LEN, 'length must be 4');
      return { kind: 'originator-id', code, flags, originatorId: buf.subarray(vs, ve) };
    case ATTR.CLUSTER_LIST: {
      if (len === 0 || (len & 3) !== 0) return fail(LEN, 'length must be a non-zero multiple of 4');
      const ids = new Array<Uint8Array>(len >>> 2);
      for (let i = 0; i < ids.length; i++) ids[i] = buf.subarray(vs + 4 * i, vs + 4 * i + 4);
      return { kind: 'cluster-list', code, flags, clusterIds: ids };
    }
    case ATTR.MP_REACH_NLRI:
    case ATTR.MP_UNREACH_NLRI: {
      const r = new Reader(buf, vs, ve);
      let res;
      try {
        res =
          code === ATTR.MP_REACH_NLRI
            ? decodeMpReach(r, flags, ctx, hostBits)
            : decodeMpUnreach(r, flags, ctx, hostBits);
      } catch {
        res = 'attribute too short';
      }
      if (typeof res === 'string') return fail(ERR_UPDATE.OPTIONAL_ATTRIBUTE_ERROR, res);
      return res;
    }
    case ATTR.EXTENDED_COMMUNITIES:
      if (len === 0 || (len & 7) !== 0) return fail(LEN, 'length must be a non-zero multiple of 8');
      return {
        kind: 'extended-communities',
        code,
        flags,
        communities: decodeExtendedCommunityValues(buf, vs, ve),
      };
    case ATTR.LARGE_COMMUNITY:
      if (len === 0 || len % 12 !== 0) return fail(LEN, 'length must be a non-zero multiple of 12');
      return {
        kind: 'large-communities',
        code,
        flags,
        communities: decodeLargeCommunityValues(buf, vs, ve),
      };
    default:
      return { kind: 'unknown', code, flags, data: buf.subarray(vs, ve) };
  }
}

/** Encode one attribute; its flags are kept, the Extended Length bit is set if needed. */
export function encodeAttribute(w: Writer, a: PathAttribute, ctx: CodecContext): void {
  const flagsAt = w.pos;
  w.u8(a.flags).u8(a.code);
  const ext = (a.flags & ATTR_FLAG.EXTENDED_LENGTH) !== 0;
  const lenAt = w.reserve(ext ? 2 : 1);
  const vs = w.pos;
  encodeValue(w, a, ctx);
  const len = w.pos - vs;
  if (len > 0xffff) throw new RangeError(`attribute ${a.code} value of ${len} octets is too long`);
  if (ext) {
    w.patch(lenAt, 2, len);
  } else if (len <= 0xff) {
    w.patch(lenAt, 1, len);
  } else {
    // Too long for one length octet: switch to the extended form, shifting the value.
    w.u8(0);
    w.buf.copyWithin(vs + 1, vs, vs + len);
    w.buf[flagsAt] = a.flags | ATTR_FLAG.EXTENDED_LENGTH;
    w.patch(lenAt, 2, len);
  }
}

function encodeValue(w: Writer, a: PathAttribute, ctx: CodecContext): void {
  switch (a.kind) {
    case 'origin':
      w.u8(a.origin);
      return;
    case 'as-path':
      encodeAsPathSegments(w, a.segments, a.code === ATTR.AS4_PATH || ctx.as4 ? 4 : 2);
      return;
    case 'next-hop':
      w.bytes(a.nextHop);
      return;
    case 'med':
      w.u32(a.med);
      return;
    case 'local-pref':
      w.u32(a.localPref);
      return;
    case 'atomic-aggregate':
      return;
    case 'aggregator':
      if (a.code === ATTR.AS4_AGGREGATOR || ctx.as4) w.u32(a.asn);
      else w.u16(a.asn > 0xffff ? 23456 : a.asn);
      w.bytes(a.address);
      return;
    case 'communities':
      encodeCommunityValues(w, a.communities);
      return;
    case 'originator-id':
      w.bytes(a.originatorId);
      return;
    case 'cluster-list':
      for (const id of a.clusterIds) w.bytes(id);
      return;
    case 'mp-reach':
      encodeMpReach(w, a, ctx);
      return;
    case 'mp-unreach':
      encodeMpUnreach(w, a, ctx);
      return;
    case 'extended-communities':
      for (const c of a.communities) w.bytes(c);
      return;
    case 'large-communities':
      encodeLargeCommunityValues(w, a.communities);
      return;
    case 'unknown':
      w.bytes(a.data);
      return;
  }
}

export function encodeAttributes(
  w: Writer,
  attrs: readonly PathAttribute[],
  ctx: CodecContext,
): void {
  for (let i = 0; i < attrs.length; i++) encodeAttribute(w, attrs[i]!, ctx);
}

/**
 * Prepare received attributes for propagation to another peer (RFC 4271 §5, §9):
 * unrecognised optional non-transitive attributes are dropped, unrecognised optional
 * transitive ones are kept with the Partial bit set. Decode output is left untouched (it
 * must round-trip); call this on the way out. Returns the input array when nothing changes.
 */
export function markPartialForPropagation(
  attrs: readonly PathAttribute[],
): readonly PathAttribute[] {
  let out: PathAttribute[] | undefined;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    let keep: PathAttribute | undefined = a;
    if (a.kind === 'unknown' && (a.flags & O) !== 0) {
      if ((a.flags & T) === 0) keep = undefined;
      else if ((a.flags & ATTR_FLAG.PARTIAL) === 0)
        keep = { ...a, flags: a.flags | ATTR_FLAG.PARTIAL };
    }
    if (keep !== a && !out) out = attrs.slice(0, i);
    if (out && keep) out.push(keep);
  }
  return out ?? attrs;
}

/** Find the first attribute of a kind (attributes are unique per code after decoding). */
export function findAttribute<K extends PathAttribute['kind']>(
  attrs: readonly PathAttribute[],
  kind: K,
): Extract<PathAttribute, { kind: K }> | undefined {
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.kind === kind) return a as Extract<PathAttribute, { kind: K }>;
  }
  return undefined;
}

/** Find an attribute by type code. */
export function attributeByCode(
  attrs: readonly PathAttribute[],
  code: number,
): PathAttribute | undefined {
  for (let i = 0; i < attrs.length; i++) if (attrs[i]!.code === code) return attrs[i];
  return undefined;
}
