// Interned (hash-consed) path attribute sets (RFC 4271 §4.3, §5). A full table of a
// million prefixes uses a few hundred thousand distinct attribute sets; every route that
// carries the same attributes points at one shared, immutable AttrSet.
//
// Identity is the canonical encoding:
// - attributes sorted by type code (stable). RFC 4271 §5 says senders SHOULD order
//   attributes by type code and receivers MUST accept any order, so order carries no
//   meaning: two lists in different orders intern to the same set;
// - the Extended Length flag cleared (the encoder sets it again when the value needs it:
//   it is framing, not meaning); the Partial flag and every other bit kept;
// - MP_UNREACH_NLRI left out and MP_REACH_NLRI reduced to AFI, SAFI and next hop, with the
//   reserved octet as 0 (RFC 4760 §3: ignored on receipt). The NLRI is what the set is
//   attached to, not part of it. The abbreviated MRT form becomes the full form;
// - ASNs always written 4 octets wide, so equal values from 2- and 4-octet sessions agree;
// - one leading octet saying whether AS4_PATH/AS4_AGGREGATOR are to be reconciled
//   (present and received without 4-octet AS, RFC 6793 §4.2.3), since that changes the
//   path the decision process sees.
//
// The canonical bytes are kept as a one-byte string (latin1): the Map key itself, half the
// size of a typed array and its buffer. They are all a set keeps of its attributes,
// besides the facts the decision process reads on every comparison (origin, LOCAL_PREF,
// MED, AS path length, neighbour AS, ORIGINATOR_ID, CLUSTER_LIST length, next hops). The
// attribute objects are decoded from the canonical bytes when asked for (export, policy,
// show commands, MRT dumps) and not kept: a full table has a few hundred thousand sets,
// and a dozen long-lived objects each cost more in garbage-collector work than decoding
// them again in the few places that need them. The next hops kept are shared copies that
// do not point into the UPDATE they came from (that would keep whole messages alive).
//
// Reference counting is explicit: `intern` returns the set with one more reference, which
// the caller owns; tables `retain` what they store and `release` what they drop; the set
// leaves the pool at zero.

import { latin1, Writer } from '../lib/bytes.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  ATTR,
  ATTR_FLAG,
  ORIGIN,
  decodeAttributes,
  effectiveAsPath,
  encodeAttribute,
  type AsPathSegment,
  type CodecContext,
  type PathAttribute,
} from '../wire/index.js';

/** An immutable, shared set of path attributes with what the decision process reads. */
export class AttrSet {
  /** Pool-unique number (never reused within a pool); handy for grouping and logs. */
  readonly id: number;
  /** Canonical encoding as a latin1 string (see the file header). */
  readonly key: string;
  /** ORIGIN; INCOMPLETE (the least preferred) when missing. */
  readonly origin: number;
  readonly localPref: number | undefined;
  readonly med: number | undefined;
  /** RFC 4271 §9.1.2.2 (a): AS_SET counts 1, confederation segments 0 (RFC 5065 §5.3). */
  readonly asPathLength: number;
  /**
   * The AS the route was learned from for MED comparison (RFC 4271 §9.1.2.2 (c)): the
   * first ASN of the leftmost AS_SEQUENCE after confederation segments; 0 when the path
   * is empty (a route from inside our AS or confederation); -1 when the path starts with
   * an AS_SET (no neighbour AS to compare within).
   */
  readonly neighbourAs: number;
  /** ORIGINATOR_ID as an unsigned 32-bit number (RFC 4456 §8). */
  readonly originatorId: number | undefined;
  readonly clusterListLength: number;
  /** NEXT_HOP attribute (used with IPv4 NLRI in the UPDATE body). */
  readonly nextHop: Uint8Array | undefined;
  /** MP_REACH_NLRI next hop (RFC 4760), e.g. 16 or 32 octets for IPv6. */
  readonly mpNextHop: Uint8Array | undefined;
  /** Number of holders; managed by the pool. */
  refs = 0;
  /** Hash of the canonical encoding; set by the pool. */
  hash = 0;
  /**
   * The last Loc-RIB route made with this set (loc-rib.ts): routes are immutable, and the
   * prefixes of one UPDATE share peer, set and next-hop facts, so they share one route.
   * Typed loosely to keep attr-set.ts free of route.ts (which imports this module).
   */
  lastRoute: unknown = undefined;

