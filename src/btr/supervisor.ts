// The replica supervisor of the bug-tolerant router (BTR paper §4.2 "Recovery"; §5.1
// standbys; ARCHITECTURE.md "Fault detection and recovery"): keeps R replicas voting, turns
// fault signals into a per-replica fault score, and kills, restarts or replaces a replica
// past its fault threshold, without ever breaking the quorum. Every decision is one
// `decision` event that says which replica, why (which faults, on which keys, since when)
// and what was done: the hypervisor is also a bug-diagnosis tool.
//
// Model.
// - R *seats* (the replicas configured without `standby`): the hypervisor knows replicas by
//   seat name (its `ReplicaSpec.name`), so its events name seats. A seat is held by one
//   replica; a standby has no seat. Promoting a standby moves the faulty replica's seat to
//   it (the paper's "replace it with an alternate diverse copy"); the faulty replica is
//   killed and goes back to the pool as a (cold, not running) standby.
// - Fault signals: voter `fault` events (a steady output that differs from the steady
//   majority, one per key), hypervisor `replica-fault` events (session closed, NOTIFICATION,
//   open failure, refused OPEN, too slow), health-check timeouts (`healthTimeout`, a start
//   that never reaches the vote, an instance that says it is not running) and exits.
// - Score: the faults recorded in the last `windowMs`. At `faultThreshold` the replica is
//   killed and restarted (or replaced by a standby). A crash (an exit we did not ask for) or
//   a health timeout acts at once, without waiting for the score.
// - Quorum: `need` = floor(R / 2) + 1 replicas must vote. A replica that votes is killed
//   only if at least `need` others keep voting; otherwise it is marked `faulty` and killed
//   as soon as enough others vote again. A replica that is already dead is always restarted.
// - Backoff: a restart happens at once the first time; each further restart of a replica
//   that has not run for `resetAfterMs` since its last start waits initialMs × factor^(n-1),
//   at most maxMs. A replica whose restart must wait is replaced by a standby when one is
//   free. `maxRestarts` (default unlimited) consecutive restarts leave it `dead`.
// - Events from an earlier incarnation of a replica (their `at` precedes its last start)
//   are ignored: the sessions a kill closes are consequences, not new faults.
//
// Pure: time and timers from the injected Clock; processes are behind `SupervisedInstance`
// (the RouterInstance of src/btr/instance.ts, implemented in src/lab/ for real daemons).

import type { Clock, TimerHandle } from '../lib/clock.js';
import { describeKey } from './canonical-key.js';
import type { InstanceExit, RouterInstance } from './instance.js';
import type { HypervisorEvent } from './replica-channel.js';
import type { VoterEvent } from './voter.js';

/** What the supervisor needs of a replica daemon: part of `RouterInstance` (instance.ts). */
export type SupervisedInstance = Pick<
  RouterInstance,
  'name' | 'kind' | 'start' | 'stop' | 'kill' | 'running' | 'onExit'
>;

export type ReplicaState =
  'starting' | 'bootstrapping' | 'voting' | 'standby' | 'faulty' | 'restarting' | 'dead';

export type FaultKind = 'disagreement' | 'session' | 'crash' | 'health';

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly at: number;
  /** In words: `198.18.1.0/24: announces next-hop … where the majority has withdrawn`. */
  readonly reason: string;
  readonly neighbor?: string;
  /** disagreement: the key, as text (`198.18.1.0/24 path-id 2`). */
  readonly key?: string;
  /** disagreement: since when the replica has held its wrong value. */
  readonly since?: number;
}

export type SupervisorAction =
  /** Killed (when running) and started again. */
  | 'restart'
  /** Killed and replaced by a standby; it becomes a standby itself. */
  | 'replace'
  /** Past its threshold but kept: killing it would break the quorum. */
  | 'defer'
  /** Will be started again after the backoff delay. */
  | 'restart-scheduled'
  /** Too many consecutive restarts: left dead. */
  | 'give-up';

