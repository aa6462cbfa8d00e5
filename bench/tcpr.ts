// Benchmark (issue 7, "Speed"): TCPR's cost on the data path and its recovery time.
//
// Five paths between the same two endpoint programs (bench/tcpr/app.ts and peer.ts), in
// two labs, measured side by side in the same run (each round runs every path once, in an
// order rotated per round):
// - veth: two namespaces joined by one veth pair, nothing in between;
// - pass: the TCPR topology (src/lab/tcpr-topology.ts: app ─ tcpr ─ peer, policy routing
//   through two persistent TUNs) with the packet pump's built-in pass-through filter;
// - tcpr: the same with the TCPR pump filter (the middlebox) and a protected application;
// - nfq-pass, nfq-tcpr: the same two over the topology's NFQUEUE interposition
//   (docs/tcpr-nfqueue.md: the tcpr namespace a plain router whose forward hook queues both
//   veths' packets to the pump), in a second lab of their own, built once per run.
// Per path: bulk TCP throughput app → peer and peer → app (one connection, measured by the
// receiver after a warm-up) and request/response round-trip time over one connection.
//
// Recovery (TCPR path over TUN, bench/tcpr/recovery-app.ts), for 1 and 256 connections:
// - application only, kill: the app is killed with SIGKILL and a new process recovers every
//   connection at once (stateful: TCPR answers the SYN and splices);
// - application only, reset: the app resets its sockets as its dying stack would and
//   recovers them at once in the same, warm process (stateful);
// - middlebox + application: the pump is stopped and a new one started (no state), then
//   the still-running app recovers every connection at once (stateless: restore +
//   reconnect; the peer's challenge ACK lets TCPR splice).
// Recovery time of a connection: recoverConnection called → returned (the splice is done
// and writeOffset known). Every recovery is then checked byte for byte through an echo peer.
// The application cases run once per --recovery-pause-ms value (default 200 and 1 ms of
// idle before each failure): on a VM whose I/O paths go cold when idle, the two differ.
//
// Filter cost: TcprFilter's time per packet in process (bench/tcpr/filter-cost.ts), to
// explain the difference between the TCPR and pass-through paths.
//
// Usage: npm run bench:tcpr -- [--quick] [--rounds N] [--seconds S] [--warmup S] [--rtt N]
//          [--checkpoint-kib K] [--connections 1,256] [--recovery-rounds 30,3]
//          [--recovery-pause-ms 200,1] [--only throughput,rtt,recovery,filter]
//          [--paths veth,pass,tcpr,nfq-pass,nfq-tcpr] [--help]
// Writes bench/results/tcpr-<timestamp>.json; prints the tables on stdout, progress on
// stderr. Needs root (network namespaces, TUN, NFQUEUE: iptables, scripts/setup.sh).

import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs as parseOptions } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, labProblems, type LabNode } from '../src/lab/index.js';
import { TCPR_ADDRESSES, TcprTopology } from '../src/lab/tcpr-topology.js';
import type { FilterSpec, Pump } from '../src/net/packet-pump.js';
import type { TcprPumpStats } from '../src/tcpr/pump-filter.js';
import type { AppConfig, PeerConfig, RecoveryConfig, ThroughputResult } from './tcpr/common.js';
import {
  PATH_TITLE,
  PATHS,
  pathTable,
  ratios,
  ratioTable,
  filterTable,
  recoveryTable,
  stat,
  summarize,
  targets,
  targetTable,
  type CpuShare,
  type Direction,
  type PathId,
  type RecoveryCase,
  type RecoveryKind,
  RECOVERY_TITLE,
  TCPR_PATHS,
  type ThroughputRun,
} from './tcpr/report.js';
import { filterCost, type FilterCost } from './tcpr/filter-cost.js';
import { startChild, waitEvent, type Child } from './speaker/child.js';
import { gitDescribe, machineBase, projectRoot } from './speaker/host.js';
import { CLK_TCK, sample } from './speaker/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = projectRoot();
const SCRIPT = {
  app: join(here, 'tcpr', 'app.js'),
  peer: join(here, 'tcpr', 'peer.js'),
  recovery: join(here, 'tcpr', 'recovery-app.js'),
};
const FILTER = join(root, 'dist', 'src', 'tcpr', 'pump-filter.js');
const A = TCPR_ADDRESSES;
/** The direct veth path's addresses (its own /24, in its own namespaces). */
const VETH = { app: '198.18.3.1', peer: '198.18.3.2' };
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const USAGE = `Usage: npm run bench:tcpr -- [options]   (or: node dist/bench/tcpr.js [options]; as root)

  --quick                 smoke run (~1 min): 1 round, 2 s per transfer, 2,000 round trips,
                          recovery rounds 5 (1 connection) and 1 (256 connections)
  --rounds N              rounds of throughput and latency, every path once each (default 3)
  --seconds S             measured seconds per transfer (default 5), after --warmup S (1)
  --rtt N                 measured round trips per latency run (default 20000; 64-byte requests)
  --checkpoint-kib K      TCPR peer → app: checkpoint every K KiB read (default 128)
  --connections A,B       recovery: connection counts (default 1,256)
  --recovery-pause-ms L   recovery: idle pause before each application failure, each
                          value one series (default 200,1; the middlebox case: 1000)
  --recovery-rounds A,B   recovery rounds for each connection count (default 30,3)
  --only LIST             any of throughput,rtt,recovery,filter (default all)
  --paths LIST            any of veth,pass,tcpr,nfq-pass,nfq-tcpr (default all; a ratio
                          needs both its paths); nfq-*: the TCPR topology over NFQUEUE,
                          in a lab of its own, built only when one of them is measured
  --help                  this text

Results: bench/results/tcpr-<timestamp>.json; tables on stdout, progress on stderr.`;

