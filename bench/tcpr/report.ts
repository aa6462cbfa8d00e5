// Statistics and tables of the TCPR benchmark (bench/tcpr.ts): the summary of all runs,
// the ratios between the paths, the recovery table and the targets.
// Paths: veth (direct), pass and tcpr (TUN interposition), nfq-pass and nfq-tcpr (NFQUEUE).

import { table } from '../../src/lab/btr-eval/markdown.js';
import type { FilterCost } from './filter-cost.js';

export type PathId = 'veth' | 'pass' | 'tcpr' | 'nfq-pass' | 'nfq-tcpr';
export type Direction = 'a2p' | 'p2a';

export const PATH_TITLE: Record<PathId, string> = {
  veth: 'direct veth',
  pass: 'TUN pass-through pump',
  tcpr: 'TCPR middlebox',
  'nfq-pass': 'NFQUEUE pass-through pump',
  'nfq-tcpr': 'TCPR middlebox, NFQUEUE',
};

/** Every path, in table order (also the default of --paths). */
export const PATHS: readonly PathId[] = ['veth', 'pass', 'tcpr', 'nfq-pass', 'nfq-tcpr'];

/** The paths through the TCPR filter, with a protected application. */
export const TCPR_PATHS: readonly PathId[] = ['tcpr', 'nfq-tcpr'];