export type SupervisorEvent =
  | {
      readonly type: 'fault';
      readonly replica: string;
      readonly fault: FaultRecord;
      /** Faults in the window, this one included. */
      readonly score: number;
      readonly threshold: number;
    }
  | {
      readonly type: 'decision';
      readonly replica: string;
      readonly action: SupervisorAction;
      readonly at: number;
      /** The faults that led to it (those in the window, or the crash), oldest first. */
      readonly faults: readonly FaultRecord[];
      /** When the first of them happened. */
      readonly since: number | undefined;
      /** The standby that takes the seat (replace). */
      readonly standby?: string;
      /** restart-scheduled: how long the backoff makes it wait. */
      readonly delayMs?: number;
      /** The whole explanation in one sentence, for logs. */
      readonly message: string;
    }
  | {
      readonly type: 'state';
      readonly replica: string;
      readonly from: ReplicaState;
      readonly to: ReplicaState;
      readonly at: number;
    };

export interface SupervisorReplica {
  readonly name: string;
  /** Implementation (nonstop, bird, frr, …), for status. */
  readonly kind: string;
  readonly standby?: boolean;
}

export interface BackoffOptions {
  /** Delay before the second consecutive restart (default 1000 ms); the first is at once. */
  readonly initialMs?: number;
  /** Growth per further restart (default 2). */
  readonly factor?: number;
  /** Longest delay (default 60000 ms). */
  readonly maxMs?: number;
  /** A replica that ran this long since its last start counts as stable again (default 60000 ms). */
  readonly resetAfterMs?: number;
}

export interface SupervisorOptions {
  readonly clock: Clock;
  readonly replicas: readonly SupervisorReplica[];
  /** The daemon handle of each replica (made by the replica factory). */
  readonly instance: (replica: SupervisorReplica) => SupervisedInstance;
  /** Faults within `windowMs` that make a replica faulty (default 3). */
  readonly faultThreshold?: number;
  /** Default 60000 ms. */
  readonly windowMs?: number;
  readonly backoff?: BackoffOptions;
  /** Consecutive restarts after which a replica is left dead (default unlimited). */
  readonly maxRestarts?: number;
  /**
   * A replica started while a neighbour session is up must vote within this long, or it
   * is restarted (default 120000 ms; 0 disables).
   */
  readonly startTimeoutMs?: number;
  /** How often `running()` is polled (default 1000 ms; 0 disables). */
  readonly pollMs?: number;
  /** After a kill, start the next instance anyway if no exit came within this (default 5000 ms). */
  readonly killTimeoutMs?: number;
  /**
   * A session fault on a neighbour whose session this incarnation never had up, within this
   * long of its start, is taken for the previous incarnation's (default 2000 ms).
   */
  readonly staleMs?: number;
  readonly onEvent?: (e: SupervisorEvent) => void;
}

export interface ReplicaStatus {
  readonly name: string;
  readonly kind: string;
  /** The seat (hypervisor replica name) it holds; null for a standby. */
  readonly seat: string | null;
  readonly state: ReplicaState;
  /** When it entered that state. */
  readonly since: number;
  readonly restarts: number;
  /** Faults recorded since the supervisor started. */
  readonly faults: number;
  /** Faults in the current window. */
  readonly score: number;
  /** Keys on which the voter currently flags it, per neighbour. */
  readonly flaggedKeys: number;
  /** Neighbours on whose vote it takes part. */
  readonly votingOn: readonly string[];
  readonly lastFault: FaultRecord | null;
  /** restarting: when it will be started. */
  readonly restartAt: number | null;
}

export interface SupervisorStatus {
  readonly replicas: readonly ReplicaStatus[];
  /** Seats (R) and the votes needed for a majority. */
  readonly seats: number;
  readonly quorum: number;
  readonly voting: number;
  readonly restarts: number;
  readonly faults: number;
  readonly decisions: number;
}

type Life = 'standby' | 'starting' | 'running' | 'killing' | 'restarting' | 'dead';

interface Replica {
  readonly spec: SupervisorReplica;
  readonly inst: SupervisedInstance;
  seat: string | undefined;
  life: Life;
  /** Past the threshold, kill deferred for the quorum. */
  deferred: boolean;
  state: ReplicaState;
  stateSince: number;
  startedAt: number;
  /** Incremented by every launch: stale promise callbacks and timers check it. */
  gen: number;
  /** Its current start() has resolved. */
  launched: boolean;
  everStarted: boolean;
  /** Restarts since it was last stable (for the backoff). */
  consecutive: number;
  restarts: number;
  faultsTotal: number;
  window: FaultRecord[];
  lastFault: FaultRecord | undefined;
  /** Neighbours on which its session came up / on whose vote it takes part. */
  upOn: Set<string>;
  votingOn: Set<string>;
  /** neighbour + key → flagged. */
  flagged: Set<string>;
  /** Restart (backoff) or kill timeout. */
  timer: TimerHandle | undefined;
  /** Start timeout (health). */
  startTimer: TimerHandle | undefined;
  restartAt: number | undefined;
  /** Exits of kills and stops we asked for: not crashes. */
  pendingExits: number;
  /** After a kill: what to do once it has exited. */
  afterExit: (() => void) | undefined;
}

