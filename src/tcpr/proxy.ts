// The TCPR proxy (`nonstop tcpr proxy`; TCPR paper §III: "a TCP proxy that provides
// TCPR-support for unmodified applications"). It relays TCP connections between two
// unmodified endpoints and runs as a TCPR application in the protected namespace, so the
// relay itself can be killed (-9), upgraded or restarted, and the middlebox restarted,
// while both endpoints keep their connections: they never see a RST, a FIN before the
// end, a lost or repeated byte.
//
//   client ──TCP──▶ TCPR ──▶ proxy (listen ADDR:PORT)        leg A (accepted)
//                            proxy ──▶ TCPR ──TCP──▶ target    leg B (connected)
//
// What the proxy checkpoints. A byte read from one leg is only checkpointed there (TCPR
// then lets that leg's remote see the ACK and discard it) once the OTHER leg's remote has
// acknowledged it. So the proxy never has to keep a byte durable itself: every byte it
// holds in memory or in a socket buffer is still held by the sender. The remote's ACK of
// the other leg is read from TCPR (`query` → `peer.ack`), every `checkpointMs` (10 ms),
// for all connections at once; the new checkpoints are written to the state file first
// (one atomic replace for all pairs, fdatasync'ed unless `durable: false`), then sent.
//
// The state file holds, per pair, each leg's TCPR record (client.ts) and checkpoint. At
// start the proxy recovers every pair in it before it listens (an accepted leg reconnects
// from the listening port, which a listening socket would hold): recoverConnection per
// leg, which also covers a middlebox that lost its state (create-from-state, then the
// remote's challenge ACK splices). Offsets line up because a pair relays byte i of A's
// input as byte i of B's output (and back): after recovery leg X's socket delivers input
// from X's checkpoint, and Y's new socket writes from Y's remote's last ACK (TCPR's
// splice), which is never behind X's checkpoint; the bytes in between reached Y's remote
// before the crash and are dropped, not sent twice.
//
// Close: a FIN from one remote (input ends) makes the proxy set done_writing on the other
// leg and end it (a real FIN, TCPR forwards it); once the other remote acknowledged
// everything, done_reading on the first (TCPR acknowledges the FIN). When both ways are
// closed the pair is forgotten (TCPR `done`, state file). TCPR never lets the
// application's RST out, so a remote's reset (or a leg that cannot be recovered) becomes
// an orderly FIN towards the other remote.
//
// While the proxy runs it also watches TCPR: a query answered "unknown connection" means
// the middlebox restarted without its state; the proxy then stops listening, recovers
// every pair (state-less), and listens and registers its listener again.
//
// Orphans: a connection accepted (or opened to the target) and not yet in the state file
// when the proxy dies, or one whose state file was lost, is known to TCPR only. At start,
// after the pairs it knows, the proxy lists TCPR's connections on its listen port or to
// its target that no pair holds, recovers each from TCPR's own state and closes it in
// order (input discarded), so that remote sees a FIN instead of a connection that hangs.
// The proxy keeps no output: an orphan's unacknowledged output is not sent again, which is
// nothing for one that died before it was relayed. The proxy's listen address and the
// target are fixed for the proxy's life.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { replaceFile } from '../lib/files.js';
import { formatAddr, parseAddr } from '../lib/ip.js';
import type { Logger } from '../lib/log.js';
import {
  acceptProtected,
  connectProtected,
  listenProtected,
  recordOf,
  recoverConnection,
  TcprClientError,
  type TcprChannel,
  type TcprConnection,
  type TcprRecord,
} from './client.js';
import { sub32, type ConnectionSnapshot } from './connection.js';

export interface TcprProxyOptions {
  channel: TcprChannel;
  /** Where unmodified clients connect (an address of the protected namespace). */
  listen: { address: string; port: number };
  /** Where each accepted connection is relayed to. */
  target: { host: string; port: number; localAddress?: string };
  /** The proxy's state file (pairs, records, checkpoints). */
  stateFile: string;
  /** Checkpoint interval; default 10 ms. */
  checkpointMs?: number;
  /** fdatasync the state file before each checkpoint (survives a machine crash); default true. */
  durable?: boolean;
  log: Logger;
}

