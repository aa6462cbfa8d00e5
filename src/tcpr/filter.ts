// The TCPR packet filter (TCPR paper §II–III; behaviour per ../shared/specs/
// tcpr-and-tcp-repair.md §2.2–2.7). Pure: packets in, packets out, no I/O, no clock.
//
// The filter sits on the application's only path. `fromApp` takes an IP packet the
// application's stack sent, `fromPeer` one from the network; each returns the packets to
// write (forwarded, rewritten or generated), [] to drop. `control` applies a side-channel
// message. Everything that is not TCP between a configured internal (app) address and a
// peer — ICMP, ICMPv6/ND, UDP, other hosts' TCP — passes through untouched.
//
// Outbound (app → peer), in order: sanitise options; app RST → failed, drop; source port →
// external port; record window and next seq; FIN → record it, and without done_writing it
// is spurious (failed); a SYN on a connection whose peer ACK is known is a recovery (delta,
// drop, fake SYN-ACK to the app), any other SYN is forwarded untranslated; the first ACK
// after a SYN clears failed, otherwise failed → drop and RST the app; ACK gating (below);
// seq − delta; source address → external; checksums recomputed.
// Inbound (peer → app): sanitise options, learn MSS/WS/SACK-permitted from SYNs, SACK edges
// + delta; destination port → internal port; a SYN sets the checkpoint to ISN + 1; FIN
// recorded; ACK → peer.ack, and while the app's SYN is outstanding a plain ACK is the
// peer's challenge ACK: state-less recovery (delta, drop, fake SYN-ACK); ack + delta;
// drop while failed; destination address → internal. Peer RSTs are delivered.
//
// Decisions on the open questions (spec §2.8; docs/tcpr.md "Decisions" says why):
// E1  Checksums: every forwarded or generated packet gets both checksums computed in
//     full; incoming IPv4 header and TCP checksums are verified first (bad → drop), so a
//     corrupted segment is never re-signed. Option `verifyChecksums: false` skips that.
// E2  Pure ACKs with an uncheckpointed ACK are dropped, except window updates: forwarded
//     with the ACK clamped to the checkpoint when the window (as the peer reads it) grows
//     past, or closes to zero from, the last window sent. Smaller non-zero windows are
//     still dropped: with an unchanged ACK a peer would count them as duplicate ACKs.
// E3  The app's window scale is recorded from its handshake SYN/SYN-ACK (hard state); after
//     a recovery, windows of app→peer segments (and checkpoint ACKs) are rescaled from the
//     new socket's shift to the original one, clamped to 65535. The fake SYN-ACK offers WS
//     only when the original handshake negotiated it.
// E4  No timestamp option on the fake SYN-ACK; timestamps otherwise pass untouched.
// E5  App→peer SACK blocks are NOPed out while done_reading is clear (they would advertise
//     un-checkpointed data); option `stripSack: false` keeps them.
// E6  A bare FIN is treated like payload: its ACK is clamped to the checkpoint, not dropped.
// E7  In-flight old output: nothing special; the app must re-send identical bytes.
// E8  An update that moves the checkpoint backwards is refused (error reply, no change).
// E9  A TCP packet on a configured address with no connection state (other than an app
//     SYN or a peer SYN, which create one) is dropped and reported through `onNotice` as a
//     `no-state` message for the side channel: the first one per connection, then every
//     `noticeEvery`-th.
// E10 Updates are field-wise; `restore` overwrites the hard state wholesale.
// E11 TCP-MD5 and TCP-AO are stripped (NOPed) like every unknown option.
// E12 Each peer ACK while the app's SYN is outstanding re-injects the SYN-ACK (same delta).
// E13 IPv4 (with IP options) and IPv6; TCP in IPv4 fragments or behind IPv6 extension
//     headers is dropped; non-TCP fragments and extension headers pass.
// E14 One filter object per thread; calls are never concurrent.
// E15 The side channel is not seen here: the transport delivers control messages apart.
// E16 Ports are recorded from the header before it is rewritten.
// Also: state-less recovery needs a checkpoint (peer SYN seen or state restored), else the
// challenge ACK is dropped and reported; a peer SYN resets the checkpoint only before the
// handshake completed; after the recovery handshake ACK, `dupAcks` (default 3) copies of
// it go to the peer to trigger fast retransmit (§2.4d); finished connections stay (marked
// done) until the app deletes them, a SYN reuses their ports, or `maxDone` newer ones
// finish; an app RST answering a peer's SYN (closed port) is forwarded and the half-open
// entry forgotten; half-open entries are evicted first at `maxConnections`; two internal
// addresses behind one external address cannot share a port to one peer (`port-collision`).

