// `nonstop btr -c FILE [--check]` runs the bug-tolerant router: the hypervisor
// (src/btr/hypervisor.ts: the real sessions, replication, voting) and the supervisor
// (src/btr/supervisor.ts: replica processes, faults, restarts, standbys), with the control
// API (/btr/status, /metrics). `nonstop btr status` prints a running one's status.
//
// Composition root. Replicas come from a *replica factory* chosen here: the seam where the
// real-daemon factory of src/lab/ (BIRD, FRR, GoBGP in network namespaces) plugs in. The
// built-in factory runs `nonstop` replicas in this process, each over its own in-memory
// network (its "namespace"), with its speaker config generated from the btr config.

import { readFile } from 'node:fs/promises';
import { systemClock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/log.js';
import { MemoryNetwork } from '../net/memory.js';
import { TcpConnector } from '../net/tcp.js';
import type { Connector, Endpoint, Listener, Transport } from '../net/transport.js';
import { MemoryFib } from '../fib/index.js';
import { Registry } from '../control/metrics.js';
import { ControlServer } from '../control/server.js';
import { ControlClientError, apiErrorMessage, controlRequest } from '../control/client.js';
import {
  formatConfigError,
  parseSpeakerConfig,
  type ConfigError,
} from '../speaker/config/index.js';
import { Speaker, capabilitiesFor } from '../speaker/speaker.js';
import type { Capability } from '../wire/index.js';
import {
  BTR_DEFAULTS,
  parseBtrConfig,
  type BtrConfig,
  type BtrNeighbor,
  type BtrReplica,
} from '../btr/config.js';
import { Hypervisor, type NeighborStatus, type VoteEvent } from '../btr/hypervisor.js';
import type { HypervisorEvent } from '../btr/replica-channel.js';
import type { InstanceExit, InstanceSignal } from '../btr/instance.js';
import {
  Supervisor,
  type SupervisedInstance,
  type SupervisorEvent,
  type SupervisorStatus,
} from '../btr/supervisor.js';
import { describeKey } from '../btr/canonical-key.js';
import { describeValue } from '../btr/canonical.js';
import type { Strategy } from '../btr/voter.js';
import type { Command } from './command.js';
import { formatDuration, formatTable, type CliIo } from './show.js';

const USAGE = `usage: nonstop btr -c FILE [--check]
       nonstop btr status [--socket PATH] [--json]

Runs the bug-tolerant router in the foreground (logs on stderr): one real BGP session per
neighbour, fanned out to R diverse replicas whose outputs are voted on; faulty replicas are
restarted or replaced by standbys (see docs/btr.md).

  -c, --config FILE   the YAML configuration (see docs/btr.md, "Configuration")
  --check             validate the configuration, print warnings, and exit
  -h, --help          this help

  status              replicas (state, restarts, faults), neighbours, and the keys the
                      replicas disagree on, from a running instance
  --socket PATH       its control socket, or http://127.0.0.1:PORT
                      (default: $NONSTOP_BTR_SOCKET, else ${BTR_DEFAULTS.controlSocket})
  --json              print the API's JSON

Signals: SIGTERM or SIGINT shut down cleanly (Cease to every neighbour and replica
session, replicas stopped).
Replicas: this build runs 'nonstop' replicas in process; other implementations need the
lab's replica factory (src/lab/).
`;

const processIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

// --- the replica factory seam ----------------------------------------------------------------

/** Where replicas come from: in process here; real daemons in namespaces from src/lab/. */
export interface ReplicaFactory {
  /**
   * The Connector of a seat: where the hypervisor meets the replica that holds it (its
   * network namespace). A standby promoted into a seat must be reachable there.
   */
  seatConnector(seat: string): Connector;
  /** The daemon handle of `replica`; `seatOf()` says which seat it holds when it starts. */
  create(replica: BtrReplica, seatOf: () => string | undefined): SupervisedInstance;
  /** Capabilities the replicas announce to `neighbor` (the router's OPEN must match). */
  capabilities?(neighbor: BtrNeighbor): readonly Capability[] | undefined;
  close?(): Promise<void>;
}

export type ReplicaFactoryMaker = (cfg: BtrConfig, log: Logger) => ReplicaFactory;

/** The speaker config of a `nonstop` replica, as YAML (JSON is YAML). */
export function nonstopReplicaYaml(cfg: BtrConfig): string {
  const policy = (p: BtrNeighbor['import']): string[] =>
    p.kind === 'prefix-list' ? [`prefix-list-${p.name}`] : [p.kind];
  const policies: Record<string, unknown> = {
    'accept-all': { default: 'accept' },
    'reject-all': { default: 'reject' },
  };
  const lists: Record<string, unknown> = {};
  for (const [name, entries] of cfg.prefixLists) {
    lists[name] = entries.map((e) => ({
      prefix: `${formatPrefixAddr(e.prefix.addr)}/${e.prefix.len}`,
      ...(e.ge !== undefined ? { ge: e.ge } : {}),
      ...(e.le !== undefined ? { le: e.le } : {}),
      action: e.action,
    }));
    policies[`prefix-list-${name}`] = {
      terms: [{ match: { 'prefix-list': name }, final: 'accept' }],
      default: 'reject',
    };
  }
  return JSON.stringify({
    'router-id': cfg.routerId,
    asn: cfg.asn,
    listen: [],
    fib: { mode: 'memory' },
    ...(Object.keys(lists).length ? { 'prefix-lists': lists } : {}),
    policies,
    neighbors: cfg.neighbors.map((n) => ({
      address: n.address,
      asn: n.asn,
      ...(n.localAddress ? { 'local-address': n.localAddress } : {}),
      families: n.families,
      import: policy(n.import),
      export: policy(n.export),
    })),
  });
}

function formatPrefixAddr(a: Uint8Array): string {
  if (a.length === 4) return a.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  return words.join(':');
}

/** One process's network: kill() resets its connections at once, as kill -9 would. */
class ProcessNetwork implements Connector {
  private readonly transports = new Set<Transport>();
  private readonly listeners: Listener[] = [];
  private dead = false;
  constructor(private readonly inner: Connector) {}
  async connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    if (this.dead) throw new Error('process killed');
    const t = await this.inner.connect(remote, local);
    return this.track(t);
  }
  async listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    if (this.dead) throw new Error('process killed');
    const l = await this.inner.listen(local, (t) => onAccept(this.track(t)));
    this.listeners.push(l);
    return l;
  }
  private track(t: Transport): Transport {
    if (this.dead) {
      t.destroy();
      throw new Error('process killed');
    }
    this.transports.add(t);
    t.onClose(() => this.transports.delete(t));
    return t;
  }
  async kill(): Promise<void> {
    this.dead = true;
    for (const t of this.transports) t.destroy();
    this.transports.clear();
    await Promise.all(this.listeners.splice(0).map((l) => l.close()));
  }
}