export class Supervisor {
  private readonly clock: Clock;
  private readonly replicas: Replica[] = [];
  private readonly bySeatName = new Map<string, Replica>();
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly backoff: Required<BackoffOptions>;
  private readonly maxRestarts: number;
  private readonly startTimeoutMs: number;
  private readonly pollMs: number;
  private readonly killTimeoutMs: number;
  private readonly staleMs: number;
  private readonly need: number;
  private readonly seats: number;
  private readonly neighborsUp = new Set<string>();
  private pollTimer: TimerHandle | undefined;
  private stopped = false;
  private started = false;
  private nDecisions = 0;

  constructor(private readonly opts: SupervisorOptions) {
    this.clock = opts.clock;
    this.threshold = opts.faultThreshold ?? 3;
    this.windowMs = opts.windowMs ?? 60000;
    if (!(this.threshold >= 1)) throw new RangeError('faultThreshold must be at least 1');
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.backoff = {
      initialMs: opts.backoff?.initialMs ?? 1000,
      factor: opts.backoff?.factor ?? 2,
      maxMs: opts.backoff?.maxMs ?? 60000,
      resetAfterMs: opts.backoff?.resetAfterMs ?? 60000,
    };
    this.maxRestarts = opts.maxRestarts ?? Infinity;
    this.startTimeoutMs = opts.startTimeoutMs ?? 120000;
    this.pollMs = opts.pollMs ?? 1000;
    this.killTimeoutMs = opts.killTimeoutMs ?? 5000;
    this.staleMs = opts.staleMs ?? 2000;
    const names = new Set<string>();
    const now = this.clock.now();
    for (const spec of opts.replicas) {
      if (names.has(spec.name)) throw new Error(`two replicas named ${spec.name}`);
      names.add(spec.name);
      const r: Replica = {
        spec,
        inst: opts.instance(spec),
        seat: spec.standby ? undefined : spec.name,
        life: spec.standby ? 'standby' : 'starting',
        deferred: false,
        state: spec.standby ? 'standby' : 'starting',
        stateSince: now,
        startedAt: -Infinity,
        gen: 0,
        launched: false,
        everStarted: false,
        consecutive: 0,
        restarts: 0,
        faultsTotal: 0,
        window: [],
        lastFault: undefined,
        upOn: new Set(),
        votingOn: new Set(),
        flagged: new Set(),
        timer: undefined,
        startTimer: undefined,
        restartAt: undefined,
        pendingExits: 0,
        afterExit: undefined,
      };
      r.inst.onExit((exit) => this.exited(r, exit));
      this.replicas.push(r);
      if (r.seat !== undefined) this.bySeatName.set(r.seat, r);
    }
    this.seats = this.bySeatName.size;
    if (this.seats === 0) throw new Error('no replica to run: every replica is a standby');
    this.need = Math.floor(this.seats / 2) + 1;
  }

  /** Starts every seated replica (standbys stay stopped until needed). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const r of this.replicas) if (r.seat !== undefined) this.launch(r);
    this.armPoll();
  }

  /** Stops every replica (clean shutdown: `stop()`, not `kill`) and every timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pollTimer?.cancel();
    const running: Promise<unknown>[] = [];
    for (const r of this.replicas) {
      r.timer?.cancel();
      r.timer = undefined;
      r.startTimer?.cancel();
      r.startTimer = undefined;
      r.restartAt = undefined;
      r.afterExit = undefined;
      if (r.life === 'starting' || r.life === 'running' || r.life === 'killing') {
        if (r.inst.running()) r.pendingExits++;
        running.push(r.inst.stop().catch(() => undefined));
      }
      if (r.life !== 'standby') r.life = 'dead';
      this.refresh(r);
    }
    await Promise.all(running);
  }

  /** The seat `replica` holds (undefined for a standby, or an unknown name). */
  seatOf(replica: string): string | undefined {
    return this.replicas.find((x) => x.spec.name === replica)?.seat;
  }

  /** The replica holding `seat` (the hypervisor's name for it), if any. */
  inSeat(seat: string): string | undefined {
    return this.bySeatName.get(seat)?.spec.name;
  }

