// AS_PATH (RFC 4271 §4.3, §5.1.2), AS4_PATH and AS4_AGGREGATOR reconciliation (RFC 6793
// §4.2.3), confederation segments (RFC 5065 §3), and the malformation rules of RFC 7606
// §7.2 (AS_PATH) and RFC 6793 §6 (AS4_PATH).
//
//   path segment:
//   +-----------------+-----------------+------------------------------+
//   | segment type (1)| segment len (1) | len × ASN (2 or 4 octets)    |
//   +-----------------+-----------------+------------------------------+

import type { Reader, Writer } from '../lib/bytes.js';
import { AS_SEG, AS_TRANS } from './constants.js';
import type { AsPathSegment, PathAttribute } from './types.js';

/**
 * Decode AS_PATH segments from the rest of `r`, ASNs `width` octets wide. Returns a
 * reason string when the path is malformed (RFC 7606 §7.2: unknown segment type, a zero
 * segment length, a segment overrunning the attribute, or a lone trailing octet).
 */
export function decodeAsPathSegments(r: Reader, width: 2 | 4): AsPathSegment[] | string {
  const buf = r.buf;
  const end = r.end;
  let p = r.pos;
  const segs: AsPathSegment[] = [];
  while (p < end) {
    if (p + 2 > end) return 'a single octet remains after the last segment';
    const type = buf[p]!;
    const count = buf[p + 1]!;
    p += 2;
    if (type < AS_SEG.AS_SET || type > AS_SEG.AS_CONFED_SET) return `unknown segment type ${type}`;
    if (count === 0) return 'segment of length zero';
    if (p + count * width > end) {
      return `segment of ${count} ASN(s) overruns the attribute by ${p + count * width - end} octet(s)`;
    }
    const asns = new Array<number>(count);
    if (width === 4) {
      for (let i = 0; i < count; i++, p += 4) {
        asns[i] = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      }
    } else {
      for (let i = 0; i < count; i++, p += 2) asns[i] = (buf[p]! << 8) | buf[p + 1]!;
    }
    segs.push({ type, asns });
  }
  r.pos = p;
  return segs;
}

/**
 * Encode segments with ASNs `width` octets wide. Segments longer than 255 ASNs are split
 * (RFC 4271 §5.1.2 allows only 255 per segment). With width 2, ASNs above 65535 are
 * written as AS_TRANS (RFC 6793 §4.2.2); producing the matching AS4_PATH is the caller's.
 */
export function encodeAsPathSegments(
  w: Writer,
  segs: readonly AsPathSegment[],
  width: 2 | 4,
): void {
  for (const s of segs) {
    const asns = s.asns;
    for (let off = 0; off < asns.length || off === 0; off += 255) {
      const n = Math.min(255, asns.length - off);
      w.u8(s.type).u8(n);
      for (let i = off; i < off + n; i++) {
        const a = asns[i]!;
        if (width === 4) w.u32(a);
        else w.u16(a > 0xffff ? AS_TRANS : a);
      }
      if (asns.length === 0) break;
    }
  }
}

/** Octets taken by `encodeAsPathSegments`. */
export function asPathSegmentsLength(segs: readonly AsPathSegment[], width: 2 | 4): number {
  let n = 0;
  for (const s of segs) {
    const chunks = Math.max(1, Math.ceil(s.asns.length / 255));
    n += 2 * chunks + width * s.asns.length;
  }
  return n;
}

/**
 * AS path length for the decision process (RFC 4271 §9.1.2.2 a): an AS_SET counts as 1,
 * an AS_SEQUENCE as its number of ASNs, confederation segments as 0 (RFC 5065 §5.3).
 */
export function asPathLength(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === AS_SEG.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AS_SEG.AS_SET) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuild the real path of a route received from a 2-octet speaker.
 * If AS4_PATH is longer than AS_PATH (path-length terms, confederation segments excluded)
 * it is ignored; otherwise the result is the leading part of AS_PATH (enough ASNs to make
 * up the difference) followed by AS4_PATH. Confederation segments in AS4_PATH are ignored
 * (RFC 6793 §6: they must not be there).
 */