const ONLY = ['throughput', 'rtt', 'recovery', 'filter'];

interface Args {
  quick: boolean;
  rounds: number;
  seconds: number;
  warmup: number;
  rtt: number;
  checkpointKiB: number;
  connections: number[];
  recoveryRounds: number[];
  recoveryPauseMs: number[];
  only: Set<string>;
  paths: PathId[];
}

function usage(message: string): Error {
  const e = new Error(message);
  e.name = 'UsageError';
  return e;
}

function parseArgs(argv: string[]): Args | undefined {
  const str = { type: 'string' } as const;
  const { values: o } = parseOptions({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      rounds: str,
      seconds: str,
      warmup: str,
      rtt: str,
      'checkpoint-kib': str,
      connections: str,
      'recovery-rounds': str,
      'recovery-pause-ms': str,
      only: str,
      paths: str,
    },
  });
  if (o.help) return undefined;
  const list = (x: string | undefined, d: string[]): string[] => x?.split(',') ?? d;
  const num = (x: string | undefined, d: number): number => (x === undefined ? d : Number(x));
  const quick = o.quick === true;
  const a: Args = {
    quick,
    rounds: num(o.rounds, quick ? 1 : 3),
    seconds: num(o.seconds, quick ? 2 : 5),
    warmup: num(o.warmup, quick ? 0.5 : 1),
    rtt: num(o.rtt, quick ? 2000 : 20_000),
    checkpointKiB: num(o['checkpoint-kib'], 128),
    connections: list(o.connections, ['1', '256']).map(Number),
    recoveryRounds: list(o['recovery-rounds'], quick ? ['5', '1'] : ['30', '3']).map(Number),
    recoveryPauseMs: list(o['recovery-pause-ms'], ['200', '1']).map(Number),
    only: new Set(list(o.only, ONLY)),
    paths: list(o.paths, [...PATHS]) as PathId[],
  };
  const positive = [a.rounds, a.seconds, a.warmup, a.rtt, a.checkpointKiB];
  if (!positive.every((x) => x > 0)) throw usage('numeric options must be positive');
  if (!Number.isInteger(a.rounds) || !Number.isInteger(a.rtt)) {
    throw usage('--rounds and --rtt must be whole numbers');
  }
  if (a.connections.length !== a.recoveryRounds.length) {
    throw usage('--connections and --recovery-rounds need as many entries each');
  }
  for (const x of [...a.connections, ...a.recoveryRounds]) {
    if (!Number.isInteger(x) || x < 1 || x > 1000)
      throw usage(`--connections, --recovery-rounds: ${x} is not a count from 1 to 1000`);
  }
  if (!a.recoveryPauseMs.every((x) => Number.isInteger(x) && x >= 0 && x <= 60_000)) {
    throw usage('--recovery-pause-ms: whole milliseconds from 0 to 60000');
  }
  for (const p of a.paths) {
    if (!(p in PATH_TITLE)) throw usage(`--paths: unknown ${p} (${PATHS.join(', ')})`);
  }
  for (const o of a.only) {
    if (!ONLY.includes(o)) throw usage(`--only: unknown ${o} (${ONLY.join(', ')})`);
  }
  return a;
}

