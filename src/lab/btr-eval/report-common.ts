// Shared parts of the btr-eval report (report.ts, report-results.ts): the results file's
// shape, access to its points, the context every section reads, labels and styles.

import { type Point } from '../../lib/svg-line-chart.js';
import { rateFromEstimate, type Estimate } from './estimator.js';
import { int, ms, num } from './markdown.js';
import { type OverheadFile } from './overhead.js';
import {
  REPLICA_SETS,
  estimatePoint,
  pointId,
  voteLabel,
  type PointSpec,
  type Preset,
} from './plan.js';
import type { PointResult } from './run-point.js';
import type { SimResult, StrategyName, VoteConfig } from './simulate.js';
import {
  LogHistogram,
  countCdfAt,
  countMean,
  countQuantile,
  type CountHistogram,
} from './stats.js';

export interface TraceStats {
  readonly source: string;
  readonly periodMs: number;
  readonly records: number;
  readonly prefixEvents: number;
  readonly peers: number;
  readonly keys: number;
  readonly values: number;
  readonly changesPerCopy: number;
  readonly warmupChanges: number;
  readonly heldAtStart: number;
}

export interface StoredPoint {
  readonly spec: PointSpec;
  readonly result: PointResult;
  readonly wallMs: number;
  readonly finishedAt: string;
}

export interface ResultsFile {
  readonly version: number;
  trace: TraceStats;
  readonly points: Record<string, StoredPoint>;
}

export function describePoint(p: PointSpec): string {
  const v = `${voteLabel(p.vote)}, T=${p.vote.steadyMs} ms`;
  if (p.kind === 'direct') {
    const bugs = p.bugs
      ? `bugs ${p.bugs.durationMs / 1000} s / ${p.bugs.interArrivalMs / 1000} s${p.bugs.targetPool ? ` on ${p.bugs.targetPool} keys` : ''}`
      : 'no bugs';
    const kinds = p.bugs?.kinds ? ` (${p.bugs.kinds.join('/')})` : '';
    return `direct ${p.hours} h [${v}, ${bugs}${kinds}${p.delay !== 'measured' ? `, ${p.delay} delays` : ''}${p.measure ? ', measured' : ''}]`;
  }
  return `estimate [${v}, d=${p.durationMs / 1000} s${p.targetPool ? `, ${p.targetPool} keys` : ''}]`;
}

// --- formatting ------------------------------------------------------------------------------

/** A fraction of time as a percentage: 0.089 %, 7.4e-5 %, 0 %. */
export function pct(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0 %';
  const p = x * 100;
  if (Math.abs(p) >= 0.001) return `${Number(p.toPrecision(2))} %`;
  const e = Math.floor(Math.log10(Math.abs(p)));
  return `${(p / 10 ** e).toFixed(1)}e${e} %`;
}

// --- access ----------------------------------------------------------------------------------

export class Results {
  constructor(
    readonly file: ResultsFile,
    readonly pr: Preset,
  ) {}

  sim(p: PointSpec): SimResult | undefined {
    const r = this.file.points[pointId(p)]?.result;
    return r?.kind === 'direct' ? r.sim : undefined;
  }

  est(p: PointSpec): Estimate | undefined {
    const r = this.file.points[pointId(p)]?.result;
    return r?.kind === 'estimate' ? r.estimate : undefined;
  }

  baselineRate(v: VoteConfig): { rate: number; se: number; terms: number[] } | undefined {
    const e = this.est(estimatePoint(this.pr, v, this.pr.baseline.durationMs));
    return e ? rateFromEstimate(e, this.pr.baseline.interArrivalMs) : undefined;
  }
}

export const STRATEGY_HUES: Record<StrategyName, string[]> = {
  'wait-for-consensus': ['#1f4e8c', '#3f7fc8', '#86b3e3', '#1f4e8c'],
  'master-slave': ['#a0560f', '#d6862a', '#efbb7a', '#a0560f'],
  'continuous-majority': ['#25703a', '#3fa35a', '#8fd19e', '#25703a'],
};

export function seriesStyle(v: VoteConfig): { color: string; dashed: boolean } {
  const i = REPLICA_SETS.findIndex((r) => r.replicas === v.replicas && r.standby === v.standby);
  return { color: STRATEGY_HUES[v.strategy][Math.max(0, i)]!, dashed: v.standby > 0 };
}

export function shortLabel(v: VoteConfig): string {
  const s =
    v.strategy === 'wait-for-consensus'
      ? `wait-${v.replicas}`
      : v.strategy === 'master-slave'
        ? 'master/slave'
        : 'cont.-majority';
  return `${s} R=${v.replicas}${v.standby ? '+1' : ''}`;
}

/** An estimate as a chart point at x; zero or negative estimates are left out. */
export function ratePoint(x: number, r: { rate: number; se: number }): Point | undefined {
  if (!(r.rate > 0)) return undefined;
  const lo = r.rate - 1.96 * r.se;
  return { x, y: r.rate, ...(lo > 0 ? { lo } : {}), hi: r.rate + 1.96 * r.se };
}

// --- report ----------------------------------------------------------------------------------

export const PAPER = 'C. Keller et al., "Virtually Eliminating Router Bugs", CoNEXT 2009';

/** What every section of the report reads. */
export interface Ctx {
  readonly R: Results;
  readonly pr: Preset;
  readonly file: ResultsFile;
  readonly t: TraceStats;
  readonly svgs: Map<string, string>;
  readonly base: Preset['baseline'];
  readonly T: number;
  readonly all: VoteConfig[];
  readonly r3: VoteConfig[];
  readonly copies: number;
  readonly sigma: number;
  readonly overhead: OverheadFile | undefined;
}

export function fmtMin(msv: number): string {
  return msv >= 3_600_000
    ? `${num(msv / 3_600_000, 3)} h`
    : msv >= 60_000
      ? `${num(msv / 60_000, 3)} min`
      : `${num(msv / 1000, 3)} s`;
}

export function waitCell(measured: number | undefined, paper: number | undefined): string {
  const a = measured === undefined ? 'not run' : ms(measured);
  const b = paper === undefined ? 'not run' : ms(paper);
  return `${a} / ${b}`;
}

export function cdfPoints(h: LogHistogram): Point[] {
  return h.cdf().map(([x, y]) => ({ x, y }));
}

export function countCdfPoints(h: CountHistogram): Point[] {
  let total = 0;
  for (const [, n] of h) total += n;
  const pts: Point[] = [];
  let acc = 0;
  for (const [v, n] of h) {
    acc += n;
    pts.push({ x: Math.max(1, v), y: acc / total });
  }
  return pts;
}

export function overheadRow(name: string, h: CountHistogram, total: number): string[] {
  return [
    name,
    int(total),
    num(countMean(h), 3),
    int(countQuantile(h, 0.5)),
    int(countQuantile(h, 0.99)),
    int(h.length ? h[h.length - 1]![0] : 0),
    `${num(countCdfAt(h, 100) * 100, 3)} %`,
  ];
}
