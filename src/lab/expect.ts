// Waits and lookups shared by lab experiments and interop tests: a daemon's sessions all
// Established, and the best route a daemon holds for a prefix.

import { waitFor } from '../net/wait.js';
import type { Daemon, Family, NeighborView, RouteView } from './daemons/types.js';

/** The route a daemon selected as best for `prefix`, if it has one. */
export async function bestRoute(
  d: Daemon,
  family: Family,
  prefix: string,
): Promise<RouteView | undefined> {
  return (await d.routes(family)).find((r) => r.prefix === prefix && r.best);
}

/** Waits until the daemon reports exactly `n` sessions, all Established. */
export function established(d: Daemon, n: number, timeoutMs = 30_000): Promise<NeighborView[]> {
  return waitFor(() => d.neighbors(), {
    what: `${d.spec.name}: ${n} sessions Established`,
    until: (ns) => ns.length === n && ns.every((x) => x.state === 'established'),
    timeoutMs,
    context: () => d.logs().slice(-3000),
  });
}
