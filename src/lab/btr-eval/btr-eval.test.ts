// `nonstop lab btr-eval --quick` end to end: every point runs, the report has every figure,
// and a second run resumes from the results file instead of running anything again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireData } from '../../../test/support/data.js';
import { QUICK, buildPlan } from './plan.js';
import { DataMissingError, loadResults, runEval } from './run.js';

test('the quick evaluation produces a report with every figure, and resumes', async (t) => {
  const trace = requireData(t, 'hdb3-MRT/latest-update.gz');
  if (!trace) return;
  const dir = mkdtempSync(join(tmpdir(), 'btr-eval-'));
  try {
    const lines: string[] = [];
    const opts = {
      preset: QUICK,
      outDir: dir,
      docDir: join(dir, 'doc'),
      tracePath: trace,
      fresh: true,
      jobs: 2,
      log: (l: string) => void lines.push(l),
      tty: false,
    };
    const first = await runEval(opts);
    const plan = buildPlan(QUICK);
    assert.equal(first.ran, plan.points.size);
    const results = loadResults(join(dir, 'results.json'));
    assert.ok(results);
    for (const id of plan.points.keys()) assert.ok(results.points[id], `missing ${id}`);
    // Progress went to the log: what ran, how far.
    assert.ok(lines.some((l) => /points, elapsed .* ETA/.test(l) || /^btr-eval: done /.test(l)));
    const md = readFileSync(first.report, 'utf8');
    for (const section of [
      '## Side by side with the paper',
      '### Fault rate against bug duration (paper Figure 3)',
      '### Fault rate against bug inter-arrival time (paper Figure 4)',
      '### Waiting time',
      '### Update overhead (paper Figure 5)',
      '### The threshold T: false negatives against fault rate (paper Figure 6)',
      '### Validation of the estimator',
      '## Processing overhead (§5.2)',
      '### Metrics',
      '### The estimator',
    ]) {
      assert.ok(md.includes(section), section);
    }
    for (const paper of [
      '0.088 %',
      '0.003 %',
      '0.089 %',
      '0.06 %',
      '0.02 %',
      '0.0006 %',
      '0.0008 %',
      '0.02 s',
      '0.035 s',
    ]) {
      assert.ok(md.includes(`| ${paper}`), `paper figure ${paper} in the side-by-side table`);
    }
    const images = [...md.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    for (const f of [
      'btr-fig3-duration.svg',
      'btr-fig4-interarrival.svg',
      'btr-fig5-overhead.svg',
      'btr-fig6-false-negatives.svg',
      'btr-fig6-fault-rate.svg',
      'btr-waiting.svg',
    ]) {
      assert.ok(images.includes(f), `${f} is shown`);
    }
    for (const f of images) {
      const svg = readFileSync(join(dir, 'doc', f), 'utf8');
      assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'), f);
      assert.ok(!/NaN|Infinity/.test(svg), `${f} has only finite numbers`);
    }
    assert.ok(!/\bNaN\b/.test(md), 'no NaN in the report');
    // Resuming: nothing left to run, the same report.
    const again = await runEval({ ...opts, fresh: false });
    assert.equal(again.ran, 0);
    assert.equal(readFileSync(again.report, 'utf8'), md);
    // --only: a group already done runs nothing either.
    assert.equal((await runEval({ ...opts, fresh: false, only: ['fig6'] })).ran, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing trace is an error that says where the data should be', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'btr-eval-'));
  try {
    await assert.rejects(
      runEval({
        preset: QUICK,
        outDir: dir,
        docDir: dir,
        tracePath: join(dir, 'no-such-trace.gz'),
        fresh: false,
        jobs: 1,
        log: () => undefined,
        tty: false,
      }),
      (e: unknown) =>
        e instanceof DataMissingError &&
        /shared\/data/.test(e.message) &&
        /--trace/.test(e.message),
    );
    assert.ok(!existsSync(join(dir, 'btr.md')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
