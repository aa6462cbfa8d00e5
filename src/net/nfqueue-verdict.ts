// How a queued packet's filter result becomes an NFQUEUE verdict (docs/tcpr-nfqueue.md
// § Verdicts and injection; spec tcpr-and-tcp-repair §5.2), and how verdicts are batched
// into one send: pure (the send is injected), so that the rule — which emit may ride on
// the verdict, which must be injected — and the batch's failure handling are tested
// without a kernel.

import type { Emit, Side } from './packet-pump.js';
import { encodeVerdict, NF_VERDICT, VERDICT_HDRLEN } from './nfqueue-codec.js';

export interface VerdictDecision {
  /** NF_VERDICT.ACCEPT or NF_VERDICT.DROP. */
  verdict: number;
  /** ACCEPT: the rewritten packet the kernel forwards instead of the queued one; none when
   * the filter left the packet as it was (the kernel forwards its own copy). */
  payload?: Uint8Array;
  /** emits[injectFrom..] go out through the raw sockets. */
  injectFrom: number;
}

/**
 * The verdict for `packet`, queued from side `from`, given the filter's `emits`:
 * - the first emit is the packet itself (same buffer and offset: rewritten in place, maybe
 *   shortened) towards the other side → ACCEPT with it (without it when the emit says it
 *   is `unchanged` and it has the queued packet's length); the other emits are injected;
 * - otherwise → DROP, and every emit is injected (the packet too, if it is among them:
 *   towards its own side, or not first, it cannot ride on the verdict);
 * - no emits (or none at all: the filter threw) → DROP.
 */
export function decideVerdict(
  packet: Uint8Array,
  from: Side,
  emits: readonly Emit[] | undefined,
): VerdictDecision {
  const first = emits?.[0];
  if (!first) return { verdict: NF_VERDICT.DROP, injectFrom: 0 };
  const self =
    first.to !== from &&
    first.packet.buffer === packet.buffer &&
    first.packet.byteOffset === packet.byteOffset;
  if (!self) return { verdict: NF_VERDICT.DROP, injectFrom: 0 };
  return first.unchanged === true && first.packet.length === packet.length
    ? { verdict: NF_VERDICT.ACCEPT, injectFrom: 1 }
    : { verdict: NF_VERDICT.ACCEPT, payload: first.packet, injectFrom: 1 };
}

/** A verdict for a batch, and what its sender counts once it went out. */
export interface BatchedVerdict {
  queue: number;
  id: number;
  verdict: number;
  /** ACCEPT: the side the packet goes to and its length. */
  to: Side;
  bytes: number;
}

/** A verdict as the batch reports it: `unchanged`, an ACCEPT that carried no copy. */
export interface SentVerdict extends BatchedVerdict {
  unchanged: boolean;
}

/**
 * Verdicts encoded back to back, to go out in one send (several netlink messages in one
 * datagram: the kernel takes them in order and reports a failed one in an error message,
 * not in the send's result).
 */
export class VerdictBatch {
  private readonly buf: Uint8Array;
  private len = 0;
  private readonly entries: (SentVerdict & { start: number; end: number })[] = [];

  /** `size` must hold the largest verdict (VERDICT_HDRLEN + a 64 KiB payload). */
  constructor(size = 256 << 10) {
    this.buf = new Uint8Array(size);
  }

  get count(): number {
    return this.entries.length;
  }

  /** Adds a verdict; false, and nothing added, when it does not fit (flush first). */
  add(v: BatchedVerdict, payload?: Uint8Array): boolean {
    if (this.len + VERDICT_HDRLEN + (payload?.length ?? 0) + 4 > this.buf.length) return false;
    const start = this.len;
    this.len += encodeVerdict(this.buf.subarray(start), v.queue, v.id, v.verdict, payload);
    // Field by field: an object spread (and the batch emptied by splice) cost the pump a
    // fifth of its NFQUEUE throughput, measured.
    this.entries.push({
      queue: v.queue,
      id: v.id,
      verdict: v.verdict,
      to: v.to,
      bytes: v.bytes,
      unchanged: v.verdict === NF_VERDICT.ACCEPT && !payload,
      start,
      end: this.len,
    });
    return true;
  }

  /**
   * Sends the batch with `send` (0, or a negative errno when none of it was taken) and
   * empties it. If the batch's send fails, each verdict is sent again on its own; `sent`
   * hears of every verdict that went out, `failed` of every one that did not (its packet
   * stays queued until the socket closes: the caller sends a plain DROP for it).
   */
  flush(
    send: (buf: Uint8Array, len: number) => number,
    sent: (v: SentVerdict) => void,
    failed: (v: SentVerdict, errno: number) => void,
  ): void {
    if (this.len === 0) return;
    const all = send(this.buf, this.len) === 0;
    const n = this.entries.length;
    for (let i = 0; i < n; i++) {
      const v = this.entries[i]!;
      const r = all ? 0 : send(this.buf.subarray(v.start, v.end), v.end - v.start);
      if (r === 0) sent(v);
      else failed(v, -r);
    }
    this.entries.length = 0; // (`sent` and `failed` must not add to the batch)
    this.len = 0;
  }
}
