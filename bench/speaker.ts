// Benchmark (issue 4): nonstop speaker against BIRD 2, GoBGP and FRR bgpd. For every
// workload and DUT, in a fresh lab: injector → DUT → monitor (see bench/speaker/). Runs are
// interleaved (round r runs every DUT once, in an order rotated per round), so the
// ratios compare runs taken under the same conditions.
//
// Usage: npm run bench:speaker -- [--workloads W1,W2,W3,W4] [--duts nonstop,bird,gobgp,frr]
//          [--runs N] [--fib W1,...|none] [--quick] [--[no-]profile] [--no-doc] [--timeout S]
// --quick: W1 only, at a tenth of the size (100k prefixes), one run, no FIB runs, no
// profile, docs untouched (each can be asked for explicitly).
// Writes bench/results/speaker-<timestamp>.json; a full run (not --quick) also rewrites the
// generated part of docs/performance.md and docs/performance-speaker.svg.

import {
  mkdirSync,
  mkdtempSync,
  copyFileSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { labProblems } from '../src/lab/index.js';
import {
  birdVersion,
  frrVersion,
  gitDescribe,
  gobgpVersion,
  machineBase,
  projectRoot,
  replaceDocBlock,
} from './speaker/host.js';
import { describeModel, ipv6LengthsFromUpdates, modelFromRibDump } from './speaker/model.js';
import { topFunctions } from './speaker/profile.js';
import { chart, markdownTable, summarize, targetTable, targets } from './speaker/report.js';
import { runOnce, type DutKind, type RunResult } from './speaker/run.js';
import { makeW1, makeW2, makeW3, makeW4, type Workload } from './speaker/workloads.js';

const root = projectRoot();
const data = resolve(root, '../shared/data');
const RIB_DUMP = 'RIPE-NCC-bgpdump/test_data/bview.20020722.2337.gz';
const TRACE = 'hdb3-MRT/latest-update.gz';
const ALL_DUTS: DutKind[] = ['nonstop', 'bird', 'gobgp', 'frr'];
const FIB_DUTS: DutKind[] = ['nonstop', 'bird'];

interface Args {
  workloads: string[];
  duts: DutKind[];
  runs: number;
  fib: string[];
  quick: boolean;
  profile: boolean;
  doc: boolean;
  timeoutS: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    workloads: ['W1', 'W2', 'W3', 'W4'],
    duts: ALL_DUTS,
    runs: 3,
    fib: ['W1', 'W2', 'W3', 'W4'],
    quick: false,
    profile: true,
    doc: true,
    timeoutS: 900,
  };
  let workloadsGiven = false;
  let fibGiven = false;
  let profileGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    const list = (s: string): string[] =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');
    if (k === '--workloads') {
      a.workloads = list(v()).map((x) => x.toUpperCase());
      workloadsGiven = true;
    } else if (k === '--duts') a.duts = list(v()) as DutKind[];
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--fib') {
      const x = v();
      a.fib = x === 'none' ? [] : list(x).map((y) => y.toUpperCase());
      fibGiven = true;
    } else if (k === '--quick') a.quick = true;
    else if (k === '--no-profile') a.profile = false;
    else if (k === '--profile') profileGiven = true;
    else if (k === '--no-doc') a.doc = false;
    else if (k === '--timeout') a.timeoutS = Number(v());
    else throw new Error(`unknown argument ${k}; see the header of bench/speaker.ts`);
  }
  for (const w of a.workloads) if (!/^W[1-4]$/.test(w)) throw new Error(`unknown workload ${w}`);
  for (const d of a.duts) if (!ALL_DUTS.includes(d)) throw new Error(`unknown DUT ${d}`);
  if (!(a.runs >= 1)) throw new Error('--runs must be at least 1');
  if (a.quick) {
    if (!workloadsGiven) a.workloads = ['W1'];
    if (!fibGiven) a.fib = [];
    a.runs = 1;
    a.profile = profileGiven;
    a.doc = false;
  }
  return a;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function machine(): string {
  return `${machineBase()}, BIRD ${birdVersion()}, GoBGP ${gobgpVersion()}, FRR ${frrVersion()}`;
}

