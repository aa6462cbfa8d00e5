// The update voter of one neighbour session and its plumbing (BTR paper §3.1 "Advertising
// a single route per prefix", §4.3: "the update messages are voted upon before being sent
// to the adjacent router"): what each replica would send the neighbour goes in, as decoded
// UPDATEs; what the router really sends comes out, as packed UPDATEs. Pure: the Voter
// (voter.ts) runs on the injected clock; this module adds no I/O and no timers.
//
// In: every route of a replica's UPDATE, in canonical form (canonical.ts), is one
// `replicaOutput(replica, key, value)`. RFC 7606 treat-as-withdraw arrives as withdrawals;
// families the codec keeps opaque are counted, not voted (and so never advertised).
// End-of-RIB markers (RFC 4724 §2) are not routes: they are voted separately (below).
//
// Out: the voter's decisions since the last `take()`, one per key (the last one wins), with
// the output the neighbour already has remembered for keys decided from `fromReplica` — a
// key that comes back to what was advertised within one batch sends nothing. Decisions
// from the voter's own timer or membership changes (rare) are sent as they are. `take()`
// groups announcements by (family, value) — routes that share attributes share UPDATEs —
// re-encodes each voted value for the neighbour session (canonical-attributes.ts), and
// writes withdrawals per family. Routes of families not negotiated with the neighbour are
// dropped (RFC 4760 §8, RFC 5492: a speaker sends a family only to a peer that announced it).
//
// End-of-RIB towards the neighbour: once per session and family, when a majority of the
// configured replicas have sent theirs — by then the routes they agree on are output.

import type { Clock } from '../lib/clock.js';
import type { CodecContext, UpdateMessage } from '../wire/index.js';
import { canonicalUpdateMessage, type CanonicalOptions } from './canonical.js';
import { routeFormOf } from './canonical-attributes.js';
import {
  Voter,
  type DecisionReason,
  type ReplicaId,
  type Strategy,
  type VoteKey,
  type VoteValue,
  type VoterEvent,
  type VoterSink,
} from './voter.js';
import {
  endOfRib,
  endOfRibFamily,
  familyOfKey,
  writeAnnouncements,
  writeWithdrawals,
  type FamilyKey,
} from './update-writer.js';

export interface UpdateVoteOptions {
  readonly strategy: Strategy;
  readonly clock: Clock;
  /** T of the voter (ms): outputs unchanged this long are steady (§4.2). */
  readonly steadyMs: number;
  /** The neighbour session's send context (encoding of the output). */
  readonly send: CodecContext;
  /** Families negotiated with the neighbour. */
  readonly families: readonly FamilyKey[];
  /** Replicas configured (End-of-RIB needs a majority of them). */
  readonly replicas: number;
  readonly maxReplicas?: number;
  readonly canonical?: CanonicalOptions;
  /** Voter events (faults, master changes). */
  readonly onEvent?: (e: VoterEvent) => void;
  /** Called after decisions were recorded, so the owner can schedule a `take()`. */
  readonly onDecision?: () => void;
  /** Called by `take()` for every key it writes into the UPDATEs (pass-through timing). */
  readonly onSent?: (key: VoteKey) => void;
}

export interface ReplicaUpdateResult {
  /** Routes reported to the voter. */
  readonly routes: number;
  /** The UPDATE was an End-of-RIB for this family. */
  readonly endOfRib?: FamilyKey;
}

/** Pending "withdraw" (a value can never be this). */
const WITHDRAW = '';
/** Output before the batch not known. */
const UNKNOWN = '\u0000unknown';

export class UpdateVote implements VoterSink {
  readonly voter: Voter;
  private readonly opts: UpdateVoteOptions;
  // Decisions since the last take(): key → slot in the parallel arrays.
  private readonly pendingIndex = new Map<VoteKey, number>();
  private pKeys: VoteKey[] = [];
  private pValues: string[] = [];
  private pBefore: string[] = [];
  // The key being reported by fromReplica and its output just before (see the header).
  private curKey: VoteKey | undefined;
  private curBefore: string = UNKNOWN;
  private readonly eorFrom = new Map<FamilyKey, Set<ReplicaId>>();
  private readonly eorSent = new Set<FamilyKey>();
  private opaque = 0;
  private sentUpdates = 0;

  constructor(opts: UpdateVoteOptions) {
    this.opts = opts;
    this.voter = new Voter({
      strategy: opts.strategy,
      clock: opts.clock,
      steadyMs: opts.steadyMs,
      sink: this,
      ...(opts.maxReplicas !== undefined ? { maxReplicas: opts.maxReplicas } : {}),
    });
  }

  // --- VoterSink ---------------------------------------------------------------------

  decision(key: VoteKey, value: VoteValue | undefined, _reason: DecisionReason): void {
    const v = value ?? WITHDRAW;
    const i = this.pendingIndex.get(key);
    if (i !== undefined) {
      this.pValues[i] = v;
    } else {
      this.pendingIndex.set(key, this.pKeys.length);
      this.pKeys.push(key);
      this.pValues.push(v);
      this.pBefore.push(key === this.curKey ? this.curBefore : UNKNOWN);
    }
    this.opts.onDecision?.();
  }

