// Non-stop BGP over TCPR (issue 7): `nonstop speaker --tcpr-state DIR` as a TCPR
// application. Its sessions survive `kill -9` of the speaker: the neighbours never see the
// session go down (paper §III-B, "BGP sessions").
//
// Per neighbour (one directory under the state dir, named after the neighbour):
// - `in.log`: every octet received from the neighbour since the TCP connection opened,
//   appended as it arrives. It is the durable form of the routing state learned from the
//   neighbour: replaying it through the session rebuilds the Adj-RIB-In exactly. Every
//   `commitIntervalMs` the log is fdatasync'ed and only then TCPR's checkpoint advanced
//   to its length, so the neighbour's TCP only ever sees acknowledgments for input that
//   is on disk (the paper's rule: acknowledge only what the application has made safe).
// - `out.log`: every octet written to the neighbour, appended before it is written to the
//   socket. After a crash the new socket's stream starts where the neighbour's last ACK
//   was (TCPR's splice); out.log from there is re-sent first, which completes a message
//   cut in half by the crash and repeats whole messages the neighbour never got.
// - `session.json`: TCPR's connection record (client.ts) and, once the session is
//   Established, the Peer's exported state (FSM, negotiated capabilities) and the clock
//   reading it was taken at.
//
// Recovery (`resume`, at speaker start): recoverConnection() re-attaches the connection
// (same local address and port; TCPR answers the SYN itself and splices); out.log from
// TCPR's write offset is re-sent, then one KEEPALIVE (the neighbour's hold timer ran
// during the outage); the Peer imports its Established state with the recovered socket
// and replays in.log after the OPEN/KEEPALIVE exchange as buffered input, which goes
// through the normal receive path (decode, RFC 7606 handling, import policy, decision):
// the Loc-RIB is rebuilt and exported again. Routes are re-announced to the neighbour
// unchanged (it ignores identical ones), never withdrawn. Input the neighbour sent during
// the outage was never acknowledged, so its TCP re-sends it and it is processed live.
// When recovery fails (TCPR has no state and the neighbour answers the reconnect with a
// RST, the record is unreadable…) the stored session is discarded, logged, and the
// neighbour starts afresh like any restart.
//
// Durability is against a process crash (the failure TCPR covers): out.log is written to
// the page cache before the socket; in.log is fdatasync'ed before each checkpoint. The logs
// grow for the life of the session (truncated when a new session starts); compacting
// in.log into an Adj-RIB-In snapshot is left for later.

import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import { replaceFile } from '../lib/files.js';
import type { Logger } from '../lib/log.js';
import { TcpConnector, TcpTransport } from '../net/tcp.js';
import {
  ForwardingTransport,
  type Connector,
  type Endpoint,
  type Listener,
  type Transport,
} from '../net/transport.js';
import { BGP_HEADER_LEN, KEEPALIVE_BYTES, MSG } from '../wire/index.js';
import type { NeighborConfig } from '../speaker/config/index.js';
import type { Peer, PeerSnapshot } from '../speaker/session/index.js';
import type { ResumedSession, SessionHooks } from '../speaker/speaker.js';
import {
  connectProtected,
  recoverConnection,
  type TcprChannel,
  type TcprConnection,
  type TcprRecord,
} from './client.js';

export interface TcprBgpOptions {
  /** Directory holding one sub-directory per neighbour. */
  readonly stateDir: string;
  readonly channel: TcprChannel;
  readonly clock: Clock;
  readonly log: Logger;
  /** Group commit: in.log fdatasync + checkpoint at most this often (ms); default 10. */
  readonly commitIntervalMs?: number;
  /** Connect timeout of a protected session (ms); default 5000. */
  readonly connectTimeoutMs?: number;
}

interface SessionFile {
  format: 'nonstop-tcpr-bgp-session';
  version: 1;
  record: TcprRecord;
  snapshot?: PeerSnapshot;
  /** Clock reading when the snapshot was taken (importState's shiftMs). */
  clockAt?: number;
}

/** The neighbour's directory name: its key with anything unusual replaced. */
export function sessionDirName(key: string): string {
  const name = key.replace(/[^0-9A-Za-z.:_-]/g, '_').replace(/:/g, '-');
  return name === '.' || name === '..' ? `_${name}` : name;
}

/**
 * Offset just after the message that made the session Established: the peer's OPEN and
 * then its first KEEPALIVE (RFC 4271 §8.2.2, OpenConfirm). Undefined when the log does not
 * hold both (the session never got there).
 */
export function establishedOffset(input: Uint8Array): number | undefined {
  let off = 0;
  let sawOpen = false;
  while (off + BGP_HEADER_LEN <= input.length) {
    const len = (input[off + 16]! << 8) | input[off + 17]!;
    if (len < BGP_HEADER_LEN || off + len > input.length) return undefined;
    const type = input[off + 18]!;
    off += len;
    if (type === MSG.OPEN) sawOpen = true;
    else if (type === MSG.KEEPALIVE && sawOpen) return off;
  }
  return undefined;
}

