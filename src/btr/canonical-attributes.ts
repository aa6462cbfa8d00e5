// From a voted canonical value back to path attributes (the inverse of canonical.ts's
// writeRoute), so the hypervisor advertises exactly what was voted — a pure function of
// the value, whichever replica's encoding reached it first (BTR paper §3.1: "the update
// voter determines which routing updates should be sent to neighbors").
//
// The value gives the meaning; the encoding towards the neighbour is ours:
// - attributes in type-code order with the flags their RFCs fix (ATTR_DEFAULT_FLAGS);
//   unknown optional transitive attributes get the Partial bit, as a router that passes
//   on an attribute it does not recognise must set it (RFC 4271 §5);
// - RFC 6793 §4.2.2: towards a neighbour without 4-octet AS, ASNs above 65535 become
//   AS_TRANS in AS_PATH / AGGREGATOR, and AS4_PATH (without confederation segments) /
//   AS4_AGGREGATOR carry the real ones — only when some ASN needs 4 octets;
// - the next hop goes in NEXT_HOP for IPv4 unicast with an IPv4 next hop (RFC 4271 §5.1.3),
//   and in MP_REACH_NLRI otherwise (RFC 4760 §3; RFC 8950 for IPv4 with an IPv6 next hop).

import { Writer } from '../lib/bytes.js';
import { AFI } from '../lib/ip.js';
import {
  AS_SEG,
  ATTR,
  ATTR_DEFAULT_FLAGS,
  ATTR_FLAG,
  SAFI,
  encodeAttributes,
  type AsPathSegment,
  type CodecContext,
  type PathAttribute,
} from '../wire/index.js';
import { CANONICAL_ROUTE } from './canonical.js';
import type { VoteValue } from './voter.js';
import type { RouteForm } from './update-writer.js';

export interface CanonicalRoute {
  /** The next hop that applies to the prefix (empty if the value had none). */
  readonly nextHop: Uint8Array;
  /** Path attributes in type-code order, without NEXT_HOP and MP_REACH_NLRI. */
  readonly attributes: PathAttribute[];
}

const F = ATTR_DEFAULT_FLAGS;
const O = ATTR_FLAG.OPTIONAL;
const T = ATTR_FLAG.TRANSITIVE;

/** Type codes written without a flags octet in the canonical form (canonical.ts KNOWN). */
const KNOWN: ReadonlySet<number> = new Set([
  ATTR.ORIGIN,
  ATTR.AS_PATH,
  ATTR.MULTI_EXIT_DISC,
  ATTR.LOCAL_PREF,
  ATTR.ATOMIC_AGGREGATE,
  ATTR.AGGREGATOR,
  ATTR.COMMUNITIES,
  ATTR.ORIGINATOR_ID,
  ATTR.CLUSTER_LIST,
  ATTR.EXTENDED_COMMUNITIES,
  ATTR.LARGE_COMMUNITY,
]);

