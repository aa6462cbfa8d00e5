// Public API of the RIBs (RFC 4271 §3.2): interned attribute sets, prefix keys, routes and
// peers, Adj-RIB-In, Loc-RIB and Adj-RIB-Out.

export { AttrPool, AttrSet, type PoolStats } from './attr-set.js';
export {
  IPV4_LONG_KEY_BASE,
  ipv4Key,
  ipv4KeyAddr,
  ipv4KeyLen,
  ipv6Key,
  keyAfi,
  keyToPrefix,
  prefixKey,
  type PrefixKey,
  writeKeyNlri,
} from './prefix-key.js';
export {
  compareAddresses,
  compareRouteIdentity,
  makeRoute,
  type PeerRef,
  type Route,
  type RouteMeta,
} from './route.js';
export { PathMap, PathTable } from './path-table.js';
export { PrefixIndex } from './prefix-index.js';
export { AdjRibIn, type AdjRibInOptions, type RemovedRoute } from './adj-rib-in.js';
export { LocRib, type BestSelector, type LocRibChange } from './loc-rib.js';
export { AdjRibOut, OUT_CHANGE, type OutChange, type OutUpdate } from './adj-rib-out.js';
