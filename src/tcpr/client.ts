// TCPR client library for TypeScript applications (TCPR paper §II–III; application protocol
// of spec §2.5, recovery walk-throughs §2.6). Two layers:
//
// - `TcprChannel`: the side channel over UDP (`node:dgram`) to the TCPR middlebox (default
//   198.18.0.1 / 2001:db8::1, port 7780). `query`, `update`, `updateAndQuery`, `restore`, `recover`,
//   `listen`, `list`, with per-try timeouts, retransmission, an optional shared key (HMAC, sequence numbers
//   from wall-clock microseconds) and typed errors (`TcprClientError`, stable `code`).
// - Protected connections: `connectProtected` (client side), `listenProtected` +
//   `acceptProtected` (server side: the listener is registered before accept),
//   `TcprConnection` (state, checkpoint, done flags) and `recoverConnection`.
//
// The contract with the application (what makes recovery exact):
// 1. Persist `conn.record()` (a JSON-able `TcprRecord`) once the connection is set up.
// 2. After consuming input, make the consumed input's effect AND the new read offset
//    durable (e.g. write + fsync + rename a state file), THEN call `conn.checkpoint(offset)`.
//    TCPR lets the peer see an acknowledgment only for checkpointed bytes, so the peer
//    keeps everything after the checkpoint for the retransmission after a crash.
// 3. Output must be reproducible from any offset: after recovery the new socket's stream
//    starts at the peer's last ACK, and the application re-sends identical bytes from
//    `writeOffset` on.
// 4. After a crash: `recoverConnection(channel, record, readOffset)` binds the same local
//    address and port and connects again (a server application too); TCPR splices the new
//    socket onto the old connection at TCPR's checkpoint. It returns the socket,
//    `writeOffset` (re-send from here) and `skip` (input the new socket delivers that was
//    already consumed, because TCPR's checkpoint was behind `readOffset`: a crash between
//    persisting and `checkpoint`; discard it, it is never acknowledged ahead of you).
//    If the middlebox lost its state (restart), the record's saved hard state is restored
//    (create-from-state, checkpoint `readOffset`) and the same reconnect performs the
//    state-less recovery.
//
// Offsets are byte offsets in each direction's stream (0 = first byte after the SYN); the
// record keeps each stream's base sequence number in the peer's numbering, so an offset is
// `seq − base` modulo 2^32 (streams longer than 4 GiB need the caller to count wraps).
//
// Replies are matched to requests by socket: every exchange uses its own ephemeral UDP
// socket, never used again, so a late duplicate reply to a retransmitted query can never be
// taken as the answer to a later one (the recovery query after reconnecting must not see a
// stale delta). The channel binds the next exchanges' sockets ahead of time, while it is
// idle, so a request costs no bind. Fire-and-forget updates share one long-lived socket:
// nothing is ever read from it.
//
// Recovery waits for the middlebox once (the network round trips, and on an idle machine
// the wake-ups, are most of its time): the reconnect's SYN, which TCPR answers itself, and
// right behind it one `recover` datagram (failed + checkpoint, or the record restored),
// whose answer is the splice. See recoverConnection.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import {
  connect as tcpConnect,
  createServer,
  isIPv6,
  Socket,
  type AddressInfo,
  type Server,
} from 'node:net';
import { monotonicMs } from '../lib/clock.js';
import { sleep } from '../net/wait.js';
import { formatAddr, parseAddr } from '../lib/ip.js';
import {
  add32,
  newConnection,
  savedState,
  snapshot,
  sub32,
  type ConnectionSnapshot,
  type SavedState,
} from './connection.js';
import {
  decodeControl,
  encodeControl,
  savedStateFromJson,
  savedStateToJson,
  type ConnRef,
  type ControlMessage,
  type ListenSpec,
  type UpdateFields,
} from './control-codec.js';

export const TCPR_CHANNEL = { v4: '198.18.0.1', v6: '2001:db8::1', port: 7780 } as const;

/** Sockets a channel keeps ready for its next exchanges. */
const SPARES = 2;
/** The channel tidies up (closes used sockets, binds spares) once quiet this long. */
const IDLE_MS = 2;
/** Used sockets left open until then, at most. */
const MAX_RETIRED = 32;
/** Resets of a socket holding a recovering connection's 4-tuple before giving up. */
const HOLDER_RESETS = 11;
/** `prepare`'s warm-up gives up on a step after this long (its recovery as a whole after
 * about twice that, a few hundred ms if loopback drops packets). */
const WARM_UP_MAX_MS = 100;

