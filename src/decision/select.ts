// Best-path selection over a prefix's candidates (RFC 4271 §9.1.2), built on compare.ts.
//
// The difficulty: MED is compared only between routes from the same neighbour AS, so the
// pairwise comparison is not transitive. Three routes can beat one another in a circle:
//   A (AS 1, MED 10, IGP cost 5)  beats  B (AS 1, MED 20, IGP cost 1)  on MED,
//   B beats C (AS 2, IGP cost 3) on IGP cost, and C beats A on IGP cost.
// A router that folds the comparison over its candidates in arrival order therefore picks
// a best that depends on the order routes arrived — which two replicas of a bug-tolerant
// router, or a router before and after a restart, do not share. Our selection never
// depends on the order of the candidates:
//
// - deterministicMed (the default): group the eligible candidates by neighbour AS, keep
//   each group's winner (within a group MED always counts, so the comparison is a
//   lexicographic order on precomputed keys: transitive), then take the best of the
//   winners (no two winners share a neighbour AS, so MED never counts between them:
//   transitive again). This is exactly the RFC's own elimination procedure of
//   §9.1.2.2 (a)–(g): a route survives step (c) iff it has the lowest MED among the
//   survivors of its neighbour AS, and the later steps are lexicographic. The tests check
//   the two against each other.
// - deterministicMed off: fold the comparison over the eligible candidates sorted by
//   identity (peer address, peer id, path ID) — the "compare in list order" behaviour of
//   routers without deterministic MED, but with a list order that is a function of the
//   set, not of history. It can differ from the grouped result only when MEDs form a
//   cycle as above.
// - alwaysCompareMed: the comparison is a total order; both modes give the same best.
//
// Routes whose next hop is unreachable are not eligible (§9.1.2.1): if no candidate is
// eligible there is no best.

import type { Route } from '../rib/route.js';
import { compareRouteIdentity } from '../rib/route.js';
import { formatAddr } from '../lib/ip.js';
import {
  compare,
  compareFast,
  resolveOptions,
  type DecisionOptions,
  type ResolvedOptions,
} from './compare.js';

/** The best eligible route (hot path: no allocation, no explanation). */
export function selectBestRoute(routes: readonly Route[], o: ResolvedOptions): Route | undefined {
  if (o.deterministicMed || o.alwaysCompareMed) return selectGrouped(routes, o);
  return selectInIdentityOrder(routes, o).best;
}

/** A BestSelector for LocRib, bound to options. */
export function bestSelector(
  opts?: DecisionOptions,
): (routes: readonly Route[]) => Route | undefined {
  const o = resolveOptions(opts);
  return (routes) => selectBestRoute(routes, o);
}

function selectGrouped(routes: readonly Route[], o: ResolvedOptions): Route | undefined {
  let best: Route | undefined;
  const n = routes.length;
  for (let i = 0; i < n; i++) {
    const r = routes[i]!;
    if (r.unreachable) continue;
    // With alwaysCompareMed every route is in one group and the fold below is enough.
    const g = r.attrs.neighbourAs;
    if (!o.alwaysCompareMed && g >= 0) {
      let winner = true;
      for (let j = 0; j < n; j++) {
        const s = routes[j]!;
        if (j !== i && !s.unreachable && s.attrs.neighbourAs === g && compareFast(s, r, o) < 0) {
          winner = false;
          break;
        }
      }
      if (!winner) continue;
    }
    if (best === undefined || compareFast(r, best, o) < 0) best = r;
  }
  return best;
}

const scratch: Route[] = [];

/** Fold over the eligible routes sorted by identity; also the last route the best beat. */
function selectInIdentityOrder(
  routes: readonly Route[],
  o: ResolvedOptions,
): { best: Route | undefined; beaten: Route | undefined } {
  const list = scratch;
  list.length = 0;
  for (const r of routes) {
    if (r.unreachable) continue;
    let j = list.length;
    list.push(r);
    while (j > 0 && compareRouteIdentity(list[j - 1]!, r) > 0) {
      list[j] = list[j - 1]!;
      j--;
    }
    list[j] = r;
  }
  let best: Route | undefined;
  let beaten: Route | undefined;
  for (const r of list) {
    if (best === undefined) best = r;
    else if (compareFast(r, best, o) < 0) {
      beaten = best;
      best = r;
    } else beaten = r;
  }
  list.length = 0;
  return { best, beaten };
}

export interface Selection {
  readonly best: Route | undefined;
  /** Why: the best against the route it beat last (its runner-up), in words. */
  readonly reason: string;
}

/** Select the best route and say why (for logs and the API; LocRib uses selectBestRoute). */
export function selectBest(routes: readonly Route[], opts?: DecisionOptions): Selection {
  const o = resolveOptions(opts);
  const eligible = routes.filter((r) => !r.unreachable);
  const skipped =
    eligible.length < routes.length
      ? ` (${routes.length - eligible.length} candidate(s) ignored: next hop unreachable)`
      : '';
  if (eligible.length === 0) {
    return { best: undefined, reason: `no eligible candidate${skipped}` };
  }
  let best: Route | undefined;
  let other: Route | undefined;
  if (o.deterministicMed || o.alwaysCompareMed) {
    best = selectGrouped(eligible, o);
    other = selectGrouped(
      eligible.filter((r) => r !== best),
      o,
    );
  } else {
    ({ best, beaten: other } = selectInIdentityOrder(eligible, o));
  }
  if (best === undefined) return { best, reason: `no eligible candidate${skipped}` };
  if (other === undefined) return { best, reason: `only eligible candidate${skipped}` };
  const c = compare(best, other, o);
  return {
    best,
    reason: `${describe(best)} preferred over ${describe(other)}: ${c.reason}${skipped}`,
  };
}

function describe(r: Route): string {
  const path = r.pathId !== 0 ? ` path ${r.pathId}` : '';
  return `${formatAddr(r.peer.address)} (AS ${r.peer.asn})${path}`;
}