/** One neighbour's files. */
class SessionStore {
  private inFd = -1;
  private outFd = -1;
  inLength = 0;
  outLength = 0;
  private synced = 0;

  constructor(readonly dir: string) {}

  private path(f: string): string {
    return join(this.dir, f);
  }

  /** A new session: empty logs, the connection's record. */
  begin(record: TcprRecord): void {
    this.close();
    mkdirSync(this.dir, { recursive: true });
    for (const f of ['in.log', 'out.log']) writeFileSync(this.path(f), '');
    this.writeSession({ format: 'nonstop-tcpr-bgp-session', version: 1, record });
    this.open();
  }

  /** Re-opens the logs of a stored session for appending. */
  open(): void {
    this.inFd = openSync(this.path('in.log'), 'a');
    this.outFd = openSync(this.path('out.log'), 'a');
    this.inLength = fstatSync(this.inFd).size;
    this.outLength = fstatSync(this.outFd).size;
    this.synced = this.inLength;
  }

  read(): { session: SessionFile; input: Uint8Array; output: Uint8Array } | undefined {
    if (!existsSync(this.path('session.json'))) return undefined;
    const session = JSON.parse(readFileSync(this.path('session.json'), 'utf8')) as SessionFile;
    if (session.format !== 'nonstop-tcpr-bgp-session' || session.version !== 1) {
      throw new Error(`${this.path('session.json')}: not a nonstop TCPR session file`);
    }
    return {
      session,
      input: readFileSync(this.path('in.log')),
      output: readFileSync(this.path('out.log')),
    };
  }

  writeSession(s: SessionFile): void {
    replaceFile(this.path('session.json'), JSON.stringify(s), true);
  }

  session(): SessionFile {
    return JSON.parse(readFileSync(this.path('session.json'), 'utf8')) as SessionFile;
  }

  appendIn(chunk: Uint8Array): void {
    writeSync(this.inFd, chunk);
    this.inLength += chunk.length;
  }

  appendOut(chunk: Uint8Array): void {
    writeSync(this.outFd, chunk);
    this.outLength += chunk.length;
  }

  /** fdatasync of in.log if it grew; returns the durable input length, or -1 if unchanged. */
  sync(): number {
    if (this.inFd < 0 || this.synced === this.inLength) return -1;
    fdatasyncSync(this.inFd);
    this.synced = this.inLength;
    return this.synced;
  }

  discard(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  close(): void {
    for (const fd of [this.inFd, this.outFd]) if (fd >= 0) closeSync(fd);
    this.inFd = -1;
    this.outFd = -1;
  }
}

/**
 * The transport of a protected session: input appended to in.log as it arrives and
 * checkpointed once durable; output appended to out.log before it reaches the socket.
 */
class JournaledTransport extends ForwardingTransport {
  override get kind(): string {
    return 'tcpr';
  }
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    inner: Transport,
    private readonly store: SessionStore,
    private readonly conn: TcprConnection,
    private readonly commitMs: number,
    private readonly log: Logger,
    private readonly name: string,
  ) {
    super(inner);
    inner.onClose(() => this.stop());
    // A lost checkpoint datagram must not hold the peer's data back for long.
    this.heartbeat = setInterval(() => this.checkpoint(this.store.inLength, true), 1000);
    this.heartbeat.unref();
  }

  override write(bytes: Uint8Array): boolean {
    this.store.appendOut(bytes);
    return super.write(bytes);
  }

  /** Writes octets out.log already holds (the tail re-sent after recovery). */
  writeRaw(bytes: Uint8Array): boolean {
    return super.write(bytes);
  }

  override onData(cb: (chunk: Uint8Array) => void): void {
    super.onData((chunk) => {
      this.store.appendIn(chunk);
      this.schedule();
      cb(chunk);
    });
  }

  override onClose(cb: (err?: Error) => void): void {
    super.onClose((err) => {
      this.stop();
      cb(err);
    });
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const n = this.store.sync();
      if (n >= 0) this.checkpoint(n, false);
    }, this.commitMs);
  }

  private checkpoint(offset: number, repeat: boolean): void {
    if (this.closed) return;
    if (repeat && offset !== this.conn.checkpointed) return;
    this.conn.checkpoint(offset).catch((e: unknown) =>
      this.log.warn('TCPR checkpoint failed', {
        peer: this.name,
        offset,
        error: e instanceof Error ? e.message : String(e),
      }),
    );
  }

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.store.sync();
  }
}

/** Opens a neighbour's sessions through TCPR (outgoing only; incoming ones are plain). */
class TcprConnector implements Connector {
  private readonly plain = new TcpConnector();

  constructor(
    private readonly owner: TcprBgpSessions,
    private readonly n: NeighborConfig,
  ) {}

  async connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    return this.owner.connect(this.n, remote, local);
  }

  listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    return this.plain.listen(local, onAccept);
  }
}