export type TcprClientErrorCode =
  | 'ERR_TCPR_TIMEOUT'
  | 'ERR_TCPR_UNKNOWN_CONNECTION'
  | 'ERR_TCPR_REMOTE'
  | 'ERR_TCPR_BAD_REPLY'
  | 'ERR_TCPR_CLOSED'
  | 'ERR_TCPR_CONNECT'
  | 'ERR_TCPR_RECORD';

export class TcprClientError extends Error {
  constructor(
    readonly code: TcprClientErrorCode,
    message: string,
    /** For ERR_TCPR_REMOTE: TCPR's error code (e.g. `checkpoint-regression`). */
    readonly remoteCode?: string,
  ) {
    super(message);
    this.name = 'TcprClientError';
  }
}

export interface ChannelOptions {
  /** The side channel's address; default 198.18.0.1 (or 2001:db8::1 with `family: 6`). */
  address?: string;
  family?: 4 | 6;
  port?: number;
  /** Shared key (bytes or hex): datagrams are authenticated and replies must be. */
  key?: Uint8Array | string;
  /** Wait for a reply this long per try; default 200 ms. */
  timeoutMs?: number;
  /** Tries per request; default 10. */
  tries?: number;
  /** Local address to send from (default: whatever the route picks). */
  localAddress?: string;
}

/**
 * The UDP side channel to one TCPR middlebox. Every exchange has a socket of its own (see
 * the top of this file), bound and connected ahead of time: a request costs no bind, and
 * its datagrams leave before the call returns.
 */
export class TcprChannel {
  readonly address: string;
  readonly port: number;
  private readonly key: Uint8Array | undefined;
  private readonly timeoutMs: number;
  private readonly tries: number;
  private lastSeq = 0;
  private closed = false;
  private readonly open = new Set<UdpSocket>();
  /** Bound, connected and never used: the next exchanges' sockets. */
  private readonly ready: UdpSocket[] = [];
  /** Spares still being bound. */
  private readonly binding = new Set<Promise<UdpSocket>>();
  /** Used: closed while the channel is idle (nothing is read from them any more). */
  private readonly retired: UdpSocket[] = [];
  /** Exchanges under way. */
  private busy = 0;
  private idle: NodeJS.Timeout | undefined;
  /** Fire-and-forget updates go out on this one; nothing that arrives on it is read. */
  private sender: Promise<UdpSocket> | undefined;

  constructor(private readonly opts: ChannelOptions = {}) {
    this.address = opts.address ?? (opts.family === 6 ? TCPR_CHANNEL.v6 : TCPR_CHANNEL.v4);
    this.port = opts.port ?? TCPR_CHANNEL.port;
    this.key =
      typeof opts.key === 'string' ? Uint8Array.from(Buffer.from(opts.key, 'hex')) : opts.key;
    this.timeoutMs = opts.timeoutMs ?? 200;
    this.tries = opts.tries ?? 10;
    this.tidy();
  }

  /**
   * Resolves once the channel's sockets are bound (a socket that failed to bind is dropped,
   * not thrown) and a recovery's code has run once (`warmUp`). A process's first UDP socket
   * costs 3–5 ms (Node loads its `cluster` and `dns` modules then, measured on this
   * project's VM), and the first run of the rest about 2 ms; a recovering process calls this
   * while it reads its saved state, so its recovery pays for neither.
   */
  async prepare(): Promise<void> {
    this.tidy();
    warmedUp ??= warmUp(this.key);
    await Promise.allSettled([...this.binding, this.senderSocket(), warmedUp]);
  }

  /** The connection's state, or ERR_TCPR_UNKNOWN_CONNECTION. */
  async query(conn: ConnRef): Promise<ConnectionSnapshot> {
    const r = await this.exchange([{ type: 'query', conn }], ['state', 'unknown']);
    if (r.type === 'state') return r.state;
    throw unknownError(conn);
  }

  /** Field-wise update. TCPR does not answer a successful update; an error reply that
   * arrives within `waitMs` (default 0: do not wait) is thrown. */
  async update(conn: ConnRef, fields: UpdateFields, waitMs = 0): Promise<void> {
    const msg: ControlMessage = { type: 'update', conn, fields };
    if (waitMs > 0) await this.exchange([msg], [], { tries: 1, timeoutMs: waitMs });
    else await this.send(msg);
  }

  /**
   * An update and the state after it, in one exchange: the update and a query go out
   * together (TCPR handles a sender's datagrams in order) and are re-sent together until
   * the state comes. ERR_TCPR_REMOTE when TCPR refused the update (its error reply comes
   * first), ERR_TCPR_UNKNOWN_CONNECTION when it has no such connection.
   */
  async updateAndQuery(conn: ConnRef, fields: UpdateFields): Promise<ConnectionSnapshot> {
    const r = await this.exchange(
      [
        { type: 'update', conn, fields },
        { type: 'query', conn },
      ],
      ['state'],
    );
    if (r.type === 'state') return r.state;
    throw new TcprClientError('ERR_TCPR_BAD_REPLY', `unexpected ${r.type} reply to a query`);
  }

