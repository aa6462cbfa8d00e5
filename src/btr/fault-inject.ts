// Fault injection for the bug-tolerant router (BTR paper §5.1: "bugs add/remove updates and
// change the next-hop attribute for a randomly-selected prefix, and have two parameters:
// (i) duration … (ii) interarrival time"; issue 5, "Fault injection"). A replica's outputs
// are corrupted on purpose, on the hypervisor's side of its sessions, so any
// implementation can be made buggy without touching it.
//
// - `BugSchedule`: pure. Episodes of a bug model: start-to-start inter-arrival times and
//   durations, exponential (a Poisson process of bugs, as in failure models) or fixed; a
//   kind per episode, uniform over the kinds asked for. Episodes may overlap.
// - `FaultInjector`: one per replica. Wraps the Connector the hypervisor uses to reach the
//   replica (`connector(base)`), so every session of the replica is a `FaultTransport`.
//   Over an injected clock it starts and ends the schedule's episodes on every session of
//   the replica open at the start of the episode.
// - `FaultTransport`: the UPDATEs the replica SENDS towards the hypervisor are framed,
//   decoded with the session's context (learnt from the two OPENs), altered by the active
//   episodes and re-encoded. It keeps the replica's true Adj-RIB-Out, so an episode's
//   start sends the corruption at once and its end sends the true state back (the bug is
//   "fixed"). Kinds: `add` announces a bogus prefix (attributes copied from a route the
//   replica holds), `suppress` withdraws a route the replica holds and drops its
//   re-announcements, `next-hop` gives a route held a bogus next hop (also in its
//   re-announcements). While an episode holds a prefix, UPDATEs of the replica about it
//   are taken apart: the other prefixes go on in the original message, the corrupted one
//   in a message of its own, and only when what the hypervisor sees changes.
// - The FIB (`FaultInjector.corruptFib`): the replica's FIB as the FIB voter observes it
//   (`RouterInstance.fibRoutes()`), altered by the same episodes as a buggy daemon would
//   have installed it — `add` a bogus prefix of the pool via a bogus gateway, `suppress` a
//   route removed, `next-hop` a route's gateways replaced by one bogus next hop. Each
//   episode picks its FIB target the first time it is applied and keeps it to its end.
// - Slowness: every message of the replica is held for a random time in [minMs, maxMs]
//   (order kept), as a daemon that falls behind.
// Kill and SIGSTOP are the instance's (`RouterInstance.kill`).
//
// Scope: IPv4 unicast routes in the UPDATE body (RFC 4271 §4.3), with or without ADD-PATH
// path ids; other families (MP_REACH_NLRI) pass unchanged and are never targets. A session
// that appears while an episode is active is left alone by that episode.