import { bytesEqual } from '../lib/bytes.js';
import { formatAddr, parseAddr } from '../lib/ip.js';
import {
  add32,
  checkpointAck,
  ConnectionTable,
  connKey,
  emptyHard,
  evaluateDone,
  fakeSynAck,
  newConnection,
  resetToApp,
  savedState,
  seqLt,
  snapshot,
  sub32,
  windowToPeer,
  wsCode,
  WS_UNKNOWN,
  type Connection,
  type SavedState,
} from './connection.js';
import type { ConnRef, ControlMessage, UpdateFields } from './control-codec.js';
import { readSynOptions, sanitizeOptions, shiftSackBlocks, stripSack } from './options.js';
import {
  encodeSegment,
  IP_PROTO,
  parseIp,
  parseTcp,
  TCP_FLAG,
  type MalformedReason,
  type TcpSegment,
} from './packet.js';

export type Side = 'app' | 'peer';
/** A packet to write: to the app side (the protected application's stack) or the peer side. */
export interface Emit {
  to: Side;
  packet: Uint8Array;
}
export interface PacketFilter {
  /** An IP packet (v4 or v6, no link header) read from the app side. Returns packets to write; [] drops it. */
  fromApp(packet: Uint8Array): Emit[];
  /** An IP packet read from the peer side. */
  fromPeer(packet: Uint8Array): Emit[];
}

/** The application's address and the address peers see for it (equal: no rewrite). */
export interface AddressMapping {
  internal: Uint8Array | string;
  external: Uint8Array | string;
}

export interface FilterOptions {
  addresses: readonly AddressMapping[];
  /** Verify incoming checksums and drop bad packets (default true, E1). */
  verifyChecksums?: boolean;
  /** Extra copies of the recovery handshake ACK sent to the peer (default 3, §2.4d). */
  dupAcks?: number;
  /** NOP out app→peer SACK blocks while not done reading (default true, E5). */
  stripSack?: boolean;
  /** Finished connections kept until the app deletes them (default 1024). */
  maxDone?: number;
  /**
   * Table size limit (default 65536). A new connection beyond it evicts the oldest
   * half-open one a peer started; with none, the SYN is dropped (`table-full`).
   */
  maxConnections?: number;
  /** Receives E9 `no-state` notices for the side channel. */
  onNotice?: (notice: Extract<ControlMessage, { type: 'no-state' }>) => void;
  /** Report every n-th packet of an unknown connection (default 32; the first always). */
  noticeEvery?: number;
}

export type DropReason =
  | MalformedReason
  | 'invalid-flags'
  | 'no-state'
  | 'no-checkpoint'
  | 'port-collision'
  | 'table-full'
  | 'app-rst'
  | 'failed'
  | 'unacked-ack'
  | 'recovery-syn'
  | 'recovery-ack';

export interface FilterStats {
  fromApp: number;
  fromPeer: number;
  passedThrough: number;
  forwarded: number;
  checkpointAcks: number;
  synAcks: number;
  resets: number;
  dupAcks: number;
  notices: number;
  dropped: Partial<Record<DropReason, number>>;
}

export interface ControlResult {
  reply?: ControlMessage;
  emits: Emit[];
}

interface Mapping {
  internal: Uint8Array;
  external: Uint8Array;
}

