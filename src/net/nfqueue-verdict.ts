// How a queued packet's filter result becomes an NFQUEUE verdict (docs/tcpr-nfqueue.md
// § Verdicts and injection; spec tcpr-and-tcp-repair §5.2): pure, so that the rule —
// which emit may ride on the verdict, which must be injected — is tested without a kernel.

import type { Emit, Side } from './packet-pump.js';
import { NF_VERDICT } from './nfqueue-codec.js';

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
