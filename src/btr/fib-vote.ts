// The FIB voter of the bug-tolerant router (BTR paper §3.1 "Voting" — the FIB is voted on
// with the same algorithm as the advertisements, so what is installed matches what is
// advertised; §4.2 fault detection). One `Voter` (voter.ts) over FIB keys: each replica's
// FIB is observed and fed as `replicaOutput(replica, fibKey(prefix), canonicalFibValue(gws))`;
// the voted decisions are installed into the router's own FIB (a `Fib` of src/fib/:
// MemoryFib in tests and in process, NetlinkFib in the router's namespace for real).
//
// Replicas carry the router's addresses (instance.ts), so the gateways they install are in
// the router's address space and the voted gateway is directly installable.
//
// How a replica's FIB is observed:
// - pushed: the replica's own FIB is wrapped in an `ObservedFib`, which reports every change
//   it applied (`route`); used for in-process `nonstop` replicas;
// - polled: `FibPoller` asks `RouterInstance.fibRoutes()` every `intervalMs` (default 500)
//   and `snapshot` diffs the answer against the previous one; used for real daemons.
//
// Applying. Decisions are batched: the last one per key wins, one `Fib.apply()` in flight at
// a time (like the speaker's own FIB queue), so a burst of votes becomes one netlink batch.
// A voted value without gateways (a replica's blackhole or unreachable route) cannot be
// installed through `Fib` (a route needs a next hop): the prefix is left out of the router's
// FIB and counted as `unsupported`.
//
// Pure as the voter is: time and timers from the injected Clock, no Node I/O; the Fib is
// injected.

import type { Clock, TimerHandle } from '../lib/clock.js';
import { formatAddr, formatPrefix, parseAddr, parsePrefix, type Prefix } from '../lib/ip.js';
import type { ApplyReport, Fib, FibChange, FibFailure, FibRoute } from '../fib/index.js';
import { CANONICAL_FIB, canonicalFibValue } from './canonical.js';
import { fibKey, keyRoute } from './canonical-key.js';
import type { InstanceFibRoute } from './instance.js';
import {
  Voter,
  type Disagreement,
  type ReplicaId,
  type Strategy,
  type VoteKey,
  type VoteValue,
  type VoterEvent,
} from './voter.js';

export type FibVoteEvent =
  /** A voter event (fault naming replica and key, fault cleared, master change). */
  | { readonly type: 'vote'; readonly event: VoterEvent }
  /** Changes the router's FIB refused (the others of the batch were applied). */
  | { readonly type: 'apply-failed'; readonly failures: readonly FibFailure[] }
  /** A voted route that the router's FIB cannot hold (no gateway): left out. */
  | { readonly type: 'unsupported'; readonly key: VoteKey; readonly reason: string }
  /** A replica's observed FIB could not be read (poll) or parsed. */
  | { readonly type: 'observe-failed'; readonly replica: string; readonly reason: string };

export interface FibVoteOptions {
  readonly strategy: Strategy;
  readonly clock: Clock;
  /** T (ms), as for the update voters. */
  readonly steadyMs: number;
  /** The router's FIB: where the voted routes are installed. */
  readonly fib: Fib;
  readonly maxReplicas?: number;
  readonly onEvent?: (e: FibVoteEvent) => void;
  /** Most changes per `Fib.apply()` (default 1024). */
  readonly batch?: number;
  /** Called for every voted change the router's FIB accepted (pass-through timing). */
  readonly onInstalled?: (key: VoteKey) => void;
}

export interface FibVoteStatus {
  /** Routes the voter outputs now (voted in). */
  readonly voted: number;
  /** Routes installed in the router's FIB (as last applied). */
  readonly installed: number;
  /** Keys on which the voting replicas disagree now. */
  readonly disagreements: number;
  readonly decisions: number;
  readonly faults: number;
  readonly applyFailures: number;
  readonly unsupported: number;
  /** Decisions not yet applied. */
  readonly pending: number;
  readonly replicas: readonly {
    readonly replica: string;
    readonly voting: boolean;
    /** Routes in its observed FIB. */
    readonly routes: number;
    /** Keys on which it is flagged now. */
    readonly flagged: number;
  }[];
}

interface Observed {
  readonly id: ReplicaId;
  /** Its FIB as observed: key → canonical value. */
  routes: Map<VoteKey, VoteValue>;
  /** Bumped by reset(): a poll that started before is stale. */
  generation: number;
}