  /**
   * `attrs` in canonical order; `share` gives a kept copy of a next hop; `as4` is false
   * when AS4_PATH is to be reconciled into the path (see the file header).
   */
  constructor(
    id: number,
    key: string,
    attrs: readonly PathAttribute[],
    as4: boolean,
    share: (b: Uint8Array) => Uint8Array,
  ) {
    this.id = id;
    this.key = key;
    let origin: number = ORIGIN.INCOMPLETE;
    let localPref: number | undefined;
    let med: number | undefined;
    let originatorId: number | undefined;
    let clusterListLength = 0;
    let nextHop: Uint8Array | undefined;
    let mpNextHop: Uint8Array | undefined;
    for (const a of attrs) {
      switch (a.kind) {
        case 'origin':
          origin = a.origin;
          break;
        case 'local-pref':
          localPref = a.localPref;
          break;
        case 'med':
          med = a.med;
          break;
        case 'originator-id': {
          const b = a.originatorId;
          originatorId = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
          break;
        }
        case 'cluster-list':
          clusterListLength = a.clusterIds.length;
          break;
        case 'next-hop':
          nextHop = share(a.nextHop);
          break;
        case 'mp-reach':
          mpNextHop = share(a.nextHop);
          break;
        default:
          break;
      }
    }
    const asPath = effectiveAsPath(attrs, as4).asPath;
    let len = 0;
    let neighbourAs = 0;
    let seenFirst = false;
    for (const s of asPath) {
      if (s.type === AS_SEG.AS_SEQUENCE) {
        len += s.asns.length;
        if (!seenFirst) neighbourAs = s.asns[0] ?? 0;
        seenFirst = true;
      } else if (s.type === AS_SEG.AS_SET) {
        len += 1;
        if (!seenFirst) neighbourAs = -1;
        seenFirst = true;
      }
    }
    this.origin = origin;
    this.localPref = localPref;
    this.med = med;
    this.asPathLength = len;
    this.neighbourAs = neighbourAs;
    this.originatorId = originatorId;
    this.clusterListLength = clusterListLength;
    this.nextHop = nextHop;
    this.mpNextHop = mpNextHop;
  }

