// The bug-tolerant router composed from its parts, for `nonstop btr` and the demo: the
// hypervisor (src/btr/hypervisor.ts: the real sessions, replication, update voting), the
// supervisor (src/btr/supervisor.ts: replica processes, faults, restarts, standbys), the FIB
// voter (src/btr/fib-vote.ts: what the router installs), status and metrics. I/O is injected
// (router-side Connector, Clock, the router's Fib), so the demo and the tests run it in
// memory; `nonstop btr` gives it kernel TCP and, with `fib.mode: kernel`, the kernel FIB.
//
// FIB vote membership follows the supervisor: a seat votes on the FIB while the replica
// holding it is `voting` (or `faulty`: still voting, outvoted); a replica (re)starting has an
// empty FIB. Voter faults on the FIB go to the supervisor like update-voter faults, under the
// pseudo-neighbour `FIB`.

import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Connector, Endpoint } from '../net/transport.js';
import { TcpConnector } from '../net/tcp.js';
import { MemoryFib, NetlinkFib, type Fib } from '../fib/index.js';
import { Registry } from '../control/metrics.js';
import type { BtrConfig } from '../btr/config.js';
import {
  Hypervisor,
  type HypervisorConfig,
  type NeighborStatus,
  type VoteEvent,
} from '../btr/hypervisor.js';
import type { HypervisorEvent } from '../btr/replica-channel.js';
import type { InstanceFibRoute } from '../btr/instance.js';
import {
  Supervisor,
  type SupervisedInstance,
  type SupervisorEvent,
  type SupervisorStatus,
} from '../btr/supervisor.js';
import { FibPoller, FibVote, type FibVoteEvent, type FibVoteStatus } from '../btr/fib-vote.js';
import { PassThroughProbe, type PassThroughOutput } from '../btr/pass-through.js';
import { describeKey } from '../btr/canonical-key.js';
import { describeValue } from '../btr/canonical.js';
import type { Disagreement, Strategy } from '../btr/voter.js';
import { inProcessFactory, type ReplicaFactory, type ReplicaFactoryMaker } from './btr-replicas.js';

/** The name FIB voter faults carry in the supervisor and in status. */
export const FIB_NEIGHBOR = 'FIB';

export type BtrRouterEvent =
  | { readonly source: 'hypervisor'; readonly event: HypervisorEvent | VoteEvent }
  | { readonly source: 'supervisor'; readonly event: SupervisorEvent }
  | { readonly source: 'fib'; readonly event: FibVoteEvent };

export interface BtrRouterOptions {
  readonly log: Logger;
  /** Where replicas come from (default: in-process `nonstop` replicas). */
  readonly replicaFactory?: ReplicaFactoryMaker;
  /** The router's side: connections to and from the real neighbours (default kernel TCP). */
  readonly connector?: Connector;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** The router's FIB (default from `fib.mode`: MemoryFib, or NetlinkFib in this namespace). */
  readonly routerFib?: Fib;
  /** Hypervisor catch-up of returning replicas (default 2 s quiet, 30 s at most). */
  readonly catchUp?: HypervisorConfig['catchUp'];
  readonly onEvent?: (e: BtrRouterEvent) => void;
}

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
  /** The FIB voter (absent with `fib.mode: none`). */
  readonly fib?: Omit<FibVoteStatus, 'replicas'> & {
    readonly mode: string;
    readonly replicas: readonly {
      readonly replica: string;
      readonly seat: string;
      readonly voting: boolean;
      readonly routes: number;
      readonly flagged: number;
    }[];
  };
  /** Per neighbour, and `FIB` for the FIB voter. */
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

