// Canonical form of a replica's output for one route (BTR paper §4.3: the voter compares
// outputs as opaque strings; ARCHITECTURE.md: diverse implementations encode the same
// route differently, so the strings are made canonical first). Two outputs that mean the
// same route for the same prefix get the same bytes; any difference in meaning gives
// different bytes.
//
// What is normalised away (it is encoding, not meaning):
// - attribute order (RFC 4271 §5: receivers must accept any order): sorted by type code;
// - attribute flags: the Extended Length bit (framing) and the Partial bit (a statement
//   about the path, RFC 4271 §5, not about the route) are dropped; recognised attributes
//   carry no flags at all (their Optional/Transitive bits are fixed by their RFCs);
//   unknown attributes keep Optional and Transitive;
// - 2- versus 4-octet AS numbers: the AS path and aggregator are the reconciled ones
//   (RFC 6793 §4.2.3: AS4_PATH / AS4_AGGREGATOR folded in when the session has no 4-octet
//   AS), always written 4 octets wide; AS4_PATH / AS4_AGGREGATOR themselves are left out;
// - AS path segmentation: adjacent AS_SEQUENCEs (and adjacent AS_CONFED_SEQUENCEs) are
//   merged (a path of more than 255 ASNs must be split on the wire, anywhere), empty
//   segments dropped, and the members of AS_SET / AS_CONFED_SET sorted and deduplicated
//   (they are sets, RFC 4271 §4.3);
// - COMMUNITIES, EXTENDED_COMMUNITIES and LARGE_COMMUNITY sorted and deduplicated (sets,
//   RFC 1997, RFC 4360, RFC 8092);
// - which UPDATE carried the prefix, and how: the next hop that applies to the prefix is
//   written first (NEXT_HOP for NLRI in the UPDATE body, the MP_REACH_NLRI next hop for
//   NLRI inside it, RFC 4760 §3), and MP_REACH_NLRI / MP_UNREACH_NLRI / NEXT_HOP are not
//   attributes of the route. An IPv6 link-local next hop of all zeros is dropped; with
//   `ignoreLinkLocal` every link-local next hop is (implementations differ on sending it,
//   and it is only meaningful on the shared link).
//
// Layout (one octet per char in the string form):
//   0x01 | next-hop length (1) | next hop | attributes by type code:
//     code (1) [| flags & 0xC0 (1), unknown attributes only] | length (2) | value
// AS_PATH value: per segment, type (1) | count (2) | count × ASN (4).
// FIB values (`canonicalFibValue`) start with 0x02 instead: count (1) | per gateway,
// length (1) | address, sorted and deduplicated.

