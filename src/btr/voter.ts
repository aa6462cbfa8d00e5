// The voter of the bug-tolerant router (BTR paper §3.1 "Advertising a single route per
// prefix", §3.2 voting strategies, §4.2 fault detection and recovery). One algorithm serves
// both the per-neighbour update voter and the FIB voter, so advertisements match the FIB.
//
// Model. Keys are compact (a number or a short string: one per (family, prefix, path id)
// for an update voter, one per prefix for the FIB voter; see canonical-key.ts). Each
// replica reports its output per key with `replicaOutput(replica, key, value)`, where `value` is
// the canonical encoding (canonical.ts) and `undefined` means absent (withdrawn / not
// installed). Absent is a value like any other: a replica announcing what the others do
// not is outvoted by the NULL update (§4.2, fault (i)). Only *voting* replicas count;
// `n` is their number and a majority is more than half of them, floor(n/2) + 1. The voter
// reports its decisions (key → value to advertise/install, or withdraw when undefined) to
// one sink; nothing is emitted for a key whose output does not change.
//
// Strategies (§3.2):
// - continuous-majority: after every change, if the value just reported is now held by a
//   majority and differs from the output, it becomes the output. (Only the reported value
//   gained a vote, so this is the whole re-vote.) When no value has a majority the output
//   stays as it was: updates are sent only when the majority result changes.
// - wait-for-consensus(K): the same with K agreeing replicas instead of a majority; K
//   defaults to all voting replicas (the paper's wait-R) and is clamped to
//   [floor(n/2) + 1, n] so that it can neither output a minority value nor wait for
//   replicas that are gone. Timeout fallback (our choice): the steady-state check below
//   also outputs the *steady majority* of a key on which K replicas never agree, so one
//   buggy or mute replica delays a route by at most T instead of blocking it forever.
// - master/slave: the master's changes are output at once; slaves are cross-checked by the
//   steady-state check. When the master is flagged faulty on `failoverAfter` keys (default
//   1), or removed, or demoted, the voter promotes the voting slave with the fewest flagged
//   keys (lowest slot on a tie) and re-advertises every key where the new master's value
//   differs from what was output (§4.2 "Recovery") — but not a value the new master is
//   flagged for: there the steady majority is output until the new master changes its value.
//   `autoFailover: false` only reports the fault and leaves promotion to `setMaster`. The
//   designated master is the lowest slot (the first replica configured): a replica that
//   starts voting before it holds the role only provisionally and hands it down to a lower
//   slot when that one starts voting (with the same re-advertisement); after a failover for
//   a fault or a removal, or `setMaster`, the role stays where it was put.
//
// Steady state and faults (§4.2, §5.1.2). A replica's output for a key is steady once
// unchanged for T ms. The *steady majority* of a key is a value held, steadily, by a
// majority of the voting replicas. A voting replica whose steady output differs from the
// steady majority is flagged: one `fault` event naming the replica, the key, its value,
// the majority value and since when it has held its value. The flag clears (`fault-cleared`)
// when the replica changes its output, comes to agree, or stops voting. A replica that keeps
// changing faster than T is never steady and so is never flagged by this rule: the
// hypervisor's own health checks (crash, NOTIFICATION, silence) cover it. Checks run from a
// FIFO of (key, due time) pairs: every change that leaves a key in disagreement enqueues
// one check at now + T (rounded up to `checkGranularityMs`), and since T is fixed the FIFO
// is ordered by due time. One timer on the injected clock is armed for the head.
// A key is in *disagreement* while the voting replicas do not all hold the same value;
// `disagreements()` lists such keys with since when, for `nonstop btr status`.
//
// Membership. Replicas take slots (0 … maxReplicas-1). A new replica starts with empty
// output (absent on every key). A replica added with `voting: false` (bootstrapping from
// the hypervisor's replayed history) is recorded but neither counted nor flagged until
// `setVoting(slot, true)`. Adding a voter, removing a replica or changing who votes
// re-votes every key (O(keys); these are rare events). The replicas of a neighbour that
// comes up vote from the start, with empty output (added `silent`: counted, but neither
// steady nor flagged), so that the first to answer is heard at once; each one's output
// counts as steady only from its own session's start (`restartSteadiness`): a replica
// still connecting must not be flagged for it, nor, slow to send its first table, make a
// steady "absent" majority with another slow one against the fastest (seen:
// BIRD starting 0.5 s late and FRR holding its first UPDATEs for about a second flagged the
// master, which failed over and withdrew routes from the neighbour for a moment).
//
// Purity. No I/O, no wall clock: time comes from the injected Clock, and the only timer is
// the one armed on it. Decisions and events are reported synchronously from `replicaOutput`,
// `runDue` (the timer), and the membership calls; a sink must not call back into the
// voter. Per-key state lives in flat arrays indexed by entry × slot; the hot path
// allocates nothing.

