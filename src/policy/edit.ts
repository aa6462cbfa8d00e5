// Copy-on-write edits of a route's path attributes, for policy actions.
//
// - An attribute that was present keeps its flags and its place; one that was absent is
//   created with the RFC default flags (ATTR_DEFAULT_FLAGS) and inserted in canonical
//   order (ascending type code), which is also the order RFC 4271 §5 suggests senders use.
// - Community attributes are never left empty (a zero-length COMMUNITIES is malformed,
//   RFC 7606 §7.8): removing the last value removes the attribute.
// - AS_PATH prepending follows RFC 4271 §5.1.2 (see prependAsn).

import {
  AS_SEG,
  AS_TRANS,
  ATTR,
  ATTR_DEFAULT_FLAGS,
  type AsPathSegment,
  type PathAttribute,
} from '../wire/index.js';

type Attr<K extends PathAttribute['kind']> = Extract<PathAttribute, { kind: K }>;

export const defaultFlags = (code: number): number => ATTR_DEFAULT_FLAGS[code] ?? 0xc0;

/** A new array with `attr` replacing the attribute of the same code, or inserted in order. */
export function putAttribute(
  attrs: readonly PathAttribute[],
  attr: PathAttribute,
): PathAttribute[] {
  const out = attrs.slice();
  for (let i = 0; i < out.length; i++) {
    const code = out[i]!.code;
    if (code === attr.code) {
      out[i] = attr;
      return out;
    }
    if (code > attr.code) {
      out.splice(i, 0, attr);
      return out;
    }
  }
  out.push(attr);
  return out;
}

/** A new array without attributes of type `code` (the input itself if there were none). */
export function dropAttribute(
  attrs: readonly PathAttribute[],
  code: number,
): readonly PathAttribute[] {
  return attrs.some((a) => a.code === code) ? attrs.filter((a) => a.code !== code) : attrs;
}

export function findCode<K extends PathAttribute['kind']>(
  attrs: readonly PathAttribute[],
  kind: K,
  code: number,
): Attr<K> | undefined {
  for (const a of attrs) if (a.kind === kind && a.code === code) return a as Attr<K>;
  return undefined;
}

export function setLocalPref(attrs: readonly PathAttribute[], v: number): PathAttribute[] {
  const old = findCode(attrs, 'local-pref', ATTR.LOCAL_PREF);
  const flags = old?.flags ?? defaultFlags(ATTR.LOCAL_PREF);
  return putAttribute(attrs, { kind: 'local-pref', code: ATTR.LOCAL_PREF, flags, localPref: v });
}

export function setMed(attrs: readonly PathAttribute[], v: number): PathAttribute[] {
  const old = findCode(attrs, 'med', ATTR.MULTI_EXIT_DISC);
  const flags = old?.flags ?? defaultFlags(ATTR.MULTI_EXIT_DISC);
  return putAttribute(attrs, { kind: 'med', code: ATTR.MULTI_EXIT_DISC, flags, med: v });
}

export function setOrigin(attrs: readonly PathAttribute[], v: number): PathAttribute[] {
  const old = findCode(attrs, 'origin', ATTR.ORIGIN);
  const flags = old?.flags ?? defaultFlags(ATTR.ORIGIN);
  return putAttribute(attrs, { kind: 'origin', code: ATTR.ORIGIN, flags, origin: v });
}

export function setNextHopAttr(attrs: readonly PathAttribute[], nh: Uint8Array): PathAttribute[] {
  const old = findCode(attrs, 'next-hop', ATTR.NEXT_HOP);
  const flags = old?.flags ?? defaultFlags(ATTR.NEXT_HOP);
  return putAttribute(attrs, { kind: 'next-hop', code: ATTR.NEXT_HOP, flags, nextHop: nh });
}

export function setStandardCommunities(
  attrs: readonly PathAttribute[],
  values: readonly number[],
): readonly PathAttribute[] {
  if (values.length === 0) return dropAttribute(attrs, ATTR.COMMUNITIES);
  const old = findCode(attrs, 'communities', ATTR.COMMUNITIES);
  const flags = old?.flags ?? defaultFlags(ATTR.COMMUNITIES);
  return putAttribute(attrs, {
    kind: 'communities',
    code: ATTR.COMMUNITIES,
    flags,
    communities: values,
  });
}

