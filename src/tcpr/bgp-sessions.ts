// Non-stop BGP over TCPR (issue 7): `nonstop speaker --tcpr-state DIR` as a TCPR
// application. Its sessions survive `kill -9` of the speaker: the neighbours never see the
// session go down (paper §III-B, "BGP sessions").
//
// Connections: both the ones we open (connectProtected) and the ones the neighbour opens
// (acceptProtected) are protected. TCPR holds every connection on the addresses it maps
// and lets through acknowledgments of checkpointed input only, so an accepted connection
// left plain would stall. Each connection is journaled in memory until its session is
// Established (two may race, RFC 4271 §6.8, and the loser must not touch the stored
// session); its octets so far then become the logs below and session.json names it. A new
// connection while no session is live drops the stored one, which can never resume now.
//
// Per neighbour (one directory under the state dir, named after the neighbour), with
// offsets counted in each direction's TCP stream (0 = the first octet after the SYN), never
// in a file (compaction-files.ts has the layout and its crash-safety argument):
// - the input log: every octet received from the neighbour, as `in-<B>.snap` (the compacted
//   form of stream octets [0, B), input-compaction.ts; absent while B = 0) and `in-<B>.log`
//   (the octets from B on, appended as they arrive). Replaying snapshot + segment through
//   the session rebuilds the Adj-RIB-In exactly. Every `commitIntervalMs` the segment is
//   fdatasync'ed and only then TCPR's checkpoint advanced to the stream offset B + its
//   length, so the neighbour's TCP only ever sees acknowledgments for input that is on
//   disk (the paper's rule: acknowledge only what the application has made safe).
// - the output log `out-<W>.log`: every octet written to the neighbour from stream offset W
//   on, appended before it is written to the socket. After a crash the new socket's stream
//   starts where the neighbour's last ACK was (TCPR's splice); the log from there is re-sent
//   first, which completes a message cut in half by the crash and repeats whole messages
//   the neighbour never got.
// - `session.json`: TCPR's connection record (client.ts) and, once the session is
//   Established, the Peer's exported state (FSM, negotiated capabilities) and the clock
//   reading it was taken at.
// Directories of earlier versions (`in.log`, `out.log`: base 0, no snapshot) recover as they
// are; their files are replaced by the new names at the first compaction.
//
// Compaction: when the input segment reaches `compactThreshold` octets (default 32 MiB),
// snapshot + segment are compacted in a worker thread (compaction-runner.ts) into a new
// snapshot at the last whole message B; the event loop then only installs it (copies the
// segment's octets after B into the new segment, renames, fsyncs). When the output segment
// reaches the threshold, the octets the neighbour acknowledged (TCPR's peer.ack) are
// dropped the same way. Each is logged with sizes and times and counted in the metrics.
//
// Recovery (`resume`, at speaker start): the newest complete input pair and output log are
// read (anything else in the directory is removed); recoverConnection() re-attaches the
// connection with TCPR's checkpoint at the input stream's end (same local address and
// port, for a session the neighbour opened our listening port: the speaker resumes before
// it listens; TCPR answers the SYN itself and splices); the output log from TCPR's write offset
// (a stream offset, so minus W) is re-sent, then one KEEPALIVE (the neighbour's hold timer
// ran during the outage); the Peer imports its Established state with the recovered socket
// and replays snapshot + segment after the OPEN/KEEPALIVE exchange as buffered input,
// which goes through the normal receive path (decode, RFC 7606 handling, import policy,
// decision): the Loc-RIB is rebuilt and exported again. Routes are re-announced to the
// neighbour unchanged (it ignores identical ones), never withdrawn. Input the neighbour
// sent during the outage was never acknowledged, so its TCP re-sends it and it is
// processed live. When recovery fails (TCPR has no state and the neighbour answers the
// reconnect with a RST, the record is unreadable…) the stored session is discarded,
// logged, and the neighbour starts afresh like any restart.
//
// Durability is against a process crash (the failure TCPR covers): the output log is
// written to the page cache before the socket; the input segment is fdatasync'ed before
// each checkpoint; compaction fsyncs every file before the rename that makes it count.