interface Path {
  id: PathId;
  app: LabNode;
  peer: LabNode;
  appAddr: string;
  peerAddr: string;
  /** Pump paths: the topology whose pump (TUN or NFQUEUE) carries the path… */
  topo?: TcprTopology;
  /** …and its filter ('pass-through' is built in). */
  filter?: FilterSpec;
}

const TCPR_FILTER: FilterSpec = {
  module: FILTER,
  export: 'createFilter',
  options: {
    addresses: [{ internal: A.app.v4, external: A.app.v4 }],
    channel: { addresses: [A.sideChannel.v4, A.sideChannel.v6] },
  },
};

class Bench {
  private port = 5000;
  private pump: Pump | undefined;
  private n = 0;

  constructor(
    readonly a: Args,
    readonly lab: Lab,
    readonly topo: TcprTopology,
  ) {}

  child(node: LabNode, script: string, cfg: unknown, name: string): Child {
    return startChild(node.ns, script, cfg, this.lab.dir, `${name}-${++this.n}`);
  }

  async kill(c: Child | undefined): Promise<void> {
    if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
    c.proc.kill('SIGKILL');
    await once(c.proc, 'exit');
  }

  /** A pump with `filter` on `topo` (the TUN topology by default), or none. */
  async startPump(filter: FilterSpec | undefined, topo = this.topo): Promise<void> {
    await this.stopPump();
    if (filter) this.pump = await topo.startPump({ filter });
  }

  async stopPump(): Promise<void> {
    await this.pump?.stop();
    this.pump = undefined;
  }

  private window(): PeerConfig['window'] {
    return { warmupMs: this.a.warmup * 1000, durationMs: this.a.seconds * 1000 };
  }

  private appConfig(p: Path, mode: AppConfig['mode'], port: number): AppConfig {
    return {
      mode,
      protected: TCPR_PATHS.includes(p.id),
      local: p.appAddr,
      peer: p.peerAddr,
      port,
      window: this.window(),
      checkpointBytes: this.a.checkpointKiB * 1024,
      rttCount: this.a.rtt,
      rttWarmup: Math.ceil(this.a.rtt / 20),
      rttSize: 64,
      queryCount: Math.max(200, Math.round(this.a.rtt / 10)),
    };
  }

  private async startPeer(
    p: Path,
    mode: PeerConfig['mode'],
  ): Promise<{ peer: Child; port: number }> {
    const port = ++this.port;
    const cfg: PeerConfig = { address: p.peerAddr, port, mode, window: this.window() };
    const peer = this.child(p.peer, SCRIPT.peer, cfg, `peer-${p.id}`);
    await waitEvent(peer, 'listening', 20_000, 'peer');
    return { peer, port };
  }

  async throughput(p: Path, dir: Direction, round: number): Promise<ThroughputRun> {
    const { peer, port } = await this.startPeer(p, dir === 'a2p' ? 'sink' : 'source');
    let app: Child | undefined;
    try {
      app = this.child(
        p.app,
        SCRIPT.app,
        this.appConfig(p, dir === 'a2p' ? 'send' : 'recv', port),
        `app-${p.id}`,
      );
      await waitEvent(app, 'connected', 20_000, 'app');
      const procs = [app, peer].map((c) => [{ pid: c.proc.pid!, comm: 'node' }]);
      const cpu0 = procs.map((x) => sample(x).cpuS);
      const own0 = process.cpuUsage();
      const busy0 = busyCpuS();
      const pump0 = this.pump?.stats();
      const filter0 = await this.tcprCounters(p);
      const t0 = performance.now();
      const timeout = (this.a.warmup + this.a.seconds) * 1000 + 60_000;
      const [receiver, sender] = dir === 'a2p' ? [peer, app] : [app, peer];
      const r = (await waitEvent(receiver, 'result', timeout, 'receiver', () =>
        exited(sender, 'sender'),
      )) as unknown as ThroughputResult;
      const secs = (performance.now() - t0) / 1000;
      const [appCpu, peerCpu] = procs.map((x, i) => (sample(x).cpuS - cpu0[i]!) / secs);
      const own = process.cpuUsage(own0);
      const cpu: CpuShare = {
        app: appCpu!,
        peer: peerCpu!,
        pump: (own.user + own.system) / 1e6 / secs,
        pumpUser: own.user / 1e6 / secs,
        machine: (busyCpuS() - busy0) / secs,
      };
      let pumpKpps: number | undefined;
      if (this.pump && pump0) {
        const s = this.pump.stats();
        const pk =
          s.fromApp.packets + s.fromPeer.packets - pump0.fromApp.packets - pump0.fromPeer.packets;
        pumpKpps = pk / secs / 1000;
      }
      const filter1 = await this.tcprCounters(p);
      let tcprPerS: Record<string, number> | undefined;
      if (filter0 && filter1) {
        tcprPerS = {};
        for (const [k, v] of Object.entries(filter1)) {
          tcprPerS[k] = Math.round((v - filter0[k]!) / secs);
        }
      }
      return {
        path: p.id,
        dir,
        round,
        gbps: r.gbps,
        bytes: r.bytes,
        seconds: r.seconds,
        cpu,
        pumpKpps,
        tcprPerS,
      };
    } finally {
      await this.kill(app);
      await this.kill(peer);
    }
  }