  /**
   * The attributes in canonical order (type code), MP_REACH without NLRI, decoded from the
   * canonical bytes (not kept: see the file header; the last set decoded is remembered,
   * as callers often ask for the same set several times in a row).
   */
  get attrs(): readonly PathAttribute[] {
    if (lastDecoded.set === this) return lastDecoded.attrs;
    const b = this.canonicalBytes(); // its own buffer: decoded byte fields may be kept
    const d = decodeAttributes(b, 1, b.length, AS4_CONTEXT);
    if (d.errors.length > 0)
      throw new Error(`AttrSet ${this.id}: canonical bytes do not decode: ${d.errors[0]!.reason}`);
    const list: PathAttribute[] = d.attributes;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (a.kind === 'mp-reach') {
        const { nlri: _nlri, ...rest } = a;
        list[i] = { ...rest, flags: a.flags & ~EXT };
      } else if (a.flags & EXT) list[i] = { ...a, flags: a.flags & ~EXT };
    }
    lastDecoded.set = this;
    lastDecoded.attrs = list;
    return list;
  }

  /**
   * The attributes as they go on the wire to a session with 4-octet ASNs (RFC 6793), or
   * undefined when they need the encoder: the canonical bytes are that encoding already,
   * unless the set carries AS4_PATH or AS4_AGGREGATOR (for 2-octet sessions only) or
   * MP_REACH_NLRI (whose NLRI goes inside the attribute).
   */
  as4WireBlock(): Uint8Array | undefined {
    const key = this.key;
    if (key.charCodeAt(0) !== 0) return undefined;
    for (let p = 1; p < key.length;) {
      const flags = key.charCodeAt(p);
      const code = key.charCodeAt(p + 1);
      if (code === ATTR.AS4_PATH || code === ATTR.AS4_AGGREGATOR || code === ATTR.MP_REACH_NLRI)
        return undefined;
      p +=
        flags & EXT
          ? 4 + ((key.charCodeAt(p + 2) << 8) | key.charCodeAt(p + 3))
          : 3 + key.charCodeAt(p + 2);
    }
    return this.canonicalBytes().subarray(1);
  }

  /** Whether AS4_PATH/AS4_AGGREGATOR are reconciled into the path (RFC 6793 §4.2.3). */
  get reconcilesAs4(): boolean {
    return this.key.charCodeAt(0) === 1;
  }

  /** The AS path the decision process uses (AS4_PATH reconciled when needed). */
  get asPath(): readonly AsPathSegment[] {
    return effectiveAsPath(this.attrs, !this.reconcilesAs4).asPath;
  }

  /** COMMUNITIES (RFC 1997) values, or none. */
  get communities(): readonly number[] {
    return this.find('communities')?.communities ?? NO_COMMUNITIES;
  }

  /** The canonical encoding as bytes (a fresh copy; see the file header for the form). */
  canonicalBytes(): Uint8Array {
    const out = new Uint8Array(this.key.length);
    for (let i = 0; i < out.length; i++) out[i] = this.key.charCodeAt(i);
    return out;
  }

  /** First attribute of a kind, like wire's findAttribute. */
  find<K extends PathAttribute['kind']>(kind: K): Extract<PathAttribute, { kind: K }> | undefined {
    for (const a of this.attrs)
      if (a.kind === kind) return a as Extract<PathAttribute, { kind: K }>;
    return undefined;
  }
}

const NO_COMMUNITIES: readonly number[] = Object.freeze([]);
/** The set whose attributes were decoded last, and them. */
const lastDecoded: { set: AttrSet | undefined; attrs: readonly PathAttribute[] } = {
  set: undefined,
  attrs: [],
};
const EXT = ATTR_FLAG.EXTENDED_LENGTH;
/** Small byte values shared between sets: at most this many distinct ones are cached. */
const SMALL_BYTES_CAP = 1 << 17;

/** Latin1 string of `b[0, n)`: one char per octet (Buffer's native conversion). */
/**
 * Append the canonical encoding of one attribute. The attributes of nearly every route
 * (ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES) are written directly; the
 * rest go through wire's encodeAttribute (with 4-octet ASNs and the Extended Length flag
 * cleared), whose output the direct cases reproduce exactly (attr-set.test.ts checks it).
 */
function encodeCanonical(c: Writer, a: PathAttribute, w: Writer): void {
  const flags = a.flags & ~EXT;
  switch (a.kind) {
    case 'origin':
      c.u8(flags).u8(a.code).u8(1).u8(a.origin);
      return;
    case 'med':
    case 'local-pref':
      c.u8(flags)
        .u8(a.code)
        .u8(4)
        .u32(a.kind === 'med' ? a.med : a.localPref);
      return;
    case 'next-hop':
      if (a.nextHop.length === 4) {
        c.u8(flags).u8(a.code).u8(4).bytes(a.nextHop);
        return;
      }
      break;
    case 'communities': {
      const n = a.communities.length * 4;
      header(c, flags, a.code, n);
      for (const v of a.communities) c.u32(v);
      return;
    }
    case 'as-path': {
      let n = 0;
      for (const seg of a.segments) {
        if (seg.asns.length > 255) {
          n = -1;
          break;
        }
        n += 2 + 4 * seg.asns.length;
      }
      if (n < 0 || n > 0xffff) break;
      header(c, flags, a.code, n);
      for (const seg of a.segments) {
        c.u8(seg.type).u8(seg.asns.length);
        for (const asn of seg.asns) c.u32(asn);
      }
      return;
    }
    case 'mp-reach':
      c.u8(flags)
        .u8(ATTR.MP_REACH_NLRI)
        .u8(5 + a.nextHop.length)
        .u16(a.afi)
        .u8(a.safi)
        .u8(a.nextHop.length)
        .bytes(a.nextHop)
        .u8(0);
      return;
    default:
      break;
  }
  w.reset();
  encodeAttribute(w, flags === a.flags ? a : ({ ...a, flags } as PathAttribute), AS4_CONTEXT);
  c.bytes(w.view());
}