async function buildWorkloads(
  a: Args,
  dir: string,
): Promise<{ workloads: Workload[]; model: Record<string, unknown> }> {
  const t = Date.now();
  const model = await modelFromRibDump(join(data, RIB_DUMP), RIB_DUMP);
  const scale = a.quick ? 0.1 : 1;
  const out: Workload[] = [];
  for (const id of a.workloads) {
    if (id === 'W1') out.push(makeW1(model, Math.round(1_000_000 * scale)));
    if (id === 'W2') out.push(makeW2(model, 10, Math.round(100_000 * scale)));
    if (id === 'W3') out.push(await makeW3(join(data, TRACE), TRACE));
    if (id === 'W4') {
      const v6 = await ipv6LengthsFromUpdates(join(data, TRACE));
      out.push(makeW4(model, v6.lengths, Math.round(200_000 * scale)));
    }
  }
  for (const w of out) {
    w.streams.forEach((s, i) => writeFileSync(join(dir, `${w.id}-${i}.bin`), s.bytes));
    const msgs = w.streams.reduce((s, x) => s + x.messages, 0);
    const pfx = w.streams.reduce((s, x) => s + x.prefixes, 0);
    const mb = w.streams.reduce((s, x) => s + x.bytes.length, 0) / 2 ** 20;
    log(`${w.id}: ${w.title}: ${msgs} UPDATEs, ${pfx} prefixes, ${mb.toFixed(1)} MiB pre-encoded`);
    for (const n of w.notes) log(`  ${n}`);
  }
  log(`workloads built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return { workloads: out, model: describeModel(model) };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const problems = await labProblems();
  if (problems.length > 0) throw new Error(`the lab cannot run here:\n${problems.join('\n')}`);
  const dir = mkdtempSync(join(tmpdir(), 'nst-bench-speaker-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { workloads, model } = await buildWorkloads(a, dir);

  const plan: { w: Workload; dut: DutKind; fib: boolean; round: number }[] = [];
  for (const w of workloads) {
    for (let round = 0; round < a.runs; round++) {
      const duts = a.duts.map((_, i) => a.duts[(i + round) % a.duts.length]!);
      for (const dut of duts) plan.push({ w, dut, fib: false, round });
      if (a.fib.includes(w.id)) {
        for (const dut of duts.filter((d) => FIB_DUTS.includes(d)))
          plan.push({ w, dut, fib: true, round });
      }
    }
  }
  const results: RunResult[] = [];
  const started = Date.now();
  for (const [k, p] of plan.entries()) {
    const tag = `[${k + 1}/${plan.length}] ${p.w.id} ${p.dut}${p.fib ? '+fib' : ''} round ${p.round + 1}`;
    const expect = p.w.expectPrefixes ?? p.w.sentinels ?? 0;
    log(`${tag}: starting (elapsed ${((Date.now() - started) / 60000).toFixed(1)} min)`);
    const r = await runOnce({
      workload: p.w,
      files: p.w.streams.map((_, i) => join(dir, `${p.w.id}-${i}.bin`)),
      dut: p.dut,
      fib: p.fib,
      round: p.round,
      timeoutMs: a.timeoutS * 1000,
      progress: (n, s) =>
        log(
          `${tag}: ${n.toLocaleString('en')} prefixes at the monitor${p.w.sentinels ? '' : ` of ${expect.toLocaleString('en')}`} after ${s.toFixed(0)} s`,
        ),
    });
    results.push(r);
    log(
      r.ok
        ? `${tag}: ${(r.ms! / 1000).toFixed(2)} s, CPU ${r.cpuS!.toFixed(2)} s, peak RSS ${(r.peakRssKiB! / 1024).toFixed(0)} MiB` +
            (r.kernelRoutes === undefined
              ? ''
              : `; kernel table ${r.kernelRoutes} routes when the monitor was done, ` +
                (r.kernelCompleteMs === undefined
                  ? 'not complete within 120 s more'
                  : `complete after ${(r.kernelCompleteMs / 1000).toFixed(1)} s`))
        : `${tag}: FAILED: ${r.error}`,
    );
  }

  let profile: string | undefined;
  const w1 = workloads.find((w) => w.id === 'W1');
  if (a.profile && w1 && a.duts.includes('nonstop')) {
    const profDir = join(dir, 'prof');
    mkdirSync(profDir);
    log('profile: nonstop on W1 with --cpu-prof (not part of the figures)');
    const r = await runOnce({
      workload: w1,
      files: w1.streams.map((_, i) => join(dir, `${w1.id}-${i}.bin`)),
      dut: 'nonstop',
      fib: false,
      round: -1,
      timeoutMs: a.timeoutS * 1000,
      cpuProfDir: profDir,
      progress: (n, s) =>
        log(`profile: ${n.toLocaleString('en')} prefixes after ${s.toFixed(0)} s`),
    });
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (r.ok && file) {
      profile = topFunctions(JSON.parse(readFileSync(join(profDir, file), 'utf8')), 15, r.ms!);
      log(profile);
      // Kept for a closer look (e.g. Chrome DevTools' Performance panel).
      const kept = join(root, 'bench', 'results', 'speaker-W1-nonstop.cpuprofile');
      mkdirSync(dirname(kept), { recursive: true });
      copyFileSync(join(profDir, file), kept);
      log(`profile: ${kept}`);
    } else log(`profile: failed: ${r.error ?? 'no .cpuprofile written'}`);
  }

  const rows = summarize(results);
  const prefixesOf = (id: string): number =>
    workloads.find((w) => w.id === id)!.streams.reduce((s, x) => s + x.prefixes, 0);
  const table = markdownTable(rows, prefixesOf);
  const tgt = targets(rows);
  const when = new Date().toISOString();
  const out = {
    date: when,
    machine: machine(),
    /** The tree the nonstop DUT ran from (others edit src/speaker concurrently). */
    git: gitDescribe(root),
    args: a,
    model,
    workloads: workloads.map((w) => ({
      id: w.id,
      title: w.title,
      notes: w.notes,
      sessions: w.streams.length,
      updates: w.streams.reduce((s, x) => s + x.messages, 0),
      prefixes: prefixesOf(w.id),
      octets: w.streams.reduce((s, x) => s + x.bytes.length, 0),
    })),
    results,
    summary: rows,
    targets: tgt,
    profile,
  };
  const resultsDir = join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, `speaker-${when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${table}\n${targetTable(tgt)}\nresults: ${jsonPath}\n`);

  if (a.doc) {
    writeFileSync(join(root, 'docs', 'performance-speaker.svg'), chart(rows));
    const gen =
      `<!-- generated by npm run bench:speaker (${when}); edit bench/speaker/report.ts, not this block -->\n\n` +
      `Machine: ${out.machine}. Runs per DUT: ${a.runs}. Results: \`bench/results/${jsonPath.split('/').pop()}\`.\n\n` +
      `${table}\n${targetTable(tgt)}\n![speaker benchmark chart](performance-speaker.svg)\n` +
      (profile
        ? `\nnonstop on W1, \`--cpu-prof\` of the DUT process, top functions by self time:\n\n${profile}\n`
        : '');
    replaceDocBlock(join(root, 'docs', 'performance.md'), 'speaker', gen);
    log(`docs/performance.md and docs/performance-speaker.svg updated`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:speaker: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
