// A byte-oriented text sink for fast line output: ASCII is written straight into one large
// buffer that is handed to a sink when full, so formatting a million lines costs no string
// concatenation churn and a few hundred write calls.

import { writeSync } from 'node:fs';

const DIGITS: Uint8Array[] = Array.from({ length: 256 }, (_, i) =>
  new TextEncoder().encode(String(i)),
);

export class TextOut {
  buf: Buffer;
  pos = 0;

  constructor(
    private readonly sink: (bytes: Uint8Array) => void,
    capacity = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Make room for n more bytes (flushing first when the buffer is too full). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < n) cap *= 2;
      this.buf = Buffer.allocUnsafe(cap);
    }
  }

  flush(): void {
    if (this.pos === 0) return;
    // A plain Uint8Array view: on a Buffer, `.slice()` would not copy, and sinks that keep
    // the bytes copy them with `.slice()` before this buffer is reused.
    this.sink(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos));
    this.pos = 0;
  }

  /** ASCII string (callers reserve). Long ones are copied natively (the per-line tails). */
  ascii(s: string): void {
    if (s.length > 24) {
      this.pos += this.buf.write(s, this.pos, 'latin1');
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Bytes src[start, end) (callers reserve). */
  copy(src: Uint8Array, start: number, end: number): void {
    const b = this.buf;
    let p = this.pos;
    if (end - start > 48) {
      b.set(src.subarray(start, end), p);
      p += end - start;
    } else for (let i = start; i < end; i++) b[p++] = src[i]!;
    this.pos = p;
  }

  /** Unsigned decimal (0 ≤ n < 2^53). */
  uint(n: number): void {
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
    }
    b[--p] = 48 + n;
  }

  /** Dotted-quad IPv4 from four octets at src[off]. */
  ipv4(src: Uint8Array, off: number): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < 4; i++) {
      if (i) b[p++] = 46;
      const d = DIGITS[src[off + i]!]!;
      for (let j = 0; j < d.length; j++) b[p++] = d[j]!;
    }
    this.pos = p;
  }
}

/** A sink writing synchronously to a file descriptor, riding out EAGAIN on non-blocking pipes. */
export function fdSink(fd: number): (bytes: Uint8Array) => void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return (bytes) => {
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(fd, bytes, off, bytes.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(pause, 0, 0, 2);
      }
    }
  };
}
