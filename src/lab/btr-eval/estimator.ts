// Fault rate at low bug rates, by simulating bug episodes at random points of the trace
// (docs/evaluation/btr.md, "The estimator").
//
// At the paper's baseline (an episode every 1.2 million s per replica) 100 hours hold about
// 0.3 episodes per replica: a direct run sees almost none, and a fault that needs two
// replicas wrong at once essentially never. But bugs are independent Poisson processes (rate
// λ per seat), so the fault rate expands in powers of λ, one term per size m of a cluster of
// episodes that act together (a cluster expansion):
//
//   f(λ) = Σ_m C(R, m) · c_m · λ^m · I_m,   I_m = E[ V · w · F_int ]
//
// - m = 1: one episode alone, at a random seat, kind, prefix and instant: F_int is the fault
//   time it causes. Master/slave pays here (the master's bug is output until detected).
// - m ≥ 2: m episodes on distinct seats that hit the *same* prefix and overlap in time (a
//   vote can only be outvoted by replicas wrong on the same key at once). c_m is the
//   probability that m kinds can share a key (all `add`, or none), w the probability that
//   the later episodes pick that key (1 / the number of keys they choose from at their own
//   start, 0 if the key is not held then), V the volume of relative start times over which
//   each overlaps the first (Π (d_1 + d_j)), sampled half uniformly and half close to the
//   first start (clusters that recovery cuts short), with importance weights. F_int is the interaction:
//   by inclusion–exclusion over the subsets of the cluster, F_int = Σ_S (−1)^{m−|S|} F(S),
//   each F(S) simulated with the same delays. Bogus next hops of `next-hop` episodes
//   coincide with probability 1/254; later ones copy the first one's with probability 1/2
//   and are weighted accordingly (importance sampling).
//
// Each F(S) is a `simulate` run on that one prefix (plus nothing else) for the window from
// T + 2 s before the first episode to 2 T + 5 s after the last one ends: the voter keeps no
// state across keys except membership and the master, so what happens on other keys only
// matters through failovers and standby replacements those keys trigger (false flags). Those
// are measured on their own in the direct runs, and the estimator is checked against direct
// runs at bug rates high enough to measure (validation in the report).
//
// Left out: episodes of one replica that overlap on one key (fault-inject.ts never picks a
// key the replica already corrupts), interactions through failovers or replacements that
// episodes on *different* keys cause (order λ² T² against λ T for the first term), and
// m > 3.

import { seededRandom } from '../../lib/random.js';
import { BUG_KINDS, type BugKind } from '../../btr/fault-inject.js';
import { NEXT_HOPS, type DelayModel } from './replica-model.js';
import { mixSeed, simulate, type Episode, type VoteConfig } from './simulate.js';
import { Moments, type MomentsJson } from './stats.js';
import type { PerKeyChanges, Trace } from './trace.js';