import type { Clock, TimerHandle } from '../lib/clock.js';

/** A compact key: a number (IPv4 unicast prefix) or a short string (canonical-key.ts). */
export type VoteKey = number | string;
/** A canonical value (one octet per char); `undefined` is absent / withdrawn. */
export type VoteValue = string;
/** A replica's slot, as returned by `addReplica`. */
export type ReplicaId = number;

export type Strategy =
  | { readonly kind: 'continuous-majority' }
  | { readonly kind: 'wait-for-consensus'; readonly k?: number }
  | {
      readonly kind: 'master-slave';
      /** Promote a slave when the master is flagged (default true). */
      readonly autoFailover?: boolean;
      /** Flagged keys of the master that trigger the failover (default 1). */
      readonly failoverAfter?: number;
    };

/** Why the output of a key changed. */
export type DecisionReason =
  /** A value reached a majority (continuous-majority) or K replicas (wait-for-consensus). */
  | 'vote'
  /** The master's output passed through (master/slave). */
  | 'master'
  /** wait-for-consensus fallback: the steady majority after T. */
  | 'steady-majority'
  /** A new master's value differs from what was output (master/slave). */
  | 'failover'
  /** Re-vote after a replica was added, removed, or started or stopped voting. */
  | 'membership';

export type VoterEvent =
  | {
      readonly type: 'fault';
      readonly replica: ReplicaId;
      readonly name: string;
      readonly key: VoteKey;
      /** The replica's steady output. */
      readonly value: VoteValue | undefined;
      /** The steady majority's value. */
      readonly majority: VoteValue | undefined;
      /** When the replica started holding `value`. */
      readonly since: number;
      readonly at: number;
    }
  | {
      readonly type: 'fault-cleared';
      readonly replica: ReplicaId;
      readonly name: string;
      readonly key: VoteKey;
      readonly why: 'changed' | 'agrees' | 'not-voting';
      readonly at: number;
    }
  | {
      readonly type: 'master-changed';
      readonly from: ReplicaId | undefined;
      readonly to: ReplicaId | undefined;
      readonly why: 'fault' | 'removed' | 'manual';
      /** Keys whose output changed to the new master's value. */
      readonly readvertised: number;
      readonly at: number;
    };

/** Where decisions and events go. Called synchronously; must not re-enter the voter. */
export interface VoterSink {
  /** The voted output of `key` is now `value` (advertise / install), or withdraw it. */
  decision(key: VoteKey, value: VoteValue | undefined, reason: DecisionReason): void;
  event?(e: VoterEvent): void;
}

export interface VoterOptions {
  readonly strategy: Strategy;
  readonly clock: Clock;
  /** T: an output unchanged for this many ms is steady (§4.2). */
  readonly steadyMs: number;
  readonly sink: VoterSink;
  /** Replica slots, including standbys and bootstrapping replicas (default 8, at most 31). */
  readonly maxReplicas?: number;
  /** Expected number of keys (pre-sizes the tables; they grow as needed). */
  readonly initialKeys?: number;
  /** Check due times are rounded up to a multiple of this (default 1 ms). */
  readonly checkGranularityMs?: number;
}

export interface ReplicaInfo {
  readonly id: ReplicaId;
  readonly name: string;
  readonly voting: boolean;
  readonly master: boolean;
  /** Keys on which the replica is currently flagged faulty. */
  readonly faultyKeys: number;
}

export interface Disagreement {
  readonly key: VoteKey;
  /** When the voting replicas stopped agreeing on the key. */
  readonly since: number;
  readonly output: VoteValue | undefined;
  /** Every replica's output for the key (voting or not). */
  readonly replicas: readonly {
    readonly replica: ReplicaId;
    readonly name: string;
    readonly value: VoteValue | undefined;
    /** When the replica started holding `value`. */
    readonly since: number;
    readonly steady: boolean;
    readonly faulty: boolean;
  }[];
}