  /** Feeds one hypervisor event (`replica-fault`, session progress) or vote event. */
  observe(
    e: HypervisorEvent | { readonly type: 'vote'; readonly neighbor: string; event: VoterEvent },
  ): void {
    if (this.stopped) return;
    switch (e.type) {
      case 'neighbor-up':
        this.neighborsUp.add(e.neighbor);
        // Every running seated replica joins the new session's vote at once (replica-channel.ts).
        for (const r of this.replicas) {
          if (r.seat !== undefined && (r.life === 'running' || r.life === 'starting')) {
            r.votingOn.add(e.neighbor);
            this.refresh(r);
          }
        }
        this.settleDeferred();
        return;
      case 'neighbor-down':
        this.neighborsUp.delete(e.neighbor);
        for (const r of this.replicas) {
          r.upOn.delete(e.neighbor);
          r.votingOn.delete(e.neighbor);
          for (const k of [...r.flagged]) if (k.startsWith(`${e.neighbor}\n`)) r.flagged.delete(k);
          this.refresh(r);
        }
        return;
      case 'replica-up':
      case 'replica-caught-up':
      case 'replica-voting': {
        const r = this.current(e.replica, e.at);
        if (!r) return;
        r.upOn.add(e.neighbor);
        if (e.type === 'replica-voting') r.votingOn.add(e.neighbor);
        if (r.life === 'starting') r.life = 'running';
        this.refresh(r);
        if (e.type === 'replica-voting') this.settleDeferred();
        return;
      }
      case 'replica-fault': {
        const r = this.current(e.replica, e.at);
        if (!r) return;
        if (!r.upOn.has(e.neighbor) && e.at - r.startedAt < this.staleMs) {
          // Most likely the session of the previous incarnation, closed by its kill.
          return;
        }
        r.upOn.delete(e.neighbor);
        r.votingOn.delete(e.neighbor);
        const n = e.notification;
        const note = n
          ? ` (NOTIFICATION ${n.code}/${n.subcode} ${n.sent ? 'sent' : 'received'})`
          : '';
        this.fault(r, {
          kind: 'session',
          at: e.at,
          neighbor: e.neighbor,
          reason: `session with ${e.neighbor}: ${e.reason}${note}`,
        });
        return;
      }
      case 'vote':
        return this.vote(e.neighbor, e.event);
    }
  }

  /**
   * A health check of the replica failed (no answer from its daemon, its API, …): it is
   * restarted as after a crash, quorum permitting.
   */
  healthTimeout(name: string, detail: string): void {
    const r = this.replicas.find((x) => x.spec.name === name);
    if (!r || this.stopped || (r.life !== 'running' && r.life !== 'starting')) return;
    this.health(r, detail);
  }

  status(): SupervisorStatus {
    const now = this.clock.now();
    let restarts = 0;
    let faults = 0;
    const replicas = this.replicas.map((r): ReplicaStatus => {
      restarts += r.restarts;
      faults += r.faultsTotal;
      return {
        name: r.spec.name,
        kind: r.spec.kind,
        seat: r.seat ?? null,
        state: r.state,
        since: r.stateSince,
        restarts: r.restarts,
        faults: r.faultsTotal,
        score: this.score(r, now),
        flaggedKeys: r.flagged.size,
        votingOn: [...r.votingOn].sort(),
        lastFault: r.lastFault ?? null,
        restartAt: r.restartAt ?? null,
      };
    });
    return {
      replicas,
      seats: this.seats,
      quorum: this.need,
      voting: this.votingCount(),
      restarts,
      faults,
      decisions: this.nDecisions,
    };
  }

  // --- inputs -----------------------------------------------------------------------------

  private vote(neighbor: string, e: VoterEvent): void {
    if (e.type === 'master-changed') return;
    const r = this.current(e.name, e.at);
    if (!r) return;
    const id = `${neighbor}\n${String(e.key)}`;
    if (e.type === 'fault-cleared') {
      r.flagged.delete(id);
      return;
    }
    r.flagged.add(id);
    const key = safeDescribe(e.key);
    this.fault(r, {
      kind: 'disagreement',
      at: e.at,
      neighbor,
      key,
      since: e.since,
      reason: `to ${neighbor}, ${key}: ${e.value === undefined ? 'withdrawn' : 'announced'} where the steady majority has it ${e.majority === undefined ? 'withdrawn' : e.value === undefined ? 'announced' : 'with other attributes'}, since ${e.since} ms`,
    });
  }

