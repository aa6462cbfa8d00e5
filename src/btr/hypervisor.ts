// The router hypervisor's session side (BTR paper §3.1, §4.1, §4.3; ARCHITECTURE.md
// "Replicator", "Session bootstrap"): the one real BGP session per neighbour, the
// replication of what the neighbour sends to every replica, the bootstrap of replicas from
// history, and the update vote on what the replicas send back. All I/O is injected: a
// Connector for the router's side (kernel TCP in production, a MemoryNetwork in tests), one
// Connector per replica (its namespace), a Clock, a random source and the event-loop yield.
// Process management (start/kill/restart of replica daemons) and configuration translation
// are not here; the fault events are what they act on.
//
// Per configured neighbour:
// - One speaker/session Peer owns the real session: its OPEN is the router's (configured
//   ASN, router ID, capabilities; RFC 4271 §4.2), it answers KEEPALIVEs, and it is the
//   only thing the neighbour ever talks to (§3.1: replication is transparent).
// - While that session is Established there is one *incarnation*: a Replicator (history +
//   one feed per replica, replicator.ts), an UpdateVote (update-vote.ts) and the replica
//   channels (replica-channel.ts). Every UPDATE from the neighbour goes, as octets, to the
//   history and to every feed, in order. When the session goes down, the history goes with
//   it (RFC 4271 §9: the neighbour's routes are gone), the replicas' sessions to it are
//   closed with a Cease, and the next session starts afresh — each replica then gets the
//   neighbour's new OPEN.
// - The voter's decisions are flushed to the neighbour once per turn (microtask), packed.
//   End-of-RIB goes to the neighbour once a majority of replicas sent theirs.
// - ROUTE-REFRESH from the neighbour (RFC 2918) asks for the router's Adj-RIB-Out: it is
//   answered here from the voted output (bracketed by BoRR/EoRR with enhanced route
//   refresh, RFC 7313), not forwarded — the replicas would re-send what the voter has
//   already output, and the neighbour would get nothing. BoRR/EoRR from the neighbour are
//   answers to a refresh we never ask for: ignored. ROUTE-REFRESH from a replica is
//   answered from the history (replicator.ts) and never reaches the neighbour.
// - KEEPALIVEs and NOTIFICATIONs of replica sessions never reach the neighbour.

import type { Clock } from '../lib/clock.js';
import type { LogFields, LogLevel } from '../lib/log.js';
import type { Negotiated, PeerConfig } from '../fsm/index.js';
import type { Connector, Endpoint, Listener, Transport } from '../net/transport.js';
import { Peer, SessionListener, type PeerEvents } from '../speaker/session/index.js';
import {
  ERR,
  ERR_CEASE,
  MSG,
  addPathKey,
  type Capability,
  type UpdateMessage,
} from '../wire/index.js';
import type { CanonicalOptions } from './canonical.js';
import {
  ReplicaChannel,
  type ChannelHost,
  type ChannelSettings,
  type HypervisorEvent,
  type NeighborIncarnation,
  type ReplicaSpec,
} from './replica-channel.js';
import { Replicator } from './replicator.js';
import { UpdateVote } from './update-vote.js';
import { endOfRib, type FamilyKey } from './update-writer.js';
import type { Strategy, VoteKey, VoterEvent } from './voter.js';
import type { PassThroughProbe } from './pass-through.js';

export type { HypervisorEvent, ReplicaSpec } from './replica-channel.js';

export interface NeighborSpec {
  /** Name in events and logs; default the address. */
  readonly name?: string;
  readonly address: string;
  /** Default 179. */
  readonly port?: number;
  /** The neighbour's AS. */
  readonly asn: number;
  /** The router's address on this session (source of our connections). */
  readonly localAddress?: string;
  /** Only accept the neighbour's connection (through `listen`), never connect. */
  readonly passive?: boolean;
  /** Capabilities of the router's OPEN; default the FSM's (IPv4 unicast, route refresh, 4-octet AS). */
  readonly capabilities?: readonly Capability[];
  /** Proposed hold time (s); default 90. */
  readonly holdTime?: number;
  /** Other FSM settings of the real session (timers, delay-open, …). */
  readonly fsm?: Partial<PeerConfig>;
}