import { latin1, Writer } from '../lib/bytes.js';
import { AFI, formatAddr, type Prefix } from '../lib/ip.js';
import {
  AS_SEG,
  ATTR,
  ATTR_FLAG,
  SAFI,
  decodeMessage,
  effectiveAsPath,
  isDecodedFamily,
  type AsPathSegment,
  type BgpError,
  type CodecContext,
  type Nlri,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';
import { routeKey } from './canonical-key.js';
import type { VoteKey, VoteValue } from './voter.js';

export const CANONICAL_ROUTE = 0x01;
export const CANONICAL_FIB = 0x02;

export interface CanonicalOptions {
  /** Leave the IPv6 link-local next hop (the second 16 octets) out of the comparison. */
  readonly ignoreLinkLocal?: boolean;
}

/** One route of an UPDATE in canonical form. */
export interface CanonicalEntry {
  readonly key: VoteKey;
  readonly afi: number;
  readonly safi: number;
  readonly prefix: Prefix;
  readonly pathId: number;
  /** Canonical value; undefined for a withdrawal (or an RFC 7606 treat-as-withdraw). */
  readonly value: VoteValue | undefined;
}

export type CanonicalUpdate =
  | {
      readonly ok: true;
      /** Withdrawals first, then announcements, in the order of the UPDATE. */
      readonly routes: CanonicalEntry[];
      /** MP_REACH/MP_UNREACH attributes of families the codec keeps opaque (not voted). */
      readonly opaqueFamilies: number;
    }
  | { readonly ok: false; readonly error: BgpError };

// One scratch writer (encoding is synchronous); results are copied out as strings.
const scratch = new Writer(1024);

/**
 * Canonical bytes of a route: its attributes as decoded with `ctx` and the next hop that
 * applies to the prefix (see the file header).
 */
export function canonicalRouteBytes(
  attrs: readonly PathAttribute[],
  nextHop: Uint8Array | undefined,
  ctx: Pick<CodecContext, 'as4'>,
  opts?: CanonicalOptions,
): Uint8Array {
  writeRoute(scratch, attrs, nextHop, ctx.as4, opts);
  return scratch.finish();
}

/** `canonicalRouteBytes` as a string of one char per octet: the voter's value. */
export function canonicalRoute(
  attrs: readonly PathAttribute[],
  nextHop: Uint8Array | undefined,
  ctx: Pick<CodecContext, 'as4'>,
  opts?: CanonicalOptions,
): VoteValue {
  writeRoute(scratch, attrs, nextHop, ctx.as4, opts);
  return latin1(scratch.view());
}

/** Canonical value of a FIB entry: its gateways, sorted (interface indexes and metrics differ between replicas and are left out). */
export function canonicalFibValue(gateways: readonly Uint8Array[]): VoteValue {
  const gws = uniqueSorted(gateways.slice(), compareBytes);
  const w = scratch;
  w.reset();
  w.u8(CANONICAL_FIB).u8(gws.length);
  for (const g of gws) w.u8(g.length).bytes(g);
  return latin1(w.view());
}

/**
 * Every route of an encoded UPDATE (whole message, header included, as a Framer yields it)
 * in canonical form. A session-reset error is returned as `{ ok: false }`; RFC 7606
 * treat-as-withdraw turns its announcements into withdrawals. Throws if `msg` decodes to
 * another message type.
 */
export function canonicalUpdate(
  msg: Uint8Array,
  ctx: CodecContext,
  opts?: CanonicalOptions,
): CanonicalUpdate {
  const d = decodeMessage(msg, ctx);
  if (!d.ok) return { ok: false, error: d.error };
  if (d.message.type !== 2) {
    throw new TypeError(`canonicalUpdate: message type ${d.message.type} is not an UPDATE`);
  }
  return canonicalUpdateMessage(d.message, ctx, opts);
}

/** `canonicalUpdate` for an already decoded UPDATE. */
export function canonicalUpdateMessage(
  m: UpdateMessage,
  ctx: CodecContext,
  opts?: CanonicalOptions,
): CanonicalUpdate & { ok: true } {
  const routes: CanonicalEntry[] = [];
  let opaqueFamilies = 0;
  const withdraw = m.treatAsWithdraw === true;
  pushAll(routes, AFI.IPv4, SAFI.UNICAST, m.withdrawn, undefined);
  let mpReach: Extract<PathAttribute, { kind: 'mp-reach' }> | undefined;
  let nextHop: Uint8Array | undefined;
  for (const a of m.attributes) {
    if (a.kind === 'mp-unreach') {
      if (a.withdrawn && isDecodedFamily(a.afi, a.safi)) {
        pushAll(routes, a.afi, a.safi, a.withdrawn, undefined);
      } else if (a.opaque) opaqueFamilies++;
    } else if (a.kind === 'mp-reach') {
      mpReach = a;
    } else if (a.kind === 'next-hop') {
      nextHop = a.nextHop;
    }
  }
  if (mpReach) {
    if (mpReach.nlri && isDecodedFamily(mpReach.afi, mpReach.safi)) {
      const v = withdraw ? undefined : canonicalRoute(m.attributes, mpReach.nextHop, ctx, opts);
      pushAll(routes, mpReach.afi, mpReach.safi, mpReach.nlri, v);
    } else if (mpReach.opaque) opaqueFamilies++;
  }
  if (m.nlri.length > 0) {
    const v = withdraw ? undefined : canonicalRoute(m.attributes, nextHop, ctx, opts);
    pushAll(routes, AFI.IPv4, SAFI.UNICAST, m.nlri, v);
  }
  return { ok: true, routes, opaqueFamilies };
}

function pushAll(
  out: CanonicalEntry[],
  afi: number,
  safi: number,
  nlri: readonly Nlri[],
  value: VoteValue | undefined,
): void {
  for (const n of nlri) {
    const pathId = n.pathId ?? 0;
    out.push({
      key: routeKey(afi, safi, n.prefix, pathId),
      afi,
      safi,
      prefix: n.prefix,
      pathId,
      value,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Encoding.

function writeRoute(
  w: Writer,
  attrs: readonly PathAttribute[],
  nextHop: Uint8Array | undefined,
  as4: boolean,
  opts: CanonicalOptions | undefined,
): void {
  w.reset();
  w.u8(CANONICAL_ROUTE);
  const nh = nextHop ? canonicalNextHop(nextHop, opts?.ignoreLinkLocal === true) : EMPTY;
  w.u8(nh.length).bytes(nh);
  const { asPath, aggregator } = effectiveAsPath(attrs, as4);
  const sorted = attrs.filter((a) => !SKIPPED.has(a.code)).sort((a, b) => a.code - b.code);
  let pathWritten = false;
  for (const a of sorted) {
    if (!pathWritten && a.code > ATTR.AS_PATH) {
      writeAsPath(w, asPath);
      pathWritten = true;
    }
    switch (a.kind) {
      case 'origin':
        w.u8(a.code).u16(1).u8(a.origin);
        break;
      case 'as-path': // AS_PATH only (AS4_PATH is skipped), so at most once
        if (!pathWritten) writeAsPath(w, asPath);
        pathWritten = true;
        break;
      case 'med':
        w.u8(a.code).u16(4).u32(a.med);
        break;
      case 'local-pref':
        w.u8(a.code).u16(4).u32(a.localPref);
        break;
      case 'atomic-aggregate':
        w.u8(a.code).u16(0);
        break;
      case 'aggregator':
        if (aggregator) {
          w.u8(ATTR.AGGREGATOR)
            .u16(4 + aggregator.address.length)
            .u32(aggregator.asn)
            .bytes(aggregator.address);
        }
        break;
      case 'communities': {
        const cs = uniqueSorted(a.communities.slice(), (x, y) => x - y);
        w.u8(a.code).u16(4 * cs.length);
        for (const c of cs) w.u32(c);
        break;
      }
      case 'originator-id':
        w.u8(a.code).u16(a.originatorId.length).bytes(a.originatorId);
        break;
      case 'cluster-list':
        w.u8(a.code).u16(4 * a.clusterIds.length);
        for (const id of a.clusterIds) w.bytes(id);
        break;
      case 'extended-communities': {
        const cs = uniqueSorted(a.communities.slice(), compareBytes);
        w.u8(a.code).u16(8 * cs.length);
        for (const c of cs) w.bytes(c);
        break;
      }
      case 'large-communities': {
        const cs = uniqueSorted(a.communities.slice(), compareTriples);
        w.u8(a.code).u16(12 * cs.length);
        for (const c of cs) w.u32(c[0]).u32(c[1]).u32(c[2]);
        break;
      }
      case 'unknown':
        w.u8(a.code)
          .u8(a.flags & (ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE))
          .u16(a.data.length)
          .bytes(a.data);
        break;
      default:
        break;
    }
  }
  if (!pathWritten) writeAsPath(w, asPath);
}

/** Written where AS_PATH sorts, whether or not the route carried one (a missing AS_PATH is treat-as-withdraw anyway). */
function writeAsPath(w: Writer, path: readonly AsPathSegment[]): void {
  const segs = canonicalSegments(path);
  let len = 0;
  for (const s of segs) len += 3 + 4 * s.asns.length;
  w.u8(ATTR.AS_PATH).u16(len);
  for (const s of segs) {
    w.u8(s.type).u16(s.asns.length);
    for (const a of s.asns) w.u32(a);
  }
}

/** Merge adjacent sequences, drop empty segments, sort and deduplicate sets. */
export function canonicalSegments(path: readonly AsPathSegment[]): AsPathSegment[] {
  const out: { type: number; asns: number[] }[] = [];
  for (const s of path) {
    if (s.asns.length === 0) continue;
    const isSet = s.type === AS_SEG.AS_SET || s.type === AS_SEG.AS_CONFED_SET;
    if (isSet) {
      out.push({ type: s.type, asns: uniqueSorted(s.asns.slice(), (x, y) => x - y) });
      continue;
    }
    const last = out[out.length - 1];
    if (last && last.type === s.type) last.asns.push(...s.asns);
    else out.push({ type: s.type, asns: s.asns.slice() });
  }
  return out;
}

function canonicalNextHop(nh: Uint8Array, ignoreLinkLocal: boolean): Uint8Array {
  if (nh.length === 32) {
    let zero = true;
    for (let i = 16; i < 32; i++) if (nh[i] !== 0) zero = false;
    if (zero || ignoreLinkLocal) return nh.subarray(0, 16);
  }
  return nh;
}

/** Attributes that are not part of a route's canonical value (see the file header). */
const SKIPPED: ReadonlySet<number> = new Set([
  ATTR.NEXT_HOP,
  ATTR.MP_REACH_NLRI,
  ATTR.MP_UNREACH_NLRI,
  ATTR.AS4_PATH,
  ATTR.AS4_AGGREGATOR,
]);
const EMPTY = new Uint8Array(0);

function uniqueSorted<T>(xs: T[], cmp: (a: T, b: T) => number): T[] {
  xs.sort(cmp);
  let n = 0;
  for (let i = 0; i < xs.length; i++)
    if (n === 0 || cmp(xs[n - 1]!, xs[i]!) !== 0) xs[n++] = xs[i]!;
  xs.length = n;
  return xs;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function compareTriples(
  a: readonly [number, number, number],
  b: readonly [number, number, number],
): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

// ---------------------------------------------------------------------------------------
// Reading a canonical value back, for status output and logs.

const ORIGIN_NAME: Record<number, string> = { 0: 'IGP', 1: 'EGP', 2: 'INCOMPLETE' };
const SEG_OPEN: Record<number, string> = { 1: '{', 2: '', 3: '(', 4: '[' };
const SEG_CLOSE: Record<number, string> = { 1: '}', 2: '', 3: ')', 4: ']' };

/**
 * A one-line description of a canonical value, e.g.
 * `next-hop 198.18.0.1 origin IGP as-path 64500 {1 2} med 5 communities 64500:1`;
 * `withdrawn` for undefined.
 */
export function describeValue(v: VoteValue | undefined): string {
  if (v === undefined) return 'withdrawn';
  const b = Uint8Array.from(v, (c) => c.charCodeAt(0));
  let p = 0;
  const u8 = (): number => b[p++] ?? 0;
  const u16 = (): number => (u8() << 8) | u8();
  const u32 = (): number => ((u16() << 16) | u16()) >>> 0;
  const addr = (n: number): string => {
    const a = b.subarray(p, p + n);
    p += n;
    return n === 4 || n === 16 ? formatAddr(a) : `0x${Buffer.from(a).toString('hex')}`;
  };
  const kind = u8();
  if (kind === CANONICAL_FIB) {
    const n = u8();
    const gws: string[] = [];
    for (let i = 0; i < n; i++) gws.push(addr(u8()));
    return `via ${gws.join(', ') || '(none)'}`;
  }
  if (kind !== CANONICAL_ROUTE) return `0x${Buffer.from(b).toString('hex')}`;
  const parts: string[] = [];
  const nhLen = u8();
  parts.push(
    `next-hop ${nhLen === 0 ? '(none)' : nhLen === 32 ? `${addr(16)} ${addr(16)}` : addr(nhLen)}`,
  );
  while (p < b.length) {
    const code = u8();
    if (!KNOWN.has(code)) {
      const flags = u8();
      const len = u16();
      parts.push(
        `attr-${code}/0x${flags.toString(16)} 0x${Buffer.from(b.subarray(p, p + len)).toString('hex')}`,
      );
      p += len;
      continue;
    }
    const end = u16() + p;
    switch (code) {
      case ATTR.ORIGIN:
        parts.push(`origin ${ORIGIN_NAME[u8()] ?? '?'}`);
        break;
      case ATTR.AS_PATH: {
        const segs: string[] = [];
        while (p < end) {
          const t = u8();
          const n = u16();
          const asns: number[] = [];
          for (let i = 0; i < n; i++) asns.push(u32());
          segs.push(`${SEG_OPEN[t] ?? '?'}${asns.join(' ')}${SEG_CLOSE[t] ?? '?'}`);
        }
        parts.push(`as-path ${segs.join(' ') || '(empty)'}`);
        break;
      }
      case ATTR.MULTI_EXIT_DISC:
        parts.push(`med ${u32()}`);
        break;
      case ATTR.LOCAL_PREF:
        parts.push(`local-pref ${u32()}`);
        break;
      case ATTR.ATOMIC_AGGREGATE:
        parts.push('atomic-aggregate');
        break;
      case ATTR.AGGREGATOR:
        parts.push(`aggregator ${u32()} ${addr(end - p)}`);
        break;
      case ATTR.COMMUNITIES: {
        const cs: string[] = [];
        while (p < end) {
          const c = u32();
          cs.push(`${c >>> 16}:${c & 0xffff}`);
        }
        parts.push(`communities ${cs.join(' ')}`);
        break;
      }
      case ATTR.ORIGINATOR_ID:
        parts.push(`originator-id ${addr(end - p)}`);
        break;
      case ATTR.CLUSTER_LIST: {
        const ids: string[] = [];
        while (p < end) ids.push(addr(4));
        parts.push(`cluster-list ${ids.join(' ')}`);
        break;
      }
      case ATTR.EXTENDED_COMMUNITIES:
        parts.push(`extended-communities 0x${Buffer.from(b.subarray(p, end)).toString('hex')}`);
        break;
      case ATTR.LARGE_COMMUNITY: {
        const cs: string[] = [];
        while (p < end) cs.push(`${u32()}:${u32()}:${u32()}`);
        parts.push(`large-communities ${cs.join(' ')}`);
        break;
      }
    }
    p = end;
  }
  return parts.join(' ');
}

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