function toAddr(a: Uint8Array | string): Uint8Array {
  const b = typeof a === 'string' ? parseAddr(a) : a;
  if (!b || (b.length !== 4 && b.length !== 16)) {
    throw new Error(`TCPR filter: "${String(a)}" is not an IPv4 or IPv6 address`);
  }
  return b;
}

const LIST_PAGE = 128;

export class TcprFilter implements PacketFilter {
  readonly table: ConnectionTable;
  private readonly byInternal = new Map<string, Mapping>();
  private readonly byExternal = new Map<string, Mapping>();
  private readonly verify: boolean;
  private readonly dupAcks: number;
  private readonly sackStrip: boolean;
  private readonly noticeEvery: number;
  private readonly unknownSeen = new Map<string, number>();
  /** Connections opened by a peer SYN and not yet acknowledged, oldest first. */
  private readonly embryonic = new Set<Connection>();
  private readonly maxConnections: number;
  private readonly st: FilterStats = {
    fromApp: 0,
    fromPeer: 0,
    passedThrough: 0,
    forwarded: 0,
    checkpointAcks: 0,
    synAcks: 0,
    resets: 0,
    dupAcks: 0,
    notices: 0,
    dropped: {},
  };

  constructor(private readonly opts: FilterOptions) {
    for (const m of opts.addresses) {
      const internal = toAddr(m.internal);
      const external = toAddr(m.external);
      if (internal.length !== external.length) {
        throw new Error(
          'TCPR filter: an internal and its external address must be the same family',
        );
      }
      const map = { internal, external };
      this.byInternal.set(addrKey(internal), map);
      if (!this.byExternal.has(addrKey(external))) this.byExternal.set(addrKey(external), map);
    }
    this.verify = opts.verifyChecksums ?? true;
    this.dupAcks = opts.dupAcks ?? 3;
    this.sackStrip = opts.stripSack ?? true;
    this.noticeEvery = Math.max(1, opts.noticeEvery ?? 32);
    this.table = new ConnectionTable(opts.maxDone ?? 1024);
    this.maxConnections = opts.maxConnections ?? 65536;
  }

  stats(): FilterStats {
    return { ...this.st, dropped: { ...this.st.dropped } };
  }

  // ---- packets ----------------------------------------------------------------------------

  fromApp(p: Uint8Array): Emit[] {
    this.st.fromApp++;
    const r = parseIp(p);
    if (!r.ok) return this.drop(r.reason);
    const map = this.byInternal.get(addrKey(r.ip.src));
    if (r.ip.proto !== IP_PROTO.TCP || !map) return this.pass('peer', p);
    const t = parseTcp(p, r.ip, this.verify);
    if (!t.ok) return this.drop(t.reason);
    const s = sanitizeOptions(t.seg.options);
    if (!s.ok) return this.drop(s.reason);
    return this.appSegment(t.seg, map);
  }

  fromPeer(p: Uint8Array): Emit[] {
    this.st.fromPeer++;
    const r = parseIp(p);
    if (!r.ok) return this.drop(r.reason);
    const map = this.byExternal.get(addrKey(r.ip.dst));
    if (r.ip.proto !== IP_PROTO.TCP || !map) return this.pass('app', p);
    const t = parseTcp(p, r.ip, this.verify);
    if (!t.ok) return this.drop(t.reason);
    const s = sanitizeOptions(t.seg.options);
    if (!s.ok) return this.drop(s.reason);
    return this.peerSegment(t.seg, map);
  }

