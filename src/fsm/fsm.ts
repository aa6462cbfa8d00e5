// The BGP finite state machine of RFC 4271 §8.2.2 as a pure function:
// step(session, event, now) → { state, actions, reason }. One FSM instance per TCP
// connection, as §8 describes; connection collisions (§6.8) are decided by collision.ts
// and reach the losing connection's FSM as OpenCollisionDump (Event 23).
//
// Where this implementation chooses among what the RFC leaves open, or departs from it:
// - Timer events are generated only by running timers: an expiry for a timer that is not
//   armed (or not yet due) is stale and ignored, whatever the state.
// - An OPEN on this connection in OpenConfirm or Established is an unexpected message
//   (RFC 6608 subcodes 2 and 3); the §6.8 comparison that the RFC places there concerns the
//   *other* connection and is done by the I/O layer with collision.ts.
// - Unexpected messages get the RFC 6608 FSM error subcode of the state; other unexpected
//   events get 5/0 (Unspecified).
// - A NOTIFICATION received in OpenSent is not answered with an FSM error NOTIFICATION
//   (§8.2.2 "any other event"): the peer has already closed the connection (§4.5).
// - BGPHeaderErr in Established sends the header error itself (§6.1), not 5/3.
// - Falling to Idle on an error arms the IdleHoldTimer when AllowAutomaticStart is set, so
//   automatic restarts (with DampPeerOscillations backoff) are timer events like the rest;
//   Active's TcpConnectionFails therefore does not also restart the ConnectRetryTimer.
// - A passive peer (config.passive) never initiates: ConnectRetryTimer_Expires in Active
//   re-arms the timer and keeps listening.
// - ManualStop in Idle cancels a pending automatic restart; in Connect as in Active, it
//   sends Cease when the DelayOpenTimer runs (the TCP connection is up) and
//   SendNOTIFICATIONwithoutOPEN is set.

import { ERR, ERR_CEASE, ERR_FSM, type BgpError, type OpenMessage } from '../wire/index.js';
import type { Action } from './actions.js';
import { localOpen } from './config.js';
import { isTimerEvent, TIMER_OF_EVENT, type FsmEvent, type TimerName } from './events.js';
import { acceptOpen, type Negotiated } from './negotiate.js';
import { jitterFactor } from './random.js';
import type { Session, Transition } from './session.js';
import type { BgpState } from './states.js';
import { TIMER_NAMES } from './timers.js';

const EMPTY = new Uint8Array(0);

interface Notify {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
}

/** The transition under construction: a mutable copy of the session plus the actions. */
class Tx {
  state: BgpState;
  timers;
  connectRetryCounter;
  dampLevel;
  rngState;
  negotiated;
  establishedAt;
  started;
  passiveStart;
  inactive;
  readonly actions: Action[] = [];

  constructor(
    readonly prev: Session,
    readonly event: FsmEvent,
    readonly now: number,
  ) {
    this.state = prev.state;
    this.timers = prev.timers;
    this.connectRetryCounter = prev.connectRetryCounter;
    this.dampLevel = prev.dampLevel;
    this.rngState = prev.rngState;
    this.negotiated = prev.negotiated;
    this.establishedAt = prev.establishedAt;
    this.started = prev.started;
    this.passiveStart = prev.passiveStart;
    this.inactive = prev.inactive;
  }

  get c(): Session['config'] {
    return this.prev.config;
  }

  push(a: Action): void {
    this.actions.push(a);
  }

  startTimer(name: TimerName, ms: number): void {
    const deadline = this.now + ms;
    this.timers = this.timers.start(name, deadline);
    this.push({ type: 'start-timer', name, deadline });
  }

  stopTimer(name: TimerName): void {
    if (!this.timers.has(name)) return;
    this.timers = this.timers.stop(name);
    this.push({ type: 'stop-timer', name });
  }

  running(name: TimerName): boolean {
    return this.timers.has(name);
  }

  /** RFC 4271 §10 jitter from the session's seeded generator. */
  jittered(ms: number): number {
    if (!this.c.jitter) return ms;
    const [v, next] = this.c.rng(this.rngState);
    this.rngState = next >>> 0;
    return Math.floor(ms * jitterFactor(v));
  }