export interface HypervisorConfig {
  readonly router: { readonly asn: number; readonly routerId: string };
  readonly neighbors: readonly NeighborSpec[];
  readonly replicas: readonly ReplicaSpec[];
  readonly voting: {
    readonly strategy: Strategy;
    /** T (ms): an output unchanged this long is steady (§4.2). */
    readonly steadyMs: number;
    readonly canonical?: CanonicalOptions;
  };
  /** Where the router accepts neighbours' connections (the real side). Default: nowhere. */
  readonly listen?: readonly Endpoint[];
  /** A returning replica votes once quiet this long after its replay (default 2000 ms), or after maxMs (default 30000). */
  readonly catchUp?: { readonly quietMs?: number; readonly maxMs?: number };
  /** Timers of replica sessions in connect mode (s): default 5 and 1. */
  readonly replicaSession?: { readonly connectRetryTime?: number; readonly idleHoldTime?: number };
  /** End-of-RIB after a history replay: where the neighbour sent its own (default), or always. */
  readonly endOfRib?: 'as-neighbour' | 'always';
  /** Live messages queued behind a congested replica session before it is reset (default 100000). */
  readonly maxQueued?: number;
}

export interface HypervisorDeps {
  /** The router's side: connections to and from the real neighbours. */
  readonly connector: Connector;
  readonly clock: Clock;
  /** Uniform in [0, 1): update-timing diversity. Needed when a replica has a delay. */
  readonly random?: () => number;
  /** Runs a function on a later turn of the event loop; default setImmediate. */
  readonly yieldTo?: (fn: () => void) => void;
  readonly onEvent?: (e: HypervisorEvent | VoteEvent) => void;
  readonly log?: (level: LogLevel, msg: string, fields: LogFields) => void;
  /** Pass-through timing (pass-through.ts): neighbours' UPDATEs in, voted UPDATEs out. */
  readonly passThrough?: PassThroughProbe;
}

/** A voter event of a neighbour's update vote (faults name replica and key). */
export interface VoteEvent {
  readonly type: 'vote';
  readonly neighbor: string;
  readonly event: VoterEvent;
}

export interface NeighborStatus {
  readonly neighbor: string;
  readonly state: string;
  readonly routes: number;
  readonly attributeSets: number;
  readonly output: number;
  readonly disagreements: number;
  readonly sentUpdates: number;
  readonly replicas: ReturnType<ReplicaChannel['status']>[];
}

export class Hypervisor {
  private readonly neighbors: NeighborSession[];
  private readonly listener: SessionListener;
  private readonly listeners: Listener[] = [];
  private started = false;

  constructor(
    readonly config: HypervisorConfig,
    readonly deps: HypervisorDeps,
  ) {
    const n = config.replicas.length;
    if (n < 1 || n > 31) throw new RangeError(`${n} replicas: from 1 to 31 are supported`);
    const neighbors = new Set(config.neighbors.map((x) => x.name ?? x.address));
    if (neighbors.size !== config.neighbors.length) throw new Error('two neighbours with one name');
    const names = new Set<string>();
    for (const r of config.replicas) {
      if (names.has(r.name)) throw new Error(`two replicas named ${r.name}`);
      names.add(r.name);
      if (r.delay && !deps.random)
        throw new Error(`replica ${r.name} has a delay: give deps.random`);
      if (r.mode === 'connect' && !r.endpoint) {
        throw new Error(`replica ${r.name}: connect mode needs its endpoint`);
      }
    }
    this.listener = new SessionListener({
      connector: deps.connector,
      log: (level, msg, fields) => deps.log?.(level, msg, fields),
    });
    this.neighbors = config.neighbors.map((n) => new NeighborSession(n, this));
    for (const n of this.neighbors) this.listener.addPeer(n.peer);
  }

  /** Listen (router side and replica namespaces) and start every neighbour session. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.config.listen?.length) await this.listener.listen(this.config.listen);
    for (const n of this.neighbors) {
      for (const ch of n.channels) {
        if (ch.mode !== 'accept') continue;
        const l = await ch.spec.connector.listen(n.endpoint, (t) => ch.incoming(t));
        this.listeners.push(l);
      }
    }
    for (const n of this.neighbors) n.peer.start();
  }

  /** Cease to every neighbour and replica session, and stop listening. */
  async stop(reason = 'hypervisor shutdown'): Promise<void> {
    for (const n of this.neighbors) n.shutdown(reason);
    await this.listener.close();
    await Promise.all(this.listeners.splice(0).map((l) => l.close()));
  }

  /**
   * A replica's connection to `neighbor` accepted somewhere else (e.g. one transparent
   * proxy listener that tells replicas apart by interface).
   */
  attachReplica(replica: string, neighbor: string, t: Transport): void {
    const n = this.neighbors.find((x) => x.name === neighbor);
    const ch = n?.channels.find((c) => c.name === replica);
    if (!ch) {
      t.destroy();
      throw new Error(`no replica ${replica} for neighbour ${neighbor}`);
    }
    ch.incoming(t);
  }

  /** The real session of a neighbour (for tests, status and metrics). */
  neighborPeer(neighbor: string): Peer | undefined {
    return this.neighbors.find((x) => x.name === neighbor)?.peer;
  }

