// `static`: routes this speaker originates. The next hop must be of the prefix's family
// (an IPv6 route cannot be reached through an IPv4 next hop, RFC 4760 §3 next hop of the
// route's AFI); `self` lets each session put our own address there.

import { AFI, formatPrefix } from '../../lib/ip.js';
import { listOf, MapView, scalar, type Reader, type Slot } from './reader.js';
import type { StaticRoute } from './schema.js';
import { address, addressOf, community, int, largeCommunity, prefix, U32 } from './values.js';

const KEYS = ['prefix', 'next-hop', 'communities', 'large-communities', 'local-pref', 'med'];

export function readStatic(r: Reader, root: MapView): StaticRoute[] {
  const routes = root.get('static', [], listOf('routes ({ prefix, next-hop, … })', readRoute));
  // The same prefix twice would be two originations of one route, and neither is obviously
  // the one meant: refuse.
  const seen = new Map<string, string>();
  const out: StaticRoute[] = [];
  for (const { route, slot } of routes) {
    const text = formatPrefix(route.prefix);
    const first = seen.get(text);
    if (first !== undefined) {
      r.error(
        slot.at,
        `${slot.path}.prefix`,
        `duplicate static route ${text} (already at ${first})`,
      );
      continue;
    }
    seen.set(text, slot.path);
    out.push(route);
  }
  return out;
}

function readRoute(r: Reader, s: Slot): { route: StaticRoute; slot: Slot } | undefined {
  const m = MapView.open(r, s, KEYS);
  if (!m) return undefined;
  const p = m.req('prefix', 'a prefix like 198.18.100.0/24', prefix);
  let nextHop: StaticRoute['nextHop'] = 'self';
  const nh = m.slot('next-hop');
  if (nh.value !== null && scalar(nh.value) !== 'self') {
    let a: Uint8Array | undefined;
    if (p) {
      const v6 = p.afi === AFI.IPv6;
      const why = `the prefix ${formatPrefix(p)} is ${v6 ? 'IPv6' : 'IPv4'}`;
      a = addressOf(v6 ? 16 : 4, why)(r, nh);
    } else a = address(r, nh);
    if (a) nextHop = a;
  }
  const communities = m.get('communities', [], listOf('communities like 65001:100', community));
  const large = m.get(
    'large-communities',
    [],
    listOf('large communities like 65001:1:2', largeCommunity),
  );
  const localPref = m.opt('local-pref', int(0, U32));
  const med = m.opt('med', int(0, U32));
  if (!p) return undefined;
  const route: StaticRoute = {
    prefix: p,
    nextHop,
    communities,
    largeCommunities: large,
    ...(localPref !== undefined && { localPref }),
    ...(med !== undefined && { med }),
  };
  return { route, slot: s };
}
