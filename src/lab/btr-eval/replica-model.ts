// How a simulated replica of the BTR evaluation behaves (paper §5.1): it outputs the
// correct output stream of the trace (trace.ts), each UPDATE after its own processing delay,
// plus the episodes of its bugs.
//
// Processing delay. Each (replica, input UPDATE) pair gets one delay, drawn independently
// from a log-normal distribution given by its median and 99th percentile. Every prefix
// change the UPDATE causes leaves the replica after that delay; a replica never reorders
// the changes of one prefix (a change waits for the previous change of the same prefix).
// The default is calibrated on our own measurement (docs/performance.md, "The
// bug-tolerant router": a prefix crosses `nonstop` alone in 0.85 ms median, 13.6 ms p99 at
// the RIS trace's rate) — that pass-through already includes the daemon's queueing at this
// rate, which is why delays are independent rather than queued behind each other.
// The draws are counter-based (`seededRandomAt`): the delay of a replica for an UPDATE is
// a function of (seed, replica, copy, record), so a simulation that only replays some
// prefixes sees exactly the delays the full replay would.
//
// Bugs (paper §5.1 "bugs add/remove updates and change the next-hop attribute for a
// randomly-selected prefix", our src/btr/fault-inject.ts): episodes per replica seat with
// an inter-arrival time (start to start) and a duration, both exponential by default
// (`BugSchedule` of fault-inject.ts). Kinds, uniformly:
// - `add`: the replica announces a prefix it should not (one of a pool of bogus prefixes,
//   as many as the table has, in 240.0.0.0/4), with the attributes of a random real route;
// - `suppress`: it withdraws a prefix it holds and keeps it withdrawn;
// - `next-hop`: a prefix it holds gets one of 254 bogus next hops (also in its
//   re-announcements; withdrawn when the real route is).
// At the end of an episode the replica outputs its true state again.

import { seededRandomAt } from '../../lib/random.js';

const Z99 = 2.3263478740408408;

export interface DelayModel {
  /** Median processing delay (ms). */
  readonly medianMs: number;
  /** 99th percentile (ms). */
  readonly p99Ms: number;
}

/** `nonstop` alone at the RIS trace's rate (docs/performance.md, bench:btr, 3 runs). */
export const MEASURED_DELAY: DelayModel = { medianMs: 0.85, p99Ms: 13.6 };

/**
 * The same shape scaled so that the mean is 20 ms: the paper's master/slave waiting time
 * (0.02 s), i.e. its replicas' speed (Quagga and XORP on a 3 GHz Xeon, 2009).
 */
export const PAPER_SCALE_DELAY: DelayModel = scaleToMean(MEASURED_DELAY, 20);

/** σ of the underlying normal. */
export function sigmaOf(d: DelayModel): number {
  if (!(d.medianMs > 0) || !(d.p99Ms >= d.medianMs)) {
    throw new RangeError(`delay model: need 0 < median ≤ p99, not ${d.medianMs}, ${d.p99Ms}`);
  }
  return Math.log(d.p99Ms / d.medianMs) / Z99;
}

export function meanOf(d: DelayModel): number {
  const s = sigmaOf(d);
  return d.medianMs * Math.exp((s * s) / 2);
}

export function scaleToMean(d: DelayModel, meanMs: number): DelayModel {
  const f = meanMs / meanOf(d);
  return { medianMs: d.medianMs * f, p99Ms: d.p99Ms * f };
}

/** Mixes a run seed and a replica index into the seed of that replica's delays. */
export function replicaSeed(seed: number, replica: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(replica + 1, 0xc2b2ae35)) >>> 0;
}

/** Draws delays: the delay of input `n` (a global record number) for one replica seed. */
export class DelaySampler {
  private readonly mu: number;
  private readonly sigma: number;

  constructor(d: DelayModel) {
    this.sigma = sigmaOf(d);
    this.mu = Math.log(d.medianMs);
  }

  delay(seed: number, n: number): number {
    // Box–Muller from two draws of the replica's stream at positions 2n and 2n + 1.
    const u1 = seededRandomAt(seed, 2 * n);
    const u2 = seededRandomAt(seed, 2 * n + 1);
    const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    return Math.exp(this.mu + this.sigma * z);
  }
}

/** Bogus next hops a `next-hop` bug picks from (as fault-inject.ts: a /24 without .0 and .255). */
export const NEXT_HOPS = 254;

/** The value a `next-hop` bug shows for a route (distinct from every correct value). */
export function nextHopValue(value: string, nh: number): string {
  return `n${nh}.${value}`;
}

/** The value an `add` bug announces (distinct from every correct value). */
export function addValue(value: string): string {
  return `a.${value}`;
}