/** A `nonstop` replica in this process: a Speaker over the network of its seat. */
class InProcessReplica implements SupervisedInstance {
  readonly kind = 'nonstop';
  private speaker: Speaker | undefined;
  private net: ProcessNetwork | undefined;
  private readonly exits: ((exit: InstanceExit) => void)[] = [];

  constructor(
    readonly name: string,
    private readonly yaml: string,
    private readonly seatNetwork: () => Connector | undefined,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const inner = this.seatNetwork();
    if (!inner) throw new Error(`replica ${this.name} holds no seat`);
    const parsed = parseSpeakerConfig(this.yaml, `${this.name} (generated)`);
    if (!parsed.ok) throw new Error(parsed.error.map((e) => formatConfigError(e)).join('; '));
    const net = new ProcessNetwork(inner);
    const speaker = new Speaker(parsed.value, {
      connector: net,
      clock: systemClock,
      logger: this.log.child({ replica: this.name }),
      fib: new MemoryFib(),
    });
    this.net = net;
    this.speaker = speaker;
    await speaker.start();
  }

  async stop(): Promise<void> {
    const s = this.speaker;
    if (!s) return;
    this.speaker = undefined;
    await s.stop('btr: replica stopped');
    await this.net?.kill();
    this.exited({ code: 0, signal: null, expected: true });
  }

