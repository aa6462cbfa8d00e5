// Longest-prefix match (RFC 1812 §5.2.4.3): a path-compressed binary trie over address bits.
//
// Nodes live in one flat Int32Array, each node a fixed-size record (key words, bit length
// and a has-value flag, two child indexes: 16 bytes for IPv4, 32 for IPv6), so a million
// prefixes cost a few tens of megabytes, create no garbage, and a lookup touches one cache
// line per visited node. Path compression keeps at most 2n-1 nodes for n prefixes: every
// node either carries a value or branches both ways (node 0, the zero-length root, is the
// one exception).
//
// Keys are 32-bit words, most significant bit first: one word for IPv4, four for IPv6.
//
// A binary trie costs one dependent memory access per level, which at a million prefixes
// means one cache miss per level below the first dozen. So a jump table indexed by the
// first 16 address bits remembers, per slot, the deepest node of length <= 16 on the way
// and the best value up to it; lookups, inserts and exact gets start there. A slot is
// recomputed lazily after any node of length <= 16 covering it is created, released or
// changes value (rare after the first few thousand inserts).

const NONE = -1;
const HAS_VALUE = 0x100;
const JUMP_BITS = 16;

export class LpmTrie<V> {
  /** Address width in bits. */
  readonly bits: number;
  private readonly w: number;
  /** log2 of the record size in Int32 words. */
  private readonly sh: number;
  /** Offsets inside a record. */
  private readonly META: number;
  private readonly LEFT: number;
  private nodes: Int32Array;
  private vals: (V | undefined)[] = [];
  private freeList: number[] = [];
  private used = 1; // node 0 is the root
  private count = 0;
  /** Scratch key of the current operation (no allocation per call). */
  private readonly q: Int32Array;
  /** Jump table by the first 16 bits: start node, best value node (or NONE), stale flag. */
  private readonly jStart = new Int32Array(1 << JUMP_BITS);
  private readonly jBest = new Int32Array(1 << JUMP_BITS);
  private readonly jStale = new Uint8Array(1 << JUMP_BITS);

  constructor(words: 1 | 4, initialCapacity = 1024) {
    this.w = words;
    this.bits = words * 32;
    this.sh = words === 1 ? 2 : 3;
    this.META = words;
    this.LEFT = words + 1;
    this.nodes = new Int32Array(Math.max(2, initialCapacity) << this.sh);
    this.q = new Int32Array(words);
    this.clear();
  }

  /** Number of prefixes holding a value. */
  get size(): number {
    return this.count;
  }

  /** Set the value of `addr/len`; returns the value it replaced, if any. */
  set(addr: Uint8Array, len: number, val: V): V | undefined {
    this.load(addr, len);
    let n = len >= JUMP_BITS ? this.jump() : 0;
    for (;;) {
      const nl = this.len(n);
      if (nl === len) {
        const prev = this.vals[n];
        this.vals[n] = val;
        if (!(this.nodes[(n << this.sh) + this.META]! & HAS_VALUE)) {
          this.nodes[(n << this.sh) + this.META] = len | HAS_VALUE;
          this.count++;
          this.touch(n);
        }
        return prev;
      }
      const slot = (n << this.sh) + this.LEFT + this.qbit(nl);
      const c = this.nodes[slot]!;
      if (c === NONE) {
        const leaf = this.alloc(len, true, val);
        this.nodes[slot] = leaf;
        this.count++;
        return undefined;
      }
      const cl = this.len(c);
      const cpl = this.common(c, len < cl ? len : cl);
      if (cpl === cl) {
        n = c;
        continue;
      }
      // The new prefix and child c part ways (or the new one is c's ancestor) at bit cpl.
      if (cpl === len) {
        const x = this.alloc(len, true, val);
        this.nodes[(x << this.sh) + this.LEFT + this.nodeBit(c, len)] = c;
        this.nodes[slot] = x;
      } else {
        const fork = this.alloc(cpl, false, undefined);
        const leaf = this.alloc(len, true, val);
        const cb = this.nodeBit(c, cpl);
        this.nodes[(fork << this.sh) + this.LEFT + cb] = c;
        this.nodes[(fork << this.sh) + this.LEFT + (cb ^ 1)] = leaf;
        this.nodes[slot] = fork;
      }
      this.count++;
      return undefined;
    }
  }

