// ExaBGP's JSON vocabulary mapped onto our decoded messages, so conformance tests can
// compare the two on neutral ground: a "view" that uses ExaBGP's key names and value
// formats and holds only what our codec decodes.
//
// Mapping (ExaBGP JSON key → our PathAttribute / field):
//   attribute.origin "igp|egp|incomplete"      → kind 'origin' (0/1/2)
//   attribute.as-path {"0": {element, value}}  → kind 'as-path' code 2 (AS4_PATH merged per
//                                                RFC 6793 §4.2.3 when the session is 2-octet);
//                                                ExaBGP omits an empty AS_PATH, so do we here
//   attribute.med                              → kind 'med'
//   attribute.local-preference                 → kind 'local-pref'
//   attribute.atomic-aggregate true            → kind 'atomic-aggregate'
//   attribute.aggregator "asn:a.b.c.d"         → kind 'aggregator' (AS4_AGGREGATOR merged)
//   attribute.community [[hi, lo]]             → kind 'communities' (32-bit values split)
//   attribute.large-community [[g, l1, l2]]    → kind 'large-communities'
//   attribute.extended-community [{value}]     → kind 'extended-communities'; `value` is the
//                                                8 octets as a big-endian 64-bit integer
//                                                (compared as decimal text, exactly)
//   attribute.originator-id "a.b.c.d"          → kind 'originator-id'
//   attribute.cluster-list ["a.b.c.d"]         → kind 'cluster-list'
//   announce."<afi> <safi>"."<next hop>"[]     → NLRI field + NEXT_HOP (IPv4 unicast) and
//                                                MP_REACH_NLRI (next hop = first 16 octets
//                                                when a link-local follows, RFC 2545 §3)
//     .nlri "p/len", .path-information "a.b.c.d" → Nlri.prefix, Nlri.pathId (RFC 7911)
//   withdraw."<afi> <safi>"[]                  → withdrawn routes + MP_UNREACH_NLRI
// Attributes we keep opaque (kind 'unknown', octets as received) and the code ExaBGP's key
// stands for are in OPAQUE_ATTRIBUTES; for those the test checks presence only (and the
// message round-trip checks the octets). Families other than IPv4/IPv6 unicast/multicast
// are opaque in our codec and left out of the view.

import { formatAddr, formatIPv4, formatPrefix } from '../../src/lib/ip.js';
import { effectiveAsPath } from '../../src/wire/as-path.js';
import type { AsPathSegment, Nlri, PathAttribute, UpdateMessage } from '../../src/wire/types.js';

export interface RouteView {
  nlri: string;
  'path-information'?: string;
}

export interface AsPathView {
  element: string;
  value: number[];
}

export interface AttrView {
  origin?: string;
  'as-path'?: AsPathView[];
  med?: number;
  'local-preference'?: number;
  'atomic-aggregate'?: boolean;
  aggregator?: string;
  community?: [number, number][];
  'large-community'?: [number, number, number][];
  'extended-community'?: string[];
  'originator-id'?: string;
  'cluster-list'?: string[];
}

export interface UpdateView {
  attribute: AttrView;
  announce: Record<string, Record<string, RouteView[]>>;
  withdraw: Record<string, RouteView[]>;
}

/** ExaBGP attribute keys for attributes our codec keeps opaque → attribute type code. */
export const OPAQUE_ATTRIBUTES: Readonly<Record<string, number>> = {
  'tunnel-encap': 23, // RFC 9012
  'extended-community-ipv6': 25, // RFC 5701
  aigp: 26, // RFC 7311
  'bgp-ls': 29, // RFC 9552
  'bgp-prefix-sid': 40, // RFC 8669
};

/** "attribute-0xCC-0xFF": an attribute ExaBGP does not know, by code and flags. */
export function genericAttributeCode(key: string): { code: number; flags: number } | undefined {
  const m = /^attribute-0x([0-9a-f]{2})-0x([0-9a-f]{2})$/i.exec(key);
  return m ? { code: parseInt(m[1]!, 16), flags: parseInt(m[2]!, 16) } : undefined;
}