/** Decode a canonical route value (canonical.ts layout). Throws on anything else. */
export function decodeCanonicalRoute(value: VoteValue): CanonicalRoute {
  const b = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) b[i] = value.charCodeAt(i);
  let p = 0;
  const need = (n: number): void => {
    if (p + n > b.length) throw new RangeError(`canonical value truncated at octet ${p}`);
  };
  const u8 = (): number => {
    need(1);
    return b[p++]!;
  };
  const u16 = (): number => (u8() << 8) | u8();
  const u32 = (): number => ((u16() << 16) | u16()) >>> 0;
  const bytes = (n: number): Uint8Array => {
    need(n);
    p += n;
    return b.subarray(p - n, p);
  };
  if (u8() !== CANONICAL_ROUTE) throw new RangeError('not a canonical route value');
  const nextHop = bytes(u8());
  const attributes: PathAttribute[] = [];
  while (p < b.length) {
    const code = u8();
    if (!KNOWN.has(code)) {
      const flags = u8();
      const data = bytes(u16());
      // RFC 4271 §5: passed on unrecognised, an optional transitive attribute is Partial.
      const partial = (flags & (O | T)) === (O | T) ? ATTR_FLAG.PARTIAL : 0;
      attributes.push({ kind: 'unknown', code, flags: flags | partial, data });
      continue;
    }
    const len = u16();
    const end = p + len;
    need(len);
    switch (code) {
      case ATTR.ORIGIN:
        attributes.push({ kind: 'origin', code: 1, flags: F[1]!, origin: u8() });
        break;
      case ATTR.AS_PATH: {
        const segments: AsPathSegment[] = [];
        while (p < end) {
          const type = u8();
          const n = u16();
          const asns = new Array<number>(n);
          for (let i = 0; i < n; i++) asns[i] = u32();
          segments.push({ type, asns });
        }
        attributes.push({ kind: 'as-path', code: 2, flags: F[2]!, segments, asnWidth: 4 });
        break;
      }
      case ATTR.MULTI_EXIT_DISC:
        attributes.push({ kind: 'med', code: 4, flags: F[4]!, med: u32() });
        break;
      case ATTR.LOCAL_PREF:
        attributes.push({ kind: 'local-pref', code: 5, flags: F[5]!, localPref: u32() });
        break;
      case ATTR.ATOMIC_AGGREGATE:
        attributes.push({ kind: 'atomic-aggregate', code: 6, flags: F[6]! });
        break;
      case ATTR.AGGREGATOR: {
        const asn = u32();
        const address = bytes(end - p);
        attributes.push({ kind: 'aggregator', code: 7, flags: F[7]!, asn, address, asnWidth: 4 });
        break;
      }
      case ATTR.COMMUNITIES: {
        const communities: number[] = [];
        while (p < end) communities.push(u32());
        attributes.push({ kind: 'communities', code: 8, flags: F[8]!, communities });
        break;
      }
      case ATTR.ORIGINATOR_ID:
        attributes.push({ kind: 'originator-id', code: 9, flags: F[9]!, originatorId: bytes(len) });
        break;
      case ATTR.CLUSTER_LIST: {
        const clusterIds: Uint8Array[] = [];
        while (p < end) clusterIds.push(bytes(4));
        attributes.push({ kind: 'cluster-list', code: 10, flags: F[10]!, clusterIds });
        break;
      }
      case ATTR.EXTENDED_COMMUNITIES: {
        const communities: Uint8Array[] = [];
        while (p < end) communities.push(bytes(8));
        attributes.push({ kind: 'extended-communities', code: 16, flags: F[16]!, communities });
        break;
      }
      case ATTR.LARGE_COMMUNITY: {
        const communities: [number, number, number][] = [];
        while (p < end) communities.push([u32(), u32(), u32()]);
        attributes.push({ kind: 'large-communities', code: 32, flags: F[32]!, communities });
        break;
      }
    }
    if (p !== end) throw new RangeError(`canonical attribute ${code} has a bad length`);
  }
  return { nextHop, attributes };
}

/**
 * RFC 6793 §4.2.2 for a neighbour without 4-octet AS: AS4_PATH and AS4_AGGREGATOR next
 * to AS_PATH / AGGREGATOR when an ASN needs 4 octets (the codec writes AS_TRANS for those
 * in the 2-octet attributes). Returns `attrs` itself when nothing is needed.
 */
export function withAs4Attributes(attrs: readonly PathAttribute[]): readonly PathAttribute[] {
  let out: PathAttribute[] | undefined;
  for (const a of attrs) {
    if (a.kind === 'as-path' && a.code === ATTR.AS_PATH) {
      const segs = a.segments.filter(
        (s) => s.type === AS_SEG.AS_SEQUENCE || s.type === AS_SEG.AS_SET,
      );
      if (segs.some((s) => s.asns.some((x) => x > 0xffff))) {
        out ??= attrs.slice();
        out.push({ kind: 'as-path', code: 17, flags: F[17]!, segments: segs, asnWidth: 4 });
      }
    } else if (a.kind === 'aggregator' && a.code === ATTR.AGGREGATOR && a.asn > 0xffff) {
      out ??= attrs.slice();
      out.push({ ...a, code: 18, flags: F[18]!, asnWidth: 4 });
    }
  }
  return out ? out.sort((x, y) => x.code - y.code) : attrs;
}

const aw = new Writer(4096);

/**
 * How to send routes of family (afi, safi) whose voted value is `value`, encoded for a
 * neighbour session with context `ctx`.
 */
export function routeFormOf(
  value: VoteValue,
  afi: number,
  safi: number,
  ctx: CodecContext,
): RouteForm {
  const r = decodeCanonicalRoute(value);
  let attrs: readonly PathAttribute[] = r.attributes;
  if (!ctx.as4) attrs = withAs4Attributes(attrs);
  const body = afi === AFI.IPv4 && safi === SAFI.UNICAST && r.nextHop.length === 4;
  if (body) {
    const nh: PathAttribute = { kind: 'next-hop', code: 3, flags: F[3]!, nextHop: r.nextHop };
    attrs = [...attrs, nh].sort((x, y) => x.code - y.code);
  }
  aw.reset();
  encodeAttributes(aw, attrs, ctx);
  return { attrs: aw.finish(), mp: !body, afi, safi, nextHop: body ? EMPTY : r.nextHop.slice() };
}

const EMPTY = new Uint8Array(0);