export interface VoterStats {
  readonly keys: number;
  readonly disagreements: number;
  readonly outputs: number;
  readonly decisions: number;
  readonly faults: number;
  readonly failovers: number;
  readonly pendingChecks: number;
}

const CM = 0;
const WFC = 1;
const MS = 2;
const NO_ENTRY = -1;
const NO_MAJORITY: unique symbol = Symbol('no steady majority');

export class Voter {
  private readonly clock: Clock;
  private readonly sink: VoterSink;
  private readonly T: number;
  private readonly gran: number;
  private readonly stride: number;
  private readonly kind: number;
  private readonly k: number;
  private readonly autoFailover: boolean;
  private readonly failoverAfter: number;

  // Per entry e (a key) and per slot s at e * stride + s.
  private readonly index = new Map<VoteKey, number>();
  private keys: (VoteKey | undefined)[];
  private vals: (VoteValue | undefined)[];
  private changed: Float64Array;
  private out: (VoteValue | undefined)[];
  /** When the key entered disagreement; -1 while the voting replicas agree. */
  private disagree: Float64Array;
  /** Bit s set: slot s is flagged faulty on this key. */
  private flagged: Int32Array;
  /** Due time of the last check enqueued for the entry (dedupes bursts). */
  private pushedDue: Float64Array;
  private cap: number;
  private used = 0;
  private readonly freeEntries: number[] = [];
  private nKeys = 0;
  private nDisagree = 0;

  // Replicas.
  private readonly names: (string | undefined)[];
  private readonly isVoting: Uint8Array;
  /** Voting, but nothing it holds is steady yet (addReplica `silent`, restartSteadiness). */
  private readonly silent: Uint8Array;
  private readonly votingSlots: Int32Array;
  private nVoting = 0;
  private need = 1;
  private master = -1;
  /** The master holds the role only until a lower slot votes (see the header). */
  private provisional = false;
  private readonly faultyKeys: Int32Array;