  startConnectRetry(): void {
    this.startTimer('ConnectRetryTimer', this.jittered(this.c.connectRetryTime * 1000));
  }

  startKeepalive(n: Negotiated): void {
    this.startTimer('KeepaliveTimer', this.jittered(n.keepaliveTime * 1000));
  }

  /** Restart the HoldTimer with the negotiated value, unless it is 0. */
  restartHold(): void {
    const hold = this.negotiated?.holdTime ?? 0;
    if (hold > 0) this.startTimer('HoldTimer', hold * 1000);
  }

  notify(n: Notify): string {
    this.push({
      type: 'send-notification',
      code: n.code,
      subcode: n.subcode,
      data: n.data ?? EMPTY,
    });
    return `sending NOTIFICATION ${n.code}/${n.subcode}`;
  }

  done(detail: string): Transition {
    const state: Session = {
      config: this.c,
      state: this.state,
      inactive: this.inactive,
      started: this.started,
      passiveStart: this.passiveStart,
      timers: this.timers,
      connectRetryCounter: this.connectRetryCounter,
      dampLevel: this.dampLevel,
      rngState: this.rngState,
      negotiated: this.negotiated,
      establishedAt: this.establishedAt,
    };
    const moved = this.state === this.prev.state ? '' : `; → ${this.state}`;
    return {
      state,
      actions: this.actions,
      reason: `${this.event.type} in ${this.prev.state}: ${detail}${moved}`,
      event: this.event.type,
      from: this.prev.state,
      to: this.state,
    };
  }
}

/** Apply one event at time `now` (ms). Never throws for any event in any state. */
export function step(s: Session, event: FsmEvent, now: number): Transition {
  const tx = new Tx(s, classify(s, event), now);
  if (s.inactive) return inactive(tx);
  if (tx.event.type === 'Activate') return tx.done('ignored: the session is not inactive');
  if (isTimerEvent(tx.event)) {
    const name = TIMER_OF_EVENT[tx.event.type];
    const due = s.timers.get(name);
    if (due === undefined) return tx.done(`ignored: the ${name} is not running`);
    if (due > now) return tx.done(`ignored: the ${name} is due at ${due}, not yet`);
    tx.timers = tx.timers.stop(name); // it fired
  }
  switch (s.state) {
    case 'Idle':
      return idle(tx);
    case 'Connect':
    case 'Active':
      return connecting(tx);
    case 'OpenSent':
      return openSent(tx);
    case 'OpenConfirm':
      return openConfirm(tx);
    case 'Established':
      return established(tx);
  }
}

/** Derive Events 20 and 24 from what the session knows (RFC 4271 §8.1.5). */
function classify(s: Session, e: FsmEvent): FsmEvent {
  if (e.type === 'BGPOpen' || e.type === 'BGPOpen_with_DelayOpenTimer_running') {
    const type = s.timers.has('DelayOpenTimer') ? 'BGPOpen_with_DelayOpenTimer_running' : 'BGPOpen';
    return type === e.type ? e : { type, open: e.open };
  }
  if (e.type === 'NotifMsg' && e.notification?.code === ERR.OPEN_MESSAGE) {
    if (e.notification.subcode === 1)
      return { type: 'NotifMsgVerErr', notification: e.notification };
  }
  return e;
}

function isStart(t: FsmEvent['type']): boolean {
  return t.startsWith('ManualStart') || t.startsWith('AutomaticStart');
}

function inactive(tx: Tx): Transition {
  const t = tx.event.type;
  if (t === 'Activate') {
    tx.inactive = false;
    return tx.done('session activated: Start events are accepted from now on');
  }
  if (isStart(t)) return tx.done('refused: the session is inactive until Activate');
  return tx.done('ignored: the session is inactive (no network until Activate)');
}

// --- Idle ----------------------------------------------------------------------------

