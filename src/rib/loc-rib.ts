// Loc-RIB (RFC 4271 §3.2, §9.1.2): for each prefix, the candidate routes from every peer
// (the post-policy Adj-RIBs-In) and the one selected as best.
//
// Our implementation: a Map from a compact prefix key to an array of candidates, with the
// best kept at index 0 — no per-prefix object besides the array and the routes. An update
// replaces, adds or removes one candidate and re-runs the selector over that prefix's
// candidates only (a handful), so the result always equals selection over the whole set:
// there is no incremental shortcut whose answer could depend on the order of updates,
// which matters because MED comparison is not transitive (see decision/). The selector is
// given by the caller (decision/'s selectBestRoute with the configured options), which
// keeps rib/ free of any dependency on decision/.

import type { Prefix } from '../lib/ip.js';
import type { AttrSet } from './attr-set.js';
import { prefixKey, type PrefixKey } from './prefix-key.js';
import { makeRoute, type PeerRef, type Route, type RouteMeta } from './route.js';

/**
 * Picks the best of a prefix's candidates (never empty). Must return undefined only when
 * no candidate is eligible (every next hop unreachable), and must not depend on the order
 * of `candidates`.
 */
export type BestSelector = (candidates: readonly Route[]) => Route | undefined;

export interface LocRibChange {
  /** The best route changed (another route, or the same peer's route with new attributes). */
  readonly changed: boolean;
  /** The best route after the update (undefined: no eligible route is left). */
  readonly best: Route | undefined;
  /** The best route before the update, when it changed. */
  readonly previous: Route | undefined;
}

export class LocRib {
  private readonly map = new Map<PrefixKey, Route[]>();
  private select: BestSelector;
  private routes = 0;

  constructor(select: BestSelector) {
    this.select = select;
  }

  /** Prefixes with at least one candidate. */
  get size(): number {
    return this.map.size;
  }

  /** Candidate routes over all prefixes. */
  get routeCount(): number {
    return this.routes;
  }

  /**
   * Set (attrs given) or remove (attrs undefined) the candidate of `peer` / `pathId` for a
   * prefix, and re-select. The Loc-RIB does not take pool references: its routes mirror
   * the post-policy Adj-RIBs-In, which hold them.
   */
  update(
    prefix: Prefix,
    peer: PeerRef,
    pathId: number,
    attrs: AttrSet | undefined,
    meta?: RouteMeta,
  ): LocRibChange {
    return this.updateKey(prefixKey(prefix), peer, pathId, attrs, meta);
  }

  /** `update` with a precomputed key. */
  updateKey(
    key: PrefixKey,
    peer: PeerRef,
    pathId: number,
    attrs: AttrSet | undefined,
    meta?: RouteMeta,
  ): LocRibChange {
    const arr = this.map.get(key);
    if (arr === undefined) {
      if (attrs === undefined) return unchanged(undefined);
      const r = makeRoute(peer, pathId, attrs, meta);
      this.map.set(key, [r]);
      this.routes++;
      return r.unreachable ? unchanged(undefined) : { changed: true, best: r, previous: undefined };
    }
    const first = arr[0]!;
    const prevBest = first.unreachable ? undefined : first;
    let i = 0;
    while (i < arr.length && (arr[i]!.peer !== peer || arr[i]!.pathId !== pathId)) i++;
    if (attrs === undefined) {
      if (i === arr.length) return unchanged(prevBest);
      this.routes--;
      if (arr.length === 1) {
        this.map.delete(key);
        return prevBest
          ? { changed: true, best: undefined, previous: prevBest }
          : unchanged(undefined);
      }
      arr[i] = arr[arr.length - 1]!;
      arr.pop();
    } else {
      const r = makeRoute(peer, pathId, attrs, meta);
      if (i === arr.length) {
        arr.push(r);
        this.routes++;
      } else {
        if (sameRoute(arr[i]!, r)) return unchanged(prevBest);
        arr[i] = r;
      }
    }
    const best = this.reselect(arr);
    return best === prevBest ? unchanged(best) : { changed: true, best, previous: prevBest };
  }

  /** The best route for a prefix. */
  best(key: PrefixKey): Route | undefined {
    const first = this.map.get(key)?.[0];
    return first && !first.unreachable ? first : undefined;
  }

  /** Every candidate for a prefix (best first when there is one). */
  candidates(key: PrefixKey): readonly Route[] {
    return this.map.get(key) ?? NO_ROUTES;
  }

  /** Every prefix with its best route and candidates; resumable between slices. */
  *entries(): Generator<[PrefixKey, Route | undefined, readonly Route[]]> {
    for (const [key, arr] of this.map) {
      const first = arr[0]!;
      yield [key, first.unreachable ? undefined : first, arr];
    }
  }

  /**
   * Use another selector (decision options changed) and re-select every prefix, yielding
   * the prefixes whose best changed. Resumable; prefixes not yet visited keep their old
   * best until the walk reaches them.
   */
  *setSelector(select: BestSelector): Generator<[PrefixKey, LocRibChange]> {
    this.select = select;
    yield* this.reselectAll();
  }

  /** Re-select every prefix (e.g. after IGP costs changed), yielding the changes. */
  *reselectAll(): Generator<[PrefixKey, LocRibChange]> {
    for (const [key, arr] of this.map) {
      const first = arr[0]!;
      const prevBest = first.unreachable ? undefined : first;
      const best = this.reselect(arr);
      if (best !== prevBest) yield [key, { changed: true, best, previous: prevBest }];
    }
  }

  /**
   * Remove every candidate of a peer (session down without graceful restart), yielding
   * the prefixes whose best changed. Resumable. Cheaper when the caller walks the peer's
   * Adj-RIB-In instead (AdjRibIn.drain) and calls update for each of its routes.
   */
  *removePeer(peer: PeerRef): Generator<[PrefixKey, LocRibChange]> {
    for (const [key, arr] of this.map) {
      let previous: Route | undefined;
      let changed = false;
      for (let i = arr.length - 1; i >= 0; i--) {
        const r = arr[i];
        if (r === undefined || r.peer !== peer) continue;
        const c = this.updateKey(key, peer, r.pathId, undefined);
        if (c.changed && !changed) previous = c.previous;
        changed ||= c.changed;
      }
      if (changed) {
        const best = this.best(key);
        if (best !== previous) yield [key, { changed: true, best, previous }];
      }
    }
  }

  /** Select among `arr` (non-empty) and move the best to the front. */
  private reselect(arr: Route[]): Route | undefined {
    if (arr.length === 1) {
      const only = arr[0]!;
      return only.unreachable ? undefined : only;
    }
    const best = this.select(arr);
    if (best !== undefined && arr[0] !== best) {
      const j = arr.indexOf(best);
      arr[j] = arr[0]!;
      arr[0] = best;
    }
    return best;
  }
}

const NO_ROUTES: readonly Route[] = Object.freeze([]);

function unchanged(best: Route | undefined): LocRibChange {
  return { changed: false, best, previous: undefined };
}

function sameRoute(a: Route, b: Route): boolean {
  return (
    a.attrs === b.attrs &&
    a.igpCost === b.igpCost &&
    a.unreachable === b.unreachable &&
    a.stale === b.stale &&
    a.since === b.since
  );
}