  /** The TCPR filter's counters that explain its throughput (TCPR paths only). */
  private async tcprCounters(p: Path): Promise<Record<string, number> | undefined> {
    if (!TCPR_PATHS.includes(p.id) || !this.pump) return undefined;
    const s = await this.pump.call<TcprPumpStats>('stats');
    return {
      forwarded: s.filter.forwarded,
      checkpointAcks: s.filter.checkpointAcks,
      sideChannelDatagrams: s.channel.received,
      appAcksDropped: s.filter.dropped['unacked-ack'] ?? 0,
    };
  }

  async rtt(p: Path): Promise<{ us: number[]; queryUs?: number[] }> {
    const { peer, port } = await this.startPeer(p, 'echo');
    let app: Child | undefined;
    try {
      app = this.child(p.app, SCRIPT.app, this.appConfig(p, 'rtt', port), `rtt-${p.id}`);
      const e = await waitEvent(app, 'rtt', 300_000, 'app', () => exited(peer, 'echo peer'));
      return { us: e.us as number[], queryUs: e.queryUs as number[] | undefined };
    } finally {
      await this.kill(app);
      await this.kill(peer);
    }
  }

  /** One recovery case: fresh connections, then `rounds` failures and recoveries. */
  async recovery(
    kind: RecoveryKind,
    connections: number,
    rounds: number,
    pauseMs: number,
  ): Promise<RecoveryCase> {
    const path = this.tcprPath();
    await this.startPump(TCPR_FILTER);
    const { peer, port } = await this.startPeer(path, 'echo');
    const cfg = (mode: RecoveryConfig['mode'], round: number): RecoveryConfig => ({
      mode,
      local: path.appAddr,
      peer: path.peerAddr,
      port,
      basePort: 40000,
      connections,
      stateFile: join(this.lab.dir, `recovery-${kind}-${connections}.json`),
      round,
    });
    const out: RecoveryCase = { kind, connections, pauseMs, rounds: [], peerSaw: [] };
    const tag = `recovery, ${RECOVERY_TITLE[kind]}, ${connections} connection(s)`;
    let app = this.child(path.app, SCRIPT.recovery, cfg('fresh', 0), `rec-${kind}`);
    try {
      await waitEvent(app, 'ready', 60_000, 'recovery app');
      for (let round = 1; round <= rounds; round++) {
        // The machine idles this long before the failure (its I/O paths go cold).
        await sleep(pauseMs);
        const t0 = performance.now();
        let restartMs: number | undefined;
        if (kind === 'kill') {
          await this.kill(app);
          app = this.child(path.app, SCRIPT.recovery, cfg('recover', round), `rec-${kind}`);
        } else {
          if (kind === 'middlebox') {
            await this.startPump(TCPR_FILTER);
            restartMs = performance.now() - t0;
          }
          const cmd = { cmd: 'recover', round, reset: kind === 'reset' };
          app.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
        }
        const isRound = (e: Record<string, unknown>): boolean => e.round === round;
        const e = await waitEvent(app, 'recovered', 60_000, 'recovery app', undefined, isRound);
        const outageMs = performance.now() - t0;
        await waitEvent(app, 'ready', 60_000, 'recovery app (stream check)', undefined, isRound);
        const r = { round, us: e.us as number[], wallUs: e.wallUs as number, restartMs, outageMs };
        out.rounds.push(r);
        const us = stat(r.us);
        log(
          `${tag}: round ${round}/${rounds}: median ${(us.median / 1000).toFixed(3)} ms, max ${(us.max / 1000).toFixed(3)} ms, all ${(r.wallUs / 1000).toFixed(1)} ms` +
            (restartMs === undefined ? '' : `, pump restart ${restartMs.toFixed(1)} ms`),
        );
      }
      out.peerSaw = peer.events
        .filter((e) => e.event === 'peer-saw')
        .map((e) => `${String(e.what)} ${String(e.who)}`);
      return out;
    } finally {
      await this.kill(app);
      await this.kill(peer);
      await this.stopPump();
    }
  }