  /** The current incarnation of a neighbour session (while Established). */
  incarnation(neighbor: string): NeighborIncarnation | undefined {
    return this.neighbors.find((x) => x.name === neighbor)?.inc;
  }

  status(): NeighborStatus[] {
    return this.neighbors.map((n) => n.status());
  }

  /** @internal */
  emit(e: HypervisorEvent | VoteEvent): void {
    this.deps.onEvent?.(e);
  }

  /** @internal */
  log(level: LogLevel, msg: string, fields: LogFields): void {
    this.deps.log?.(level, msg, fields);
  }
}

/** One configured neighbour: its real session and, while it is up, its incarnation. */
class NeighborSession implements ChannelHost {
  readonly name: string;
  readonly peer: Peer;
  readonly endpoint: Endpoint;
  readonly channels: ReplicaChannel[];
  inc: NeighborIncarnation | undefined;
  private lastRaw: Uint8Array | undefined;
  private flushQueued = false;
  private readonly onFlush = (): void => {
    this.flushQueued = false;
    this.flushOutput();
  };

  constructor(
    readonly spec: NeighborSpec,
    private readonly hv: Hypervisor,
  ) {
    this.name = spec.name ?? spec.address;
    this.endpoint = { address: spec.address, port: spec.port ?? 179 };
    const cfg = hv.config;
    this.peer = new Peer(
      {
        name: this.name,
        remote: this.endpoint,
        ...(spec.localAddress ? { local: { address: spec.localAddress } } : {}),
        fsm: {
          ...spec.fsm,
          localAs: cfg.router.asn,
          peerAs: spec.asn,
          bgpId: cfg.router.routerId,
          ...(spec.capabilities ? { capabilities: spec.capabilities } : {}),
          ...(spec.holdTime !== undefined ? { holdTime: spec.holdTime } : {}),
          ...(spec.passive !== undefined ? { passive: spec.passive } : {}),
        },
      },
      { connector: hv.deps.connector, clock: hv.deps.clock, events: this.events() },
    );
    this.channels = cfg.replicas.map((r) => new ReplicaChannel(r, this));
  }

  // --- ChannelHost ---------------------------------------------------------------------

  get neighborName(): string {
    return this.name;
  }

  get neighborEndpoint(): Endpoint {
    return this.endpoint;
  }

  get routerAsn(): number {
    return this.hv.config.router.asn;
  }

  get clock(): Clock {
    return this.hv.deps.clock;
  }

  get settings(): ChannelSettings {
    const c = this.hv.config;
    return {
      quietMs: c.catchUp?.quietMs ?? 2000,
      maxCatchUpMs: c.catchUp?.maxMs ?? 30000,
      connectRetryTime: c.replicaSession?.connectRetryTime ?? 5,
      idleHoldTime: c.replicaSession?.idleHoldTime ?? 1,
    };
  }

  emit(e: HypervisorEvent): void {
    this.hv.emit(e);
  }

  log(level: LogLevel, msg: string, fields: LogFields): void {
    this.hv.log(level, msg, { neighbor: this.name, ...fields });
  }

  sendEndOfRib(family: FamilyKey): void {
    this.flushOutput();
    if (this.peer.state === 'Established') this.peer.sendUpdates([endOfRib(family)]);
  }

  // --- the real session ------------------------------------------------------------------

  private events(): Partial<PeerEvents> {
    return {
      message: (_p, bytes, local) => {
        // The octets of the UPDATE the `update` event is about to report (same job).
        if (!local && bytes[18] === MSG.UPDATE) this.lastRaw = bytes;
      },
      established: (_p, n) => this.up(n),
      update: (_p, u) => this.update(u),
      routeRefresh: (_p, m) => {
        if (m.subtype === 0) this.answerRefresh(addPathKey(m.afi, m.safi));
      },
      down: (_p, reason, notification) => {
        // Replicas get the neighbour's own Cease subcode, if it sent one.
        const mirrored =
          notification && !notification.sent && notification.code === ERR.CEASE
            ? notification.subcode
            : ERR_CEASE.ADMINISTRATIVE_RESET;
        this.down(reason, mirrored);
      },
      log: (_p, level, msg, fields) => this.hv.log(level, msg, fields),
    };
  }

