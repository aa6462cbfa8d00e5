// Helpers for the RIB and decision tests: attribute lists by field, peers, routes, and
// fast-check arbitraries that make ties likely at every decision step.

import fc from 'fast-check';
import {
  AS_SEG,
  ATTR,
  ATTR_DEFAULT_FLAGS,
  type AsPathSegment,
  type PathAttribute,
} from '../wire/index.js';
import { AttrPool } from './attr-set.js';
import { PrefixIndex } from './prefix-index.js';
import { makeRoute, type PeerRef, type Route, type RouteMeta } from './route.js';

export interface AttrSpec {
  readonly origin?: number;
  /** AS_SEQUENCE of these ASNs, or explicit segments. */
  readonly path?: readonly number[] | readonly AsPathSegment[];
  readonly nextHop?: readonly [number, number, number, number];
  readonly med?: number;
  readonly localPref?: number;
  readonly communities?: readonly number[];
  readonly originatorId?: number;
  readonly clusterIds?: readonly number[];
}

const flags = (code: number): number => ATTR_DEFAULT_FLAGS[code]!;
const u32 = (n: number): Uint8Array =>
  new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

/** Attributes in type-code order, with the RFC default flags. */
export function attrs(spec: AttrSpec): PathAttribute[] {
  const out: PathAttribute[] = [];
  out.push({ kind: 'origin', code: 1, flags: flags(ATTR.ORIGIN), origin: spec.origin ?? 0 });
  const p = spec.path ?? [];
  const segments: readonly AsPathSegment[] =
    p.length > 0 && typeof p[0] === 'number'
      ? [{ type: AS_SEG.AS_SEQUENCE, asns: p as readonly number[] }]
      : (p as readonly AsPathSegment[]);
  out.push({ kind: 'as-path', code: 2, flags: flags(ATTR.AS_PATH), segments, asnWidth: 4 });
  out.push({
    kind: 'next-hop',
    code: 3,
    flags: flags(ATTR.NEXT_HOP),
    nextHop: new Uint8Array(spec.nextHop ?? [198, 18, 0, 1]),
  });
  if (spec.med !== undefined) {
    out.push({ kind: 'med', code: 4, flags: flags(ATTR.MULTI_EXIT_DISC), med: spec.med });
  }
  if (spec.localPref !== undefined) {
    out.push({
      kind: 'local-pref',
      code: 5,
      flags: flags(ATTR.LOCAL_PREF),
      localPref: spec.localPref,
    });
  }
  if (spec.communities !== undefined) {
    out.push({
      kind: 'communities',
      code: 8,
      flags: flags(ATTR.COMMUNITIES),
      communities: spec.communities,
    });
  }
  if (spec.originatorId !== undefined) {
    out.push({
      kind: 'originator-id',
      code: 9,
      flags: flags(ATTR.ORIGINATOR_ID),
      originatorId: u32(spec.originatorId),
    });
  }
  if (spec.clusterIds !== undefined) {
    out.push({
      kind: 'cluster-list',
      code: 10,
      flags: flags(ATTR.CLUSTER_LIST),
      clusterIds: spec.clusterIds.map(u32),
    });
  }
  return out;
}

let nextPeerId = 1;

/** A peer; address 198.18.0.<n> unless given, router ID 10.0.0.<n>. */
export function peer(p: Partial<PeerRef> & { n?: number } = {}): PeerRef {
  const n = p.n ?? nextPeerId;
  return {
    id: p.id ?? nextPeerId++,
    address: p.address ?? new Uint8Array([198, 18, 0, n & 0xff]),
    asn: p.asn ?? 65000 + n,
    localAsn: p.localAsn ?? 65000,
    routerId: p.routerId ?? ((10 << 24) | n) >>> 0,
    ibgp: p.ibgp ?? false,
    rrClient: p.rrClient ?? false,
  };
}

/** A shared pool for test routes (sets are never released). */
export const testPool = new AttrPool();

export function route(
  from: PeerRef,
  spec: AttrSpec,
  meta?: RouteMeta & { pathId?: number },
): Route {
  return makeRoute(from, meta?.pathId ?? 0, testPool.intern(attrs(spec)), meta);
}