  private appSegment(seg: TcpSegment, map: Mapping): Emit[] {
    const f = seg.flags;
    const syn = (f & TCP_FLAG.SYN) !== 0;
    const hasAck = (f & TCP_FLAG.ACK) !== 0;
    const fin = (f & TCP_FLAG.FIN) !== 0;
    const rst = (f & TCP_FLAG.RST) !== 0;
    // E16: everything below that records ports uses these, not the rewritten header.
    const srcPort = seg.srcPort;
    const dstPort = seg.dstPort;
    let c = this.table.byInternal(seg.src, srcPort, seg.dst, dstPort);
    if (c?.done && syn && !hasAck) {
      this.table.remove(c);
      c = undefined;
    }
    if (!c) {
      if (!syn || hasAck || rst) return this.noState('app', seg.src, srcPort, seg.dst, dstPort);
      const other = this.table.byExternal(map.external, srcPort, seg.dst, dstPort);
      if (other && !other.done && !bytesEqual(other.internalAddr, seg.src)) {
        return this.drop('port-collision');
      }
      if (other && !other.done) {
        // The app came back on the external port number (state said another local port).
        c = other;
        c.port = srcPort;
      } else {
        if (!this.makeRoom()) return this.drop('table-full');
        const hard = { ...emptyHard(), port: srcPort, peerPort: dstPort };
        c = newConnection(seg.src, map.external, seg.dst, srcPort, hard);
      }
      this.table.reindex(c);
      this.unknownSeen.delete(connKey(seg.src, srcPort, seg.dst, dstPort));
    }

    if (syn) {
      const code = wsCode(readSynOptions(seg.options).ws);
      if (c.hard.appWs === WS_UNKNOWN) c.hard.appWs = code;
      c.appWsNow = code;
    }
    if (rst) {
      if (c.embryonic && !c.peer.haveAck) {
        // The app refused a peer's SYN (closed port, full backlog): a real answer, not a
        // dying stack. Forward it and forget the half-open connection.
        this.table.remove(c);
        this.embryonic.delete(c);
        if (c.hard.port !== 0) seg.srcPort = c.hard.port;
        return this.forwardToPeer(c, seg);
      }
      c.failed = true;
      return this.drop('app-rst');
    }
    if (c.hard.port !== 0) seg.srcPort = c.hard.port;
    c.win = seg.window;
    c.seq = add32(seg.seq, (syn ? 1 : 0) + seg.payload.length);
    if (fin) {
      c.fin = sub32(add32(c.seq, 1), c.delta);
      c.haveFin = true;
      if (!c.hard.doneWriting) c.failed = true;
    }
    if (!hasAck) {
      if (!syn) return this.drop('invalid-flags');
      c.synSent = true;
      if (c.peer.haveAck && c.hasCheckpoint) {
        this.beginRecovery(c);
        this.st.synAcks++;
        this.count('recovery-syn');
        return [{ to: 'app', packet: fakeSynAck(c) }];
      }
      // A new connection, or a recovery TCPR cannot answer yet: the peer will tell.
      if (c.hard.port === 0) c.hard.port = srcPort;
      c.port = srcPort;
      c.hard.peerPort = dstPort;
      this.table.reindex(c);
      return this.forwardToPeer(c, seg);
    }
    if (c.synSent) {
      c.synSent = false;
      c.failed = false;
    } else if (c.failed) {
      c.ack = seg.ack;
      c.appHaveAck = true;
      this.st.resets++;
      this.count('failed');
      return [{ to: 'app', packet: resetToApp(c, seg.ack) }];
    }
    c.ack = seg.ack;
    c.appHaveAck = true;
    const handshakeAck = c.awaitingHandshakeAck && !syn;
    c.awaitingHandshakeAck = false;
    if (c.hard.doneReading) {
      c.hard.ack = seg.ack;
      evaluateDone(c);
    } else if (seg.ack !== c.hard.ack) {
      if (seg.payload.length === 0 && !fin && !syn) {
        // E2: let window updates through, clamped; drop the rest.
        const w = windowToPeer(c, seg.window);
        // Compared with the last non-SYN window the peer got (none yet: drop, as §2.2).
        const last = c.lastWinToPeer;
        const grows = last >= 0 && (w > last || (w === 0 && last !== 0));
        if (!grows) return this.drop('unacked-ack');
      }
      seg.ack = c.hard.ack;
    }
    const out = this.forwardToPeer(c, seg);
    if (handshakeAck && seg.payload.length === 0 && !fin) {
      const ack = out[0]!.packet;
      for (let i = 0; i < this.dupAcks; i++) out.push({ to: 'peer', packet: ack.slice() });
      this.st.dupAcks += this.dupAcks;
    }
    if (c.done) this.table.markFinished(c);
    return out;
  }

