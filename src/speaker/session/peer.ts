// One configured neighbour's sessions: the I/O half of RFC 4271 §8. The FSM (fsm/) is pure;
// a Peer feeds it events (connection results, framed and decoded messages, timer expiries,
// operator commands) and performs the actions it returns (connect, send, close, tell the
// route engine). One FSM per TCP connection, as §8 describes; a Peer holds at most two:
// `main`, which carries the neighbour's lifecycle (start, retries, automatic restarts), and
// `other`, an incoming connection that arrived while `main` was busy. When an OPEN is
// accepted on one while the other is in OpenConfirm or Established, §6.8 collision
// detection (fsm resolveCollision) picks the survivor; the loser gets Cease 6/7.
//
// Our choices, beyond the RFC:
// - Run to completion: every event is a job on one queue, so a route-engine callback that
//   calls back into the Peer (stop, sendUpdates) never interleaves with a transition.
// - Messages are framed and decoded one at a time when their job runs, so the codec context
//   and the extended-message limit negotiated by an OPEN apply to the very next message.
// - An incoming connection while `main` sits in Idle waiting for its automatic restart is
//   taken as an AutomaticStart with passive TCP establishment (no need to make the
//   neighbour wait out our IdleHoldTimer), except while peer oscillation damping holds the
//   restart back. A session started that way still restarts actively afterwards.
// - If `main` fails, or is still connecting, while `other` has got the peer's OPEN,
//   `other` becomes `main`.
// - One clock timer per connection, armed for the FSM's nextDeadline().

import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { LogFields, LogLevel } from '../../lib/log.js';
import {
  createSession,
  eventFromDecodeError,
  eventFromMessage,
  exportState as exportFsm,
  importEstablished,
  importState as importFsm,
  resolveCollision,
  step,
  toJson,
  type Action,
  type BgpState,
  type FsmEvent,
  type Json,
  type Negotiated,
  type Session,
  type SessionSnapshot,
  type Transition,
} from '../../fsm/index.js';
import type { Endpoint, Transport, TransportStats } from '../../net/transport.js';
import {
  BGP_EXT_MAX_LEN,
  BGP_MAX_LEN,
  DEFAULT_CONTEXT,
  Framer,
  KEEPALIVE_BYTES,
  MSG,
  decodeMessage,
  encodeMessage,
  type BgpError,
  type BgpMessage,
  type CodecContext,
} from '../../wire/index.js';
import { ceaseFor, notificationText } from './cease.js';
import type { Connector } from '../../net/transport.js';
import type { RouteRefreshMessage, UpdateMessage } from '../../wire/index.js';
import type {
  DownNotification,
  LastErrorInfo,
  MessageCounts,
  PeerSessionConfig,
  PeerStats,
  StopOptions,
} from './types.js';

export interface PeerDeps {
  readonly connector: Connector;
  readonly clock: Clock;
  readonly events?: Partial<PeerEvents>;
}

/** Largest single transport write when flushing queued UPDATEs (octets). */
const WRITE_CHUNK = 64 * 1024;

export interface PeerEvents {
  /** The session reached Established (OPEN exchange done, or a connection taken over). */
  established(peer: Peer, n: Negotiated): void;
  /**
   * An UPDATE received in Established. RFC 7606 outcomes that do not reset the session
   * arrive here: `u.treatAsWithdraw` (withdraw every NLRI of it) and `u.errors`
   * (attributes already discarded). Session-reset errors never arrive: the session closes.
   */
  update(peer: Peer, u: UpdateMessage): void;
  routeRefresh(peer: Peer, m: RouteRefreshMessage): void;
  /** The session left Established: the route engine deletes the peer's routes. */
  down(peer: Peer, reason: string, notification?: DownNotification): void;
  /** The transport accepts writes again after sendUpdates() returned false. */
  writable(peer: Peer): void;
  /**
   * Every whole BGP message received (`local` false) or written (`local` true), as bytes,
   * for message logs (MRT BGP4MP). Received ones are reported before they are acted on.
   */
  message(peer: Peer, bytes: Uint8Array, local: boolean): void;
  log(peer: Peer, level: LogLevel, msg: string, fields: LogFields): void;
}