  /** Create (or overwrite the hard state of) an entry from saved state. */
  async restore(state: SavedState): Promise<void> {
    await this.exchange([{ type: 'restore', state }], ['ok']);
  }

  /**
   * A recovering app's one message (filter E17), sent right behind its reconnect's SYN:
   * TCPR restores the connection from `state` (checkpoint `state.hard.ack`, failed) unless
   * it has a checkpoint for it, which it leaves as it is, and answers with the state.
   */
  async recover(state: SavedState): Promise<ConnectionSnapshot> {
    const r = await this.exchange([{ type: 'recover', state }], ['state']);
    if (r.type === 'state') return r.state;
    throw new TcprClientError('ERR_TCPR_BAD_REPLY', `unexpected ${r.type} reply to recover`);
  }

  /** Register (or remove) a listener: peer SYNs to `spec.port` go to the internal addr/port. */
  async listen(spec: ListenSpec, remove = false): Promise<void> {
    await this.exchange([{ type: 'listen', listen: spec, remove }], ['ok']);
  }

  async list(offset = 0): Promise<{ total: number; conns: ConnectionSnapshot[] }> {
    const r = await this.exchange([{ type: 'list', offset }], ['list-reply']);
    return r.type === 'list-reply' ? { total: r.total, conns: r.conns } : { total: 0, conns: [] };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    for (const s of this.open) s.close();
    this.open.clear();
    this.ready.length = this.retired.length = 0;
    this.sender = undefined;
  }

  private encode(msg: ControlMessage): Uint8Array {
    // Strictly increasing, from wall-clock microseconds (survives a restart of the app).
    const seq = Math.max(this.lastSeq + 1, Date.now() * 1000);
    this.lastSeq = seq;
    return encodeControl(msg, this.key ? { key: this.key, seq } : {});
  }

  /**
   * A socket bound to an ephemeral port and connected to the channel: it sends without an
   * address lookup and the kernel hands it only datagrams from the channel. Unreferenced:
   * an idle channel does not keep the process alive.
   */
  private bind(): Promise<UdpSocket> {
    const s = createSocket(isIPv6(this.address) ? 'udp6' : 'udp4');
    this.open.add(s);
    const bound = new Promise<UdpSocket>((resolve, reject) => {
      const failed = (e: Error): void => {
        this.release(s);
        reject(e);
      };
      s.once('error', failed);
      s.once('close', () => reject(closedError()));
      s.bind({ address: this.opts.localAddress, port: 0 }, () => {
        s.connect(this.port, this.address, (e?: Error) => {
          if (e) return failed(e);
          s.off('error', failed);
          // ICMP errors reported on a connected socket: the retransmissions carry on, as
          // they would on an unconnected one (which never hears of them).
          s.on('error', () => undefined);
          s.unref();
          resolve(s);
        });
      });
    });
    bound.catch(() => undefined); // a spare's error is its taker's
    return bound;
  }

  /**
   * While no exchange waits for a reply (work meanwhile delays the reply's handling: by
   * about 60 µs for a bind, measured): closes the used sockets and binds spares, two, so
   * that a recovery's exchanges find theirs. A spare that fails to bind is dropped.
   */
  private tidy(): void {
    if (this.closed || this.busy > 0) return;
    for (const s of this.retired.splice(0)) this.release(s);
    while (this.ready.length + this.binding.size < SPARES) {
      const p = this.bind();
      this.binding.add(p);
      p.then(
        (s) => {
          this.binding.delete(p);
          this.ready.push(s);
        },
        () => this.binding.delete(p),
      );
    }
  }

  private release(s: UdpSocket): void {
    if (this.open.delete(s)) s.close();
  }

  /** The long-lived socket fire-and-forget updates go out on (bound on first use). */
  private senderSocket(): Promise<UdpSocket> {
    if (this.closed) return Promise.reject(closedError());
    if (!this.sender) {
      const p = this.bind();
      this.sender = p;
      const forget = (): void => {
        if (this.sender === p) this.sender = undefined;
      };
      p.then((s) => s.once('close', forget), forget);
    }
    return this.sender;
  }

  private async send(msg: ControlMessage): Promise<void> {
    if (this.closed) throw closedError();
    const s = await this.senderSocket();
    await new Promise<void>((resolve, reject) =>
      s.send(this.encode(msg), (e) => (e ? reject(e) : resolve())),
    );
  }