  private forwardToPeer(c: Connection, seg: TcpSegment): Emit[] {
    seg.seq = sub32(seg.seq, c.delta);
    const syn = (seg.flags & TCP_FLAG.SYN) !== 0;
    if (!syn) seg.window = windowToPeer(c, seg.window);
    if (this.sackStrip && !c.hard.doneReading) stripSack(seg.options);
    if ((seg.flags & TCP_FLAG.ACK) !== 0 && !syn) c.lastWinToPeer = seg.window;
    seg.src = c.externalAddr;
    this.st.forwarded++;
    return [{ to: 'peer', packet: encodeSegment(seg) }];
  }

  private beginRecovery(c: Connection): void {
    c.delta = sub32(c.seq, c.peer.ack);
    c.hard.doneWriting = false;
    c.haveFin = false;
    c.awaitingHandshakeAck = true;
  }

  private peerSegment(seg: TcpSegment, map: Mapping): Emit[] {
    const f = seg.flags;
    const syn = (f & TCP_FLAG.SYN) !== 0;
    const hasAck = (f & TCP_FLAG.ACK) !== 0;
    const fin = (f & TCP_FLAG.FIN) !== 0;
    const rst = (f & TCP_FLAG.RST) !== 0;
    const srcPort = seg.srcPort;
    const dstPort = seg.dstPort;
    let c = this.table.byExternal(seg.dst, dstPort, seg.src, srcPort);
    if (c?.done && syn && !hasAck) {
      this.table.remove(c);
      c = undefined;
    }
    if (!c) {
      if (!syn || hasAck || rst) return this.noState('peer', seg.dst, dstPort, seg.src, srcPort);
      const l = this.table.listener(seg.dst, dstPort);
      const hard = { ...emptyHard(), port: dstPort, peerPort: srcPort };
      if (!this.makeRoom()) return this.drop('table-full');
      c = newConnection(
        l?.internalAddr ?? map.internal,
        seg.dst,
        seg.src,
        l?.internalPort ?? dstPort,
        hard,
      );
      c.embryonic = true;
      this.embryonic.add(c);
      this.table.reindex(c);
      this.unknownSeen.delete(connKey(seg.dst, dstPort, seg.src, srcPort));
    }

    if (syn) {
      const o = readSynOptions(seg.options);
      c.hard.peerMss = o.mss ?? 0;
      c.hard.peerWs = o.ws === undefined ? 0 : Math.min(o.ws, 14) + 1;
      c.hard.peerSackPermitted = o.sackPermitted;
    }
    shiftSackBlocks(seg.options, c.delta);
    seg.dstPort = c.port;
    c.peer.win = seg.window;
    if (syn && !c.peer.haveAck) {
      c.hard.port = dstPort;
      c.hard.peerPort = srcPort;
      c.hard.ack = add32(seg.seq, 1);
      c.hasCheckpoint = true;
    }
    if (fin) {
      c.peer.fin = add32(seg.seq, (syn ? 1 : 0) + seg.payload.length + 1);
      c.peer.haveFin = true;
    }
    if (hasAck) {
      if (!rst) {
        c.peer.ack = seg.ack;
        c.peer.haveAck = true;
        if (c.embryonic) {
          c.embryonic = false;
          this.embryonic.delete(c);
        }
        evaluateDone(c);
        if (c.synSent && !syn) {
          // The peer's challenge ACK to a SYN TCPR forwarded: state-less recovery.
          if (!c.hasCheckpoint) {
            this.count('no-checkpoint');
            this.notify('peer', seg.dst, dstPort, seg.src, srcPort, true);
            return [];
          }
          this.beginRecovery(c);
          this.st.synAcks++;
          this.count('recovery-ack');
          return [{ to: 'app', packet: fakeSynAck(c) }];
        }
      }
      seg.ack = add32(seg.ack, c.delta);
    }
    if (c.failed) return this.drop('failed');
    seg.dst = c.internalAddr;
    if (c.done) this.table.markFinished(c);
    this.st.forwarded++;
    return [{ to: 'app', packet: encodeSegment(seg) }];
  }