  /** The replica in `seat`, if this event is about its current incarnation. */
  private current(seat: string, at: number): Replica | undefined {
    const r = this.bySeatName.get(seat);
    if (!r || at < r.startedAt) return undefined;
    if (r.life !== 'starting' && r.life !== 'running') return undefined;
    return r;
  }

  private exited(r: Replica, exit: InstanceExit): void {
    if (r.pendingExits > 0) {
      r.pendingExits--;
      const next = r.afterExit;
      r.afterExit = undefined;
      next?.();
      return;
    }
    if (exit.expected || this.stopped || (r.life !== 'running' && r.life !== 'starting')) return;
    const how = [
      ...(exit.code !== null ? [`code ${exit.code}`] : []),
      ...(exit.signal !== null ? [`signal ${exit.signal}`] : []),
    ];
    this.crash(r, `the process exited${how.length ? ` (${how.join(', ')})` : ''}`);
  }

  // --- faults and decisions ----------------------------------------------------------------

  private fault(r: Replica, f: FaultRecord): void {
    const now = this.clock.now();
    r.faultsTotal++;
    r.lastFault = f;
    r.window.push(f);
    const score = this.score(r, now);
    this.emit({ type: 'fault', replica: r.spec.name, fault: f, score, threshold: this.threshold });
    if (score >= this.threshold) this.recover(r, 'fault-threshold');
  }

  private crash(r: Replica, reason: string): void {
    const f: FaultRecord = { kind: 'crash', at: this.clock.now(), reason };
    r.faultsTotal++;
    r.lastFault = f;
    r.window.push(f);
    this.emit({
      type: 'fault',
      replica: r.spec.name,
      fault: f,
      score: this.score(r, f.at),
      threshold: this.threshold,
    });
    r.life = 'restarting'; // already dead: no quorum question
    r.upOn.clear();
    r.votingOn.clear();
    r.flagged.clear();
    this.refresh(r);
    this.restartOrReplace(r, [f], `${r.spec.name} (${r.spec.kind}) crashed: ${reason}`);
  }

  private health(r: Replica, detail: string): void {
    const f: FaultRecord = { kind: 'health', at: this.clock.now(), reason: detail };
    r.faultsTotal++;
    r.lastFault = f;
    r.window.push(f);
    this.emit({
      type: 'fault',
      replica: r.spec.name,
      fault: f,
      score: this.score(r, f.at),
      threshold: this.threshold,
    });
    this.recover(r, 'health');
  }

  /** Past the threshold (or unhealthy): kill and restart or replace, quorum permitting. */
  private recover(r: Replica, why: 'fault-threshold' | 'health'): void {
    if (r.life !== 'running' && r.life !== 'starting') return;
    if (!r.inst.running()) {
      // It is gone already (its sessions closed before its exit was reported).
      this.crash(r, 'the process is not running');
      return;
    }
    const faults = this.windowOf(r);
    const voting = this.votes(r);
    const left = this.votingCount() - (voting ? 1 : 0);
    if (voting && left < this.need) {
      if (!r.deferred) {
        r.deferred = true;
        this.refresh(r);
        this.decide(
          r,
          'defer',
          faults,
          `${this.faultSummary(r, faults, why)}; kept running for now: killing it would leave ${left} voting replica${left === 1 ? '' : 's'}, fewer than the ${this.need} a majority of ${this.seats} needs — it will be restarted as soon as enough others vote`,
        );
      }
      return;
    }
    r.deferred = false;
    r.flagged.clear();
    r.upOn.clear();
    r.votingOn.clear();
    r.life = 'killing';
    r.startTimer?.cancel();
    r.startTimer = undefined;
    r.timer?.cancel();
    this.refresh(r);
    const summary = this.faultSummary(r, faults, why);
    r.window = [];
    let done = false;
    const after = (): void => {
      if (done) return;
      done = true;
      r.timer?.cancel();
      r.timer = undefined;
      r.afterExit = undefined;
      if (this.stopped) return;
      r.life = 'restarting';
      this.refresh(r);
      this.restartOrReplace(r, faults, summary, true);
    };
    if (!r.inst.running()) {
      after();
      return;
    }
    // Wait for its exit (or the kill timeout) before starting anything in its place.
    r.pendingExits++;
    r.afterExit = after;
    r.timer = this.clock.at(this.clock.now() + this.killTimeoutMs, after);
    r.inst.kill('SIGKILL');
  }

