// Benchmark (issue 5, "Speed"): pass-through time of the bug-tolerant router — an UPDATE in
// from one neighbour → the voted UPDATE out to the other — for R = 1, 3, 5 nonstop replicas
// behind the hypervisor, against the same daemon as the router on its own (no hypervisor),
// at a moderate rate (the RIS trace's mean rate) and at maximum speed. Optionally a diverse
// router (nonstop + BIRD 2 + FRR replicas), with BIRD and FRR alone as its references.
//
// Usage: npm run bench:btr -- [--runs N] [--replicas 1,3,5] [--[no-]diverse]
//          [--trace-s S] [--max N] [--[no-]voter] [--no-doc] [--quick] [--overhead] [--out F]
// --overhead: the BTR paper's §5.2 (Fig. 7) set for `nonstop lab btr-eval`: R = 1 to 31
// nonstop replicas, the diverse routers R = 3 and R = 5, one run, results to
// bench/results/btr-eval/overhead.json (or --out), docs untouched (the evaluation report
// reads the results).
// --quick: R = 1 and 3 only, one run, 3 s at trace rate, 2,000 prefixes at maximum speed,
// no diverse router, no voter micro-benchmark, docs untouched.
// Writes bench/results/btr-<timestamp>.json; a full run (not --quick) also rewrites the
// generated block `bench:btr` of docs/performance.md.
//
// Per run, a fresh lab (src/lab/): feeder → router → receiver, each in its namespace. The
// router namespace holds either the daemon itself (the reference) or the hypervisor
// (src/lab/btr-router-runner.ts, the tests' runner) with R replicas in namespaces of their
// own behind the transparent proxy (src/lab/btr-replica.ts). The feeder and the receiver
// are child processes (bench/btr/peer.ts) timestamping with CLOCK_MONOTONIC: the feeder
// when each UPDATE is handed to its socket, the receiver when the UPDATE announcing the
// prefix arrives. One prefix per UPDATE, each with its own attribute set (bench/btr/stream.ts).
// A third child (bench/btr/fib-watch.ts) in the router namespace follows its kernel table:
// FIB pass-through is the feeder's send time to the prefix's appearance there (installed by
// the daemon alone, or by the hypervisor's FIB vote over its replicas' kernel tables).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BtrRouterConfig } from '../src/lab/btr-router-runner.js';
import { btrRouterRunner } from '../src/lab/btr-lab.js';
import {
  Lab,
  btrReplica,
  labProblems,
  type BtrRouterSpec,
  type DaemonSpec,
  type LabNode,
} from '../src/lab/index.js';
import { startChild, waitEvent, type Child } from './speaker/child.js';
import {
  birdVersion,
  frrVersion,
  gitDescribe,
  machineBase,
  projectRoot,
  replaceDocBlock,
} from './speaker/host.js';
import { encodeStream } from './btr/stream.js';

const root = projectRoot();
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/**
 * The RIS trace `hdb3-MRT/latest-update.gz` (../shared/data): 57,149 BGP UPDATEs in five
 * minutes (2018-12-18 11:40–11:45 UTC; docs/performance.md, MRT section), 190 per second on
 * average. Its timestamps have one-second resolution, so the trace-speed phase sends at that
 * mean rate, evenly spaced.
 */
const TRACE_RATE = 190;

const ROUTER: BtrRouterSpec = {
  routerId: '198.18.0.1',
  asn: 65001,
  addresses: ['198.18.1.1/30', '198.18.2.1/30'],
  neighbors: [
    { address: '198.18.1.2', asn: 65002, localAddress: '198.18.1.1' },
    { address: '198.18.2.2', asn: 65003, localAddress: '198.18.2.1' },
  ],
};
const FEEDER = { local: '198.18.1.2', remote: '198.18.1.1', asn: 65002, bgpId: '198.18.1.2' };
const RECEIVER = { local: '198.18.2.2', remote: '198.18.2.1', asn: 65003, bgpId: '198.18.2.2' };
const HOLD = 240;

type Kind = 'nonstop' | 'bird' | 'frr';