import type { Clock, TimerHandle } from '../lib/clock.js';
import { AFI, formatAddr, formatPrefix, parsePrefix, type Prefix } from '../lib/ip.js';
import { seededRandom } from '../lib/random.js';
import type { InstanceFibRoute } from './instance.js';
import {
  ForwardingTransport,
  type Connector,
  type Endpoint,
  type Listener,
  type Transport,
} from '../net/transport.js';
import {
  AS4_CONTEXT,
  ATTR,
  ATTR_DEFAULT_FLAGS,
  Framer,
  MSG,
  decodeMessage,
  encodeMessage,
  negotiateContexts,
  type CodecContext,
  type Nlri,
  type OpenMessage,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';

export { seededRandom };

export const BUG_KINDS = ['add', 'suppress', 'next-hop'] as const;
export type BugKind = (typeof BUG_KINDS)[number];

export interface BugModel {
  /** Mean time between the starts of two episodes (ms); the first starts one after arming. */
  readonly interArrivalMs: number;
  /** Mean duration of an episode (ms). */
  readonly durationMs: number;
  /** Default 'exponential'. */
  readonly distribution?: 'exponential' | 'fixed';
  /** Default all three, picked uniformly. */
  readonly kinds?: readonly BugKind[];
  /** No episode after this many (default unbounded). */
  readonly maxEpisodes?: number;
}

export interface BugEpisode {
  /** 1, 2, … in start order. */
  readonly id: number;
  readonly kind: BugKind;
  readonly start: number;
  readonly end: number;
}

/** The episodes of a bug model, in start order, from `startAt` on. Pure over `random`. */
export class BugSchedule {
  private t: number;
  private n = 0;
  private readonly kinds: readonly BugKind[];

  constructor(
    readonly model: BugModel,
    private readonly random: () => number,
    startAt: number,
  ) {
    if (!(model.interArrivalMs > 0) || !(model.durationMs > 0)) {
      throw new RangeError('bug model: interArrivalMs and durationMs must be positive');
    }
    this.kinds = model.kinds?.length ? model.kinds : BUG_KINDS;
    this.t = startAt;
  }

  next(): BugEpisode | undefined {
    if (this.model.maxEpisodes !== undefined && this.n >= this.model.maxEpisodes) return undefined;
    const start = this.t + this.sample(this.model.interArrivalMs);
    const end = start + this.sample(this.model.durationMs);
    const kind = this.kinds[Math.floor(this.random() * this.kinds.length)] ?? 'add';
    this.t = start;
    return { id: ++this.n, kind, start, end };
  }

  private sample(mean: number): number {
    if (this.model.distribution === 'fixed') return mean;
    return -mean * Math.log(1 - this.random());
  }
}

export interface FaultSpec {
  /** Seeds the schedule, the choice of targets and the slowness (independent streams). */
  readonly seed: number;
  readonly bugs?: BugModel;
  /** Hold each message of the replica for a uniform time in this range (ms). */
  readonly slow?: { readonly minMs: number; readonly maxMs: number };
  /** Corrupt only the sessions to these neighbours (addresses); default every session. */
  readonly neighbors?: readonly string[];
  /** Where `add` takes bogus prefixes (default 198.19.224.0/20, as /24s: inside the lab range). */
  readonly addPool?: { readonly prefix: string; readonly length: number };
  /** Where `next-hop` takes bogus next hops (default 198.19.253.0/24: inside the lab range, never announced by a test's neighbours). */
  readonly nextHopPool?: string;
}

export type FaultEvent =
  | {
      readonly type: 'bug-start';
      readonly replica: string;
      readonly neighbor: string;
      readonly episode: number;
      readonly kind: BugKind;
      readonly prefix: string;
      readonly pathId?: number;
      /** `next-hop`: the bogus next hop; `add`: the next hop the bogus route carries. */
      readonly nextHop?: string;
      readonly until: number;
      readonly at: number;
    }
  | {
      readonly type: 'bug-end';
      readonly replica: string;
      readonly neighbor: string;
      readonly episode: number;
      readonly kind: BugKind;
      readonly prefix: string;
      readonly at: number;
    }
  | {
      readonly type: 'bug-skipped';
      readonly replica: string;
      readonly neighbor: string;
      readonly episode: number;
      readonly kind: BugKind;
      readonly why: string;
      readonly at: number;
    };

export interface FaultDeps {
  readonly clock: Clock;
  readonly onEvent?: (e: FaultEvent) => void;
}

/** The faults of one replica: its bug schedule over all of its sessions, and slowness. */
export class FaultInjector {
  readonly targets: () => number;
  readonly delays: () => number;
  private readonly scheduleRandom: () => number;
  private readonly sessions = new Set<FaultTransport>();
  private schedule: BugSchedule | undefined;
  private timers = new Set<TimerHandle>();
  /** Episodes started and not yet ended. */
  readonly active = new Map<number, BugEpisode>();
  /** FIB targets of the active episodes (see the header). */
  private readonly fibBugs = new Map<number, FibBug | null>(); // null: skipped

  constructor(
    readonly replica: string,
    readonly spec: FaultSpec,
    readonly deps: FaultDeps,
  ) {
    this.scheduleRandom = seededRandom(spec.seed);
    this.targets = seededRandom(spec.seed ^ 0x5bd1e995);
    this.delays = seededRandom(spec.seed ^ 0x27d4eb2f);
  }

  /** `base` with every session wrapped; the neighbour is the address the hypervisor plays. */
  connector(base: Connector): Connector {
    return {
      connect: async (remote, local) =>
        this.wrap(await base.connect(remote, local), local?.address ?? remote.address),
      listen: (local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> =>
        base.listen(local, (t) => onAccept(this.wrap(t, local.address))),
    };
  }

  wrap(t: Transport, neighbor: string): Transport {
    if (this.spec.neighbors && !this.spec.neighbors.includes(neighbor)) {
      return this.spec.slow ? new FaultTransport(t, this, neighbor, false) : t;
    }
    const ft = new FaultTransport(t, this, neighbor, true);
    this.sessions.add(ft);
    ft.onClose(() => this.sessions.delete(ft));
    return ft;
  }

  /** Start the bug schedule now (its first episode comes one inter-arrival time later). */
  arm(): void {
    if (!this.spec.bugs || this.schedule) return;
    this.schedule = new BugSchedule(this.spec.bugs, this.scheduleRandom, this.deps.clock.now());
    this.armNext();
  }

  /** No new episodes; the active ones end now (their true state is sent back). */
  disarm(): void {
    for (const h of this.timers) h.cancel();
    this.timers.clear();
    this.schedule = undefined;
    for (const ep of [...this.active.values()]) this.end(ep);
  }

  /** @internal */
  emit(e: FaultEvent): void {
    this.deps.onEvent?.(e);
  }

  private after(at: number, fn: () => void): void {
    const h = this.deps.clock.at(at, () => {
      this.timers.delete(h);
      fn();
    });
    this.timers.add(h);
  }

  private armNext(): void {
    const ep = this.schedule?.next();
    if (!ep) return;
    this.after(ep.start, () => {
      this.active.set(ep.id, ep);
      for (const s of this.sessions) s.startBug(ep);
      this.after(ep.end, () => this.end(ep));
      this.armNext();
    });
  }

  private end(ep: BugEpisode): void {
    this.active.delete(ep.id);
    for (const s of this.sessions) s.endBug(ep);
    const fb = this.fibBugs.get(ep.id);
    this.fibBugs.delete(ep.id);
    if (fb) {
      const at = this.deps.clock.now();
      this.emit({
        type: 'bug-end',
        replica: this.replica,
        neighbor: FIB,
        episode: ep.id,
        kind: ep.kind,
        prefix: fb.prefix,
        at,
      });
    }
  }

  /** The replica's observed FIB with the active episodes applied (see the header). */
  corruptFib(routes: readonly InstanceFibRoute[]): InstanceFibRoute[] {
    if (this.active.size === 0) return [...routes];
    const table = new Map(routes.map((r) => [r.prefix, r.gateways]));
    for (const ep of this.active.values()) {
      let fb = this.fibBugs.get(ep.id);
      if (fb === undefined) this.fibBugs.set(ep.id, (fb = this.fibTarget(ep, table) ?? null));
      if (fb === null) continue;
      if (fb.kind === 'suppress') table.delete(fb.prefix);
      else if (fb.kind === 'add' || table.has(fb.prefix)) table.set(fb.prefix, [fb.gateway!]);
    }
    return [...table].map(([prefix, gateways]) => ({ prefix, gateways }));
  }

  private fibTarget(ep: BugEpisode, table: Map<string, readonly string[]>): FibBug | undefined {
    const at = this.deps.clock.now();
    const held = new Set([...this.fibBugs.values()].flatMap((b) => (b ? [b.prefix] : [])));
    let fb: FibBug | undefined;
    if (ep.kind === 'add') {
      const p = bogusPrefix(this, (k) => table.has(k) || held.has(k));
      if (p) fb = { kind: 'add', prefix: formatPrefix(p), gateway: formatAddr(bogusNextHop(this)) };
    } else {
      const free = [...table].filter(
        ([p, gws]) => gws.length > 0 && !held.has(p) && !p.includes(':'),
      );
      const pick = free[Math.floor(this.targets() * free.length)];
      if (pick) {
        fb =
          ep.kind === 'next-hop'
            ? { kind: 'next-hop', prefix: pick[0], gateway: formatAddr(bogusNextHop(this)) }
            : { kind: 'suppress', prefix: pick[0] };
      }
    }
    if (!fb) {
      const why =
        ep.kind === 'add'
          ? 'no free prefix in the pool for a bogus route'
          : 'the replica’s FIB holds no IPv4 route to corrupt';
      this.emit({
        type: 'bug-skipped',
        replica: this.replica,
        neighbor: FIB,
        episode: ep.id,
        kind: ep.kind,
        why,
        at,
      });
      return undefined;
    }
    this.emit({
      type: 'bug-start',
      replica: this.replica,
      neighbor: FIB,
      episode: ep.id,
      kind: ep.kind,
      prefix: fb.prefix,
      ...(fb.gateway ? { nextHop: fb.gateway } : {}),
      until: ep.end,
      at,
    });
    return fb;
  }
}

/** The `neighbor` of fault events about the replica's FIB. */
export const FIB = 'FIB';

/** What an episode does to the replica's FIB. */
interface FibBug {
  readonly kind: BugKind;
  readonly prefix: string;
  /** add, next-hop: the bogus gateway. */
  readonly gateway?: string;
}

/** One route of the replica's Adj-RIB-Out towards the neighbour (IPv4 unicast, body). */
interface Held {
  readonly nlri: Nlri;
  readonly attributes: readonly PathAttribute[];
}

/** An episode holding one route key of a session. */
interface Bug {
  readonly episode: BugEpisode;
  readonly nlri: Nlri;
  /** next-hop: the bogus next hop. */
  readonly nextHop?: Uint8Array;
  /** add: the bogus route's attributes. */
  readonly attributes?: readonly PathAttribute[];
  /** What the hypervisor was last sent for this key: attribute octets, or null (absent). */
  sent: string | null;
}

const routeKey = (n: Nlri): string =>
  n.pathId === undefined ? formatPrefix(n.prefix) : `${formatPrefix(n.prefix)}#${n.pathId}`;

/**
 * A replica's session as the hypervisor sees it, with the replica's outgoing messages
 * corrupted (active episodes) and delayed (slowness). Writes towards the replica pass.
 */
export class FaultTransport extends ForwardingTransport {
  private readonly framer = new Framer({ extendedMessage: true });
  private dataCb: ((chunk: Uint8Array) => void) | undefined;
  private readonly closeCbs: ((err?: Error) => void)[] = [];
  private closed: { err?: Error } | undefined;
  private ownOpen: OpenMessage | undefined;
  private peerOpen: OpenMessage | undefined;
  private ctx: CodecContext | undefined;
  private readonly table = new Map<string, Held>();
  private readonly bugs = new Map<string, Bug>();
  private readonly byEpisode = new Map<number, string>();
  private readonly queue: { due: number; bytes: Uint8Array }[] = [];
  private timer: TimerHandle | undefined;
  private paused = false;
  /** Messages rewritten, dropped or added by episodes (for tests and logs). */
  corrupted = 0;

  constructor(
    inner: Transport,
    private readonly injector: FaultInjector,
    readonly neighbor: string,
    private readonly corrupting: boolean,
  ) {
    super(inner);
    inner.onClose((err) => {
      this.closed = err ? { err } : {};
      if (this.queue.length === 0) this.fireClose();
    });
  }

  override write(bytes: Uint8Array): boolean {
    // Our OPEN (the hypervisor's, as the neighbour) is the first message it writes.
    if (!this.ownOpen && bytes.length >= 19 && bytes[18] === MSG.OPEN) {
      const d = decodeMessage(bytes, AS4_CONTEXT);
      if (d.ok && d.message.type === MSG.OPEN) this.ownOpen = d.message;
    }
    return this.inner.write(bytes);
  }
  override onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
    this.inner.onData((chunk) => this.fromReplica(chunk));
  }
  override onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb);
  }
  override pause(): void {
    this.paused = true;
    this.inner.pause();
  }
  override resume(): void {
    this.paused = false;
    this.inner.resume();
    this.pump();
  }
  override destroy(): void {
    this.queue.length = 0;
    this.inner.destroy();
  }

  // --- the replica's messages --------------------------------------------------------------

  private fromReplica(chunk: Uint8Array): void {
    this.framer.push(chunk);
    for (;;) {
      const m = this.framer.next();
      if (m === undefined) return;
      if (!(m instanceof Uint8Array)) {
        // A framing error: the session is broken whatever we do; let it end.
        this.inner.destroy();
        return;
      }
      const type = m[18];
      if (type === MSG.OPEN && !this.peerOpen) {
        const d = decodeMessage(m, AS4_CONTEXT);
        if (d.ok && d.message.type === MSG.OPEN) this.peerOpen = d.message;
      }
      if (type === MSG.UPDATE) this.update(m);
      else this.deliver(m.slice());
    }
  }

  private context(): CodecContext {
    if (this.ctx) return this.ctx;
    if (!this.ownOpen || !this.peerOpen) return AS4_CONTEXT;
    // What the replica sends: its OPEN is the local one of its session.
    this.ctx = negotiateContexts(this.peerOpen, this.ownOpen).send;
    return this.ctx;
  }

  private update(m: Uint8Array): void {
    const ctx = this.context();
    const d = decodeMessage(m, ctx);
    if (!d.ok || d.message.type !== MSG.UPDATE) return this.deliver(m.slice());
    const u = d.message;
    if (u.treatAsWithdraw) for (const n of u.nlri) this.table.delete(routeKey(n));
    else {
      for (const n of u.withdrawn) this.table.delete(routeKey(n));
      for (const n of u.nlri) this.table.set(routeKey(n), { nlri: n, attributes: u.attributes });
    }
    if (this.bugs.size === 0 || u.treatAsWithdraw) return this.deliver(m.slice());
    const held = (n: Nlri): boolean => this.bugs.has(routeKey(n));
    if (!u.withdrawn.some(held) && !u.nlri.some(held)) return this.deliver(m.slice());
    // Take the held prefixes out; the rest goes on as the replica sent it.
    const rest: UpdateMessage = {
      type: MSG.UPDATE,
      withdrawn: u.withdrawn.filter((n) => !held(n)),
      attributes: u.attributes,
      nlri: u.nlri.filter((n) => !held(n)),
    };
    const mp = u.attributes.some(
      (a) => a.code === ATTR.MP_REACH_NLRI || a.code === ATTR.MP_UNREACH_NLRI,
    );
    if (rest.withdrawn.length > 0 || rest.nlri.length > 0 || mp) {
      this.deliver(
        encodeMessage(rest.nlri.length > 0 || mp ? rest : { ...rest, attributes: [] }, ctx),
      );
    }
    this.corrupted++;
    for (const n of [...u.withdrawn, ...u.nlri]) {
      const bug = this.bugs.get(routeKey(n));
      if (bug) this.sync(bug);
    }
  }

  // --- episodes ----------------------------------------------------------------------------

  /** @internal An episode starts: pick this session's target and send the corruption. */
  startBug(ep: BugEpisode): void {
    if (!this.corrupting || this.closed) return;
    const skip = (why: string): void =>
      this.injector.emit({
        type: 'bug-skipped',
        replica: this.injector.replica,
        neighbor: this.neighbor,
        episode: ep.id,
        kind: ep.kind,
        why,
        at: this.injector.deps.clock.now(),
      });
    const free = [...this.table.values()].filter((h) => !this.bugs.has(routeKey(h.nlri)));
    const rnd = this.injector.targets;
    const pick = free[Math.floor(rnd() * free.length)];
    if (!pick) return skip('the replica holds no route towards this neighbour to corrupt');
    let bug: Bug;
    if (ep.kind === 'add') {
      const prefix = this.bogusPrefix();
      if (!prefix) return skip('no free prefix in the pool for a bogus announcement');
      bug = { episode: ep, nlri: { prefix }, attributes: pick.attributes, sent: null };
    } else if (ep.kind === 'next-hop') {
      const nh = bogusNextHop(this.injector);
      bug = { episode: ep, nlri: pick.nlri, nextHop: nh, sent: attrKey(pick.attributes) };
    } else bug = { episode: ep, nlri: pick.nlri, sent: attrKey(pick.attributes) };
    const key = routeKey(bug.nlri);
    this.bugs.set(key, bug);
    this.byEpisode.set(ep.id, key);
    const shown = this.corruptedAttributes(bug, this.table.get(key));
    const nh = shown?.find((a) => a.kind === 'next-hop');
    this.injector.emit({
      type: 'bug-start',
      replica: this.injector.replica,
      neighbor: this.neighbor,
      episode: ep.id,
      kind: ep.kind,
      prefix: formatPrefix(bug.nlri.prefix),
      ...(bug.nlri.pathId !== undefined ? { pathId: bug.nlri.pathId } : {}),
      ...(nh?.kind === 'next-hop' ? { nextHop: formatAddr(nh.nextHop) } : {}),
      until: ep.end,
      at: this.injector.deps.clock.now(),
    });
    this.sync(bug);
  }

  /** @internal An episode ends: send the true state of its key back. */
  endBug(ep: BugEpisode): void {
    const key = this.byEpisode.get(ep.id);
    if (key === undefined) return;
    this.byEpisode.delete(ep.id);
    const bug = this.bugs.get(key);
    this.bugs.delete(key);
    if (!bug) return;
    if (!this.closed) this.send(bug.nlri, this.table.get(key)?.attributes, bug.sent);
    this.injector.emit({
      type: 'bug-end',
      replica: this.injector.replica,
      neighbor: this.neighbor,
      episode: ep.id,
      kind: ep.kind,
      prefix: formatPrefix(bug.nlri.prefix),
      at: this.injector.deps.clock.now(),
    });
  }

  /** The attributes the hypervisor should see for a held key (undefined: absent). */
  private corruptedAttributes(
    bug: Bug,
    held: Held | undefined,
  ): readonly PathAttribute[] | undefined {
    switch (bug.episode.kind) {
      case 'suppress':
        return undefined;
      case 'add':
        return held?.attributes ?? bug.attributes;
      case 'next-hop': {
        if (!held || !bug.nextHop) return held?.attributes;
        const nextHop = bug.nextHop;
        const attrs = held.attributes.filter((a) => a.kind !== 'next-hop');
        const nh: PathAttribute = {
          kind: 'next-hop',
          code: ATTR.NEXT_HOP,
          flags: ATTR_DEFAULT_FLAGS[ATTR.NEXT_HOP] ?? 0x40,
          nextHop,
        };
        return [...attrs, nh].sort((a, b) => a.code - b.code);
      }
    }
  }

  private sync(bug: Bug): void {
    const shown = this.corruptedAttributes(bug, this.table.get(routeKey(bug.nlri)));
    bug.sent = this.send(bug.nlri, shown, bug.sent);
  }

  /** Announce or withdraw one key unless the hypervisor already has that; returns what it has. */
  private send(
    nlri: Nlri,
    attributes: readonly PathAttribute[] | undefined,
    sent: string | null,
  ): string | null {
    const now = attributes ? attrKey(attributes) : null;
    if (now === sent) return sent;
    const u: UpdateMessage = attributes
      ? { type: MSG.UPDATE, withdrawn: [], attributes, nlri: [nlri] }
      : { type: MSG.UPDATE, withdrawn: [nlri], attributes: [], nlri: [] };
    this.corrupted++;
    this.deliver(encodeMessage(u, this.context()));
    return now;
  }

  private bogusPrefix(): Prefix | undefined {
    return bogusPrefix(this.injector, (key) => this.table.has(key) || this.bugs.has(key));
  }

  // --- delivery (slowness) -----------------------------------------------------------------

  private deliver(bytes: Uint8Array): void {
    const slow = this.injector.spec.slow;
    const clock = this.injector.deps.clock;
    if (!slow && this.queue.length === 0 && !this.paused) {
      this.dataCb?.(bytes);
      return;
    }
    const delay = slow ? slow.minMs + this.injector.delays() * (slow.maxMs - slow.minMs) : 0;
    const last = this.queue[this.queue.length - 1]?.due ?? 0;
    this.queue.push({ due: Math.max(last, clock.now() + delay), bytes });
    this.pump();
  }

  private pump(): void {
    const clock = this.injector.deps.clock;
    this.timer?.cancel();
    this.timer = undefined;
    while (!this.paused && this.queue.length > 0 && this.queue[0]!.due <= clock.now()) {
      this.dataCb?.(this.queue.shift()!.bytes);
    }
    const head = this.queue[0];
    if (head && !this.paused) this.timer = clock.at(head.due, () => this.pump());
    if (this.queue.length === 0 && this.closed) this.fireClose();
  }

  private fireClose(): void {
    const cbs = this.closeCbs.splice(0);
    const err = this.closed?.err;
    for (const cb of cbs) cb(err);
  }
}