  // Check queue: a ring of (entry, due), ordered by due.
  private qEntry = new Int32Array(1024);
  private qDue = new Float64Array(1024);
  private qHead = 0;
  private qLen = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.runDue();
  };
  private failoverPending = false;

  private nOutputs = 0;
  private nDecisions = 0;
  private nFaults = 0;
  private nFailovers = 0;

  constructor(opts: VoterOptions) {
    const max = opts.maxReplicas ?? 8;
    if (!Number.isInteger(max) || max < 1 || max > 31) {
      throw new RangeError(`maxReplicas must be an integer from 1 to 31, not ${max}`);
    }
    if (!(opts.steadyMs >= 0)) throw new RangeError(`steadyMs must be >= 0, not ${opts.steadyMs}`);
    this.clock = opts.clock;
    this.sink = opts.sink;
    this.T = opts.steadyMs;
    this.gran = opts.checkGranularityMs ?? 1;
    if (!(this.gran > 0)) throw new RangeError('checkGranularityMs must be > 0');
    this.stride = max;
    const s = opts.strategy;
    this.kind = s.kind === 'continuous-majority' ? CM : s.kind === 'wait-for-consensus' ? WFC : MS;
    this.k = s.kind === 'wait-for-consensus' ? (s.k ?? Infinity) : Infinity;
    if (!(this.k >= 1)) throw new RangeError(`wait-for-consensus K must be >= 1, not ${this.k}`);
    this.autoFailover = s.kind === 'master-slave' ? (s.autoFailover ?? true) : false;
    this.failoverAfter = s.kind === 'master-slave' ? (s.failoverAfter ?? 1) : 1;
    this.cap = Math.max(16, opts.initialKeys ?? 1024);
    this.keys = new Array<VoteKey | undefined>(this.cap).fill(undefined);
    this.vals = new Array<VoteValue | undefined>(this.cap * max).fill(undefined);
    this.changed = new Float64Array(this.cap * max);
    this.out = new Array<VoteValue | undefined>(this.cap).fill(undefined);
    this.disagree = new Float64Array(this.cap);
    this.flagged = new Int32Array(this.cap);
    this.pushedDue = new Float64Array(this.cap);
    this.names = new Array<string | undefined>(max).fill(undefined);
    this.isVoting = new Uint8Array(max);
    this.silent = new Uint8Array(max);
    this.votingSlots = new Int32Array(max);
    this.faultyKeys = new Int32Array(max);
  }

  // -------------------------------------------------------------------------------------
  // Replica outputs (the hot path).

  /** Replica `replica` now outputs `value` for `key` (`undefined`: absent / withdrawn). */
  replicaOutput(replica: ReplicaId, key: VoteKey, value: VoteValue | undefined): void {
    if (this.names[replica] === undefined) throw new RangeError(`no replica in slot ${replica}`);
    this.nOutputs++;
    let e = this.index.get(key);
    if (e === undefined) {
      if (value === undefined) return; // absent everywhere already
      e = this.alloc(key);
    }
    const stride = this.stride;
    const base = e * stride;
    const i = base + replica;
    if (this.vals[i] === value) return;
    const now = this.clock.now();
    this.vals[i] = value;
    this.changed[i] = now;
    if ((this.flagged[e]! & (1 << replica)) !== 0) this.unflag(e, replica, 'changed', now);
    if (this.isVoting[replica] === 0) {
      if (value === undefined) this.maybeFree(e);
      return;
    }
    // Count the new value among the voting replicas: the only value that gained a vote.
    const vs = this.votingSlots;
    const n = this.nVoting;
    const vals = this.vals;
    let count = 0;
    for (let j = 0; j < n; j++) if (vals[base + vs[j]!] === value) count++;
    if (this.kind === MS) {
      if (replica === this.master && this.out[e] !== value) this.emit(e, value, 'master');
    } else if (count >= this.need && this.out[e] !== value) {
      this.emit(e, value, 'vote');
    }
    if (count === n) {
      if (this.disagree[e]! >= 0) {
        this.disagree[e] = -1;
        this.nDisagree--;
      }
      if (this.flagged[e] !== 0) this.unflagAll(e, 'agrees', now);
      if (value === undefined) this.maybeFree(e);
    } else {
      if (this.disagree[e]! < 0) {
        this.disagree[e] = now;
        this.nDisagree++;
      }
      this.schedule(e, now);
    }
  }

  // -------------------------------------------------------------------------------------
  // Steady-state checks (§4.2).

  /** Runs the checks that are due (the timer calls this; tests and benches may too). */
  runDue(): void {
    const now = this.clock.now();
    while (this.qLen > 0) {
      const h = this.qHead;
      if (this.qDue[h]! > now) break;
      const e = this.qEntry[h]!;
      this.qHead = (h + 1) % this.qEntry.length;
      this.qLen--;
      if (this.pushedDue[e] === this.qDue[h]) this.pushedDue[e] = -1;
      this.check(e, now);
    }
    if (this.failoverPending) {
      this.failoverPending = false;
      const m = this.master;
      if (m >= 0 && this.faultyKeys[m]! >= this.failoverAfter) this.failover(-1, 'fault', now);
    }
    this.arm();
  }

  /** The value a majority of the voting replicas holds steadily, or NO_MAJORITY. */
  private steadyMajority(e: number, now: number): VoteValue | undefined | typeof NO_MAJORITY {
    const base = e * this.stride;
    const vs = this.votingSlots;
    const n = this.nVoting;
    const vals = this.vals;
    const changed = this.changed;
    const T = this.T;
    const majority = (n >>> 1) + 1;
    const silent = this.silent;
    for (let a = 0; a < n; a++) {
      const sa = vs[a]!;
      if (changed[base + sa]! + T > now || silent[sa] === 1) continue;
      const v = vals[base + sa];
      let c = 1;
      for (let b = a + 1; b < n; b++) {
        const sb = vs[b]!;
        if (vals[base + sb] === v && changed[base + sb]! + T <= now && silent[sb] === 0) c++;
      }
      if (c >= majority) return v;
    }
    return NO_MAJORITY;
  }

  /** Flag replicas whose steady output differs from the key's steady majority. */
  private check(e: number, now: number): void {
    if (this.keys[e] === undefined || this.disagree[e]! < 0) return;
    const found = this.steadyMajority(e, now);
    if (found === NO_MAJORITY) return;
    const m: VoteValue | undefined = found;
    const base = e * this.stride;
    const vs = this.votingSlots;
    const n = this.nVoting;
    const vals = this.vals;
    const changed = this.changed;
    const T = this.T;
    for (let a = 0; a < n; a++) {
      const s = vs[a]!;
      const bit = 1 << s;
      const v = vals[base + s];
      if (v === m) {
        if ((this.flagged[e]! & bit) !== 0) this.unflag(e, s, 'agrees', now);
      } else if (
        (this.flagged[e]! & bit) === 0 &&
        changed[base + s]! + T <= now &&
        this.silent[s] === 0
      ) {
        this.flag(e, s, v, m, now);
      }
    }
    if (this.kind === MS) {
      const mb = this.master >= 0 ? 1 << this.master : 0;
      if ((this.flagged[e]! & mb) !== 0 && this.autoFailover) this.failoverPending = true;
    } else if (this.out[e] !== m) {
      this.emit(e, m, 'steady-majority');
    }
  }

  private flag(
    e: number,
    s: number,
    value: VoteValue | undefined,
    majority: VoteValue | undefined,
    now: number,
  ): void {
    this.flagged[e] = this.flagged[e]! | (1 << s);
    this.faultyKeys[s]!++;
    this.nFaults++;
    this.sink.event?.({
      type: 'fault',
      replica: s,
      name: this.names[s]!,
      key: this.keys[e]!,
      value,
      majority,
      since: this.changed[e * this.stride + s]!,
      at: now,
    });
  }

  private unflag(
    e: number,
    s: number,
    why: 'changed' | 'agrees' | 'not-voting',
    now: number,
    quiet = false,
  ): void {
    this.flagged[e] = this.flagged[e]! & ~(1 << s);
    this.faultyKeys[s]!--;
    if (quiet) return;
    this.sink.event?.({
      type: 'fault-cleared',
      replica: s,
      name: this.names[s]!,
      key: this.keys[e]!,
      why,
      at: now,
    });
  }

  private unflagAll(e: number, why: 'agrees' | 'not-voting', now: number): void {
    for (let s = 0; s < this.stride; s++) {
      if ((this.flagged[e]! & (1 << s)) !== 0) this.unflag(e, s, why, now);
    }
  }

  /** Enqueue a check of entry e at now + T (rounded up to the check granularity). */
  private schedule(e: number, now: number): void {
    const due = Math.ceil((now + this.T) / this.gran) * this.gran;
    if (this.pushedDue[e] === due) return;
    this.pushedDue[e] = due;
    if (this.qLen === this.qEntry.length) this.growQueue();
    const t = (this.qHead + this.qLen) % this.qEntry.length;
    this.qEntry[t] = e;
    this.qDue[t] = due;
    this.qLen++;
    if (this.qLen === 1) this.arm();
  }

  private arm(): void {
    if (this.qLen === 0) return;
    const due = this.qDue[this.qHead]!;
    if (this.timer && this.timerAt <= due) return;
    this.timer?.cancel();
    this.timerAt = due;
    this.timer = this.clock.at(due, this.onTimer);
  }

  private growQueue(): void {
    const len = this.qEntry.length;
    const ne = new Int32Array(len * 2);
    const nd = new Float64Array(len * 2);
    for (let i = 0; i < this.qLen; i++) {
      const j = (this.qHead + i) % len;
      ne[i] = this.qEntry[j]!;
      nd[i] = this.qDue[j]!;
    }
    this.qEntry = ne;
    this.qDue = nd;
    this.qHead = 0;
  }

  // -------------------------------------------------------------------------------------
  // Membership.

  /**
   * Add a replica in the lowest free slot, with empty output. `voting: false` keeps it out
   * of the vote (bootstrapping) until `setVoting`. Under master/slave the first voting
   * replica becomes the master, until a lower slot votes (see the header).
   */
  addReplica(
    name: string,
    opts?: { readonly voting?: boolean; readonly silent?: boolean },
  ): ReplicaId {
    const s = this.names.indexOf(undefined);
    if (s < 0) throw new RangeError(`all ${this.stride} replica slots are in use`);
    this.names[s] = name;
    const now = this.clock.now();
    const stride = this.stride;
    for (let e = 0; e < this.used; e++) {
      this.vals[e * stride + s] = undefined;
      this.changed[e * stride + s] = now;
    }
    this.faultyKeys[s] = 0;
    this.silent[s] = opts?.silent ? 1 : 0;
    if (opts?.voting ?? true) this.setVoting(s, true);
    return s;
  }

  /**
   * The replica's outputs count as steady only from now on: its session has just started,
   * and the empty output it held until now (voting since the neighbour came up) was no
   * opinion of its own. Ends `silent`. Keys in disagreement are checked again T from now.
   */
  restartSteadiness(replica: ReplicaId): void {
    this.slotName(replica);
    this.silent[replica] = 0;
    const now = this.clock.now();
    const stride = this.stride;
    for (let e = 0; e < this.used; e++) {
      if (this.keys[e] === undefined) continue;
      this.changed[e * stride + replica] = now;
      if (this.disagree[e]! >= 0) this.schedule(e, now);
    }
  }

  /** Remove a replica (killed, crashed, replaced); its outputs no longer count. */
  removeReplica(replica: ReplicaId): void {
    this.slotName(replica);
    const now = this.clock.now();
    if (this.isVoting[replica] === 1) this.setVoting(replica, false);
    const stride = this.stride;
    for (let e = 0; e < this.used; e++) {
      if (this.keys[e] === undefined) continue;
      this.vals[e * stride + replica] = undefined;
      this.changed[e * stride + replica] = now;
      this.maybeFree(e);
    }
    this.names[replica] = undefined;
  }

  /** Count (or stop counting) a replica in the vote; re-votes every key. */
  setVoting(replica: ReplicaId, voting: boolean): void {
    this.slotName(replica);
    if ((this.isVoting[replica] === 1) === voting) return;
    const now = this.clock.now();
    this.isVoting[replica] = voting ? 1 : 0;
    let n = 0;
    for (let s = 0; s < this.stride; s++) if (this.isVoting[s] === 1) this.votingSlots[n++] = s;
    this.nVoting = n;
    const majority = (n >>> 1) + 1;
    this.need = this.kind === WFC ? Math.max(majority, Math.min(this.k, n)) : majority;
    if (!voting) {
      const bit = 1 << replica;
      for (let e = 0; e < this.used; e++) {
        if ((this.flagged[e]! & bit) !== 0) this.unflag(e, replica, 'not-voting', now, true);
      }
    }
    if (this.kind === MS) {
      if (!voting && replica === this.master) this.failover(-1, 'removed', now);
      else if (voting && (this.master < 0 || (this.provisional && replica < this.master))) {
        this.failover(replica, 'manual', now);
        this.provisional = true;
      }
    }
    this.revoteAll(now);
    this.arm();
  }

  /** master/slave: make `replica` (a voting replica) the master now. */
  setMaster(replica: ReplicaId): void {
    if (this.kind !== MS) throw new Error('setMaster is only for the master/slave strategy');
    this.slotName(replica);
    if (this.isVoting[replica] !== 1) throw new RangeError(`replica ${replica} is not voting`);
    if (replica !== this.master) this.failover(replica, 'manual', this.clock.now());
    this.provisional = false;
  }

  /**
   * Promote `to` (or, when -1, the voting replica other than the master with the fewest
   * flagged keys, lowest slot on a tie) and re-advertise every key where its value differs
   * from the output — except the keys on which the new master is itself flagged: there its
   * steady value differs from the steady majority, so the steady majority is output (or the
   * output kept, when there is none) until the new master changes its value, rather than a
   * value the voter already knows to be wrong.
   */
  private failover(to: number, why: 'fault' | 'removed' | 'manual', now: number): void {
    const from = this.master;
    this.provisional = false;
    if (to < 0) {
      let best = Infinity;
      for (let j = 0; j < this.nVoting; j++) {
        const s = this.votingSlots[j]!;
        if (s !== from && this.faultyKeys[s]! < best) {
          best = this.faultyKeys[s]!;
          to = s;
        }
      }
      if (to < 0 && why === 'fault') return; // nobody to promote: keep the master
    }
    this.master = to;
    this.nFailovers++;
    let readvertised = 0;
    if (to >= 0) {
      const stride = this.stride;
      for (let e = 0; e < this.used; e++) {
        if (this.keys[e] === undefined) continue;
        let v = this.vals[e * stride + to];
        if ((this.flagged[e]! & (1 << to)) !== 0) {
          const m = this.steadyMajority(e, now);
          if (m === NO_MAJORITY) continue;
          v = m;
        }
        if (this.out[e] !== v) {
          this.emit(e, v, 'failover');
          readvertised++;
          if (v === undefined) this.maybeFree(e);
        }
      }
    }
    this.sink.event?.({
      type: 'master-changed',
      from: from >= 0 ? from : undefined,
      to: to >= 0 ? to : undefined,
      why,
      readvertised,
      at: now,
    });
  }

  /** Re-vote every key after the voting set changed. */
  private revoteAll(now: number): void {
    const stride = this.stride;
    const vs = this.votingSlots;
    const n = this.nVoting;
    const vals = this.vals;
    for (let e = 0; e < this.used; e++) {
      if (this.keys[e] === undefined) continue;
      const base = e * stride;
      // The most common value among the voting replicas (first seen on a tie).
      let best: VoteValue | undefined;
      let bestCount = 0;
      for (let a = 0; a < n; a++) {
        const v = vals[base + vs[a]!];
        let c = 1;
        for (let b = a + 1; b < n; b++) if (vals[base + vs[b]!] === v) c++;
        if (c > bestCount) {
          bestCount = c;
          best = v;
        }
      }
      if (this.kind !== MS && bestCount >= this.need && this.out[e] !== best) {
        this.emit(e, best, 'membership');
      }
      if (n === 0 || bestCount === n) {
        if (this.disagree[e]! >= 0) {
          this.disagree[e] = -1;
          this.nDisagree--;
        }
        if (this.flagged[e] !== 0) this.unflagAll(e, 'agrees', now);
      } else {
        if (this.disagree[e]! < 0) {
          this.disagree[e] = now;
          this.nDisagree++;
        }
        this.schedule(e, now);
      }
      this.maybeFree(e);
    }
  }

  // -------------------------------------------------------------------------------------
  // Entries.

  private alloc(key: VoteKey): number {
    let e = this.freeEntries.pop();
    if (e === undefined) {
      if (this.used === this.cap) this.grow();
      e = this.used++;
    }
    this.keys[e] = key;
    this.index.set(key, e);
    this.out[e] = undefined;
    this.disagree[e] = -1;
    this.flagged[e] = 0;
    this.pushedDue[e] = -1;
    const now = this.clock.now();
    const base = e * this.stride;
    for (let s = 0; s < this.stride; s++) {
      this.vals[base + s] = undefined;
      this.changed[base + s] = now;
    }
    this.nKeys++;
    return e;
  }

  /** Forget a key nobody outputs and that is not output. */
  private maybeFree(e: number): void {
    if (this.out[e] !== undefined || this.flagged[e] !== 0 || this.keys[e] === undefined) return;
    const base = e * this.stride;
    for (let s = 0; s < this.stride; s++) if (this.vals[base + s] !== undefined) return;
    if (this.disagree[e]! >= 0) this.nDisagree--;
    this.index.delete(this.keys[e]!);
    this.keys[e] = undefined;
    this.freeEntries.push(e);
    this.nKeys--;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const stride = this.stride;
    this.keys.length = cap;
    this.keys.fill(undefined, this.cap);
    this.out.length = cap;
    this.out.fill(undefined, this.cap);
    this.vals.length = cap * stride;
    this.vals.fill(undefined, this.cap * stride);
    const changed = new Float64Array(cap * stride);
    changed.set(this.changed);
    this.changed = changed;
    const disagree = new Float64Array(cap);
    disagree.set(this.disagree);
    this.disagree = disagree;
    const flagged = new Int32Array(cap);
    flagged.set(this.flagged);
    this.flagged = flagged;
    const pushed = new Float64Array(cap);
    pushed.set(this.pushedDue);
    this.pushedDue = pushed;
    this.cap = cap;
  }

  private emit(e: number, v: VoteValue | undefined, reason: DecisionReason): void {
    this.out[e] = v;
    this.nDecisions++;
    this.sink.decision(this.keys[e]!, v, reason);
  }

  private slotName(replica: ReplicaId): string {
    const name = this.names[replica];
    if (name === undefined) throw new RangeError(`no replica in slot ${replica}`);
    return name;
  }

  private entry(key: VoteKey): number {
    return this.index.get(key) ?? NO_ENTRY;
  }

  // -------------------------------------------------------------------------------------
  // Queries (status, API, metrics, tests).

  /** What the voter currently outputs for `key` (undefined: nothing / withdrawn). */
  outputOf(key: VoteKey): VoteValue | undefined {
    const e = this.entry(key);
    return e === NO_ENTRY ? undefined : this.out[e];
  }

  /** What `replica` currently outputs for `key`. */
  valueOf(replica: ReplicaId, key: VoteKey): VoteValue | undefined {
    this.slotName(replica);
    const e = this.entry(key);
    return e === NO_ENTRY ? undefined : this.vals[e * this.stride + replica];
  }

  /** Every key with a non-absent output, and its value (in no particular order). */
  *outputs(): IterableIterator<[VoteKey, VoteValue]> {
    for (let e = 0; e < this.used; e++) {
      const k = this.keys[e];
      const v = this.out[e];
      if (k !== undefined && v !== undefined) yield [k, v];
    }
  }

  /** The current master (master/slave), if any. */
  get masterReplica(): ReplicaId | undefined {
    return this.master >= 0 ? this.master : undefined;
  }

  replicas(): ReplicaInfo[] {
    const out: ReplicaInfo[] = [];
    for (let s = 0; s < this.stride; s++) {
      const name = this.names[s];
      if (name === undefined) continue;
      out.push({
        id: s,
        name,
        voting: this.isVoting[s] === 1,
        master: this.kind === MS && s === this.master,
        faultyKeys: this.faultyKeys[s]!,
      });
    }
    return out;
  }

  /** Keys on which `replica` is flagged faulty (up to `limit`). */
  faultyKeysOf(replica: ReplicaId, limit = Infinity): VoteKey[] {
    this.slotName(replica);
    const bit = 1 << replica;
    const out: VoteKey[] = [];
    for (let e = 0; e < this.used && out.length < limit; e++) {
      if ((this.flagged[e]! & bit) !== 0) out.push(this.keys[e]!);
    }
    return out;
  }

  /** Keys the voting replicas disagree on, oldest disagreement first (up to `limit`). */
  disagreements(limit = Infinity): Disagreement[] {
    const es: number[] = [];
    for (let e = 0; e < this.used; e++) {
      if (this.keys[e] !== undefined && this.disagree[e]! >= 0) es.push(e);
    }
    es.sort((a, b) => this.disagree[a]! - this.disagree[b]! || a - b);
    if (es.length > limit) es.length = limit;
    const now = this.clock.now();
    return es.map((e) => {
      const base = e * this.stride;
      const replicas: Disagreement['replicas'][number][] = [];
      for (let s = 0; s < this.stride; s++) {
        const name = this.names[s];
        if (name === undefined) continue;
        replicas.push({
          replica: s,
          name,
          value: this.vals[base + s],
          since: this.changed[base + s]!,
          steady: this.changed[base + s]! + this.T <= now && this.silent[s] === 0,
          faulty: (this.flagged[e]! & (1 << s)) !== 0,
        });
      }
      return { key: this.keys[e]!, since: this.disagree[e]!, output: this.out[e], replicas };
    });
  }

  get size(): number {
    return this.nKeys;
  }

  get disagreementCount(): number {
    return this.nDisagree;
  }

  stats(): VoterStats {
    return {
      keys: this.nKeys,
      disagreements: this.nDisagree,
      outputs: this.nOutputs,
      decisions: this.nDecisions,
      faults: this.nFaults,
      failovers: this.nFailovers,
      pendingChecks: this.qLen,
    };
  }

  /** Cancel the pending timer (the voter stays usable; `runDue` can still be called). */
  dispose(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}

/** A sink that records everything, for tests and tools. */
export class RecordingSink implements VoterSink {
  readonly decisions: { key: VoteKey; value: VoteValue | undefined; reason: DecisionReason }[] = [];
  readonly events: VoterEvent[] = [];
  decision(key: VoteKey, value: VoteValue | undefined, reason: DecisionReason): void {
    this.decisions.push({ key, value, reason });
  }
  event(e: VoterEvent): void {
    this.events.push(e);
  }
  clear(): void {
    this.decisions.length = 0;
    this.events.length = 0;
  }
}