  /** Every path, in table order; the NFQUEUE ones if `nfq` (that topology) is given. */
  paths(veth: { app: LabNode; peer: LabNode }, nfq?: TcprTopology): Path[] {
    const pass = { module: 'pass-through' };
    const t = this.tcprPath();
    const n = nfq && this.tcprPath(nfq, 'nfq-tcpr');
    return [
      { id: 'veth', app: veth.app, peer: veth.peer, appAddr: VETH.app, peerAddr: VETH.peer },
      { ...t, id: 'pass', filter: pass },
      t,
      ...(n ? [{ ...n, id: 'nfq-pass' as const, filter: pass }, n] : []),
    ];
  }

  private tcprPath(t = this.topo, id: PathId = 'tcpr'): Path {
    return {
      id,
      topo: t,
      app: t.app!,
      peer: t.peer!,
      appAddr: A.app.v4,
      peerAddr: A.peer.v4,
      filter: TCPR_FILTER,
    };
  }
}

/** Why `c` is gone (for waitEvent's check on the other end of a run), or undefined. */
function exited(c: Child, who: string): string | undefined {
  const e = c.events.find((x) => x.event === 'exit' || x.event === 'error');
  return e ? `${who}: ${String(e.why)}` : undefined;
}

/** CPU seconds the whole machine spent not idle since boot (/proc/stat, all CPUs). */
function busyCpuS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const t = f.map(Number);
  const idle = (t[3] ?? 0) + (t[4] ?? 0);
  return (t.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / CLK_TCK;
}