  /**
   * `r` is dead (crashed or killed): start it again now or after its backoff, or give its
   * seat to a free standby when it would have to wait (or was killed for faults).
   */
  private restartOrReplace(
    r: Replica,
    faults: readonly FaultRecord[],
    summary: string,
    killed = false,
  ): void {
    const now = this.clock.now();
    if (now - r.startedAt >= this.backoff.resetAfterMs) r.consecutive = 0;
    const delay = this.delayFor(r.consecutive);
    const standby = r.seat !== undefined && (killed || delay > 0) ? this.freeStandby() : undefined;
    const what = killed ? 'killed' : 'its seat';
    if (standby && r.seat !== undefined) {
      const seat = r.seat;
      standby.seat = seat;
      this.bySeatName.set(seat, standby);
      r.seat = undefined;
      r.life = 'standby';
      r.consecutive++;
      this.refresh(r);
      this.decide(
        r,
        'replace',
        faults,
        `${summary}; ${what === 'killed' ? 'killed and ' : ''}replaced by standby ${standby.spec.name} (${standby.spec.kind}) in seat ${seat}; ${r.spec.name} is now a standby`,
        { standby: standby.spec.name },
      );
      this.launch(standby);
      return;
    }
    if (r.consecutive >= this.maxRestarts) {
      r.life = 'dead';
      this.refresh(r);
      this.decide(
        r,
        'give-up',
        faults,
        `${summary}; ${killed ? 'killed and ' : ''}left dead after ${r.consecutive} consecutive restarts (limit ${this.maxRestarts})`,
      );
      return;
    }
    r.consecutive++;
    if (delay === 0) {
      this.decide(r, 'restart', faults, `${summary}; ${killed ? 'killed and ' : ''}restarted`);
      this.launch(r);
      return;
    }
    r.restartAt = now + delay;
    this.refresh(r);
    this.decide(
      r,
      'restart-scheduled',
      faults,
      `${summary}; ${killed ? 'killed; ' : ''}restart ${r.consecutive} in a row without ${this.backoff.resetAfterMs} ms of stable running, so it waits ${delay} ms (backoff)`,
      { delayMs: delay },
    );
    r.timer = this.clock.at(now + delay, () => {
      r.timer = undefined;
      r.restartAt = undefined;
      if (!this.stopped && r.life === 'restarting') this.launch(r);
    });
  }

