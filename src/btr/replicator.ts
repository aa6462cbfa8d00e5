// The replicator of one neighbour session (BTR paper §3.1 "Sharing network state amongst
// replicas", §4.1, §4.3 "Acting as a TCP proxy"): every UPDATE the neighbour sends is
// applied to the session's history (history.ts) and handed, as the octets received, to
// the feed of every replica, in order. No parsing on the way through (the paper: "the
// replicator does not need to parse update messages"); the history is the only consumer
// of the decoded form, which the session engine produced anyway.
//
// A feed is one replica's view of the neighbour. Pure logic over an injected clock and
// random source, writing to a `FeedPort` (the replica-side session):
//
// - Update-timing diversity (§2.2: "announcements for the same prefix from a given peer
//   router must be kept in order, but announcements from different peer routers can be
//   processed in any order"): a feed may delay every message by a random time in
//   [minMs, maxMs]. Delivery times never go backwards (due = max(now + delay, previous
//   due)), so the order per neighbour is kept.
//   One clock timer per feed, armed for the head of its queue.
// - Bootstrap (§4.1 "Bootstrapping new connections"). When a replica's session comes up,
//   `begin()` discards what was still queued for its previous session (those messages are
//   in the history), takes a snapshot of the history, and replays it in chunks of packed
//   UPDATEs, yielding to the event loop between chunks and pausing while the session is
//   congested. Messages from the neighbour that arrive meanwhile are applied to the history
//   (after the snapshot) and held for the feed; when the replay is written, End-of-RIB
//   follows for each family whose own End-of-RIB the neighbour had sent before the snapshot
//   (or every family, with `endOfRib: 'always'`), then the held messages, then the live
//   stream. So the replica sees the snapshot state S(t0) followed by exactly the messages
//   after t0: nothing lost, nothing twice, nothing out of order. The neighbour sees
//   nothing (no ROUTE-REFRESH, no reset).
// - ROUTE-REFRESH from a replica (RFC 2918) is answered the same way for one family, from
//   the history, bracketed by BoRR/EoRR when enhanced route refresh was negotiated (RFC
//   7313 §4); delayed messages are handed over first, so order is kept. It never reaches
//   the neighbour.
// - Backpressure: live messages are passed on even while the session is congested (its
//   queue keeps them), but past `maxQueued` such messages the feed reports `overflow`: a
//   replica that cannot keep up is faulty ("stops answering", §4.2), and is caught up
//   from the history after its session is reset.
//
// Messages handed to a port in one turn are batched: one `send` per feed per microtask,
// so a burst from the neighbour costs one transport write per replica, not one per message.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { CodecContext, UpdateMessage } from '../wire/index.js';
import { HistoryReplay, UpdateHistory, type HistorySnapshot } from './history.js';
import { endOfRib, type FamilyKey } from './update-writer.js';

/** The replica-side session a feed writes to. */
export interface FeedPort {
  /** Encoded UPDATEs, in order; false when congested (call `feed.writable()` on drain). */
  send(messages: readonly Uint8Array[]): boolean;
  /** A ROUTE-REFRESH (subtype 1 BoRR, 2 EoRR), ordered with the UPDATEs. */
  routeRefresh(afi: number, safi: number, subtype: number): void;
}

export interface FeedEvents {
  /** A bootstrap replay and the messages held during it were handed to the session. */
  caughtUp(feed: ReplicaFeed): void;
  /** More than `maxQueued` messages wait behind a congested session. */
  overflow(feed: ReplicaFeed): void;
}

export interface DelayRange {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface ReplicatorOptions {
  readonly clock: Clock;
  /** Uniform in [0, 1), for delays; required when a feed has a delay. */
  readonly random?: () => number;
  /** Runs `fn` on a later turn of the event loop (replay chunks yield with it). */
  readonly yieldTo: (fn: () => void) => void;
  /** End-of-RIB after a replay: where the neighbour sent its own (default), or always. */
  readonly endOfRib?: 'as-neighbour' | 'always';
  /** Live messages allowed behind a congested session before `overflow` (default 100000). */
  readonly maxQueued?: number;
  /** Routes per replay chunk (history.ts REPLAY_CHUNK). */
  readonly replayChunk?: number;
}

export type FeedState = 'down' | 'replaying' | 'live';

export interface FeedStats {
  readonly state: FeedState;
  /** Neighbour messages handed to the session live (or held during a replay). */
  readonly forwarded: number;
  /** Routes replayed from the history, over all bootstraps and refreshes. */
  readonly replayedRoutes: number;
  readonly bootstraps: number;
  readonly refreshes: number;
  /** Messages waiting in the delay line. */
  readonly delayed: number;
  /** Messages held until the current replay is written. */
  readonly held: number;
  readonly congested: boolean;
}

export class Replicator {
  readonly history = new UpdateHistory();
  private readonly feeds: ReplicaFeed[] = [];