  /** Exact match. */
  get(addr: Uint8Array, len: number): V | undefined {
    this.load(addr, len);
    let n = len >= JUMP_BITS ? this.jump() : 0;
    for (;;) {
      const nl = this.len(n);
      if (nl === len) return this.vals[n];
      const c = this.nodes[(n << this.sh) + this.LEFT + this.qbit(nl)]!;
      if (c === NONE) return undefined;
      const cl = this.len(c);
      if (cl > len || this.common(c, cl) < cl) return undefined;
      n = c;
    }
  }

  /** Remove `addr/len`; returns the removed value, if there was one. */
  delete(addr: Uint8Array, len: number): V | undefined {
    this.load(addr, len);
    const nodes = this.nodes;
    const sh = this.sh;
    const L = this.LEFT;
    let n = 0;
    let parent = NONE;
    let pslot = NONE;
    let gslot = NONE;
    for (;;) {
      const nl = this.len(n);
      if (nl === len) break;
      const slot = (n << sh) + L + this.qbit(nl);
      const c = nodes[slot]!;
      if (c === NONE) return undefined;
      const cl = this.len(c);
      if (cl > len || this.common(c, cl) < cl) return undefined;
      gslot = pslot;
      parent = n;
      pslot = slot;
      n = c;
    }
    if (!(nodes[(n << sh) + this.META]! & HAS_VALUE)) return undefined;
    const prev = this.vals[n];
    this.vals[n] = undefined;
    nodes[(n << sh) + this.META] = len;
    this.count--;
    this.touch(n);
    if (n === 0) return prev;
    const l = nodes[(n << sh) + L]!;
    const r = nodes[(n << sh) + L + 1]!;
    if (l !== NONE && r !== NONE) return prev; // still a fork
    if (l !== NONE || r !== NONE) {
      nodes[pslot] = l !== NONE ? l : r;
      this.release(n);
      return prev;
    }
    nodes[pslot] = NONE;
    this.release(n);
    // A valueless non-root parent had two children; with one left it is a useless hop.
    if (parent !== 0 && !(nodes[(parent << sh) + this.META]! & HAS_VALUE)) {
      const pl = nodes[(parent << sh) + L]!;
      nodes[gslot] = pl !== NONE ? pl : nodes[(parent << sh) + L + 1]!;
      this.release(parent);
    }
    return prev;
  }

  /** The value of the longest prefix covering `addr` (full-width address bytes). */
  lookup(addr: Uint8Array): V | undefined {
    const nodes = this.nodes;
    if (this.w === 1) {
      const a = (addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!;
      const s = a >>> 16;
      if (this.jStale[s]) this.resolve(s);
      let n = this.jStart[s]!;
      let best = this.jBest[s]!;
      for (;;) {
        const nl = nodes[(n << 2) + 1]! & 0xff;
        if (nl === 32) break;
        const c = nodes[(n << 2) + 2 + ((a >>> (31 - nl)) & 1)]!;
        if (c === NONE) break;
        const b = c << 2;
        const meta = nodes[b + 1]!;
        // Child lengths are >= 1, so the shift count is 0..31.
        if (((nodes[b]! ^ a) & (-1 << (32 - (meta & 0xff)))) !== 0) break;
        if (meta & HAS_VALUE) best = c;
        n = c;
      }
      return best === NONE ? undefined : this.vals[best];
    }
    this.load(addr, 128);
    const s = this.q[0]! >>> 16;
    if (this.jStale[s]) this.resolve(s);
    let n = this.jStart[s]!;
    let best = this.jBest[s]!;
    for (;;) {
      const nl = this.len(n);
      if (nl >= 128) break;
      const c = nodes[(n << 3) + 5 + this.qbit(nl)]!;
      if (c === NONE) break;
      const cl = this.len(c);
      if (this.common(c, cl) < cl) break;
      if (nodes[(c << 3) + 4]! & HAS_VALUE) best = c;
      n = c;
    }
    return best === NONE ? undefined : this.vals[best];
  }

  /** Every value, in address order with shorter prefixes before longer ones. */
  *values(): Generator<V> {
    const stack = [0];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const b = n << this.sh;
      if (this.nodes[b + this.META]! & HAS_VALUE) yield this.vals[n] as V;
      const l = this.nodes[b + this.LEFT]!;
      const r = this.nodes[b + this.LEFT + 1]!;
      if (r !== NONE) stack.push(r);
      if (l !== NONE) stack.push(l);
    }
  }