  private up(n: Negotiated): void {
    this.teardown('new session');
    const clock = this.hv.deps.clock;
    const cfg = this.hv.config;
    const families = n.families.map(([afi, safi]) => addPathKey(afi, safi));
    const probe = this.hv.deps.passThrough;
    const replicator = new Replicator(n.receive, families, {
      clock,
      ...(this.hv.deps.random ? { random: this.hv.deps.random } : {}),
      yieldTo: this.hv.deps.yieldTo ?? ((fn) => void setImmediate(fn)),
      endOfRib: cfg.endOfRib ?? 'as-neighbour',
      ...(cfg.maxQueued !== undefined ? { maxQueued: cfg.maxQueued } : {}),
    });
    const vote = new UpdateVote({
      strategy: cfg.voting.strategy,
      clock,
      steadyMs: cfg.voting.steadyMs,
      send: n.send,
      families,
      replicas: cfg.replicas.length,
      maxReplicas: Math.min(31, Math.max(8, cfg.replicas.length)),
      ...(cfg.voting.canonical ? { canonical: cfg.voting.canonical } : {}),
      onEvent: (event) => this.hv.emit({ type: 'vote', neighbor: this.name, event }),
      onDecision: () => {
        if (this.flushQueued) return;
        this.flushQueued = true;
        queueMicrotask(this.onFlush);
      },
      ...(probe ? { onSent: (key: VoteKey) => probe.output('update', key, clock.now()) } : {}),
    });
    const inc: NeighborIncarnation = {
      negotiated: n,
      families,
      replicator,
      vote,
      since: clock.now(),
    };
    this.inc = inc;
    this.hv.emit({ type: 'neighbor-up', neighbor: this.name, at: clock.now() });
    for (const ch of this.channels) ch.attach(inc);
  }

  private update(u: UpdateMessage): void {
    const raw = this.lastRaw;
    this.lastRaw = undefined;
    if (!this.inc || !raw) return;
    this.hv.deps.passThrough?.arrived(u, this.hv.deps.clock.now());
    this.inc.replicator.update(raw, u);
  }

  private down(reason: string, subcode: number): void {
    if (!this.inc) return;
    this.teardown(reason, subcode);
    this.hv.emit({
      type: 'neighbor-down',
      neighbor: this.name,
      reason,
      at: this.hv.deps.clock.now(),
    });
  }

  private teardown(reason: string, subcode: number = ERR_CEASE.ADMINISTRATIVE_RESET): void {
    const inc = this.inc;
    if (!inc) return;
    this.inc = undefined;
    for (const ch of this.channels) ch.detach(`neighbour session down: ${reason}`, subcode);
    inc.replicator.stop();
    inc.vote.dispose();
  }

  /** The hypervisor stops: Cease to the neighbour and every replica. */
  shutdown(reason: string): void {
    this.teardown(reason, ERR_CEASE.ADMINISTRATIVE_SHUTDOWN);
    for (const ch of this.channels) ch.dropHeld();
    this.peer.stop(reason, { subcode: ERR_CEASE.ADMINISTRATIVE_SHUTDOWN });
  }

  /** Voted decisions since the last flush, to the neighbour. */
  private flushOutput(): void {
    const inc = this.inc;
    if (!inc || inc.vote.pending === 0) return;
    const msgs = inc.vote.take();
    if (msgs.length > 0 && this.peer.state === 'Established') this.peer.sendUpdates(msgs);
  }

  /** ROUTE-REFRESH from the neighbour: our voted Adj-RIB-Out for the family, again. */
  private answerRefresh(family: FamilyKey): void {
    const inc = this.inc;
    if (!inc || !inc.families.includes(family)) return;
    this.flushOutput();
    const n = inc.negotiated;
    const ours = n.localOpen.params.some(
      (p) => 'capabilities' in p && p.capabilities.some((c) => c.kind === 'enhanced-route-refresh'),
    );
    const enhanced = ours && n.enhancedRouteRefresh;
    const afi = family >>> 8;
    const safi = family & 0xff;
    if (enhanced) this.peer.sendRouteRefresh(afi, safi, 1);
    const msgs = inc.vote.table(family);
    if (msgs.length > 0) this.peer.sendUpdates(msgs);
    if (enhanced) this.peer.sendRouteRefresh(afi, safi, 2);
    this.log('info', 'ROUTE-REFRESH from the neighbour answered from the voted output', {
      afi,
      safi,
      updates: msgs.length,
    });
  }

  status(): NeighborStatus {
    const inc = this.inc;
    const h = inc?.replicator.history.stats();
    const v = inc?.vote.voter.stats();
    return {
      neighbor: this.name,
      state: this.peer.state,
      routes: h?.routes ?? 0,
      attributeSets: h?.attributeSets ?? 0,
      output: inc ? count(inc.vote.voter.outputs()) : 0,
      disagreements: v?.disagreements ?? 0,
      sentUpdates: inc?.vote.stats().sentUpdates ?? 0,
      replicas: this.channels.map((c) => c.status()),
    };
  }
}

function count(it: Iterable<unknown>): number {
  let n = 0;
  for (const _ of it) n++;
  return n;
}