  /**
   * `ctx`: the neighbour session's receive context (how the neighbour encodes);
   * `families`: the families negotiated with the neighbour.
   */
  constructor(
    readonly ctx: CodecContext,
    readonly families: readonly FamilyKey[],
    readonly opts: ReplicatorOptions,
  ) {}

  addFeed(name: string, port: FeedPort, events: FeedEvents, delay?: DelayRange): ReplicaFeed {
    if (delay) {
      if (!(delay.minMs >= 0 && delay.maxMs >= delay.minMs)) {
        throw new RangeError(`delay of ${name}: need 0 <= minMs <= maxMs`);
      }
      if (!this.opts.random) throw new Error(`delay of ${name}: no random source given`);
    }
    const f = new ReplicaFeed(this, name, port, events, delay);
    this.feeds.push(f);
    return f;
  }

  removeFeed(f: ReplicaFeed): void {
    f.stop();
    const i = this.feeds.indexOf(f);
    if (i >= 0) this.feeds.splice(i, 1);
  }

  /** One UPDATE from the neighbour: the octets as received and what they decoded to. */
  update(raw: Uint8Array, u: UpdateMessage): void {
    this.history.apply(raw, u);
    const fs = this.feeds;
    for (let i = 0; i < fs.length; i++) fs[i]!.push(raw);
  }

  /** The neighbour session ended: every feed stops, the history is dropped. */
  stop(): void {
    for (const f of this.feeds) f.stop();
    this.feeds.length = 0;
    this.history.clear();
  }
}

interface ReplayJob {
  readonly replay: HistoryReplay;
  /** Families to end with End-of-RIB (bootstrap). */
  readonly eor: readonly FamilyKey[];
  /** A ROUTE-REFRESH answer: its family and whether to bracket it with BoRR/EoRR. */
  readonly refresh: { readonly family: FamilyKey; readonly enhanced: boolean } | undefined;
}

export class ReplicaFeed {
  private st: FeedState = 'down';
  // Delay line: messages and due times from `dqHead` on.
  private dq: Uint8Array[] = [];
  private dqDue: number[] = [];
  private dqHead = 0;
  private lastDue = -Infinity;
  private timer: TimerHandle | undefined;
  private readonly onTimer = (): void => this.deliverDue();
  // Batch of messages for the next send, flushed on a microtask.
  private out: Uint8Array[] = [];
  private flushQueued = false;
  private readonly onFlush = (): void => {
    this.flushQueued = false;
    this.flushOut();
  };
  // Replay.
  private job: ReplayJob | undefined;
  private held: Uint8Array[] = [];
  private readonly refreshQueue: { family: FamilyKey; enhanced: boolean }[] = [];
  private stepQueued = false;
  private readonly onStep = (): void => {
    this.stepQueued = false;
    this.step();
  };
  private congested = false;
  private queuedWhileCongested = 0;
  private readonly maxQueued: number;
  private forwarded = 0;
  private replayedRoutes = 0;
  private bootstraps = 0;
  private refreshes = 0;

  constructor(
    private readonly rep: Replicator,
    readonly name: string,
    private readonly port: FeedPort,
    private readonly events: FeedEvents,
    private readonly delay: DelayRange | undefined,
  ) {
    this.maxQueued = rep.opts.maxQueued ?? 100_000;
  }

  get state(): FeedState {
    return this.st;
  }

  stats(): FeedStats {
    return {
      state: this.st,
      forwarded: this.forwarded,
      replayedRoutes: this.replayedRoutes + (this.job?.replay.position ?? 0),
      bootstraps: this.bootstraps,
      refreshes: this.refreshes,
      delayed: this.dq.length - this.dqHead,
      held: this.held.length,
      congested: this.congested,
    };
  }

