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
// seq − delta; source address → external; checksums updated (E1).
// Inbound (peer → app): sanitise options, learn MSS/WS/SACK-permitted from SYNs, SACK edges
// + delta; destination port → internal port; a SYN sets the checkpoint to ISN + 1; FIN
// recorded; ACK → peer.ack, and while the app's SYN is outstanding a plain ACK is the
// peer's challenge ACK: state-less recovery (delta, drop, fake SYN-ACK); ack + delta;
// drop while failed; destination address → internal. Peer RSTs are delivered.
//
// Decisions on the open questions (spec §2.8; docs/tcpr.md "Decisions" says why):
// E1  Checksums: forwarded packets are rewritten in place, both checksums updated
//     incrementally (RFC 1624) for the words changed, so a corrupted segment stays
//     invalid and its receiver drops it; generated packets get them computed in full.
//     Verified (bad → drop) by default are only the segments TCPR learns lasting state
//     from: SYN, FIN, RST, no-state reports, and peer segments that move the peer's ACK
//     or may be a challenge ACK. `verifyChecksums: true` verifies all, `false` none.
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
// E12 Each peer ACK while the app's SYN is outstanding re-injects the SYN-ACK (delta recomputed).
// E13 IPv4 (with IP options) and IPv6; TCP in IPv4 fragments or behind IPv6 extension
//     headers is dropped; non-TCP fragments and extension headers pass.
// E14 One filter object per thread; calls are never concurrent.
// E15 The side channel is not seen here: the transport delivers control messages apart.
// E16 Ports are recorded from the header before it is rewritten.
// E17 `recover` (a recovering app's one message, sent right behind its reconnect's SYN)
//     restores the entry from the app's saved state, failed, when TCPR has none or only
//     one that SYN opened (no checkpoint; if the peer's challenge ACK was already dropped
//     for want of one, the SYN-ACK goes out now). An entry with a checkpoint keeps it and
//     its flags: the splice is made (or will be) at TCPR's checkpoint, and moving that
//     past the new socket's first input byte would acknowledge bytes the socket never
//     gets; marking it failed could reset the new socket if the datagram came after the
//     handshake. The app's checkpoint, if ahead, becomes pending: the checkpoint follows
//     the app's ACKs up to it (the new socket received those bytes; the app had made them
//     durable before it died), so the peer learns of them while the app discards them
//     (`skip`). The reply is always the state, with `spliced` set if a recovery was
//     spliced since the previous `recover` (normally: the SYN just before it; a splice no
//     `recover` followed, e.g. a retransmitted SYN's, leaves it set) and `spliceAck`, the
//     checkpoint at the last splice (or restore), where the new socket's input starts.
// Also: state-less recovery needs a checkpoint (peer SYN seen or state restored), else the
// challenge ACK is dropped and reported; a peer SYN resets the checkpoint only before the
// handshake completed; after the recovery handshake ACK, `dupAcks` (default 3) copies of
// it go to the peer to trigger fast retransmit (§2.4d); finished connections stay (marked
// done) until the app deletes them, a SYN reuses their ports, or `maxDone` newer ones
// finish; an app RST answering a peer's SYN (closed port) is forwarded and the half-open
// entry forgotten, and so is a peer RST answering the app's first SYN; half-open entries are evicted first at `maxConnections`; two internal
// addresses behind one external address cannot share a port to one peer (`port-collision`);
// a kill (`update {failed}`) resets the app's socket at its last ACK, or, on an entry that
// has not seen the app since a restore, probes it with one old byte and resets it at the
// ACK that draws (`probes`; docs/tcpr.md "Decisions").

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
  probeApp,
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
import {
  nopUnknownOptions,
  OPT_SCAN,
  readSynOptions,
  scanOptions,
  scanReason,
  shiftSackBlocks,
  stripSack,
} from './options.js';
import {
  checkTcp,
  finishPatch,
  IP_PROTO,
  ipPacket,
  noteOptions,
  optionSum,
  PacketView,
  patchAddr,
  patchTcp,
  payloadLength,
  readIp,
  readTcp,
  TCP_FLAG,
  type MalformedReason,
} from './packet.js';