export function setLargeCommunities(
  attrs: readonly PathAttribute[],
  values: readonly (readonly [number, number, number])[],
): readonly PathAttribute[] {
  if (values.length === 0) return dropAttribute(attrs, ATTR.LARGE_COMMUNITY);
  const old = findCode(attrs, 'large-communities', ATTR.LARGE_COMMUNITY);
  const flags = old?.flags ?? defaultFlags(ATTR.LARGE_COMMUNITY);
  return putAttribute(attrs, {
    kind: 'large-communities',
    code: ATTR.LARGE_COMMUNITY,
    flags,
    communities: values,
  });
}

export function setExtCommunities(
  attrs: readonly PathAttribute[],
  values: readonly Uint8Array[],
): readonly PathAttribute[] {
  if (values.length === 0) return dropAttribute(attrs, ATTR.EXTENDED_COMMUNITIES);
  const old = findCode(attrs, 'extended-communities', ATTR.EXTENDED_COMMUNITIES);
  const flags = old?.flags ?? defaultFlags(ATTR.EXTENDED_COMMUNITIES);
  return putAttribute(attrs, {
    kind: 'extended-communities',
    code: ATTR.EXTENDED_COMMUNITIES,
    flags,
    communities: values,
  });
}

export const MAX_SEGMENT_ASNS = 255;

const isConfed = (t: number): boolean =>
  t === AS_SEG.AS_CONFED_SEQUENCE || t === AS_SEG.AS_CONFED_SET;

/**
 * Prepend `asn` `count` times to a path (RFC 4271 §5.1.2): into the leading AS_SEQUENCE
 * while it has fewer than 255 ASNs, then into new AS_SEQUENCE segments in front of it.
 * Leading confederation segments stay in front: they describe the path inside our
 * confederation and are removed, not prepended to, when the route leaves it (RFC 5065).
 */
export function prependSegments(
  segs: readonly AsPathSegment[],
  asn: number,
  count: number,
): AsPathSegment[] {
  let i = 0;
  while (i < segs.length && isConfed(segs[i]!.type)) i++;
  const out = segs.slice(0, i);
  const rest = segs.slice(i);
  let remaining = count;
  const first = rest[0];
  if (first && first.type === AS_SEG.AS_SEQUENCE && first.asns.length < MAX_SEGMENT_ASNS) {
    const k = Math.min(remaining, MAX_SEGMENT_ASNS - first.asns.length);
    rest[0] = { type: AS_SEG.AS_SEQUENCE, asns: [...repeat(asn, k), ...first.asns] };
    remaining -= k;
  }
  // Each new segment fills up to 255 before the next one is opened in front of it.
  while (remaining > 0) {
    const k = Math.min(remaining, MAX_SEGMENT_ASNS);
    rest.unshift({ type: AS_SEG.AS_SEQUENCE, asns: repeat(asn, k) });
    remaining -= k;
  }
  return out.concat(rest);
}

function repeat(asn: number, n: number): number[] {
  return new Array<number>(n).fill(asn);
}

/**
 * Prepend to the route's AS_PATH, keeping the attribute's ASN width. In a 2-octet AS_PATH
 * an ASN above 65535 is written as AS_TRANS, and the real ASN goes into AS4_PATH (RFC 6793
 * §4.2.2), which is created from the existing path when needed. An existing AS4_PATH is
 * prepended to as well, so the two stay consistent. Without an AS_PATH a 4-octet one is
 * created.
 */
export function prependAsn(
  attrs: readonly PathAttribute[],
  asn: number,
  count: number,
): readonly PathAttribute[] {
  const asPath = findCode(attrs, 'as-path', ATTR.AS_PATH);
  if (!asPath) {
    return putAttribute(attrs, {
      kind: 'as-path',
      code: ATTR.AS_PATH,
      flags: defaultFlags(ATTR.AS_PATH),
      segments: prependSegments([], asn, count),
      asnWidth: 4,
    });
  }
  const narrow = asPath.asnWidth === 2;
  const inPath = narrow && asn > 0xffff ? AS_TRANS : asn;
  let out = putAttribute(attrs, {
    ...asPath,
    segments: prependSegments(asPath.segments, inPath, count),
  });
  if (!narrow) return out;
  const as4 = findCode(attrs, 'as-path', ATTR.AS4_PATH);
  if (as4) {
    out = putAttribute(out, { ...as4, segments: prependSegments(as4.segments, asn, count) });
  } else if (asn > 0xffff) {
    const real = asPath.segments.filter((s) => !isConfed(s.type));
    out = putAttribute(out, {
      kind: 'as-path',
      code: ATTR.AS4_PATH,
      flags: defaultFlags(ATTR.AS4_PATH),
      segments: prependSegments(real, asn, count),
      asnWidth: 4,
    });
  }
  return out;
}