  /**
   * One exchange on a socket of its own: sends `msgs` in order (all of them again every
   * `timeoutMs`, up to `tries` times) until a reply of one of `expect` types, an `unknown`
   * or an `error` comes. With `expect` empty, silence is success. With a spare ready, the
   * datagrams are sent before this returns.
   */
  private async exchange(
    msgs: readonly ControlMessage[],
    expect: readonly ControlMessage['type'][],
    o: { tries?: number; timeoutMs?: number } = {},
  ): Promise<ControlMessage> {
    if (this.closed) throw closedError();
    const tries = o.tries ?? this.tries;
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const what = msgs.map((m) => m.type).join('+');
    const s = this.ready.pop() ?? (await this.bind());
    this.busy++;
    return new Promise<ControlMessage>((resolve, reject) => {
      let n = 0;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (e: Error | undefined, m?: ControlMessage): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.removeListener('message', onMessage);
        s.removeListener('close', onClose);
        // Never used again: a late duplicate reply can only reach a socket nobody reads.
        if (this.retired.push(s) > MAX_RETIRED) this.release(this.retired.shift()!);
        if (--this.busy === 0) {
          clearTimeout(this.idle);
          this.idle = setTimeout(() => this.tidy(), IDLE_MS).unref();
        }
        if (e) reject(e);
        else resolve(m!);
      };
      const onMessage = (data: Buffer): void => {
        const d = decodeControl(data, this.key ? { key: this.key } : {});
        if (!d.ok) return; // forged, or not a reply: keep waiting
        const m = d.value.msg;
        if (m.type === 'error') {
          finish(
            new TcprClientError(
              'ERR_TCPR_REMOTE',
              `TCPR refused ${what}: ${m.code}: ${m.message}`,
              m.code,
            ),
          );
        } else if (m.type === 'unknown' && !expect.includes('unknown')) {
          finish(unknownError(m.conn));
        } else if (expect.includes(m.type)) {
          finish(undefined, m);
        }
        // Anything else (a no-state notice, a stray reply) is ignored.
      };
      const onClose = (): void => finish(closedError()); // the channel was closed
      const attempt = (): void => {
        if (n++ >= tries) {
          if (expect.length === 0) return finish(undefined, { type: 'ok' });
          return finish(
            new TcprClientError(
              'ERR_TCPR_TIMEOUT',
              `no answer to ${what} from TCPR at ${this.address}:${this.port} after ${tries} tries of ${timeoutMs} ms; is the middlebox running and the side channel routed to it?`,
            ),
          );
        }
        for (const msg of msgs) {
          s.send(this.encode(msg), (e) => {
            if (e) finish(e);
          });
        }
        timer = setTimeout(attempt, timeoutMs);
      };
      s.on('message', onMessage);
      s.once('close', onClose);
      attempt();
    });
  }
}

function closedError(): TcprClientError {
  return new TcprClientError('ERR_TCPR_CLOSED', 'TCPR channel is closed');
}

function unknownError(conn: ConnRef): TcprClientError {
  return new TcprClientError(
    'ERR_TCPR_UNKNOWN_CONNECTION',
    `TCPR has no state for port ${conn.port} ↔ ${formatAddr(conn.peerAddr)}:${conn.peerPort}; restore the saved state (recoverConnection does) or reconnect`,
  );
}

/** What an application persists to recover a connection. JSON-able. */
export interface TcprRecord {
  format: 'nonstop-tcpr-client';
  version: 1;
  /** TCPR's saved hard state (savedStateToJson), refreshed by checkpoints. */
  saved: string;
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  /** Peer-space sequence number of input offset 0 (the peer's ISN + 1). */
  inBase: number;
  /** Peer-space sequence number of output offset 0 (our original ISN + 1). */
  outBase: number;
}

/** A TCPR-protected TCP connection: the socket plus its side-channel handle. */
export class TcprConnection {
  readonly ref: ConnRef;
  private saved: SavedState;
  private ckpt: number;

  constructor(
    readonly channel: TcprChannel,
    readonly socket: Socket,
    private readonly rec: TcprRecord,
    /** Input offset the socket's stream starts at (the checkpoint when recovered). */
    readonly readBase: number,
    /** Output offset the socket's stream starts at: re-send from here. */
    readonly writeOffset: number,
  ) {
    const saved = savedStateFromJson(rec.saved);
    if (!saved.ok) throw new TcprClientError('ERR_TCPR_RECORD', saved.error.message);
    this.saved = saved.value;
    this.ref = {
      port: this.saved.hard.port,
      peerAddr: this.saved.peerAddr,
      peerPort: this.saved.hard.peerPort,
      externalAddr: this.saved.externalAddr,
    };
    this.ckpt = readBase;
  }