/** A prefix of the injector's `addPool` for which `taken(formatted)` is false, if any. */
function bogusPrefix(inj: FaultInjector, taken: (key: string) => boolean): Prefix | undefined {
  const spec = inj.spec.addPool ?? { prefix: '198.19.224.0/20', length: 24 };
  const pool = parsePrefix(spec.prefix);
  if (!pool || pool.afi !== AFI.IPv4 || spec.length < pool.len || spec.length > 32) {
    throw new Error(`addPool ${spec.prefix} /${spec.length}: an IPv4 prefix and a longer length`);
  }
  const n = 2 ** Math.min(16, spec.length - pool.len);
  const first = Math.floor(inj.targets() * n);
  for (let i = 0; i < n; i++) {
    const addr = Uint8Array.from(pool.addr);
    const step = 2 ** (32 - spec.length);
    writeU32(addr, (readU32(addr) + ((first + i) % n) * step) >>> 0);
    const prefix: Prefix = { afi: AFI.IPv4, addr, len: spec.length };
    if (!taken(formatPrefix(prefix))) return prefix;
  }
  return undefined;
}

/** A host address of the injector's `nextHopPool`. */
function bogusNextHop(inj: FaultInjector): Uint8Array {
  const pool = parsePrefix(inj.spec.nextHopPool ?? '198.19.253.0/24');
  if (!pool || pool.afi !== AFI.IPv4) throw new Error('nextHopPool: an IPv4 prefix');
  const nh = Uint8Array.from(pool.addr);
  const hosts = 2 ** (32 - pool.len);
  const host = hosts <= 2 ? 0 : 1 + Math.floor(inj.targets() * (hosts - 2));
  writeU32(nh, (readU32(nh) + host) >>> 0);
  return nh;
}

/** Attributes as comparable text: an UPDATE carrying only them, one char per octet. */
function attrKey(attributes: readonly PathAttribute[]): string {
  const b = encodeMessage({ type: MSG.UPDATE, withdrawn: [], attributes, nlri: [] }, AS4_CONTEXT);
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

const readU32 = (b: Uint8Array): number =>
  ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;

function writeU32(b: Uint8Array, v: number): void {
  b[0] = v >>> 24;
  b[1] = (v >>> 16) & 0xff;
  b[2] = (v >>> 8) & 0xff;
  b[3] = v & 0xff;
}