interface RouterConfig {
  /** "nonstop alone", "BTR R=3 nonstop", … */
  id: string;
  /** Replica kinds behind the hypervisor; `direct`: the one daemon is the router. */
  direct: boolean;
  kinds: Kind[];
}

interface Args {
  runs: number;
  replicas: number[];
  diverse: boolean;
  traceS: number;
  max: number;
  voter: boolean;
  doc: boolean;
  quick: boolean;
  /** The BTR paper's §5.2 set (see the header). */
  overhead: boolean;
  /** Results file (default bench/results/btr-<timestamp>.json). */
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    runs: 3,
    replicas: [1, 3, 5],
    diverse: true,
    traceS: 10,
    max: 10_000,
    voter: true,
    doc: true,
    quick: false,
    overhead: false,
  };
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    given.add(k);
    if (k === '--runs') a.runs = Number(v());
    else if (k === '--replicas') a.replicas = v().split(',').map(Number);
    else if (k === '--diverse') a.diverse = true;
    else if (k === '--no-diverse') a.diverse = false;
    else if (k === '--trace-s') a.traceS = Number(v());
    else if (k === '--max') a.max = Number(v());
    else if (k === '--voter') a.voter = true;
    else if (k === '--no-voter') a.voter = false;
    else if (k === '--no-doc') a.doc = false;
    else if (k === '--quick') a.quick = true;
    else if (k === '--overhead') a.overhead = true;
    else if (k === '--out') a.out = v();
    else throw new Error(`unknown argument ${k}; see the header of bench/btr.ts`);
  }
  if (a.quick) {
    if (!given.has('--runs')) a.runs = 1;
    if (!given.has('--replicas')) a.replicas = [1, 3];
    if (!given.has('--diverse')) a.diverse = false;
    if (!given.has('--trace-s')) a.traceS = 3;
    if (!given.has('--max')) a.max = 2000;
    if (!given.has('--voter')) a.voter = false;
    a.doc = false;
  }
  if (a.overhead) {
    if (!given.has('--runs')) a.runs = 1;
    if (!given.has('--replicas')) a.replicas = OVERHEAD_REPLICAS;
    if (!given.has('--voter')) a.voter = false;
    a.out ??= join(root, 'bench', 'results', 'btr-eval', 'overhead.json');
    a.doc = false;
  }
  if (!(a.runs >= 1)) throw new Error('--runs must be at least 1');
  for (const r of a.replicas)
    if (!(Number.isInteger(r) && r >= 1 && r <= 31)) throw new Error(`--replicas: bad R ${r}`);
  if (!(a.traceS > 0) || !(a.max >= 1)) throw new Error('--trace-s and --max must be positive');
  return a;
}

/** R for the §5.2 set: 1 to 31 nonstop replicas (the paper's Fig. 7 goes to 31). */
const OVERHEAD_REPLICAS = [1, 2, 3, 4, 5, 7, 9, 11, 15, 21, 31];

function configs(a: Args): RouterConfig[] {
  const out: RouterConfig[] = [{ id: 'nonstop alone', direct: true, kinds: ['nonstop'] }];
  for (const r of a.replicas) {
    out.push({
      id: `BTR R=${r} nonstop`,
      direct: false,
      kinds: Array.from({ length: r }, () => 'nonstop' as const),
    });
  }
  if (a.diverse) {
    out.push({ id: 'BIRD alone', direct: true, kinds: ['bird'] });
    out.push({ id: 'FRR alone', direct: true, kinds: ['frr'] });
    out.push({ id: 'BTR R=3 nonstop+BIRD+FRR', direct: false, kinds: ['nonstop', 'bird', 'frr'] });
    if (a.overhead) {
      out.push({
        id: 'BTR R=5 2×nonstop+2×BIRD+FRR',
        direct: false,
        kinds: ['nonstop', 'bird', 'frr', 'nonstop', 'bird'],
      });
    }
  }
  return out;
}

// --- statistics ------------------------------------------------------------------------

/** Nearest-rank percentile of sorted `xs` (p in [0, 100]). */
function percentile(xs: Float64Array | number[], p: number): number {
  if (xs.length === 0) return NaN;
  const k = Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1));
  return xs[k]!;
}