export class TcprBgpSessions implements SessionHooks {
  private readonly stores = new Map<string, SessionStore>();
  private readonly commitMs: number;

  constructor(private readonly o: TcprBgpOptions) {
    this.commitMs = o.commitIntervalMs ?? 10;
    mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  }

  private store(n: NeighborConfig): SessionStore {
    let s = this.stores.get(n.key);
    if (!s) {
      s = new SessionStore(join(this.o.stateDir, sessionDirName(n.key)));
      this.stores.set(n.key, s);
    }
    return s;
  }

  /** Passive neighbours cannot be protected (we must open the connection to re-open it). */
  connectorFor(n: NeighborConfig): Connector | undefined {
    return n.passive ? undefined : new TcprConnector(this, n);
  }

  async connect(
    n: NeighborConfig,
    remote: Endpoint,
    local?: { address?: string; port?: number },
  ): Promise<Transport> {
    const conn = await connectProtected(this.o.channel, {
      host: remote.address,
      port: remote.port,
      ...(local?.address ? { localAddress: local.address } : {}),
      ...(local?.port ? { localPort: local.port } : {}),
      timeoutMs: this.o.connectTimeoutMs ?? 5000,
    });
    const store = this.store(n);
    store.begin(conn.record());
    this.o.log.info('TCPR-protected session opened', {
      peer: n.key,
      local: `${conn.socket.localAddress}:${conn.socket.localPort}`,
      state: store.dir,
    });
    return new JournaledTransport(
      new TcpTransport(conn.socket),
      store,
      conn,
      this.commitMs,
      this.o.log,
      n.key,
    );
  }

  established(n: NeighborConfig, peer: Peer): void {
    const store = this.stores.get(n.key);
    if (!store) return; // not a protected session (incoming)
    const session = store.session();
    if (session.snapshot) return; // resumed: the stored one still describes it
    store.writeSession({ ...session, snapshot: peer.exportState(), clockAt: this.o.clock.now() });
  }

  async resume(n: NeighborConfig): Promise<ResumedSession | undefined> {
    if (n.passive) return undefined;
    const store = this.store(n);
    let stored: ReturnType<SessionStore['read']>;
    try {
      stored = store.read();
    } catch (e) {
      this.fail(n, store, 'stored session unreadable', e);
      return undefined;
    }
    if (!stored) return undefined;
    const { session, input, output } = stored;
    const from = establishedOffset(input);
    if (!session.snapshot || from === undefined) {
      this.fail(n, store, 'stored session never reached Established', undefined);
      return undefined;
    }
    const t0 = performance.now();
    let r: Awaited<ReturnType<typeof recoverConnection>>;
    try {
      r = await recoverConnection(this.o.channel, session.record, input.length);
    } catch (e) {
      this.fail(n, store, 'TCPR recovery failed', e);
      return undefined;
    }
    if (r.writeOffset > output.length) {
      r.conn.socket.destroy();
      this.fail(
        n,
        store,
        `the peer acknowledged ${r.writeOffset} octets but out.log holds ${output.length}`,
        undefined,
      );
      return undefined;
    }
    store.open();
    const transport = new JournaledTransport(
      new SkippingTransport(new TcpTransport(r.conn.socket), r.skip),
      store,
      r.conn,
      this.commitMs,
      this.o.log,
      n.key,
    );
    // Complete what the dead process was sending, then tell the peer we are alive.
    const tail = output.subarray(r.writeOffset);
    if (tail.length) transport.writeRaw(tail);
    transport.write(KEEPALIVE_BYTES);
    this.o.log.info('TCPR session recovered', {
      peer: n.key,
      ms: Math.round((performance.now() - t0) * 1000) / 1000,
      replay: input.length - from,
      resent: tail.length,
      skip: r.skip,
    });
    return {
      snapshot: session.snapshot,
      transport,
      buffered: input.subarray(from),
      shiftMs: this.o.clock.now() - (session.clockAt ?? this.o.clock.now()),
    };
  }

  private fail(n: NeighborConfig, store: SessionStore, why: string, e: unknown): void {
    this.o.log.warn(`${why}: starting the session afresh`, {
      peer: n.key,
      state: store.dir,
      ...(e !== undefined ? { error: e instanceof Error ? e.message : String(e) } : {}),
    });
    store.discard();
  }

  close(): void {
    for (const s of this.stores.values()) s.close();
  }

  /** After a clean shutdown (Cease sent): no session is left to resume. */
  discardAll(): void {
    for (const s of this.stores.values()) s.discard();
  }
}

/** Drops the first `skip` input octets (already consumed before the crash; client.ts). */
class SkippingTransport extends ForwardingTransport {
  constructor(
    inner: Transport,
    private skip: number,
  ) {
    super(inner);
  }

  override onData(cb: (chunk: Uint8Array) => void): void {
    super.onData((chunk) => {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length);
        this.skip -= n;
        chunk = chunk.subarray(n);
      }
      if (chunk.length) cb(chunk);
    });
  }
}
