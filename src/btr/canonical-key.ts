// Vote keys for routes (BTR paper §4.1: the hypervisor keeps state per (prefix, neighbour);
// with ADD-PATH, RFC 7911 §3, per path identifier too). The update voter of a neighbour
// keys its votes by (AFI, SAFI, prefix, path id); the FIB voter by (AFI, prefix).
//
// Keys are compact, as the voter holds a million of them (STYLE.md §6):
// - IPv4 unicast without a path id is a number: rib/'s prefix key (rib/prefix-key.ts), so
//       a /24 or shorter is a small integer.
// - everything else is a short string of 16-bit code units:
//       AFI, SAFI, path id (high, low), prefix length, then the significant 16-bit words
//       of the address.
// Numbers and strings never collide, and the string layout is fixed up to the address
// words, whose count follows from the length, so distinct routes have distinct keys.

import { AFI, formatAddr, type Afi, type Prefix } from '../lib/ip.js';
import { ipv4Key, keyToPrefix } from '../rib/index.js';
import type { VoteKey } from './voter.js';

const SAFI_UNICAST = 1;

/** What a key stands for. */
export interface KeyedRoute {
  readonly afi: Afi;
  readonly safi: number;
  readonly prefix: Prefix;
  /** ADD-PATH path identifier; 0 without ADD-PATH. */
  readonly pathId: number;
}

/** The vote key of a route: family, prefix (host bits zero) and ADD-PATH path id. */
export function routeKey(afi: number, safi: number, prefix: Prefix, pathId = 0): VoteKey {
  const a = prefix.addr;
  const len = prefix.len;
  if (afi === AFI.IPv4 && safi === SAFI_UNICAST && pathId === 0) {
    return ipv4Key(((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0, len);
  }
  let s = String.fromCharCode(afi, safi, pathId >>> 16, pathId & 0xffff, len);
  const words = (len + 15) >>> 4;
  for (let i = 0; i < words; i++) s += String.fromCharCode((a[2 * i]! << 8) | (a[2 * i + 1] ?? 0));
  return s;
}

/** The FIB voter's key of a prefix (its family's unicast table, no path id). */
export function fibKey(prefix: Prefix): VoteKey {
  return routeKey(prefix.afi, SAFI_UNICAST, prefix, 0);
}

/** The route a key stands for (inverse of `routeKey`). */
export function keyRoute(key: VoteKey): KeyedRoute {
  if (typeof key === 'number') {
    return { afi: AFI.IPv4, safi: SAFI_UNICAST, prefix: keyToPrefix(key), pathId: 0 };
  }
  const afi = key.charCodeAt(0) === AFI.IPv6 ? AFI.IPv6 : AFI.IPv4;
  const safi = key.charCodeAt(1);
  const pathId = ((key.charCodeAt(2) << 16) | key.charCodeAt(3)) >>> 0;
  const len = key.charCodeAt(4);
  const addr = new Uint8Array(afi === AFI.IPv4 ? 4 : 16);
  for (let i = 5; i < key.length; i++) {
    const w = key.charCodeAt(i);
    addr[2 * (i - 5)] = w >>> 8;
    addr[2 * (i - 5) + 1] = w & 0xff;
  }
  return { afi, safi, prefix: { afi, addr, len }, pathId };
}

/** `198.18.0.0/24`, `2001:db8::/32 safi 2`, `198.18.0.0/24 path-id 7` — for status and logs. */
export function describeKey(key: VoteKey): string {
  const r = keyRoute(key);
  let s = formatAddr(r.prefix.addr) + '/' + r.prefix.len;
  if (r.safi !== SAFI_UNICAST) s += ` safi ${r.safi}`;
  if (r.pathId !== 0) s += ` path-id ${r.pathId}`;
  return s;
}