interface LegState {
  record: TcprRecord;
  /** Input offset checkpointed (or about to be) at TCPR. */
  ckpt: number;
  /** done_writing set and our FIN sent. */
  ended: boolean;
  /** done_reading set: the remote's FIN was taken and everything relayed. */
  finished: boolean;
}

interface PairState {
  id: number;
  a: LegState;
  b?: LegState;
}

interface StateFile {
  format: 'nonstop-tcpr-proxy';
  version: 1;
  nextId: number;
  pairs: PairState[];
}

/** One side of a pair at run time. */
class Leg {
  /** Input offset of the next byte the socket delivers. */
  readPos: number;
  /** Output offset of the next byte written to the socket. */
  writePos: number;
  /** Output the remote has acknowledged (from TCPR). */
  acked: number;
  /** The remote's FIN arrived. */
  eof = false;
  /** Output offset 0 in the remote's sequence space. */
  readonly outBase: number;
  /** Input offset 0 in the remote's sequence space. */
  readonly inBase: number;

  constructor(
    readonly name: 'A' | 'B',
    public conn: TcprConnection,
    public st: LegState,
    writeOffset: number,
  ) {
    this.readPos = conn.readBase;
    this.writePos = writeOffset;
    this.acked = writeOffset;
    const rec = conn.record();
    this.outBase = rec.outBase;
    this.inBase = rec.inBase;
    conn.socket.allowHalfOpen = true; // our FIN only after done_writing
    conn.socket.setNoDelay(true);
  }
}

class Pair {
  a?: Leg;
  b?: Leg;
  closing = false;
  /** When TCPR was last asked about this pair (ms, monotonic). */
  lastQuery = 0;
  constructor(public st: PairState) {}
  /**
   * Output not yet acknowledged, input the other remote has that is not checkpointed yet,
   * or a close still to finish: worth a query now. The second is input re-delivered after
   * a recovery that had already reached the other remote: it is dropped, not written, so
   * nothing else marks the pair busy, and until it is checkpointed the sender sees no ACK
   * and backs off (left to the once-a-second idle query, a connection crawled for seconds).
   */
  busy(): boolean {
    const { a, b } = this;
    if (!a || !b) return false;
    return (
      a.writePos > a.acked ||
      b.writePos > b.acked ||
      uncheckpointed(a, b) ||
      uncheckpointed(b, a) ||
      (a.eof && !a.st.finished) ||
      (b.eof && !b.st.finished)
    );
  }
  legs(): Leg[] {
    return [this.a, this.b].filter((l): l is Leg => l !== undefined);
  }
}

export interface TcprProxyStats {
  pairs: number;
  accepted: number;
  recovered: number;
  closed: number;
  relayedBytes: number;
  droppedDuplicateBytes: number;
}

export class TcprProxy {
  private readonly pairs = new Map<number, Pair>();
  private server?: Server;
  private timer?: NodeJS.Timeout;
  private nextId = 1;
  private resyncing?: Promise<void>;
  private stopped = false;
  private ticking = false;
  /** Bumped by every resync: a checkpoint round or close step of an older one stops. */
  private gen = 0;
  /** In-flight checkpoint rounds and accepts: a resync or stop waits for them. */
  private readonly tasks = new Set<Promise<void>>();
  private readonly st: TcprProxyStats = {
    pairs: 0,
    accepted: 0,
    recovered: 0,
    closed: 0,
    relayedBytes: 0,
    droppedDuplicateBytes: 0,
  };

  constructor(private readonly o: TcprProxyOptions) {}

  stats(): TcprProxyStats {
    return { ...this.st, pairs: this.pairs.size };
  }

  /** Recovers the pairs of the state file, then listens. */
  async start(): Promise<void> {
    const saved = this.load();
    this.nextId = saved.nextId;
    for (const ps of saved.pairs) this.pairs.set(ps.id, new Pair(ps));
    if (this.pairs.size > 0) {
      this.o.log.info('recovering connections from the state file', {
        pairs: this.pairs.size,
        state: this.o.stateFile,
      });
      await this.recoverAll();
    }
    await this.closeOrphans();
    await this.listen();
    this.timer = setInterval(() => this.track(this.tick()), this.o.checkpointMs ?? 10);
  }

