// The hypervisor's history of one neighbour session: the last announcement per (family,
// prefix, ADD-PATH path id) the neighbour sent, from which a new or restarted replica is
// bootstrapped (BTR paper §3.1 "Maintaining a set of running replicas", §4.1
// "Bootstrapping new connections", §4.3: "the RIB that needs to be kept is simply a history
// of messages received from the adjacent router").
//
// What is kept, and why it is enough. A BGP speaker's state learned from a neighbour is a
// function of the last UPDATE that touched each route (RFC 4271 §3.2, §9: an announcement
// replaces the previous route for the prefix, a withdrawal removes it; RFC 7911 §3: with
// ADD-PATH the route is identified by prefix and path identifier). So per (family, prefix,
// path id) the history keeps the attributes of the last announcement, and a withdrawal
// drops the entry. Replaying the entries, grouped by attributes, gives a fresh session the
// same Adj-RIB-In the live stream built.
//
// Compact form (STYLE.md §6). Attributes are kept as the neighbour encoded them — the
// octets of every path attribute except MP_REACH_NLRI / MP_UNREACH_NLRI, plus how the NLRI
// travelled (UPDATE body, or MP_REACH_NLRI with its AFI/SAFI and next hop) — interned, so
// the prefixes of one UPDATE share one `HistoryRoute` and a route costs one Map entry. Keys
// are the voter's route keys (canonical-key.ts): a small integer for IPv4 unicast. The
// octets are treated as opaque (§4.1: "the hypervisor treats … attributes … as opaque
// strings"): an attribute the replicas discard under RFC 7606 is replayed and discarded
// again, exactly as in the live stream.
//
// RFC 7606: an UPDATE treated as withdraw removes its announced prefixes; a session-reset
// malformation never arrives here (the neighbour session closes, and the history with it).
// End-of-RIB markers (RFC 4724 §2) are remembered per family, so a replay can end with them
// only where the neighbour has sent its own. Families the codec keeps opaque (other than
// IPv4/IPv6 unicast/multicast) cannot be keyed per prefix: they are counted, not kept.
//
// Snapshots. `snapshot()` copies the (key, route) pairs into two flat arrays in one pass
// (tens of ms at a million routes); the replay then walks the frozen arrays in chunks while
// the live stream keeps changing the history. Entries are immutable and shared, so the copy
// holds references only. `HistoryReplay` packs a snapshot into UPDATEs, grouping the routes
// of each chunk by attributes.

import { isDecodedFamily, type CodecContext, type UpdateMessage } from '../wire/index.js';
import { latin1 } from '../lib/bytes.js';
import { AFI } from '../lib/ip.js';
import { routeKey } from './canonical-key.js';
import {
  endOfRibFamily,
  familyOfKey,
  writeAnnouncements,
  type FamilyKey,
  type RouteForm,
} from './update-writer.js';
import type { VoteKey } from './voter.js';

const SAFI_UNICAST = 1;
const MP_REACH = 14;
const MP_UNREACH = 15;
const EXTENDED_LENGTH = 0x10;

/** An interned attribute block of the neighbour (shared by every route that carries it). */
export interface HistoryRoute extends RouteForm {
  readonly id: number;
  /** Routes holding it; it leaves the intern table at zero. */
  refs: number;
  readonly internKey: string;
}

export interface HistorySnapshot {
  /** Route keys, in history order. */
  readonly keys: VoteKey[];
  /** The attributes of keys[i]. */
  readonly routes: HistoryRoute[];
  /** Families whose End-of-RIB the neighbour had sent when the snapshot was taken. */
  readonly endOfRib: FamilyKey[];
}

export interface HistoryStats {
  readonly routes: number;
  readonly attributeSets: number;
  readonly updates: number;
  /** UPDATE parts of opaque families (not kept). */
  readonly opaqueUpdates: number;
  readonly endOfRib: FamilyKey[];
}

const EMPTY = new Uint8Array(0);

export class UpdateHistory {
  private readonly routes = new Map<VoteKey, HistoryRoute>();
  private readonly interned = new Map<string, HistoryRoute>();
  private readonly eor = new Set<FamilyKey>();
  private nextId = 1;
  private updates = 0;
  private opaque = 0;