interface Latency {
  prefixes: number;
  arrived: number;
  meanMs: number;
  medianMs: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  /** First UPDATE sent → last prefix at the receiver. */
  spanMs: number;
  prefixesPerS: number;
}

function latency(sent: Float64Array, got: Float64Array): { summary: Latency; ms: Float64Array } {
  const ms: number[] = [];
  let last = -Infinity;
  for (let i = 0; i < sent.length; i++) {
    if (Number.isNaN(got[i]!)) continue;
    ms.push(got[i]! - sent[i]!);
    if (got[i]! > last) last = got[i]!;
  }
  const sorted = Float64Array.from(ms).sort();
  const spanMs = last - sent[0]!;
  return {
    summary: {
      prefixes: sent.length,
      arrived: sorted.length,
      meanMs: ms.reduce((x, y) => x + y, 0) / ms.length,
      medianMs: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      minMs: sorted[0] ?? NaN,
      maxMs: sorted[sorted.length - 1] ?? NaN,
      spanMs,
      prefixesPerS: sorted.length / (spanMs / 1000),
    },
    ms: sorted,
  };
}

// --- one run ---------------------------------------------------------------------------

type Phase = 'trace' | 'max';

interface RunResult {
  config: string;
  round: number;
  ok: boolean;
  error?: string;
  phases: Partial<Record<Phase, Latency>>;
  /** FIB pass-through: UPDATE sent → the prefix in the router namespace's kernel table. */
  fib: Partial<Record<Phase, Latency>>;
}

/** The router's configuration as one daemon: what each replica runs (btrReplica's spec). */
function daemonSpec(name: string, ns: string, passive: boolean): DaemonSpec {
  const { addresses: _a, ...router } = ROUTER;
  return {
    ...router,
    name,
    ns,
    kernelFib: true,
    logLevel: 'info',
    neighbors: ROUTER.neighbors.map((n) => ({
      ...n,
      nextHopSelf: true,
      ...(passive ? { passive: true } : {}),
    })),
  };
}

