// TCPR's per-connection state and the connection table (spec §2.2–2.7; TCPR paper §II,
// Fig. 6), plus the packets TCPR generates for one connection (spec §2.4).
//
// Behaviour:
// - A connection is known under two keys: the app side (internal address, internal port,
//   peer address, peer port) for packets from the application, and the peer side
//   (external address, external port, peer address, peer port) for packets from the peer
//   and for the control channel. Both keys are re-derived whenever an address or port
//   changes (`ConnectionTable.reindex`).
// - The "hard" state is what the application must be able to give back after TCPR lost
//   everything: ports, the peer's handshake options, the app's own window scale (decision
//   E3), the checkpointed ack and the done flags. Everything else is "soft" and is rebuilt
//   from packets.
// - Window scales are stored as shift + 1, with 0 meaning unknown (the peer: unknown or not
//   offered, which TCPR treats alike) and `WS_NONE` meaning "the app offered none".
// - Sequence arithmetic is mod 2^32 (`add32`, `sub32`, `seqLt`).
// - Generated packets (`checkpointAck`, `fakeSynAck`, `resetToApp`) are built from the
//   state only, with fresh checksums, IPv4 or IPv6 after the connection's addresses.

import { buildSegment, TCP_FLAG } from './packet.js';
import { synAckOptions } from './options.js';

/** Window-scale code: the app's handshake had no window-scale option. */
export const WS_NONE = 0xff;
/** Window-scale code: not known. */
export const WS_UNKNOWN = 0;

export interface HardState {
  /** The application's port as the peer sees it (external port). */
  port: number;
  peerPort: number;
  /** Peer's MSS, 0 when unknown. */
  peerMss: number;
  /** Peer's window scale shift + 1, 0 when unknown or not offered. */
  peerWs: number;
  peerSackPermitted: boolean;
  /** The app's window scale in the original handshake: shift + 1, WS_NONE or WS_UNKNOWN. */
  appWs: number;
  /** Checkpoint: the peer's stream is acknowledged up to here (peer space). */
  ack: number;
  doneReading: boolean;
  doneWriting: boolean;
}

export interface PeerState {
  /** The peer's last ACK (peer space, i.e. the original connection's numbering). */
  ack: number;
  /** Sequence number just after the peer's FIN. */
  fin: number;
  /** The peer's last raw window. */
  win: number;
  haveFin: boolean;
  haveAck: boolean;
}

/** Everything TCPR knows about one connection. Mutable; owned by the filter. */
export interface Connection {
  internalAddr: Uint8Array;
  externalAddr: Uint8Array;
  peerAddr: Uint8Array;
  /** The application's port on its own side (internal port). */
  port: number;
  hard: HardState;
  /** hard.ack is meaningful: a peer SYN was seen or the app supplied the state. */
  hasCheckpoint: boolean;
  /** seq_peer = seq_app − delta. */
  delta: number;
  /** The app's last real ACK. */
  ack: number;
  /** `ack` has been seen in this incarnation of TCPR's state. */
  appHaveAck: boolean;
  /** Sequence number just after the app's FIN (peer space). */
  fin: number;
  /** The app's next sequence number (app space). */
  seq: number;
  /** The app's last raw window. */
  win: number;
  haveFin: boolean;
  done: boolean;
  failed: boolean;
  synSent: boolean;
  peer: PeerState;
  /** Window scale code of the current app incarnation's SYN (E3). */
  appWsNow: number;
  /** Last window field sent to the peer, −1 before the first (E2). */
  lastWinToPeer: number;
  /** Created by a peer SYN and not yet acknowledged by the peer: a handshake in progress. */
  embryonic: boolean;
  /** A fake SYN-ACK was injected and the app's handshake ACK has not been seen (§2.4d). */
  awaitingHandshakeAck: boolean;
  /** E17: a recovering app's durable read position, ahead of hard.ack; hard.ack follows
   * the app's ACKs up to it. Valid while havePendingAck. */
  pendingAck: number;
  havePendingAck: boolean;
  /** E17: a recovery was spliced (fake SYN-ACK) since the last `recover` message. */
  spliced: boolean;
  /** hard.ack at the last splice or restore: where the new socket's input starts (E17:
   * the pending checkpoint may move hard.ack on from there before the app reads it). */
  spliceAck: number;
  /** Current table keys (maintained by ConnectionTable). */
  keyInt: string;
  keyExt: string;
}