  /**
   * Apply one UPDATE of the neighbour: `raw` is the whole message as received (header
   * included), `u` what it decoded to with the session's receive context.
   */
  apply(raw: Uint8Array, u: UpdateMessage): void {
    this.updates++;
    const eor = endOfRibFamily(u);
    if (eor !== undefined) {
      this.eor.add(eor);
      return;
    }
    for (const n of u.withdrawn) this.remove(routeKey(AFI.IPv4, SAFI_UNICAST, n.prefix, n.pathId));
    let reach: Extract<UpdateMessage['attributes'][number], { kind: 'mp-reach' }> | undefined;
    for (const a of u.attributes) {
      if (a.kind === 'mp-unreach') {
        if (a.withdrawn && isDecodedFamily(a.afi, a.safi)) {
          for (const n of a.withdrawn) this.remove(routeKey(a.afi, a.safi, n.prefix, n.pathId));
        } else if (a.opaque) this.opaque++;
      } else if (a.kind === 'mp-reach') reach = a;
    }
    const withdraw = u.treatAsWithdraw === true;
    if (reach) {
      if (reach.nlri && isDecodedFamily(reach.afi, reach.safi)) {
        const { afi, safi } = reach;
        if (withdraw)
          for (const n of reach.nlri) this.remove(routeKey(afi, safi, n.prefix, n.pathId));
        else if (reach.nlri.length > 0) {
          const r = this.intern(raw, true, afi, safi, reach.nextHop);
          for (const n of reach.nlri) this.set(routeKey(afi, safi, n.prefix, n.pathId), r);
        }
      } else if (reach.opaque) this.opaque++;
    }
    if (u.nlri.length > 0) {
      if (withdraw) {
        for (const n of u.nlri) this.remove(routeKey(AFI.IPv4, SAFI_UNICAST, n.prefix, n.pathId));
      } else {
        const r = this.intern(raw, false, AFI.IPv4, SAFI_UNICAST, EMPTY);
        for (const n of u.nlri) this.set(routeKey(AFI.IPv4, SAFI_UNICAST, n.prefix, n.pathId), r);
      }
    }
  }

  /** Forget everything (the neighbour session went down). */
  clear(): void {
    this.routes.clear();
    this.interned.clear();
    this.eor.clear();
  }

  get size(): number {
    return this.routes.size;
  }

  /** The kept announcement of a route, if any. */
  get(key: VoteKey): RouteForm | undefined {
    return this.routes.get(key);
  }

  /** Every kept route (for tests and diagnostics). */
  entries(): IterableIterator<[VoteKey, RouteForm]> {
    return this.routes.entries();
  }

  endOfRibSeen(family: FamilyKey): boolean {
    return this.eor.has(family);
  }

  /** The routes (of one family, or all) as they are now; see the file header. */
  snapshot(family?: FamilyKey): HistorySnapshot {
    const all = family === undefined;
    const n = all ? this.routes.size : 0;
    const keys = new Array<VoteKey>(n);
    const routes = new Array<HistoryRoute>(n);
    let i = 0;
    for (const [k, r] of this.routes) {
      if (all) {
        keys[i] = k;
        routes[i++] = r;
      } else if (familyOfKey(k) === family) {
        keys.push(k);
        routes.push(r);
      }
    }
    const endOfRib = [...this.eor].filter((f) => all || f === family);
    return { keys, routes, endOfRib };
  }

  stats(): HistoryStats {
    return {
      routes: this.routes.size,
      attributeSets: this.interned.size,
      updates: this.updates,
      opaqueUpdates: this.opaque,
      endOfRib: [...this.eor],
    };
  }

  private set(key: VoteKey, r: HistoryRoute): void {
    const old = this.routes.get(key);
    if (old === r) return;
    this.routes.set(key, r);
    r.refs++;
    if (old) this.release(old);
  }

  private remove(key: VoteKey): void {
    const old = this.routes.get(key);
    if (!old) return;
    this.routes.delete(key);
    this.release(old);
  }

  private release(r: HistoryRoute): void {
    if (--r.refs === 0) this.interned.delete(r.internKey);
  }