/** The gateways of a canonical FIB value (inverse of `canonicalFibValue`). */
export function fibGateways(v: VoteValue): Uint8Array[] {
  if (v.charCodeAt(0) !== CANONICAL_FIB) throw new TypeError('not a canonical FIB value');
  const n = v.charCodeAt(1);
  const out: Uint8Array[] = [];
  let p = 2;
  for (let i = 0; i < n; i++) {
    const len = v.charCodeAt(p++);
    const g = new Uint8Array(len);
    for (let j = 0; j < len; j++) g[j] = v.charCodeAt(p++);
    out.push(g);
  }
  return out;
}

export class FibVote {
  readonly voter: Voter;
  private readonly fib: Fib;
  private readonly onEvent: ((e: FibVoteEvent) => void) | undefined;
  private readonly onInstalled: ((key: VoteKey) => void) | undefined;
  private readonly batch: number;
  private readonly replicas = new Map<string, Observed>();
  /** What we installed in the router's FIB: key → value. */
  private readonly installed = new Map<VoteKey, VoteValue>();
  /** Decisions waiting for the FIB: the last per key wins. */
  private readonly pending = new Map<VoteKey, VoteValue | undefined>();
  private draining: Promise<void> | undefined;
  private closed = false;
  private nApplyFailures = 0;
  private nUnsupported = 0;

  constructor(opts: FibVoteOptions) {
    this.fib = opts.fib;
    this.onEvent = opts.onEvent;
    this.onInstalled = opts.onInstalled;
    this.batch = opts.batch ?? 1024;
    this.voter = new Voter({
      strategy: opts.strategy,
      clock: opts.clock,
      steadyMs: opts.steadyMs,
      ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
      sink: {
        decision: (key, value) => this.decided(key, value),
        event: (e) => this.onEvent?.({ type: 'vote', event: e }),
      },
    });
  }

  // --- membership --------------------------------------------------------------------------

  /** A replica (by the name the hypervisor knows it: its seat), voting or not. */
  addReplica(name: string, opts?: { readonly voting?: boolean }): void {
    if (this.replicas.has(name)) throw new Error(`FIB vote: replica ${name} exists`);
    const id = this.voter.addReplica(name, { voting: opts?.voting ?? false });
    this.replicas.set(name, { id, routes: new Map(), generation: 0 });
  }

  removeReplica(name: string): void {
    const r = this.replicas.get(name);
    if (!r) return;
    this.replicas.delete(name);
    this.voter.removeReplica(r.id);
  }

  setVoting(name: string, voting: boolean): void {
    const r = this.replicas.get(name);
    if (r) this.voter.setVoting(r.id, voting);
  }

  isVoting(name: string): boolean {
    const r = this.replicas.get(name);
    return r !== undefined && this.voter.replicas().some((x) => x.id === r.id && x.voting);
  }

  /** The replica's FIB is empty now (it was started again, or killed). */
  reset(name: string): void {
    const r = this.replicas.get(name);
    if (!r) return;
    r.generation++;
    const old = r.routes;
    r.routes = new Map();
    for (const key of old.keys()) this.voter.replicaOutput(r.id, key, undefined);
  }

  /** For a poll: a snapshot taken after this generation is current. */
  generation(name: string): number {
    return this.replicas.get(name)?.generation ?? -1;
  }

  // --- observation -------------------------------------------------------------------------

  /** One route of a replica's FIB changed: its gateways now, or undefined when removed. */
  route(name: string, prefix: Prefix, gateways: readonly Uint8Array[] | undefined): void {
    const r = this.replicas.get(name);
    if (!r) return;
    const key = fibKey(prefix);
    const value = gateways === undefined ? undefined : canonicalFibValue(gateways);
    if (value === undefined) r.routes.delete(key);
    else r.routes.set(key, value);
    this.voter.replicaOutput(r.id, key, value);
  }