export function add32(a: number, b: number): number {
  return (a + b) >>> 0;
}

export function sub32(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** a < b in sequence space (RFC 9293 §3.4 comparison mod 2^32). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function emptyHard(): HardState {
  return {
    port: 0,
    peerPort: 0,
    peerMss: 0,
    peerWs: 0,
    peerSackPermitted: false,
    appWs: WS_UNKNOWN,
    ack: 0,
    doneReading: false,
    doneWriting: false,
  };
}

export function newConnection(
  internalAddr: Uint8Array,
  externalAddr: Uint8Array,
  peerAddr: Uint8Array,
  port: number,
  hard: HardState,
): Connection {
  return {
    internalAddr: internalAddr.slice(),
    externalAddr: externalAddr.slice(),
    peerAddr: peerAddr.slice(),
    port,
    hard,
    hasCheckpoint: false,
    delta: 0,
    ack: 0,
    appHaveAck: false,
    fin: 0,
    seq: 0,
    win: 0,
    haveFin: false,
    done: false,
    failed: false,
    synSent: false,
    peer: { ack: 0, fin: 0, win: 0, haveFin: false, haveAck: false },
    appWsNow: hard.appWs,
    lastWinToPeer: -1,
    awaitingHandshakeAck: false,
    pendingAck: 0,
    havePendingAck: false,
    spliced: false,
    spliceAck: 0,
    embryonic: false,
    keyInt: '',
    keyExt: '',
  };
}

/** §2.7: both FINs seen and acknowledged. */
export function evaluateDone(c: Connection): void {
  if (
    c.haveFin &&
    c.peer.haveFin &&
    c.peer.haveAck &&
    c.peer.ack === c.fin &&
    c.peer.fin === c.hard.ack
  ) {
    c.done = true;
  }
}

/** Window scale code of a SYN's options: shift + 1, or WS_NONE. */
export function wsCode(ws: number | undefined): number {
  return ws === undefined ? WS_NONE : Math.min(ws, 14) + 1;
}

/** The app's effective receive shift for a handshake given the codes, undefined if unknown. */
function effectiveShift(peerWs: number, appCode: number): number | undefined {
  if (peerWs === 0) return 0;
  if (appCode === WS_UNKNOWN) return undefined;
  if (appCode === WS_NONE) return 0;
  return appCode - 1;
}

/** Whether the fake SYN-ACK offers window scaling (only if the original handshake had it). */
function fakeOffersWs(c: Connection): boolean {
  return c.hard.peerWs !== 0 && c.hard.appWs !== WS_NONE;
}

/**
 * E3: the app's raw (non-SYN) window as the peer must read it. The peer still scales by
 * the original handshake's app shift; the current incarnation may scale by another one.
 */
export function windowToPeer(c: Connection, raw: number): number {
  const orig = effectiveShift(c.hard.peerWs, c.hard.appWs);
  const now = fakeOffersWs(c) ? effectiveShift(c.hard.peerWs, c.appWsNow) : 0;
  if (orig === undefined || now === undefined || orig === now) return raw;
  const bytes = raw * 2 ** now;
  return Math.min(0xffff, Math.floor(bytes / 2 ** orig));
}

/** §2.4a: checkpoint ACK to the peer (no options; window from the app's last window). */
export function checkpointAck(c: Connection): Uint8Array {
  const window = windowToPeer(c, c.win);
  c.lastWinToPeer = window;
  return buildSegment({
    src: c.externalAddr,
    dst: c.peerAddr,
    srcPort: c.hard.port,
    dstPort: c.hard.peerPort,
    // Before any app segment (state just restored) the peer's ACK is the right seq.
    seq: c.appHaveAck || c.synSent ? sub32(c.seq, c.delta) : c.peer.ack,
    ack: c.hard.ack,
    flags: TCP_FLAG.ACK,
    window,
  });
}

/** §2.4b: the SYN-ACK that splices the app's new socket onto the checkpoint. */
export function fakeSynAck(c: Connection): Uint8Array {
  const h = c.hard;
  return buildSegment({
    src: c.peerAddr,
    dst: c.internalAddr,
    srcPort: h.peerPort,
    dstPort: c.port,
    seq: sub32(h.ack, 1),
    ack: c.seq,
    flags: TCP_FLAG.SYN | TCP_FLAG.ACK,
    window: c.peer.win,
    options: synAckOptions({
      mss: h.peerMss !== 0 ? h.peerMss : undefined,
      ws: fakeOffersWs(c) ? h.peerWs - 1 : undefined,
      sackPermitted: h.peerSackPermitted,
    }),
  });
}

/** How far below the checkpoint a probe ends: a delayed ACK may not yet cover all of it. */
export const PROBE_BEHIND = 65536;

/**
 * A probe of the app's dead socket when TCPR does not know where its receive window is
 * (an entry restored after TCPR's own restart has never seen the app): one byte that
 * ends PROBE_BEHIND bytes before the checkpoint. The socket has received and acknowledged
 * the checkpoint (the app read up to it; a closing socket's FIN acknowledges all it got),
 * so the byte is below its window and Linux answers with a duplicate ACK of its rcv_nxt
 * whatever our ACK field says, and without its out-of-window rate limit, which spares
 * segments that carry data (tcp_validate_incoming, tcp_oow_rate_limited). TCPR's failed
 * path answers that ACK with the exact reset.
 */
export function probeApp(c: Connection): Uint8Array {
  return buildSegment({
    src: c.peerAddr,
    dst: c.internalAddr,
    srcPort: c.hard.peerPort,
    dstPort: c.port,
    seq: sub32(c.hard.ack, PROBE_BEHIND + 1),
    ack: c.peer.haveAck ? add32(c.peer.ack, c.delta) : 0,
    flags: TCP_FLAG.ACK,
    window: 0,
    payload: new Uint8Array(1),
  });
}

/** §2.4c: RST to the app's dead socket; `seq` must be that socket's rcv_nxt. */
export function resetToApp(c: Connection, seq: number): Uint8Array {
  return buildSegment({
    src: c.peerAddr,
    dst: c.internalAddr,
    srcPort: c.hard.peerPort,
    dstPort: c.port,
    seq,
    ack: 0,
    flags: TCP_FLAG.RST,
    window: 0,
  });
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function addrKey(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i++) s += HEX[a[i]!]!;
  return s;
}

/** Table key of one side of a connection: local address and port, peer address and port. */
export function connKey(
  local: Uint8Array,
  localPort: number,
  peer: Uint8Array,
  peerPort: number,
): string {
  return addrKey(local) + ':' + localPort + '/' + addrKey(peer) + ':' + peerPort;
}

/** A registered listener: peer SYNs to (external, port) go to (internal, internalPort). */
export interface Listener {
  internalAddr: Uint8Array;
  internalPort: number;
  externalAddr: Uint8Array;
  port: number;
}

/**
 * Connections under both keys, listeners, and the finished connections kept (most recent
 * last) until the app deletes them or `maxDone` newer ones push them out.
 */
export class ConnectionTable {
  private readonly byInt = new Map<string, Connection>();
  private readonly byExt = new Map<string, Connection>();
  private readonly listeners = new Map<string, Listener>();
  private readonly finished = new Set<Connection>();

  constructor(private readonly maxDone = 1024) {}

  get size(): number {
    return this.byExt.size;
  }

  all(): Connection[] {
    return [...this.byExt.values()];
  }

  byInternal(addr: Uint8Array, port: number, peer: Uint8Array, peerPort: number) {
    return this.byInt.get(connKey(addr, port, peer, peerPort));
  }

  byExternal(addr: Uint8Array, port: number, peer: Uint8Array, peerPort: number) {
    return this.byExt.get(connKey(addr, port, peer, peerPort));
  }

  /** Adds or re-keys a connection; a different one holding either key is removed. */
  reindex(c: Connection): void {
    const ki = connKey(c.internalAddr, c.port, c.peerAddr, c.hard.peerPort);
    const ke = connKey(c.externalAddr, c.hard.port, c.peerAddr, c.hard.peerPort);
    if (c.keyInt === ki && c.keyExt === ke && this.byExt.get(ke) === c) return;
    if (this.byInt.get(c.keyInt) === c) this.byInt.delete(c.keyInt);
    if (this.byExt.get(c.keyExt) === c) this.byExt.delete(c.keyExt);
    for (const other of [this.byInt.get(ki), this.byExt.get(ke)]) {
      if (other && other !== c) this.remove(other);
    }
    c.keyInt = ki;
    c.keyExt = ke;
    this.byInt.set(ki, c);
    this.byExt.set(ke, c);
  }

  remove(c: Connection): void {
    if (this.byInt.get(c.keyInt) === c) this.byInt.delete(c.keyInt);
    if (this.byExt.get(c.keyExt) === c) this.byExt.delete(c.keyExt);
    this.finished.delete(c);
  }

  /** Notes that c is done; evicts the oldest finished connections beyond maxDone. */
  markFinished(c: Connection): void {
    if (this.finished.has(c)) return;
    this.finished.add(c);
    while (this.finished.size > this.maxDone) {
      const oldest = this.finished.values().next().value as Connection;
      this.remove(oldest);
    }
  }

  listen(l: Listener): void {
    this.listeners.set(connKey(l.externalAddr, l.port, new Uint8Array(0), 0), l);
  }

  unlisten(externalAddr: Uint8Array, port: number): boolean {
    return this.listeners.delete(connKey(externalAddr, port, new Uint8Array(0), 0));
  }

  listener(externalAddr: Uint8Array, port: number): Listener | undefined {
    return this.listeners.get(connKey(externalAddr, port, new Uint8Array(0), 0));
  }

  allListeners(): Listener[] {
    return [...this.listeners.values()];
  }
}

/** A copy of a connection's state (query replies, lists, tests): all but bookkeeping. */
export type ConnectionSnapshot = Pick<
  Connection,
  | 'internalAddr'
  | 'externalAddr'
  | 'peerAddr'
  | 'port'
  | 'hard'
  | 'delta'
  | 'ack'
  | 'fin'
  | 'seq'
  | 'win'
  | 'haveFin'
  | 'done'
  | 'failed'
  | 'synSent'
  | 'spliced'
  | 'spliceAck'
  | 'peer'
  | 'appWsNow'
>;

export function snapshot(c: Connection): ConnectionSnapshot {
  // Every field spelled out: after a leading spread V8 adds each further property the slow
  // way (10 µs against 0.15 µs for this object, measured on the side channel's state reply).
  const s = savedState(c);
  return {
    internalAddr: s.internalAddr,
    externalAddr: s.externalAddr,
    peerAddr: s.peerAddr,
    port: s.port,
    hard: s.hard,
    delta: c.delta,
    ack: c.ack,
    fin: c.fin,
    seq: c.seq,
    win: c.win,
    haveFin: c.haveFin,
    done: c.done,
    failed: c.failed,
    synSent: c.synSent,
    spliced: c.spliced,
    spliceAck: c.spliceAck,
    peer: { ...c.peer },
    appWsNow: c.appWsNow,
  };
}

/** What an application saves and gives back to re-create TCPR's entry (slow recovery). */
export interface SavedState {
  internalAddr: Uint8Array;
  externalAddr: Uint8Array;
  peerAddr: Uint8Array;
  /** Internal port of the application socket. */
  port: number;
  hard: HardState;
}

export function savedState(c: Connection | ConnectionSnapshot): SavedState {
  return {
    internalAddr: c.internalAddr.slice(),
    externalAddr: c.externalAddr.slice(),
    peerAddr: c.peerAddr.slice(),
    port: c.port,
    hard: { ...c.hard },
  };
}
