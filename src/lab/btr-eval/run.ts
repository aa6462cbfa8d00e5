// `nonstop lab btr-eval`: runs the points of the plan (plan.ts) on worker threads, shows
// progress on stderr, keeps every finished point in <out>/results.json (so an interrupted
// run resumes where it stopped), and writes the report (report.ts).

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { replaceFile } from '../../lib/files.js';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  GROUPS,
  buildPlan,
  pointCost,
  type Group,
  type OnlyChoice,
  type PointSpec,
  type Preset,
} from './plan.js';
import { writeReport } from './report.js';
import { describePoint, type ResultsFile, type TraceStats } from './report-common.js';
import type { PointResult } from './run-point.js';
import { loadTrace } from './trace.js';
import { OVERHEAD_FILE, loadOverhead, runOverhead } from './overhead.js';
import type { FromWorker, ToWorker } from './worker.js';

export interface EvalOptions {
  readonly preset: Preset;
  /** Work directory: results.json lives here. */
  readonly outDir: string;
  /** Where btr.md and the SVG charts go. */
  readonly docDir: string;
  readonly tracePath: string;
  readonly fresh: boolean;
  readonly only?: readonly OnlyChoice[];
  readonly jobs: number;
  /** Progress and messages (stderr). */
  readonly log: (line: string) => void;
  /** Rewrite one progress line in place (a terminal) instead of printing one every 15 s. */
  readonly tty: boolean;
  /**
   * The §5.2 benchmark (dist/bench/btr.js), run when its results are missing; undefined (and
   * always with the quick preset): the report uses what `<out>/overhead.json` holds.
   */
  readonly overheadScript?: string;
}

export class DataMissingError extends Error {
  readonly code = 'ERR_BTR_EVAL_DATA';
}

const RESULTS_VERSION = 1;

export function loadResults(path: string): ResultsFile | undefined {
  if (!existsSync(path)) return undefined;
  const j = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
  if (j.version !== RESULTS_VERSION) return undefined;
  return j;
}

function saveResults(path: string, r: ResultsFile): void {
  replaceFile(path, JSON.stringify(r));
}

const fmtDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
};

export async function runEval(o: EvalOptions): Promise<{ report: string; ran: number }> {
  if (!existsSync(o.tracePath)) {
    throw new DataMissingError(
      `the trace ${o.tracePath} is missing: btr-eval replays ../shared/data/hdb3-MRT/latest-update.gz ` +
        '(the shared data folder next to the project; see its README.md), or give one with --trace FILE',
    );
  }
  mkdirSync(o.outDir, { recursive: true });
  const resultsPath = join(o.outDir, 'results.json');
  if (o.fresh) rmSync(resultsPath, { force: true });
  const t0 = performance.now();
  const trace = await loadTrace(o.tracePath);
  const stats: TraceStats = {
    source: o.tracePath,
    periodMs: trace.periodMs,
    records: trace.records,
    prefixEvents: trace.prefixEvents,
    peers: trace.peers,
    keys: trace.keys.length,
    values: trace.values.length,
    changesPerCopy: trace.changes.time.length,
    warmupChanges: trace.warmupChanges,
    heldAtStart: trace.initial.filter((v) => v >= 0).length,
  };
  const results: ResultsFile = loadResults(resultsPath) ?? {
    version: RESULTS_VERSION,
    trace: stats,
    points: {},
  };
  results.trace = stats;
  const plan = buildPlan(
    o.preset,
    o.only?.filter((g): g is Group => (GROUPS as readonly string[]).includes(g)),
  );
  const todo = [...plan.points].filter(([id]) => results.points[id] === undefined);
  todo.sort((a, b) => pointCost(b[1]) - pointCost(a[1]));
  o.log(
    `btr-eval (${o.preset.name}): ${trace.records} records, ${trace.keys.length} prefixes, ` +
      `${trace.changes.time.length} best-route changes per ${trace.periodMs / 1000} s copy ` +
      `(loaded in ${fmtDuration(performance.now() - t0)}); ${plan.points.size} points, ` +
      `${plan.points.size - todo.length} done before, ${todo.length} to run on ` +
      `${Math.min(o.jobs, todo.length)} worker(s); results in ${resultsPath}`,
  );
  if (todo.length > 0) await runPool(o, todo, results, resultsPath);
  const overheadPath = join(o.outDir, OVERHEAD_FILE);
  if (o.overheadScript && o.preset.name !== 'quick' && (!o.only || o.only.includes('overhead'))) {
    await runOverhead({
      path: overheadPath,
      benchScript: o.overheadScript,
      fresh: o.fresh,
      log: o.log,
    });
  }
  const report = writeReport(o.docDir, o.preset, results, loadOverhead(overheadPath));
  o.log(`btr-eval: report written to ${report} (total ${fmtDuration(performance.now() - t0)})`);
  return { report, ran: todo.length };
}