  event(e: VoterEvent): void {
    this.opts.onEvent?.(e);
  }

  // --- in --------------------------------------------------------------------------------

  /** One UPDATE a replica sent towards the neighbour, decoded with `ctx` (its session's). */
  fromReplica(replica: ReplicaId, u: UpdateMessage, ctx: CodecContext): ReplicaUpdateResult {
    const eor = endOfRibFamily(u);
    if (eor !== undefined) return { routes: 0, endOfRib: eor };
    const c = canonicalUpdateMessage(u, ctx, this.opts.canonical);
    this.opaque += c.opaqueFamilies;
    const voter = this.voter;
    const routes = c.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      this.curKey = r.key;
      this.curBefore = voter.outputOf(r.key) ?? WITHDRAW;
      voter.replicaOutput(replica, r.key, r.value);
    }
    this.curKey = undefined;
    return { routes: routes.length };
  }

  /**
   * Record a replica's End-of-RIB for `family`; true when it completes a majority of the
   * configured replicas and the neighbour has not had one this session (send it now,
   * after `take()`).
   */
  endOfRibFrom(replica: ReplicaId, family: FamilyKey): boolean {
    if (this.eorSent.has(family) || !this.opts.families.includes(family)) return false;
    let s = this.eorFrom.get(family);
    if (!s) this.eorFrom.set(family, (s = new Set()));
    s.add(replica);
    if (s.size < (this.opts.replicas >>> 1) + 1) return false;
    this.eorSent.add(family);
    return true;
  }

  /** A replica left (its End-of-RIB no longer counts). */
  forgetReplica(replica: ReplicaId): void {
    for (const s of this.eorFrom.values()) s.delete(replica);
  }

  // --- out -------------------------------------------------------------------------------

  get pending(): number {
    return this.pKeys.length;
  }

  /** The UPDATEs for the decisions since the last call, packed (see the header). */
  take(): Uint8Array[] {
    const n = this.pKeys.length;
    const out: Uint8Array[] = [];
    if (n === 0) return out;
    const keys = this.pKeys;
    const values = this.pValues;
    const before = this.pBefore;
    this.pKeys = [];
    this.pValues = [];
    this.pBefore = [];
    this.pendingIndex.clear();
    const withdrawals = new Map<FamilyKey, VoteKey[]>();
    const announcements = new Map<FamilyKey, Map<VoteValue, VoteKey[]>>();
    const families = this.opts.families;
    const onSent = this.opts.onSent;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v === before[i]) continue; // back to what the neighbour has
      const k = keys[i]!;
      const f = familyOfKey(k);
      if (!families.includes(f)) continue;
      onSent?.(k);
      if (v === WITHDRAW) {
        const ks = withdrawals.get(f);
        if (ks) ks.push(k);
        else withdrawals.set(f, [k]);
      } else {
        let byValue = announcements.get(f);
        if (!byValue) announcements.set(f, (byValue = new Map()));
        const ks = byValue.get(v);
        if (ks) ks.push(k);
        else byValue.set(v, [k]);
      }
    }
    const ctx = this.opts.send;
    for (const [f, ks] of withdrawals)
      writeWithdrawals(f >>> 8, f & 0xff, ks, 0, ks.length, ctx, out);
    for (const [f, byValue] of announcements) {
      for (const [v, ks] of byValue) {
        writeAnnouncements(routeFormOf(v, f >>> 8, f & 0xff, ctx), ks, 0, ks.length, ctx, out);
      }
    }
    this.sentUpdates += out.length;
    return out;
  }

  /**
   * Everything currently output for a family, packed (the answer to the neighbour's
   * ROUTE-REFRESH, RFC 2918). Take pending decisions first so the answer is current.
   */
  table(family: FamilyKey): Uint8Array[] {
    const byValue = new Map<VoteValue, VoteKey[]>();
    for (const [k, v] of this.voter.outputs()) {
      if (familyOfKey(k) !== family) continue;
      const ks = byValue.get(v);
      if (ks) ks.push(k);
      else byValue.set(v, [k]);
    }
    const out: Uint8Array[] = [];
    const ctx = this.opts.send;
    for (const [v, ks] of byValue) {
      writeAnnouncements(
        routeFormOf(v, family >>> 8, family & 0xff, ctx),
        ks,
        0,
        ks.length,
        ctx,
        out,
      );
    }
    this.sentUpdates += out.length;
    return out;
  }

  /** End-of-RIB for a family, encoded. */
  endOfRib(family: FamilyKey): Uint8Array {
    return endOfRib(family);
  }

  stats(): { opaqueFamilies: number; sentUpdates: number; endOfRibSent: FamilyKey[] } {
    return {
      opaqueFamilies: this.opaque,
      sentUpdates: this.sentUpdates,
      endOfRibSent: [...this.eorSent],
    };
  }

  dispose(): void {
    this.voter.dispose();
  }
}