// ---------------------------------------------------------------------------------------
// Arbitraries. Small value ranges, so that random routes tie often and every step of the
// decision process gets exercised.

/** A fixed cast of peers: eBGP and iBGP, two sharing an address, IPv4 and IPv6. */
export const PEERS: readonly PeerRef[] = [
  peer({ id: 1001, n: 1, ibgp: false, routerId: 0x0a000001 }),
  peer({ id: 1002, n: 2, ibgp: false, routerId: 0x0a000001 }),
  peer({ id: 1003, n: 3, ibgp: true, routerId: 0x0a000002 }),
  peer({ id: 1004, n: 4, ibgp: true, routerId: 0x0a000002 }),
  peer({ id: 1005, n: 4, ibgp: true, routerId: 0x0a000003 }), // same address as 1004
  peer({
    id: 1006,
    ibgp: false,
    routerId: 0x0a000003,
    address: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  }),
];

const segmentArb: fc.Arbitrary<AsPathSegment> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.constantFrom(1, 2, 3), { minLength: 1, maxLength: 3 })
      .map((asns) => ({ type: AS_SEG.AS_SEQUENCE, asns })),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(1, 2, 3), { minLength: 1, maxLength: 2 })
      .map((asns) => ({ type: AS_SEG.AS_SET, asns })),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(7, 8), { minLength: 1, maxLength: 2 })
      .map((asns) => ({ type: AS_SEG.AS_CONFED_SEQUENCE, asns })),
  },
);

export const attrSpecArb: fc.Arbitrary<AttrSpec> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2),
    path: fc.array(segmentArb, { maxLength: 2 }),
    med: fc.constantFrom(0, 10, 20),
    localPref: fc.constantFrom(100, 200),
    originatorId: fc.constantFrom(0x0a000001, 0x0a000002),
    // An empty CLUSTER_LIST is malformed (RFC 7606 §7.10) and never reaches a set.
    clusterIds: fc.array(fc.constantFrom(1, 2), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: ['origin', 'path'] },
);

export interface RouteSpec {
  readonly peer: PeerRef;
  readonly pathId: number;
  readonly spec: AttrSpec;
  readonly igpCost: number;
  readonly unreachable: boolean;
  readonly since: number;
}

export const routeSpecArb: fc.Arbitrary<RouteSpec> = fc.record({
  peer: fc.constantFrom(...PEERS),
  pathId: fc.constantFrom(0, 1, 2),
  spec: attrSpecArb,
  igpCost: fc.constantFrom(0, 1, 5),
  unreachable: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
  since: fc.constantFrom(0, 1, 2),
});

export function toRoute(s: RouteSpec): Route {
  return route(s.peer, s.spec, {
    pathId: s.pathId,
    igpCost: s.igpCost,
    unreachable: s.unreachable,
    since: s.since,
  });
}

export const routeArb: fc.Arbitrary<Route> = routeSpecArb.map(toRoute);

/** Candidates of one prefix: distinct (peer, path ID). */
export function routeSetArb(maxLength: number): fc.Arbitrary<Route[]> {
  return fc
    .uniqueArray(routeSpecArb, {
      minLength: 1,
      maxLength,
      selector: (s) => `${s.peer.id}/${s.pathId}`,
    })
    .map((a) => a.map(toRoute));
}

/** Every permutation of a short list. */
export function* permutations<T>(xs: readonly T[]): Generator<T[]> {
  if (xs.length <= 1) {
    yield xs.slice();
    return;
  }
  for (let i = 0; i < xs.length; i++) {
    const rest = xs.slice(0, i).concat(xs.slice(i + 1));
    for (const p of permutations(rest)) yield [xs[i]!, ...p];
  }
}

/**
 * A prefix index in which slot k stands for the (IPv4) prefix key k, for k < n: a fresh
 * index hands out slots in order. Lets table tests use small numbers as both.
 */
export function slotsForKeys(n: number): PrefixIndex {
  const index = new PrefixIndex();
  for (let k = 0; k < n; k++) if (index.slot(k) !== k) throw new Error('slots out of order');
  return index;
}
