// Routes and the peers they come from: the values the RIBs (RFC 4271 §3.2) hold and the
// decision process (RFC 4271 §9.1, decision/) compares. Shared by rib/ and decision/;
// decision/ imports this module, rib/ never imports decision/ (a LocRib is given its
// best-path selector as a function).

import type { AttrSet } from './attr-set.js';

/** What the decision process needs to know about a peer. Created once per session. */
export interface PeerRef {
  /** Unique per speaker; the last tie-break between two peers with the same address. */
  readonly id: number;
  /** The peer's transport address (4 or 16 octets): RFC 4271 §9.1.2.2 (g). */
  readonly address: Uint8Array;
  /** The peer's AS. */
  readonly asn: number;
  /** Our AS on this session. */
  readonly localAsn: number;
  /** BGP Identifier from the peer's OPEN, as an unsigned 32-bit number. */
  readonly routerId: number;
  /**
   * Internal peer (same AS, or a confederation member: RFC 5065 §5.3 treats
   * confederation-external routes as internal for step (d)).
   */
  readonly ibgp: boolean;
  /** Route-reflector client (RFC 4456 §6). */
  readonly rrClient: boolean;
}

/** Facts about a route that come from outside its attributes. */
export interface RouteMeta {
  /** IGP cost to the resolved next hop (RFC 4271 §9.1.2.2 (e)); 0 when not resolved by IGP. */
  readonly igpCost?: number;
  /** The next hop did not resolve: the route is not eligible (RFC 4271 §9.1.2.1). */
  readonly unreachable?: boolean;
  /** Kept across a peer restart, awaiting refresh (RFC 4724 §4.2). Not used to decide. */
  readonly stale?: boolean;
  /**
   * Arrival order (a counter or an injected-clock time; smaller is older). Only used with
   * the `preferOlder` option (RFC 5004), which is off by default.
   */
  readonly since?: number;
}

/** A candidate route for one prefix in the Loc-RIB. Immutable: a change makes a new one. */
export interface Route {
  readonly peer: PeerRef;
  /** ADD-PATH path identifier (RFC 7911); 0 without ADD-PATH. */
  readonly pathId: number;
  readonly attrs: AttrSet;
  readonly igpCost: number;
  readonly unreachable: boolean;
  readonly stale: boolean;
  readonly since: number;
}

/**
 * A route with every field present (one hidden class for V8, so the decision process's
 * property reads stay monomorphic).
 */
export function makeRoute(peer: PeerRef, pathId: number, attrs: AttrSet, meta?: RouteMeta): Route {
  return {
    peer,
    pathId,
    attrs,
    igpCost: meta?.igpCost ?? 0,
    unreachable: meta?.unreachable ?? false,
    stale: meta?.stale ?? false,
    since: meta?.since ?? 0,
  };
}

/** Total order on addresses: shorter (IPv4) first, then octet by octet. */
export function compareAddresses(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Order routes by identity (peer address, peer id, path id), independent of arrival. */
export function compareRouteIdentity(a: Route, b: Route): number {
  if (a.peer !== b.peer) {
    const d = compareAddresses(a.peer.address, b.peer.address);
    if (d !== 0) return d;
    if (a.peer.id !== b.peer.id) return a.peer.id - b.peer.id;
  }
  return a.pathId - b.pathId;
}