/** One TCP connection (or attempt) and its FSM. */
interface Conn {
  readonly id: number;
  initiator: 'local' | 'remote';
  session: Session;
  transport: Transport | null;
  framer: Framer;
  recv: CodecContext;
  send: CodecContext;
  timer: TimerHandle | null;
  timerAt: number;
  /** Bumped to abandon a pending connect() (its result is then destroyed). */
  attempt: number;
  discarded: boolean;
  pumpQueued: boolean;
  /** The last NOTIFICATION sent or received on this connection. */
  notification: DownNotification | undefined;
}

export const PEER_SNAPSHOT_FORMAT = 'nonstop.speaker.peer/1';

export interface PeerSnapshot {
  readonly format: typeof PEER_SNAPSHOT_FORMAT;
  readonly name: string;
  readonly fsm: SessionSnapshot;
  readonly initiator: 'local' | 'remote';
  readonly transport: {
    readonly kind: string;
    readonly local: Endpoint;
    readonly remote: Endpoint;
    readonly stats: TransportStats;
  } | null;
  readonly negotiated: Json;
  readonly stats: Json;
}

export interface ConnectionInfo {
  readonly id: number;
  readonly role: 'main' | 'other';
  readonly initiator: 'local' | 'remote';
  readonly state: BgpState;
  readonly local: Endpoint | null;
  readonly remote: Endpoint | null;
}

const zeroCounts = (): MessageCounts => ({
  open: 0,
  update: 0,
  notification: 0,
  keepalive: 0,
  routeRefresh: 0,
});

const COUNT_KEY: Record<number, keyof MessageCounts> = {
  [MSG.OPEN]: 'open',
  [MSG.UPDATE]: 'update',
  [MSG.NOTIFICATION]: 'notification',
  [MSG.KEEPALIVE]: 'keepalive',
  [MSG.ROUTE_REFRESH]: 'routeRefresh',
};

/** A session started passively by an incoming connection still restarts actively. */
function activeRestarts(s: Session): Session {
  return s.passiveStart && !s.config.passive ? { ...s, passiveStart: false } : s;
}

export class Peer {
  readonly name: string;
  private readonly clock: Clock;
  private readonly ev: Partial<PeerEvents>;
  private main: Conn;
  private other: Conn | null = null;
  private nextId = 1;
  private readonly jobs: (() => void)[] = [];
  private running = false;
  private pendingDump: Conn | undefined;
  private stopReason: string | undefined;
  /** Encoded UPDATE / ROUTE-REFRESH messages not yet written (order matters, RFC 7313). */
  private readonly outQueue: Uint8Array[] = [];
  private congested = false;
  private readonly countsIn = zeroCounts();
  private readonly countsOut = zeroCounts();
  private flaps = 0;
  private lastError: string | null = null;
  private lastErrorInfo: LastErrorInfo | null = null;
  private lastDownReason: string | null = null;

  constructor(
    readonly config: PeerSessionConfig,
    private readonly deps: PeerDeps,
    opts?: { readonly inactive?: boolean },
  ) {
    this.name = config.name ?? `${config.remote.address}:${config.remote.port}`;
    this.clock = deps.clock;
    this.ev = deps.events ?? {};
    this.main = this.newConn(createSession(config.fsm, { inactive: opts?.inactive ?? false }));
  }

  // --- public surface ------------------------------------------------------------------

  get state(): BgpState {
    return this.main.session.state;
  }

  get inactive(): boolean {
    return this.main.session.inactive;
  }

  /** The transport of the session (the one that carries it once Established), if any. */
  get transport(): Transport | null {
    return this.main.transport;
  }

  /** What the OPEN exchange negotiated (OpenConfirm and Established), else null. */
  get negotiated(): Negotiated | null {
    return this.main.session.negotiated;
  }

