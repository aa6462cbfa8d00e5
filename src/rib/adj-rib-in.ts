// Adj-RIB-In (RFC 4271 §3.2, §9.1): the routes one peer advertised to us, before import
// policy (optional, the "soft reconfiguration inbound" copy) and after it (the routes
// that feed the decision process), keyed by (prefix, ADD-PATH path ID). Graceful restart
// (RFC 4724 §4.2): when the peer restarts, its routes are marked stale and kept; each
// one it sends again is fresh; at End-of-RIB (or when the restart timer fires) the routes
// still stale are swept. Enhanced route refresh (RFC 7313 §4): at a Beginning-of-RIB-
// Refresh the routes of one family are marked stale, at End-of-RIB-Refresh the ones not
// sent again are swept (markStale / sweepStale with a slot filter).
//
// Our implementation: one AdjRibIn per peer and address family (End-of-RIB and the
// stale timer are per family). Marking stale is O(1): the current tables become the stale
// tables and new, empty tables take their place; a route sent again moves back. Sweeping
// is a generator, so the caller can withdraw a million stale routes from the Loc-RIB in
// slices. Marking stale again before a sweep (a second restart) merges the fresh routes
// into the stale tables in one pass over the smaller of the two.
//
// The tables hold references to the pool's sets (retain on store, release on removal).
// Prefixes are given as their slot in the speaker's PrefixIndex (prefix-index.ts).

import type { AttrPool, AttrSet } from './attr-set.js';
import { PathTable } from './path-table.js';
import type { PrefixIndex } from './prefix-index.js';
import type { PeerRef } from './route.js';

export interface AdjRibInOptions {
  /** Keep the pre-policy routes too (for re-running import policy without a refresh). */
  readonly keepPrePolicy?: boolean;
}

/** One route removed from the post-policy view (sweep or drain). */
export interface RemovedRoute {
  readonly slot: number;
  readonly pathId: number;
  readonly attrs: AttrSet;
}

export class AdjRibIn {
  readonly peer: PeerRef;
  private readonly pool: AttrPool;
  private readonly index: PrefixIndex;
  private pre: PathTable<AttrSet> | undefined;
  private post: PathTable<AttrSet>;
  private stalePre: PathTable<AttrSet> | undefined;
  private stalePost: PathTable<AttrSet> | undefined;

  constructor(peer: PeerRef, pool: AttrPool, index: PrefixIndex, opts?: AdjRibInOptions) {
    this.peer = peer;
    this.pool = pool;
    this.index = index;
    this.post = new PathTable<AttrSet>(index);
    if (opts?.keepPrePolicy) this.pre = new PathTable<AttrSet>(index);
  }

  /** Post-policy routes held (fresh and stale). */
  get size(): number {
    return this.post.size + (this.stalePost?.size ?? 0);
  }

  /** Post-policy routes still marked stale. */
  get staleCount(): number {
    return this.stalePost?.size ?? 0;
  }

  /**
   * Store an announcement: `pre` as received (kept only with keepPrePolicy) and `post`
   * after import policy, undefined when policy rejected it. Returns the post-policy set
   * the route had before (fresh or stale), if any. The tables take their own references.
   */
  announce(
    slot: number,
    pathId: number,
    pre: AttrSet,
    post: AttrSet | undefined,
  ): AttrSet | undefined {
    // Take the new references before dropping old ones: the new set may be the old one,
    // and the slot must not be freed between removing a stale route and storing it again.
    this.index.ref(slot);
    if (this.pre) this.pool.retain(pre);
    if (post) this.pool.retain(post);
    let previous = this.unstale(slot, pathId);
    if (this.pre) {
      const old = this.pre.set(slot, pathId, pre);
      if (old) this.pool.release(old);
    }
    const old = post ? this.post.set(slot, pathId, post) : this.post.delete(slot, pathId);
    if (old) {
      previous = old;
      this.pool.release(old);
    }
    this.index.unref(slot);
    return previous;
  }

  /** Remove a route (withdrawn by the peer); returns its post-policy set, if it had one. */
  withdraw(slot: number, pathId: number): AttrSet | undefined {
    let previous = this.unstale(slot, pathId);
    const oldPre = this.pre?.delete(slot, pathId);
    if (oldPre) this.pool.release(oldPre);
    const old = this.post.delete(slot, pathId);
    if (old) {
      previous = old;
      this.pool.release(old);
    }
    return previous;
  }

  /** The post-policy set of a route (fresh or stale). */
  get(slot: number, pathId = 0): AttrSet | undefined {
    return this.post.get(slot, pathId) ?? this.stalePost?.get(slot, pathId);
  }

  /** The pre-policy set of a route (only with keepPrePolicy). */
  getPrePolicy(slot: number, pathId = 0): AttrSet | undefined {
    return this.pre?.get(slot, pathId) ?? this.stalePre?.get(slot, pathId);
  }

  isStale(slot: number, pathId = 0): boolean {
    if (this.post.get(slot, pathId) !== undefined) return false;
    return this.stalePost?.get(slot, pathId) !== undefined;
  }