  // ---- bookkeeping --------------------------------------------------------------------------

  /** Keeps the table below maxConnections; false when nothing can be evicted. */
  private makeRoom(): boolean {
    while (this.table.size >= this.maxConnections) {
      const oldest = this.embryonic.values().next().value as Connection | undefined;
      if (!oldest) return false;
      this.embryonic.delete(oldest);
      this.table.remove(oldest);
    }
    return true;
  }

  private pass(to: Side, p: Uint8Array): Emit[] {
    this.st.passedThrough++;
    return [{ to, packet: p }];
  }

  private count(reason: DropReason): void {
    this.st.dropped[reason] = (this.st.dropped[reason] ?? 0) + 1;
  }

  private drop(reason: DropReason): Emit[] {
    this.count(reason);
    return [];
  }

  private noState(
    side: Side,
    local: Uint8Array,
    localPort: number,
    peer: Uint8Array,
    peerPort: number,
  ): Emit[] {
    this.notify(side, local, localPort, peer, peerPort, false);
    return this.drop('no-state');
  }

  /** E9: report a packet TCPR has no (usable) state for, rate-limited per connection. */
  private notify(
    side: Side,
    local: Uint8Array,
    localPort: number,
    peer: Uint8Array,
    peerPort: number,
    always: boolean,
  ): void {
    const key = connKey(local, localPort, peer, peerPort);
    const n = this.unknownSeen.get(key) ?? 0;
    if (this.unknownSeen.size >= 4096 && n === 0) this.unknownSeen.clear();
    this.unknownSeen.set(key, n + 1);
    if (!always && n % this.noticeEvery !== 0) return;
    this.st.notices++;
    this.opts.onNotice?.({
      type: 'no-state',
      side,
      localAddr: local.slice(),
      localPort,
      peerAddr: peer.slice(),
      peerPort,
    });
  }

  // ---- side channel ------------------------------------------------------------------------

  control(msg: ControlMessage): ControlResult {
    switch (msg.type) {
      case 'query': {
        const c = this.find(msg.conn);
        return { reply: c ? { type: 'state', state: snapshot(c) } : unknown(msg.conn), emits: [] };
      }
      case 'update':
        return this.update(msg.conn, msg.fields);
      case 'restore':
        return this.restore(msg.state);
      case 'listen': {
        const l = msg.listen;
        const map = this.byInternal.get(addrKey(l.internalAddr));
        if (!map) return notConfigured(l.internalAddr);
        const externalAddr = l.externalAddr ?? map.external;
        if (msg.remove) this.table.unlisten(externalAddr, l.port);
        else this.table.listen({ ...l, externalAddr });
        return { reply: { type: 'ok' }, emits: [] };
      }
      case 'list': {
        const all = this.table.all();
        const conns = all.slice(msg.offset, msg.offset + LIST_PAGE).map(snapshot);
        return {
          reply: { type: 'list-reply', total: all.length, offset: msg.offset, conns },
          emits: [],
        };
      }
      default:
        return {
          reply: {
            type: 'error',
            code: 'unexpected-message',
            message: `TCPR does not accept "${msg.type}" messages; send query, update, restore, listen or list`,
          },
          emits: [],
        };
    }
  }

  private find(ref: ConnRef): Connection | undefined {
    if (ref.externalAddr) {
      return this.table.byExternal(ref.externalAddr, ref.port, ref.peerAddr, ref.peerPort);
    }
    return this.table
      .all()
      .find(
        (c) =>
          c.hard.port === ref.port &&
          c.hard.peerPort === ref.peerPort &&
          bytesEqual(c.peerAddr, ref.peerAddr),
      );
  }

