// A bounded cursor with bgpdump's "mstream" semantics, used only by the bgpdump-compatible
// formatter: a read past the end yields zero octets for the missing part and leaves the
// cursor at the end (it never throws). Reproducing this is what makes our output on
// malformed records match bgpdump's byte for byte; the typed reader uses lib/bytes instead.

export class Cursor {
  constructor(
    public b: Uint8Array,
    public p: number,
    public e: number,
  ) {}

  get left(): number {
    return this.e - this.p;
  }

  u8(): number {
    if (this.p < this.e) return this.b[this.p++]!;
    return 0;
  }

  u16(): number {
    const p = this.p;
    const b = this.b;
    if (p + 2 <= this.e) {
      this.p = p + 2;
      return (b[p]! << 8) | b[p + 1]!;
    }
    const v = p < this.e ? b[p]! << 8 : 0;
    this.p = this.e;
    return v;
  }

  u32(): number {
    const p = this.p;
    const b = this.b;
    if (p + 4 <= this.e) {
      this.p = p + 4;
      return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    }
    let v = 0;
    for (let i = 0; i < 4; i++) v = v * 256 + (p + i < this.e ? b[p + i]! : 0);
    this.p = this.e;
    return v;
  }

  /** Copy n octets into dst[off..] (zero-filling what is missing); returns the number present. */
  get(n: number, dst: Uint8Array, off = 0): number {
    const p = this.p;
    const room = this.e - p;
    if (room >= n) {
      for (let i = 0; i < n; i++) dst[off + i] = this.b[p + i]!;
      this.p = p + n;
      return n;
    }
    for (let i = 0; i < n; i++) dst[off + i] = i < room ? this.b[p + i]! : 0;
    this.p = this.e;
    return room;
  }

  skip(n: number): void {
    this.p = this.p + n <= this.e ? this.p + n : this.e;
  }

  /** A sub-cursor over the next min(n, left) octets; this cursor moves past them. */
  sub(n: number): Cursor {
    const len = n < 0 || n > this.e - this.p ? this.e - this.p : n;
    const c = new Cursor(this.b, this.p, this.p + len);
    this.p += len;
    return c;
  }
}
