// Tables keyed by (prefix, ADD-PATH path identifier) (RFC 7911 §3: with ADD-PATH a route
// is identified by prefix and path ID; without it the path ID is 0). The prefix is given
// as its slot in the speaker's PrefixIndex.
//
// - PathTable: the long-lived tables (Adj-RIB-In, Adj-RIB-Out, FIB view). A dense array
//   indexed by slot holds the path-ID-0 value itself — one word per prefix, no object
//   and no hashing. Only a prefix with another path ID gets an entry in a side Map. The
//   table holds one PrefixIndex reference per occupied slot.
// - PathStaging: changes waiting to be sent to a peer. A dense array by slot for the
//   values plus the list of slots in staging order, so a flush visits only what was
//   staged, and staging twice before a flush keeps the newer value in the first place.
//   Holds no references (see prefix-index.ts).
// - PathMap: a sparse Map by slot, for the rare path IDs other than 0.

import type { PrefixIndex } from './prefix-index.js';

export class PathTable<V extends object> {
  readonly index: PrefixIndex;
  private vals: (V | undefined)[] = [];
  /** slot → path ID → value, for path IDs other than 0. */
  private multi: Map<number, Map<number, V>> | undefined;
  private count = 0;

  constructor(index: PrefixIndex) {
    this.index = index;
  }

  /** Number of (prefix, path ID) entries. */
  get size(): number {
    return this.count;
  }

  get(slot: number, pathId: number): V | undefined {
    if (pathId === 0) return slot < this.vals.length ? this.vals[slot] : undefined;
    return this.multi?.get(slot)?.get(pathId);
  }

  /** Store a value; returns the one it replaced. */
  set(slot: number, pathId: number, value: V): V | undefined {
    if (pathId === 0) {
      const vals = this.vals;
      while (vals.length <= slot) vals.push(undefined);
      const old = vals[slot];
      vals[slot] = value;
      if (old === undefined) {
        this.count++;
        if (!this.multi?.has(slot)) this.index.ref(slot);
      }
      return old;
    }
    const m = (this.multi ??= new Map());
    let inner = m.get(slot);
    if (inner === undefined) {
      m.set(slot, (inner = new Map()));
      if (this.get(slot, 0) === undefined) this.index.ref(slot);
    }
    const old = inner.get(pathId);
    inner.set(pathId, value);
    if (old === undefined) this.count++;
    return old;
  }

  /** Remove an entry; returns what was there. */
  delete(slot: number, pathId: number): V | undefined {
    if (pathId === 0) {
      if (slot >= this.vals.length) return undefined;
      const old = this.vals[slot];
      if (old === undefined) return undefined;
      this.vals[slot] = undefined;
      this.count--;
      if (!this.multi?.has(slot)) this.index.unref(slot);
      return old;
    }
    const inner = this.multi?.get(slot);
    const old = inner?.get(pathId);
    if (old === undefined) return undefined;
    inner!.delete(pathId);
    this.count--;
    if (inner!.size === 0) {
      this.multi!.delete(slot);
      if (this.get(slot, 0) === undefined) this.index.unref(slot);
    }
    return old;
  }

  /** Every path of one prefix, as (path ID, value) pairs. */
  *paths(slot: number): Generator<[number, V]> {
    const v = this.get(slot, 0);
    if (v !== undefined) yield [0, v];
    const inner = this.multi?.get(slot);
    if (inner) yield* inner.entries();
  }

  /**
   * Every entry as (slot, path ID, value). A generator, so long walks can be done in
   * slices; entries may be deleted (not added) during the walk.
   */
  *entries(): Generator<[number, number, V]> {
    const vals = this.vals;
    for (let s = 0; s < vals.length; s++) {
      const v = vals[s];
      if (v !== undefined) yield [s, 0, v];
    }
    if (this.multi) {
      for (const [s, inner] of [...this.multi]) for (const [id, v] of [...inner]) yield [s, id, v];
    }
  }