  /**
   * A replica's whole FIB as polled (`RouterInstance.fibRoutes()`): diffed against the last
   * snapshot. `generation` (from `generation()` when the poll started) drops a stale answer.
   */
  snapshot(name: string, routes: readonly InstanceFibRoute[], generation?: number): void {
    const r = this.replicas.get(name);
    if (!r || (generation !== undefined && generation !== r.generation)) return;
    const next = new Map<VoteKey, VoteValue>();
    for (const x of routes) {
      const prefix = parsePrefix(x.prefix);
      const gws = x.gateways.map((g) => parseAddr(g));
      if (!prefix || gws.some((g) => g === undefined)) {
        this.onEvent?.({
          type: 'observe-failed',
          replica: name,
          reason: `unparsable route ${x.prefix} via ${x.gateways.join(', ')}`,
        });
        continue;
      }
      next.set(fibKey(prefix), canonicalFibValue(gws as Uint8Array[]));
    }
    const old = r.routes;
    r.routes = next;
    for (const key of old.keys()) {
      if (!next.has(key)) this.voter.replicaOutput(r.id, key, undefined);
    }
    for (const [key, value] of next) {
      if (old.get(key) !== value) this.voter.replicaOutput(r.id, key, value);
    }
  }

  // --- the router's FIB --------------------------------------------------------------------

  private decided(key: VoteKey, value: VoteValue | undefined): void {
    if (this.closed) return;
    this.pending.set(key, value);
    if (!this.draining) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    // Let the rest of this turn's votes join the batch.
    await Promise.resolve();
    try {
      while (this.pending.size > 0 && !this.closed) {
        const keys: VoteKey[] = [];
        const values: (VoteValue | undefined)[] = [];
        const changes: FibChange[] = [];
        for (const [key, value] of this.pending) {
          if (changes.length >= this.batch) break;
          this.pending.delete(key);
          const prefix = keyRoute(key).prefix;
          let gws = value === undefined ? [] : fibGateways(value);
          if (value !== undefined && gws.length === 0) {
            this.nUnsupported++;
            this.onEvent?.({
              type: 'unsupported',
              key,
              reason: `${formatPrefix(prefix)}: the voted route has no gateway (blackhole or unreachable); left out of the router's FIB`,
            });
            gws = [];
          }
          if (gws.length === 0) {
            if (!this.installed.has(key)) continue;
            changes.push({ op: 'delete', prefix });
            values.push(undefined);
          } else {
            if (this.installed.get(key) === value) continue;
            const route: FibRoute = { prefix, nextHops: gws.map((gateway) => ({ gateway })) };
            changes.push({ op: 'replace', route });
            values.push(value);
          }
          keys.push(key);
        }
        if (changes.length === 0) continue;
        let report: ApplyReport;
        try {
          report = await this.fib.apply(changes);
        } catch (e) {
          report = {
            applied: 0,
            failed: changes.map((change, index) => ({
              index,
              change,
              code: 'EIO',
              message: e instanceof Error ? e.message : String(e),
            })),
          };
        }
        const failed = new Set(report.failed.map((f) => f.index));
        for (let i = 0; i < keys.length; i++) {
          if (failed.has(i)) continue;
          const v = values[i];
          if (v === undefined) this.installed.delete(keys[i]!);
          else this.installed.set(keys[i]!, v);
          this.onInstalled?.(keys[i]!);
        }
        if (report.failed.length > 0) {
          this.nApplyFailures += report.failed.length;
          this.onEvent?.({ type: 'apply-failed', failures: report.failed });
        }
      }
    } finally {
      this.draining = undefined;
    }
    if (this.pending.size > 0 && !this.closed) this.draining = this.drain();
  }

  /** Resolves when every decision so far has been applied to the router's FIB. */
  async settled(): Promise<void> {
    while (this.draining) await this.draining;
  }

  // --- status ------------------------------------------------------------------------------

  disagreements(limit = Infinity): Disagreement[] {
    return this.voter.disagreements(limit);
  }

  /** The router's FIB as installed by this voter: prefix text → gateways (sorted). */
  installedRoutes(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, value] of this.installed) {
      out.set(formatPrefix(keyRoute(key).prefix), describeGateways(value));
    }
    return out;
  }

  /** A replica's FIB as observed: prefix text → gateways. */
  observedRoutes(name: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, value] of this.replicas.get(name)?.routes ?? []) {
      out.set(formatPrefix(keyRoute(key).prefix), describeGateways(value));
    }
    return out;
  }

  status(): FibVoteStatus {
    const s = this.voter.stats();
    const info = new Map(this.voter.replicas().map((r) => [r.id, r]));
    return {
      voted: s.outputs,
      installed: this.installed.size,
      disagreements: s.disagreements,
      decisions: s.decisions,
      faults: s.faults,
      applyFailures: this.nApplyFailures,
      unsupported: this.nUnsupported,
      pending: this.pending.size,
      replicas: [...this.replicas].map(([name, r]) => ({
        replica: name,
        voting: info.get(r.id)?.voting ?? false,
        routes: r.routes.size,
        flagged: info.get(r.id)?.faultyKeys ?? 0,
      })),
    };
  }

  /** Stops applying; the router's FIB is left as it is (the caller closes it). */
  async close(): Promise<void> {
    await this.settled();
    this.closed = true;
    this.voter.dispose();
  }
}