const DECODED_KEYS = new Set([
  'origin',
  'as-path',
  'med',
  'local-preference',
  'atomic-aggregate',
  'aggregator',
  'community',
  'large-community',
  'extended-community',
  'originator-id',
  'cluster-list',
]);

/** Families whose NLRI our codec decodes, in ExaBGP's words. */
export const DECODED_FAMILIES = new Set([
  'ipv4 unicast',
  'ipv6 unicast',
  'ipv4 multicast',
  'ipv6 multicast',
]);

const ORIGIN_NAMES = ['igp', 'egp', 'incomplete'];
const SEGMENT_NAMES: Record<number, string> = {
  1: 'as-set',
  2: 'as-sequence',
  3: 'confed-sequence',
  4: 'confed-set',
};

export function familyName(afi: number, safi: number): string {
  const a = afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : `afi-${afi}`;
  const s = safi === 1 ? 'unicast' : safi === 2 ? 'multicast' : `safi-${safi}`;
  return `${a} ${s}`;
}

function pathIdText(id: number): string {
  return `${id >>> 24}.${(id >>> 16) & 0xff}.${(id >>> 8) & 0xff}.${id & 0xff}`;
}

function route(n: Nlri): RouteView {
  const r: RouteView = { nlri: formatPrefix(n.prefix) };
  if (n.pathId !== undefined) r['path-information'] = pathIdText(n.pathId);
  return r;
}

function nextHopText(nh: Uint8Array): string {
  if (nh.length === 32) return formatAddr(nh.subarray(0, 16));
  if (nh.length === 4 || nh.length === 16) return formatAddr(nh);
  return `0x${Buffer.from(nh).toString('hex')}`;
}

function segmentsView(segs: readonly AsPathSegment[]): AsPathView[] {
  return segs.map((s) => ({
    element: SEGMENT_NAMES[s.type] ?? `type-${s.type}`,
    value: [...s.asns],
  }));
}

function extCommunityValue(b: Uint8Array): string {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v.toString();
}

/** Our decoded UPDATE as a view in ExaBGP's vocabulary. */
export function viewOfUpdate(u: UpdateMessage, as4: boolean): UpdateView {
  const attribute: AttrView = {};
  const announce: Record<string, Record<string, RouteView[]>> = {};
  const withdraw: Record<string, RouteView[]> = {};
  const add = (fam: string, nh: string, rs: readonly Nlri[]): void => {
    if (rs.length === 0) return;
    const f = (announce[fam] ??= {});
    (f[nh] ??= []).push(...rs.map(route));
  };
  const del = (fam: string, rs: readonly Nlri[]): void => {
    if (rs.length === 0) return;
    (withdraw[fam] ??= []).push(...rs.map(route));
  };
  const { asPath, aggregator } = effectiveAsPath(u.attributes, as4);
  if (asPath.length > 0) attribute['as-path'] = segmentsView(asPath);
  if (aggregator) attribute.aggregator = `${aggregator.asn}:${formatIPv4(aggregator.address)}`;
  let nextHop: string | undefined;
  for (const a of u.attributes as readonly PathAttribute[]) {
    switch (a.kind) {
      case 'origin':
        attribute.origin = ORIGIN_NAMES[a.origin] ?? `origin-${a.origin}`;
        break;
      case 'next-hop':
        nextHop = formatIPv4(a.nextHop);
        break;
      case 'med':
        attribute.med = a.med;
        break;
      case 'local-pref':
        attribute['local-preference'] = a.localPref;
        break;
      case 'atomic-aggregate':
        attribute['atomic-aggregate'] = true;
        break;
      case 'communities':
        attribute.community = a.communities.map((c) => [c >>> 16, c & 0xffff]);
        break;
      case 'large-communities':
        attribute['large-community'] = a.communities.map((c) => [c[0], c[1], c[2]]);
        break;
      case 'extended-communities':
        attribute['extended-community'] = a.communities.map(extCommunityValue);
        break;
      case 'originator-id':
        attribute['originator-id'] = formatIPv4(a.originatorId);
        break;
      case 'cluster-list':
        attribute['cluster-list'] = a.clusterIds.map((c) => formatIPv4(c));
        break;
      case 'mp-reach':
        if (a.nlri) add(familyName(a.afi, a.safi), nextHopText(a.nextHop), a.nlri);
        break;
      case 'mp-unreach':
        if (a.withdrawn) del(familyName(a.afi, a.safi), a.withdrawn);
        break;
      default:
        break;
    }
  }
  del('ipv4 unicast', u.withdrawn);
  add('ipv4 unicast', nextHop ?? 'missing-next-hop', u.nlri);
  // Withdrawals from the NLRI field come first in ExaBGP's output only by family; the
  // order within a family is wire order, which both sides keep.
  return { attribute, announce, withdraw };
}