function idle(tx: Tx): Transition {
  const e = tx.event;
  switch (e.type) {
    case 'ManualStart':
      return start(tx, false, false);
    case 'ManualStart_with_PassiveTcpEstablishment':
      return start(tx, true, false);
    case 'AutomaticStart':
      return start(tx, false, true);
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return start(tx, true, true);
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment': {
      const passive = e.type !== 'AutomaticStart_with_DampPeerOscillations';
      if (!tx.c.allowAutomaticStart) return tx.done('ignored: AllowAutomaticStart is false');
      if (tx.running('IdleHoldTimer')) return tx.done('ignored: a restart is already pending');
      if (!tx.c.dampPeerOscillations || tx.dampLevel === 0) return start(tx, passive, true);
      tx.started = true;
      tx.passiveStart = passive;
      const ms = idleHoldMs(tx);
      tx.startTimer('IdleHoldTimer', ms);
      return tx.done(`peer oscillation damping: starting in ${ms / 1000} s`);
    }
    case 'IdleHoldTimer_Expires':
      return start(tx, tx.passiveStart, true);
    case 'ManualStop':
      if (!tx.started && !tx.running('IdleHoldTimer')) return tx.done('ignored');
      tx.stopTimer('IdleHoldTimer');
      tx.started = false;
      tx.connectRetryCounter = 0;
      tx.dampLevel = 0;
      return tx.done('automatic restart cancelled');
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
      tx.push({ type: 'reject-connection' });
      return tx.done('Idle refuses connections');
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      tx.push({ type: 'drop-connection' });
      return tx.done('Idle refuses connections');
    default:
      return tx.done('ignored');
  }
}

function start(tx: Tx, passiveFirst: boolean, automatic: boolean): Transition {
  if (automatic && !tx.c.allowAutomaticStart)
    return tx.done('ignored: AllowAutomaticStart is false');
  tx.stopTimer('IdleHoldTimer');
  tx.started = true;
  tx.passiveStart = passiveFirst;
  tx.connectRetryCounter = 0;
  tx.startConnectRetry();
  if (tx.c.passive || passiveFirst) {
    tx.state = 'Active';
    return tx.done('listening for the peer to connect');
  }
  tx.push({ type: 'connect' });
  tx.state = 'Connect';
  return tx.done('connecting to the peer');
}

/** DampPeerOscillations backoff: idleHoldTime × 2^level, at most idleHoldTimeMax. */
function idleHoldMs(tx: Tx): number {
  const c = tx.c;
  if (!c.dampPeerOscillations) return c.idleHoldTime * 1000;
  return Math.min(c.idleHoldTime * 2 ** Math.min(tx.dampLevel, 30), c.idleHoldTimeMax) * 1000;
}

// --- Leaving for Idle ----------------------------------------------------------------

interface Fail {
  readonly notify?: Notify;
  /** Increment the ConnectRetryCounter (and the damping backoff). */
  readonly count: boolean;
  /** ManualStop: counter to zero and no automatic restart. */
  readonly manual?: boolean;
  readonly why?: string;
}

function fail(tx: Tx, f: Fail): Transition {
  const parts: string[] = [];
  if (f.why) parts.push(f.why);
  if (f.notify) parts.push(tx.notify(f.notify));
  for (const n of TIMER_NAMES) tx.stopTimer(n);
  const wasEstablished = tx.prev.state === 'Established';
  if (wasEstablished) tx.push({ type: 'delete-routes' });
  tx.push({ type: 'release-resources' });
  tx.push({ type: 'drop-connection' });
  const detail = parts.length > 0 ? parts.join('; ') : 'connection closed';
  if (wasEstablished) {
    tx.push({ type: 'session-down', reason: `${tx.event.type} in Established: ${detail}` });
  }
  const stable =
    wasEstablished &&
    tx.establishedAt !== null &&
    tx.now - tx.establishedAt >= tx.c.dampResetTime * 1000;
  if (stable) tx.dampLevel = 0;
  tx.state = 'Idle';
  tx.negotiated = null;
  tx.establishedAt = null;
  if (f.manual) {
    tx.connectRetryCounter = 0;
    tx.dampLevel = 0;
    tx.started = false;
    return tx.done(detail);
  }
  const ms = idleHoldMs(tx);
  if (f.count) {
    tx.connectRetryCounter += 1;
    if (tx.c.dampPeerOscillations) tx.dampLevel = Math.min(tx.dampLevel + 1, 30);
  }
  if (tx.started && tx.c.allowAutomaticStart) {
    tx.startTimer('IdleHoldTimer', ms);
    return tx.done(`${detail}; automatic restart in ${ms / 1000} s`);
  }
  return tx.done(detail);
}