  /**
   * Stops relaying (after the in-flight checkpoint round, accept or recovery); the
   * connections stay recoverable from the state file. With `forget` they are given up
   * (TCPR `done`, state file removed).
   */
  async stop(forget = false): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // close() frees the port at once; its callback would wait for the accepted sockets.
    this.server?.close();
    await this.settle();
    for (const p of this.pairs.values()) {
      for (const l of p.legs()) {
        if (forget) await l.conn.done().catch(() => undefined);
        l.conn.socket.destroy();
      }
    }
    if (forget) rmSync(this.o.stateFile, { force: true });
  }

  private track(t: Promise<void>): void {
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  private async settle(): Promise<void> {
    await Promise.allSettled([...this.tasks, this.resyncing]);
  }

  private load(): StateFile {
    const empty: StateFile = { format: 'nonstop-tcpr-proxy', version: 1, nextId: 1, pairs: [] };
    if (!existsSync(this.o.stateFile)) return empty;
    const text = readFileSync(this.o.stateFile, 'utf8');
    let s: StateFile;
    try {
      s = JSON.parse(text) as StateFile;
    } catch (e) {
      throw new Error(`${this.o.stateFile}: not a proxy state file: ${(e as Error).message}`);
    }
    if (s.format !== 'nonstop-tcpr-proxy' || s.version !== 1 || !Array.isArray(s.pairs)) {
      throw new Error(`${this.o.stateFile}: not a proxy state file (format/version)`);
    }
    return s;
  }

  private persist(): void {
    const s: StateFile = {
      format: 'nonstop-tcpr-proxy',
      version: 1,
      nextId: this.nextId,
      pairs: [...this.pairs.values()].map((p) => p.st),
    };
    replaceFile(this.o.stateFile, JSON.stringify(s), this.o.durable ?? true);
  }

  private async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    server.on('connection', (sock) => this.track(this.accept(sock)));
    server.on('error', (e) => this.o.log.error('listener error', { error: e.message }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listen.port, this.o.listen.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await listenProtected(this.o.channel, server);
    this.server = server;
    this.o.log.info('listening', {
      listen: `${this.o.listen.address}:${this.o.listen.port}`,
      target: `${this.o.target.host}:${this.o.target.port}`,
    });
  }

  private async accept(sock: Socket): Promise<void> {
    const from = `${sock.remoteAddress}:${sock.remotePort}`;
    // Until attach() wires the pair, an error (a client's RST) must not crash the proxy.
    const early = (e: Error): void =>
      this.o.log.warn('client connection error before relaying', { from, error: e.message });
    sock.on('error', early);
    let a: TcprConnection;
    try {
      a = await acceptProtected(this.o.channel, sock);
    } catch (e) {
      this.o.log.error('accepted connection not known to TCPR: closing it', {
        from,
        error: String(e),
      });
      sock.destroy();
      return;
    }
    const id = this.nextId++;
    const pair = new Pair({ id, a: legState(a) });
    try {
      this.pairs.set(id, pair);
      this.persist();
      pair.a = new Leg('A', a, pair.st.a, 0);
      this.st.accepted++;
      let b: TcprConnection;
      try {
        b = await this.connectTarget();
      } catch (e) {
        this.o.log.warn('target unreachable: closing the client connection in order', {
          pair: id,
          from,
          error: String(e),
        });
        await this.abandon(pair, []); // its input is discarded
        return;
      }
      b.socket.on('error', early);
      pair.st.b = legState(b);
      this.persist();
      pair.b = new Leg('B', b, pair.st.b, 0);
      this.o.log.info('connection relayed', {
        pair: id,
        from,
        via: `${b.socket.localAddress}:${b.socket.localPort}`,
      });
      this.attach(pair);
      sock.off('error', early);
      b.socket.off('error', early);
    } catch (e) {
      this.o.log.error('relaying a new connection failed', { pair: id, from, error: String(e) });
    }
  }

  /** TCPR's connections for this proxy that no pair holds: closed in order (header). */
  private async closeOrphans(): Promise<void> {
    let all: ConnectionSnapshot[];
    try {
      all = await listAll(this.o.channel);
    } catch (e) {
      this.o.log.warn('could not list TCPR connections to close orphans', { error: String(e) });
      return;
    }
    const key = (addr: string | Uint8Array, port: number, localPort: number): string => {
      const a = typeof addr === 'string' ? parseAddr(addr) : addr;
      return `${a ? formatAddr(a) : String(addr)} ${port} ${localPort}`;
    };
    const known = new Set<string>();
    for (const p of this.pairs.values()) {
      for (const l of [p.st.a, p.st.b]) {
        if (l) known.add(key(l.record.peerAddress, l.record.peerPort, l.record.localPort));
      }
    }
    // The listen address is one TCPR maps (listenProtected refuses others), never a wildcard.
    const ours = (a: Uint8Array, wanted: string): boolean => {
      const w = parseAddr(wanted);
      return w !== undefined && formatAddr(w) === formatAddr(a);
    };
    const { listen, target } = this.o;
    const targetKey = key(target.host, target.port, 0);
    const orphans = all.filter((s) => {
      if (s.done || known.has(key(s.peerAddr, s.hard.peerPort, s.port))) return false;
      if (s.port === listen.port && ours(s.internalAddr, listen.address)) return true;
      const toTarget = key(s.peerAddr, s.hard.peerPort, 0) === targetKey;
      return toTarget && ours(s.internalAddr, target.localAddress ?? listen.address);
    });
    for (const s of orphans) {
      const at = `${formatAddr(s.peerAddr)}:${s.hard.peerPort} via port ${s.port}`;
      try {
        if (s.hard.doneWriting && s.haveFin) {
          // Closed in order already (a pair given up, its FIN sent), only not yet
          // forgotten: forget it now.
          const ref = { port: s.hard.port, peerAddr: s.peerAddr, peerPort: s.hard.peerPort };
          await this.o.channel.update({ ...ref, externalAddr: s.externalAddr }, { done: true });
          this.o.log.info('closed connection the state file no longer held: forgotten', {
            connection: at,
          });
          continue;
        }
        // A live socket holding it (another application's) makes this fail, untouched.
        const r = await recoverConnection(this.o.channel, recordOf(s), 0, {
          resetHolder: false,
          timeoutMs: 2000,
        });
        r.conn.socket.on('error', (e) =>
          this.o.log.info('orphan connection error while closing', {
            connection: at,
            error: e.message,
          }),
        );
        const pair = new Pair({ id: 0, a: legState(r.conn) });
        pair.a = new Leg('A', r.conn, pair.st.a, r.writeOffset);
        await this.abandon(pair, []);
        this.o.log.warn('connection TCPR held that the state file did not: closed in order', {
          connection: at,
        });
      } catch (e) {
        this.o.log.error('orphan connection could not be recovered', {
          connection: at,
          error: String(e),
        });
      }
    }
  }

  private connectTarget(): Promise<TcprConnection> {
    const t = this.o.target;
    return connectProtected(this.o.channel, {
      host: t.host,
      port: t.port,
      ...(t.localAddress ? { localAddress: t.localAddress } : {}),
    });
  }

  /** Wires both legs of a pair: data, end, errors; re-applies the close state after recovery. */
  private attach(pair: Pair): void {
    const { a, b } = pair;
    if (!a || !b) return;
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const s = from.conn.socket;
      if (from.st.finished) from.eof = true;
      s.on('data', (buf: Buffer) => this.relay(pair, from, to, buf));
      s.on('end', () => {
        from.eof = true;
        void this.endLeg(pair, to).catch((e: unknown) =>
          this.o.log.warn('closing failed', { pair: pair.st.id, error: String(e) }),
        );
      });
      s.on('error', (e) => {
        this.o.log.warn('socket error', { pair: pair.st.id, leg: from.name, error: e.message });
      });
      s.on('close', () => {
        if (from.conn.socket !== s || this.stopped || pair.closing) return;
        if (this.pairs.get(pair.st.id) !== pair) return;
        if (!(from.eof && from.st.ended)) void this.legLost(pair, from);
      });
      if (!from.st.finished) s.resume();
    }
    // After a recovery: TCPR forgot done_writing (a new incarnation) — set it again before
    // the FIN; but only once everything for that side was relayed and acknowledged, else
    // the source's FIN comes again with its data and ends the leg then.
    for (const [y, x] of [
      [a, b],
      [b, a],
    ] as const) {
      if (x.st.finished) {
        void x.conn.doneReading().catch(() => undefined);
        if (y.st.ended)
          void y.conn.doneWriting().then(
            () => y.conn.socket.end(),
            () => undefined,
          );
      } else if (y.st.ended) {
        y.st.ended = false;
      }
    }
  }

  private relay(pair: Pair, from: Leg, to: Leg, buf: Buffer): void {
    const start = from.readPos;
    from.readPos += buf.length;
    if (start < to.writePos) {
      // Reached `to`'s remote before the crash: drop, do not send twice.
      const n = Math.min(buf.length, to.writePos - start);
      this.st.droppedDuplicateBytes += n;
      buf = buf.subarray(n);
      if (buf.length === 0) return;
    } else if (start > to.writePos) {
      this.o.log.error('relay gap: input checkpointed ahead of the other side', {
        pair: pair.st.id,
        leg: from.name,
        input: start,
        output: to.writePos,
      });
      from.conn.socket.destroy();
      return;
    }
    if (to.st.ended || to.conn.socket.writableEnded) return; // a dead remote: input discarded
    to.writePos += buf.length;
    this.st.relayedBytes += buf.length;
    if (!to.conn.socket.write(buf)) {
      from.conn.socket.pause();
      to.conn.socket.once('drain', () => from.conn.socket.resume());
    }
  }

  /**
   * A leg's socket closed without its close sequence. TCPR resets the socket of a failed
   * connection (`nonstop tcpr kill`): recover. A remote's RST (TCPR delivers it and keeps the
   * entry, not failed) cannot be recovered: the other side is closed in order.
   */
  private async legLost(pair: Pair, leg: Leg): Promise<void> {
    let failed = true;
    try {
      failed = (await leg.conn.state()).failed;
    } catch {
      // unknown (the middlebox restarted) or no answer: recover
    }
    if (failed) {
      void this.resync(`leg ${leg.name} of pair ${pair.st.id} was reset by TCPR`);
      return;
    }
    this.o.log.warn('the remote reset its connection: closing the other side in order', {
      pair: pair.st.id,
      leg: leg.name,
    });
    await this.abandon(pair, [leg]);
  }

  /** Ends a pair in order from the proxy's side: FIN to the live legs, input discarded. */
  private async abandon(pair: Pair, dead: Leg[]): Promise<void> {
    pair.closing = true;
    this.pairs.delete(pair.st.id);
    this.persist();
    for (const l of pair.legs()) {
      if (dead.includes(l)) continue;
      l.conn.socket.on('data', () => undefined);
      await l.conn.doneReading().catch(() => undefined);
      await this.endLeg(pair, l).catch(() => undefined);
    }
    this.retire(pair);
  }

  /** Forgets a closed pair in TCPR a moment later (its last FIN/ACK exchange passes first). */
  private retire(pair: Pair): void {
    this.st.closed++;
    setTimeout(() => {
      for (const l of pair.legs()) {
        l.conn.socket.destroy();
        void l.conn.done().catch(() => undefined);
      }
    }, 1000).unref();
  }

  /** The other side's input ended: end this leg with a real FIN (done_writing first). */
  private async endLeg(pair: Pair, leg: Leg): Promise<void> {
    if (leg.st.ended) return;
    await leg.conn.doneWriting();
    leg.st.ended = true;
    leg.st.record = leg.conn.record();
    if (this.pairs.get(pair.st.id) === pair) this.persist();
    leg.conn.socket.end();
  }

  /** Every `checkpointMs`: read each leg's acknowledged output, checkpoint the other leg. */
  private async tick(): Promise<void> {
    if (this.ticking || this.resyncing || this.stopped) return;
    this.ticking = true;
    const g = this.gen;
    try {
      const now = performance.now();
      // Idle pairs are still asked once a second: that is how a middlebox restart shows.
      const active = [...this.pairs.values()].filter(
        (p) => p.a && p.b && !p.closing && (p.busy() || now - p.lastQuery >= 1000),
      );
      for (const p of active) p.lastQuery = now;
      const changed: [Leg, number][] = [];
      const flags: Promise<void>[] = [];
      await Promise.all(
        active.map(async (p) => {
          const [a, b] = [p.a!, p.b!];
          const [sa, sb] = await Promise.all([a.conn.state(), b.conn.state()]);
          if (g !== this.gen) return;
          a.acked = ackedOutput(sa.peer, a);
          b.acked = ackedOutput(sb.peer, b);
          for (const [x, y, sx] of [
            [a, b, sa],
            [b, a, sb],
          ] as const) {
            // Lost UDP updates are sent again: a done flag TCPR does not have, or a
            // checkpoint (a connection that then goes quiet would never get its last ACK).
            // A checkpoint only once this socket has received that far: after a recovery
            // TCPR's may be behind ours (the update was lost, or the proxy died between
            // writing the state file and sending it), and TCPR then raises it itself as the
            // new socket acknowledges the bytes again (pending, E17). Sending ours before
            // would acknowledge bytes the new socket never got: the remote discards them,
            // never sends them again and the connection stalls for good.
            if (x.st.ended && !sx.hard.doneWriting) flags.push(x.conn.doneWriting());
            if (x.st.finished) {
              if (!sx.hard.doneReading) flags.push(x.conn.doneReading());
              continue;
            }
            const next = Math.min(y.acked, x.readPos);
            if (next > x.st.ckpt) changed.push([x, next]);
            else if (
              x.readPos >= x.st.ckpt &&
              near(x.st.ckpt, sub32(sx.hard.ack, x.inBase)) < x.st.ckpt
            ) {
              changed.push([x, x.st.ckpt]);
            }
          }
        }),
      );
      if (g !== this.gen) return;
      if (changed.length > 0) {
        for (const [leg, next] of changed) leg.st.ckpt = next;
        this.persist(); // durable first, then TCPR (which lets the remotes see the ACKs)
        await Promise.all(changed.map(([leg, next]) => leg.conn.checkpoint(next)));
      }
      await Promise.all(flags);
      for (const p of active) {
        if (g !== this.gen) return;
        await this.closeWays(p, g);
      }
    } catch (e) {
      if (e instanceof TcprClientError && e.code === 'ERR_TCPR_UNKNOWN_CONNECTION') {
        void this.resync('TCPR lost its state (middlebox restarted)');
      } else {
        this.o.log.warn('checkpoint round failed', { error: String(e) });
      }
    } finally {
      this.ticking = false;
    }
  }

  /** done_reading once a finished input is relayed and acknowledged; forget closed pairs. */
  private async closeWays(p: Pair, g: number): Promise<void> {
    const [a, b] = [p.a!, p.b!];
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      if (x.eof && !x.st.finished && y.acked >= y.writePos && y.writePos >= x.readPos) {
        // Persisted first: a recovery then takes the FIN as consumed (checkpoint + 1).
        x.st.ckpt = x.readPos;
        x.st.finished = true;
        x.st.record = x.conn.record();
        this.persist();
        await x.conn.checkpoint(x.readPos);
        if (g !== this.gen) return;
        await x.conn.doneReading();
        if (g !== this.gen) return;
      }
    }
    if (a.st.finished && b.st.finished && a.st.ended && b.st.ended && !p.closing) {
      p.closing = true;
      this.o.log.info('connection closed', { pair: p.st.id });
      this.pairs.delete(p.st.id);
      this.persist();
      this.retire(p);
    }
  }

  /** Recovers every pair (when TCPR lost its state or reset a leg), then listens again. */
  private resync(why: string): Promise<void> {
    if (this.resyncing || this.stopped) return this.resyncing ?? Promise.resolve();
    this.gen++;
    this.o.log.warn(`${why}: recovering every connection`);
    const run = async (): Promise<void> => {
      const server = this.server;
      this.server = undefined;
      server?.close(); // frees the listening port now (accepted legs reconnect from it)
      await Promise.allSettled([...this.tasks]);
      while (!this.stopped) {
        try {
          await this.recoverAll();
          await this.listen();
          break;
        } catch (e) {
          this.o.log.warn('recovery round failed; retrying', { error: String(e) });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    this.resyncing = run().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async recoverAll(): Promise<void> {
    const lost: Pair[] = [];
    await Promise.all(
      [...this.pairs.values()].map(async (p) => {
        if (p.closing) return;
        for (let i = 0; ; i++) {
          try {
            await this.recoverPair(p);
            return;
          } catch (e) {
            const permanent = e instanceof TcprClientError && e.code === 'ERR_TCPR_RECORD';
            if (permanent || i >= 4 || this.stopped) {
              this.o.log.error('connection could not be recovered: closing it in order', {
                pair: p.st.id,
                error: String(e),
              });
              lost.push(p);
              return;
            }
            this.o.log.warn('recovery failed; retrying', { pair: p.st.id, error: String(e) });
            await new Promise((r) => setTimeout(r, 300));
          }
        }
      }),
    );
    for (const p of lost) await this.abandon(p, []);
    this.persist();
  }

  private async recoverPair(p: Pair): Promise<void> {
    const t0 = process.hrtime.bigint();
    const leg = async (name: 'A' | 'B', st: LegState, old?: Leg): Promise<Leg> => {
      // After done_reading TCPR's checkpoint covers the remote's FIN too.
      const r = await recoverConnection(
        this.o.channel,
        st.record,
        st.ckpt + (st.finished ? 1 : 0),
        {
          ...(old ? { oldSocket: old.conn.socket } : {}),
        },
      );
      st.record = r.conn.record();
      return new Leg(name, r.conn, st, r.writeOffset);
    };
    for (const l of p.legs()) l.conn.socket.removeAllListeners('close');
    const [ra, rb] = await Promise.allSettled([
      leg('A', p.st.a, p.a),
      p.st.b ? leg('B', p.st.b, p.b) : Promise.resolve(undefined),
    ]);
    // A leg that did recover is kept (a retry resets it as the old socket).
    if (ra.status === 'fulfilled') p.a = ra.value;
    if (rb.status === 'fulfilled' && rb.value) p.b = rb.value;
    if (ra.status === 'rejected') throw ra.reason;
    if (rb.status === 'rejected') throw rb.reason;
    const a = ra.value;
    let b = rb.value;
    if (!b) {
      // Died between the accept and the connect to the target: connect now (nothing relayed).
      const conn = await this.connectTarget();
      p.st.b = legState(conn);
      this.persist();
      b = new Leg('B', conn, p.st.b, 0);
    }
    p.b = b;
    // Offsets are counted past 2^32; TCPR's are modulo 2^32: unwrap near what is known.
    a.readPos = near(a.st.ckpt, a.readPos);
    b.readPos = near(b.st.ckpt, b.readPos);
    a.writePos = a.acked = near(b.st.ckpt, a.writePos);
    b.writePos = b.acked = near(a.st.ckpt, b.writePos);
    this.st.recovered++;
    this.o.log.info('connection recovered', {
      pair: p.st.id,
      ms: Number(process.hrtime.bigint() - t0) / 1e6,
      a: { read: a.readPos, write: a.writePos },
      b: { read: b.readPos, write: b.writePos },
    });
    this.attach(p);
  }
}

/** Every connection TCPR holds, page by page. */
async function listAll(channel: TcprChannel): Promise<ConnectionSnapshot[]> {
  const all: ConnectionSnapshot[] = [];
  for (;;) {
    const r = await channel.list(all.length);
    all.push(...r.conns);
    if (r.conns.length === 0 || all.length >= r.total) return all;
  }
}

function legState(conn: TcprConnection): LegState {
  return { record: conn.record(), ckpt: 0, ended: false, finished: false };
}

/** The offset ≡ `wrapped` (mod 2^32) nearest to `known` (streams may pass 4 GiB). */
function near(known: number, wrapped: number): number {
  return known + ((wrapped - known) | 0);
}

/** Input of `x` that `y`'s remote acknowledged and `x` has not checkpointed (tick's rule). */
function uncheckpointed(x: Leg, y: Leg): boolean {
  return !x.st.finished && Math.min(y.acked, x.readPos) > x.st.ckpt;
}

/** Output offset the remote acknowledged, from TCPR's view of its last ACK. */
function ackedOutput(peer: { ack: number; haveAck: boolean }, leg: Leg): number {
  if (!peer.haveAck) return leg.acked;
  const off = near(leg.acked, sub32(peer.ack, leg.outBase));
  // Our FIN takes one sequence number; offsets count data only. Never beyond what we wrote.
  return Math.max(leg.acked, Math.min(off, leg.writePos));
}
