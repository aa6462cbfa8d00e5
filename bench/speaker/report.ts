// Figures from the runs: medians with min–max per workload, DUT and FIB setting; ratios of
// nonstop's medians to each other DUT's (all from runs interleaved in one harness run);
// the Markdown tables and the SVG chart for docs/performance.md.

import type { RunResult } from './run.js';
import { barChart, type Group } from './svg.js';

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface Row {
  workload: string;
  dut: string;
  fib: boolean;
  runs: number;
  failed: number;
  errors: string[];
  ms?: Stat;
  cpuS?: Stat;
  peakRssKiB?: Stat;
  idleRssKiB?: Stat;
  updatesPerS?: Stat;
  prefixesPerS?: Stat;
  /** Kernel FIB runs: first UPDATE → whole table in the kernel. */
  kernelCompleteMs?: Stat;
}

function stat(xs: number[]): Stat | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

export function summarize(results: readonly RunResult[]): Row[] {
  const keys = [...new Set(results.map((r) => `${r.workload}|${r.dut}|${r.fib}`))];
  return keys.map((k) => {
    const rs = results.filter((r) => `${r.workload}|${r.dut}|${r.fib}` === k);
    const ok = rs.filter((r) => r.ok);
    const pick = (f: (r: RunResult) => number | undefined): Stat | undefined =>
      stat(ok.flatMap((r) => (f(r) === undefined ? [] : [f(r)!])));
    return {
      workload: rs[0]!.workload,
      dut: rs[0]!.dut,
      fib: rs[0]!.fib,
      runs: rs.length,
      failed: rs.length - ok.length,
      errors: rs.flatMap((r) => (r.error ? [r.error.split('\n')[0]!] : [])),
      ms: pick((r) => r.ms),
      cpuS: pick((r) => r.cpuS),
      peakRssKiB: pick((r) => r.peakRssKiB),
      idleRssKiB: pick((r) => r.idleRssKiB),
      updatesPerS: pick((r) => r.updatesPerS),
      prefixesPerS: pick((r) => r.prefixesPerS),
      kernelCompleteMs: pick((r) => r.kernelCompleteMs),
    };
  });
}

const f2 = (x: number): string => x.toFixed(2);
const mib = (kib: number): string => (kib / 1024).toFixed(0);
const fmtStat = (s: Stat | undefined, f: (x: number) => string): string =>
  s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : '—';
const kilo = (x: number): string => `${(x / 1000).toFixed(1)}k`;

export function ratio(
  rows: readonly Row[],
  workload: string,
  other: string,
  fib = false,
): number | undefined {
  const a = rows.find((r) => r.workload === workload && r.dut === 'nonstop' && r.fib === fib)?.ms;
  const b = rows.find((r) => r.workload === workload && r.dut === other && r.fib === fib)?.ms;
  return a && b ? a.median / b.median : undefined;
}

function memRatio(rows: readonly Row[], workload: string, other: string): number | undefined {
  const a = rows.find((r) => r.workload === workload && r.dut === 'nonstop' && !r.fib)?.peakRssKiB;
  const b = rows.find((r) => r.workload === workload && r.dut === other && !r.fib)?.peakRssKiB;
  return a && b ? a.median / b.median : undefined;
}

/** The main table: one line per workload × DUT × FIB setting. */
export function markdownTable(rows: readonly Row[], prefixesOf: (w: string) => number): string {
  const head =
    '| workload | DUT | FIB | time s, median (min–max) | CPU s | peak RSS MiB | bytes/prefix | updates/s | time ratio nonstop/DUT | whole table in kernel after s |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n';
  const lines = rows.map((r) => {
    const bpp =
      r.peakRssKiB && r.idleRssKiB
        ? ((r.peakRssKiB.median - r.idleRssKiB.median) * 1024) / prefixesOf(r.workload)
        : undefined;
    const q = r.dut === 'nonstop' ? '' : ratio(rows, r.workload, r.dut, r.fib);
    const fail = r.failed > 0 ? ` (${r.failed}/${r.runs} failed)` : '';
    return (
      `| ${r.workload} | ${r.dut}${fail} | ${r.fib ? 'kernel' : 'none'} | ${fmtStat(r.ms, (x) => f2(x / 1000))} | ` +
      `${fmtStat(r.cpuS, f2)} | ${fmtStat(r.peakRssKiB, mib)} | ${bpp === undefined ? '—' : bpp.toFixed(0)} | ` +
      `${r.updatesPerS ? kilo(r.updatesPerS.median) : '—'} | ${q === '' ? '' : q === undefined ? '—' : f2(q)} | ` +
      `${r.fib ? fmtStat(r.kernelCompleteMs, (x) => f2(x / 1000)) : ''} |`
    );
  });
  return head + lines.join('\n') + '\n';
}

export interface Target {
  what: string;
  value?: number;
  limit: number;
  holds?: boolean;
}

export function targets(rows: readonly Row[]): Target[] {
  const t = (what: string, value: number | undefined, limit: number): Target => ({
    what,
    value,
    limit,
    holds: value === undefined ? undefined : value <= limit,
  });
  return [
    t('W1 time nonstop/BIRD', ratio(rows, 'W1', 'bird'), 1),
    t('W1 time nonstop/GoBGP', ratio(rows, 'W1', 'gobgp'), 0.5),
    t('W1 time nonstop/FRR', ratio(rows, 'W1', 'frr'), 0.5),
    t('W2 time nonstop/BIRD', ratio(rows, 'W2', 'bird'), 1),
    t('W2 time nonstop/GoBGP', ratio(rows, 'W2', 'gobgp'), 0.5),
    t('W2 time nonstop/FRR', ratio(rows, 'W2', 'frr'), 0.5),
    t('W1 peak RSS nonstop/BIRD', memRatio(rows, 'W1', 'bird'), 2),
    t('W3 time nonstop/BIRD', ratio(rows, 'W3', 'bird'), 1),
  ];
}

export function targetTable(ts: readonly Target[]): string {
  return (
    '| target | measured | limit | holds |\n| --- | --- | --- | --- |\n' +
    ts
      .map(
        (t) =>
          `| ${t.what} | ${t.value === undefined ? '—' : f2(t.value)} | ≤ ${t.limit} | ${t.holds === undefined ? 'not measured' : t.holds ? 'yes' : `no (${f2(t.value! / t.limit)}× the limit)`} |`,
      )
      .join('\n') +
    '\n'
  );
}

export function chart(rows: readonly Row[]): string {
  const groups: Group[] = [...new Set(rows.map((r) => r.workload))].map((w) => ({
    title: w,
    bars: rows
      .filter((r) => r.workload === w && r.ms)
      .map((r) => ({
        series: `${r.dut}${r.fib ? ' +FIB' : ''}`,
        value: r.ms!.median / 1000,
        min: r.ms!.min / 1000,
        max: r.ms!.max / 1000,
        label: `${(r.ms!.median / 1000).toFixed(2)} s`,
      })),
  }));
  return barChart({
    title: 'BGP speaker benchmark: first UPDATE sent → last prefix at the monitor',
    unit: 'seconds, median of runs, whisker = min–max; shorter is better',
    groups,
  });
}