  /** RFC 4724 §4.2: the peer restarted; keep its routes, marked stale. */
  markAllStale(): void {
    if (!this.stalePost) {
      this.stalePost = this.post;
      this.stalePre = this.pre;
      this.post = new PathTable<AttrSet>(this.index);
      if (this.pre) this.pre = new PathTable<AttrSet>(this.index);
      return;
    }
    this.stalePost = mergeInto(this.post, this.stalePost);
    this.post = new PathTable<AttrSet>(this.index);
    if (this.pre && this.stalePre) {
      this.stalePre = mergeInto(this.pre, this.stalePre);
      this.pre = new PathTable<AttrSet>(this.index);
    }
  }

  /**
   * Marks the routes whose slot `match`es stale (one family's, at an RFC 7313 BoRR). Unlike
   * markAllStale this walks the tables: O(routes held).
   */
  markStale(match: (slot: number) => boolean): void {
    this.stalePost = moveMatching(this.post, this.stalePost, match, this.index);
    if (this.pre) this.stalePre = moveMatching(this.pre, this.stalePre, match, this.index);
  }

  /**
   * Remove every route still stale (End-of-RIB received, or the stale timer fired), or
   * only those whose slot `match`es (one family's).
   * Yields each removed post-policy route so the caller can withdraw it from the Loc-RIB;
   * stop and resume at will (removal happens as the walk advances).
   */
  *sweepStale(match?: (slot: number) => boolean): Generator<RemovedRoute> {
    if (match) {
      yield* this.sweepMatching(match);
      return;
    }
    const stalePre = this.stalePre;
    if (stalePre) for (const [slot, id, s] of stalePre.entries()) this.dropStalePre(slot, id, s);
    const stale = this.stalePost;
    if (stale) {
      for (const [slot, pathId, attrs] of stale.entries()) {
        stale.delete(slot, pathId);
        yield { slot, pathId, attrs };
        this.pool.release(attrs);
      }
    }
    this.stalePost = undefined;
    this.stalePre = undefined;
  }

  /**
   * Remove every route (session down without graceful restart), yielding each removed
   * post-policy route; like sweepStale, resumable.
   */
  *drain(): Generator<RemovedRoute> {
    yield* this.sweepStale();
    if (this.pre) {
      for (const [, , s] of this.pre.entries()) this.pool.release(s);
      this.pre.clear();
    }
    const post = this.post;
    for (const [slot, pathId, attrs] of post.entries()) {
      post.delete(slot, pathId);
      yield { slot, pathId, attrs };
      this.pool.release(attrs);
    }
  }

  /** Every post-policy route, fresh and stale: (slot, path ID, set, stale). */
  *entries(): Generator<[number, number, AttrSet, boolean]> {
    for (const [k, id, s] of this.post.entries()) yield [k, id, s, false];
    if (this.stalePost) for (const [k, id, s] of this.stalePost.entries()) yield [k, id, s, true];
  }

  /** Every pre-policy route (only with keepPrePolicy). */
  *prePolicyEntries(): Generator<[number, number, AttrSet]> {
    if (this.pre) yield* this.pre.entries();
    if (this.stalePre) yield* this.stalePre.entries();
  }

  private *sweepMatching(match: (slot: number) => boolean): Generator<RemovedRoute> {
    const stalePre = this.stalePre;
    if (stalePre) {
      for (const [slot, id, s] of stalePre.entries())
        if (match(slot)) this.dropStalePre(slot, id, s);
    }
    const stale = this.stalePost;
    if (!stale) return;
    for (const [slot, pathId, attrs] of stale.entries()) {
      if (!match(slot)) continue;
      stale.delete(slot, pathId);
      yield { slot, pathId, attrs };
      this.pool.release(attrs);
    }
    // (A pre-policy route the import policy rejected is stale with no post-policy twin.)
    if (stale.size === 0 && (this.stalePre?.size ?? 0) === 0) {
      this.stalePost = undefined;
      this.stalePre = undefined;
    }
  }

  /** Take a route out of the stale tables; returns its stale post-policy set. */
  private unstale(slot: number, pathId: number): AttrSet | undefined {
    if (!this.stalePost) return undefined;
    const sp = this.stalePre?.delete(slot, pathId);
    if (sp) this.pool.release(sp);
    const s = this.stalePost.delete(slot, pathId);
    if (s) this.pool.release(s);
    return s;
  }

  private dropStalePre(slot: number, pathId: number, s: AttrSet): void {
    this.stalePre?.delete(slot, pathId);
    this.pool.release(s);
  }
}

/**
 * Moves the entries of `from` whose slot matches into `to` (created when absent; a route
 * is never in both); returns `to`. Set before delete: the slot must keep a reference.
 */
function moveMatching(
  from: PathTable<AttrSet>,
  to: PathTable<AttrSet> | undefined,
  match: (slot: number) => boolean,
  index: PrefixIndex,
): PathTable<AttrSet> {
  const into = to ?? new PathTable<AttrSet>(index);
  for (const [slot, id, s] of from.entries()) {
    if (!match(slot)) continue;
    into.set(slot, id, s);
    from.delete(slot, id);
  }
  return into;
}

/** Merge two tables with no slot in common; returns the merged (larger) one. */
function mergeInto(a: PathTable<AttrSet>, b: PathTable<AttrSet>): PathTable<AttrSet> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const [k, id, s] of small.entries()) large.set(k, id, s);
  small.clear(); // the pool references moved to `large`; the slot references are its own
  return large;
}
