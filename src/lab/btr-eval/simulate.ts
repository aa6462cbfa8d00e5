// One simulated run of the BTR voting evaluation (paper §5.1) on virtual time: R replicas
// (plus standbys) output the correct-output stream of the trace (trace.ts) after their
// processing delays, with bug episodes (replica-model.ts); the real `Voter` of
// src/btr/voter.ts, on a ManualClock, decides what the router outputs; we measure.
//
// The same code runs the whole table for up to 100 hours (a *direct* run) or only a few
// prefixes for a short window around given bug episodes (the estimator, estimator.ts):
// the voter keeps no state across keys except membership and, under master/slave, who the
// master is, so a key's decisions only depend on that key's outputs and on those events.
//
// Metrics (docs/evaluation/btr.md, "Metrics"):
// - fault: a key is *faulty* from a decision whose value no bug-free voting replica holds
//   at that moment (a bogus route, a bogus next hop, or a withdrawal only buggy replicas
//   made) until the next decision on the key or until a bug-free voting replica comes to
//   hold that value. `fault.anyMs`: time during which at least one key is faulty (the
//   paper's "fraction of time the voter output a buggy route"); `fault.keyMs`: the sum
//   over keys.
// - waiting time: from the input of the UPDATE that changed a key's correct output to the
//   voter's decision giving that output (values that were superseded before being output
//   are counted apart). The standard router's is its own processing delay.
// - update overhead: decisions per 1 s interval; the standard router (one replica, no
//   voting) outputs each correct change once, after its delay.
// - flags: the voter's `fault` events, split into replicas that were buggy on that key
//   and healthy ones (the paper's false negatives).
//
// Standby (R + 1): when the voter flags a seated replica, the standby is started
// (bootstrapped from the history: it holds the correct table at once but does not vote),
// and `bootstrapMs` later it takes the seat: it starts voting and the flagged replica is
// removed, restarted clean, and becomes the (cold) standby. One replacement at a time; the
// flagged replica votes (and is outvoted) until it is replaced.

import { ManualClock } from '../../lib/clock.js';
import { seededRandom } from '../../lib/random.js';
import { BugSchedule, BUG_KINDS, type BugKind } from '../../btr/fault-inject.js';
import { routeKey } from '../../btr/canonical-key.js';
import { Voter, type Strategy, type VoteKey, type VoterEvent } from '../../btr/voter.js';
import { EventHeap, type HeapEvent } from './event-heap.js';
import {
  DelaySampler,
  NEXT_HOPS,
  addValue as addValueOf,
  nextHopValue,
  replicaSeed,
  type DelayModel,
} from './replica-model.js';
import { LogHistogram, countHistogram, type CountHistogram, type HistogramJson } from './stats.js';
import { valueAt, type PerKeyChanges, type Trace } from './trace.js';

export type StrategyName = 'wait-for-consensus' | 'master-slave' | 'continuous-majority';

export interface VoteConfig {
  readonly strategy: StrategyName;
  /** Voting replicas (seats). */
  readonly replicas: number;
  /** Standbys (0 or more). */
  readonly standby: number;
  /** T (ms). */
  readonly steadyMs: number;
}

export interface BugParams {
  readonly durationMs: number;
  readonly interArrivalMs: number;
  readonly distribution?: 'exponential' | 'fixed';
  /**
   * Draw targets from this many keys only (a fixed random subset of the table, and as many
   * bogus prefixes); default the whole table. Used to validate the estimator, where
   * coincidences must be frequent.
   */
  readonly targetPool?: number;
  /** Default all three, uniformly. */
  readonly kinds?: readonly BugKind[];
}

/** One bug episode, given explicitly (estimator windows). */
export interface Episode {
  readonly seat: number;
  readonly kind: BugKind;
  /** Global key index: < keys.length a real prefix; ≥ keys.length a bogus one (`add`). */
  readonly key: number;
  readonly start: number;
  readonly end: number;
  /** next-hop: which bogus next hop (1…254). */
  readonly nextHop: number;
  /** add: the value id of the route whose attributes the bogus prefix carries. */
  readonly addValue: number;
}