async function runPool(
  o: EvalOptions,
  todo: [string, PointSpec][],
  results: ResultsFile,
  resultsPath: string,
): Promise<void> {
  const totalCost = todo.reduce((a, [, p]) => a + pointCost(p), 0);
  let doneCost = 0;
  let doneCount = 0;
  const running = new Map<string, { spec: PointSpec; fraction: number; started: number }>();
  const start = performance.now();
  let lastLine = 0;
  const show = (force = false): void => {
    const now = performance.now();
    if (!force && now - lastLine < (o.tty ? 1000 : 15000)) return;
    lastLine = now;
    let partial = doneCost;
    for (const r of running.values()) partial += pointCost(r.spec) * r.fraction;
    const elapsed = now - start;
    const eta = partial > 0 ? (elapsed * (totalCost - partial)) / partial : Infinity;
    const cur = [...running.values()]
      .map((r) => `${describePoint(r.spec)} ${Math.round(r.fraction * 100)}%`)
      .join('; ');
    const line =
      `btr-eval: ${doneCount}/${todo.length} points, elapsed ${fmtDuration(elapsed)}, ` +
      `ETA ${fmtDuration(eta)}${cur ? ` — ${cur}` : ''}`;
    if (o.tty)
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 200) - 1)}`);
    else o.log(line);
  };
  const queue = [...todo];
  const workers: Worker[] = [];
  const n = Math.max(1, Math.min(o.jobs, todo.length));
  try {
    await new Promise<void>((resolve, reject) => {
      let active = n;
      const finishWorker = (): void => {
        if (--active === 0) resolve();
      };
      for (let w = 0; w < n; w++) {
        const worker = new Worker(new URL('./worker.js', import.meta.url), {
          workerData: { tracePath: o.tracePath },
        });
        workers.push(worker);
        let current: string | undefined;
        const next = (): void => {
          const item = queue.shift();
          if (!item) {
            current = undefined;
            void worker.terminate();
            finishWorker();
            return;
          }
          current = item[0];
          running.set(item[0], { spec: item[1], fraction: 0, started: performance.now() });
          worker.postMessage({ type: 'run', id: item[0], spec: item[1] } satisfies ToWorker);
        };
        worker.on('message', (m: FromWorker) => {
          switch (m.type) {
            case 'ready':
              next();
              return;
            case 'progress': {
              const r = running.get(m.id);
              if (r) r.fraction = m.fraction;
              show();
              return;
            }
            case 'done': {
              const r = running.get(m.id)!;
              running.delete(m.id);
              doneCost += pointCost(r.spec);
              doneCount++;
              results.points[m.id] = {
                spec: r.spec,
                result: m.result as PointResult,
                wallMs: m.wallMs,
                finishedAt: new Date().toISOString(),
              };
              saveResults(resultsPath, results);
              if (o.tty) show(true);
              else
                o.log(
                  `btr-eval: done ${describePoint(r.spec)} in ${fmtDuration(m.wallMs)} (${doneCount}/${todo.length})`,
                );
              next();
              return;
            }
            case 'error':
              reject(new Error(`btr-eval worker failed${m.id ? ` on ${m.id}` : ''}: ${m.message}`));
              return;
          }
        });
        worker.on('error', (e) => reject(e));
        worker.on('exit', (code) => {
          if (current !== undefined && code !== 0) {
            reject(new Error(`btr-eval worker exited with code ${code} while running ${current}`));
          }
        });
      }
    });
  } finally {
    for (const w of workers) void w.terminate();
    if (o.tty) process.stderr.write('\n');
  }
}
