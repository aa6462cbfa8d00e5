// One replica's session with one neighbour, as the hypervisor plays that neighbour (BTR
// paper §4.1 "Socket-based communications" and "Bootstrapping new connections"; §4.3:
// "the hypervisor simply needs to observe the first instance starting a session (an OPEN
// message followed by a KEEPALIVE) and subsequent instances simply get the two received
// messages replayed").
//
// The session is an ordinary speaker/session Peer whose OPEN is the neighbour's: its AS,
// BGP Identifier, hold time and capabilities are taken from the OPEN the real neighbour
// sent, so the replica negotiates what the router negotiated (RFC 4271 §4.2, RFC 5492).
// The Peer runs the FSM, frames and decodes, answers KEEPALIVEs and keeps the hold timer:
// nothing of this session reaches the neighbour. A new Peer is made for every neighbour
// session (the neighbour's OPEN may change) and, with replicas that connect to us, for
// every connection (a replica that reconnects has restarted: its old session is dead).
//
// Modes. 'accept': the replica connects to the neighbour's address inside its namespace
// and the hypervisor answers there (the paper's transparent proxying); a connection that
// arrives before the neighbour session is up (or before this replica's staggered start) is
// held, unread, until then. 'connect': the hypervisor connects to the replica from the
// neighbour's address, as the paper's virtd does, and retries as the FSM says.
//
// When the session is Established: the session contexts are checked against the neighbour
// session's (replicator.ts `sessionMismatch`); the feed replays the history and goes live;
// the replica's UPDATEs go to the neighbour's update vote. Voter membership (voter.ts
// "Membership"): the replicas configured when the neighbour session comes up vote from the
// start (a silent one counts as "withdraw everything" and is outvoted); a replica whose
// session closes is removed, reported as a fault, and when it comes back it is added as
// non-voting, caught up from the history, and made voting once it has been quiet for
// `quietMs` after the replay (or `maxMs` at the latest) — so a restart changes no output.
// A NOTIFICATION from the replica, a closed connection, a hold-timer expiry, a session
// that cannot be served, or a replica too slow to keep up: each is one `replica-fault`.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { LogFields, LogLevel } from '../lib/log.js';
import type { Negotiated } from '../fsm/index.js';
import type { Connector, Endpoint, Transport } from '../net/transport.js';
import { Peer, type PeerEvents } from '../speaker/session/index.js';
import {
  ERR_CEASE,
  MSG,
  addPathKey,
  openAsn,
  openCapabilities,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../wire/index.js';
import {
  sessionMismatch,
  type DelayRange,
  type FeedEvents,
  type FeedPort,
  type ReplicaFeed,
  type Replicator,
} from './replicator.js';
import type { UpdateVote } from './update-vote.js';
import type { FamilyKey } from './update-writer.js';
import type { ReplicaId } from './voter.js';

export interface ReplicaSpec {
  readonly name: string;
  /** The replica's namespace: the hypervisor listens (accept) or connects (connect) in it. */
  readonly connector: Connector;
  /** Default 'accept'. */
  readonly mode?: 'accept' | 'connect';
  /** connect mode: where the replica accepts BGP connections (port default 179). */
  readonly endpoint?: Endpoint;
  /** Connection diversity (§2.2): start this replica's sessions this long after the neighbour's. */
  readonly startDelayMs?: number;
  /** Update-timing diversity: delay each neighbour message by a random time in this range. */
  readonly delay?: DelayRange;
}

export type HypervisorEvent =
  | { readonly type: 'neighbor-up'; readonly neighbor: string; readonly at: number }
  | {
      readonly type: 'neighbor-down';
      readonly neighbor: string;
      readonly reason: string;
      readonly at: number;
    }
  | {
      readonly type: 'replica-up';
      readonly replica: string;
      readonly neighbor: string;
      /** Routes in the history the replica is being caught up from. */
      readonly history: number;
      readonly at: number;
    }
  | {
      readonly type: 'replica-caught-up';
      readonly replica: string;
      readonly neighbor: string;
      readonly at: number;
    }
  | {
      readonly type: 'replica-voting';
      readonly replica: string;
      readonly neighbor: string;
      readonly why: 'quiet' | 'timeout';
      readonly at: number;
    }
  | {
      readonly type: 'replica-fault';
      readonly replica: string;
      readonly neighbor: string;
      readonly reason: string;
      /** The NOTIFICATION that ended the session, and who sent it. */
      readonly notification?: {
        readonly code: number;
        readonly subcode: number;
        readonly sent: boolean;
      };
      readonly at: number;
    };

/** A neighbour session as it stands (one per time the real session is Established). */
export interface NeighborIncarnation {
  readonly negotiated: Negotiated;
  readonly families: readonly FamilyKey[];
  readonly replicator: Replicator;
  readonly vote: UpdateVote;
  readonly since: number;
}

/** What a channel needs from its neighbour session and the hypervisor. */
export interface ChannelHost {
  readonly neighborName: string;
  readonly neighborEndpoint: Endpoint;
  readonly routerAsn: number;
  readonly clock: Clock;
  readonly settings: ChannelSettings;
  emit(e: HypervisorEvent): void;
  log(level: LogLevel, msg: string, fields: LogFields): void;
  /** A majority of replicas sent End-of-RIB for `family`: send the neighbour ours. */
  sendEndOfRib(family: FamilyKey): void;
}

export interface ChannelSettings {
  readonly quietMs: number;
  readonly maxCatchUpMs: number;
  readonly connectRetryTime: number;
  readonly idleHoldTime: number;
}

type ChannelState = 'disabled' | 'waiting' | 'up';

export class ReplicaChannel implements FeedPort, FeedEvents {
  readonly name: string;
  private inc: NeighborIncarnation | undefined;
  private state: ChannelState = 'disabled';
  private peer: Peer | undefined;
  /** The replica session's negotiated parameters while Established. */
  private session: Negotiated | undefined;
  private feed: ReplicaFeed | undefined;
  private held: Transport | undefined;
  /** Slot in the voter, while a member. */
  private slot: ReplicaId | undefined;
  private voting = false;
  private startTimer: TimerHandle | undefined;
  private promoteTimer: TimerHandle | undefined;
  private quietUntil = 0;
  private promoteBy = 0;
  private faults = 0;

  constructor(
    readonly spec: ReplicaSpec,
    private readonly host: ChannelHost,
  ) {
    this.name = spec.name;
  }

  get mode(): 'accept' | 'connect' {
    return this.spec.mode ?? 'accept';
  }

  status(): {
    replica: string;
    state: string;
    voting: boolean;
    slot: number | null;
    faults: number;
    feed: ReturnType<ReplicaFeed['stats']> | null;
  } {
    return {
      replica: this.name,
      state: this.peer ? this.peer.state : this.held ? 'held' : this.state,
      voting: this.voting,
      slot: this.slot ?? null,
      faults: this.faults,
      feed: this.feed?.stats() ?? null,
    };
  }

  // --- neighbour session lifecycle -------------------------------------------------------

  /**
   * The neighbour session is up: join its vote (voting, with empty output) and start the
   * replica's session after its start delay.
   */
  attach(inc: NeighborIncarnation): void {
    this.inc = inc;
    // Voting at once, silent until its session is up (voter.ts "Membership").
    this.slot = inc.vote.voter.addReplica(this.name, { silent: true });
    this.voting = true;
    this.feed = inc.replicator.addFeed(this.name, this, this, this.spec.delay);
    this.state = 'waiting';
    const delay = this.spec.startDelayMs ?? 0;
    if (delay > 0) {
      this.startTimer = this.host.clock.at(this.host.clock.now() + delay, () => {
        this.startTimer = undefined;
        this.enable();
      });
    } else this.enable();
  }

  /**
   * The neighbour session ended (or the hypervisor stops): end the replica's session with
   * a Cease (`subcode`: the neighbour's own Cease subcode when it sent one).
   */
  detach(reason: string, subcode: number = ERR_CEASE.ADMINISTRATIVE_RESET): void {
    this.startTimer?.cancel();
    this.startTimer = undefined;
    this.cancelPromotion();
    this.stopPeer(reason, subcode);
    this.session = undefined;
    this.feed = undefined; // the replicator stops its feeds itself
    this.slot = undefined;
    this.voting = false;
    this.inc = undefined;
    this.state = 'disabled';
  }

  /** Close a connection held for later (the hypervisor stops). */
  dropHeld(): void {
    this.held?.destroy();
    this.held = undefined;
  }

  private enable(): void {
    this.state = 'up';
    if (this.mode === 'connect') {
      this.newPeer(undefined);
      return;
    }
    const t = this.held;
    this.held = undefined;
    if (t) this.accept(t);
  }

  // --- connections -----------------------------------------------------------------------

  /** A connection from the replica to the neighbour's address (accept mode). */
  incoming(t: Transport): void {
    if (this.mode === 'connect') {
      // We connect to this replica; a connection of its own would only collide.
      this.host.log('info', 'connection from a replica in connect mode refused', {
        replica: this.name,
        neighbor: this.host.neighborName,
      });
      t.destroy();
      return;
    }
    if (this.state !== 'up') {
      // Not serving yet: hold it (the newest one), unread, until the session may start.
      this.held?.destroy();
      this.held = t;
      t.onClose(() => {
        if (this.held === t) this.held = undefined;
      });
      this.host.log('debug', 'replica connection held until its session may start', {
        replica: this.name,
        neighbor: this.host.neighborName,
      });
      return;
    }
    this.accept(t);
  }

  private accept(t: Transport): void {
    if (this.peer && this.peer.state !== 'Idle') {
      // A replica that connects again has restarted: its previous session is gone.
      this.fault('the replica opened a new connection; the previous session is dropped');
      this.stopPeer('replaced by a new connection', ERR_CEASE.CONNECTION_COLLISION_RESOLUTION);
    }
    this.newPeer(t);
  }

  /** A Peer speaking as the neighbour, over `t` (accept) or connecting (connect). */
  private newPeer(t: Transport | undefined): void {
    const inc = this.inc;
    if (!inc) return;
    const open = inc.negotiated.remoteOpen;
    const s = this.host.settings;
    const connect = this.mode === 'connect';
    const n = this.host.neighborEndpoint;
    const remote: Endpoint = connect
      ? { address: this.spec.endpoint?.address ?? '', port: this.spec.endpoint?.port ?? 179 }
      : (t?.remote ?? { address: '', port: 0 });
    if (connect && !this.spec.endpoint) {
      throw new Error(`replica ${this.name}: connect mode needs the replica's endpoint`);
    }
    const peer = new Peer(
      {
        name: `${this.name}/${this.host.neighborName}`,
        remote,
        ...(connect ? { local: { address: n.address } } : {}),
        fsm: {
          localAs: openAsn(open),
          peerAs: this.host.routerAsn,
          bgpId: open.bgpId,
          capabilities: openCapabilities(open),
          holdTime: open.holdTime,
          passive: !connect,
          allowAutomaticStart: connect,
          connectRetryTime: s.connectRetryTime,
          idleHoldTime: s.idleHoldTime,
        },
      },
      { connector: this.spec.connector, clock: this.host.clock, events: this.peerEvents(inc) },
    );
    this.peer = peer;
    peer.start();
    if (t) peer.acceptIncoming(t);
  }

  private stopPeer(reason: string, subcode: number): void {
    const p = this.peer;
    if (!p) return;
    this.peer = undefined; // from here on its events are not ours (our stop is no fault)
    p.stop(reason, { subcode });
    this.sessionEnded();
  }

  private peerEvents(inc: NeighborIncarnation): Partial<PeerEvents> {
    return {
      established: (p, n) => {
        if (p === this.peer && this.inc === inc) this.established(inc, n);
      },
      update: (p, u) => {
        if (p === this.peer && this.inc === inc) this.update(inc, u);
      },
      routeRefresh: (p, m) => {
        if (p === this.peer && this.inc === inc) this.routeRefreshFrom(m);
      },
      writable: (p) => {
        if (p === this.peer) this.feed?.writable();
      },
      message: (p, bytes, local) => {
        // A NOTIFICATION before Established ends no session (no `down`): report it here.
        if (p !== this.peer || this.session || bytes[18] !== MSG.NOTIFICATION) return;
        const code = bytes[19] ?? 0;
        const subcode = bytes[20] ?? 0;
        this.fault(
          `${local ? 'we sent' : 'the replica sent'} NOTIFICATION ${code}/${subcode} while opening the session`,
          { code, subcode, sent: local },
        );
      },
      down: (p, reason, notification) => {
        if (p !== this.peer) return;
        const why =
          notification && !notification.sent
            ? `the replica sent NOTIFICATION ${notification.code}/${notification.subcode}`
            : `session closed: ${reason}`;
        this.fault(why, notification);
        this.sessionEnded();
        if (this.mode === 'accept') this.peer = undefined;
      },
      log: (_p, level, msg, fields) => this.host.log(level, msg, { replica: this.name, ...fields }),
    };
  }

  // --- the replica session ---------------------------------------------------------------

  private established(inc: NeighborIncarnation, n: Negotiated): void {
    const bad = sessionMismatch(inc.negotiated, n);
    if (bad) {
      this.fault(`its OPEN does not match the router's: ${bad}`);
      this.stopPeer(
        'capabilities differ from the router session',
        ERR_CEASE.OTHER_CONFIGURATION_CHANGE,
      );
      return;
    }
    this.session = n;
    if (this.slot === undefined) {
      // Back after a fault: catch up before voting (voter.ts "Membership").
      this.slot = inc.vote.voter.addReplica(this.name, { voting: false });
      this.voting = false;
    } else {
      // Voting since the neighbour came up, with nothing to say until now: its empty
      // output was no opinion, and must not make a steady majority against a replica that
      // was merely faster (voter.ts "Membership").
      inc.vote.voter.restartSteadiness(this.slot);
    }
    this.host.emit({
      type: 'replica-up',
      replica: this.name,
      neighbor: this.host.neighborName,
      history: inc.replicator.history.size,
      at: this.host.clock.now(),
    });
    this.feed?.begin(n.families.map(([afi, safi]) => addPathKey(afi, safi)));
  }

  private update(inc: NeighborIncarnation, u: UpdateMessage): void {
    const slot = this.slot;
    const n = this.session;
    if (slot === undefined || !n) return;
    const r = inc.vote.fromReplica(slot, u, n.receive);
    if (r.endOfRib !== undefined && inc.vote.endOfRibFrom(slot, r.endOfRib)) {
      this.host.sendEndOfRib(r.endOfRib);
    }
    if (!this.voting) this.quietUntil = this.host.clock.now() + this.host.settings.quietMs;
  }

  private routeRefreshFrom(m: RouteRefreshMessage): void {
    const n = this.session;
    if (!n || m.subtype !== 0) return; // BoRR/EoRR are answers, and we never ask
    // Enhanced route refresh needs both OPENs; ours is the neighbour's.
    const ours = openCapabilities(n.localOpen).some((c) => c.kind === 'enhanced-route-refresh');
    this.feed?.refresh(addPathKey(m.afi, m.safi), ours && n.enhancedRouteRefresh);
  }

  /** Session over (fault or our stop): leave the vote, stop the feed. */
  private sessionEnded(): void {
    this.cancelPromotion();
    this.feed?.stop();
    this.session = undefined;
    const inc = this.inc;
    if (inc && this.slot !== undefined) {
      inc.vote.forgetReplica(this.slot);
      inc.vote.voter.removeReplica(this.slot);
    }
    this.slot = undefined;
    this.voting = false;
  }

  private fault(
    reason: string,
    notification?: { readonly code: number; readonly subcode: number; readonly sent: boolean },
  ): void {
    this.faults++;
    this.host.log('warn', `replica fault: ${reason}`, {
      replica: this.name,
      neighbor: this.host.neighborName,
    });
    this.host.emit({
      type: 'replica-fault',
      replica: this.name,
      neighbor: this.host.neighborName,
      reason,
      ...(notification
        ? {
            notification: {
              code: notification.code,
              subcode: notification.subcode,
              sent: notification.sent,
            },
          }
        : {}),
      at: this.host.clock.now(),
    });
  }

  // --- FeedPort / FeedEvents ---------------------------------------------------------------

  send(messages: readonly Uint8Array[]): boolean {
    return this.peer?.sendUpdates(messages) ?? false;
  }

  routeRefresh(afi: number, safi: number, subtype: number): void {
    this.peer?.sendRouteRefresh(afi, safi, subtype);
  }

  caughtUp(): void {
    this.host.emit({
      type: 'replica-caught-up',
      replica: this.name,
      neighbor: this.host.neighborName,
      at: this.host.clock.now(),
    });
    if (this.voting || this.slot === undefined) return;
    const now = this.host.clock.now();
    this.quietUntil = now + this.host.settings.quietMs;
    this.promoteBy = now + this.host.settings.maxCatchUpMs;
    this.armPromotion();
  }

  overflow(): void {
    this.fault('too slow: the messages queued for it exceed the limit');
    this.stopPeer('too slow to keep up', ERR_CEASE.OUT_OF_RESOURCES);
    if (this.mode === 'connect' && this.state === 'up') this.newPeer(undefined);
  }

  private armPromotion(): void {
    this.promoteTimer?.cancel();
    const at = Math.min(this.quietUntil, this.promoteBy);
    this.promoteTimer = this.host.clock.at(at, () => {
      this.promoteTimer = undefined;
      const now = this.host.clock.now();
      if (this.voting || this.slot === undefined || !this.inc) return;
      if (now < this.quietUntil && now < this.promoteBy) return this.armPromotion();
      this.voting = true;
      this.inc.vote.voter.setVoting(this.slot, true);
      this.host.emit({
        type: 'replica-voting',
        replica: this.name,
        neighbor: this.host.neighborName,
        why: now >= this.quietUntil ? 'quiet' : 'timeout',
        at: now,
      });
    });
  }

  private cancelPromotion(): void {
    this.promoteTimer?.cancel();
    this.promoteTimer = undefined;
  }
}