export function reconcileAsPath(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[] | undefined,
): readonly AsPathSegment[] {
  if (!as4Path) return asPath;
  const as4 = as4Path.filter((s) => s.type === AS_SEG.AS_SEQUENCE || s.type === AS_SEG.AS_SET);
  const len2 = asPathLength(asPath);
  const len4 = asPathLength(as4);
  if (len4 > len2) return asPath;
  // Take len2 - len4 path-length units from the front of AS_PATH; confederation segments
  // at the front are kept whole (they count 0 and precede the real path).
  let need = len2 - len4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (s.type === AS_SEG.AS_CONFED_SEQUENCE || s.type === AS_SEG.AS_CONFED_SET) {
      out.push(s); // counts 0; kept where it stands in the leading part
      continue;
    }
    if (need === 0) break;
    if (s.type === AS_SEG.AS_SEQUENCE && s.asns.length > need) {
      out.push({ type: s.type, asns: s.asns.slice(0, need) });
      need = 0;
    } else {
      out.push(s);
      need -= s.type === AS_SEG.AS_SET ? 1 : s.asns.length;
    }
  }
  // Merge a trailing AS_SEQUENCE of the leading part with a leading AS_SEQUENCE of
  // AS4_PATH, so the result has the segment structure a 4-octet speaker would have sent.
  const last = out[out.length - 1];
  const first = as4[0];
  if (last && first && last.type === AS_SEG.AS_SEQUENCE && first.type === AS_SEG.AS_SEQUENCE) {
    out[out.length - 1] = { type: AS_SEG.AS_SEQUENCE, asns: [...last.asns, ...first.asns] };
    for (let i = 1; i < as4.length; i++) out.push(as4[i]!);
  } else {
    for (const s of as4) out.push(s);
  }
  return out;
}

type Aggregator = Extract<PathAttribute, { kind: 'aggregator' }>;

/**
 * RFC 6793 §4.2.3: AS4_AGGREGATOR replaces AGGREGATOR only when AGGREGATOR's ASN is
 * AS_TRANS; otherwise AS4_AGGREGATOR (and, per the RFC, AS4_PATH) are ignored.
 * Returns the aggregator to use and whether the AS4_* attributes are to be ignored.
 */
export function reconcileAggregator(
  aggregator: Aggregator | undefined,
  as4Aggregator: Aggregator | undefined,
): { aggregator: Aggregator | undefined; ignoreAs4: boolean } {
  // Without AGGREGATOR an AS4_AGGREGATOR has nothing to correct and is ignored.
  if (!aggregator) return { aggregator: undefined, ignoreAs4: false };
  if (!as4Aggregator) return { aggregator, ignoreAs4: false };
  if (aggregator.asn !== AS_TRANS) return { aggregator, ignoreAs4: true };
  return {
    aggregator: {
      ...aggregator,
      asn: as4Aggregator.asn,
      address: as4Aggregator.address,
      asnWidth: 4,
    },
    ignoreAs4: false,
  };
}

/**
 * The route's real AS path and aggregator from its attributes (RFC 6793 §4.2.3), for a
 * session without 4-octet AS. With ctx.as4 the AS4_* attributes should not appear and
 * are ignored (RFC 6793 §4.1).
 */
export function effectiveAsPath(
  attrs: readonly PathAttribute[],
  as4: boolean,
): { asPath: readonly AsPathSegment[]; aggregator: Aggregator | undefined } {
  let asPath: readonly AsPathSegment[] = [];
  let as4Path: readonly AsPathSegment[] | undefined;
  let agg: Aggregator | undefined;
  let agg4: Aggregator | undefined;
  for (const a of attrs) {
    if (a.kind === 'as-path') {
      if (a.code === 2) asPath = a.segments;
      else as4Path = a.segments;
    } else if (a.kind === 'aggregator') {
      if (a.code === 7) agg = a;
      else agg4 = a;
    }
  }
  if (as4) return { asPath, aggregator: agg };
  const r = reconcileAggregator(agg, agg4);
  return {
    asPath: r.ignoreAs4 ? asPath : reconcileAsPath(asPath, as4Path),
    aggregator: r.aggregator,
  };
}
