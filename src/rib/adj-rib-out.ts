// Adj-RIB-Out (RFC 4271 §3.2, §9.2): per peer, the routes we advertised to it, keyed by
// (prefix, ADD-PATH path ID), and the differences still to send.
//
// Our implementation: export results are staged (the desired state per route), then
// `flush` compares each staged route with what was advertised and yields UPDATE-sized
// groups: withdrawals, then announcements grouped by attribute set (one set is one
// UPDATE's attributes, RFC 4271 §4.3). A route changed several times before a flush is
// sent once, in its last state; a route that returns to what was advertised is not sent
// at all (RFC 4271 §9.2: only changes are advertised). Flushing is a generator working in
// slices, so a full-table dump never blocks the event loop. Held sets are retained.
// Prefixes are slots of the speaker's PrefixIndex; staged changes hold no slot reference
// (a slot freed and reused before the flush is flushed for its new prefix, whose state
// was staged last — see prefix-index.ts).

import type { AttrPool, AttrSet } from './attr-set.js';
import { PathStaging, PathTable } from './path-table.js';
import type { PrefixIndex } from './prefix-index.js';
import type { PrefixKey } from './prefix-key.js';
import type { PeerRef } from './route.js';

/** Result of `apply`: what to tell the peer about one route. */
export const OUT_CHANGE = { NONE: 0, ANNOUNCE: 1, WITHDRAW: 2 } as const;
export type OutChange = (typeof OUT_CHANGE)[keyof typeof OUT_CHANGE];

/** Routes for one UPDATE (or several, if the caller splits by message size). */
export type OutUpdate =
  | {
      readonly kind: 'announce';
      readonly attrs: AttrSet;
      readonly keys: readonly PrefixKey[];
      readonly pathIds: readonly number[];
    }
  | {
      readonly kind: 'withdraw';
      readonly keys: readonly PrefixKey[];
      readonly pathIds: readonly number[];
    };

/** Staged withdrawal marker. */
const WITHDRAW = { withdraw: true } as const;
type Staged = AttrSet | typeof WITHDRAW;

export class AdjRibOut {
  readonly peer: PeerRef;
  private readonly pool: AttrPool;
  private readonly advertised: PathTable<AttrSet>;
  private staged = new PathStaging<Staged>();

  constructor(peer: PeerRef, pool: AttrPool, index: PrefixIndex) {
    this.peer = peer;
    this.pool = pool;
    this.advertised = new PathTable<AttrSet>(index);
  }

  /** Routes advertised. */
  get size(): number {
    return this.advertised.size;
  }

  /** Routes staged and not yet flushed. */
  get pendingCount(): number {
    return this.staged.size;
  }

  /** What we advertised for a route. */
  get(slot: number, pathId = 0): AttrSet | undefined {
    return this.advertised.get(slot, pathId);
  }

  /** Stage the desired state of a route (undefined: not advertised). */
  stage(slot: number, pathId: number, attrs: AttrSet | undefined): void {
    if (attrs) this.pool.retain(attrs);
    const old = this.staged.set(slot, pathId, attrs ?? WITHDRAW);
    if (old && old !== WITHDRAW) this.pool.release(old as AttrSet);
  }

  /**
   * Record at once that a route is now advertised as `attrs` (undefined: withdrawn) and
   * say what must be sent. For callers that build UPDATEs themselves; a staged change for
   * the same route is dropped.
   */
  apply(slot: number, pathId: number, attrs: AttrSet | undefined): OutChange {
    const st = this.staged.delete(slot, pathId);
    if (st && st !== WITHDRAW) this.pool.release(st as AttrSet);
    return this.commit(slot, pathId, attrs);
  }

  /**
   * Send what changed: yields withdrawals and announcements (grouped by attribute set) for
   * up to `slice` staged routes at a time, and records them as advertised.
   */
  *flush(slice = 16384): Generator<OutUpdate> {
    const index = this.advertised.index;
    let wKeys: PrefixKey[] = [];
    let wIds: number[] = [];
    let groups = new Map<AttrSet, { keys: PrefixKey[]; pathIds: number[] }>();
    let n = 0;
    while (this.staged.size > 0) {
      for (const [slot, pathId, st] of this.staged.drain()) {
        const attrs = st === WITHDRAW ? undefined : (st as AttrSet);
        const key = index.keyOf(slot); // before commit: a withdrawal may free the slot
        const change = this.commit(slot, pathId, attrs);
        if (attrs) this.pool.release(attrs);
        if (change === OUT_CHANGE.WITHDRAW) {
          wKeys.push(key);
          wIds.push(pathId);
        } else if (change === OUT_CHANGE.ANNOUNCE && attrs) {
          let g = groups.get(attrs);
          if (!g) groups.set(attrs, (g = { keys: [], pathIds: [] }));
          g.keys.push(key);
          g.pathIds.push(pathId);
        }
        if (++n >= slice) {
          yield* emit(wKeys, wIds, groups);
          wKeys = [];
          wIds = [];
          groups = new Map();
          n = 0;
        }
      }
      // What was staged during the walk comes in the next round, after this one is sent
      // (a withdrawal of one round must not overtake an announcement of the one before).
      yield* emit(wKeys, wIds, groups);
      wKeys = [];
      wIds = [];
      groups = new Map();
      n = 0;
    }
  }

  /**
   * Everything advertised, grouped by attribute set in slices (route refresh, RFC 2918;
   * or export to a new owner of the session). Advertised state is not changed.
   */
  *dump(slice = 16384): Generator<OutUpdate> {
    let groups = new Map<AttrSet, { keys: PrefixKey[]; pathIds: number[] }>();
    let n = 0;
    for (const [slot, pathId, attrs] of this.advertised.entries()) {
      let g = groups.get(attrs);
      if (!g) groups.set(attrs, (g = { keys: [], pathIds: [] }));
      g.keys.push(this.advertised.index.keyOf(slot));
      g.pathIds.push(pathId);
      if (++n >= slice) {
        yield* emit([], [], groups);
        groups = new Map();
        n = 0;
      }
    }
    yield* emit([], [], groups);
  }

  /** Forget everything (session down), releasing the sets held. */
  clear(): void {
    for (const [, , s] of this.advertised.entries()) this.pool.release(s);
    for (const [, , s] of this.staged.drain()) if (s !== WITHDRAW) this.pool.release(s as AttrSet);
    this.advertised.clear();
  }

  private commit(slot: number, pathId: number, attrs: AttrSet | undefined): OutChange {
    if (attrs === undefined) {
      const old = this.advertised.delete(slot, pathId);
      if (!old) return OUT_CHANGE.NONE;
      this.pool.release(old);
      return OUT_CHANGE.WITHDRAW;
    }
    this.pool.retain(attrs);
    const old = this.advertised.set(slot, pathId, attrs);
    if (old) this.pool.release(old);
    return old === attrs ? OUT_CHANGE.NONE : OUT_CHANGE.ANNOUNCE;
  }
}

function* emit(
  wKeys: PrefixKey[],
  wIds: number[],
  groups: Map<AttrSet, { keys: PrefixKey[]; pathIds: number[] }>,
): Generator<OutUpdate> {
  if (wKeys.length > 0) yield { kind: 'withdraw', keys: wKeys, pathIds: wIds };
  for (const [attrs, g] of groups) {
    yield { kind: 'announce', attrs, keys: g.keys, pathIds: g.pathIds };
  }
}
