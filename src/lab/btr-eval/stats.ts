// Small statistics for the BTR evaluation: a log-binned histogram (waiting times), a
// count histogram (updates per 1 s interval), and sample means with confidence intervals.

/** Bins per decade of the log histogram. */
const PER_DECADE = 20;
/** Smallest value binned separately (ms); below it everything is in bin 0. */
const MIN = 1e-3;

/** A histogram of positive values on log-spaced bins (20 per decade from 1 µs), exact mean. */
export class LogHistogram {
  counts: number[] = [];
  n = 0;
  sum = 0;
  max = 0;

  add(x: number): void {
    const b = x <= MIN ? 0 : 1 + Math.floor(Math.log10(x / MIN) * PER_DECADE);
    while (this.counts.length <= b) this.counts.push(0);
    this.counts[b]!++;
    this.n++;
    this.sum += x;
    if (x > this.max) this.max = x;
  }

  get mean(): number {
    return this.n === 0 ? NaN : this.sum / this.n;
  }

  /** The q-quantile, interpolated geometrically within its bin (bin 0 reads as its edge). */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const target = q * this.n;
    let acc = 0;
    for (let b = 0; b < this.counts.length; b++) {
      const c = this.counts[b]!;
      if (c === 0) continue;
      if (acc + c >= target) {
        if (b === 0) return MIN;
        const lo = MIN * 10 ** ((b - 1) / PER_DECADE);
        const hi = MIN * 10 ** (b / PER_DECADE);
        const f = c === 0 ? 0 : (target - acc) / c;
        return Math.min(this.max, lo * (hi / lo) ** f);
      }
      acc += c;
    }
    return this.max;
  }

  /** (value, fraction ≤ value) at each bin's upper edge, for CDF plots. */
  cdf(): [number, number][] {
    const out: [number, number][] = [];
    let acc = 0;
    for (let b = 0; b < this.counts.length; b++) {
      acc += this.counts[b]!;
      if (this.counts[b] === 0 && acc === 0) continue;
      out.push([MIN * 10 ** (b / PER_DECADE), acc / this.n]);
    }
    return out;
  }

  toJSON(): HistogramJson {
    return { counts: this.counts, n: this.n, sum: this.sum, max: this.max };
  }

  static from(j: HistogramJson): LogHistogram {
    const h = new LogHistogram();
    h.counts = [...j.counts];
    h.n = j.n;
    h.sum = j.sum;
    h.max = j.max;
    return h;
  }
}

export interface HistogramJson {
  readonly counts: readonly number[];
  readonly n: number;
  readonly sum: number;
  readonly max: number;
}

/** How many 1 s intervals had each number of updates: [updates, intervals] sorted. */
export type CountHistogram = [number, number][];

export function countHistogram(m: Map<number, number>): CountHistogram {
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

/** Fraction of intervals with at most `x` updates. */
export function countCdfAt(h: CountHistogram, x: number): number {
  let total = 0;
  let le = 0;
  for (const [v, n] of h) {
    total += n;
    if (v <= x) le += n;
  }
  return total === 0 ? NaN : le / total;
}

export function countQuantile(h: CountHistogram, q: number): number {
  let total = 0;
  for (const [, n] of h) total += n;
  let acc = 0;
  for (const [v, n] of h) {
    acc += n;
    if (acc >= q * total) return v;
  }
  return h.length ? h[h.length - 1]![0] : NaN;
}

export function countMean(h: CountHistogram): number {
  let total = 0;
  let sum = 0;
  for (const [v, n] of h) {
    total += n;
    sum += v * n;
  }
  return total === 0 ? NaN : sum / total;
}

/** Running mean and variance (Welford). */
export class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  nonZero = 0;

  add(x: number): void {
    this.n++;
    if (x !== 0) this.nonZero++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }

  /** Standard error of the mean. */
  get se(): number {
    return this.n < 2 ? NaN : Math.sqrt(this.m2 / (this.n - 1) / this.n);
  }

  toJSON(): MomentsJson {
    return { n: this.n, mean: this.mean, se: this.n < 2 ? 0 : this.se, nonZero: this.nonZero };
  }
}

export interface MomentsJson {
  readonly n: number;
  readonly mean: number;
  /** Standard error of the mean. */
  readonly se: number;
  /** Samples that were not zero. */
  readonly nonZero: number;
}

/** z for a two-sided 95 % interval. */
export const Z95 = 1.96;

/**
 * Upper 95 % bound of a Poisson rate when `k` events were seen in `exposure` (exact for
 * k = 0: −ln 0.05 ≈ 3.0, the "rule of three"; normal approximation with continuity above).
 */
export function poissonUpper95(k: number, exposure: number): number {
  if (k === 0) return -Math.log(0.05) / exposure;
  return (k + 1 + Z95 * Math.sqrt(k + 1)) / exposure;
}