  kill(signal: InstanceSignal): void {
    const s = this.speaker;
    // In process there is nothing to stop or continue: SIGSTOP/SIGCONT are not supported.
    if (!s || signal !== 'SIGKILL') return;
    this.speaker = undefined;
    const net = this.net;
    void (async () => {
      await net?.kill(); // connections reset first: no Cease leaves a killed process
      await s.stop('killed').catch(() => undefined);
      this.exited({ code: null, signal, expected: false });
    })();
  }

  running(): boolean {
    return this.speaker !== undefined;
  }

  onExit(cb: (exit: InstanceExit) => void): () => void {
    this.exits.push(cb);
    return () => void this.exits.splice(this.exits.indexOf(cb) >>> 0, 1);
  }

  private exited(info: InstanceExit): void {
    for (const cb of this.exits) cb(info);
  }
}

/** The built-in factory: `nonstop` replicas in process, one in-memory network per seat. */
export const inProcessFactory: ReplicaFactoryMaker = (cfg, log) => {
  const seats = new Map<string, MemoryNetwork>();
  const yaml = nonstopReplicaYaml(cfg);
  const speakerCfg = parseSpeakerConfig(yaml, 'nonstop replica (generated)');
  return {
    seatConnector(seat) {
      let n = seats.get(seat);
      if (!n) seats.set(seat, (n = new MemoryNetwork()));
      return n;
    },
    create(replica, seatOf) {
      if (replica.implementation !== 'nonstop') {
        throw new Error(
          `replica ${replica.name}: implementation ${replica.implementation} needs the lab's replica factory (real daemons in network namespaces); this build runs nonstop replicas only`,
        );
      }
      return new InProcessReplica(
        replica.name,
        yaml,
        () => {
          const seat = seatOf();
          return seat === undefined ? undefined : this.seatConnector(seat);
        },
        log,
      );
    },
    capabilities(neighbor) {
      if (!speakerCfg.ok) return undefined;
      const n = speakerCfg.value.neighbors.find((x) => x.key === neighbor.address);
      return n ? capabilitiesFor(n, speakerCfg.value) : undefined;
    },
  };
};

// --- configuration -------------------------------------------------------------------------

export async function loadBtrConfig(
  path: string,
): Promise<{ ok: true; value: BtrConfig } | { ok: false; error: ConfigError[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return {
      ok: false,
      error: [
        { file: path, line: 0, column: 0, key: '', message: `cannot read the file (${why})` },
      ],
    };
  }
  return parseBtrConfig(text, path);
}

function strategyOf(cfg: BtrConfig): Strategy {
  const v = cfg.voting;
  if (v.strategy === 'wait-for-consensus') {
    return v.k !== undefined ? { kind: v.strategy, k: v.k } : { kind: v.strategy };
  }
  return { kind: v.strategy };
}

// --- status --------------------------------------------------------------------------------

export interface BtrStatusResponse {
  readonly router: { readonly asn: number; readonly routerId: string; readonly strategy: string };
  readonly supervisor: SupervisorStatus;
  readonly neighbors: readonly (Omit<NeighborStatus, 'replicas'> & {
    readonly replicas: readonly {
      readonly replica: string;
      readonly state: string;
      readonly voting: boolean;
    }[];
  })[];
  readonly disagreements: readonly {
    readonly neighbor: string;
    readonly key: string;
    readonly sinceMs: number;
    readonly output: string;
    readonly replicas: readonly {
      readonly replica: string;
      readonly value: string;
      readonly steady: boolean;
      readonly faulty: boolean;
    }[];
  }[];
  /** Milliseconds on the router's clock when this was taken (`since` values are on it). */
  readonly now: number;
}

const table = (...a: Parameters<typeof formatTable>): string =>
  formatTable(...a).replace(/\n$/, '');