  get stats(): PeerStats {
    const s = this.main.session;
    const at = s.state === 'Established' ? s.establishedAt : null;
    return {
      state: s.state,
      messagesIn: { ...this.countsIn },
      messagesOut: { ...this.countsOut },
      establishedAt: at,
      uptimeMs: at === null ? 0 : this.clock.now() - at,
      flaps: this.flaps,
      lastError: this.lastError,
      lastErrorInfo: this.lastErrorInfo,
      lastDownReason: this.lastDownReason,
      queuedMessages: this.outQueue.length,
      transport: this.main.transport?.stats() ?? null,
    };
  }

  /** The live connections (for `show neighbor` and tests). */
  get connections(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const [c, role] of [
      [this.main, 'main'],
      [this.other, 'other'],
    ] as const) {
      if (!c || !c.transport) continue;
      out.push({
        id: c.id,
        role,
        initiator: c.initiator,
        state: c.session.state,
        local: c.transport.local,
        remote: c.transport.remote,
      });
    }
    return out;
  }

  /** ManualStart: connect (or listen, for a passive peer). Refused while inactive. */
  start(): void {
    this.enqueue(() => this.apply(this.main, { type: 'ManualStart' }));
  }

  /**
   * ManualStop (or AutomaticStop): Cease with the given subcode and data on every
   * connection, then close. `reason` names why in logs and in the `down` event.
   */
  stop(reason = 'administrative shutdown', opts: StopOptions = {}): void {
    const { subcode, data } = ceaseFor(opts);
    const type = opts.automatic ? 'AutomaticStop' : 'ManualStop';
    this.enqueue(() => {
      this.stopReason = reason;
      this.log('info', `stopping: ${reason}`, { subcode });
      try {
        if (this.other) this.apply(this.other, { type, subcode, data });
        this.apply(this.main, { type, subcode, data });
      } finally {
        this.stopReason = undefined;
      }
    });
  }

  /** Cease / Administrative Reset, then start again. */
  reset(reason = 'administrative reset', shutdownMessage?: string): void {
    this.stop(reason, { subcode: 4, ...(shutdownMessage ? { shutdownMessage } : {}) });
    this.start();
  }

  /** Leave router grafting's inactive mode; by default, start the session too. */
  activate(opts?: { readonly start?: boolean }): void {
    this.enqueue(() => this.apply(this.main, { type: 'Activate' }));
    if (opts?.start ?? true) this.start();
  }

  /** An incoming connection from this neighbour's address (from the listener). */
  acceptIncoming(t: Transport): void {
    this.enqueue(() => this.incoming(t));
  }

  /**
   * Attach a live connection directly in Established with imported negotiated state
   * (TCPR recovery, router grafting). The session must be inactive and Idle. `buffered`:
   * octets already read from the stream but not yet consumed as messages.
   */
  takeOver(
    t: Transport,
    negotiated: Negotiated,
    opts?: { readonly initiator?: 'local' | 'remote'; readonly buffered?: Uint8Array },
  ): void {
    const c = this.main;
    // Throws (caller bug) unless inactive and Idle: checked before anything changes.
    const tr = importEstablished(c.session, negotiated, this.clock.now());
    this.enqueue(() => {
      this.attach(c, t, opts?.initiator ?? 'local');
      this.negotiatedContexts(c, negotiated);
      if (opts?.buffered) c.framer.push(opts.buffered);
      this.applied(c, tr);
      this.schedulePump(c);
    });
  }

  /**
   * Queue already-encoded UPDATE messages for the peer, in order. Returns false when the
   * transport is congested (wait for the `writable` event before sending more; what was
   * given is kept and sent). Nothing is sent outside Established: returns false and drops.
   */
  sendUpdates(messages: readonly Uint8Array[]): boolean {
    const max = this.main.send.extendedMessage ? BGP_EXT_MAX_LEN : BGP_MAX_LEN;
    for (const m of messages) {
      if (m.length < 19 || m[18] !== MSG.UPDATE) {
        throw new RangeError(`sendUpdates takes encoded UPDATE messages (type ${m[18]})`);
      }
      if (m.length > max) {
        throw new RangeError(`UPDATE of ${m.length} octets exceeds the negotiated maximum ${max}`);
      }
    }
    return this.queueOut(messages);
  }

  /** ROUTE-REFRESH (RFC 2918; RFC 7313 subtypes BoRR 1 / EoRR 2), ordered with UPDATEs. */
  sendRouteRefresh(afi: number, safi: number, subtype = 0): boolean {
    const n = this.main.session.negotiated;
    if (this.state !== 'Established' || !n) return false;
    if (!n.routeRefresh || (subtype !== 0 && !n.enhancedRouteRefresh)) {
      this.log('warn', `not sending ROUTE-REFRESH: the peer did not announce the capability`, {
        afi,
        safi,
        subtype,
      });
      return false;
    }
    return this.queueOut([encodeMessage({ type: 5, afi, safi, subtype }, this.main.send)]);
  }

  /** FSM snapshot, transport position and negotiated parameters (TCPR, grafting). */
  exportState(): PeerSnapshot {
    const c = this.main;
    const t = c.transport;
    return {
      format: PEER_SNAPSHOT_FORMAT,
      name: this.name,
      fsm: exportFsm(c.session),
      initiator: c.initiator,
      transport: t ? { kind: t.kind, local: t.local, remote: t.remote, stats: t.stats() } : null,
      negotiated: c.session.negotiated === null ? null : toJson(c.session.negotiated),
      stats: toJson(this.stats),
    };
  }

  /**
   * Resume from exportState() on a Peer that has not started: the FSM continues where it
   * was; a session past Active needs its live `transport` (recovered by TCPR or moved by
   * grafting). `shiftMs` moves timer deadlines onto this clock.
   */
  importState(
    snap: PeerSnapshot,
    opts?: {
      readonly transport?: Transport;
      readonly shiftMs?: number;
      readonly buffered?: Uint8Array;
    },
  ): void {
    const c = this.main;
    if (c.session.started || c.transport || c.session.state !== 'Idle') {
      throw new Error(`importState needs a Peer that has not started (it is ${this.state})`);
    }
    const s = importFsm(snap.fsm, {
      ...(this.config.fsm.rng ? { rng: this.config.fsm.rng } : {}),
      ...(opts?.shiftMs !== undefined ? { shiftMs: opts.shiftMs } : {}),
    });
    const live = s.state === 'OpenSent' || s.state === 'OpenConfirm' || s.state === 'Established';
    if (live && !opts?.transport) {
      throw new Error(`importState: a session in ${s.state} needs its transport`);
    }
    this.enqueue(() => {
      c.session = s;
      if (opts?.transport) this.attach(c, opts.transport, snap.initiator);
      if (s.negotiated) this.negotiatedContexts(c, s.negotiated);
      if (opts?.buffered) c.framer.push(opts.buffered);
      this.log('info', `state imported: ${s.state}`, { state: s.state });
      if (s.state === 'Connect') this.connect(c);
      if (s.state === 'Established' && s.negotiated) this.ev.established?.(this, s.negotiated);
      this.armTimer(c);
      this.schedulePump(c);
    });
  }

  /**
   * Let go of the session without telling the peer (the migrate-from side of grafting, or
   * a handover to a new process): returns the live transport, untouched and still open,
   * and leaves this Peer inactive and Idle. Take exportState() first.
   */
  release(): Transport | null {
    const c = this.main;
    const t = c.transport;
    c.transport = null; // its callbacks now see a foreign transport and do nothing
    this.discard(c);
    if (this.other) this.discard(this.other);
    this.other = null;
    this.outQueue.length = 0;
    this.main = this.newConn(createSession(this.config.fsm, { inactive: true }));
    this.log('info', 'session released (transport handed over)', { conn: c.id });
    return t;
  }

  // --- the job queue -------------------------------------------------------------------

  private enqueue(job: () => void): void {
    this.jobs.push(job);
    if (this.running) return;
    this.running = true;
    try {
      for (let j = this.jobs.shift(); j; j = this.jobs.shift()) j();
    } finally {
      this.running = false;
    }
  }

  // --- FSM driving ---------------------------------------------------------------------

  private newConn(session: Session): Conn {
    return {
      id: this.nextId++,
      initiator: 'local',
      session,
      transport: null,
      framer: new Framer(),
      recv: DEFAULT_CONTEXT,
      send: DEFAULT_CONTEXT,
      timer: null,
      timerAt: 0,
      attempt: 0,
      discarded: false,
      pumpQueued: false,
      notification: undefined,
    };
  }

  private apply(c: Conn, e: FsmEvent): void {
    if (c.discarded) return;
    this.applied(c, step(c.session, e, this.clock.now()));
  }

  /** Take a transition: new session, log, actions, timer, then connection bookkeeping. */
  private applied(c: Conn, t: Transition): void {
    c.session = t.state;
    this.log(t.from === t.to ? 'debug' : 'info', t.reason, {
      conn: c.id,
      initiator: c.initiator,
      event: t.event,
      from: t.from,
      to: t.to,
    });
    for (const a of t.actions) this.perform(c, a);
    this.armTimer(c);
    const dump = this.pendingDump;
    this.pendingDump = undefined;
    if (dump) this.apply(dump, { type: 'OpenCollisionDump' });
    this.settle(c);
  }

  private perform(c: Conn, a: Action): void {
    switch (a.type) {
      case 'connect':
        this.connect(c);
        return;
      case 'drop-connection':
      case 'reject-connection':
        this.dropTransport(c);
        return;
      case 'send-open':
        this.write(c, encodeMessage(a.open, DEFAULT_CONTEXT));
        return;
      case 'send-keepalive':
        this.write(c, KEEPALIVE_BYTES);
        return;
      case 'send-notification':
        this.sendNotification(c, a.code, a.subcode, a.data);
        return;
      case 'open-accepted':
        this.negotiatedContexts(c, a.negotiated);
        this.detectCollision(c, a.negotiated);
        return;
      case 'session-established':
        // The second connection got there while the first still waits in OpenSent for the
        // peer's OPEN (no collision detectable yet, RFC 4271 §6.8): it carries the peer from
        // now on, before the engine sends on it; the first stays as `other` until its OPEN
        // arrives and collision detection dumps it (or it fails).
        if (c !== this.main) {
          this.other = this.main;
          this.main = c;
          c.session = activeRestarts(c.session);
          this.log('info', 'incoming connection reached Established first: using it', {
            conn: c.id,
            other: this.other.id,
          });
        }
        this.log('info', `session established with AS${a.negotiated.peerAs}`, {
          conn: c.id,
          peerAs: a.negotiated.peerAs,
          peerBgpId: a.negotiated.peerBgpId,
          holdTime: a.negotiated.holdTime,
        });
        this.ev.established?.(this, a.negotiated);
        return;
      case 'session-down': {
        this.flaps++;
        this.outQueue.length = 0;
        this.congested = false;
        const reason = this.stopReason ? `${this.stopReason} (${a.reason})` : a.reason;
        this.lastDownReason = reason;
        this.ev.down?.(this, reason, c.notification);
        return;
      }
      case 'process-update':
        if (a.update) this.ev.update?.(this, a.update);
        return;
      case 'process-route-refresh':
        if (a.message) this.ev.routeRefresh?.(this, a.message);
        return;
      case 'start-timer':
      case 'stop-timer':
      case 'release-resources':
      case 'delete-routes': // the route engine deletes on `down`
        return;
    }
  }

  /** RFC 4271 §6.8 against the other connection, when an OPEN was accepted on `c`. */
  private detectCollision(c: Conn, n: Negotiated): void {
    const o = c === this.main ? this.other : this.main;
    if (!o || o.discarded || !o.transport) return;
    const d = resolveCollision({
      localId: c.session.config.bgpId,
      remoteId: n.peerBgpId,
      localAs: n.localAs,
      remoteAs: n.peerAs,
      existing: { state: o.session.state, initiator: o.initiator },
      incoming: { state: c.session.state, initiator: c.initiator },
      collisionDetectEstablishedState: c.session.config.collisionDetectEstablishedState,
    });
    this.log(d.collision ? 'info' : 'debug', d.reason, { conn: c.id, other: o.id });
    if (d.collision) this.pendingDump = d.dump === 'existing' ? o : c;
  }

  /** After a transition: retire dead connections and pick which one carries the peer. */
  private settle(c: Conn): void {
    if (c.discarded) return;
    const o = this.other;
    if (!o) return;
    const s = c.session.state;
    if (c === o && s === 'Idle') {
      this.discard(o);
      this.other = null;
      return;
    }
    const mainState = this.main.session.state;
    const otherState = o.session.state;
    const otherHasOpen = otherState === 'OpenConfirm' || otherState === 'Established';
    const mainBehind = mainState === 'Idle' || mainState === 'Connect' || mainState === 'Active';
    if ((mainState === 'Idle' && otherState !== 'Idle') || (mainBehind && otherHasOpen)) {
      if (mainState !== 'Idle')
        this.log('info', 'incoming connection got the OPEN first: using it', {});
      const old = this.main;
      this.main = o;
      this.other = null;
      o.session = activeRestarts(o.session);
      this.discard(old);
      this.armTimer(o);
      if (this.congested) this.congested = false;
    }
  }

  private discard(c: Conn): void {
    c.discarded = true;
    c.attempt++;
    c.timer?.cancel();
    c.timer = null;
    const t = c.transport;
    c.transport = null;
    t?.destroy();
  }

  private armTimer(c: Conn): void {
    const next = c.discarded ? undefined : c.session.timers.nextDeadline();
    if (!next) {
      c.timer?.cancel();
      c.timer = null;
      return;
    }
    if (c.timer && c.timerAt === next.deadline) return;
    c.timer?.cancel();
    c.timerAt = next.deadline;
    c.timer = this.clock.at(next.deadline, () => {
      c.timer = null;
      this.enqueue(() => this.fireTimers(c));
    });
  }

  private fireTimers(c: Conn): void {
    if (c.discarded) return;
    const due = c.session.timers.expired(this.clock.now());
    for (const e of due) this.apply(c, e);
    if (due.length === 0) this.armTimer(c);
  }

  // --- connections ---------------------------------------------------------------------

  private connect(c: Conn): void {
    const id = ++c.attempt;
    const { remote, local } = this.config;
    this.deps.connector.connect(remote, local).then(
      (t) =>
        this.enqueue(() => {
          if (c.discarded || id !== c.attempt || c.transport || c.session.state !== 'Connect') {
            t.destroy(); // abandoned attempt
            return;
          }
          this.attach(c, t, 'local');
          this.apply(c, { type: 'Tcp_CR_Acked' });
        }),
      (err: unknown) =>
        this.enqueue(() => {
          if (c.discarded || id !== c.attempt) return;
          this.log(
            'info',
            this.setError('local', err instanceof Error ? err.message : String(err)),
            { conn: c.id },
          );
          this.apply(c, { type: 'TcpConnectionFails' });
        }),
    );
  }

  private incoming(t: Transport): void {
    const m = this.main;
    const s = m.session;
    const from = `${t.remote.address}:${t.remote.port}`;
    const refuse = (why: string): void => {
      this.log('info', `connection from ${from} refused: ${why}`, {});
      t.destroy();
    };
    if (s.inactive) return refuse('the session is inactive (router grafting)');
    if (!m.transport) {
      if (s.state === 'Idle' && s.started) {
        const damped = s.config.dampPeerOscillations && s.timers.has('IdleHoldTimer');
        if (!damped) {
          this.apply(m, { type: 'AutomaticStart_with_PassiveTcpEstablishment' });
          m.session = activeRestarts(m.session);
        }
      }
      if (m.session.state === 'Active') {
        this.attach(m, t, 'remote');
        this.apply(m, { type: 'TcpConnectionConfirmed' });
        return;
      }
    }
    if (m.session.state === 'Idle') {
      return refuse(s.started ? 'restart held back by damping' : 'the session is not started');
    }
    if (this.other) return refuse('two connections to this peer are open already');
    // A second connection, for collision detection (RFC 4271 §6.8).
    const c = this.newConn(createSession(this.config.fsm));
    this.other = c;
    this.apply(c, { type: 'ManualStart_with_PassiveTcpEstablishment' });
    this.attach(c, t, 'remote');
    this.apply(c, { type: 'TcpConnectionConfirmed' });
  }

  private attach(c: Conn, t: Transport, initiator: 'local' | 'remote'): void {
    c.transport = t;
    c.initiator = initiator;
    c.framer = new Framer();
    c.recv = DEFAULT_CONTEXT;
    c.send = DEFAULT_CONTEXT;
    c.notification = undefined;
    this.log(
      'debug',
      `connection ${t.local.address}:${t.local.port} → ${t.remote.address}:${t.remote.port} (${t.kind}, by ${initiator})`,
      { conn: c.id },
    );
    t.onData((chunk) => {
      if (c.transport !== t) return;
      c.framer.push(chunk);
      this.schedulePump(c);
    });
    t.onDrain(() => {
      if (c.transport === t) this.enqueue(() => this.flush(true));
    });
    t.onClose((err) =>
      this.enqueue(() => {
        if (c.transport !== t || c.discarded) return;
        this.pump(c, Infinity); // what arrived before the close comes first (a NOTIFICATION)
        if (c.transport !== t || c.discarded) return;
        c.transport = null;
        this.log(
          'info',
          this.setError('local', err ? err.message : 'connection closed by the peer'),
          { conn: c.id },
        );
        this.apply(c, { type: 'TcpConnectionFails' });
      }),
    );
  }

  private dropTransport(c: Conn): void {
    c.attempt++;
    const t = c.transport;
    if (!t) return;
    c.transport = null;
    t.end(); // flushes a NOTIFICATION written just before
  }

  private negotiatedContexts(c: Conn, n: Negotiated): void {
    c.recv = n.receive;
    c.send = n.send;
    c.framer.setExtendedMessage(n.extendedMessage);
  }

  // --- receiving -----------------------------------------------------------------------

  private schedulePump(c: Conn): void {
    if (c.pumpQueued) return;
    c.pumpQueued = true;
    this.enqueue(() => {
      c.pumpQueued = false;
      this.pump(c, 1000);
    });
  }

  /** Handle up to `max` messages, yielding to other jobs between messages. */
  private pump(c: Conn, max: number): void {
    const t = c.transport;
    for (let i = 0; i < max; i++) {
      if (c.discarded || !t || c.transport !== t) return;
      if (max !== Infinity && this.jobs.length > 0) break;
      const m = c.framer.next();
      if (m === undefined) return;
      this.receive(c, m);
      if (!(m instanceof Uint8Array)) return; // the framer is dead after a header error
    }
    if (c.transport === t && c.framer.buffered >= 19) this.schedulePump(c);
  }

  private receive(c: Conn, raw: Uint8Array | BgpError): void {
    if (!(raw instanceof Uint8Array)) return this.decodeError(c, raw);
    const key = COUNT_KEY[raw[18]!];
    if (key) this.countsIn[key]++;
    this.ev.message?.(this, raw, false);
    const r = decodeMessage(raw, c.recv);
    if (!r.ok) return this.decodeError(c, r.error);
    const m = r.message;
    if (m.type === MSG.UPDATE && m.errors && m.errors.length > 0) {
      for (const e of m.errors) {
        this.log('warn', `UPDATE ${e.action}: ${e.reason}`, {
          conn: c.id,
          action: e.action,
          code: e.code,
          subcode: e.subcode,
          ...(e.attribute !== undefined ? { attribute: e.attribute } : {}),
          ...(m.treatAsWithdraw ? { withdrawn: m.nlri.length } : {}),
        });
      }
    }
    if (m.type === MSG.UPDATE && m.hostBits) {
      this.log('debug', `UPDATE with host bits set in ${m.hostBits.length} prefix(es): masked`, {
        conn: c.id,
      });
    }
    if (m.type === MSG.NOTIFICATION) {
      c.notification = { code: m.code, subcode: m.subcode, sent: false };
      this.log(
        'warn',
        this.setError('received', `received ${notificationText(m)}`, m.code, m.subcode),
        { conn: c.id },
      );
    }
    this.apply(c, eventFromMessage(m));
  }

  private decodeError(c: Conn, e: BgpError): void {
    this.log('warn', this.setError('local', `bad message from the peer: ${e.reason}`), {
      conn: c.id,
      code: e.code,
      subcode: e.subcode,
    });
    this.apply(c, eventFromDecodeError(e));
  }

  // --- sending -------------------------------------------------------------------------

  private write(c: Conn, bytes: Uint8Array): boolean {
    const t = c.transport;
    if (!t) return false;
    this.noteSent(bytes);
    return t.write(bytes);
  }

  /** Counts a message we send and reports it (message logs). */
  private noteSent(bytes: Uint8Array): void {
    const key = COUNT_KEY[bytes[18]!];
    if (key) this.countsOut[key]++;
    this.ev.message?.(this, bytes, true);
  }

  private setError(
    direction: LastErrorInfo['direction'],
    message: string,
    code?: number,
    subcode?: number,
  ): string {
    this.lastError = message;
    this.lastErrorInfo = {
      direction,
      ...(code !== undefined ? { code, subcode: subcode ?? 0 } : {}),
      at: this.clock.now(),
    };
    return message;
  }

  private sendNotification(c: Conn, code: number, subcode: number, data: Uint8Array): void {
    const max = (c.send.extendedMessage ? BGP_EXT_MAX_LEN : BGP_MAX_LEN) - 21;
    const m: BgpMessage = {
      type: 3,
      code,
      subcode,
      data: data.length > max ? data.subarray(0, max) : data,
    };
    c.notification = { code, subcode, sent: true };
    this.log('warn', this.setError('sent', `sent ${notificationText(m)}`, code, subcode), {
      conn: c.id,
    });
    this.write(c, encodeMessage(m, c.send));
  }

  private queueOut(messages: readonly Uint8Array[]): boolean {
    if (this.state !== 'Established' || !this.main.transport) return false;
    for (const m of messages) this.outQueue.push(m);
    this.enqueue(() => this.flush(false));
    return !this.congested;
  }

  /** Write queued messages while the transport takes them; UpdateSent for the FSM. */
  private flush(drained: boolean): void {
    const c = this.main;
    const t = c.transport;
    if (drained) this.congested = false;
    if (!t || c.session.state !== 'Established') {
      this.outQueue.length = 0;
      return;
    }
    // Queued messages go out in writes of up to WRITE_CHUNK octets (one write per UPDATE
    // costs a syscall-sized overhead each); the consumed head is dropped at once at the end.
    const q = this.outQueue;
    let updates = 0;
    let i = 0;
    while (i < q.length && !this.congested) {
      let size = 0;
      let j = i;
      while (j < q.length && (j === i || size + q[j]!.length <= WRITE_CHUNK))
        size += q[j++]!.length;
      let chunk: Uint8Array;
      if (j - i === 1) chunk = q[i]!;
      else {
        chunk = new Uint8Array(size);
        for (let k = i, at = 0; k < j; at += q[k]!.length, k++) chunk.set(q[k]!, at);
      }
      for (let k = i; k < j; k++) {
        if (q[k]![18] === MSG.UPDATE) updates++;
        this.noteSent(q[k]!);
      }
      i = j;
      if (!t.write(chunk)) this.congested = true;
    }
    q.splice(0, i);
    if (updates > 0) this.apply(c, { type: 'UpdateSent' });
    if (drained && !this.congested && this.outQueue.length === 0) this.ev.writable?.(this);
  }

  private log(level: LogLevel, msg: string, fields: LogFields): void {
    this.ev.log?.(this, level, msg, { peer: this.name, ...fields });
  }
}