export function strategyOf(cfg: BtrConfig): Strategy {
  const v = cfg.voting;
  if (v.strategy === 'wait-for-consensus') {
    return v.k !== undefined ? { kind: v.strategy, k: v.k } : { kind: v.strategy };
  }
  return { kind: v.strategy };
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

type PollableInstance = SupervisedInstance & {
  fibRoutes?: () => Promise<readonly InstanceFibRoute[]>;
};

export class BtrRouter {
  readonly metrics = new Registry();
  readonly hv: Hypervisor;
  readonly supervisor: Supervisor;
  /** Absent with `fib.mode: none`. */
  readonly fibVote: FibVote | undefined;
  readonly passThrough: PassThroughProbe;
  private readonly factory: ReplicaFactory;
  private readonly poller: FibPoller | undefined;
  private readonly instances = new Map<string, PollableInstance>();
  private readonly clock: Clock;
  private readonly seats: string[];

  /** Opens the router's FIB (the kernel's needs the router's namespace) and composes. */
  static async create(cfg: BtrConfig, opts: BtrRouterOptions): Promise<BtrRouter> {
    let fib = opts.routerFib;
    if (!fib && cfg.fib.mode === 'kernel') fib = await NetlinkFib.open({ table: cfg.fib.table });
    return new BtrRouter(cfg, opts, fib ?? new MemoryFib());
  }

  private constructor(
    readonly cfg: BtrConfig,
    private readonly opts: BtrRouterOptions,
    readonly routerFib: Fib,
  ) {
    const log = opts.log;
    const clock = (this.clock = opts.clock ?? systemClock);
    const seats = cfg.replicas.filter((r) => !r.standby);
    this.seats = seats.map((r) => r.name);
    const m = btrMetrics(this.metrics);
    const emit = (e: BtrRouterEvent): void => opts.onEvent?.(e);
    // Callbacks built before the supervisor exists reach it through this.
    const ref: { sup?: Supervisor } = {};
    // Pass-through time, neighbour's UPDATE → voted UPDATE out / router FIB (sampled).
    const probe = new PassThroughProbe({ onSample: (output, ms) => m.passThrough(output, ms) });
    this.passThrough = probe;

    // The FIB vote: one voter over FIB keys; its faults count against replicas too.
    const fibVote =
      cfg.fib.mode === 'none'
        ? undefined
        : new FibVote({
            strategy: strategyOf(cfg),
            clock,
            steadyMs: cfg.voting.steadyMs,
            fib: routerFib,
            maxReplicas: Math.min(31, Math.max(8, seats.length)),
            onInstalled: (key) => probe.output('fib', key, clock.now()),
            onEvent: (e) => {
              emit({ source: 'fib', event: e });
              if (e.type === 'vote') {
                ref.sup?.observe({ type: 'vote', neighbor: FIB_NEIGHBOR, event: e.event });
                if (e.event.type === 'fault') {
                  const v = e.event;
                  log.warn('FIB voter: replica FIB differs from the steady majority', {
                    replica: v.name,
                    key: describeKey(v.key),
                    value: describeValue(v.value),
                    majority: describeValue(v.majority),
                    sinceMs: Math.round(v.at - v.since),
                  });
                }
              } else if (e.type === 'apply-failed') {
                log.error("FIB voter: the router's FIB refused changes", {
                  failures: e.failures.length,
                  first: e.failures[0]?.message,
                });
              } else log.warn(`FIB voter: ${e.type}`, { ...e });
            },
          });
    this.fibVote = fibVote;
    for (const s of this.seats) fibVote?.addReplica(s, { voting: false });

    this.factory = (opts.replicaFactory ?? inProcessFactory)(cfg, log, {
      clock,
      ...(fibVote
        ? {
            fib: {
              reset: (seat) => fibVote.reset(seat),
              route: (seat, prefix, gws) => fibVote.route(seat, prefix, gws),
            },
          }
        : {}),
    });
    const factory = this.factory;
    const pushed = factory.fibPushed === true;

    const onHvEvent = (e: HypervisorEvent | VoteEvent): void => {
      m.event(e);
      ref.sup?.observe(e);
      emit({ source: 'hypervisor', event: e });
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

    const sup = new Supervisor({
      clock,
      replicas: cfg.replicas.map((r) => ({
        name: r.name,
        kind: r.implementation,
        standby: r.standby,
      })),
      instance: (r) => {
        const spec = cfg.replicas.find((x) => x.name === r.name)!;
        const inst: PollableInstance = factory.create(spec, () => ref.sup?.seatOf(r.name));
        this.instances.set(r.name, inst);
        if (pushed || !fibVote) return inst;
        // Polled FIBs: a (re)started replica has an empty FIB until its first poll.
        return {
          name: inst.name,
          kind: inst.kind,
          start: () => {
            const seat = ref.sup?.seatOf(r.name);
            if (seat !== undefined) fibVote.reset(seat);
            return inst.start();
          },
          stop: () => inst.stop(),
          kill: (s) => inst.kill(s),
          running: () => inst.running(),
          onExit: (cb) => inst.onExit(cb),
        };
      },
      faultThreshold: cfg.voting.faultThreshold,
      windowMs: cfg.voting.windowMs,
      backoff: { initialMs: cfg.recovery.backoffInitialMs, maxMs: cfg.recovery.backoffMaxMs },
      ...(cfg.recovery.maxRestarts > 0 ? { maxRestarts: cfg.recovery.maxRestarts } : {}),
      startTimeoutMs: cfg.recovery.startTimeoutMs,
      onEvent: (e) => {
        m.supervisor(e);
        logSupervisor(log, e);
        if (e.type === 'state') this.syncFibVoting();
        emit({ source: 'supervisor', event: e });
      },
    });
    ref.sup = sup;
    this.supervisor = sup;

    if (fibVote && !pushed) {
      this.poller = new FibPoller({
        clock,
        vote: fibVote,
        intervalMs: cfg.fib.pollMs,
        replicas: () => this.polledReplicas(),
        onEvent: (e) => emit({ source: 'fib', event: e }),
      });
    }

    const listen = listenEndpoints(cfg);
    this.hv = new Hypervisor(
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
        ...(opts.catchUp ? { catchUp: opts.catchUp } : {}),
      },
      {
        connector: opts.connector ?? new TcpConnector(),
        clock,
        random: opts.random ?? Math.random,
        onEvent: onHvEvent,
        log: (level, msg, fields) => log[level](msg, fields),
        passThrough: probe,
      },
    );
    this.metrics.onCollect(() => m.collect(this.hv, this.supervisor, this.fibVote));
  }

  /** A seat votes on the FIB while the replica holding it votes (or is faulty but kept). */
  private syncFibVoting(): void {
    const fv = this.fibVote;
    const sup = this.supervisor as Supervisor | undefined; // unset while it is being built
    if (!fv || !sup) return;
    const st = sup.status();
    for (const seat of this.seats) {
      const holder = st.replicas.find((r) => r.seat === seat);
      fv.setVoting(seat, holder?.state === 'voting' || holder?.state === 'faulty');
    }
  }

  private *polledReplicas(): Iterable<{
    name: string;
    fibRoutes: () => Promise<readonly InstanceFibRoute[]>;
  }> {
    for (const seat of this.seats) {
      const holder = this.supervisor.inSeat(seat);
      const inst = holder === undefined ? undefined : this.instances.get(holder);
      if (!inst?.fibRoutes || !inst.running()) continue;
      const fibRoutes = inst.fibRoutes.bind(inst);
      yield { name: seat, fibRoutes };
    }
  }

  async start(): Promise<void> {
    await this.hv.start();
    this.supervisor.start();
    this.poller?.start();
  }

  /** Cease to every neighbour and replica session, replicas stopped, the FIB closed. */
  async stop(reason: string): Promise<void> {
    this.poller?.stop();
    await this.hv.stop(reason);
    await this.supervisor.stop();
    await this.factory.close?.();
    await this.fibVote?.close();
    await this.routerFib.close();
  }

  status(limit = 100): BtrStatusResponse {
    const cfg = this.cfg;
    const sup = this.supervisor;
    const disagreements: BtrStatusResponse['disagreements'][number][] = [];
    const add = (neighbor: string, ds: Disagreement[]): void => {
      for (const d of ds) {
        disagreements.push({
          neighbor,
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
    };
    for (const n of cfg.neighbors) {
      const inc = this.hv.incarnation(n.name);
      if (inc) add(n.name, inc.vote.voter.disagreements(limit));
    }
    if (this.fibVote) add(FIB_NEIGHBOR, this.fibVote.disagreements(limit));
    disagreements.sort((a, b) => a.sinceMs - b.sinceMs);
    const f = this.fibVote?.status();
    return {
      router: { asn: cfg.asn, routerId: cfg.routerId, strategy: cfg.voting.strategy },
      supervisor: sup.status(),
      neighbors: this.hv.status().map((n) => ({
        ...n,
        replicas: n.replicas.map((r) => ({
          replica: sup.inSeat(r.replica) ?? r.replica,
          state: r.state,
          voting: r.voting,
        })),
      })),
      ...(f
        ? {
            fib: {
              ...f,
              mode: cfg.fib.mode,
              replicas: f.replicas.map((r) => ({
                ...r,
                seat: r.replica,
                replica: sup.inSeat(r.replica) ?? r.replica,
              })),
            },
          }
        : {}),
      disagreements: disagreements.slice(0, limit),
      now: this.clock.now(),
    };
  }
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

/** Prometheus metrics of the BTR (docs/btr.md "Status, API and metrics"). */
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
  const fibRoutes = reg.gauge(
    'nonstop_btr_fib_routes',
    "Voted routes installed in the router's FIB",
  );
  const fibDisagreements = reg.gauge(
    'nonstop_btr_fib_disagreements',
    'FIB keys on which the voting replicas disagree now',
  );
  const fibDecisions = reg.gauge('nonstop_btr_fib_decisions', 'FIB voter output changes');
  const fibFaults = reg.gauge(
    'nonstop_btr_fib_faults',
    'Replica FIB entries flagged against the steady majority',
  );
  const fibFailures = reg.gauge(
    'nonstop_btr_fib_apply_failures',
    "Voted changes the router's FIB refused",
  );
  const passThrough = reg.histogram(
    'nonstop_btr_pass_through_seconds',
    "Time from a neighbour's UPDATE to the voted UPDATE to another neighbour (output=update) or the voted change in the router's FIB (output=fib); one sampled route per UPDATE",
    ['output'],
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
  );
  const STATES = ['starting', 'bootstrapping', 'voting', 'standby', 'faulty', 'restarting', 'dead'];
  return {
    passThrough(output: PassThroughOutput, ms: number): void {
      passThrough.observe({ output }, ms / 1000);
    },
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
    collect(hv: Hypervisor, sup: Supervisor, fv: FibVote | undefined): void {
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
      if (fv) {
        const f = fv.status();
        fibRoutes.set(undefined, f.installed);
        fibDisagreements.set(undefined, f.disagreements);
        fibDecisions.set(undefined, f.decisions);
        fibFaults.set(undefined, f.faults);
        fibFailures.set(undefined, f.applyFailures);
      }
    },
  };
}
