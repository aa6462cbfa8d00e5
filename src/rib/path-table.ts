// A table keyed by (prefix, ADD-PATH path identifier) (RFC 7911 §3: with ADD-PATH a route
// is identified by prefix and path ID; without it the path ID is 0).
//
// The common case — one path per prefix, path ID 0 — stores the value itself in the Map:
// one Map entry per prefix and no other object. Only a prefix with another path ID gets a
// small inner Map.

import type { PrefixKey } from './prefix-key.js';

class MultiPath<V> extends Map<number, V> {}

export class PathTable<V extends object> {
  private readonly map = new Map<PrefixKey, V | MultiPath<V>>();
  private count = 0;

  /** Number of (prefix, path ID) entries. */
  get size(): number {
    return this.count;
  }

  /** Number of prefixes with at least one entry. */
  get prefixCount(): number {
    return this.map.size;
  }

  get(key: PrefixKey, pathId: number): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (v instanceof MultiPath) return v.get(pathId);
    return pathId === 0 ? v : undefined;
  }

  /** Store a value; returns the one it replaced. */
  set(key: PrefixKey, pathId: number, value: V): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      if (pathId === 0) this.map.set(key, value);
      else this.map.set(key, new MultiPath<V>([[pathId, value]]));
      this.count++;
      return undefined;
    }
    if (v instanceof MultiPath) {
      const old = v.get(pathId);
      v.set(pathId, value);
      if (old === undefined) this.count++;
      return old;
    }
    if (pathId === 0) {
      this.map.set(key, value);
      return v;
    }
    this.map.set(
      key,
      new MultiPath<V>([
        [0, v],
        [pathId, value],
      ]),
    );
    this.count++;
    return undefined;
  }

  /** Remove an entry; returns what was there. */
  delete(key: PrefixKey, pathId: number): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (v instanceof MultiPath) {
      const old = v.get(pathId);
      if (old === undefined) return undefined;
      v.delete(pathId);
      this.count--;
      if (v.size === 0) this.map.delete(key);
      else if (v.size === 1) {
        const only = v.get(0);
        if (only !== undefined) this.map.set(key, only);
      }
      return old;
    }
    if (pathId !== 0) return undefined;
    this.map.delete(key);
    this.count--;
    return v;
  }

  /** Every path of one prefix, as (path ID, value) pairs. */
  *paths(key: PrefixKey): Generator<[number, V]> {
    const v = this.map.get(key);
    if (v === undefined) return;
    if (v instanceof MultiPath) yield* v.entries();
    else yield [0, v];
  }

  /** Every entry. A generator, so long walks can be done in slices between events. */
  *entries(): Generator<[PrefixKey, number, V]> {
    for (const [key, v] of this.map) {
      if (v instanceof MultiPath) for (const [id, x] of v) yield [key, id, x];
      else yield [key, 0, v];
    }
  }

  clear(): void {
    this.map.clear();
    this.count = 0;
  }
}