export interface EstimatorSpec {
  readonly trace: Trace;
  readonly perKey: PerKeyChanges;
  readonly vote: VoteConfig;
  readonly delay: DelayModel;
  readonly seed: number;
  readonly bootstrapMs?: number;
  /** Mean episode duration (ms). */
  readonly durationMs: number;
  readonly distribution?: 'exponential' | 'fixed';
  /** Samples for m = 1, 2, 3 (0 skips an order). */
  readonly samples: readonly number[];
  /** Draw targets from this many keys (validation against a direct run with `targetPool`). */
  readonly targetPool?: number;
  /** Bug kinds, uniformly (default all three). */
  readonly kinds?: readonly BugKind[];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface OrderEstimate extends MomentsJson {
  readonly m: number;
  /** C(R, m) · c_m: the rate term is coef · λ^m · mean. */
  readonly coef: number;
}

export interface Estimate {
  readonly orders: readonly OrderEstimate[];
  /** m = 1: the mean fault time of one episode (ms), and how often it is non-zero. */
  readonly isolated: MomentsJson;
  /** m = 1: from an episode's start to its replica's first flag on its key (ms). */
  readonly detection: MomentsJson;
  /** m = 1: episodes whose replica was flagged. */
  readonly detectedFraction: number;
  readonly simulations: number;
  readonly wallMs: number;
}

/** Fault rate (fraction of time) at bug rate 1 / interArrivalMs, with its standard error. */
export function rateFromEstimate(
  e: Estimate,
  interArrivalMs: number,
): { rate: number; se: number; terms: number[] } {
  const lambda = 1 / interArrivalMs;
  let rate = 0;
  let v = 0;
  const terms: number[] = [];
  for (const o of e.orders) {
    const f = o.coef * lambda ** o.m;
    terms.push(f * o.mean);
    rate += f * o.mean;
    v += (f * o.se) ** 2;
  }
  return { rate, se: Math.sqrt(v), terms };
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** When the held count is needed at an offset: number of keys with a route, over a copy. */
class HeldIndex {
  private readonly times: Float64Array;
  private readonly counts: Int32Array;
  private readonly base: number;

  constructor(trace: Trace) {
    const cur = Int32Array.from(trace.initial);
    let n = 0;
    for (const v of cur) if (v >= 0) n++;
    this.base = n;
    const ch = trace.changes;
    this.times = ch.time;
    this.counts = new Int32Array(ch.key.length);
    for (let i = 0; i < ch.key.length; i++) {
      const k = ch.key[i]!;
      const before = cur[k]! >= 0;
      const after = ch.value[i]! >= 0;
      if (before !== after) n += after ? 1 : -1;
      cur[k] = ch.value[i]!;
      this.counts[i] = n;
    }
  }

  at(offsetMs: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! <= offsetMs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? this.base : this.counts[lo - 1]!;
  }
}

/** The value of key k at an offset into a copy (-1: none). */
function valueOfKeyAt(trace: Trace, perKey: PerKeyChanges, k: number, off: number): number {
  let v = trace.initial[k]!;
  for (const i of perKey.changes[k]!) {
    if (trace.changes.time[i]! > off) break;
    v = trace.changes.value[i]!;
  }
  return v;
}

export function estimate(spec: EstimatorSpec): Estimate {
  const wall = performance.now();
  const { trace, perKey, vote } = spec;
  const N = trace.keys.length;
  const P = trace.periodMs;
  const R = vote.replicas;
  const held = new HeldIndex(trace);
  const rnd = seededRandom(mixSeed(spec.seed, 31));
  const expo = (mean: number): number =>
    spec.distribution === 'fixed' ? mean : -mean * Math.log(1 - rnd());
  const T = vote.steadyMs;
  const before = T + 2000;
  const after = 2 * T + 5000;
  const near = 2 * T + (spec.bootstrapMs ?? 1500) + 5000;
  // The key pool when targets are restricted (validation): the first keys of a seeded
  // shuffle of the keys held at a copy's start — the same rule as simulate's.
  let pool: Int32Array | undefined;
  if (spec.targetPool !== undefined) {
    const r2 = seededRandom(mixSeed(spec.seed, 7));
    const h: number[] = [];
    for (let k = 0; k < N; k++) if (trace.initial[k]! >= 0) h.push(k);
    for (let i = h.length - 1; i > 0; i--) {
      const j = Math.floor(r2() * (i + 1));
      [h[i], h[j]] = [h[j]!, h[i]!];
    }
    pool = Int32Array.from(h.slice(0, Math.min(N, spec.targetPool)));
  }
  const poolSize = pool ? pool.length : N;
  /** Probability that an episode starting at `off` picks real key k. */
  const pickProb = (k: number, off: number): number => {
    if (valueOfKeyAt(trace, perKey, k, off) < 0) return 0;
    if (!pool) return 1 / held.at(off);
    let n = 0;
    for (const x of pool) if (valueOfKeyAt(trace, perKey, x, off) >= 0) n++;
    return pool.includes(k) ? 1 / n : 0;
  };
  const pickKey = (off: number): number => {
    for (let tries = 0; tries < 100000; tries++) {
      const i = Math.floor(rnd() * poolSize);
      const k = pool ? pool[i]! : i;
      if (valueOfKeyAt(trace, perKey, k, off) >= 0) return k;
    }
    throw new Error('estimator: no key holds a route');
  };

  const total = spec.samples.reduce((a, b) => a + b, 0);
  let done = 0;
  let sims = 0;
  const orders: OrderEstimate[] = [];
  const isolated = new Moments();
  const detection = new Moments();
  let detectedEpisodes = 0;
  let isolatedEpisodes = 0;
  for (let m = 1; m <= spec.samples.length; m++) {
    const n = spec.samples[m - 1]!;
    if (n === 0 || m > R) continue;
    const kindSet = spec.kinds?.length ? spec.kinds : BUG_KINDS;
    const others = kindSet.filter((k) => k !== 'add');
    const pAdd = kindSet.includes('add') ? (1 / kindSet.length) ** m : 0;
    const pOther = (others.length / kindSet.length) ** m;
    const compat = m === 1 ? 1 : pAdd + pOther;
    const mom = new Moments();
    for (let s = 0; s < n; s++) {
      // Seats: m distinct, uniformly.
      const seatsAll = Array.from({ length: R }, (_, i) => i);
      for (let i = R - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [seatsAll[i], seatsAll[j]] = [seatsAll[j]!, seatsAll[i]!];
      }
      // Kinds: uniform for one episode; for a cluster, conditioned on sharing a key.
      const kinds: BugKind[] = [];
      if (m === 1) kinds.push(kindSet[Math.floor(rnd() * kindSet.length)]!);
      else if (rnd() < pAdd / compat) for (let j = 0; j < m; j++) kinds.push('add');
      else for (let j = 0; j < m; j++) kinds.push(others[Math.floor(rnd() * others.length)]!);
      const copy = 1 + Math.floor(rnd() * 10000);
      const off1 = rnd() * P;
      const t1 = copy * P + off1;
      const key =
        kinds[0] === 'add' ? N + Math.floor(rnd() * (pool ? pool.length : N)) : pickKey(off1);
      const durations: number[] = [];
      for (let j = 0; j < m; j++) durations.push(expo(spec.durationMs));
      const starts = [t1];
      let weight = 1;
      for (let j = 1; j < m; j++) {
        // u = start_j − start_1 over [−d_j, d_1] (episode j overlaps the first). Proposal:
        // half uniform over that range, half uniform within ±near of 0, where clusters that
        // recovery cuts short (standby, failover) interact; weight = 1 / proposal density.
        const lo = -durations[j]!;
        const hi = durations[0]!;
        const nlo = Math.max(lo, -near);
        const nhi = Math.min(hi, near);
        const u = rnd() < 0.5 ? lo + rnd() * (hi - lo) : nlo + rnd() * (nhi - nlo);
        starts.push(t1 + u);
        const q = 0.5 / (hi - lo) + (u >= nlo && u <= nhi ? 0.5 / (nhi - nlo) : 0);
        weight *= 1 / q;
        if (kinds[j] === 'add') weight *= 1 / poolSize;
        else {
          const off = (((starts[j]! % P) + P) % P) as number;
          weight *= pickProb(key, off);
        }
      }
      const nextHops: number[] = [];
      for (let j = 0; j < m; j++) {
        const first = nextHops.findIndex((_, i) => kinds[i] === 'next-hop');
        if (kinds[j] !== 'next-hop' || first < 0) {
          nextHops.push(1 + Math.floor(rnd() * NEXT_HOPS));
          continue;
        }
        const ref = nextHops[first]!;
        if (rnd() < 0.5) {
          nextHops.push(ref);
          weight *= 2 / NEXT_HOPS;
        } else {
          let nh = 1 + Math.floor(rnd() * (NEXT_HOPS - 1));
          if (nh >= ref) nh++;
          nextHops.push(nh);
          weight *= (2 * (NEXT_HOPS - 1)) / NEXT_HOPS;
        }
      }
      const eps: Episode[] = [];
      for (let j = 0; j < m; j++) {
        eps.push({
          seat: seatsAll[j]!,
          kind: kinds[j]!,
          key,
          start: starts[j]!,
          end: starts[j]! + durations[j]!,
          nextHop: nextHops[j]!,
          addValue: Math.floor(rnd() * trace.values.length),
        });
      }
      const simSeed = mixSeed(spec.seed, 1_000_000 * m + s);
      let x = 0;
      if (weight > 0) {
        const from = Math.min(...eps.map((e) => e.start)) - before;
        const to = Math.max(...eps.map((e) => e.end)) + after;
        // Inclusion–exclusion over the non-empty subsets of the cluster.
        for (let mask = 1; mask < 1 << m; mask++) {
          const subset = eps.filter((_, j) => (mask & (1 << j)) !== 0);
          const r = simulate({
            trace,
            perKey,
            vote,
            delay: spec.delay,
            seed: simSeed,
            ...(spec.bootstrapMs !== undefined ? { bootstrapMs: spec.bootstrapMs } : {}),
            startMs: from,
            endMs: to,
            keys: [key],
            episodes: subset,
          });
          sims++;
          const sign = (m - subset.length) % 2 === 0 ? 1 : -1;
          x += sign * r.fault.anyMs;
          if (m === 1) {
            isolatedEpisodes++;
            if (r.detected > 0) {
              detectedEpisodes++;
              detection.add(r.detection.sum / r.detection.n);
            }
          }
        }
      }
      const sample = weight * x;
      mom.add(sample);
      if (m === 1) isolated.add(x);
      done++;
      spec.onProgress?.(done, total);
    }
    orders.push({ m, coef: binomial(R, m) * compat, ...mom.toJSON() });
  }
  return {
    orders,
    isolated: isolated.toJSON(),
    detection: detection.toJSON(),
    detectedFraction: isolatedEpisodes === 0 ? NaN : detectedEpisodes / isolatedEpisodes,
    simulations: sims,
    wallMs: performance.now() - wall,
  };
}
