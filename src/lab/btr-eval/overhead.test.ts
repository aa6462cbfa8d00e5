import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  overheadSection,
  overheadTableRows,
  type OverheadFile,
  type OverheadRow,
} from './overhead.js';

/** A row whose mean pass-through is `mean` ms (median and p99 set apart, to tell them apart). */
const row = (
  config: string,
  replicas: number,
  phase: 'trace' | 'max',
  measure: 'update' | 'fib',
  mean: number,
): OverheadRow => ({
  phase,
  measure,
  config,
  replicas,
  runs: 1,
  failed: 0,
  median: { median: mean / 2, min: mean / 2, max: mean / 2 },
  mean: { median: mean, min: mean, max: mean },
  p99: { median: mean * 10, min: mean * 10, max: mean * 10 },
  prefixesPerS: 1000 / mean,
});

const file = (): OverheadFile => {
  const rows: OverheadRow[] = [];
  // Hand-picked means: standard 2 ms; R=1 3 ms (+50 %), R=3 4 ms (+100 %, +33.3 % over R=1),
  // R=5 5 ms (+150 %, +66.7 % over R=1); at max speed 10 ms vs 12 ms at R=1 (+20 %).
  const trace: [string, number, number][] = [
    ['nonstop alone', 0, 2],
    ['BTR R=1 nonstop', 1, 3],
    ['BTR R=3 nonstop', 3, 4],
    ['BTR R=5 nonstop', 5, 5],
  ];
  for (const [c, r, m] of trace) {
    rows.push(row(c, r, 'trace', 'fib', m), row(c, r, 'trace', 'update', m / 2));
    rows.push(row(c, r, 'max', 'fib', r === 0 ? 10 : 10 + 2 * r), row(c, r, 'max', 'update', 9));
  }
  return {
    date: '2026-11-21T00:00:00.000Z',
    machine: 'test',
    git: 'test',
    traceRate: 190,
    args: { runs: 1, traceS: 10, max: 10000 },
    summary: rows,
  };
};

test('the hypervisor rows compare means with the standard router and with R = 1', () => {
  const [one, three, max] = overheadTableRows(file());
  assert.match(one![2]!, /^\+50 % → 3 ms \(standard router 2 ms\)$/);
  assert.match(
    three![2]!,
    /^\+100 % \/ \+150 % over the standard router; \+33\.3 % \/ \+66\.7 % over R = 1$/,
  );
  assert.match(max![2]!, /R=1 \+20 %, R=3 \+60 %, R=5 \+100 %/);
});

test('without results the rows and the section say it was not measured', () => {
  for (const r of overheadTableRows(undefined)) assert.match(r[2]!, /not measured/);
  const svgs = new Map<string, string>();
  assert.match(overheadSection(undefined, svgs).join('\n'), /Not measured/);
  assert.equal(svgs.size, 0);
});

test('the section has both speeds and a finite Figure 7', () => {
  const svgs = new Map<string, string>();
  const md = overheadSection(file(), svgs).join('\n');
  assert.match(md, /### At trace speed/);
  assert.match(md, /### As fast as the feeder sends/);
  const svg = svgs.get('btr-fig7-pass-through.svg')!;
  assert.ok(svg.startsWith('<svg') && !/NaN|Infinity/.test(svg));
});