  private update(ref: ConnRef, f: UpdateFields): ControlResult {
    const c = this.find(ref);
    if (!c) return { reply: unknown(ref), emits: [] };
    if (f.internalAddr && !this.byInternal.has(addrKey(f.internalAddr))) {
      return notConfigured(f.internalAddr);
    }
    if (f.ack !== undefined && c.hasCheckpoint && seqLt(f.ack, c.hard.ack)) {
      return {
        reply: {
          type: 'error',
          code: 'checkpoint-regression',
          message: `checkpoint ${f.ack} is behind the one TCPR already has (${c.hard.ack}); the peer may have discarded that data — restore a newer checkpoint`,
        },
        emits: [],
      };
    }
    const before = c.hard.ack;
    if (f.internalAddr) c.internalAddr = f.internalAddr.slice();
    if (f.port !== undefined) c.port = f.port;
    if (f.internalAddr || f.port !== undefined) this.table.reindex(c);
    if (f.ack !== undefined) {
      c.hard.ack = f.ack >>> 0;
      c.hasCheckpoint = true;
    }
    if (f.doneReading !== undefined) c.hard.doneReading = f.doneReading;
    if (f.doneWriting !== undefined) c.hard.doneWriting = f.doneWriting;
    if (f.failed !== undefined) c.failed = f.failed;
    // §2.4a: done reading means everything the app's stack acknowledged is acknowledged.
    if (c.hard.doneReading && c.appHaveAck && seqLt(c.hard.ack, c.ack)) c.hard.ack = c.ack;
    evaluateDone(c);
    const emits: Emit[] = [];
    if (c.peer.haveAck) {
      if (c.failed) {
        this.st.resets++;
        emits.push({ to: 'app', packet: resetToApp(c, c.ack) });
      } else if (c.hard.ack !== before) {
        this.st.checkpointAcks++;
        emits.push({ to: 'peer', packet: checkpointAck(c) });
      }
    }
    if (f.done) {
      this.table.remove(c);
      this.embryonic.delete(c);
    } else if (c.done) this.table.markFinished(c);
    return { emits };
  }

  private restore(s: SavedState): ControlResult {
    const map = this.byInternal.get(addrKey(s.internalAddr));
    if (!map) return notConfigured(s.internalAddr);
    if (
      !this.byExternal.has(addrKey(s.externalAddr)) ||
      s.peerAddr.length !== s.externalAddr.length
    ) {
      return notConfigured(s.externalAddr);
    }
    let c = this.table.byExternal(s.externalAddr, s.hard.port, s.peerAddr, s.hard.peerPort);
    if (c) {
      c.internalAddr = s.internalAddr.slice();
      c.port = s.port;
      c.hard = { ...s.hard };
    } else {
      c = newConnection(s.internalAddr, s.externalAddr, s.peerAddr, s.port, { ...s.hard });
    }
    c.hasCheckpoint = true;
    this.table.reindex(c);
    this.unknownSeen.clear();
    return { reply: { type: 'ok' }, emits: [] };
  }

  /** Saved (hard) state of every connection, for save tools. */
  saveAll(): SavedState[] {
    return this.table.all().map(savedState);
  }
}

function addrKey(a: Uint8Array): string {
  return connKey(a, 0, new Uint8Array(0), 0);
}

function unknown(conn: ConnRef): ControlMessage {
  return { type: 'unknown', conn };
}

function notConfigured(a: Uint8Array): ControlResult {
  return {
    reply: {
      type: 'error',
      code: 'address-not-configured',
      message: `address ${formatAddr(a)} is not one of the filter's configured addresses; add it to the TCPR address mapping`,
    },
    emits: [],
  };
}

export function createFilter(opts: FilterOptions): TcprFilter {
  return new TcprFilter(opts);
}