  /**
   * The replica's session came up (first time or again): catch it up from the history,
   * then go live. `families`: the families negotiated on the replica's session.
   */
  begin(families: readonly FamilyKey[]): void {
    this.reset();
    this.bootstraps++;
    const snap = this.rep.history.snapshot();
    const mine = (f: FamilyKey): boolean => families.includes(f) && this.rep.families.includes(f);
    const eor =
      this.rep.opts.endOfRib === 'always'
        ? this.rep.families.filter(mine)
        : snap.endOfRib.filter(mine);
    this.start({ replay: this.replay(snap), eor, refresh: undefined });
  }

  /** The replica sent ROUTE-REFRESH for a family: answer from the history. */
  refresh(family: FamilyKey, enhanced: boolean): void {
    if (this.st === 'down') return;
    if (this.st === 'replaying') {
      // A bootstrap, or a refresh of the same family, in progress answers it already (with
      // what arrives meanwhile); a refresh of another family waits its turn.
      const cur = this.job?.refresh;
      if (cur && cur.family !== family && !this.refreshQueue.some((r) => r.family === family)) {
        this.refreshQueue.push({ family, enhanced });
      }
      return;
    }
    // Whatever the delay line holds is older than the snapshot: hand it over first.
    this.deliverAll();
    this.flushOut();
    this.refreshes++;
    if (enhanced) this.port.routeRefresh(family >>> 8, family & 0xff, 1);
    const snap = this.rep.history.snapshot(family);
    this.start({ replay: this.replay(snap), eor: [], refresh: { family, enhanced } });
  }

  /** A message from the neighbour (the replicator calls this, in order). */
  push(msg: Uint8Array): void {
    if (this.st === 'down') return;
    const d = this.delay;
    if (d === undefined) {
      this.deliver(msg);
      return;
    }
    const now = this.rep.opts.clock.now();
    let due = now + d.minMs + this.rep.opts.random!() * (d.maxMs - d.minMs);
    if (due < this.lastDue) due = this.lastDue;
    this.lastDue = due;
    this.dq.push(msg);
    this.dqDue.push(due);
    if (this.dq.length - this.dqHead === 1) this.arm();
  }

  /** The session drained after `send` returned false. */
  writable(): void {
    this.congested = false;
    this.queuedWhileCongested = 0;
    if (this.st === 'replaying') this.scheduleStep();
  }

  /** The session went down: drop everything queued for it. */
  stop(): void {
    this.reset();
    this.st = 'down';
  }

  // --- delivery --------------------------------------------------------------------------