  /** The record to persist (its saved hard state reflects the last checkpoint). */
  record(): TcprRecord {
    return { ...this.rec, saved: savedStateToJson(this.saved) };
  }

  /** The record as it will be after `checkpoint(offset)`: persist this, then checkpoint. */
  recordAt(offset: number): TcprRecord {
    const hard = { ...this.saved.hard, ack: add32(this.rec.inBase, offset) };
    return { ...this.rec, saved: savedStateToJson({ ...this.saved, hard }) };
  }

  /** The last checkpointed input offset. */
  get checkpointed(): number {
    return this.ckpt;
  }

  /** TCPR's current state of this connection. */
  state(): Promise<ConnectionSnapshot> {
    return this.channel.query(this.ref);
  }

  /**
   * Advance the checkpoint to input offset `offset` (total bytes consumed). The caller must
   * have made its state durable first. With `confirm` the checkpoint is verified with a
   * query and re-sent until TCPR has it (UDP may lose the update).
   */
  async checkpoint(offset: number, confirm = false): Promise<void> {
    if (offset < this.ckpt) return;
    const ack = add32(this.rec.inBase, offset);
    this.ckpt = offset;
    this.saved = { ...this.saved, hard: { ...this.saved.hard, ack } };
    if (!confirm) return this.channel.update(this.ref, { ack });
    for (let i = 0; ; i++) {
      let s: ConnectionSnapshot;
      try {
        s = await this.channel.updateAndQuery(this.ref, { ack });
      } catch (e) {
        // TCPR is already ahead (e.g. done reading raised it): nothing to confirm.
        if (e instanceof TcprClientError && e.remoteCode === 'checkpoint-regression') return;
        throw e;
      }
      if (sub32(s.hard.ack, ack) < 0x80000000) return;
      if (i >= 5) {
        throw new TcprClientError('ERR_TCPR_TIMEOUT', `checkpoint ${offset} not taken by TCPR`);
      }
    }
  }

  /** No more input will be read (EOF seen): TCPR acknowledges the peer's data itself. */
  async doneReading(): Promise<void> {
    this.saved.hard.doneReading = true;
    await this.channel.update(this.ref, { doneReading: true });
  }

  /** Call before `socket.end()`: our FIN is then a real one, not a dying stack's. */
  async doneWriting(): Promise<void> {
    this.saved.hard.doneWriting = true;
    await this.channel.update(this.ref, { doneWriting: true });
  }

  /**
   * Both done flags in one update, confirmed: re-sent with a query behind it until TCPR's
   * state shows them (a fire-and-forget datagram lost would leave the FIN that follows
   * looking like a dying stack's, which TCPR drops). Call before `socket.end()` when the
   * application closes the connection for good and reads nothing more.
   */
  async doneReadingAndWriting(): Promise<void> {
    this.saved.hard.doneReading = this.saved.hard.doneWriting = true;
    const s = await this.channel.updateAndQuery(this.ref, { doneReading: true, doneWriting: true });
    if (!s.hard.doneReading || !s.hard.doneWriting) {
      throw new TcprClientError('ERR_TCPR_BAD_REPLY', 'TCPR did not take the done flags');
    }
  }

  /** Forget the connection in TCPR (after the close, or to abandon it). */
  async done(): Promise<void> {
    await this.channel.update(this.ref, { done: true });
  }
}

export interface ConnectProtectedOptions {
  host: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  timeoutMs?: number;
}

/** Connects a new protected connection (client side) and learns its bases from TCPR. */
export async function connectProtected(
  channel: TcprChannel,
  o: ConnectProtectedOptions,
): Promise<TcprConnection> {
  const socket = await tcpDial(
    undefined,
    o.host,
    o.port,
    o.localAddress,
    o.localPort,
    o.timeoutMs ?? 5000,
  );
  return adopt(channel, socket);
}

/** Registers `server` (listening) with TCPR, so peer SYNs to its port reach it. */
export async function listenProtected(
  channel: TcprChannel,
  server: Server,
  externalPort?: number,
): Promise<void> {
  const a = server.address();
  if (!a || typeof a === 'string') throw new Error('listenProtected: server is not listening');
  const internalAddr = mustAddr(a.address);
  await channel.listen({ internalAddr, internalPort: a.port, port: externalPort ?? a.port });
}

/** Adopts an accepted socket (server side) as a protected connection. */
export function acceptProtected(channel: TcprChannel, socket: Socket): Promise<TcprConnection> {
  return adopt(channel, socket);
}