const cease = (e: { subcode?: number; data?: Uint8Array }, dflt: number): Notify => ({
  code: ERR.CEASE,
  subcode: e.subcode ?? dflt,
  data: e.data ?? EMPTY,
});

const fromError = (e: BgpError): Notify => ({ code: e.code, subcode: e.subcode, data: e.data });

// --- Connect and Active --------------------------------------------------------------

function connecting(tx: Tx): Transition {
  const e = tx.event;
  const here = tx.prev.state;
  const delayRunning = tx.running('DelayOpenTimer');
  const withoutOpen = tx.c.sendNotificationWithoutOpen;
  switch (e.type) {
    case 'ManualStop':
      // The connection is up only while the DelayOpenTimer runs; tell the peer then.
      return fail(tx, {
        manual: true,
        count: false,
        ...(delayRunning && withoutOpen
          ? { notify: cease(e, ERR_CEASE.ADMINISTRATIVE_SHUTDOWN) }
          : {}),
      });
    case 'ConnectRetryTimer_Expires':
      if (here === 'Connect') tx.push({ type: 'drop-connection' });
      tx.stopTimer('DelayOpenTimer');
      tx.startConnectRetry();
      if (tx.c.passive) return tx.done('passive peer: still listening');
      tx.push({ type: 'connect' });
      tx.state = 'Connect';
      return tx.done('connecting to the peer again');
    case 'DelayOpenTimer_Expires':
      tx.stopTimer('ConnectRetryTimer');
      return sendOpen(tx);
    case 'TcpConnection_Valid':
      return tx.done('connection request accepted');
    case 'Tcp_CR_Invalid':
      tx.push({ type: 'reject-connection' });
      return tx.done('connection request rejected');
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      tx.stopTimer('ConnectRetryTimer');
      if (tx.c.delayOpen) {
        tx.startTimer('DelayOpenTimer', tx.c.delayOpenTime * 1000);
        return tx.done(`TCP connection up; delaying our OPEN by ${tx.c.delayOpenTime} s`);
      }
      return sendOpen(tx);
    case 'TcpConnectionFails':
      if (here === 'Connect' && delayRunning) {
        tx.stopTimer('DelayOpenTimer');
        tx.startConnectRetry();
        tx.state = 'Active';
        return tx.done('TCP connection failed; listening');
      }
      return fail(tx, { count: here === 'Active', why: 'TCP connection failed' });
    case 'BGPOpen_with_DelayOpenTimer_running':
      return openWithDelay(tx, e.open);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return fail(tx, {
        count: true,
        why: e.error.reason,
        ...(withoutOpen ? { notify: fromError(e.error) } : {}),
      });
    case 'NotifMsgVerErr':
      return fail(tx, { count: !delayRunning, why: 'peer does not support our BGP version' });
    case 'AutomaticStop':
      if (!tx.c.allowAutomaticStop) return tx.done('ignored: AllowAutomaticStop is false');
      return fail(tx, { count: true });
    case 'Activate':
    case 'UpdateSent':
      return tx.done('ignored');
    default:
      if (isStart(e.type)) return tx.done('ignored');
      return fail(tx, { count: true, why: 'unexpected event' });
  }
}

/** Send our OPEN and wait for the peer's under the large HoldTimer (→ OpenSent). */
function sendOpen(tx: Tx): Transition {
  tx.stopTimer('DelayOpenTimer');
  tx.push({ type: 'send-open', open: localOpen(tx.c) });
  tx.startTimer('HoldTimer', tx.c.largeHoldTime * 1000);
  tx.state = 'OpenSent';
  return tx.done('OPEN sent');
}