/** Flags, type and length, extended when the value needs it (as encodeAttribute does). */
function header(c: Writer, flags: number, code: number, len: number): void {
  if (len > 0xff)
    c.u8(flags | EXT)
      .u8(code)
      .u16(len);
  else c.u8(flags).u8(code).u8(len);
}

/** FNV-1a over `b[0, n)`, as a small integer. */
function hashBytes(b: Uint8Array, n: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i]!, 16777619);
  return h & 0x3fffffff;
}

function sameBytes(key: string, b: Uint8Array, n: number): boolean {
  if (key.length !== n) return false;
  for (let i = 0; i < n; i++) if (key.charCodeAt(i) !== b[i]) return false;
  return true;
}

function findIn(bucket: AttrSet | AttrSet[], b: Uint8Array, n: number): AttrSet | undefined {
  if (bucket instanceof AttrSet) return sameBytes(bucket.key, b, n) ? bucket : undefined;
  for (const s of bucket) if (sameBytes(s.key, b, n)) return s;
  return undefined;
}

export interface PoolStats {
  /** Distinct sets in the pool. */
  readonly sets: number;
  /** Sum of the sets' reference counts. */
  readonly refs: number;
  /** Shared small byte values. */
  readonly sharedBytes: number;
}

/** The interning pool. One per speaker (sets from every peer and family share it). */
export class AttrPool {
  /** By hash of the canonical encoding; a bucket holds the rare colliding sets. */
  private readonly sets = new Map<number, AttrSet | AttrSet[]>();
  private count = 0;
  private readonly small = new Map<string, Uint8Array>();
  private readonly out = new Writer(4096);
  /** For attributes the canonical encoder hands to wire's encoder. */
  private readonly w = new Writer(4096);
  private readonly scratch: PathAttribute[] = [];
  private nextId = 1;
  private readonly shareFn = (b: Uint8Array): Uint8Array => this.share(b);
  private lastAttrs: readonly PathAttribute[] | undefined;
  private lastAs4 = false;
  private last: AttrSet | undefined;
  private totalRefs = 0;

  /** Distinct attribute sets held. */
  get size(): number {
    return this.count;
  }

  stats(): PoolStats {
    return { sets: this.count, refs: this.totalRefs, sharedBytes: this.small.size };
  }

  /**
   * The shared set equal to `attrs`, with one more reference that the caller owns. `ctx`
   * is the session's codec context: only its `as4` flag matters (it says whether
   * AS4_PATH and AS4_AGGREGATOR are to be reconciled into the path, RFC 6793 §4.2.3).
   */
  intern(attrs: readonly PathAttribute[], ctx: CodecContext = AS4_CONTEXT): AttrSet {
    // The prefixes of one UPDATE share one decoded attribute list: intern it once.
    const last = this.last;
    if (
      attrs === this.lastAttrs &&
      ctx.as4 === this.lastAs4 &&
      last !== undefined &&
      last.refs > 0
    ) {
      last.refs++;
      this.totalRefs++;
      return last;
    }
    const n = this.encode(attrs, ctx);
    const buf = this.out.buf;
    const h = hashBytes(buf, n);
    const bucket = this.sets.get(h);
    let s = bucket === undefined ? undefined : findIn(bucket, buf, n);
    if (s === undefined) {
      s = new AttrSet(
        this.nextId++,
        latin1(buf.subarray(0, n)),
        this.scratch,
        buf[0] === 0,
        this.shareFn,
      );
      this.scratch.length = 0;
      s.hash = h;
      if (bucket === undefined) this.sets.set(h, s);
      else if (bucket instanceof AttrSet) this.sets.set(h, [bucket, s]);
      else bucket.push(s);
      this.count++;
    } else {
      this.scratch.length = 0;
    }
    s.refs++;
    this.totalRefs++;
    this.lastAttrs = attrs;
    this.lastAs4 = ctx.as4;
    this.last = s;
    return s;
  }