/** Queries TCPR for a fresh connection before anything was written on it. */
async function adopt(channel: TcprChannel, socket: Socket): Promise<TcprConnection> {
  const localAddress = socket.localAddress!;
  const localPort = socket.localPort!;
  const peerAddress = socket.remoteAddress!;
  const peerPort = socket.remotePort!;
  const ref: ConnRef = { port: localPort, peerAddr: mustAddr(peerAddress), peerPort };
  const s = await findState(channel, ref, mustAddr(localAddress));
  const rec = recordOf(s, { localAddress, localPort, peerAddress, peerPort });
  return new TcprConnection(channel, socket, rec, 0, 0);
}

/**
 * The record of a connection TCPR holds, as its state `s` stands: offset 0 of each stream
 * is TCPR's checkpoint (input) and the app's next byte (output). `adopt` takes it right
 * after the handshake; a tool can take it for a connection whose app kept no record (to
 * recover it and close it in order). Addresses default to the state's own.
 */
export function recordOf(
  s: ConnectionSnapshot,
  at: Partial<Pick<TcprRecord, 'localAddress' | 'localPort' | 'peerAddress' | 'peerPort'>> = {},
): TcprRecord {
  const saved: SavedState = {
    internalAddr: s.internalAddr,
    externalAddr: s.externalAddr,
    peerAddr: s.peerAddr,
    port: s.port,
    hard: s.hard,
  };
  return {
    format: 'nonstop-tcpr-client',
    version: 1,
    saved: savedStateToJson(saved),
    localAddress: at.localAddress ?? formatAddr(s.internalAddr),
    localPort: at.localPort ?? s.port,
    peerAddress: at.peerAddress ?? formatAddr(s.peerAddr),
    peerPort: at.peerPort ?? s.hard.peerPort,
    inBase: s.hard.ack,
    outBase: sub32(s.seq, s.delta),
  };
}

/** Query by internal port first; with address rewriting the external port is the same. */
async function findState(
  channel: TcprChannel,
  ref: ConnRef,
  internalAddr: Uint8Array,
): Promise<ConnectionSnapshot> {
  const s = await channel.query(ref);
  if (!equalBytes(s.internalAddr, internalAddr)) {
    throw new TcprClientError(
      'ERR_TCPR_BAD_REPLY',
      `TCPR's state for port ${ref.port} belongs to ${formatAddr(s.internalAddr)}, not ${formatAddr(internalAddr)}`,
    );
  }
  return s;
}

export interface RecoverOptions {
  /** Give up reconnecting after this long; default 10 s. */
  timeoutMs?: number;
  /** The old socket of a still-running app (middlebox restart): reset it first. */
  oldSocket?: Socket;
  /**
   * A socket still holding the 4-tuple is the dead incarnation's (TCPR never saw it die):
   * mark the connection failed so TCPR resets it (default). false: it may be someone's live
   * socket; fail with ERR_TCPR_CONNECT instead (a tool closing connections nobody claims).
   */
  resetHolder?: boolean;
}

/**
 * Recovers a protected connection after a crash (or a middlebox restart): reconnects from
 * the same local address and port and sends `recover` right behind the SYN (TCPR leaves
 * a connection it has a checkpoint for as it is, with `readOffset` pending if ahead, or
 * restores it from the record if it lost it, and answers with its state, by then the
 * splice). `readOffset`: the input offset the app has durably consumed.
 */