  /** The shared entry for the attributes of `raw` (all but MP_REACH/MP_UNREACH_NLRI). */
  private intern(
    raw: Uint8Array,
    mp: boolean,
    afi: number,
    safi: number,
    nextHop: Uint8Array,
  ): HistoryRoute {
    const block = attributeBlock(raw);
    let key = String.fromCharCode(mp ? 1 : 0, afi, safi, nextHop.length);
    for (let i = 0; i < nextHop.length; i++) key += String.fromCharCode(nextHop[i]!);
    key += latin1(block);
    const had = this.interned.get(key);
    if (had) return had;
    const r: HistoryRoute = {
      id: this.nextId++,
      attrs: block.slice(),
      mp,
      afi,
      safi,
      nextHop: nextHop.slice(),
      refs: 0,
      internKey: key,
    };
    this.interned.set(key, r);
    return r;
  }
}

/**
 * The path attributes of an encoded UPDATE without MP_REACH_NLRI and MP_UNREACH_NLRI, as a
 * view when they are contiguous (the usual case) or a copy otherwise. The message decoded
 * without a session reset, so its lengths hold; the walk still stays within bounds.
 */
export function attributeBlock(raw: Uint8Array): Uint8Array {
  const wl = (raw[19]! << 8) | raw[20]!;
  const at = 21 + wl;
  const tal = (raw[at]! << 8) | raw[at + 1]!;
  const start = at + 2;
  const end = Math.min(raw.length, start + tal);
  let p = start;
  let ranges: number[] | undefined;
  let keepFrom = start;
  while (p + 3 <= end) {
    const flags = raw[p]!;
    const code = raw[p + 1]!;
    const ext = (flags & EXTENDED_LENGTH) !== 0;
    const len = ext ? (raw[p + 2]! << 8) | (raw[p + 3] ?? 0) : raw[p + 2]!;
    const next = Math.min(end, p + (ext ? 4 : 3) + len);
    if (code === MP_REACH || code === MP_UNREACH) {
      ranges ??= [];
      if (p > keepFrom) ranges.push(keepFrom, p);
      keepFrom = next;
    }
    p = next;
  }
  if (!ranges) return raw.subarray(start, end);
  if (end > keepFrom) ranges.push(keepFrom, end);
  let n = 0;
  for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1]! - ranges[i]!;
  const out = new Uint8Array(n);
  for (let i = 0, o = 0; i < ranges.length; i += 2) {
    out.set(raw.subarray(ranges[i]!, ranges[i + 1]!), o);
    o += ranges[i + 1]! - ranges[i]!;
  }
  return out;
}

/** Routes per chunk of a replay: one chunk is grouped by attributes and packed at once. */
export const REPLAY_CHUNK = 4096;

/**
 * The UPDATEs that replay a snapshot, a chunk at a time (so the event loop is not blocked
 * at a million routes): `next()` packs the next `chunk` routes, grouped by attributes, and
 * returns their messages; an empty array once done. `ctx` is the neighbour session's
 * receive context (the attribute octets are in its encoding; ADD-PATH and the message size
 * limit come from it).
 */
export class HistoryReplay {
  private pos = 0;
  private readonly groups = new Map<HistoryRoute, VoteKey[]>();

  constructor(
    readonly snapshot: HistorySnapshot,
    private readonly ctx: CodecContext,
    private readonly chunk = REPLAY_CHUNK,
  ) {}

  get done(): boolean {
    return this.pos >= this.snapshot.keys.length;
  }

  /** Routes replayed so far. */
  get position(): number {
    return this.pos;
  }

  next(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const { keys, routes } = this.snapshot;
    const end = Math.min(keys.length, this.pos + this.chunk);
    const groups = this.groups;
    for (let i = this.pos; i < end; i++) {
      const r = routes[i]!;
      const g = groups.get(r);
      if (g) g.push(keys[i]!);
      else groups.set(r, [keys[i]!]);
    }
    this.pos = end;
    for (const [r, ks] of groups) writeAnnouncements(r, ks, 0, ks.length, this.ctx, out);
    groups.clear();
    return out;
  }
}