export interface SimSpec {
  readonly trace: Trace;
  /** Needed when `keys` is given or the window does not start at a copy boundary. */
  readonly perKey?: PerKeyChanges;
  readonly vote: VoteConfig;
  readonly delay: DelayModel;
  readonly seed: number;
  /** Standby start-up and history replay before it votes (default 1500 ms). */
  readonly bootstrapMs?: number;
  readonly startMs: number;
  readonly endMs: number;
  /** Only these keys (global indices); default every key (and the bogus pool). */
  readonly keys?: readonly number[];
  /** Random bug episodes per seat (direct runs). */
  readonly bugs?: BugParams;
  /** Or exactly these episodes. */
  readonly episodes?: readonly Episode[];
  readonly measure?: { readonly waiting?: boolean; readonly overhead?: boolean };
  /** Called after every copy of the trace with the virtual time reached. */
  readonly onProgress?: (atMs: number) => void;
}

export interface SimResult {
  readonly virtualMs: number;
  readonly keys: number;
  readonly correctChanges: number;
  readonly replicaOutputs: number;
  readonly decisions: number;
  readonly fault: {
    readonly anyMs: number;
    readonly keyMs: number;
    /** Faulty intervals (a key going faulty). */
    readonly intervals: number;
    readonly episodes: number;
    readonly skipped: number;
  };
  readonly flags: { readonly total: number; readonly buggy: number; readonly healthy: number };
  /** From an episode's start to the first flag of its replica on its key. */
  readonly detection: HistogramJson;
  readonly detected: number;
  readonly failovers: { readonly fault: number; readonly other: number };
  readonly replacements: number;
  /**
   * At the end: prefixes whose voted output is not their correct output, and bogus
   * prefixes still output (0 when the replicas have caught up and no bug is active).
   */
  readonly finalMismatches: number;
  readonly waiting?: {
    readonly voter: HistogramJson;
    readonly std: HistogramJson;
    /** Correct values superseded before the voter output them. */
    readonly superseded: number;
  };
  readonly overhead?: { readonly voter: CountHistogram; readonly std: CountHistogram };
  readonly wallMs: number;
}

interface Bug {
  readonly kind: BugKind;
  readonly nextHop: number;
  readonly addValue: number;
  readonly start: number;
  detected: boolean;
}

interface Proc {
  readonly name: string;
  readonly seed: number;
  seat: number;
  slot: number;
  running: boolean;
  voting: boolean;
  inc: number;
  readonly trueVal: Int32Array;
  readonly reported: (string | undefined)[];
  readonly lastOut: Float64Array;
  readonly bugs: Map<number, Bug>;
}

const BOGUS_BASE = 240 << 24;

/** The voter key of bogus prefix number `i` (240.0.0.0/4 as /24s). */
export function bogusKey(i: number): VoteKey {
  const a = (BOGUS_BASE + i * 256) >>> 0;
  const addr = Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, 0);
  return routeKey(1, 1, { afi: 1, addr, len: 24 }, 0);
}

export function voterStrategy(v: VoteConfig): Strategy {
  switch (v.strategy) {
    case 'continuous-majority':
      return { kind: 'continuous-majority' };
    case 'wait-for-consensus':
      return { kind: 'wait-for-consensus' }; // K = R (every voting replica)
    case 'master-slave':
      return { kind: 'master-slave' };
  }
}

export function mixSeed(seed: number, salt: number): number {
  return replicaSeed(seed ^ 0x2545f491, salt + 1000);
}