/** Starts the router in `rt`: the daemon itself, or the hypervisor and its replicas. */
async function startRouter(
  lab: Lab,
  rt: LabNode,
  c: RouterConfig,
): Promise<{ alive: () => string | undefined; ready: () => Promise<void> }> {
  if (c.direct) {
    const d = lab.daemon(c.kinds[0]!, daemonSpec('router', rt.ns, true));
    await d.start();
    return {
      alive: () => (d.running() ? undefined : `router died:\n${d.logs().slice(-2000)}`),
      ready: async () => {},
    };
  }
  const replicas = await Promise.all(
    c.kinds.map((kind, slot) =>
      btrReplica(lab, {
        name: `r${slot}${kind}`,
        kind,
        // nonstop and BIRD connect; FRR is passive and the hypervisor connects to it, as in
        // src/lab/btr-lab.ts.
        mode: kind === 'frr' ? 'connect' : 'accept',
        router: ROUTER,
        routerNode: rt,
        slot,
        daemon: { logLevel: 'info' },
      }),
    ),
  );
  const cfg: BtrRouterConfig = {
    hypervisor: {
      router: { asn: ROUTER.asn, routerId: ROUTER.routerId },
      neighbors: ROUTER.neighbors.map((n) => ({
        name: n.address,
        address: n.address,
        asn: n.asn,
        localAddress: n.localAddress!,
        passive: true,
        holdTime: 90,
      })),
      listen: ROUTER.neighbors.map((n) => ({ address: n.localAddress!, port: 179 })),
      voting: { strategy: { kind: 'continuous-majority' }, steadyMs: 1000 },
      catchUp: { quietMs: 1000, maxMs: 10_000 },
    },
    replicas: replicas.map((r) => ({ name: r.name, proxy: r.proxy, ns: r.node.ns, kind: r.kind })),
    // The FIB vote: each replica's kernel table followed, the voted routes installed here.
    fib: { logInstalled: false },
  };
  const file = join(lab.dir, 'btr-router.json');
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  const hv = lab.spawn(rt, process.execPath, [btrRouterRunner, file], { name: 'hypervisor' });
  await Promise.all(replicas.map((r) => r.start()));
  // Replicas present from the start vote as soon as they are caught up (replica-channel.ts).
  const voting = (): number =>
    hv
      .logTail(1e9)
      .split('\n')
      .filter((l) => l.includes('"replica-caught-up"')).length;
  return {
    alive: () => {
      if (!hv.running()) return `hypervisor died:\n${hv.logTail(2000)}`;
      const dead = replicas.find((r) => !r.running());
      return dead ? `replica ${dead.name} died:\n${dead.daemon.logs().slice(-2000)}` : undefined;
    },
    // Every replica votes on both neighbour sessions (after its catch-up).
    ready: async () => {
      const want = replicas.length * ROUTER.neighbors.length;
      const waitS = 30 + 5 * replicas.length;
      const deadline = Date.now() + waitS * 1000;
      while (voting() < want) {
        if (Date.now() > deadline)
          throw new Error(
            `only ${voting()} of ${want} replica sessions caught up after ${waitS} s`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

/** A Float64Array copy of a file's octets (a Buffer may be a view into a larger pool). */
const floats = (b: Buffer): Float64Array =>
  new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runOnce(
  c: RouterConfig,
  round: number,
  a: Args,
  progress: (s: string) => void,
): Promise<RunResult> {
  const res: RunResult = { config: c.id, round, ok: false, phases: {}, fib: {} };
  const lab = Lab.create();
  let feeder: Child | undefined;
  let receiver: Child | undefined;
  let fibWatch: Child | undefined;
  try {
    const rt = await lab.node('rt');
    const nf = await lab.node('feed');
    const nr = await lab.node('recv');
    await lab.link(
      { node: rt, addresses: ['198.18.1.1/30'] },
      { node: nf, addresses: ['198.18.1.2/30'] },
    );
    await lab.link(
      { node: rt, addresses: ['198.18.2.1/30'] },
      { node: nr, addresses: ['198.18.2.2/30'] },
    );
    const router = await startRouter(lab, rt, c);
    const peer = join(root, 'dist', 'bench', 'btr', 'peer.js');
    fibWatch = startChild(
      rt.ns,
      join(root, 'dist', 'bench', 'btr', 'fib-watch.js'),
      {},
      lab.dir,
      'fib',
    );
    await waitEvent(fibWatch, 'established', 30_000, 'fib-watch');
    const base = { holdTime: HOLD };
    receiver = startChild(nr.ns, peer, { ...base, ...RECEIVER, role: 'receiver' }, lab.dir, 'recv');
    feeder = startChild(nf.ns, peer, { ...base, ...FEEDER, role: 'feeder' }, lab.dir, 'feed');
    await waitEvent(receiver, 'established', 120_000, 'receiver', router.alive);
    await waitEvent(feeder, 'established', 120_000, 'feeder', router.alive);
    await router.ready();

    let next = 0;
    let id = 0;
    const phase = async (
      what: string,
      count: number,
      rate: number,
      timeoutMs: number,
    ): Promise<{ update: Latency; fib: Latency }> => {
      const from = next;
      next += count;
      const k = ++id;
      const file = join(lab.dir, `stream-${k}.bin`);
      writeFileSync(file, encodeStream(from, count, FEEDER.asn, FEEDER.local));
      const sentFile = join(lab.dir, `sent-${k}.bin`);
      const isK = (e: Record<string, unknown>): boolean => e.id === k;
      const observers = [
        { who: 'receiver', child: receiver!, out: join(lab.dir, `got-${k}.bin`) },
        { who: 'fib-watch', child: fibWatch!, out: join(lab.dir, `fib-${k}.bin`) },
      ];
      for (const o of observers)
        o.child.proc.stdin!.write(`${JSON.stringify({ cmd: 'expect', from, count, id: k })}\n`);
      feeder!.proc.stdin!.write(
        `${JSON.stringify({ cmd: 'send', file, rate, out: sentFile, id: k })}\n`,
      );
      let error: string | undefined;
      try {
        await Promise.all(
          observers.map((o) => waitEvent(o.child, 'complete', timeoutMs, o.who, router.alive, isK)),
        );
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      await waitEvent(feeder!, 'sent', 60_000, 'feeder', undefined, isK);
      for (const o of observers) {
        o.child.proc.stdin!.write(
          `${JSON.stringify({ cmd: 'dump', from, count, out: o.out, id: k })}\n`,
        );
        await waitEvent(o.child, 'dumped', 10_000, o.who, undefined, isK);
      }
      const sent = floats(readFileSync(sentFile));
      const [update, fib] = observers.map(
        (o) => latency(sent, floats(readFileSync(o.out))).summary,
      );
      for (const [name, l] of [
        ['UPDATE', update!],
        ['FIB', fib!],
      ] as const) {
        progress(
          `${what} ${name}: ${l.arrived}/${l.prefixes} prefixes, median ${l.medianMs.toFixed(2)} ms, ` +
            `p99 ${l.p99Ms.toFixed(2)} ms, ${Math.round(l.prefixesPerS)} prefixes/s`,
        );
      }
      if (error) throw new Error(`${what}: ${error}`);
      return { update: update!, fib: fib! };
    };
    // Warm-up: a probe, and a second of quiet (the replicas' catch-up, timers).
    await phase('warm-up', 10, 0, 60_000);
    await sleep(1500);
    const traceN = Math.max(1, Math.round(a.traceS * TRACE_RATE));
    const trace = await phase('trace', traceN, TRACE_RATE, a.traceS * 1000 + 60_000);
    res.phases.trace = trace.update;
    res.fib.trace = trace.fib;
    await sleep(1500);
    const max = await phase('max', a.max, 0, 240_000);
    res.phases.max = max.update;
    res.fib.max = max.fib;
    res.ok = true;
  } catch (e) {
    res.error = e instanceof Error ? e.message.slice(0, 3000) : String(e);
  } finally {
    for (const ch of [feeder, receiver, fibWatch]) ch?.proc.kill('SIGKILL');
    await lab.destroy().catch(() => {});
  }
  return res;
}

// --- summary and report ----------------------------------------------------------------

type Measure = 'update' | 'fib';

interface Row {
  phase: Phase;
  /** UPDATE pass-through (to the receiving neighbour) or FIB pass-through (to the kernel). */
  measure: Measure;
  config: string;
  replicas: number;
  runs: number;
  failed: number;
  /** Median over runs of each run's median, and min–max over runs. */
  median: { median: number; min: number; max: number };
  /** The same of each run's mean. */
  mean: { median: number; min: number; max: number };
  p99: { median: number; min: number; max: number };
  prefixesPerS: number;
}

function spread(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  const median = s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

function summarize(cs: RouterConfig[], results: RunResult[]): Row[] {
  const rows: Row[] = [];
  for (const [phase, measure] of [
    ['trace', 'update'],
    ['trace', 'fib'],
    ['max', 'update'],
    ['max', 'fib'],
  ] as const) {
    for (const c of cs) {
      const rs = results.filter((r) => r.config === c.id);
      const of = (r: RunResult): Latency | undefined =>
        measure === 'update' ? r.phases[phase] : r.fib?.[phase];
      const ls = rs.flatMap((r) => (of(r) ? [of(r)!] : []));
      rows.push({
        phase,
        measure,
        config: c.id,
        replicas: c.direct ? 0 : c.kinds.length,
        runs: rs.length,
        failed: rs.length - ls.length,
        median: spread(ls.map((l) => l.medianMs)),
        mean: spread(ls.map((l) => l.meanMs)),
        p99: spread(ls.map((l) => l.p99Ms)),
        prefixesPerS: spread(ls.map((l) => l.prefixesPerS)).median,
      });
    }
  }
  return rows;
}

interface Target {
  phase: Phase;
  router: string;
  alone: string;
  btrMs: number;
  aloneMs: number;
  addedMs: number;
  addedPct: number;
  holds: boolean;
}

/** R = 3 against the slowest of its replica kinds alone: ≤ 5 % and ≤ 1 ms added. */
function targets(cs: RouterConfig[], rows: Row[]): Target[] {
  const out: Target[] = [];
  const find = (phase: Phase, id: string): Row | undefined =>
    rows.find(
      (r) => r.phase === phase && r.measure === 'update' && r.config === id && r.failed < r.runs,
    );
  for (const phase of ['trace', 'max'] as const) {
    for (const c of cs.filter((x) => !x.direct && x.kinds.length === 3)) {
      const btr = find(phase, c.id);
      const alone = [...new Set(c.kinds)]
        .map((k) => find(phase, `${k === 'bird' ? 'BIRD' : k === 'frr' ? 'FRR' : k} alone`))
        .filter((r): r is Row => r !== undefined)
        .sort((x, y) => y.median.median - x.median.median)[0];
      if (!btr || !alone) continue;
      const addedMs = btr.median.median - alone.median.median;
      const addedPct = (100 * addedMs) / alone.median.median;
      out.push({
        phase,
        router: c.id,
        alone: alone.config,
        btrMs: btr.median.median,
        aloneMs: alone.median.median,
        addedMs,
        addedPct,
        holds: addedPct <= 5 && addedMs <= 1,
      });
    }
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(header), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join(
    '\n',
  );
}

const ms2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');
const fmt = (s: { median: number; min: number; max: number }): string =>
  `${ms2(s.median)} (${ms2(s.min)}–${ms2(s.max)})`;

function resultsTable(rows: Row[], a: Args): string {
  const alone = (phase: Phase, measure: Measure): Row | undefined =>
    rows.find((r) => r.phase === phase && r.measure === measure && r.config === 'nonstop alone');
  return table(
    [
      'phase',
      'to',
      'router',
      'pass-through ms, median (min–max of runs)',
      'p99 ms',
      'vs nonstop alone (median)',
      'prefixes/s',
      'failed runs',
    ],
    rows.map((r) => {
      const ref = alone(r.phase, r.measure);
      const vs =
        ref && r.config !== ref.config && Number.isFinite(r.median.median)
          ? `${r.median.median - ref.median.median >= 0 ? '+' : ''}${ms2(r.median.median - ref.median.median)} ms (${(r.median.median / ref.median.median).toFixed(2)}×)`
          : '';
      return [
        r.phase === 'trace'
          ? `${TRACE_RATE} UPDATEs/s, ${Math.round(a.traceS * TRACE_RATE)} prefixes`
          : `max speed, ${a.max} prefixes`,
        r.measure === 'update' ? 'neighbour' : 'kernel FIB',
        r.config,
        fmt(r.median),
        fmt(r.p99),
        vs,
        Number.isFinite(r.prefixesPerS) ? String(Math.round(r.prefixesPerS)) : '—',
        `${r.failed} of ${r.runs}`,
      ];
    }),
  );
}

function targetTable(ts: Target[]): string {
  return table(
    ['phase', 'router', 'slowest replica alone', 'median ms BTR / alone', 'added', 'holds'],
    ts.map((t) => [
      t.phase === 'trace' ? 'trace rate' : 'max speed',
      t.router,
      t.alone,
      `${ms2(t.btrMs)} / ${ms2(t.aloneMs)}`,
      `${t.addedMs >= 0 ? '+' : ''}${ms2(t.addedMs)} ms (${t.addedPct >= 0 ? '+' : ''}${t.addedPct.toFixed(1)} %)`,
      t.holds ? 'yes' : `no (limit ≤ 5 % and ≤ 1 ms)`,
    ]),
  );
}

// --- the voter micro-benchmark ---------------------------------------------------------

interface VoterFigures {
  keys: number;
  rows: { strategy: string; replicas: number; loadNsPerOutput: number; churnNsPerOutput: number }[];
  worstNs: number;
}

function runVoterBench(): VoterFigures | undefined {
  log('voter micro-benchmark: node --expose-gc dist/bench/btr-voter.js (1,000,000 keys)');
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', join(root, 'dist', 'bench', 'btr-voter.js')],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  try {
    const j = JSON.parse(r.stdout) as {
      keys: number;
      results: VoterFigures['rows'];
    };
    const rows = j.results.map((x) => ({
      strategy: x.strategy,
      replicas: x.replicas,
      loadNsPerOutput: x.loadNsPerOutput,
      churnNsPerOutput: x.churnNsPerOutput,
    }));
    const worstNs = Math.max(...rows.flatMap((x) => [x.loadNsPerOutput, x.churnNsPerOutput]));
    log(`voter: worst ${worstNs} ns per replica output (target ≤ 5000)`);
    return { keys: j.keys, rows, worstNs };
  } catch {
    log(`voter micro-benchmark failed: ${r.stderr.slice(-1000)}`);
    return undefined;
  }
}

function voterTable(v: VoterFigures): string {
  return table(
    ['strategy', 'R', 'load ns/output', 'churn ns/output'],
    v.rows.map((x) => [
      x.strategy,
      String(x.replicas),
      String(x.loadNsPerOutput),
      String(x.churnNsPerOutput),
    ]),
  );
}

// --- main ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const problems = await labProblems();
  if (problems.length > 0) throw new Error(`the lab cannot run here:\n${problems.join('\n')}`);
  const dir = mkdtempSync(join(tmpdir(), 'nst-bench-btr-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const cs = configs(a);
  const plan: { c: RouterConfig; round: number }[] = [];
  for (let round = 0; round < a.runs; round++) {
    for (let i = 0; i < cs.length; i++) plan.push({ c: cs[(i + round) % cs.length]!, round });
  }
  const started = Date.now();
  const results: RunResult[] = [];
  for (const [k, p] of plan.entries()) {
    const tag = `[${k + 1}/${plan.length}] ${p.c.id} round ${p.round + 1}`;
    log(`${tag}: starting (elapsed ${((Date.now() - started) / 60000).toFixed(1)} min)`);
    const r = await runOnce(p.c, p.round, a, (s) => log(`${tag}: ${s}`));
    if (!r.ok) log(`${tag}: FAILED: ${r.error}`);
    results.push(r);
  }
  const voter = a.voter ? runVoterBench() : undefined;

  const rows = summarize(cs, results);
  const tgt = targets(cs, rows);
  const when = new Date().toISOString();
  const machine =
    `${machineBase()}` +
    (a.diverse ? `, BIRD ${birdVersion()}, FRR ${frrVersion()}` : '') +
    `; load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;
  const fib =
    'measured (rows "kernel FIB"): from the feeder handing the UPDATE to its socket to the ' +
    "prefix appearing in the router namespace's kernel table, read from rtnetlink " +
    'notifications (bench/btr/fib-watch.ts); a router alone installs it itself, a ' +
    "bug-tolerant router's hypervisor votes its replicas' kernel tables (followed the same " +
    'way, src/lab/btr-fib.ts) and installs the result';
  const out = {
    date: when,
    machine,
    git: gitDescribe(root),
    args: a,
    traceRate: TRACE_RATE,
    fib,
    results,
    summary: rows,
    targets: tgt,
    voter,
  };
  const resultsDir = join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = a.out ?? join(resultsDir, `btr-${when.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(out, null, 2)}\n`);
  const text =
    `${resultsTable(rows, a)}\n\n` +
    (tgt.length > 0 ? `${targetTable(tgt)}\n\n` : '') +
    (voter
      ? `Voter micro-benchmark (\`node --expose-gc dist/bench/btr-voter.js\`, ${voter.keys.toLocaleString('en')} keys, T = 1 s): ` +
        `worst ${voter.worstNs} ns per replica output (target ≤ 5,000 ns: ${voter.worstNs <= 5000 ? 'holds' : 'missed'}).\n\n` +
        `${voterTable(voter)}\n\n`
      : '') +
    `Pass-through to the router's FIB: ${fib}.\n`;
  process.stdout.write(`${text}\nresults: ${jsonPath}\n`);
  if (a.doc) {
    const gen =
      `<!-- generated by npm run bench:btr (${when}); edit bench/btr.ts, not this block -->\n\n` +
      `Command: \`npm run bench:btr\` (\`node dist/bench/btr.js --runs ${a.runs} --replicas ${a.replicas.join(',')}` +
      `${a.diverse ? '' : ' --no-diverse'} --trace-s ${a.traceS} --max ${a.max}\`).\n` +
      `Machine: ${machine}. Results: \`bench/results/${jsonPath.split('/').pop()}\`.\n\n` +
      text;
    replaceDocBlock(join(root, 'docs', 'performance.md'), 'btr', gen);
    log('docs/performance.md updated');
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:btr: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