  /** Remove everything, dropping the references. */
  clear(): void {
    const vals = this.vals;
    for (let s = 0; s < vals.length; s++) {
      if (vals[s] !== undefined && !this.multi?.has(s)) this.index.unref(s);
    }
    if (this.multi) for (const s of this.multi.keys()) this.index.unref(s);
    this.vals = [];
    this.multi = undefined;
    this.count = 0;
  }
}

/** A sparse (slot, path ID) → value map with no references (staged changes). */
export class PathMap<V> {
  private readonly map = new Map<number, V>();
  private multi: Map<number, Map<number, V>> | undefined;

  get size(): number {
    let n = this.map.size;
    if (this.multi) for (const m of this.multi.values()) n += m.size;
    return n;
  }

  get(slot: number, pathId: number): V | undefined {
    return pathId === 0 ? this.map.get(slot) : this.multi?.get(slot)?.get(pathId);
  }

  /** Store a value; returns the one it replaced. */
  set(slot: number, pathId: number, value: V): V | undefined {
    if (pathId === 0) {
      const old = this.map.get(slot);
      this.map.set(slot, value);
      return old;
    }
    const m = (this.multi ??= new Map());
    let inner = m.get(slot);
    if (inner === undefined) m.set(slot, (inner = new Map()));
    const old = inner.get(pathId);
    inner.set(pathId, value);
    return old;
  }

  delete(slot: number, pathId: number): V | undefined {
    if (pathId === 0) {
      const old = this.map.get(slot);
      if (old !== undefined) this.map.delete(slot);
      return old;
    }
    const inner = this.multi?.get(slot);
    const old = inner?.get(pathId);
    if (old === undefined) return undefined;
    inner!.delete(pathId);
    if (inner!.size === 0) this.multi!.delete(slot);
    return old;
  }

  *entries(): Generator<[number, number, V]> {
    for (const [s, v] of this.map) yield [s, 0, v];
    if (this.multi)
      for (const [s, inner] of this.multi) for (const [id, v] of inner) yield [s, id, v];
  }
}

/** Staged values by (slot, path ID) in staging order; `drain` takes them out. */
export class PathStaging<V extends object> {
  private vals: (V | undefined)[] = [];
  private order: number[] = [];
  private count = 0;
  private multi = new PathMap<V>();

  get size(): number {
    return this.count + this.multi.size;
  }

  get(slot: number, pathId: number): V | undefined {
    if (pathId !== 0) return this.multi.get(slot, pathId);
    return slot < this.vals.length ? this.vals[slot] : undefined;
  }

  /** Stage a value; returns the one it replaced. */
  set(slot: number, pathId: number, value: V): V | undefined {
    if (pathId !== 0) return this.multi.set(slot, pathId, value);
    const vals = this.vals;
    while (vals.length <= slot) vals.push(undefined);
    const old = vals[slot];
    vals[slot] = value;
    if (old === undefined) {
      this.count++;
      this.order.push(slot);
    }
    return old;
  }

  delete(slot: number, pathId: number): V | undefined {
    if (pathId !== 0) return this.multi.delete(slot, pathId);
    if (slot >= this.vals.length) return undefined;
    const old = this.vals[slot];
    if (old !== undefined) {
      this.vals[slot] = undefined;
      this.count--;
    }
    return old;
  }

  /**
   * Take out everything staged so far, oldest first. What is staged while the walk is
   * under way is not part of it when its slot was already taken (it waits for the next
   * drain), and replaces the value the walk will take when it was not.
   */
  *drain(): Generator<[number, number, V]> {
    const order = this.order;
    this.order = [];
    const vals = this.vals;
    for (let i = 0; i < order.length; i++) {
      const s = order[i]!;
      const v = vals[s];
      if (v === undefined) continue; // deleted, or a duplicate entry of the order list
      vals[s] = undefined;
      this.count--;
      yield [s, 0, v];
    }
    if (this.multi.size > 0) {
      const m = this.multi;
      this.multi = new PathMap<V>();
      yield* m.entries();
    }
  }
}