/** The operator's view: replicas, neighbours, disagreements. */
export function formatBtrStatus(s: BtrStatusResponse): string {
  const ago = (t: number | null): string =>
    t === null ? '-' : `${formatDuration(Math.max(0, Math.round((s.now - t) / 1000)))} ago`;
  const sup = s.supervisor;
  const lines: string[] = [];
  lines.push(
    `BTR router ${s.router.routerId} AS ${s.router.asn}: ${s.router.strategy}, ` +
      `${sup.voting} of ${sup.seats} replicas voting (majority ${sup.quorum}), ` +
      `${sup.restarts} restarts, ${sup.faults} faults`,
    '',
  );
  lines.push(
    table(
      ['Replica', 'Kind', 'Seat', 'State', 'Since', 'Restarts', 'Faults', 'Flagged', 'Last fault'],
      sup.replicas.map((r) => [
        r.name,
        r.kind,
        r.seat ?? '-',
        r.state +
          (r.restartAt !== null ? ` (in ${Math.max(0, Math.round(r.restartAt - s.now))} ms)` : ''),
        ago(r.since),
        String(r.restarts),
        `${r.faults} (${r.score} in window)`,
        String(r.flaggedKeys),
        r.lastFault ? `${ago(r.lastFault.at)}: ${r.lastFault.kind}: ${r.lastFault.reason}` : '-',
      ]),
    ),
  );
  lines.push('');
  lines.push(
    table(
      ['Neighbor', 'State', 'Routes', 'Output', 'Disagreements', 'Replicas voting'],
      s.neighbors.map((n) => [
        n.neighbor,
        n.state,
        String(n.routes),
        String(n.output),
        String(n.disagreements),
        n.replicas
          .filter((r) => r.voting)
          .map((r) => r.replica)
          .join(',') || '-',
      ]),
    ),
  );
  if (s.disagreements.length > 0) {
    lines.push('', 'Disagreements (oldest first):');
    for (const d of s.disagreements) {
      lines.push(`  ${d.neighbor} ${d.key}: since ${ago(d.sinceMs)}, output ${d.output}`);
      for (const r of d.replicas) {
        const flags = [r.steady ? 'steady' : 'changing', ...(r.faulty ? ['FLAGGED'] : [])];
        lines.push(`    ${r.replica}: ${r.value} (${flags.join(', ')})`);
      }
    }
  } else lines.push('', 'No disagreements.');
  return lines.join('\n') + '\n';
}

async function runStatus(args: string[], io: CliIo): Promise<number> {
  let socket = process.env['NONSTOP_BTR_SOCKET'] || BTR_DEFAULTS.controlSocket;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h' || a === '--help') {
      io.out(USAGE);
      return 0;
    } else if (a === '--json') json = true;
    else if (a === '--socket' && args[i + 1] !== undefined) socket = args[++i]!;
    else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else {
      io.err(`nonstop btr status: unknown argument '${a}'\n\n${USAGE}`);
      return 2;
    }
  }
  try {
    const r = await controlRequest(socket, 'GET', '/btr/status');
    if (r.status !== 200) {
      io.err(`nonstop btr status: ${apiErrorMessage(r)}\n`);
      return 1;
    }
    io.out(
      json ? JSON.stringify(r.json, null, 2) + '\n' : formatBtrStatus(r.json as BtrStatusResponse),
    );
    return 0;
  } catch (e) {
    if (e instanceof ControlClientError) {
      io.err(`nonstop btr status: ${e.message.replace('nonstop speaker', 'nonstop btr')}\n`);
      return 1;
    }
    throw e;
  }
}

// --- the command -----------------------------------------------------------------------------

export interface BtrRunOptions {
  /** Where replicas come from (default: in-process `nonstop` replicas). */
  readonly replicaFactory?: ReplicaFactoryMaker;
  readonly io?: CliIo;
}