export interface Stat {
  n: number;
  median: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank median, 99th percentile, mean and range of `xs`. */
export function stat(xs: readonly number[]): Stat {
  const s = Float64Array.from(xs).sort();
  const rank = (p: number): number =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  return {
    n: s.length,
    median: rank(50),
    p99: rank(99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
  };
}

/** CPU used while a run lasted, in cores (1 = one vCPU busy all the time). */
export interface CpuShare {
  app: number;
  peer: number;
  /** The harness process: the pump's worker thread (idle main thread) on pump paths. */
  pump: number;
  /** …of which in user space (the filter, the pump's loop); the rest is the kernel's
   * TUN reads and writes (NFQUEUE: netlink receives, verdicts, raw-socket injections),
   * with the forwarding and receiving they trigger. */
  pumpUser: number;
  /** The whole machine (/proc/stat, every CPU, not idle): other work included. */
  machine: number;
}

export interface ThroughputRun {
  path: PathId;
  dir: Direction;
  round: number;
  gbps: number;
  bytes: number;
  seconds: number;
  cpu: CpuShare;
  /** Packets per second through the pump, both ways, data and ACKs (pump paths). */
  pumpKpps?: number;
  /** TCPR paths: filter counters per second (forwarded, checkpoint ACKs, side-channel
   * datagrams, app ACKs dropped as not checkpointed). */
  tcprPerS?: Record<string, number>;
}

export interface RttRun {
  path: PathId;
  round: number;
  us: Stat;
}

export interface RecoveryRound {
  round: number;
  /** Per connection: recoverConnection called → returned, µs. */
  us: number[];
  /** First call → last return, µs. */
  wallUs: number;
  /** Middlebox: pump stop + start, ms. */
  restartMs?: number;
  /** The failure (kill, pump stop) → the app's `recovered` report at the harness, ms. */
  outageMs: number;
}

/**
 * kill: the app is killed with SIGKILL, a new process recovers (stateful); reset: the app
 * resets its sockets as its dying stack would and recovers in the same, warm process
 * (stateful); middlebox: the pump restarts without state and the app recovers (stateless).
 */
export type RecoveryKind = 'kill' | 'reset' | 'middlebox';

export const RECOVERY_TITLE: Record<RecoveryKind, string> = {
  kill: 'application: kill -9, new process',
  reset: 'application: sockets reset, same process',
  middlebox: 'middlebox restart + application',
};

export interface RecoveryCase {
  kind: RecoveryKind;
  connections: number;
  /** Idle pause before each failure, ms. */
  pauseMs: number;
  rounds: RecoveryRound[];
  /** Resets, FINs or errors the peer saw (TCPR should hide every one). */
  peerSaw: string[];
}

export interface Summary {
  throughput: Record<PathId, Partial<Record<Direction, Stat>>>;
  rtt: Partial<Record<PathId, Stat>>;
  /** TCPR side-channel query round trips per TCPR path, µs. */
  query: Partial<Record<PathId, Stat>>;
  cpu: Partial<Record<PathId, Partial<Record<Direction, CpuShare>>>>;
  recovery: {
    kind: RecoveryCase['kind'];
    connections: number;
    pauseMs: number;
    rounds: number;
    ms: Stat;
    wallMs: Stat;
    restartMs?: Stat;
    outageMs: Stat;
    peerSaw: number;
  }[];
}

export function summarize(
  tp: readonly ThroughputRun[],
  rtts: readonly { path: PathId; us: readonly number[]; queryUs?: readonly number[] }[],
  rec: readonly RecoveryCase[],
): Summary {
  const throughput = {} as Summary['throughput'];
  const cpu: Summary['cpu'] = {};
  const rtt: Summary['rtt'] = {};
  const query: Summary['query'] = {};
  for (const p of PATHS) {
    throughput[p] = {};
    for (const d of ['a2p', 'p2a'] as const) {
      const runs = tp.filter((r) => r.path === p && r.dir === d);
      if (runs.length === 0) continue;
      throughput[p][d] = stat(runs.map((r) => r.gbps));
      const mean = (f: (c: CpuShare) => number): number =>
        runs.reduce((a, r) => a + f(r.cpu), 0) / runs.length;
      (cpu[p] ??= {})[d] = {
        app: mean((c) => c.app),
        peer: mean((c) => c.peer),
        pump: mean((c) => c.pump),
        pumpUser: mean((c) => c.pumpUser),
        machine: mean((c) => c.machine),
      };
    }
    const samples = rtts.filter((r) => r.path === p).flatMap((r) => r.us);
    if (samples.length > 0) rtt[p] = stat(samples);
    const queries = rtts.filter((r) => r.path === p).flatMap((r) => r.queryUs ?? []);
    if (queries.length > 0) query[p] = stat(queries);
  }
  const recovery = rec.map((c) => {
    const restarts = c.rounds.flatMap((r) => (r.restartMs === undefined ? [] : [r.restartMs]));
    return {
      kind: c.kind,
      connections: c.connections,
      pauseMs: c.pauseMs,
      rounds: c.rounds.length,
      ms: stat(c.rounds.flatMap((r) => r.us.map((u) => u / 1000))),
      wallMs: stat(c.rounds.map((r) => r.wallUs / 1000)),
      restartMs: restarts.length > 0 ? stat(restarts) : undefined,
      outageMs: stat(c.rounds.map((r) => r.outageMs)),
      peerSaw: c.peerSaw.length,
    };
  });
  return { throughput, rtt, query, cpu, recovery };
}

const f = (x: number | undefined, d = 2): string =>
  x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d);
const range = (s: Stat | undefined, d = 2): string =>
  s ? (s.n > 1 ? `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})` : f(s.median, d)) : '—';
const cores = (c: CpuShare | undefined): string =>
  c ? `${f(c.pump)} (${f(c.pumpUser)}) / ${f(c.app)} / ${f(c.peer)} / ${f(c.machine)}` : '—';

export function pathTable(s: Summary): string {
  return table(
    [
      'path',
      'app → peer Gbit/s, median (min–max)',
      'peer → app Gbit/s',
      'RTT µs median',
      'RTT µs p99',
      'CPU cores pump (user) / app / peer / machine, app → peer',
      'peer → app',
    ],
    PATHS.filter((p) => s.throughput[p].a2p || s.throughput[p].p2a || s.rtt[p]).map((p) => [
      PATH_TITLE[p],
      range(s.throughput[p].a2p),
      range(s.throughput[p].p2a),
      f(s.rtt[p]?.median, 1),
      f(s.rtt[p]?.p99, 1),
      cores(s.cpu[p]?.a2p),
      cores(s.cpu[p]?.p2a),
    ]),
  );
}

export interface Ratios {
  what: string;
  /** Path a / path b. */
  of: readonly [PathId, PathId];
  a2p?: number;
  p2a?: number;
  rttMedian?: number;
}

export function ratios(s: Summary): Ratios[] {
  const r = (a: PathId, b: PathId, what: string): Ratios => {
    const q = (x?: Stat, y?: Stat): number | undefined =>
      x && y ? x.median / y.median : undefined;
    return {
      what,
      of: [a, b],
      a2p: q(s.throughput[a].a2p, s.throughput[b].a2p),
      p2a: q(s.throughput[a].p2a, s.throughput[b].p2a),
      rttMedian: q(s.rtt[a], s.rtt[b]),
    };
  };
  return [
    r('tcpr', 'pass', 'TCPR / pass-through'),
    r('tcpr', 'veth', 'TCPR / veth'),
    r('pass', 'veth', 'pass-through / veth'),
    r('nfq-tcpr', 'nfq-pass', 'NFQUEUE: TCPR / pass-through'),
    r('nfq-tcpr', 'tcpr', 'TCPR: NFQUEUE / TUN'),
    r('nfq-pass', 'pass', 'pass-through: NFQUEUE / TUN'),
  ];
}

/** The ratios between TUN paths always (as before NFQUEUE), the others when measured. */
export function ratioTable(rs: readonly Ratios[]): string {
  const shown = (r: Ratios): boolean =>
    r.of.every((p) => !p.startsWith('nfq-')) ||
    [r.a2p, r.p2a, r.rttMedian].some((x) => x !== undefined);
  return table(
    ['ratio of medians', 'app → peer throughput', 'peer → app throughput', 'RTT median'],
    rs.filter(shown).map((r) => [r.what, f(r.a2p), f(r.p2a), f(r.rttMedian)]),
  );
}

export function recoveryTable(s: Summary): string {
  return table(
    [
      'failure',
      'connections',
      'idle before ms',
      'rounds',
      'recovery ms per connection: median',
      'p99',
      'max',
      'all connections ms (median of rounds)',
      'all ÷ connections ms',
      'middlebox restart ms',
      'failure → recovered ms',
      'peer saw',
    ],
    s.recovery.map((r) => [
      RECOVERY_TITLE[r.kind],
      String(r.connections),
      String(r.pauseMs),
      String(r.rounds),
      f(r.ms.median, 3),
      f(r.ms.p99, 3),
      f(r.ms.max, 3),
      f(r.wallMs.median, 1),
      f(r.wallMs.median / r.connections, 3),
      r.restartMs ? f(r.restartMs.median, 1) : '—',
      f(r.outageMs.median, 1),
      r.peerSaw === 0 ? 'nothing' : `${r.peerSaw} events`,
    ]),
  );
}

export interface Target {
  what: string;
  measured: string;
  holds?: boolean;
}

/**
 * The targets. The throughput ones hold for TCPR over TUN (always listed) and,
 * when its throughput was measured, over NFQUEUE against the NFQUEUE pass-through path.
 */
export function targets(s: Summary, rs: readonly Ratios[]): Target[] {
  const out: Target[] = [];
  const nfq = s.throughput['nfq-tcpr'];
  const modes: { tcpr: PathId; pass: PathId; tag: string }[] = [
    { tcpr: 'tcpr', pass: 'pass', tag: '' },
  ];
  if (nfq.a2p || nfq.p2a) modes.push({ tcpr: 'nfq-tcpr', pass: 'nfq-pass', tag: ' (NFQUEUE)' });
  for (const m of modes) {
    const vsPass = rs.find((r) => r.of[0] === m.tcpr && r.of[1] === m.pass);
    for (const d of ['a2p', 'p2a'] as const) {
      const name = d === 'a2p' ? 'app → peer' : 'peer → app';
      const q = vsPass?.[d];
      out.push({
        what: `TCPR ≥ 95 % of pass-through${m.tag}, ${name}`,
        measured: q === undefined ? 'not measured' : `${(q * 100).toFixed(1)} %`,
        holds: q === undefined ? undefined : q >= 0.95,
      });
      const g = s.throughput[m.tcpr][d]?.median;
      out.push({
        what: `TCPR${m.tag} ≥ 1 Gbit/s, ${name}`,
        measured: g === undefined ? 'not measured' : `${g.toFixed(2)} Gbit/s`,
        holds: g === undefined ? undefined : g >= 1,
      });
    }
  }
  for (const r of s.recovery.filter((x) => x.kind !== 'middlebox')) {
    const many = r.connections > 1;
    out.push({
      what: `application-only recovery < 1 ms median (${r.kind === 'kill' ? 'kill -9' : 'socket reset'}, ${r.pauseMs} ms idle before), ${r.connections} connection${many ? 's' : ''}`,
      measured:
        `${r.ms.median.toFixed(3)} ms` +
        (many
          ? ` each, all at once; all ÷ ${r.connections} = ${(r.wallMs.median / r.connections).toFixed(3)} ms`
          : ''),
      holds: r.ms.median < 1,
    });
  }
  return out;
}

export function targetTable(ts: readonly Target[]): string {
  return table(
    ['target (issue 7)', 'measured', 'holds'],
    ts.map((t) => [t.what, t.measured, t.holds === undefined ? '—' : t.holds ? 'yes' : 'no']),
  );
}

export function filterTable(c: FilterCost): string {
  const row = (what: string, ns: number): string[] => [what, (ns / 1000).toFixed(2)];
  return table(
    ['TcprFilter in process (no devices), per call', 'µs'],
    [
      row(`fromApp: data segment, ${c.payload} bytes of payload (forwarded)`, c.fromAppData),
      row(
        'fromApp: data segment after a recovery (seq delta, external address: rewritten)',
        c.fromAppTranslated,
      ),
      row(`fromPeer: data segment, ${c.payload} bytes (forwarded)`, c.fromPeerData),
      row('fromPeer: pure ACK (forwarded)', c.fromPeerAck),
      row('part of a data segment: parse, verify both checksums', c.parseVerify),
      row(
        'part of a data segment: in-place patch (seq, ack, port, address; incremental checksums)',
        c.encode,
      ),
      row('part of a data segment: the TCP checksum alone', c.checksum),
    ],
  );
}