export async function recoverConnection(
  channel: TcprChannel,
  rec: TcprRecord,
  readOffset: number,
  o: RecoverOptions = {},
): Promise<{ conn: TcprConnection; writeOffset: number; skip: number }> {
  if (rec.format !== 'nonstop-tcpr-client' || rec.version !== 1) {
    throw new TcprClientError('ERR_TCPR_RECORD', 'not a TCPR client record (format/version)');
  }
  const parsed = savedStateFromJson(rec.saved);
  if (!parsed.ok) throw new TcprClientError('ERR_TCPR_RECORD', parsed.error.message);
  const saved = parsed.value;
  const ref: ConnRef = {
    port: saved.hard.port,
    peerAddr: saved.peerAddr,
    peerPort: saved.hard.peerPort,
    externalAddr: saved.externalAddr,
  };
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  // The SYN goes first: TCPR answers it itself, spliced at its checkpoint, and `recover`
  // right behind it answers with the splice, so nothing waits for a side-channel round
  // trip before the handshake. TCPR never changes a checkpoint it has (filter E17): if it
  // is behind our durable read offset (a crash between persisting and checkpointing), the
  // new socket's input starts there and `skip` says how much of it to discard. If TCPR
  // has no state, the SYN goes on to the peer and `recover` restores the entry; the
  // peer's challenge ACK then lets TCPR splice (before or after the restore).
  const state: SavedState = {
    ...saved,
    hard: { ...saved.hard, ack: add32(rec.inBase, readOffset) },
  };
  let marked: Promise<{ s: ConnectionSnapshot } | { e: unknown }> | undefined;
  const mark = (): void => {
    marked ??= channel.recover(state).then(
      (s) => ({ s }),
      (e: unknown) => ({ e }),
    );
  };
  const made = new Socket();
  o.oldSocket?.resetAndDestroy();
  let socket: Socket | undefined;
  let lastErr: unknown;
  let dialedAt = 0;
  let first = false;
  let holderResets = 0;
  for (let attempt = 0; !socket && Date.now() < deadline; attempt++) {
    dialedAt = monotonicMs();
    first = attempt === 0;
    try {
      socket = await tcpDial(
        attempt === 0 ? made : undefined,
        rec.peerAddress,
        rec.peerPort,
        rec.localAddress,
        rec.localPort,
        Math.max(100, deadline - Date.now()),
        mark,
      );
    } catch (e) {
      lastErr = e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE') {
        // A socket still holds the 4-tuple: the dead incarnation's (TCPR never saw it die),
        // marked failed; only if allowed. TCPR resets it before it answers if it knows
        // that socket's receive window; if not (TCPR restarted since: the app died while
        // it was down, and its FIN-WAIT-1 orphan would hold the 4-tuple for minutes) it
        // probes the socket, whose answer TCPR resets: a round trip later, so the connect
        // is retried after each further kill a little later (1, 2, 4 … 512 ms: 1 s).
        if (o.resetHolder === false || holderResets >= HOLDER_RESETS) break;
        if (marked && 'e' in (await marked)) break;
        await channel.updateAndQuery(ref, { failed: true }).catch(() => undefined);
        if (holderResets > 0) await sleep(2 ** (holderResets - 1));
        holderResets++;
      } else await sleep(50);
    }
  }
  // Until the socket is handed over, its errors are ours: a peer that reset the connection
  // answers the splice's ACKs with a RST, which must not go unhandled.
  let broken: Error | undefined;
  const hold = (e: Error): void => void (broken ??= e);
  socket?.on('error', hold);
  try {
    mark();
    const r = await marked!;
    if ('e' in r) throw r.e;
    if (!socket) {
      throw new TcprClientError(
        'ERR_TCPR_CONNECT',
        `recovery connect ${rec.localAddress}:${rec.localPort} → ${rec.peerAddress}:${rec.peerPort} failed: ${String(lastErr)}`,
      );
    }
    // `recover`'s answer is the splice when it says one was made since the previous
    // `recover` (our SYN's: it went out first, on the same route), for the connection made
    // (the first attempt's) whose SYN went out once: a retransmitted one (Linux's initial
    // RTO is 1 s) fixes the splice again. Otherwise (a lost answer re-sent, a retry, a
    // state-less splice after the answer) the state is read now, after the handshake.
    const a = r.s;
    const spliced = first && monotonicMs() - dialedAt < SYN_RTO_MS / 2 && a.spliced;
    // Before anything is written: seq − delta is where the new socket's output starts.
    const s = spliced ? a : await channel.query(ref);
    const writeOffset = sub32(sub32(s.seq, s.delta), rec.outBase);
    // The input starts where TCPR spliced; its checkpoint may have followed the new socket
    // since (E17 pending checkpoint).
    const readBase = sub32(s.spliceAck, rec.inBase);
    const skip = readOffset - readBase;
    if (skip < 0) {
      throw new TcprClientError(
        'ERR_TCPR_RECORD',
        `TCPR's checkpoint (offset ${readBase}) is ahead of the app's durable read offset ${readOffset}: the app acknowledged input it did not persist`,
      );
    }
    socket.off('error', hold);
    if (broken) {
      throw new TcprClientError(
        'ERR_TCPR_CONNECT',
        `the recovered connection ${rec.localAddress}:${rec.localPort} → ${rec.peerAddress}:${rec.peerPort} failed before it was handed over: ${broken.message}`,
      );
    }
    const now = { ...saved, hard: s.hard };
    const conn = new TcprConnection(
      channel,
      socket,
      { ...rec, saved: savedStateToJson(now) },
      readBase,
      writeOffset,
    );
    // skip > 0 when TCPR's checkpoint was behind ours at the splice (our last checkpoint had
    // not reached it, or a state-less recovery whose peer's ACK was behind us): the socket
    // delivers those bytes again and the app discards them (never checkpointed ahead of it).
    return { conn, writeOffset, skip };
  } catch (e) {
    socket?.destroy();
    throw e;
  }
}