import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import { replaceFile } from '../lib/files.js';
import type { Logger } from '../lib/log.js';
import type { Counter, Registry } from '../control/metrics.js';
import { TcpConnector, TcpTransport } from '../net/tcp.js';
import {
  ForwardingTransport,
  type Connector,
  type Endpoint,
  type Listener,
  type Transport,
} from '../net/transport.js';
import { KEEPALIVE_BYTES, type CodecContext } from '../wire/index.js';
import type { NeighborConfig } from '../speaker/config/index.js';
import type { Peer, PeerSnapshot } from '../speaker/session/index.js';
import type { ResumedSession, SessionHooks } from '../speaker/speaker.js';
import {
  acceptProtected,
  connectProtected,
  recoverConnection,
  TcprClientError,
  type TcprChannel,
  type TcprConnection,
  type TcprRecord,
} from './client.js';
import {
  abandonInput,
  installInput,
  installOutput,
  loadLogs,
  readRange,
  resetLogs,
  type InputCompactionDone,
  type LoadedLogs,
  type LogFiles,
} from './compaction-files.js';
import { CompactionRunner } from './compaction-runner.js';
import { add32, sub32 } from './connection.js';
import { establishedOffset } from './input-compaction.js';

export { establishedOffset };

/** Default size of a log segment that triggers compaction (in) or trimming (out). */
export const DEFAULT_COMPACT_THRESHOLD = 32 * 1024 * 1024;

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
  /**
   * Octets in a log segment (received since the last compaction, or sent since the last
   * trim) that start a compaction of in.log / a trim of out.log; default 32 MiB, 0: never.
   */
  readonly compactThreshold?: number;
  /** Where the speaker's metrics live (compaction counters, log sizes). */
  readonly metrics?: Registry;
  /** Compact on the event loop instead of a worker thread (tests). */
  readonly compactInline?: boolean;
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

const FILE_FORMAT = 'nonstop-tcpr-bgp-session';

/** One neighbour's files (compaction-files.ts names them by stream offset). */
class SessionStore {
  private inFd = -1;
  private outFd = -1;
  files: LogFiles | undefined;
  /** Octets in the current segments. */
  inLength = 0;
  outLength = 0;
  /** Input stream offset known durable. */
  private synced = 0;
  /** Bumped whenever the files are replaced or dropped: a compaction in flight is void. */
  generation = 0;
  /** The receive context of the established session (compaction needs it). */
  ctx: CodecContext | undefined;
  busy = false;
  retryAt = 0;
  snapshotSize = 0;
  /** The connection whose session the files hold (ConnJournal.attached). */
  owner: ConnJournal | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  private path(f: string): string {
    return join(this.dir, f);
  }

  /** Input stream offset just past the last octet received. */
  get inEnd(): number {
    return (this.files?.input.base ?? 0) + this.inLength;
  }

  /** Output stream offset just past the last octet written. */
  get outEnd(): number {
    return (this.files?.output.base ?? 0) + this.outLength;
  }

  /**
   * A session just established: its octets so far (from stream offset 0) become the new
   * logs, then session.json names it. The old session.json goes first, so a crash in
   * between leaves no session rather than an old record over new logs.
   */
  begin(session: SessionFile, input: readonly Uint8Array[], output: readonly Uint8Array[]): void {
    this.close();
    mkdirSync(this.dir, { recursive: true });
    rmSync(this.path('session.json'), { force: true });
    const files = resetLogs(this.dir);
    this.open(files);
    for (const c of input) this.appendIn(c);
    for (const c of output) this.appendOut(c);
    fdatasyncSync(this.inFd);
    this.synced = this.inEnd;
    this.writeSession(session);
  }

  /** Opens the logs of `files` for appending. */
  open(files: LogFiles): void {
    this.close();
    this.files = files;
    this.inFd = openSync(this.path(files.input.segment), 'a');
    this.outFd = openSync(this.path(files.output.segment), 'a');
    this.inLength = fstatSync(this.inFd).size;
    this.outLength = fstatSync(this.outFd).size;
    this.synced = this.inEnd;
    this.snapshotSize = files.input.snapshot ? statSync(this.path(files.input.snapshot)).size : 0;
  }