  /** The set equal to `attrs` if the pool holds one; no reference is taken. */
  lookup(attrs: readonly PathAttribute[], ctx: CodecContext = AS4_CONTEXT): AttrSet | undefined {
    const n = this.encode(attrs, ctx);
    this.scratch.length = 0;
    const bucket = this.sets.get(hashBytes(this.out.buf, n));
    return bucket === undefined ? undefined : findIn(bucket, this.out.buf, n);
  }

  /** Take one more reference to a set of this pool. */
  retain(s: AttrSet): void {
    if (s.refs <= 0) throw new Error(`AttrPool.retain: set ${s.id} was already released`);
    s.refs++;
    this.totalRefs++;
  }

  /** Drop one reference; the set leaves the pool when none is left. */
  release(s: AttrSet): void {
    if (s.refs <= 0) throw new Error(`AttrPool.release: set ${s.id} has no reference left`);
    this.totalRefs--;
    if (--s.refs > 0) return;
    const bucket = this.sets.get(s.hash);
    if (bucket === s) this.sets.delete(s.hash);
    else if (Array.isArray(bucket)) {
      const i = bucket.indexOf(s);
      if (i >= 0) bucket.splice(i, 1);
      if (bucket.length === 1) this.sets.set(s.hash, bucket[0]!);
    } else return;
    this.count--;
  }

  /** Every set held, for diagnostics (a generator: walk it in chunks). */
  *entries(): Generator<AttrSet> {
    for (const b of this.sets.values()) {
      if (b instanceof AttrSet) yield b;
      else yield* b.slice();
    }
  }

  /**
   * Normalise into `this.scratch` (sorted, MP_UNREACH dropped) and encode canonically.
   * MP_REACH is written by hand, without building a stripped copy.
   */
  private encode(attrs: readonly PathAttribute[], ctx: CodecContext): number {
    const list = this.scratch;
    list.length = 0;
    let sorted = true;
    let lastCode = -1;
    let as4Attrs = false;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      if (a.code === ATTR.MP_UNREACH_NLRI) continue;
      if (a.code < lastCode) sorted = false;
      lastCode = a.code;
      if (a.code === ATTR.AS4_PATH || a.code === ATTR.AS4_AGGREGATOR) as4Attrs = true;
      list.push(a);
    }
    if (!sorted) {
      // Stable insertion sort: lists are short and usually sorted already.
      for (let i = 1; i < list.length; i++) {
        const a = list[i]!;
        let j = i - 1;
        while (j >= 0 && list[j]!.code > a.code) {
          list[j + 1] = list[j]!;
          j--;
        }
        list[j + 1] = a;
      }
    }
    const c = this.out;
    c.reset();
    c.u8(as4Attrs && !ctx.as4 ? 1 : 0);
    for (let i = 0; i < list.length; i++) encodeCanonical(c, list[i]!, this.w);
    return c.pos;
  }

  /** A shared copy of a small byte value. */
  private share(b: Uint8Array): Uint8Array {
    if (b.length > 16) return b.slice();
    const k = latin1(b);
    let v = this.small.get(k);
    if (v === undefined) {
      v = b.slice();
      if (this.small.size < SMALL_BYTES_CAP) this.small.set(k, v);
    }
    return v;
  }
}