/** Event 20 in Connect or Active: the peer's OPEN came first; answer OPEN + KEEPALIVE. */
function openWithDelay(tx: Tx, open: OpenMessage): Transition {
  const r = acceptOpen(tx.c, open);
  if (!r.ok) {
    return fail(tx, {
      count: true,
      why: `bad OPEN: ${r.error.reason}`,
      ...(tx.c.sendNotificationWithoutOpen ? { notify: fromError(r.error) } : {}),
    });
  }
  tx.stopTimer('ConnectRetryTimer');
  tx.stopTimer('DelayOpenTimer');
  tx.push({ type: 'send-open', open: localOpen(tx.c) });
  return confirm(tx, r.value);
}

/** Valid OPEN received: KEEPALIVE, negotiated timers (none for hold time 0) → OpenConfirm. */
function confirm(tx: Tx, n: Negotiated): Transition {
  tx.push({ type: 'send-keepalive' });
  tx.negotiated = n;
  if (n.holdTime > 0) {
    tx.startKeepalive(n);
    tx.startTimer('HoldTimer', n.holdTime * 1000);
  } else {
    tx.stopTimer('KeepaliveTimer');
    tx.stopTimer('HoldTimer');
  }
  tx.push({ type: 'open-accepted', negotiated: n });
  tx.state = 'OpenConfirm';
  return tx.done(
    `OPEN accepted from AS${n.peerAs} ${n.peerBgpId}, hold time ${n.holdTime} s` +
      (n.holdTime === 0 ? ' (no keepalives)' : `, keepalive ${n.keepaliveTime} s`),
  );
}

// --- OpenSent, OpenConfirm, Established ----------------------------------------------

/** Events shared by the three states that exchange BGP messages; undefined = not handled. */
function common(tx: Tx): Transition | undefined {
  const e = tx.event;
  switch (e.type) {
    case 'ManualStop':
      return fail(tx, {
        manual: true,
        count: false,
        notify: cease(e, ERR_CEASE.ADMINISTRATIVE_SHUTDOWN),
      });
    case 'AutomaticStop':
      if (!tx.c.allowAutomaticStop) return tx.done('ignored: AllowAutomaticStop is false');
      return fail(tx, { count: true, notify: cease(e, 0) });
    case 'HoldTimer_Expires':
      return fail(tx, { count: true, notify: { code: ERR.HOLD_TIMER_EXPIRED, subcode: 0 } });
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return tx.done('second connection, tracked for collision detection (RFC 4271 §6.8)');
    case 'Tcp_CR_Invalid':
      tx.push({ type: 'reject-connection' });
      return tx.done('connection request rejected');
    case 'OpenCollisionDump':
      return fail(tx, {
        count: true,
        why: 'connection collision: this connection is dropped',
        notify: { code: ERR.CEASE, subcode: ERR_CEASE.CONNECTION_COLLISION_RESOLUTION },
      });
    case 'NotifMsgVerErr':
      return fail(tx, { count: tx.prev.state === 'Established', why: notifText(e) });
    case 'Activate':
      return tx.done('ignored');
    default:
      if (isStart(e.type)) return tx.done('ignored');
      return undefined;
  }
}

function notifText(e: FsmEvent): string {
  if ((e.type === 'NotifMsg' || e.type === 'NotifMsgVerErr') && e.notification) {
    return `NOTIFICATION ${e.notification.code}/${e.notification.subcode} received`;
  }
  return 'NOTIFICATION received';
}

const MESSAGE_EVENTS: ReadonlySet<string> = new Set([
  'BGPOpen',
  'BGPOpen_with_DelayOpenTimer_running',
  'BGPOpenMsgErr',
  'KeepAliveMsg',
  'UpdateMsg',
  'UpdateMsgErr',
  'RouteRefreshMsg',
]);

/** §8.2.2 "any other event": FSM error (RFC 6608 subcode for unexpected messages). */
function fsmError(tx: Tx, unexpectedMessageSubcode: number): Transition {
  const msg = MESSAGE_EVENTS.has(tx.event.type);
  return fail(tx, {
    count: true,
    why: msg ? 'unexpected message' : 'unexpected event',
    notify: { code: ERR.FSM, subcode: msg ? unexpectedMessageSubcode : ERR_FSM.UNSPECIFIED },
  });
}