  read(): { session: SessionFile; logs: LoadedLogs | undefined } | undefined {
    let text: string;
    try {
      text = readFileSync(this.path('session.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const session = JSON.parse(text) as SessionFile;
    if (session.format !== FILE_FORMAT || session.version !== 1) {
      throw new Error(`${this.path('session.json')}: not a nonstop TCPR session file`);
    }
    return { session, logs: loadLogs(this.dir) };
  }

  writeSession(s: SessionFile): void {
    replaceFile(this.path('session.json'), JSON.stringify(s), true);
  }

  appendIn(chunk: Uint8Array): void {
    writeSync(this.inFd, chunk);
    this.inLength += chunk.length;
  }

  appendOut(chunk: Uint8Array): void {
    writeSync(this.outFd, chunk);
    this.outLength += chunk.length;
  }

  /** fdatasync of the input segment if it grew; returns the durable stream offset, or -1. */
  sync(): number {
    if (this.inFd < 0) return -1;
    if (this.synced !== this.inEnd) {
      fdatasyncSync(this.inFd);
      this.synced = this.inEnd;
    }
    return this.synced;
  }

  /** A compacted snapshot takes over (compaction-files.ts steps 2-4). */
  installSnapshot(done: InputCompactionDone): void {
    const files = this.files!;
    const cur = files.input;
    const tail = readRange(this.path(cur.segment), done.base - cur.base, this.inLength);
    let installed;
    try {
      installed = installInput(this.dir, cur, done, tail);
    } catch (e) {
      abandonInput(this.dir, done);
      throw e;
    }
    const { files: input, fd } = installed;
    closeQuietly(this.inFd);
    this.files = { ...files, input };
    this.inFd = fd;
    this.inLength = tail.length;
    this.snapshotSize = done.after;
    // `synced` stays: the next sync() checkpoints what the new segment holds.
  }

  /** Drops the output octets before stream offset `base` (acknowledged by the peer). */
  trimOutput(base: number): void {
    const files = this.files!;
    const cur = files.output;
    const tail = readRange(this.path(cur.segment), base - cur.base, this.outLength);
    const { files: output, fd } = installOutput(this.dir, cur, base, tail);
    closeQuietly(this.outFd);
    this.files = { ...files, output };
    this.outFd = fd;
    this.outLength = tail.length;
  }

  discard(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  close(): void {
    this.generation++;
    for (const fd of [this.inFd, this.outFd]) if (fd >= 0) closeSync(fd);
    this.inFd = -1;
    this.outFd = -1;
    this.files = undefined;
    this.ctx = undefined;
  }
}

/**
 * One protected connection's journal. Until its session is Established the octets stay in
 * memory: the connection may lose a collision (RFC 4271 §6.8) or fail its OPEN exchange,
 * and must not touch the neighbour's stored session meanwhile; nothing before Established
 * is ever resumed, so checkpointing that input needs no disk. `promote` (at Established)
 * makes it the store's session: from then on octets go to the files. Once the store holds
 * another session (this connection lost, or is an old one), or when the files could not be
 * written, the journal only counts: the input is still checkpointed (TCPR must go on
 * acknowledging it while the connection lives) but nothing can resume it.
 */
class ConnJournal {
  private input: Uint8Array[] | undefined = [];
  private output: Uint8Array[] | undefined = [];
  /** Input stream offset just past the last octet received. */
  private received: number;
  private generation = -1;
  /** The transport closed. */
  closed = false;

  constructor(
    readonly store: SessionStore,
    readonly conn: TcprConnection,
    /** Resumed: the store's files are this connection's already. */
    attached = false,
  ) {
    this.received = attached ? store.inEnd : 0;
    if (attached) this.stored();
  }

  private stored(): void {
    this.input = this.output = undefined;
    this.generation = this.store.generation;
    this.store.owner = this;
  }

  /** The store's files hold this connection's session. */
  get attached(): boolean {
    return this.store.owner === this && this.store.generation === this.generation;
  }

  get inEnd(): number {
    return this.received;
  }

  appendIn(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.input) this.input.push(chunk);
    else if (this.attached) this.store.appendIn(chunk);
  }

  appendOut(chunk: Uint8Array): void {
    if (this.output) this.output.push(chunk);
    else if (this.attached) this.store.appendOut(chunk);
  }

  /** The input offset that may be checkpointed (made durable first when stored). */
  sync(): number {
    return this.attached ? this.store.sync() : this.received;
  }

  /**
   * The session on this connection is Established: it becomes the stored one. Throws
   * when the files cannot be written; the journal then only counts.
   */
  promote(session: SessionFile): void {
    const [input, output] = [this.input, this.output];
    if (!input || !output) return;
    this.input = this.output = undefined;
    this.store.begin(session, input, output);
    this.stored();
  }
}

/**
 * The transport of a protected session: input journaled as it arrives and checkpointed
 * once durable; output journaled before it reaches the socket. `tick` runs after each
 * commit and every second (compaction checks).
 *
 * Closing it (`end` after a NOTIFICATION, `destroy` of an abandoned connect, a refused or
 * losing connection) is the speaker's will, not a crash: TCPR drops the FIN and RST of a
 * dying stack, so the neighbour would keep the connection open (and, in OpenSent, refuse
 * every new one). So done_writing and done_reading go to TCPR first (confirmed), then the
 * socket ends with a FIN, which TCPR lets through. Except for the stored session's
 * connection while the speaker hands its sessions over (a planned restart: `handingOver`):
 * its socket just dies and TCPR keeps it for the next process to resume. Any other
 * connection (a collision's loser, a session not yet Established) is never resumed, so it
 * is closed as usual, hand-over or not.
 */
class JournaledTransport extends ForwardingTransport {
  override get kind(): string {
    return 'tcpr';
  }
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private ending = false;

  constructor(
    inner: Transport,
    readonly journal: ConnJournal,
    private readonly commitMs: number,
    private readonly log: Logger,
    private readonly tick: () => void,
    private readonly handingOver: () => boolean,
  ) {
    super(inner);
    inner.onClose(() => this.stop());
    // A lost checkpoint datagram must not hold the peer's data back for long.
    this.heartbeat = setInterval(() => {
      this.checkpoint(this.journal.inEnd, true);
      this.tick();
    }, 1000);
    this.heartbeat.unref();
  }

  override write(bytes: Uint8Array): boolean {
    this.journal.appendOut(bytes);
    return super.write(bytes);
  }

  /** Writes octets out.log already holds (the tail re-sent after recovery). */
  writeRaw(bytes: Uint8Array): boolean {
    return super.write(bytes);
  }

  override end(): void {
    this.close();
  }

  override destroy(): void {
    if (this.handingOver() && this.journal.attached) super.destroy();
    else this.close();
  }

  private close(): void {
    if (this.ending) return;
    this.ending = true;
    void this.journal.conn
      .doneReadingAndWriting()
      .catch((e: unknown) =>
        this.log.warn('TCPR done flags not sent: the neighbour may not see the close', {
          peer: this.journal.store.name,
          error: e instanceof Error ? e.message : String(e),
        }),
      )
      .finally(() => super.end());
  }

  override onData(cb: (chunk: Uint8Array) => void): void {
    super.onData((chunk) => {
      this.journal.appendIn(chunk);
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
    if (this.timer || this.journal.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const n = this.journal.sync();
      // (Also when nothing new became durable: the octets promote() wrote are not
      // checkpointed yet.)
      if (n >= 0 && n !== this.journal.conn.checkpointed) this.checkpoint(n, false);
      this.tick();
    }, this.commitMs);
  }

  private checkpoint(offset: number, repeat: boolean): void {
    if (this.journal.closed) return;
    const conn = this.journal.conn;
    if (repeat && offset !== conn.checkpointed) return;
    conn.checkpoint(offset).catch((e: unknown) =>
      this.log.warn('TCPR checkpoint failed', {
        peer: this.journal.store.name,
        offset,
        error: e instanceof Error ? e.message : String(e),
      }),
    );
  }

  private stop(): void {
    if (this.journal.closed) return;
    this.journal.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    if (this.journal.attached) this.journal.store.sync();
  }
}

/** Opens a neighbour's sessions through TCPR (incoming ones: TcprBgpSessions.accepted). */
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

interface CompactionMetrics {
  runs: Counter;
  failures: Counter;
  seconds: Counter;
  stallSeconds: Counter;
}

export class TcprBgpSessions implements SessionHooks {
  private readonly stores = new Map<string, SessionStore>();
  private handingOver = false;
  private readonly commitMs: number;
  private readonly threshold: number;
  private readonly runner: CompactionRunner;
  private readonly metrics: CompactionMetrics | undefined;

  constructor(private readonly o: TcprBgpOptions) {
    this.commitMs = o.commitIntervalMs ?? 10;
    this.threshold = o.compactThreshold ?? DEFAULT_COMPACT_THRESHOLD;
    this.runner = new CompactionRunner(o.compactInline ?? false);
    mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    this.metrics = o.metrics && this.installMetrics(o.metrics);
  }

  private store(n: NeighborConfig): SessionStore {
    let s = this.stores.get(n.key);
    if (!s) {
      s = new SessionStore(n.key, join(this.o.stateDir, sessionDirName(n.key)));
      this.stores.set(n.key, s);
    }
    return s;
  }

  /** Passive neighbours never connect; their sessions are protected when accepted. */
  connectorFor(n: NeighborConfig): Connector | undefined {
    return n.passive ? undefined : new TcprConnector(this, n);
  }

  /**
   * An incoming connection: TCPR holds every connection on its addresses and acknowledges
   * only checkpointed input, so it is adopted (its bases learnt from TCPR) and journaled
   * like an outgoing one. A connection TCPR does not know (an address it does not map)
   * stays plain, and the log says so. Any other failure (TCPR silent or refusing) rejects:
   * the listener closes the connection and the neighbour tries again. Taken plain, it
   * would never be checkpointed, so TCPR would never acknowledge its input.
   */
  async accepted(n: NeighborConfig, t: Transport): Promise<Transport> {
    if (!(t instanceof TcpTransport)) return t;
    let conn: TcprConnection;
    try {
      conn = await acceptProtected(this.o.channel, t.socket);
    } catch (e) {
      if (!(e instanceof TcprClientError && e.code === 'ERR_TCPR_UNKNOWN_CONNECTION')) throw e;
      this.o.log.warn('incoming connection not protected by TCPR (an address it does not map)', {
        peer: n.key,
        remote: `${t.remote.address}:${t.remote.port}`,
        error: e.message,
      });
      return t;
    }
    const store = this.store(n);
    this.newConnection(store);
    this.o.log.info('TCPR-protected connection accepted', {
      peer: n.key,
      remote: `${t.remote.address}:${t.remote.port}`,
    });
    return this.journaled(t, new ConnJournal(store, conn));
  }

  /**
   * A new connection while no session is live: the stored one (a session that ended, or
   * one a graceful-restart stop left that was not resumed) can never be resumed now.
   */
  private newConnection(store: SessionStore): void {
    const live = store.owner && !store.owner.closed && store.owner.attached;
    if (!live) store.discard();
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
    this.newConnection(store);
    const rec = conn.record();
    this.o.log.info('TCPR-protected connection opened', {
      peer: n.key,
      local: `${rec.localAddress}:${rec.localPort}`,
    });
    return this.journaled(new TcpTransport(conn.socket), new ConnJournal(store, conn));
  }

  private journaled(t: Transport, journal: ConnJournal): JournaledTransport {
    // The store outlives the connection: once another session has begun (or the store was
    // closed), this transport's ticks must not compact or trim that session's logs with
    // this connection's TCPR state (an old socket can linger half-closed for minutes).
    const tick = (): void => {
      if (journal.attached) this.maybeCompact(journal.store, journal.conn);
    };
    return new JournaledTransport(
      t,
      journal,
      this.commitMs,
      this.o.log,
      tick,
      () => this.handingOver,
    );
  }

  /** The session is up on the Peer's main connection: if protected, it is now the stored one. */
  established(n: NeighborConfig, peer: Peer): void {
    const t = peer.transport;
    const store = this.stores.get(n.key);
    if (!(t instanceof JournaledTransport)) {
      // A plain session (an address TCPR does not map): nothing stored can resume it.
      store?.discard();
      return;
    }
    const j = t.journal;
    const ctx = peer.negotiated?.receive;
    if (j.attached) {
      j.store.ctx = ctx; // resumed: the stored session still describes it
      return;
    }
    try {
      j.promote({
        format: FILE_FORMAT,
        version: 1,
        record: j.conn.record(),
        snapshot: peer.exportState(),
        clockAt: this.o.clock.now(),
      });
    } catch (e) {
      // (Called from the session's event: throwing would take the speaker down.)
      this.o.log.error('TCPR session not stored: a crash of the speaker will reset it', {
        peer: n.key,
        state: j.store.dir,
        error: e instanceof Error ? e.message : String(e),
      });
      try {
        j.store.discard();
      } catch {
        // the error above says it all; nothing resumes without session.json
      }
      return;
    }
    j.store.ctx = ctx; // (beginning a session clears it)
    this.o.log.info('TCPR-protected session established', {
      peer: n.key,
      local: `${t.local.address}:${t.local.port}`,
      remote: `${t.remote.address}:${t.remote.port}`,
      state: j.store.dir,
    });
  }

  async resume(n: NeighborConfig): Promise<ResumedSession | undefined> {
    // The side channel binds its sockets while the store is read (the first costs a new
    // process milliseconds), so the recovery's exchanges find them ready.
    const ready = this.o.channel.prepare();
    const store = this.store(n);
    let stored: ReturnType<SessionStore['read']>;
    try {
      stored = store.read();
    } catch (e) {
      this.fail(n, store, 'stored session unreadable', e);
      return undefined;
    }
    if (!stored) return undefined;
    const { session, logs } = stored;
    const from = logs && establishedOffset(logs.input);
    if (!session.snapshot || !logs || from === undefined) {
      this.fail(n, store, 'stored session never reached Established', undefined);
      return undefined;
    }
    // Stream offsets, not file lengths: the segments start at their base offsets.
    const inEnd = logs.files.input.base + logs.segmentLength;
    const outBase = logs.files.output.base;
    const outEnd = outBase + logs.output.length;
    await ready;
    const t0 = performance.now();
    let r: Awaited<ReturnType<typeof recoverConnection>>;
    try {
      r = await recoverConnection(this.o.channel, session.record, inEnd);
    } catch (e) {
      this.fail(n, store, 'TCPR recovery failed', e);
      return undefined;
    }
    // TCPR's offsets are modulo 2^32 (sequence space): unwrap them next to ours.
    const writeOffset = outEnd - sub32(outEnd, r.writeOffset);
    const skip = r.skip % 2 ** 32;
    if (writeOffset < outBase || skip >= 2 ** 31) {
      r.conn.socket.destroy();
      this.fail(
        n,
        store,
        `TCPR resumes output at offset ${r.writeOffset} (input skip ${r.skip}) but the output log holds [${outBase}, ${outEnd})`,
        undefined,
      );
      return undefined;
    }
    store.open(logs.files);
    const transport = this.journaled(
      new SkippingTransport(new TcpTransport(r.conn.socket), skip),
      new ConnJournal(store, r.conn, true),
    );
    // Complete what the dead process was sending, then tell the peer we are alive.
    const tail = logs.output.subarray(writeOffset - outBase);
    if (tail.length) transport.writeRaw(tail);
    transport.write(KEEPALIVE_BYTES);
    this.o.log.info('TCPR session recovered', {
      peer: n.key,
      local: `${r.conn.socket.localAddress}:${r.conn.socket.localPort}`,
      ms: Math.round((performance.now() - t0) * 1000) / 1000,
      replay: logs.input.length - from,
      inputBase: logs.files.input.base,
      outputBase: outBase,
      resent: tail.length,
      skip,
    });
    return {
      snapshot: session.snapshot,
      transport,
      buffered: logs.input.subarray(from),
      shiftMs: this.o.clock.now() - (session.clockAt ?? this.o.clock.now()),
    };
  }

  /** Starts a compaction of in.log or a trim of out.log when a segment passed the threshold. */
  private maybeCompact(store: SessionStore, conn: TcprConnection): void {
    if (this.threshold <= 0 || store.busy || !store.files) return;
    if (this.o.clock.now() < store.retryAt) return;
    if (store.ctx && store.inLength >= this.threshold) void this.compactInput(store);
    else if (store.outLength >= this.threshold) void this.trimOutput(store, conn);
  }

  private async compactInput(store: SessionStore): Promise<void> {
    store.busy = true;
    const generation = store.generation;
    const t0 = performance.now();
    const segment = store.inLength;
    let done: InputCompactionDone | undefined;
    try {
      done = await this.runner.run({
        dir: store.dir,
        input: store.files!.input,
        segmentLength: segment,
        ctx: store.ctx!,
      });
      if (!done) {
        store.retryAt = this.o.clock.now() + 10_000;
        return;
      }
      if (store.generation !== generation) {
        rmSync(join(store.dir, done.tmp), { force: true });
        return;
      }
      const s0 = performance.now();
      store.installSnapshot(done);
      const stallMs = performance.now() - s0;
      const ms = performance.now() - t0;
      this.o.log.info('in.log compacted', {
        peer: store.name,
        before: done.before,
        after: done.after,
        base: done.base,
        routes: done.stats.routes,
        attributeSets: done.stats.attributeSets,
        ms: round(ms),
        workerMs: round(done.ms),
        stallMs: round(stallMs),
      });
      this.metrics?.runs.inc({ peer: store.name, log: 'in' });
      this.metrics?.seconds.inc({ peer: store.name }, done.ms / 1000);
      this.metrics?.stallSeconds.inc({ peer: store.name }, stallMs / 1000);
    } catch (e) {
      if (done) rmSync(join(store.dir, done.tmp), { force: true });
      this.failed(store, generation, 'in.log compaction', e);
    } finally {
      store.busy = false;
    }
  }

  private async trimOutput(store: SessionStore, conn: TcprConnection): Promise<void> {
    store.busy = true;
    const generation = store.generation;
    try {
      const s = await conn.state();
      if (store.generation !== generation || !store.files || !s.peer.haveAck) return;
      // What the neighbour acknowledged, as a stream offset (its ACK is modulo 2^32).
      const outBase = conn.record().outBase;
      const end = store.outEnd;
      const acked = end - sub32(add32(outBase, end), s.peer.ack);
      const from = store.files.output.base;
      if (acked - from < this.threshold / 2) {
        store.retryAt = this.o.clock.now() + 5_000; // not worth a copy yet
        return;
      }
      const s0 = performance.now();
      const before = store.outLength;
      store.trimOutput(acked);
      const stallMs = performance.now() - s0;
      this.o.log.info('out.log trimmed', {
        peer: store.name,
        before,
        after: store.outLength,
        base: acked,
        stallMs: round(stallMs),
      });
      this.metrics?.runs.inc({ peer: store.name, log: 'out' });
      this.metrics?.stallSeconds.inc({ peer: store.name }, stallMs / 1000);
    } catch (e) {
      this.failed(store, generation, 'out.log trim', e);
    } finally {
      store.busy = false;
    }
  }

  /** A compaction or trim failed: the old files stay in use; tried again in a minute. */
  private failed(store: SessionStore, generation: number, what: string, e: unknown): void {
    store.retryAt = this.o.clock.now() + 60_000;
    if (store.generation !== generation) return; // the session ended meanwhile: no failure
    this.metrics?.failures.inc({ peer: store.name });
    this.o.log.warn(`${what} failed (retried in 60 s)`, {
      peer: store.name,
      error: e instanceof Error ? e.message : String(e),
    });
  }

  private installMetrics(m: Registry): CompactionMetrics {
    const bytes = m.gauge(
      'nonstop_tcpr_bgp_log_bytes',
      'Octets of a TCPR-protected session on disk (in: snapshot and segment; out: segment)',
      ['peer', 'log'],
    );
    m.onCollect(() => {
      for (const s of this.stores.values()) {
        if (!s.files) continue;
        bytes.set({ peer: s.name, log: 'in' }, s.snapshotSize + s.inLength);
        bytes.set({ peer: s.name, log: 'out' }, s.outLength);
      }
    });
    return {
      runs: m.counter(
        'nonstop_tcpr_bgp_compactions_total',
        'Compactions of in.log and trims of out.log done',
        ['peer', 'log'],
      ),
      failures: m.counter(
        'nonstop_tcpr_bgp_compaction_failures_total',
        'Compactions or trims that failed',
        ['peer'],
      ),
      seconds: m.counter(
        'nonstop_tcpr_bgp_compaction_seconds_total',
        'Time spent compacting in.log in the worker thread',
        ['peer'],
      ),
      stallSeconds: m.counter(
        'nonstop_tcpr_bgp_compaction_stall_seconds_total',
        "Time the speaker's event loop spent installing compacted or trimmed logs",
        ['peer'],
      ),
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
    this.runner.close();
    for (const s of this.stores.values()) s.close();
  }

  /**
   * A planned restart follows (graceful restart): the sessions' sockets may die from now on
   * without telling TCPR, which keeps the connections for the next process to resume.
   */
  handOver(): void {
    this.handingOver = true;
  }

  /** After a clean shutdown (Cease sent): no session is left to resume. */
  discardAll(): void {
    this.runner.close();
    for (const s of this.stores.values()) s.discard();
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Closes a log descriptor being replaced; its files are already superseded on disk. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to lose: every octet written through it was copied and fsync'ed
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
