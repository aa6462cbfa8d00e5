// Loc-RIB (RFC 4271 §3.2, §9.1.2): for each prefix, the candidate routes from every peer
// (the post-policy Adj-RIBs-In) and the one selected as best.
//
// Our implementation: an array indexed by the prefix's slot in the speaker's PrefixIndex
// (prefix-index.ts) holding the prefix's only candidate route itself, or, with several
// candidates, an array of them with the best kept at index 0 — no per-prefix object
// besides the routes in the common case of one path per prefix. Routes are immutable and
// shared between prefixes whenever peer, path ID, attribute set and next-hop facts are the
// same (the prefixes of one UPDATE): identity comparisons stay exact within a prefix,
// where no two candidates have the same peer and path ID. An update
// replaces, adds or removes one candidate and re-runs the selector over that prefix's
// candidates only (a handful), so the result always equals selection over the whole set:
// there is no incremental shortcut whose answer could depend on the order of updates,
// which matters because MED comparison is not transitive (see decision/). The selector is
// given by the caller (decision/'s selectBestRoute with the configured options), which
// keeps rib/ free of any dependency on decision/.

import type { Prefix } from '../lib/ip.js';
import type { AttrSet } from './attr-set.js';
import { PrefixIndex } from './prefix-index.js';
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

type Entry = Route | Route[] | undefined;

export class LocRib {
  readonly index: PrefixIndex;
  private entriesBySlot: Entry[] = [];
  private select: BestSelector;
  private prefixes = 0;
  private routes = 0;

  constructor(select: BestSelector, index = new PrefixIndex()) {
    this.select = select;
    this.index = index;
  }

  /** Prefixes with at least one candidate. */
  get size(): number {
    return this.prefixes;
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
    const slot = this.index.slot(key);
    const previous = this.bestAt(slot);
    const changed = this.updateSlot(slot, peer, pathId, attrs, meta);
    this.index.collect(slot);
    const best = this.bestAt(slot);
    return changed ? { changed, best, previous } : { changed, best, previous: undefined };
  }

  /**
   * `update` for a prefix given by its slot; returns whether the best route changed. The
   * hot path: no object besides the route itself is made.
   */
  updateSlot(
    slot: number,
    peer: PeerRef,
    pathId: number,
    attrs: AttrSet | undefined,
    meta?: RouteMeta,
  ): boolean {
    const all = this.entriesBySlot;
    const e = slot < all.length ? all[slot] : undefined;
    if (e === undefined) {
      if (attrs === undefined) return false;
      const r = sharedRoute(peer, pathId, attrs, meta);
      while (all.length <= slot) all.push(undefined);
      all[slot] = r;
      this.index.ref(slot);
      this.prefixes++;
      this.routes++;
      return !r.unreachable;
    }
    if (!Array.isArray(e)) {
      // One candidate.
      const prevBest = e.unreachable ? undefined : e;
      if (e.peer === peer && e.pathId === pathId) {
        if (attrs === undefined) {
          all[slot] = undefined;
          this.prefixes--;
          this.routes--;
          this.index.unref(slot);
          return prevBest !== undefined;
        }
        const r = sharedRoute(peer, pathId, attrs, meta);
        if (sameRoute(e, r)) return false;
        all[slot] = r;
        return prevBest !== undefined || !r.unreachable;
      }
      if (attrs === undefined) return false;
      const arr = [e, sharedRoute(peer, pathId, attrs, meta)];
      all[slot] = arr;
      this.routes++;
      return this.reselect(arr) !== prevBest;
    }
    const arr = e;
    const first = arr[0]!;
    const prevBest = first.unreachable ? undefined : first;
    let i = 0;
    while (i < arr.length && (arr[i]!.peer !== peer || arr[i]!.pathId !== pathId)) i++;
    if (attrs === undefined) {
      if (i === arr.length) return false;
      this.routes--;
      arr[i] = arr[arr.length - 1]!;
      arr.pop();
    } else {
      const r = sharedRoute(peer, pathId, attrs, meta);
      if (i === arr.length) {
        arr.push(r);
        this.routes++;
      } else {
        if (sameRoute(arr[i]!, r)) return false;
        arr[i] = r;
      }
    }
    const best = this.reselect(arr);
    if (arr.length === 1) all[slot] = arr[0]; // back to the one-candidate form
    return best !== prevBest;
  }