function describeGateways(v: VoteValue): string[] {
  return fibGateways(v).map((g) => formatAddr(g));
}

// --- observing a replica's FIB ----------------------------------------------------------------

/**
 * A replica's own FIB, wrapped so that every change it applies is reported (the pushed way
 * of observing a replica). Failed changes are not reported: they were not installed.
 */
export class ObservedFib implements Fib {
  private detached = false;

  constructor(
    private readonly inner: Fib,
    private readonly onRoute: (prefix: Prefix, gateways: readonly Uint8Array[] | undefined) => void,
  ) {}

  /** Stop reporting (the replica was killed: what its dying speaker does is not its FIB). */
  detach(): void {
    this.detached = true;
  }

  async apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    const report = await this.inner.apply(changes);
    if (this.detached) return report;
    const failed = new Set(report.failed.map((f) => f.index));
    changes.forEach((c, i) => {
      if (failed.has(i)) return;
      if (c.op === 'delete') this.onRoute(c.prefix, undefined);
      else
        this.onRoute(
          c.route.prefix,
          c.route.nextHops.map((h) => h.gateway),
        );
    });
    return report;
  }

  lookup(addr: Uint8Array): FibRoute | undefined {
    return this.inner.lookup?.(addr);
  }

  list(afi?: Parameters<Fib['list']>[0]): Promise<FibRoute[]> {
    return this.inner.list(afi);
  }

  async flush(): Promise<void> {
    await this.inner.flush();
  }

  async close(opts?: { readonly keepRoutes?: boolean }): Promise<void> {
    await this.inner.close(opts);
  }
}

/** A replica whose FIB is polled: `fibRoutes()` of its RouterInstance. */
export interface PolledReplica {
  /** Its name in the FIB vote (its seat). */
  readonly name: string;
  fibRoutes(): Promise<readonly InstanceFibRoute[]>;
}

/**
 * Polls replicas' FIBs every `intervalMs` (default 500) and feeds the FIB vote. One poll per
 * replica at a time; a replica whose poll fails is skipped (its health is the supervisor's
 * business) and reported once per failure streak.
 */
export class FibPoller {
  private timer: TimerHandle | undefined;
  private readonly busy = new Set<string>();
  private readonly failing = new Set<string>();
  private stopped = false;
  private readonly intervalMs: number;

  constructor(
    private readonly opts: {
      readonly clock: Clock;
      readonly vote: FibVote;
      /** The replicas to poll now (those running, by seat). */
      readonly replicas: () => Iterable<PolledReplica>;
      readonly intervalMs?: number;
      readonly onEvent?: (e: FibVoteEvent) => void;
    },
  ) {
    this.intervalMs = opts.intervalMs ?? 500;
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Polls every replica once now (also what the timer does). */
  pollOnce(): Promise<void> {
    const all: Promise<void>[] = [];
    for (const r of this.opts.replicas()) {
      if (this.busy.has(r.name)) continue;
      this.busy.add(r.name);
      const gen = this.opts.vote.generation(r.name);
      all.push(
        r
          .fibRoutes()
          .then(
            (routes) => {
              this.failing.delete(r.name);
              if (!this.stopped) this.opts.vote.snapshot(r.name, routes, gen);
            },
            (e: unknown) => {
              if (this.failing.has(r.name)) return;
              this.failing.add(r.name);
              this.opts.onEvent?.({
                type: 'observe-failed',
                replica: r.name,
                reason: e instanceof Error ? e.message : String(e),
              });
            },
          )
          .finally(() => this.busy.delete(r.name)),
      );
    }
    return Promise.all(all).then(() => undefined);
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.at(this.opts.clock.now() + this.intervalMs, () => {
      this.timer = undefined;
      void this.pollOnce();
      this.arm();
    });
  }
}