/** Linux's initial SYN retransmission timeout (TCP_TIMEOUT_INIT). */
const SYN_RTO_MS = 1000;

/** Connects `made` (or a new socket); `afterSyn` runs once the SYN is under way. */
function tcpDial(
  made: Socket | undefined,
  host: string,
  port: number,
  localAddress: string | undefined,
  localPort: number | undefined,
  timeoutMs: number,
  afterSyn?: () => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const to = { host, port, localAddress, localPort, noDelay: true };
    // (noDelay is a constructor option: a made socket gets it set.)
    const s = made ? made.setNoDelay(true).connect(to) : tcpConnect(to);
    // net.connect to an IP address calls connect(2) on the next tick; this one runs after.
    if (afterSyn) process.nextTick(afterSyn);
    const t = setTimeout(() => {
      s.destroy();
      reject(new TcprClientError('ERR_TCPR_CONNECT', `connect to ${host}:${port} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (e: Error): void => {
      clearTimeout(t);
      s.destroy();
      reject(e);
    };
    s.once('error', onError);
  });
}

/** The process's warm-up (once, whatever the number of channels and `prepare` calls). */
let warmedUp: Promise<void> | undefined;

/**
 * Runs a recovery once, off the network, in a process that has not run one yet (see
 * `prepare`): V8 compiles a function the first time it is called, and on this project's VM
 * a new process's first record parse, side-channel encode and decode and TCP connect took
 * about 2 ms together inside the recovery, against 0.3 ms when warm (measured per step).
 * `recoverConnection` of a synthetic record, against stand-ins on loopback: a TCP listener
 * of its own as the peer, and a UDP socket of its own as TCPR, which answers with the
 * splice (with the channel's key, if it has one). Everything is closed at once; given up
 * after about WARM_UP_MAX_MS, and skipped if loopback is down. Nothing goes elsewhere.
 */
async function warmUp(key: Uint8Array | undefined): Promise<void> {
  const accepted: Socket[] = [];
  const ignore = (): void => undefined;
  const server = createServer((s) => void accepted.push(s.on('error', ignore)));
  const tcpr = createSocket('udp4');
  server.on('error', ignore);
  tcpr.on('error', ignore);
  let channel: TcprChannel | undefined;
  try {
    // once() rejects on 'error': loopback down.
    await once(server.listen(0, '127.0.0.1'), 'listening');
    tcpr.bind(0, '127.0.0.1');
    await once(tcpr, 'listening');
    const peerPort = (server.address() as AddressInfo).port;
    const lo = new Uint8Array([127, 0, 0, 1]);
    const IN = 1000;
    const OUT = 2000;
    const c = newConnection(lo, lo, lo, 0, {
      port: 0,
      peerPort,
      peerMss: 536,
      peerWs: 0,
      appWs: 0,
      ack: IN,
      peerSackPermitted: false,
      doneReading: false,
      doneWriting: false,
    });
    // The splice at the checkpoint: input and output both start at offset 0.
    c.seq = OUT;
    c.spliced = true;
    c.spliceAck = IN;
    const state = snapshot(c);
    let seq = Date.now() * 1000;
    tcpr.on('message', (m, from) => {
      if (decodeControl(m, { key }).ok) {
        const reply = encodeControl({ type: 'state', state }, key ? { key, seq: ++seq } : {});
        tcpr.send(reply, from.port, from.address);
      }
    });
    const record: TcprRecord = {
      format: 'nonstop-tcpr-client',
      version: 1,
      saved: savedStateToJson(savedState(c)),
      localAddress: '127.0.0.1',
      localPort: 0,
      peerAddress: '127.0.0.1',
      peerPort,
      inBase: IN,
      outBase: OUT,
    };
    const port = tcpr.address().port;
    channel = new TcprChannel({
      address: '127.0.0.1',
      port,
      key,
      timeoutMs: WARM_UP_MAX_MS,
      tries: 1,
    });
    const r = await recoverConnection(channel, record, 0, { timeoutMs: WARM_UP_MAX_MS });
    r.conn.socket.destroy();
  } catch {
    // loopback down, or too slow: the recovery will compile its code itself
  } finally {
    channel?.close();
    tcpr.close();
    for (const s of accepted) s.destroy();
    server.close();
  }
}

function mustAddr(a: string): Uint8Array {
  const b = parseAddr(a.startsWith('::ffff:') ? a.slice(7) : a);
  if (!b) throw new Error(`TCPR client: "${a}" is not an IP address`);
  return b;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
