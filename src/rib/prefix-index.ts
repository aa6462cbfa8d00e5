// The prefix index: one small integer ("slot") per prefix known to a speaker, shared by
// all of its tables (every Adj-RIB-In, the Loc-RIB, every Adj-RIB-Out, the FIB view).
//
// Why: a full table is a million prefixes, and a route passes through four or five tables
// on its way from one peer to another. Keyed by prefix, each of them is a hash table of a
// million entries — a hash lookup with a cache miss per table per prefix, and 30–40 octets
// of hash-table entry per prefix per table. With the index there is one hash lookup per
// prefix (prefix key → slot, on arrival) and every table is a dense array indexed by slot:
// one word per prefix per table and no hashing.
//
// IPv4 keys (numbers, prefix-key.ts) are looked up in an open-addressing hash table of
// typed arrays (linear probing, deletion by backward shift): no heap object per prefix and
// nothing for the garbage collector to trace. IPv6 keys (short strings) use a Map.
//
// Slots are reference-counted by the tables: a table takes a reference when a slot becomes
// occupied in it and drops it when the slot is empty again. A slot no table holds is
// freed at once and its number reused for the next new prefix. Transient lists of slots
// (prefixes to re-export, changes staged for a peer) do not hold references; they only
// mean "look at this slot again", which stays correct when the slot now stands for
// another prefix, because every table answers for the slot's current prefix.

import type { PrefixKey } from './prefix-key.js';

export class PrefixIndex {
  private readonly v4 = new NumberSlots();
  private readonly v6 = new Map<string, number>();
  private keys: PrefixKey[] = [];
  private refs = new Uint32Array(1024);
  private readonly free: number[] = [];

  /** Prefixes with a slot. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** One more than the highest slot ever handed out (the length tables grow to). */
  get capacity(): number {
    return this.keys.length;
  }

  /**
   * The slot of a prefix, created if it has none. A new slot has no references: the
   * caller must store something at it, or call `collect` if it ends up storing nothing.
   */
  slot(key: PrefixKey): number {
    const s = typeof key === 'number' ? this.v4.get(key) : (this.v6.get(key) ?? -1);
    if (s >= 0) return s;
    let n: number;
    if (this.free.length > 0) {
      n = this.free.pop()!;
      this.keys[n] = key;
    } else {
      n = this.keys.length;
      this.keys.push(key);
      if (n >= this.refs.length) {
        const next = new Uint32Array(this.refs.length * 2);
        next.set(this.refs);
        this.refs = next;
      }
    }
    if (typeof key === 'number') this.v4.set(key, n);
    else this.v6.set(key, n);
    return n;
  }

  /** The slot of a prefix, or -1 when no table holds it. */
  find(key: PrefixKey): number {
    return typeof key === 'number' ? this.v4.get(key) : (this.v6.get(key) ?? -1);
  }

  /** The prefix a slot stands for now. */
  keyOf(slot: number): PrefixKey {
    return this.keys[slot]!;
  }

  /** A table stored something at `slot`. */
  ref(slot: number): void {
    this.refs[slot]!++;
  }

  /** A table no longer holds anything at `slot`; frees it when no table does. */
  unref(slot: number): void {
    if (--this.refs[slot]! === 0) this.release(slot);
  }

  /** Frees `slot` if no table holds it (after `slot()` when nothing was stored). */
  collect(slot: number): void {
    if (this.refs[slot] === 0 && this.find(this.keys[slot]!) === slot) this.release(slot);
  }

  /** References held on a slot (tests, invariant checks). */
  refCount(slot: number): number {
    return this.refs[slot] ?? 0;
  }

  private release(slot: number): void {
    const key = this.keys[slot]!;
    if (typeof key === 'number') this.v4.delete(key);
    else this.v6.delete(key);
    this.free.push(slot);
  }
}

const EMPTY = -1;
const SMALL = 2 ** 31;

/**
 * Non-negative integer keys below 2^53 → non-negative int32 values. Keys below 2^31 (every
 * IPv4 prefix up to /24, nearly all of a table) live in one Int32Array of (key, value)
 * pairs — open addressing, linear probing, load factor at most 1/2, deletion by shifting
 * the following entries back instead of leaving tombstones, so lookups never slow down
 * with churn; a probe reads key and value from one cache line. Larger keys (/25–/32) are
 * few and go to a Map.
 */
export class NumberSlots {
  private table: Int32Array;
  private mask: number;
  private small = 0;
  private readonly large = new Map<number, number>();

  constructor(capacity = 1 << 12) {
    this.table = new Int32Array(capacity * 2).fill(EMPTY);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.small + this.large.size;
  }

  /** The value of `key`, or -1. */
  get(key: number): number {
    if (key >= SMALL) return this.large.get(key) ?? -1;
    const t = this.table;
    const mask = this.mask;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const k = t[2 * i]!;
      if (k === key) return t[2 * i + 1]!;
      if (k === EMPTY) return -1;
    }
  }

  set(key: number, value: number): void {
    if (key >= SMALL) {
      this.large.set(key, value);
      return;
    }
    if ((this.small + 1) * 2 > this.mask + 1) this.grow();
    const t = this.table;
    const mask = this.mask;
    let i = hash(key) & mask;
    while (t[2 * i] !== EMPTY && t[2 * i] !== key) i = (i + 1) & mask;
    if (t[2 * i] === EMPTY) this.small++;
    t[2 * i] = key;
    t[2 * i + 1] = value;
  }

  delete(key: number): void {
    if (key >= SMALL) {
      this.large.delete(key);
      return;
    }
    const t = this.table;
    const mask = this.mask;
    let i = hash(key) & mask;
    while (t[2 * i] !== key) {
      if (t[2 * i] === EMPTY) return;
      i = (i + 1) & mask;
    }
    // Backward shift: move later entries of the probe run into the hole when their home
    // position does not lie cyclically in (hole, their position].
    for (let j = (i + 1) & mask; t[2 * j] !== EMPTY; j = (j + 1) & mask) {
      const home = hash(t[2 * j]!) & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      t[2 * i] = t[2 * j]!;
      t[2 * i + 1] = t[2 * j + 1]!;
      i = j;
    }
    t[2 * i] = EMPTY;
    this.small--;
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    this.table = new Int32Array(cap * 2).fill(EMPTY);
    this.mask = cap - 1;
    this.small = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== EMPTY) this.set(old[i]!, old[i + 1]!);
  }
}

/** A 32-bit mix of a key below 2^31. */
function hash(key: number): number {
  const h = Math.imul(key, 0x9e3779b1);
  return (h ^ (h >>> 16)) >>> 0;
}