// The contract with the packet pump is the pump's (types only: nothing of it runs here).
import type { Emit, PacketFilter, Side } from '../net/packet-pump.js';
export type { Emit, PacketFilter, Side };

/** The application's address and the address peers see for it (equal: no rewrite). */
export interface AddressMapping {
  internal: Uint8Array | string;
  external: Uint8Array | string;
}

export interface FilterOptions {
  addresses: readonly AddressMapping[];
  /**
   * Which incoming checksums are verified, bad packets dropped (E1). Default 'acting':
   * the segments TCPR learns lasting state from (SYN, FIN, RST, no-state reports, peer
   * segments that move the peer's ACK or may be a challenge ACK); true: every TCP segment
   * on a configured address; false: none.
   */
  verifyChecksums?: boolean | 'acting';
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
  /** Probes of a dead app socket whose receive window TCPR did not know (update failed). */
  probes: number;
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
const { SYN, ACK, FIN, RST } = TCP_FLAG;

// ---- allocation-free lookups ----------------------------------------------------------------

/** The 32-bit word at b[i, i+4), as a signed int (hashing only). */
function word(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

/** Mixes the address b[at, at+len) into h (len 4 or 16). */
function mixAddr(h: number, b: Uint8Array, at: number, len: number): number {
  for (let i = at; i < at + len; i += 4) {
    h = Math.imul(h ^ word(b, i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h;
}

/** A small-integer (V8 Smi) hash key: 30 bits. */
function smi(h: number): number {
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/**
 * A copy of the address at b[at, at+len). Not `subarray().slice()`: the pump hands over
 * Buffers, whose slice is a view, and the packet is about to be rewritten in place.
 */
function addrCopy(b: Uint8Array, at: number, len: number): Uint8Array {
  return new Uint8Array(b.subarray(at, at + len));
}

/** True when b[at, at+a.length) holds the address a. */
function addrAt(b: Uint8Array, at: number, len: number, a: Uint8Array): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) if (b[at + i] !== a[i]) return false;
  return true;
}

/** Configured addresses → mapping, looked up in a packet without building a string. */
class AddressIndex {
  private readonly buckets = new Map<number, { addr: Uint8Array; map: Mapping }[]>();

  /** Sets (replace: true) or adds if absent the mapping for `addr`. */
  set(addr: Uint8Array, map: Mapping, replace: boolean): void {
    const k = smi(mixAddr(addr.length, addr, 0, addr.length));
    const bucket = this.buckets.get(k) ?? [];
    const e = bucket.find((x) => bytesEqual(x.addr, addr));
    if (!e) bucket.push({ addr, map });
    else if (replace) e.map = map;
    this.buckets.set(k, bucket);
  }

  /** The mapping of the address at b[at, at+len). */
  at(b: Uint8Array, at: number, len: number): Mapping | undefined {
    const bucket = this.buckets.get(smi(mixAddr(len, b, at, len)));
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) {
      const e = bucket[i]!;
      if (addrAt(b, at, len, e.addr)) return e.map;
    }
    return undefined;
  }

  get(addr: Uint8Array): Mapping | undefined {
    return this.at(addr, 0, addr.length);
  }
}

/** The number a packet's side of a connection is cached under (a hash: see FlowTable). */
function flowKey(
  b: Uint8Array,
  localAt: number,
  localPort: number,
  peerAt: number,
  peerPort: number,
  len: number,
): number {
  const h = Math.imul((localPort << 16) | peerPort, 0x9e3779b1);
  return smi(mixAddr(mixAddr(h, b, localAt, len), b, peerAt, len));
}

/**
 * The connection table with a numeric cache in front of it for the packet path: the base
 * table keys by strings, built per lookup. Per side, a connection found in the table is
 * cached under a 30-bit hash of the packet's addresses and ports; a hit counts only if
 * the connection's own addresses and ports equal the packet's (a collision or a re-keyed
 * connection falls back to the table, which stays the authority). Every removal —
 * including the table's own evictions, which go through `remove` — and every re-key drop
 * the connection from the cache, so a hit is always a live connection.
 */
class FlowTable extends ConnectionTable {
  private readonly appFlows = new Map<number, Connection>();
  private readonly peerFlows = new Map<number, Connection>();
  private readonly appKeyOf = new Map<Connection, number>();
  private readonly peerKeyOf = new Map<Connection, number>();

  /** The connection of an app packet (internal side) read into `v`. */
  appFlow(p: Uint8Array, v: PacketView): Connection | undefined {
    const { srcAt, dstAt, addrLen, srcPort, dstPort } = v;
    const k = flowKey(p, srcAt, srcPort, dstAt, dstPort, addrLen);
    const c = this.appFlows.get(k);
    if (
      c !== undefined &&
      c.port === srcPort &&
      c.hard.peerPort === dstPort &&
      addrAt(p, srcAt, addrLen, c.internalAddr) &&
      addrAt(p, dstAt, addrLen, c.peerAddr)
    ) {
      return c;
    }
    const src = p.subarray(srcAt, srcAt + addrLen);
    const found = this.byInternal(src, srcPort, p.subarray(dstAt, dstAt + addrLen), dstPort);
    if (found) remember(this.appFlows, this.appKeyOf, k, found);
    return found;
  }

  /** The connection of a peer packet (external side) read into `v`. */
  peerFlow(p: Uint8Array, v: PacketView): Connection | undefined {
    const { srcAt, dstAt, addrLen, srcPort, dstPort } = v;
    const k = flowKey(p, dstAt, dstPort, srcAt, srcPort, addrLen);
    const c = this.peerFlows.get(k);
    if (
      c !== undefined &&
      c.hard.port === dstPort &&
      c.hard.peerPort === srcPort &&
      addrAt(p, dstAt, addrLen, c.externalAddr) &&
      addrAt(p, srcAt, addrLen, c.peerAddr)
    ) {
      return c;
    }
    const dst = p.subarray(dstAt, dstAt + addrLen);
    const found = this.byExternal(dst, dstPort, p.subarray(srcAt, srcAt + addrLen), srcPort);
    if (found) remember(this.peerFlows, this.peerKeyOf, k, found);
    return found;
  }

  override reindex(c: Connection): void {
    this.forget(c);
    super.reindex(c);
  }

  override remove(c: Connection): void {
    super.remove(c);
    this.forget(c);
  }

  private forget(c: Connection): void {
    forget(this.appFlows, this.appKeyOf, c);
    forget(this.peerFlows, this.peerKeyOf, c);
  }
}

function remember(
  flows: Map<number, Connection>,
  keyOf: Map<Connection, number>,
  k: number,
  c: Connection,
): void {
  forget(flows, keyOf, c);
  const other = flows.get(k);
  if (other !== undefined) keyOf.delete(other);
  flows.set(k, c);
  keyOf.set(c, k);
}

function forget(flows: Map<number, Connection>, keyOf: Map<Connection, number>, c: Connection) {
  const k = keyOf.get(c);
  if (k === undefined) return;
  if (flows.get(k) === c) flows.delete(k);
  keyOf.delete(c);
}

// ---- the filter -----------------------------------------------------------------------------

export class TcprFilter implements PacketFilter {
  readonly table: ConnectionTable;
  private readonly flows: FlowTable;
  private readonly internals = new AddressIndex();
  private readonly externals = new AddressIndex();
  private readonly verifyAll: boolean;
  private readonly verifyActing: boolean;
  private readonly dupAcks: number;
  private readonly sackStrip: boolean;
  private readonly noticeEvery: number;
  private readonly unknownSeen = new Map<string, number>();
  /** Connections opened by a peer SYN and not yet acknowledged, oldest first. */
  private readonly embryonic = new Set<Connection>();
  private readonly maxConnections: number;
  /** The packet being filtered (E14: one call at a time), read in place. */
  private readonly v = new PacketView();
  /** OPT_SCAN flags of its options. */
  private optScan = 0;
  /** The current segment's TCP checksum was verified (readSegment), E1 'acting'. */
  private verified = false;
  private readonly st: FilterStats = {
    fromApp: 0,
    fromPeer: 0,
    passedThrough: 0,
    forwarded: 0,
    checkpointAcks: 0,
    synAcks: 0,
    resets: 0,
    probes: 0,
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
      this.internals.set(internal, map, true);
      this.externals.set(external, map, false);
    }
    const verify = opts.verifyChecksums ?? 'acting';
    this.verifyAll = verify === true;
    this.verifyActing = verify === 'acting';
    this.dupAcks = opts.dupAcks ?? 3;
    this.sackStrip = opts.stripSack ?? true;
    this.noticeEvery = Math.max(1, opts.noticeEvery ?? 32);
    this.table = this.flows = new FlowTable(opts.maxDone ?? 1024);
    this.maxConnections = opts.maxConnections ?? 65536;
  }

  stats(): FilterStats {
    return { ...this.st, dropped: { ...this.st.dropped } };
  }

  // ---- packets ----------------------------------------------------------------------------
  //
  // The packet is read into `this.v` and, when forwarded, rewritten in place: header fields
  // are edited in the view and written back by `patchTcp`, option bytes directly (with
  // optionSum/noteOptions around them).

  fromApp(p: Uint8Array): Emit[] {
    this.st.fromApp++;
    const v = this.v;
    const bad = readIp(p, v);
    if (bad !== undefined) return this.drop(bad);
    const map = v.proto === IP_PROTO.TCP ? this.internals.at(p, v.srcAt, v.addrLen) : undefined;
    if (!map) return this.pass('peer', p);
    const malformed = this.readSegment(p, v);
    if (malformed !== undefined) return this.drop(malformed);
    return this.appSegment(p, v, map);
  }

  fromPeer(p: Uint8Array): Emit[] {
    this.st.fromPeer++;
    const v = this.v;
    const bad = readIp(p, v);
    if (bad !== undefined) return this.drop(bad);
    const map = v.proto === IP_PROTO.TCP ? this.externals.at(p, v.dstAt, v.addrLen) : undefined;
    if (!map) return this.pass('app', p);
    const malformed = this.readSegment(p, v);
    if (malformed !== undefined) return this.drop(malformed);
    return this.peerSegment(p, v, map);
  }

  /** TCP header, checksums where E1 wants them before anything else, options sanitised. */
  private readSegment(p: Uint8Array, v: PacketView): MalformedReason | undefined {
    const bad = readTcp(p, v);
    if (bad !== undefined) return bad;
    this.verified = false;
    if (this.verifyAll || (this.verifyActing && (v.flags & (SYN | FIN | RST)) !== 0)) {
      const sum = checkTcp(p, v);
      if (sum !== undefined) return sum;
      this.verified = true;
    }
    const start = v.t + 20;
    const end = v.t + v.doff;
    const scan = start === end ? 0 : scanOptions(p, start, end);
    if (scan < 0) return scanReason(scan);
    this.optScan = scan;
    if ((scan & OPT_SCAN.UNKNOWN) !== 0) {
      // NOPing changes the segment before its checksum is adjusted (at the end): a later
      // check (checkActing) would fail a valid segment. Verify it now, as it arrived
      // (rare: only segments carrying options TCPR strips).
      if (this.verifyActing && !this.verified) {
        const sum = checkTcp(p, v);
        if (sum !== undefined) return sum;
        this.verified = true;
      }
      const before = optionSum(p, v);
      nopUnknownOptions(p, start, end);
      noteOptions(p, v, before);
    }
    return undefined;
  }

  /** E1 'acting': verifies a segment before TCPR learns lasting state from it. */
  private checkActing(p: Uint8Array, v: PacketView): MalformedReason | undefined {
    // SYN/FIN/RST were verified in readSegment, so was a segment with stripped options,
    // and everything with `true`.
    if (!this.verifyActing || this.verified) return undefined;
    return checkTcp(p, v);
  }

  /** A finished connection whose ports a new SYN reuses is forgotten first. */
  private reusable(c: Connection | undefined, flags: number): Connection | undefined {
    if (c?.done && (flags & (SYN | ACK)) === SYN) {
      this.table.remove(c);
      return undefined;
    }
    return c;
  }

  private appSegment(p: Uint8Array, v: PacketView, map: Mapping): Emit[] {
    const f = v.flags;
    const syn = (f & SYN) !== 0;
    const hasAck = (f & ACK) !== 0;
    const fin = (f & FIN) !== 0;
    const rst = (f & RST) !== 0;
    const payload = payloadLength(v);
    // E16: everything below that records ports uses these, not the rewritten header.
    const srcPort = v.srcPort;
    const dstPort = v.dstPort;
    let c = this.reusable(this.flows.appFlow(p, v), f);
    if (!c) {
      const src = addrCopy(p, v.srcAt, v.addrLen);
      const dst = addrCopy(p, v.dstAt, v.addrLen);
      if (!syn || hasAck || rst) return this.noState('app', p, v, src, srcPort, dst, dstPort);
      const other = this.table.byExternal(map.external, srcPort, dst, dstPort);
      if (other && !other.done && !bytesEqual(other.internalAddr, src)) {
        return this.drop('port-collision');
      }
      if (other && !other.done) {
        // The app came back on the external port number (state said another local port).
        c = other;
        c.port = srcPort;
      } else {
        if (!this.makeRoom()) return this.drop('table-full');
        const hard = { ...emptyHard(), port: srcPort, peerPort: dstPort };
        c = newConnection(src, map.external, dst, srcPort, hard);
      }
      this.table.reindex(c);
      this.unknownSeen.delete(connKey(src, srcPort, dst, dstPort));
    }

    if (syn) {
      const code = wsCode(readSynOptions(p, v.t + 20, v.t + v.doff).ws);
      if (c.hard.appWs === WS_UNKNOWN) c.hard.appWs = code;
      c.appWsNow = code;
    }
    if (rst) {
      if (c.embryonic && !c.peer.haveAck) {
        // The app refused a peer's SYN (closed port, full backlog): a real answer, not a
        // dying stack. Forward it and forget the half-open connection.
        this.table.remove(c);
        this.embryonic.delete(c);
        if (c.hard.port !== 0) v.srcPort = c.hard.port;
        return this.forwardToPeer(c, p, v);
      }
      c.failed = true;
      return this.drop('app-rst');
    }
    if (c.hard.port !== 0) v.srcPort = c.hard.port;
    c.win = v.window;
    c.seq = add32(v.seq, (syn ? 1 : 0) + payload);
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
      return this.forwardToPeer(c, p, v);
    }
    if (c.synSent) {
      c.synSent = false;
      c.failed = false;
    } else if (c.failed) {
      c.ack = v.ack;
      c.appHaveAck = true;
      this.st.resets++;
      this.count('failed');
      return [{ to: 'app', packet: resetToApp(c, v.ack) }];
    }
    c.ack = v.ack;
    c.appHaveAck = true;
    const advanced = c.havePendingAck && this.advancePending(c, v.ack);
    const handshakeAck = c.awaitingHandshakeAck && !syn;
    c.awaitingHandshakeAck = false;
    if (c.hard.doneReading) {
      c.hard.ack = v.ack;
      evaluateDone(c);
    } else if (v.ack !== c.hard.ack) {
      if (payload === 0 && !fin && !syn) {
        // E2: let window updates through, clamped; drop the rest.
        const w = windowToPeer(c, v.window);
        // Compared with the last non-SYN window the peer got (none yet: drop, as §2.2).
        const last = c.lastWinToPeer;
        const grows = last >= 0 && (w > last || (w === 0 && last !== 0));
        if (!grows) {
          if (!advanced) return this.drop('unacked-ack');
          this.st.checkpointAcks++;
          return [{ to: 'peer', packet: checkpointAck(c) }];
        }
      }
      v.ack = c.hard.ack;
    }
    const out = this.forwardToPeer(c, p, v);
    if (handshakeAck && payload === 0 && !fin) {
      const ack = out[0]!.packet;
      // Copies (a Buffer's slice would be a view of the packet).
      for (let i = 0; i < this.dupAcks; i++) out.push({ to: 'peer', packet: new Uint8Array(ack) });
      this.st.dupAcks += this.dupAcks;
    }
    if (c.done) this.table.markFinished(c);
    return out;
  }

  private forwardToPeer(c: Connection, p: Uint8Array, v: PacketView): Emit[] {
    v.seq = sub32(v.seq, c.delta);
    const syn = (v.flags & SYN) !== 0;
    if (!syn) v.window = windowToPeer(c, v.window);
    if ((this.optScan & OPT_SCAN.SACK) !== 0 && this.sackStrip && !c.hard.doneReading) {
      const before = optionSum(p, v);
      stripSack(p, v.t + 20, v.t + v.doff);
      noteOptions(p, v, before);
    }
    if ((v.flags & ACK) !== 0 && !syn) c.lastWinToPeer = v.window;
    patchAddr(p, v, v.srcAt, c.externalAddr);
    return this.forward('peer', p, v);
  }

  /** Writes the view back into the packet, fixes the checksums, and forwards it. */
  private forward(to: Side, p: Uint8Array, v: PacketView): Emit[] {
    patchTcp(p, v);
    finishPatch(p, v);
    this.st.forwarded++;
    const packet = ipPacket(p, v);
    return [packet === p && !v.dirty ? { to, packet, unchanged: true } : { to, packet }];
  }

  private beginRecovery(c: Connection): void {
    c.delta = sub32(c.seq, c.peer.ack);
    c.spliced = true;
    c.spliceAck = c.hard.ack;
    c.hard.doneWriting = false;
    c.haveFin = false;
    c.awaitingHandshakeAck = true;
  }

  private peerSegment(p: Uint8Array, v: PacketView, map: Mapping): Emit[] {
    const f = v.flags;
    const syn = (f & SYN) !== 0;
    const hasAck = (f & ACK) !== 0;
    const fin = (f & FIN) !== 0;
    const rst = (f & RST) !== 0;
    const srcPort = v.srcPort;
    const dstPort = v.dstPort;
    let c = this.reusable(this.flows.peerFlow(p, v), f);
    if (!c) {
      const src = addrCopy(p, v.srcAt, v.addrLen);
      const dst = addrCopy(p, v.dstAt, v.addrLen);
      if (!syn || hasAck || rst) return this.noState('peer', p, v, dst, dstPort, src, srcPort);
      const l = this.table.listener(dst, dstPort);
      const hard = { ...emptyHard(), port: dstPort, peerPort: srcPort };
      if (!this.makeRoom()) return this.drop('table-full');
      c = newConnection(
        l?.internalAddr ?? map.internal,
        dst,
        src,
        l?.internalPort ?? dstPort,
        hard,
      );
      c.embryonic = true;
      this.embryonic.add(c);
      this.table.reindex(c);
      this.unknownSeen.delete(connKey(dst, dstPort, src, srcPort));
    } else if (hasAck && !rst && (c.synSent || !c.peer.haveAck || v.ack !== c.peer.ack)) {
      // E1: the peer's ACK is where a recovery splices; verify before recording it.
      const bad = this.checkActing(p, v);
      if (bad !== undefined) return this.drop(bad);
    }

    if (syn) {
      const o = readSynOptions(p, v.t + 20, v.t + v.doff);
      c.hard.peerMss = o.mss ?? 0;
      c.hard.peerWs = o.ws === undefined ? 0 : Math.min(o.ws, 14) + 1;
      c.hard.peerSackPermitted = o.sackPermitted;
    }
    if ((this.optScan & OPT_SCAN.SACK) !== 0 && c.delta !== 0) {
      const before = optionSum(p, v);
      shiftSackBlocks(p, c.delta, v.t + 20, v.t + v.doff);
      noteOptions(p, v, before);
    }
    v.dstPort = c.port;
    c.peer.win = v.window;
    if (syn && !c.peer.haveAck) {
      c.hard.port = dstPort;
      c.hard.peerPort = srcPort;
      c.hard.ack = add32(v.seq, 1);
      c.hasCheckpoint = true;
    }
    if (fin) {
      c.peer.fin = add32(v.seq, (syn ? 1 : 0) + payloadLength(v) + 1);
      c.peer.haveFin = true;
    }
    if (hasAck) {
      if (!rst) {
        c.peer.ack = v.ack;
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
            const local = addrCopy(p, v.dstAt, v.addrLen);
            const peer = addrCopy(p, v.srcAt, v.addrLen);
            this.notify('peer', local, dstPort, peer, srcPort, true);
            return [];
          }
          this.beginRecovery(c);
          this.st.synAcks++;
          this.count('recovery-ack');
          return [{ to: 'app', packet: fakeSynAck(c) }];
        }
      }
      v.ack = add32(v.ack, c.delta);
    }
    if (c.failed) return this.drop('failed');
    patchAddr(p, v, v.dstAt, c.internalAddr);
    if (rst && c.synSent && !c.peer.haveAck && !c.hasCheckpoint) {
      // The peer refused the app's first SYN (closed port): a real answer. Deliver it and
      // forget the half-open entry (the mirror of an app RST answering a peer SYN).
      const out = this.forward('app', p, v);
      this.table.remove(c);
      return out;
    }
    if (c.done) this.table.markFinished(c);
    return this.forward('app', p, v);
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
    return [{ to, packet: p, unchanged: true }];
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
    p: Uint8Array,
    v: PacketView,
    local: Uint8Array,
    localPort: number,
    peer: Uint8Array,
    peerPort: number,
  ): Emit[] {
    // E1: a notice makes the application act; not on a corrupted segment's word.
    const bad = this.checkActing(p, v);
    if (bad !== undefined) return this.drop(bad);
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
      case 'recover':
        return this.recover(msg.state);
      case 'listen': {
        const l = msg.listen;
        const map = this.internals.get(l.internalAddr);
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
            message: `TCPR does not accept "${msg.type}" messages; send query, update, restore, recover, listen or list`,
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
    if (f.internalAddr && !this.internals.get(f.internalAddr)) {
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
    if (f.internalAddr) c.internalAddr = new Uint8Array(f.internalAddr);
    if (f.port !== undefined) c.port = f.port;
    if (f.internalAddr || f.port !== undefined) this.table.reindex(c);
    if (f.ack !== undefined) {
      c.hard.ack = f.ack >>> 0;
      c.hasCheckpoint = true;
      if (c.havePendingAck && !seqLt(c.hard.ack, c.pendingAck)) c.havePendingAck = false;
    }
    if (f.doneReading !== undefined) c.hard.doneReading = f.doneReading;
    if (f.doneWriting !== undefined) c.hard.doneWriting = f.doneWriting;
    if (f.failed !== undefined) c.failed = f.failed;
    // §2.4a: done reading means everything the app's stack acknowledged is acknowledged.
    if (c.hard.doneReading && c.appHaveAck && seqLt(c.hard.ack, c.ack)) c.hard.ack = c.ack;
    evaluateDone(c);
    const emits: Emit[] = [];
    if (c.failed) {
      if (c.appHaveAck) {
        this.st.resets++;
        emits.push({ to: 'app', packet: resetToApp(c, c.ack) });
      } else if (f.failed && c.hasCheckpoint && !c.synSent) {
        // The dead socket's receive window is unknown here (a restored entry that has not
        // seen the app): make it say. Its answer meets the failed path's reset in fromApp.
        this.st.probes++;
        emits.push({ to: 'app', packet: probeApp(c) });
      }
    } else if (c.peer.haveAck && c.hard.ack !== before) {
      this.st.checkpointAcks++;
      emits.push({ to: 'peer', packet: checkpointAck(c) });
    }
    if (f.done) {
      this.table.remove(c);
      this.embryonic.delete(c);
    } else if (c.done) this.table.markFinished(c);
    return { emits };
  }

  private restore(s: SavedState): ControlResult {
    const bad = this.unmapped(s);
    if (bad) return bad;
    this.restoreEntry(s);
    return { reply: { type: 'ok' }, emits: [] };
  }

  /** E17. */
  private recover(s: SavedState): ControlResult {
    const bad = this.unmapped(s);
    if (bad) return bad;
    let c = this.table.byExternal(s.externalAddr, s.hard.port, s.peerAddr, s.hard.peerPort);
    const emits: Emit[] = [];
    if (c?.hasCheckpoint) {
      if (seqLt(c.hard.ack, s.hard.ack)) {
        c.pendingAck = s.hard.ack;
        c.havePendingAck = true;
        // A live socket past the handshake (the datagram came late): its ACKs so far.
        if (!c.synSent && !c.failed && c.appHaveAck && this.advancePending(c, c.ack)) {
          this.st.checkpointAcks++;
          emits.push({ to: 'peer', packet: checkpointAck(c) });
        }
      }
    } else {
      c = this.restoreEntry(s);
      c.failed = true;
      if (c.synSent && c.peer.haveAck) {
        // The peer's challenge ACK to the SYN came first and was dropped (no checkpoint
        // then): the splice it would have made, now.
        this.beginRecovery(c);
        this.st.synAcks++;
        this.count('recovery-ack');
        emits.push({ to: 'app', packet: fakeSynAck(c) });
      }
    }
    const state = snapshot(c);
    c.spliced = false;
    return { reply: { type: 'state', state }, emits };
  }

  /** E17: the checkpoint follows the app's ACK `ack` up to the pending one; true if moved. */
  private advancePending(c: Connection, ack: number): boolean {
    if (!seqLt(c.hard.ack, c.pendingAck)) {
      c.havePendingAck = false; // the checkpoint got there another way (update, restore)
      return false;
    }
    if (!seqLt(c.hard.ack, ack)) return false;
    const to = seqLt(ack, c.pendingAck) ? ack : c.pendingAck;
    c.hard.ack = to;
    if (to === c.pendingAck) c.havePendingAck = false;
    return true;
  }

  private unmapped(s: SavedState): ControlResult | undefined {
    if (!this.internals.get(s.internalAddr)) return notConfigured(s.internalAddr);
    if (!this.externals.get(s.externalAddr) || s.peerAddr.length !== s.externalAddr.length) {
      return notConfigured(s.externalAddr);
    }
    return undefined;
  }

  private restoreEntry(s: SavedState): Connection {
    let c = this.table.byExternal(s.externalAddr, s.hard.port, s.peerAddr, s.hard.peerPort);
    if (c) {
      c.internalAddr = new Uint8Array(s.internalAddr);
      c.port = s.port;
      c.hard = { ...s.hard };
      c.havePendingAck = false;
      c.spliced = false;
    } else {
      c = newConnection(s.internalAddr, s.externalAddr, s.peerAddr, s.port, { ...s.hard });
    }
    c.hasCheckpoint = true;
    c.spliceAck = c.hard.ack; // where a splice of the restored entry will start
    this.table.reindex(c);
    this.unknownSeen.clear();
    return c;
  }

  /** Saved (hard) state of every connection, for save tools. */
  saveAll(): SavedState[] {
    return this.table.all().map(savedState);
  }
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