  /** The best route for a prefix given by its key. */
  best(key: PrefixKey): Route | undefined {
    const slot = this.index.find(key);
    return slot < 0 ? undefined : this.bestAt(slot);
  }

  /** The best route for a prefix given by its slot. */
  bestAt(slot: number): Route | undefined {
    const e = slot < this.entriesBySlot.length ? this.entriesBySlot[slot] : undefined;
    if (e === undefined) return undefined;
    const first = Array.isArray(e) ? e[0]! : e;
    return first.unreachable ? undefined : first;
  }

  /** Every candidate for a prefix given by its key (best first when there is one). */
  candidates(key: PrefixKey): readonly Route[] {
    const slot = this.index.find(key);
    return slot < 0 ? NO_ROUTES : this.candidatesAt(slot);
  }

  /** Every candidate for a prefix given by its slot (best first when there is one). */
  candidatesAt(slot: number): readonly Route[] {
    const e = slot < this.entriesBySlot.length ? this.entriesBySlot[slot] : undefined;
    if (e === undefined) return NO_ROUTES;
    return Array.isArray(e) ? e : [e];
  }

  /** Every prefix, by slot, with its best route and candidates; resumable between slices. */
  *slots(): Generator<[number, Route | undefined, readonly Route[]]> {
    const all = this.entriesBySlot;
    for (let s = 0; s < all.length; s++) {
      const e = all[s];
      if (e === undefined) continue;
      const arr = Array.isArray(e) ? e : [e];
      yield [s, arr[0]!.unreachable ? undefined : arr[0], arr];
    }
  }

  /** Every prefix with its best route and candidates; resumable between slices. */
  *entries(): Generator<[PrefixKey, Route | undefined, readonly Route[]]> {
    for (const [s, best, arr] of this.slots()) yield [this.index.keyOf(s), best, arr];
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
    const all = this.entriesBySlot;
    for (let s = 0; s < all.length; s++) {
      const e = all[s];
      if (!Array.isArray(e)) continue; // one candidate: nothing to choose
      const first = e[0]!;
      const prevBest = first.unreachable ? undefined : first;
      const best = this.reselect(e);
      if (best !== prevBest)
        yield [this.index.keyOf(s), { changed: true, best, previous: prevBest }];
    }
  }

  /**
   * Remove every candidate of a peer (session down without graceful restart), yielding
   * the prefixes whose best changed. Resumable. Cheaper when the caller walks the peer's
   * Adj-RIB-In instead (AdjRibIn.drain) and calls update for each of its routes.
   */
  *removePeer(peer: PeerRef): Generator<[PrefixKey, LocRibChange]> {
    const all = this.entriesBySlot;
    for (let s = 0; s < all.length; s++) {
      const e = all[s];
      if (e === undefined) continue;
      const mine = (Array.isArray(e) ? e : [e]).filter((r) => r.peer === peer);
      if (mine.length === 0) continue;
      const key = this.index.keyOf(s);
      const previous = this.bestAt(s);
      this.index.ref(s); // keep the slot (and its key) while its last routes go
      let changed = false;
      for (const r of mine) changed = this.updateSlot(s, peer, r.pathId, undefined) || changed;
      const best = this.bestAt(s);
      this.index.unref(s);
      if (changed && best !== previous) yield [key, { changed: true, best, previous }];
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

/** A route equal to makeRoute(...)'s, reusing the one last made with the same set. */
function sharedRoute(peer: PeerRef, pathId: number, attrs: AttrSet, meta?: RouteMeta): Route {
  const r = attrs.lastRoute as Route | undefined;
  if (
    r !== undefined &&
    r.peer === peer &&
    r.pathId === pathId &&
    r.igpCost === (meta?.igpCost ?? 0) &&
    r.unreachable === (meta?.unreachable ?? false) &&
    r.stale === (meta?.stale ?? false) &&
    r.since === (meta?.since ?? 0)
  )
    return r;
  return (attrs.lastRoute = makeRoute(peer, pathId, attrs, meta));
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
