// Next-hop resolution against the kernel's routing table (RFC 4271 §9.1.2.1): a BGP next
// hop is reachable when a route other than our own BGP routes covers it — a connected
// subnet, a static route or one an IGP installed. The default route does not count (as in
// FRR and BIRD by default: a default route would make every next hop look reachable). The
// IGP cost is the covering route's metric. Our own routes (RTPROT_NONSTOP) never resolve a
// next hop: resolving BGP through BGP could loop.
//
// The table is read with rtnetlink dumps and kept as an in-memory LPM table; `refresh()`
// reads it again and says whether anything that matters changed, so the caller can ask the
// route engine to re-resolve. The kernel is asked for the routes of each protocol that can
// resolve a next hop (RESOLVING_PROTOCOLS: connected, boot, static, router advertisements,
// DHCP, the IGP daemons), never for a dump of the whole table: with a full BGP table
// installed, that would copy our own million routes to user space on every refresh
// (~5 s of CPU for 1M routes), where a dump filtered by protocol costs the kernel one walk
// of its table (~75 ms for 1M routes) and copies only the few routes that matter.

import { AFI, type Afi } from '../lib/ip.js';
import type { FibRoute } from './fib.js';
import { MemoryFib } from './memory-fib.js';
import { RTPROT_NONSTOP } from './netlink-fib.js';

/** What the resolver needs of the kernel: a route dump of one table. */
export interface KernelRouteSource {
  listKernel(afi?: Afi, filter?: { table?: number; protocol?: number }): Promise<FibRoute[]>;
}

/**
 * rtm_protocol values whose routes resolve next hops (Linux rtnetlink.h and iproute2's
 * rt_protos): kernel (connected) 2, boot 3, static 4, ra 9, zebra 11, bird 12, dhcp 16,
 * babel 42, bgp 186 (another BGP daemon's routes, as before), isis 187, ospf 188, rip 189,
 * eigrp 192.
 */
export const RESOLVING_PROTOCOLS: readonly number[] = [
  2, 3, 4, 9, 11, 12, 16, 42, 186, 187, 188, 189, 192,
];

export class KernelNextHops {
  private table = new MemoryFib();
  private fingerprint = '';

  constructor(
    private readonly source: KernelRouteSource,
    private readonly kernelTable = 254,
    private readonly ownProtocol = RTPROT_NONSTOP,
  ) {}

  /** Reads the table again; true when the routes that resolve next hops changed. */
  async refresh(): Promise<boolean> {
    const routes: FibRoute[] = [];
    for (const afi of [AFI.IPv4, AFI.IPv6] as const) {
      for (const protocol of RESOLVING_PROTOCOLS) {
        if (protocol === this.ownProtocol) continue;
        const got = await this.source.listKernel(afi, { table: this.kernelTable, protocol });
        for (const r of got) {
          if (r.proto === this.ownProtocol || r.prefix.len === 0) continue;
          routes.push(r);
        }
      }
    }
    const fp = routes
      .map((r) => `${Buffer.from(r.prefix.addr).toString('hex')}/${r.prefix.len}:${r.metric ?? 0}`)
      .sort()
      .join(',');
    if (fp === this.fingerprint) return false;
    const t = new MemoryFib();
    for (const r of routes) t.put(r);
    this.table = t;
    this.fingerprint = fp;
    return true;
  }

  resolve(nextHop: Uint8Array): { reachable: boolean; igpCost: number } {
    const r = this.table.lookup(nextHop);
    return r ? { reachable: true, igpCost: r.metric ?? 0 } : { reachable: false, igpCost: 0 };
  }
}