export interface ExpectedUpdate {
  view: UpdateView;
  /** Opaque attributes ExaBGP decoded, by type code (must be present in our decode). */
  opaque: { key: string; code: number }[];
  /** Families ExaBGP decoded that are opaque in our codec. */
  opaqueFamilies: string[];
  /** Keys we do not know how to map (the test fails on them, to keep the map complete). */
  unmapped: string[];
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** ExaBGP's JSON for one UPDATE as the view of what our codec decodes. */
export function expectedOfExaUpdate(json: unknown): ExpectedUpdate {
  const out: ExpectedUpdate = {
    view: { attribute: {}, announce: {}, withdraw: {} },
    opaque: [],
    opaqueFamilies: [],
    unmapped: [],
  };
  const msg =
    isRecord(json) && isRecord(json['neighbor']) ? json['neighbor']['message'] : undefined;
  const update = isRecord(msg) ? msg['update'] : undefined;
  if (!isRecord(update)) {
    out.unmapped.push('<no neighbor.message.update>');
    return out;
  }
  const attrs = isRecord(update['attribute']) ? update['attribute'] : {};
  const view = out.view;
  for (const [k, v] of Object.entries(attrs)) {
    if (DECODED_KEYS.has(k)) {
      if (k === 'as-path') {
        view.attribute['as-path'] = Object.keys(v as Record<string, unknown>)
          .sort((a, b) => Number(a) - Number(b))
          .map((i) => {
            const s = (v as Record<string, { element: string; value: number[] }>)[i]!;
            return { element: s.element, value: s.value.map(Number) };
          });
      } else if (k === 'extended-community') {
        view.attribute['extended-community'] = (v as { value: number | string }[]).map((e) =>
          String(e.value),
        );
      } else {
        (view.attribute as Record<string, unknown>)[k] = v;
      }
      continue;
    }
    const code = OPAQUE_ATTRIBUTES[k] ?? genericAttributeCode(k)?.code;
    if (code !== undefined) out.opaque.push({ key: k, code });
    else out.unmapped.push(`attribute.${k}`);
  }
  for (const k of Object.keys(update)) {
    if (k !== 'attribute' && k !== 'announce' && k !== 'withdraw') out.unmapped.push(`update.${k}`);
  }
  const ann = isRecord(update['announce']) ? update['announce'] : {};
  for (const [fam, byNh] of Object.entries(ann)) {
    if (!DECODED_FAMILIES.has(fam)) {
      out.opaqueFamilies.push(fam);
      continue;
    }
    const f: Record<string, RouteView[]> = (view.announce[fam] = {});
    for (const [nh, routes] of Object.entries(byNh as Record<string, RouteView[]>)) {
      f[nh] = routes.map((r) => {
        const rv: RouteView = { nlri: r.nlri };
        if (r['path-information'] !== undefined) rv['path-information'] = r['path-information'];
        return rv;
      });
    }
  }
  const wd = isRecord(update['withdraw']) ? update['withdraw'] : {};
  for (const [fam, routes] of Object.entries(wd)) {
    if (!DECODED_FAMILIES.has(fam)) {
      out.opaqueFamilies.push(fam);
      continue;
    }
    view.withdraw[fam] = (routes as RouteView[]).map((r) => {
      const rv: RouteView = { nlri: r.nlri };
      if (r['path-information'] !== undefined) rv['path-information'] = r['path-information'];
      return rv;
    });
  }
  return out;
}

/** The attribute codes present in a decoded UPDATE (opaque ones included). */
export function attributeCodes(u: UpdateMessage): Set<number> {
  return new Set(u.attributes.map((a) => a.code));
}