async function vethPair(lab: Lab): Promise<{ app: LabNode; peer: LabNode }> {
  const app = await lab.node('vapp', { router: false });
  const peer = await lab.node('vpeer', { router: false });
  await lab.link(
    { node: app, addresses: [`${VETH.app}/24`] },
    { node: peer, addresses: [`${VETH.peer}/24`] },
  );
  return { app, peer };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (!a) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const problems = await labProblems();
  if (problems.length > 0) throw new Error(`the lab cannot run here:\n${problems.join('\n')}`);
  const loadBefore = loadavg();
  log(`load average before: ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
  const started = performance.now();
  let cost: FilterCost | undefined;
  if (a.only.has('filter')) {
    log('filter: TcprFilter per-packet cost in process');
    cost = filterCost();
  }
  const lab = Lab.create();
  log(`lab namespaces: ${lab.prefix}{app,tcpr,peer,vapp,vpeer}`);
  const pathRuns = a.only.has('throughput') || a.only.has('rtt');
  const nfqPaths = pathRuns && a.paths.some((p) => p.startsWith('nfq-'));
  const tp: ThroughputRun[] = [];
  const rtts: { path: PathId; round: number; us: number[]; queryUs?: number[] }[] = [];
  const rec: RecoveryCase[] = [];
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  let topo: TcprTopology | undefined;
  let nfqLab: Lab | undefined;
  let nfqTopo: TcprTopology | undefined;
  try {
    topo = await TcprTopology.build({ lab });
    if (nfqPaths) {
      // A second TCPR topology cannot share the lab (node names); its own, for the run.
      nfqLab = Lab.create();
      log(`NFQUEUE lab namespaces: ${nfqLab.prefix}{app,tcpr,peer}`);
      nfqTopo = await TcprTopology.build({ lab: nfqLab, interposition: 'nfqueue' });
    }
    const bench = new Bench(a, lab, topo);
    const paths = bench.paths(await vethPair(lab), nfqTopo).filter((p) => a.paths.includes(p.id));
    for (let round = 0; round < a.rounds && pathRuns; round++) {
      const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
      for (const p of order) {
        await bench.startPump(p.filter, p.topo);
        const tag = `[${elapsed()}] round ${round + 1}/${a.rounds} ${PATH_TITLE[p.id]}`;
        if (a.only.has('throughput')) {
          for (const dir of ['a2p', 'p2a'] as const) {
            const r = await bench.throughput(p, dir, round);
            tp.push(r);
            log(
              `${tag}: ${dir === 'a2p' ? 'app → peer' : 'peer → app'} ${r.gbps.toFixed(2)} Gbit/s` +
                (r.pumpKpps === undefined ? '' : `, pump ${r.pumpKpps.toFixed(0)} kpps`) +
                (r.tcprPerS ? `, TCPR per s ${JSON.stringify(r.tcprPerS)}` : '') +
                `, CPU pump ${r.cpu.pump.toFixed(2)} (user ${r.cpu.pumpUser.toFixed(2)}) app ${r.cpu.app.toFixed(2)} peer ${r.cpu.peer.toFixed(2)} machine ${r.cpu.machine.toFixed(2)}`,
            );
          }
        }
        if (a.only.has('rtt')) {
          const r = await bench.rtt(p);
          rtts.push({ path: p.id, round, ...r });
          const s = stat(r.us);
          const q = r.queryUs ? stat(r.queryUs) : undefined;
          log(
            `${tag}: RTT median ${s.median.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} µs` +
              (q ? `; side-channel query median ${q.median.toFixed(1)} µs` : ''),
          );
        }
        await bench.stopPump();
      }
    }
    if (a.only.has('recovery')) {
      for (const kind of ['kill', 'reset', 'middlebox'] as const) {
        // A stateless recovery needs the peer's challenge ACK, rate-limited per socket
        // (net.ipv4.tcp_invalid_ratelimit, 500 ms): 1 s apart.
        for (const pause of kind === 'middlebox' ? [1000] : a.recoveryPauseMs) {
          for (const [i, n] of a.connections.entries()) {
            log(`[${elapsed()}] recovery: ${kind}, ${n} connection(s), ${pause} ms pause`);
            rec.push(await bench.recovery(kind, n, a.recoveryRounds[i]!, pause));
          }
        }
      }
    }
  } finally {
    // Each step on its own: a failed one must not leave the others' namespaces behind.
    for (const [what, step] of [
      ['NFQUEUE topology', () => nfqTopo?.destroy()],
      ['NFQUEUE lab', () => nfqLab?.destroy()],
      ['TUN topology', () => topo?.destroy()],
      ['lab', () => lab.destroy()],
    ] as const) {
      await Promise.resolve()
        .then(step)
        .catch((e: unknown) => log(`teardown of the ${what} failed: ${String(e)}`));
    }
  }
  const loadAfter = loadavg();
  log(`load average after: ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);

  const summary = summarize(tp, rtts, rec);
  const rs = ratios(summary);
  const tg = targets(summary, rs);
  const when = new Date().toISOString();
  const out = {
    date: when,
    machine: machineBase(),
    loadAverage: { before: loadBefore, after: loadAfter },
    git: gitDescribe(root),
    args: { ...a, only: [...a.only] },
    throughput: tp,
    rtt: rtts.map((r) => ({
      path: r.path,
      round: r.round,
      us: stat(r.us),
      queryUs: r.queryUs && stat(r.queryUs),
    })),
    recovery: rec,
    filterCostNs: cost,
    summary,
    ratios: rs,
    targets: tg,
  };
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `tcpr-${when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const queries = TCPR_PATHS.flatMap((p) => {
    const q = summary.query[p];
    return q
      ? [
          `TCPR side-channel query round trip, ${PATH_TITLE[p]} (app → pump → app, one at a time): median ${q.median.toFixed(1)} µs, p99 ${q.p99.toFixed(1)} µs, ${q.n} queries\n`,
        ]
      : [];
  });
  process.stdout.write(
    `\nTCPR benchmark, ${out.machine}; load average ${load(loadBefore)} before, ${load(loadAfter)} after\n\n` +
      `${pathTable(summary)}\n\n${ratioTable(rs)}\n\n` +
      (queries.length > 0 ? `${queries.join('')}\n` : '') +
      (rec.length > 0 ? `${recoveryTable(summary)}\n\n` : '') +
      (cost ? `${filterTable(cost)}\n\n` : '') +
      `${targetTable(tg)}\n\nresults: ${file}\n`,
  );
}

main().catch((e: unknown) => {
  // Argument errors say what was wrong; anything else keeps its stack for the report.
  const code = (e as { code?: unknown }).code;
  const usage =
    e instanceof Error && (e.name === 'UsageError' || String(code).startsWith('ERR_PARSE_ARGS'));
  const text =
    e instanceof Error ? (usage ? `${e.message}; see --help` : (e.stack ?? e.message)) : String(e);
  process.stderr.write(`bench:tcpr: ${text}\n`);
  process.exit(usage ? 2 : 1);
});