  private delayFor(consecutive: number): number {
    if (consecutive === 0) return 0;
    const b = this.backoff;
    return Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, consecutive - 1));
  }

  private freeStandby(): Replica | undefined {
    return this.replicas.find((x) => x.life === 'standby' && x.seat === undefined);
  }

  /** Starts the daemon of `r` (its seat is set). */
  private launch(r: Replica): void {
    if (this.stopped) return;
    const before = r.everStarted;
    if (before) r.restarts++;
    r.everStarted = true;
    r.life = 'starting';
    r.deferred = false;
    r.startedAt = this.clock.now();
    r.launched = false;
    r.upOn.clear();
    r.votingOn.clear();
    r.flagged.clear();
    this.refresh(r);
    const gen = ++r.gen;
    // An instance that ran before is stopped first: a crash may leave some of its
    // processes running (RouterInstance.onExit).
    const started = before
      ? r.inst
          .stop()
          .catch(() => undefined)
          .then(() => (r.gen === gen && !this.stopped ? r.inst.start() : undefined))
      : r.inst.start();
    started.then(
      () => {
        if (r.gen !== gen) return;
        r.launched = true;
        this.armStartTimeout(r, gen);
      },
      (e: unknown) => {
        if (r.gen !== gen || r.life !== 'starting' || this.stopped) return;
        this.crash(r, `it failed to start: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  }

  private armStartTimeout(r: Replica, gen: number): void {
    if (this.startTimeoutMs <= 0 || this.stopped) return;
    const check = (): void => {
      if (r.gen !== gen || this.stopped) return;
      if (r.life !== 'starting' && r.life !== 'running') return;
      if (r.votingOn.size > 0) return;
      if (this.neighborsUp.size === 0) {
        // Nothing to vote on yet: look again later.
        r.startTimer = this.clock.at(this.clock.now() + this.startTimeoutMs, check);
        return;
      }
      r.startTimer = undefined;
      this.health(
        r,
        `not voting ${this.startTimeoutMs} ms after its start while neighbour sessions are up (${[...this.neighborsUp].sort().join(', ')})`,
      );
    };
    r.startTimer?.cancel();
    r.startTimer = this.clock.at(r.startedAt + this.startTimeoutMs, check);
  }

  private armPoll(): void {
    if (this.pollMs <= 0 || this.stopped) return;
    this.pollTimer = this.clock.at(this.clock.now() + this.pollMs, () => {
      this.pollTimer = undefined;
      for (const r of this.replicas) {
        if (this.stopped) return;
        const live = r.life === 'running' || r.life === 'starting';
        if (live && r.launched && !r.inst.running() && r.pendingExits === 0) {
          this.crash(r, 'health check: the process is not running');
        }
      }
      this.armPoll();
    });
  }

  /** A replica became voting: the quorum may now allow deferred kills. */
  private settleDeferred(): void {
    for (const r of this.replicas) {
      if (!r.deferred) continue;
      if (this.score(r, this.clock.now()) < this.threshold && r.lastFault?.kind !== 'health') {
        // The faults aged out of the window while it waited.
        r.deferred = false;
        this.refresh(r);
        continue;
      }
      this.recover(r, r.lastFault?.kind === 'health' ? 'health' : 'fault-threshold');
    }
  }

  // --- bookkeeping ---------------------------------------------------------------------------

  private votes(r: Replica): boolean {
    return (
      r.seat !== undefined && (r.life === 'running' || r.life === 'starting') && r.votingOn.size > 0
    );
  }

  private votingCount(): number {
    let n = 0;
    for (const r of this.replicas) if (this.votes(r)) n++;
    return n;
  }

  private score(r: Replica, now: number): number {
    const from = now - this.windowMs;
    while (r.window.length > 0 && r.window[0]!.at <= from) r.window.shift();
    return r.window.length;
  }

  private windowOf(r: Replica): FaultRecord[] {
    this.score(r, this.clock.now());
    return [...r.window];
  }

  private faultSummary(r: Replica, faults: readonly FaultRecord[], why: string): string {
    const kinds = new Map<FaultKind, number>();
    for (const f of faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    const counts = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    const first = faults[0]?.at;
    const keys = [...new Set(faults.flatMap((f) => (f.key ? [f.key] : [])))];
    const keyText = keys.length
      ? `; keys ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ` and ${keys.length - 5} more` : ''}`
      : '';
    const head =
      why === 'health'
        ? `${r.spec.name} (${r.spec.kind}) failed a health check: ${r.lastFault?.reason ?? ''}`
        : `${r.spec.name} (${r.spec.kind}) reached its fault threshold: ${faults.length} fault${faults.length === 1 ? '' : 's'} in ${this.windowMs} ms (threshold ${this.threshold})`;
    const last = r.lastFault && why !== 'health' ? `; last: ${r.lastFault.reason}` : '';
    return `${head} [${counts}] since ${first ?? '?'} ms${keyText}${last}`;
  }

  private decide(
    r: Replica,
    action: SupervisorAction,
    faults: readonly FaultRecord[],
    message: string,
    extra: { standby?: string; delayMs?: number } = {},
  ): void {
    this.nDecisions++;
    this.emit({
      type: 'decision',
      replica: r.spec.name,
      action,
      at: this.clock.now(),
      faults,
      since: faults[0]?.at,
      ...extra,
      message,
    });
  }

  /** Recompute the visible state and report a change. */
  private refresh(r: Replica): void {
    const s = this.stateOf(r);
    if (s === r.state) return;
    const from = r.state;
    r.state = s;
    r.stateSince = this.clock.now();
    this.emit({ type: 'state', replica: r.spec.name, from, to: s, at: r.stateSince });
  }

  private stateOf(r: Replica): ReplicaState {
    switch (r.life) {
      case 'standby':
        return 'standby';
      case 'killing':
      case 'restarting':
        return 'restarting';
      case 'dead':
        return 'dead';
      default:
        if (r.deferred) return 'faulty';
        if (r.votingOn.size > 0) return 'voting';
        if (r.upOn.size > 0) return 'bootstrapping';
        return 'starting';
    }
  }

  private emit(e: SupervisorEvent): void {
    this.opts.onEvent?.(e);
  }
}

function safeDescribe(key: string | number): string {
  try {
    return describeKey(key);
  } catch {
    return String(key);
  }
}
