// Pass-through time of the bug-tolerant router (BTR paper §5.2: "the time from when the
// router receives an update until the FIB is updated" and, for the neighbours, until the
// voted UPDATE leaves): the figure the `nonstop_btr_pass_through_seconds` histogram reports.
//
// Sampling, not bookkeeping for every route: each UPDATE a neighbour sends stamps one key —
// its first route (withdrawn, MP_UNREACH, MP_REACH, then NLRI, the order canonical.ts reads
// them in) — with the clock's time. The first voted UPDATE that carries that key to any
// neighbour, and the first voted change the router's FIB accepts for it, each yield one
// sample and consume the stamp for that output. A key stamped again before its output
// restarts from the later arrival (the output answers the newest input). At most `limit`
// stamps are kept per output (oldest dropped first), so routes the vote never outputs (a
// neighbour's own routes, filtered ones, a majority that never forms) cost nothing lasting.
//
// Pure: no timers, no I/O; the caller passes `now` from the injected clock.

import type { Nlri, PathAttribute, UpdateMessage } from '../wire/index.js';
import { routeKey } from './canonical-key.js';
import type { VoteKey } from './voter.js';

export type PassThroughOutput = 'update' | 'fib';

export interface PassThroughOptions {
  /** Stamps kept per output (default 4096). */
  readonly limit?: number;
  /** One sample: `ms` from the neighbour's UPDATE to the output. */
  readonly onSample: (output: PassThroughOutput, ms: number) => void;
}

const AFI_IPV4 = 1;
const SAFI_UNICAST = 1;

export class PassThroughProbe {
  private readonly limit: number;
  private readonly onSample: PassThroughOptions['onSample'];
  private readonly waiting: Record<PassThroughOutput, Map<VoteKey, number>> = {
    update: new Map(),
    fib: new Map(),
  };
  private nSamples = 0;

  constructor(opts: PassThroughOptions) {
    this.limit = Math.max(1, opts.limit ?? 4096);
    this.onSample = opts.onSample;
  }

  /** A neighbour's UPDATE arrived at `now`: stamp its first route. */
  arrived(u: UpdateMessage, now: number): void {
    const key = firstKey(u);
    if (key === undefined) return;
    this.put(this.waiting.update, key, now);
    this.put(this.waiting.fib, key, now);
  }

  /** `key` left the router in a voted UPDATE (or was installed in its FIB) at `now`. */
  output(kind: PassThroughOutput, key: VoteKey, now: number): void {
    const m = this.waiting[kind];
    if (m.size === 0) return;
    const t = m.get(key);
    if (t === undefined) return;
    m.delete(key);
    this.nSamples++;
    this.onSample(kind, Math.max(0, now - t));
  }

  /** Stamps waiting, per output; samples taken. */
  stats(): { readonly update: number; readonly fib: number; readonly samples: number } {
    return {
      update: this.waiting.update.size,
      fib: this.waiting.fib.size,
      samples: this.nSamples,
    };
  }

  private put(m: Map<VoteKey, number>, key: VoteKey, now: number): void {
    // Re-inserted, so the insertion order stays the age order.
    if (!m.delete(key) && m.size >= this.limit) m.delete(m.keys().next().value as VoteKey);
    m.set(key, now);
  }
}

/** The vote key of the first route an UPDATE carries (see the header), if any. */
export function firstKey(u: UpdateMessage): VoteKey | undefined {
  const w = u.withdrawn[0];
  if (w) return keyOf(AFI_IPV4, SAFI_UNICAST, w);
  for (const kind of ['mp-unreach', 'mp-reach'] as const) {
    for (const a of u.attributes) {
      const k = a.kind === kind ? mpKey(a) : undefined;
      if (k !== undefined) return k;
    }
  }
  const n = u.nlri[0];
  return n ? keyOf(AFI_IPV4, SAFI_UNICAST, n) : undefined;
}

function mpKey(a: PathAttribute): VoteKey | undefined {
  if (a.kind === 'mp-unreach') {
    const n = a.withdrawn?.[0];
    return n ? keyOf(a.afi, a.safi, n) : undefined;
  }
  if (a.kind === 'mp-reach') {
    const n = a.nlri?.[0];
    return n ? keyOf(a.afi, a.safi, n) : undefined;
  }
  return undefined;
}

const keyOf = (afi: number, safi: number, n: Nlri): VoteKey =>
  routeKey(afi, safi, n.prefix, n.pathId ?? 0);