  private deliver(msg: Uint8Array): void {
    this.forwarded++;
    if (this.st === 'replaying') {
      this.held.push(msg);
      return;
    }
    this.out.push(msg);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.onFlush);
    }
  }

  private flushOut(): void {
    if (this.out.length === 0 || this.st === 'down') return;
    const n = this.out.length;
    // The port copies the references into its own queue, so the batch array is reused.
    const ok = this.port.send(this.out);
    this.out.length = 0;
    if (this.congested || !ok) {
      this.congested = true;
      const before = this.queuedWhileCongested;
      this.queuedWhileCongested += n;
      // Once per congestion: the owner resets the session.
      if (before <= this.maxQueued && this.queuedWhileCongested > this.maxQueued) {
        this.events.overflow(this);
      }
    }
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.dqHead >= this.dq.length) return;
    this.timer = this.rep.opts.clock.at(this.dqDue[this.dqHead]!, this.onTimer);
  }

  private deliverDue(): void {
    this.timer = undefined;
    const now = this.rep.opts.clock.now();
    while (this.dqHead < this.dq.length && this.dqDue[this.dqHead]! <= now) {
      const m = this.dq[this.dqHead]!;
      this.dq[this.dqHead++] = EMPTY;
      this.deliver(m);
    }
    this.compact();
    this.arm();
  }

  private deliverAll(): void {
    while (this.dqHead < this.dq.length) this.deliver(this.dq[this.dqHead++]!);
    this.compact();
    this.timer?.cancel();
    this.timer = undefined;
  }

  private compact(): void {
    if (this.dqHead === this.dq.length) {
      this.dq.length = 0;
      this.dqDue.length = 0;
      this.dqHead = 0;
    } else if (this.dqHead > 1024 && this.dqHead * 2 > this.dq.length) {
      this.dq = this.dq.slice(this.dqHead);
      this.dqDue = this.dqDue.slice(this.dqHead);
      this.dqHead = 0;
    }
  }

  // --- replay ----------------------------------------------------------------------------

  private replay(snap: HistorySnapshot): HistoryReplay {
    return new HistoryReplay(snap, this.rep.ctx, this.rep.opts.replayChunk);
  }

  private start(job: ReplayJob): void {
    this.job = job;
    this.held = [];
    this.st = 'replaying';
    this.scheduleStep();
  }

  private scheduleStep(): void {
    if (this.stepQueued) return;
    this.stepQueued = true;
    this.rep.opts.yieldTo(this.onStep);
  }

  /** One chunk of the replay, or its end. */
  private step(): void {
    const job = this.job;
    if (this.st !== 'replaying' || !job || this.congested) return;
    if (!job.replay.done) {
      const msgs = job.replay.next();
      if (msgs.length > 0 && !this.port.send(msgs)) this.congested = true;
      if (!this.congested) this.scheduleStep();
      return;
    }
    // Written: End-of-RIB, BoRR's EoRR, then what arrived meanwhile, then live.
    this.replayedRoutes += job.replay.position;
    this.job = undefined;
    const tail: Uint8Array[] = [];
    for (const f of job.eor) tail.push(endOfRib(f));
    if (tail.length > 0 && !this.port.send(tail)) this.congested = true;
    if (job.refresh?.enhanced) {
      this.port.routeRefresh(job.refresh.family >>> 8, job.refresh.family & 0xff, 2);
    }
    const held = this.held;
    this.held = [];
    this.st = 'live';
    if (held.length > 0) {
      this.out = held;
      this.flushOut();
    }
    if (!job.refresh) this.events.caughtUp(this);
    const next = this.refreshQueue.shift();
    if (next && this.st === 'live') this.refresh(next.family, next.enhanced);
  }

  private reset(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.dq = [];
    this.dqDue = [];
    this.dqHead = 0;
    this.lastDue = -Infinity;
    this.out = [];
    this.held = [];
    this.job = undefined;
    this.refreshQueue.length = 0;
    this.congested = false;
    this.queuedWhileCongested = 0;
  }
}

const EMPTY = new Uint8Array(0);

/** The codec contexts of a session, from the hypervisor's side. */
export interface SessionContexts {
  /** How the peer encodes what it sends us. */
  readonly receive: CodecContext;
  /** How we encode what we send it. */
  readonly send: CodecContext;
}

/**
 * Why the neighbour's octets cannot be passed to a replica as they are, or a replica's
 * routes not be advertised to the neighbour, given what each session negotiated; undefined
 * when they can. The replica decodes with `replica.send` what the neighbour encoded with
 * `neighbour.receive`: 4-octet AS (RFC 6793) and ADD-PATH (RFC 7911) must agree, and the
 * replica must take messages as long as the neighbour may send (RFC 8654). What the replica
 * sends is re-encoded for the neighbour, but its ADD-PATH paths can only be advertised if
 * the neighbour session sends ADD-PATH for the same families. Both differ only when the
 * replica's OPEN differs from the router's: a configuration error of that replica.
 */
export function sessionMismatch(
  neighbour: SessionContexts,
  replica: SessionContexts,
): string | undefined {
  if (neighbour.receive.as4 !== replica.send.as4) {
    return `4-octet AS: the neighbour session ${neighbour.receive.as4 ? 'has' : 'lacks'} it, the replica session ${replica.send.as4 ? 'has' : 'lacks'} it`;
  }
  if (!sameSet(neighbour.receive.addPath, replica.send.addPath)) {
    return `ADD-PATH from the neighbour: ${families(neighbour.receive.addPath)} on its session, ${families(replica.send.addPath)} on the replica's`;
  }
  if (!sameSet(neighbour.send.addPath, replica.receive.addPath)) {
    return `ADD-PATH towards the neighbour: ${families(neighbour.send.addPath)} on its session, ${families(replica.receive.addPath)} on the replica's`;
  }
  if (neighbour.receive.extendedMessage && !replica.send.extendedMessage) {
    return 'extended messages: the neighbour may send up to 65535 octets, the replica takes 4096';
  }
  return undefined;
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function families(s: ReadonlySet<number>): string {
  if (s.size === 0) return 'none';
  return [...s].map((f) => `${f >>> 8}/${f & 0xff}`).join(', ');
}