export async function runBtr(args: string[], opts: BtrRunOptions = {}): Promise<number> {
  const io = opts.io ?? processIo;
  if (args[0] === 'status') return runStatus(args.slice(1), io);
  let file: string | undefined;
  let check = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h' || a === '--help') {
      io.out(USAGE);
      return 0;
    } else if (a === '-c' || a === '--config') file = args[++i];
    else if (a === '--check') check = true;
    else {
      io.err(`nonstop btr: unknown argument '${a}'\n\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    io.err(`nonstop btr: a configuration file is required (-c FILE)\n\n${USAGE}`);
    return 2;
  }
  const loaded = await loadBtrConfig(file);
  if (!loaded.ok) {
    for (const e of loaded.error) io.err(formatConfigError(e) + '\n');
    return 1;
  }
  const cfg = loaded.value;
  for (const w of cfg.warnings) io.err(formatConfigError(w, 'warning') + '\n');
  if (check) {
    const standbys = cfg.replicas.filter((r) => r.standby).length;
    io.out(
      `${file}: configuration is valid (${cfg.neighbors.length} neighbors, ` +
        `${cfg.replicas.length - standbys} replicas + ${standbys} standbys, ${cfg.voting.strategy})\n`,
    );
    return 0;
  }
  return serve(cfg, opts.replicaFactory ?? inProcessFactory);
}

async function serve(cfg: BtrConfig, makeFactory: ReplicaFactoryMaker): Promise<number> {
  const log = createLogger({
    level: cfg.log.level,
    format: cfg.log.format,
    sink: (l) => process.stderr.write(l + '\n'),
  });
  let factory: ReplicaFactory;
  try {
    factory = makeFactory(cfg, log);
  } catch (e) {
    log.error('cannot set up the replicas', { error: e instanceof Error ? e.message : String(e) });
    return 1;
  }
  const seats = cfg.replicas.filter((r) => !r.standby);
  const metrics = new Registry();
  const m = btrMetrics(metrics);
  let sup: Supervisor | undefined;
  const onHvEvent = (e: HypervisorEvent | VoteEvent): void => {
    m.event(e);
    sup?.observe(e);
    if (e.type === 'vote') {
      const v = e.event;
      if (v.type === 'fault') {
        log.warn('voter: replica output differs from the steady majority', {
          neighbor: e.neighbor,
          replica: v.name,
          key: describeKey(v.key),
          value: describeValue(v.value),
          majority: describeValue(v.majority),
          sinceMs: Math.round(v.at - v.since),
        });
      } else if (v.type === 'master-changed') {
        log.warn('voter: master changed', { neighbor: e.neighbor, ...v });
      }
    } else if (e.type !== 'replica-fault') log.info(`hypervisor: ${e.type}`, { ...e });
  };
  let hv: Hypervisor;
  try {
    sup = new Supervisor({
      clock: systemClock,
      replicas: cfg.replicas.map((r) => ({
        name: r.name,
        kind: r.implementation,
        standby: r.standby,
      })),
      instance: (r) => {
        const spec = cfg.replicas.find((x) => x.name === r.name)!;
        return factory.create(spec, () => sup?.seatOf(r.name));
      },
      faultThreshold: cfg.voting.faultThreshold,
      windowMs: cfg.voting.windowMs,
      backoff: { initialMs: cfg.recovery.backoffInitialMs, maxMs: cfg.recovery.backoffMaxMs },
      ...(cfg.recovery.maxRestarts > 0 ? { maxRestarts: cfg.recovery.maxRestarts } : {}),
      startTimeoutMs: cfg.recovery.startTimeoutMs,
      onEvent: (e) => {
        m.supervisor(e);
        logSupervisor(log, e);
      },
    });
    const listen = listenEndpoints(cfg);
    hv = new Hypervisor(
      {
        router: { asn: cfg.asn, routerId: cfg.routerId },
        neighbors: cfg.neighbors.map((n) => {
          const caps = factory.capabilities?.(n);
          return {
            name: n.name,
            address: n.address,
            asn: n.asn,
            passive: n.passive,
            ...(n.localAddress ? { localAddress: n.localAddress } : {}),
            ...(caps ? { capabilities: caps } : {}),
          };
        }),
        replicas: seats.map((r) => ({
          name: r.name,
          connector: factory.seatConnector(r.name),
          ...(r.delay ? { delay: r.delay } : {}),
          ...(r.startDelayMs !== undefined ? { startDelayMs: r.startDelayMs } : {}),
        })),
        voting: { strategy: strategyOf(cfg), steadyMs: cfg.voting.steadyMs },
        ...(listen.length ? { listen } : {}),
      },
      {
        connector: new TcpConnector(),
        clock: systemClock,
        random: Math.random,
        onEvent: onHvEvent,
        log: (level, msg, fields) => log[level](msg, fields),
      },
    );
  } catch (e) {
    log.error('cannot set up the router', { error: e instanceof Error ? e.message : String(e) });
    return 1;
  }
  const supervisor = sup;
  const control = new ControlServer({
    socket: cfg.control.socket,
    ...(cfg.control.http ? { http: cfg.control.http } : {}),
    logger: log,
    metrics,
  });
  control.get('/btr/status', (req) => {
    const limit = Number(req.query.get('limit') ?? 100);
    return btrStatus(cfg, hv, supervisor, Number.isFinite(limit) ? limit : 100);
  });
  metrics.onCollect(() => m.collect(hv, supervisor));
  try {
    await control.listen();
    await hv.start();
    supervisor.start();
  } catch (e) {
    log.error('startup failed', { error: e instanceof Error ? e.message : String(e) });
    await hv.stop('startup failed').catch(() => {});
    await supervisor.stop().catch(() => {});
    await control.close().catch(() => {});
    return 1;
  }
  log.info('bug-tolerant router running', {
    routerId: cfg.routerId,
    replicas: seats.map((r) => r.name),
    standbys: cfg.replicas.filter((r) => r.standby).map((r) => r.name),
    strategy: cfg.voting.strategy,
  });
  return await new Promise<number>((resolve) => {
    const shutdown = (sig: string): void => {
      log.info(`${sig}: shutting down`, {});
      void (async () => {
        await hv.stop(`${sig} received`); // Cease to every neighbour and replica session
        await supervisor.stop();
        await factory.close?.();
        await control.close();
        resolve(0);
      })();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

/** Passive neighbours are accepted on the router's local addresses (or every address). */
function listenEndpoints(cfg: BtrConfig): Endpoint[] {
  const passive = cfg.neighbors.filter((n) => n.passive);
  if (passive.length === 0) return [];
  if (passive.some((n) => !n.localAddress)) {
    return [
      { address: '0.0.0.0', port: 179 },
      { address: '::', port: 179 },
    ];
  }
  return [...new Set(passive.map((n) => n.localAddress!))].map((address) => ({
    address,
    port: 179,
  }));
}

export function btrStatus(
  cfg: BtrConfig,
  hv: Hypervisor,
  sup: Supervisor,
  limit: number,
): BtrStatusResponse {
  const disagreements: BtrStatusResponse['disagreements'][number][] = [];
  for (const n of cfg.neighbors) {
    const inc = hv.incarnation(n.name);
    if (!inc) continue;
    for (const d of inc.vote.voter.disagreements(limit)) {
      disagreements.push({
        neighbor: n.name,
        key: describeKey(d.key),
        sinceMs: d.since,
        output: describeValue(d.output),
        replicas: d.replicas.map((r) => ({
          replica: sup.inSeat(r.name) ?? r.name,
          value: describeValue(r.value),
          steady: r.steady,
          faulty: r.faulty,
        })),
      });
    }
  }
  disagreements.sort((a, b) => a.sinceMs - b.sinceMs);
  return {
    router: { asn: cfg.asn, routerId: cfg.routerId, strategy: cfg.voting.strategy },
    supervisor: sup.status(),
    neighbors: hv.status().map((n) => ({
      ...n,
      replicas: n.replicas.map((r) => ({
        replica: sup.inSeat(r.replica) ?? r.replica,
        state: r.state,
        voting: r.voting,
      })),
    })),
    disagreements: disagreements.slice(0, limit),
    now: systemClock.now(),
  };
}

function logSupervisor(log: Logger, e: SupervisorEvent): void {
  if (e.type === 'decision') {
    log.warn(`supervisor: ${e.message}`, {
      replica: e.replica,
      action: e.action,
      faults: e.faults.length,
      ...(e.since !== undefined ? { sinceMs: e.since } : {}),
      ...(e.standby ? { standby: e.standby } : {}),
      ...(e.delayMs !== undefined ? { delayMs: e.delayMs } : {}),
    });
  } else if (e.type === 'fault') {
    log.info(`replica fault: ${e.fault.reason}`, {
      replica: e.replica,
      kind: e.fault.kind,
      score: e.score,
      threshold: e.threshold,
    });
  } else {
    log.info(`replica ${e.replica}: ${e.from} → ${e.to}`, { replica: e.replica });
  }
}

/** Prometheus metrics of the BTR (docs/btr.md "Operating it"). */
function btrMetrics(reg: Registry) {
  const restarts = reg.counter(
    'nonstop_btr_replica_restarts_total',
    'Replica restarts and replacements by the supervisor',
    ['replica', 'action'],
  );
  const faults = reg.counter(
    'nonstop_btr_replica_faults_total',
    'Faults recorded against a replica',
    ['replica', 'kind'],
  );
  const sessionFaults = reg.counter(
    'nonstop_btr_replica_session_faults_total',
    'Replica session faults reported by the hypervisor',
    ['replica', 'neighbor'],
  );
  const state = reg.gauge('nonstop_btr_replica_state', 'Replica state (1 for the current one)', [
    'replica',
    'state',
  ]);
  const decisions = reg.gauge(
    'nonstop_btr_vote_decisions',
    'Voted output changes in the current neighbour session',
    ['neighbor'],
  );
  const voterFaults = reg.gauge(
    'nonstop_btr_vote_faults',
    'Replica outputs flagged against the steady majority in the current neighbour session',
    ['neighbor'],
  );
  const disagreements = reg.gauge(
    'nonstop_btr_disagreements',
    'Keys on which the voting replicas disagree now',
    ['neighbor'],
  );
  const outputs = reg.gauge('nonstop_btr_voted_routes', 'Routes in the voted output', ['neighbor']);
  const voting = reg.gauge('nonstop_btr_replicas_voting', 'Replicas taking part in the vote');
  const STATES = ['starting', 'bootstrapping', 'voting', 'standby', 'faulty', 'restarting', 'dead'];
  return {
    event(e: HypervisorEvent | VoteEvent): void {
      if (e.type === 'replica-fault')
        sessionFaults.inc({ replica: e.replica, neighbor: e.neighbor });
    },
    supervisor(e: SupervisorEvent): void {
      if (e.type === 'fault') faults.inc({ replica: e.replica, kind: e.fault.kind });
      if (e.type === 'decision' && e.action !== 'defer' && e.action !== 'give-up') {
        restarts.inc({ replica: e.replica, action: e.action });
      }
    },
    collect(hv: Hypervisor, sup: Supervisor): void {
      const s = sup.status();
      voting.set(undefined, s.voting);
      for (const r of s.replicas) {
        for (const st of STATES) state.set({ replica: r.name, state: st }, r.state === st ? 1 : 0);
      }
      for (const n of hv.status()) {
        const v = hv.incarnation(n.neighbor)?.vote.voter.stats();
        decisions.set({ neighbor: n.neighbor }, v?.decisions ?? 0);
        voterFaults.set({ neighbor: n.neighbor }, v?.faults ?? 0);
        disagreements.set({ neighbor: n.neighbor }, n.disagreements);
        outputs.set({ neighbor: n.neighbor }, n.output);
      }
    },
  };
}

export const btrCommand: Command = {
  name: 'btr',
  summary: 'run the bug-tolerant router (replicas, voting, recovery); btr status',
  run: (args) => runBtr(args),
};
