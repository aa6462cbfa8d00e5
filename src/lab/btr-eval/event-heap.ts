// A binary min-heap of replica output events for the BTR evaluation, ordered by time and
// then by insertion (so events due at the same instant keep their order). Struct of arrays:
// millions of events per simulated hour, no object per event.

export class EventHeap {
  private time: Float64Array = new Float64Array(256);
  private seq: Float64Array = new Float64Array(256);
  private proc: Int32Array = new Int32Array(256);
  private inc: Int32Array = new Int32Array(256);
  private copy: Int32Array = new Int32Array(256);
  private from: Int32Array = new Int32Array(256);
  private to: Int32Array = new Int32Array(256);
  /** Heap of slot numbers. */
  private heap: Int32Array = new Int32Array(256);
  private free: number[] = [];
  private used = 0;
  private n = 0;
  private nextSeq = 0;

  get size(): number {
    return this.n;
  }

  /** Time of the earliest event (Infinity when empty). */
  get minTime(): number {
    return this.n === 0 ? Infinity : this.time[this.heap[0]!]!;
  }

  push(time: number, proc: number, inc: number, copy: number, from: number, to: number): void {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.used === this.time.length) this.grow();
      s = this.used++;
    }
    this.time[s] = time;
    this.seq[s] = this.nextSeq++;
    this.proc[s] = proc;
    this.inc[s] = inc;
    this.copy[s] = copy;
    this.from[s] = from;
    this.to[s] = to;
    if (this.n === this.heap.length) {
      const h = new Int32Array(this.heap.length * 2);
      h.set(this.heap);
      this.heap = h;
    }
    let i = this.n++;
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(s, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = s;
  }

  /** Removes the earliest event; its fields are readable through `out` until the next call. */
  pop(out: HeapEvent): void {
    const heap = this.heap;
    const top = heap[0]!;
    out.time = this.time[top]!;
    out.proc = this.proc[top]!;
    out.inc = this.inc[top]!;
    out.copy = this.copy[top]!;
    out.from = this.from[top]!;
    out.to = this.to[top]!;
    this.free.push(top);
    const last = heap[--this.n]!;
    let i = 0;
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r]!, heap[l]!) ? r : l;
      if (!this.less(heap[c]!, last)) break;
      heap[i] = heap[c]!;
      i = c;
    }
    if (n > 0) heap[i] = last;
  }

  private less(a: number, b: number): boolean {
    const ta = this.time[a]!;
    const tb = this.time[b]!;
    return ta < tb || (ta === tb && this.seq[a]! < this.seq[b]!);
  }

  private grow(): void {
    const n = this.time.length * 2;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.time = f64(this.time);
    this.seq = f64(this.seq);
    this.proc = i32(this.proc);
    this.inc = i32(this.inc);
    this.copy = i32(this.copy);
    this.from = i32(this.from);
    this.to = i32(this.to);
  }
}

export interface HeapEvent {
  time: number;
  proc: number;
  inc: number;
  copy: number;
  from: number;
  to: number;
}
