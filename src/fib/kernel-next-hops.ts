// Next-hop resolution against the kernel's routing table (RFC 4271 §9.1.2.1): a BGP next
// hop is reachable when a route other than our own BGP routes covers it — a connected
// subnet, a static route or one an IGP installed. The default route does not count (as in
// FRR and BIRD by default: a default route would make every next hop look reachable). The
// IGP cost is the covering route's metric. Our own routes (RTPROT_NONSTOP) never resolve a
// next hop: resolving BGP through BGP could loop.
//
// The table is read with an rtnetlink dump and kept as an in-memory LPM table; `refresh()`
// reads it again and says whether anything that matters changed, so the caller can ask the
// route engine to re-resolve.

import { AFI, type Afi } from '../lib/ip.js';
import type { FibRoute } from './fib.js';
import { MemoryFib } from './memory-fib.js';
import { RTPROT_NONSTOP } from './netlink-fib.js';

/** What the resolver needs of the kernel: a route dump of one table. */
export interface KernelRouteSource {
  listKernel(afi?: Afi, filter?: { table?: number; protocol?: number }): Promise<FibRoute[]>;
}

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
      for (const r of await this.source.listKernel(afi, { table: this.kernelTable })) {
        if (r.proto === this.ownProtocol || r.prefix.len === 0) continue;
        routes.push(r);
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
