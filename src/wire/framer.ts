// Message framing over a byte stream (RFC 4271 §4.1: the Length field delimits messages).
// One growable buffer with read/write cursors turns a stream split anywhere into whole
// messages; header errors (§6.1) are detected here, before any decoding.
//
// Messages are returned as views. Bytes already handed out are never overwritten: when
// the buffer must be compacted or grown, a new one is allocated, so a view stays valid
// for as long as the caller holds it.

import { BGP_HEADER_LEN } from './constants.js';
import type { BgpError } from './errors.js';
import { checkHeader } from './header.js';

export class Framer {
  private buf: Uint8Array;
  private start = 0; // first unconsumed octet
  private end = 0; // one past the last octet received
  private extended: boolean;
  private dead: BgpError | undefined;

  constructor(opts?: { extendedMessage?: boolean; initialCapacity?: number }) {
    this.extended = opts?.extendedMessage ?? false;
    this.buf = new Uint8Array(opts?.initialCapacity ?? 16384);
  }

  /** Raise the maximum message length to 65535 once extended messages are negotiated. */
  setExtendedMessage(on: boolean): void {
    this.extended = on;
  }

  /** Octets received but not yet returned as messages. */
  get buffered(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (this.dead || chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) {
      const pending = this.end - this.start;
      const need = pending + chunk.length;
      let cap = this.buf.length;
      while (cap < need * 2) cap *= 2;
      // A fresh buffer, so views already returned keep their bytes.
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(this.start, this.end));
      this.buf = nb;
      this.start = 0;
      this.end = pending;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /**
   * The next whole message (header included), a header error (after which the framer is
   * dead and keeps returning it), or undefined when more bytes are needed.
   */
  next(): Uint8Array | BgpError | undefined {
    if (this.dead) return this.dead;
    const avail = this.end - this.start;
    if (avail < BGP_HEADER_LEN) return undefined;
    const len = checkHeader(this.buf, this.start, this.extended);
    if (typeof len !== 'number') {
      this.dead = len;
      return len;
    }
    if (avail < len) return undefined;
    const msg = this.buf.subarray(this.start, this.start + len);
    this.start += len;
    if (this.start === this.end) {
      // Everything consumed: later pushes may start a fresh region past the handed-out
      // views (never before them).
      this.buf = this.buf.subarray(this.end);
      this.start = this.end = 0;
      if (this.buf.length < 4096) this.buf = new Uint8Array(16384);
    }
    return msg;
  }
}