function openSent(tx: Tx): Transition {
  const handled = common(tx);
  if (handled) return handled;
  const e = tx.event;
  switch (e.type) {
    case 'TcpConnectionFails':
      tx.stopTimer('HoldTimer');
      tx.push({ type: 'drop-connection' });
      tx.startConnectRetry();
      tx.state = 'Active';
      return tx.done('TCP connection failed; listening');
    case 'BGPOpen': {
      const r = acceptOpen(tx.c, e.open);
      if (!r.ok)
        return fail(tx, {
          count: true,
          why: `bad OPEN: ${r.error.reason}`,
          notify: fromError(r.error),
        });
      tx.stopTimer('DelayOpenTimer');
      tx.stopTimer('ConnectRetryTimer');
      return confirm(tx, r.value);
    }
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return fail(tx, { count: true, why: e.error.reason, notify: fromError(e.error) });
    case 'NotifMsg':
      return fail(tx, { count: true, why: notifText(e) });
    case 'UpdateSent':
      return tx.done('ignored');
    default:
      return fsmError(tx, ERR_FSM.UNEXPECTED_MESSAGE_IN_OPENSENT);
  }
}

function openConfirm(tx: Tx): Transition {
  const handled = common(tx);
  if (handled) return handled;
  const e = tx.event;
  switch (e.type) {
    case 'KeepaliveTimer_Expires':
      tx.push({ type: 'send-keepalive' });
      if (tx.negotiated) tx.startKeepalive(tx.negotiated);
      return tx.done('KEEPALIVE sent');
    case 'TcpConnectionFails':
      return fail(tx, { count: true, why: 'TCP connection failed' });
    case 'NotifMsg':
      return fail(tx, { count: true, why: notifText(e) });
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return fail(tx, { count: true, why: e.error.reason, notify: fromError(e.error) });
    case 'KeepAliveMsg': {
      tx.restartHold();
      tx.establishedAt = tx.now;
      tx.state = 'Established';
      const n = tx.negotiated;
      if (n) tx.push({ type: 'session-established', negotiated: n });
      return tx.done('session established');
    }
    case 'UpdateSent':
      return tx.done('ignored');
    default:
      return fsmError(tx, ERR_FSM.UNEXPECTED_MESSAGE_IN_OPENCONFIRM);
  }
}

function established(tx: Tx): Transition {
  const handled = common(tx);
  if (handled) return handled;
  const e = tx.event;
  switch (e.type) {
    case 'KeepaliveTimer_Expires':
      tx.push({ type: 'send-keepalive' });
      if (tx.negotiated) tx.startKeepalive(tx.negotiated);
      return tx.done('KEEPALIVE sent');
    case 'UpdateSent':
      if (!tx.negotiated || tx.negotiated.holdTime === 0) return tx.done('UPDATE sent');
      tx.startKeepalive(tx.negotiated);
      return tx.done('UPDATE sent; KeepaliveTimer restarted');
    case 'TcpConnectionFails':
      return fail(tx, { count: true, why: 'TCP connection failed' });
    case 'NotifMsg':
      return fail(tx, { count: true, why: notifText(e) });
    case 'KeepAliveMsg':
      tx.restartHold();
      return tx.done('KEEPALIVE received');
    case 'UpdateMsg':
      tx.push(e.update ? { type: 'process-update', update: e.update } : { type: 'process-update' });
      tx.restartHold();
      return tx.done('UPDATE received');
    case 'RouteRefreshMsg':
      tx.push(
        e.message
          ? { type: 'process-route-refresh', message: e.message }
          : { type: 'process-route-refresh' },
      );
      tx.restartHold();
      return tx.done('ROUTE-REFRESH received');
    case 'UpdateMsgErr':
    case 'BGPHeaderErr':
      return fail(tx, { count: true, why: e.error.reason, notify: fromError(e.error) });
    default:
      return fsmError(tx, ERR_FSM.UNEXPECTED_MESSAGE_IN_ESTABLISHED);
  }
}