  clear(): void {
    this.vals = [undefined];
    this.freeList = [];
    this.used = 1;
    this.count = 0;
    this.nodes.fill(0, 0, 1 << this.sh);
    this.nodes[this.LEFT] = NONE;
    this.nodes[this.LEFT + 1] = NONE;
    this.jStale.fill(1);
  }

  // --- internals ---

  /** Start node for the scratch key (whose length is >= 16). */
  private jump(): number {
    const s = this.q[0]! >>> 16;
    if (this.jStale[s]) this.resolve(s);
    return this.jStart[s]!;
  }

  /** Recomputes jump slot `s`: walk from the root through nodes of length <= 16. */
  private resolve(s: number): void {
    const nodes = this.nodes;
    const sh = this.sh;
    const a = s << 16;
    let n = 0;
    let best = nodes[this.META]! & HAS_VALUE ? 0 : NONE;
    for (;;) {
      const nl = this.len(n);
      if (nl >= JUMP_BITS) break;
      const c = nodes[(n << sh) + this.LEFT + ((a >>> (31 - nl)) & 1)]!;
      if (c === NONE) break;
      const meta = nodes[(c << sh) + this.META]!;
      const cl = meta & 0xff;
      if (cl > JUMP_BITS || ((nodes[c << sh]! ^ a) & (-1 << (32 - cl))) !== 0) break;
      if (meta & HAS_VALUE) best = c;
      n = c;
    }
    this.jStart[s] = n;
    this.jBest[s] = best;
    this.jStale[s] = 0;
  }

  /** Marks stale the jump slots that node `n` covers, if it is short enough to be in them. */
  private touch(n: number): void {
    const len = this.len(n);
    if (len > JUMP_BITS) return;
    const span = 1 << (JUMP_BITS - len);
    const from = (this.nodes[n << this.sh]! >>> 16) & ~(span - 1);
    this.jStale.fill(1, from, from + span);
  }

  private len(n: number): number {
    return this.nodes[(n << this.sh) + this.META]! & 0xff;
  }

  /** Copy `addr` into the scratch key, clearing bits from `len` on. */
  private load(addr: Uint8Array, len: number): void {
    const q = this.q;
    for (let j = 0; j < this.w; j++) {
      const o = j * 4;
      const x = (addr[o]! << 24) | (addr[o + 1]! << 16) | (addr[o + 2]! << 8) | addr[o + 3]!;
      const rest = len - j * 32;
      q[j] = rest <= 0 ? 0 : rest < 32 ? x & (-1 << (32 - rest)) : x;
    }
  }

  private qbit(i: number): number {
    return (this.q[i >>> 5]! >>> (31 - (i & 31))) & 1;
  }

  private nodeBit(n: number, i: number): number {
    return (this.nodes[(n << this.sh) + (i >>> 5)]! >>> (31 - (i & 31))) & 1;
  }

  /** Bits node `n`'s key shares with the scratch key, at most `limit`. */
  private common(n: number, limit: number): number {
    const base = n << this.sh;
    for (let j = 0; j * 32 < limit; j++) {
      const x = this.nodes[base + j]! ^ this.q[j]!;
      if (x !== 0) {
        const d = j * 32 + Math.clz32(x);
        return d < limit ? d : limit;
      }
    }
    return limit;
  }

  /** A new node whose key is the scratch key cut to `len` bits. */
  private alloc(len: number, hasValue: boolean, val: V | undefined): number {
    let n = this.freeList.pop();
    if (n === undefined) {
      if (this.used << this.sh === this.nodes.length) this.grow();
      n = this.used++;
    }
    const base = n << this.sh;
    const nodes = this.nodes;
    for (let j = 0; j < this.w; j++) {
      const rest = len - j * 32;
      const x = this.q[j]!;
      nodes[base + j] = rest <= 0 ? 0 : rest < 32 ? x & (-1 << (32 - rest)) : x;
    }
    nodes[base + this.META] = hasValue ? len | HAS_VALUE : len;
    nodes[base + this.LEFT] = NONE;
    nodes[base + this.LEFT + 1] = NONE;
    if (n === this.vals.length) this.vals.push(val);
    else this.vals[n] = val;
    this.touch(n);
    return n;
  }

  private release(n: number): void {
    this.touch(n);
    this.vals[n] = undefined;
    this.freeList.push(n);
  }

  private grow(): void {
    const nodes = new Int32Array(this.nodes.length * 2);
    nodes.set(this.nodes);
    this.nodes = nodes;
  }
}