export function simulate(spec: SimSpec): SimResult {
  const wall = performance.now();
  const { trace, vote } = spec;
  const N = trace.keys.length;
  const P = trace.periodMs;
  const ch = trace.changes;
  const start = spec.startMs;
  const end = spec.endMs;
  if (!(end > start)) throw new RangeError('simulate: endMs must be after startMs');
  const bootstrapMs = spec.bootstrapMs ?? 1500;

  // Local keys: every real key and the bogus pool, or the given ones.
  const full = spec.keys === undefined;
  const global: number[] = full ? [] : [...spec.keys!];
  const L = full ? 2 * N : global.length;
  const globalOf = (k: number): number => (full ? k : global[k]!);
  const voterKey: VoteKey[] = new Array<VoteKey>(L);
  const localOf = new Map<VoteKey, number>();
  for (let k = 0; k < L; k++) {
    const g = globalOf(k);
    const vk = g < N ? trace.keys[g]! : bogusKey(g - N);
    voterKey[k] = vk;
    localOf.set(vk, k);
  }
  const isReal = new Uint8Array(L);
  for (let k = 0; k < L; k++) isReal[k] = globalOf(k) < N ? 1 : 0;

  // The changes of the local keys, in time order, and their local key.
  let list: Int32Array;
  let listLocal: Int32Array;
  if (full) {
    list = new Int32Array(ch.key.length);
    for (let i = 0; i < list.length; i++) list[i] = i;
    listLocal = ch.key;
  } else {
    if (!spec.perKey) throw new Error('simulate: perKey is needed with keys');
    const idx: number[] = [];
    const loc: number[] = [];
    const merged: [number, number][] = [];
    global.forEach((g, k) => {
      if (g < N) for (const i of spec.perKey!.changes[g]!) merged.push([i, k]);
    });
    merged.sort((a, b) => a[0] - b[0]);
    for (const [i, k] of merged) {
      idx.push(i);
      loc.push(k);
    }
    list = Int32Array.from(idx);
    listLocal = Int32Array.from(loc);
  }
  const valueStr = (v: number): string | undefined => (v < 0 ? undefined : trace.values[v]);

  // Correct output (what a bug-free router outputs the instant an UPDATE arrives).
  const corrVal = new Int32Array(L).fill(-1);
  const offset0 = start - Math.floor(start / P) * P;
  for (let k = 0; k < L; k++) {
    const g = globalOf(k);
    if (g >= N) continue;
    if (offset0 === 0) corrVal[k] = trace.initial[g]!;
    else {
      if (!spec.perKey) throw new Error('simulate: perKey is needed for a window inside a copy');
      corrVal[k] = valueAt(trace, spec.perKey, g, offset0 - 1e-9);
    }
  }

  const clock = new ManualClock(start);
  const out: (string | undefined)[] = new Array<string | undefined>(L).fill(undefined);
  const faultStart = new Float64Array(L).fill(-1);
  let nFaulty = 0;
  let anyStart = 0;
  let faultAnyMs = 0;
  let faultKeyMs = 0;
  let faultIntervals = 0;
  let loading = true;
  let decisions = 0;
  let replicaOutputs = 0;
  let correctChanges = 0;
  let flagsBuggy = 0;
  let flagsHealthy = 0;
  let failoversFault = 0;
  let failoversOther = 0;
  let replacements = 0;
  let episodes = 0;
  let skipped = 0;
  let detected = 0;
  const detection = new LogHistogram();
  const measureWaiting = spec.measure?.waiting ?? false;
  const measureOverhead = spec.measure?.overhead ?? false;
  const waitVoter = new LogHistogram();
  const waitStd = new LogHistogram();
  let superseded = 0;
  const corrTime = new Float64Array(measureWaiting ? L : 0);
  const waitPending = new Uint8Array(measureWaiting ? L : 0);
  const nBins = measureOverhead ? Math.ceil((end - start) / 1000) : 0;
  const binVoter = new Int32Array(nBins);
  const binStd = new Int32Array(nBins);
  const stdLast = new Float64Array(measureWaiting || measureOverhead ? L : 0);
  const stdSeed = replicaSeed(spec.seed, 99);
  const sampler = new DelaySampler(spec.delay);

  const procs: Proc[] = [];
  const nProcs = vote.replicas + vote.standby;
  for (let p = 0; p < nProcs; p++) {
    procs.push({
      name: p < vote.replicas ? `r${p}` : `s${p - vote.replicas}`,
      seed: replicaSeed(spec.seed, p),
      seat: p < vote.replicas ? p : -1,
      slot: -1,
      running: p < vote.replicas,
      voting: false,
      inc: 0,
      trueVal: new Int32Array(L).fill(-1),
      reported: new Array<string | undefined>(L).fill(undefined),
      lastOut: new Float64Array(L),
      bugs: new Map(),
    });
  }
  const seats: Proc[] = procs.slice(0, vote.replicas);
  const slotProc: (Proc | undefined)[] = [];

  const startFault = (k: number): void => {
    faultStart[k] = clock.now();
    faultIntervals++;
    if (nFaulty++ === 0) anyStart = clock.now();
  };
  const endFault = (k: number, at: number): void => {
    faultKeyMs += at - faultStart[k]!;
    faultStart[k] = -1;
    if (--nFaulty === 0) faultAnyMs += at - anyStart;
  };
  /** Does a bug-free voting replica hold `value` for key k? */
  const healthyHolds = (k: number, value: string | undefined): boolean => {
    for (let i = 0; i < procs.length; i++) {
      const p = procs[i]!;
      if (!p.voting) continue;
      if (p.bugs.size > 0 && p.bugs.has(k)) continue;
      if (p.reported[k] === value) return true;
    }
    return false;
  };

  const voter = new Voter({
    strategy: voterStrategy(vote),
    clock,
    steadyMs: vote.steadyMs,
    initialKeys: Math.min(L, 1 << 16),
    sink: {
      decision(key, value) {
        const k = localOf.get(key)!;
        out[k] = value;
        if (loading) return;
        decisions++;
        const now = clock.now();
        if (measureOverhead) {
          const bin = Math.floor((now - start) / 1000);
          if (bin < nBins) binVoter[bin]!++;
        }
        if (measureWaiting && waitPending[k] === 1 && value === valueStr(corrVal[k]!)) {
          waitVoter.add(now - corrTime[k]!);
          waitPending[k] = 0;
        }
        if (healthyHolds(k, value)) {
          if (faultStart[k]! >= 0) endFault(k, now);
        } else if (faultStart[k]! < 0) startFault(k);
      },
      event(e: VoterEvent) {
        if (loading) return;
        if (e.type === 'master-changed') {
          if (e.why === 'fault') failoversFault++;
          else failoversOther++;
          return;
        }
        if (e.type !== 'fault') return;
        const p = slotProc[e.replica]!;
        const k = localOf.get(e.key)!;
        const bug = p.bugs.size > 0 ? p.bugs.get(k) : undefined;
        if (bug) {
          flagsBuggy++;
          if (!bug.detected) {
            bug.detected = true;
            detected++;
            detection.add(clock.now() - bug.start);
          }
        } else flagsHealthy++;
        if (vote.standby > 0) maybeReplace(p);
      },
    },
  });

  /** Report a replica's value for key k to the voter if it changed. */
  const report = (p: Proc, k: number, value: string | undefined): void => {
    if (p.reported[k] === value) return;
    p.reported[k] = value;
    replicaOutputs++;
    voter.replicaOutput(p.slot, voterKey[k]!, value);
    if (
      faultStart[k]! >= 0 &&
      p.voting &&
      value === out[k] &&
      !(p.bugs.size > 0 && p.bugs.has(k))
    ) {
      endFault(k, clock.now());
    }
  };
  const shown = (p: Proc, k: number): string | undefined => {
    const v = p.trueVal[k]!;
    const bug = p.bugs.size > 0 ? p.bugs.get(k) : undefined;
    if (!bug) return valueStr(v);
    switch (bug.kind) {
      case 'suppress':
        return undefined;
      case 'next-hop':
        return v < 0 ? undefined : nextHopValue(trace.values[v]!, bug.nextHop);
      case 'add':
        return addValueOf(trace.values[bug.addValue]!);
    }
  };

  // --- start: every seated replica votes and holds the correct table --------------------
  for (const p of seats) {
    p.slot = voter.addReplica(p.name);
    slotProc[p.slot] = p;
    p.voting = true;
  }
  for (const p of seats) {
    for (let k = 0; k < L; k++) {
      p.trueVal[k] = corrVal[k]!;
      if (corrVal[k]! >= 0) report(p, k, valueStr(corrVal[k]!));
    }
  }
  loading = false;

  // --- standby replacement ----------------------------------------------------------------
  let replacing = false;
  const maybeReplace = (p: Proc): void => {
    if (replacing || p.seat < 0) return;
    const q = procs.find((x) => x.seat < 0 && !x.running);
    if (!q) return;
    replacing = true;
    // Out of the voter's sink: the voter must not be re-entered from it.
    clock.at(clock.now(), () => startReplacement(p, q));
  };
  const startReplacement = (p: Proc, q: Proc): void => {
    if (p.seat < 0) {
      replacing = false;
      return;
    }
    const now = clock.now();
    q.inc++;
    q.running = true;
    q.voting = false;
    q.bugs.clear();
    q.slot = voter.addReplica(q.name, { voting: false });
    slotProc[q.slot] = q;
    for (let k = 0; k < L; k++) {
      q.trueVal[k] = corrVal[k]!;
      q.lastOut[k] = now;
      q.reported[k] = undefined;
      if (corrVal[k]! >= 0) report(q, k, valueStr(corrVal[k]!));
    }
    clock.at(now + bootstrapMs, () => finishReplacement(p, q));
  };
  const finishReplacement = (p: Proc, q: Proc): void => {
    replacing = false;
    if (p.seat < 0) return;
    q.voting = true;
    voter.setVoting(q.slot, true);
    const seat = p.seat;
    p.voting = false;
    p.running = false;
    p.inc++;
    p.bugs.clear();
    voter.removeReplica(p.slot);
    slotProc[p.slot] = undefined;
    p.slot = -1;
    p.seat = -1;
    q.seat = seat;
    seats[seat] = q;
    replacements++;
    // Faults that only the removed replica's values explained are re-checked by the next
    // decision; values it no longer holds cannot end one.
  };

  // --- bugs ---------------------------------------------------------------------------------
  const startEpisode = (
    seat: number,
    kind: BugKind,
    k: number,
    endAt: number,
    nextHop: number,
    addValue: number,
  ): void => {
    const p = seats[seat]!;
    if (p.bugs.has(k)) {
      skipped++;
      return;
    }
    const bug: Bug = { kind, nextHop, addValue, start: clock.now(), detected: false };
    p.bugs.set(k, bug);
    episodes++;
    report(p, k, shown(p, k));
    clock.at(endAt, () => {
      if (p.bugs.get(k) !== bug) return; // the replica was replaced meanwhile
      p.bugs.delete(k);
      report(p, k, shown(p, k));
    });
  };

  if (spec.episodes) {
    for (const ep of spec.episodes) {
      const k = localOf.get(ep.key < N ? trace.keys[ep.key]! : bogusKey(ep.key - N));
      if (k === undefined) throw new Error(`simulate: episode key ${ep.key} is not simulated`);
      if (ep.seat < 0 || ep.seat >= vote.replicas) throw new RangeError(`no seat ${ep.seat}`);
      clock.at(ep.start, () => startEpisode(ep.seat, ep.kind, k, ep.end, ep.nextHop, ep.addValue));
    }
  }
  if (spec.bugs) {
    if (!full) throw new Error('simulate: random bugs need the whole table');
    const bugs = spec.bugs;
    const poolSize = Math.min(N, bugs.targetPool ?? N);
    let pool: Int32Array | undefined;
    if (bugs.targetPool !== undefined) {
      // A fixed random subset of the prefixes held at the start.
      const rnd = seededRandom(mixSeed(spec.seed, 7));
      const held: number[] = [];
      for (let k = 0; k < N; k++) if (corrVal[k]! >= 0) held.push(k);
      for (let i = held.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [held[i], held[j]] = [held[j]!, held[i]!];
      }
      pool = Int32Array.from(held.slice(0, poolSize));
    }
    for (let s = 0; s < vote.replicas; s++) {
      const schedule = new BugSchedule(
        {
          interArrivalMs: bugs.interArrivalMs,
          durationMs: bugs.durationMs,
          distribution: bugs.distribution ?? 'exponential',
          kinds: bugs.kinds ?? BUG_KINDS,
        },
        seededRandom(mixSeed(spec.seed, 100 + s)),
        start,
      );
      const rnd = seededRandom(mixSeed(spec.seed, 200 + s));
      const pick = (kind: BugKind): number => {
        const p = seats[s]!;
        for (let tries = 0; tries < 1000; tries++) {
          const i = Math.floor(rnd() * poolSize);
          if (kind === 'add') {
            const k = N + i;
            if (!p.bugs.has(k)) return k;
          } else {
            const k = pool ? pool[i]! : i;
            if (p.trueVal[k]! >= 0 && !p.bugs.has(k)) return k;
          }
        }
        return -1;
      };
      const armNext = (): void => {
        const ep = schedule.next();
        if (!ep || ep.start >= end) return;
        clock.at(ep.start, () => {
          const k = pick(ep.kind);
          const nh = 1 + Math.floor(rnd() * NEXT_HOPS);
          const av = Math.floor(rnd() * trace.values.length);
          if (k < 0) skipped++;
          else startEpisode(s, ep.kind, k, ep.end, nh, av);
          armNext();
        });
      };
      armNext();
    }
  }

  // --- the replay ---------------------------------------------------------------------------
  const heap = new EventHeap();
  const ev: HeapEvent = { time: 0, proc: 0, inc: 0, copy: 0, from: 0, to: 0 };
  const listLen = list.length;
  const split = new Set<number>();
  const code = (p: number, c: number, pos: number): number => (c * listLen + pos) * 8 + p;
  const recs = trace.records;

  const apply = (p: Proc, pos: number): void => {
    const k = listLocal[pos]!;
    const v = ch.value[list[pos]!]!;
    p.trueVal[k] = v;
    report(p, k, p.bugs.size > 0 && p.bugs.has(k) ? shown(p, k) : valueStr(v));
  };
  const process = (e: HeapEvent): void => {
    const p = procs[e.proc]!;
    if (p.inc !== e.inc || !p.running) return;
    if (e.from < 0) {
      const pos = -e.from - 1;
      split.delete(code(e.proc, e.copy, pos));
      apply(p, pos);
      return;
    }
    for (let pos = e.from; pos < e.to; pos++) {
      if (split.size > 0 && split.has(code(e.proc, e.copy, pos))) continue;
      apply(p, pos);
    }
  };
  const drain = (t: number): void => {
    while (heap.minTime <= t) {
      heap.pop(ev);
      const dt = ev.time - clock.now();
      if (dt > 0) clock.advance(dt);
      process(ev);
    }
    const dt = t - clock.now();
    if (dt > 0) clock.advance(dt);
  };
  const input = (c: number, a: number, b: number, t: number): void => {
    const rec = ch.record[list[a]!]!;
    const n = c * recs + rec;
    for (let pos = a; pos < b; pos++) {
      const i = list[pos]!;
      const k = listLocal[pos]!;
      corrVal[k] = ch.value[i]!;
      correctChanges++;
      if (measureWaiting || measureOverhead) {
        const o = Math.max(stdLast[k]!, t + sampler.delay(stdSeed, n));
        stdLast[k] = o;
        if (measureWaiting) {
          waitStd.add(o - t);
          if (waitPending[k] === 1) superseded++;
          waitPending[k] = 1;
          corrTime[k] = t;
        }
        if (measureOverhead) {
          const bin = Math.floor((o - start) / 1000);
          if (bin < nBins) binStd[bin]!++;
        }
      }
    }
    for (let pi = 0; pi < procs.length; pi++) {
      const p = procs[pi]!;
      if (!p.running) continue;
      const o = t + sampler.delay(p.seed, n);
      for (let pos = a; pos < b; pos++) {
        const k = listLocal[pos]!;
        if (p.lastOut[k]! > o) {
          heap.push(p.lastOut[k]!, pi, p.inc, c, -pos - 1, 0);
          split.add(code(pi, c, pos));
        } else p.lastOut[k] = o;
      }
      heap.push(o, pi, p.inc, c, a, b);
    }
  };

  let c = Math.floor(start / P);
  let pos = 0;
  while (pos < listLen && c * P + ch.time[list[pos]!]! < start) pos++;
  const lastCopy = Math.ceil(end / P);
  for (;;) {
    if (pos >= listLen) {
      spec.onProgress?.(Math.min(end, (c + 1) * P));
      c++;
      pos = 0;
      if (c >= lastCopy || c * P >= end) break;
      continue;
    }
    const i = list[pos]!;
    const t = c * P + ch.time[i]!;
    if (t >= end) break;
    let q = pos + 1;
    const rec = ch.record[i]!;
    while (q < listLen && ch.record[list[q]!] === rec) q++;
    drain(t);
    input(c, pos, q, t);
    pos = q;
  }
  drain(end);
  for (let k = 0; k < L; k++) if (faultStart[k]! >= 0) endFault(k, end);
  let finalMismatches = 0;
  for (let k = 0; k < L; k++) if (out[k] !== valueStr(corrVal[k]!)) finalMismatches++;
  voter.dispose();

  const bins = (a: Int32Array): CountHistogram => {
    const m = new Map<number, number>();
    for (const x of a) m.set(x, (m.get(x) ?? 0) + 1);
    return countHistogram(m);
  };
  let realKeys = 0;
  for (let k = 0; k < L; k++) realKeys += isReal[k]!;
  return {
    virtualMs: end - start,
    keys: realKeys,
    correctChanges,
    replicaOutputs,
    decisions,
    fault: { anyMs: faultAnyMs, keyMs: faultKeyMs, intervals: faultIntervals, episodes, skipped },
    flags: { total: flagsBuggy + flagsHealthy, buggy: flagsBuggy, healthy: flagsHealthy },
    detection: detection.toJSON(),
    detected,
    failovers: { fault: failoversFault, other: failoversOther },
    replacements,
    finalMismatches,
    ...(measureWaiting
      ? { waiting: { voter: waitVoter.toJSON(), std: waitStd.toJSON(), superseded } }
      : {}),
    ...(measureOverhead ? { overhead: { voter: bins(binVoter), std: bins(binStd) } } : {}),
    wallMs: performance.now() - wall,
  };
}
