// The input of the BTR voting evaluation (paper §5.1: "we replayed BGP routing updates …
// a 100 hour long trace … multiple streams of updates, each from a single vantage point"):
// a real update trace, turned into the stream of *correct outputs* a router computes from it,
// and extended to 100 hours of virtual time.
//
// Correct output. Every peer of the trace (a RIS vantage point) is a neighbour of the router;
// its UPDATEs fill that peer's Adj-RIB-In, and the router's output for a prefix is the best
// route the real decision process (decision/, RFC 4271 §9.1.2, default options) selects in
// the Loc-RIB (rib/). A change of best route — another peer, other attributes, or no route
// — is one correct output change: what the update voter to a neighbour and the FIB voter
// see from every healthy replica. The vote key is the prefix (btr/canonical-key.ts
// `routeKey`); the value names the best route (its peer and interned attribute set).
// Routes the trace never mentions are not in the table: the file is an update trace, not a
// RIB dump. A peer whose session leaves Established (a STATE_CHANGE record) loses its routes.
//
// Time. MRT timestamps have one-second resolution (BGP4MP_ET microseconds are used when
// present). The records of one second are spread evenly over it in file order, so each
// record keeps its place and each second its number of records; all prefixes of one record
// (one UPDATE) change at the same instant.
//
// Extension to ≥ 100 h (`copiesFor`). The trace (period P = its span rounded up to whole
// seconds, 300 s for the RIS file) is replayed back to back: copy c is the whole file
// shifted by c × P, same peers, same prefixes, no permutation. The router's state carries
// over from one copy to the next, exactly as if the neighbours had sent the same five
// minutes again. The first pass over the file (from an empty table) is a warm-up that is
// not part of the experiment: it fills the table (announcements that are really
// re-announcements of routes held before the file starts). Every later copy starts from
// the state the file leaves behind, so every copy produces the same correct-output stream
// (`changes`), which is stored once. What this keeps: each prefix's sequence of changes,
// their spacing and the bursts (up to 13,444 prefix events in one second) as recorded; what
// it adds: one seam per 300 s where a prefix's last state of the file meets its first update
// of the next copy (an announcement equal to the route held is no change; the decision
// process decides, as for any update).

import type { Prefix } from '../../lib/ip.js';
import { readMrtBatches } from '../../mrt/reader.js';
import { decodeBgp4mpMessage, messageContext } from '../../mrt/records.js';
import { bestSelector } from '../../decision/index.js';
import {
  AttrPool,
  LocRib,
  keyToPrefix,
  prefixKey,
  type AttrSet,
  type PeerRef,
} from '../../rib/index.js';
import { routeKey } from '../../btr/canonical-key.js';
import type { VoteKey } from '../../btr/voter.js';
import type { Nlri, UpdateMessage } from '../../wire/index.js';

/** RFC 4271 FSM state Established, as STATE_CHANGE records number it (RFC 6396 §4.4.1). */
const ESTABLISHED = 6;
const SAFI_UNICAST = 1;

/** The correct-output stream of one copy of a trace, and what it came from. */
export interface Trace {
  /** The MRT file. */
  readonly source: string;
  /** Length of one copy (ms): the file's span in whole seconds. */
  readonly periodMs: number;
  /** Records per copy (BGP4MP messages and state changes), in time order. */
  readonly records: number;
  /** Input time of each record within a copy (ms, from 0). */
  readonly recordTime: Float64Array;
  /** Prefix events per copy (announcements and withdrawals, every peer). */
  readonly prefixEvents: number;
  /** Peers that sent at least one prefix event. */
  readonly peers: number;
  /** Vote key of each key index (every prefix the file mentions). */
  readonly keys: readonly VoteKey[];
  /** Voter value of each value id (a best route: peer and attribute set). */
  readonly values: readonly string[];
  /** Best route (value id, -1 none) of each key when a copy starts. */
  readonly initial: Int32Array;
  /** The correct output changes of one copy, in time order (ties: record order). */
  readonly changes: {
    readonly time: Float64Array;
    readonly key: Int32Array;
    /** Value id; -1: no route (withdraw). */
    readonly value: Int32Array;
    readonly record: Int32Array;
  };
  /** Changes of the warm-up pass from an empty table (not replayed). */
  readonly warmupChanges: number;
}

export class TraceInputError extends Error {
  readonly code = 'ERR_BTR_EVAL_TRACE';
}

interface InRecord {
  readonly ts: number;
  readonly us: number;
  readonly peer: string;
  readonly peerAs: number;
  readonly peerAddress: Uint8Array;
  /** undefined: a state change */
  readonly events?: { readonly prefix: Prefix; readonly pathId: number; readonly set?: AttrSet }[];
  readonly down?: boolean;
}

/** Reads an MRT update trace and computes its correct-output stream (see the file header). */
export async function loadTrace(path: string): Promise<Trace> {
  const pool = new AttrPool();
  const recs: InRecord[] = [];
  let prefixEvents = 0;
  try {
    for await (const batch of readMrtBatches(path)) {
      for (const r of batch) {
        if (r.kind === 'state-change') {
          recs.push({
            ts: r.timestamp,
            us: r.microseconds,
            peer: hex(r.peerAddress),
            peerAs: r.peerAs,
            peerAddress: r.peerAddress.slice(),
            down: r.newState !== ESTABLISHED,
          });
          continue;
        }
        if (r.kind !== 'message' || r.local) continue;
        const d = decodeBgp4mpMessage(r);
        const base = {
          ts: r.timestamp,
          us: r.microseconds,
          peer: hex(r.peerAddress),
          peerAs: r.peerAs,
          peerAddress: r.peerAddress.slice(),
        };
        if (!d.ok || d.message.type !== 2) {
          recs.push({ ...base, events: [] });
          continue;
        }
        const events = updateEvents(d.message, (attrs) => pool.intern(attrs, messageContext(r)));
        prefixEvents += events.length;
        recs.push({ ...base, events });
      }
    }
  } catch (e) {
    throw new TraceInputError(`cannot read the trace ${path}: ${(e as Error).message}`);
  }
  const messages = recs.filter((r) => r.events !== undefined).length;
  if (messages === 0) throw new TraceInputError(`${path}: no BGP4MP message in this MRT file`);
  // Stable sort by time: a file slightly out of order keeps its order within a second.
  const order = recs.map((_, i) => i);
  order.sort((a, b) => recs[a]!.ts - recs[b]!.ts || recs[a]!.us - recs[b]!.us || a - b);
  const sorted = order.map((i) => recs[i]!);
  const t0 = sorted[0]!.ts;
  const withUs = sorted.some((r) => r.us !== 0);
  const recordTime = new Float64Array(sorted.length);
  if (withUs) {
    for (let i = 0; i < sorted.length; i++) {
      recordTime[i] = (sorted[i]!.ts - t0) * 1000 + sorted[i]!.us / 1000;
    }
  } else {
    for (let i = 0; i < sorted.length;) {
      let j = i;
      while (j < sorted.length && sorted[j]!.ts === sorted[i]!.ts) j++;
      const n = j - i;
      for (let k = i; k < j; k++)
        recordTime[k] = (sorted[k]!.ts - t0) * 1000 + ((k - i + 0.5) * 1000) / n;
      i = j;
    }
  }
  const periodMs = (sorted[sorted.length - 1]!.ts - t0 + 1) * 1000;

  // The router: one Adj-RIB-In per peer, one Loc-RIB, the default decision process.
  const loc = new LocRib(bestSelector());
  const peers = new Map<string, { ref: PeerRef; rib: Map<string | number, AttrSet> }>();
  const keyIndex = new Map<string | number, number>();
  const keys: VoteKey[] = [];
  const valueIndex = new Map<string, number>();
  const values: string[] = [];
  const peerIds = new Map<PeerRef, number>();
  const keyOf = (p: Prefix): number => {
    const pk = prefixKey(p);
    let k = keyIndex.get(pk);
    if (k === undefined) {
      k = keys.length;
      keyIndex.set(pk, k);
      keys.push(routeKey(p.afi, SAFI_UNICAST, p, 0));
    }
    return k;
  };
  const valueOf = (peer: PeerRef, set: AttrSet): number => {
    const id = `${peerIds.get(peer)!}:${set.id}`;
    let v = valueIndex.get(id);
    if (v === undefined) {
      v = values.length;
      valueIndex.set(id, v);
      values.push('r' + v.toString(36));
    }
    return v;
  };
  const peerOf = (r: InRecord): { ref: PeerRef; rib: Map<string | number, AttrSet> } => {
    let p = peers.get(r.peer);
    if (!p) {
      const a = r.peerAddress;
      // MRT update records do not carry the peer's BGP Identifier: an IPv4 peer's address
      // stands in for it, an IPv6 peer gets its index (only the last tie-break uses it).
      const routerId =
        a.length === 4
          ? ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0
          : peers.size + 1;
      const ref: PeerRef = {
        id: peers.size + 1,
        address: a,
        asn: r.peerAs,
        localAsn: 64512,
        routerId,
        ibgp: false,
        rrClient: false,
      };
      p = { ref, rib: new Map() };
      peers.set(r.peer, p);
      peerIds.set(ref, peerIds.size);
    }
    return p;
  };
  const best = (pk: string | number): number => {
    const b = loc.best(pk);
    return b === undefined ? -1 : valueOf(b.peer, b.attrs);
  };

  const time: number[] = [];
  const key: number[] = [];
  const value: number[] = [];
  const record: number[] = [];
  let warmupChanges = 0;
  const pass = (record0: boolean): void => {
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i]!;
      const emit = (pfx: Prefix, pk: string | number): void => {
        if (record0) {
          warmupChanges++;
          return;
        }
        time.push(recordTime[i]!);
        key.push(keyOf(pfx));
        value.push(best(pk));
        record.push(i);
      };
      if (r.events === undefined) {
        const p = peers.get(r.peer);
        if (!r.down || !p) continue;
        for (const pk of p.rib.keys()) {
          const c = loc.updateKey(pk, p.ref, 0, undefined);
          if (c.changed) emit(keyToPrefix(pk), pk);
        }
        p.rib.clear();
        continue;
      }
      const p = peerOf(r);
      for (const ev of r.events) {
        const pk = prefixKey(ev.prefix);
        keyOf(ev.prefix);
        const prev = p.rib.get(pk);
        if (prev === ev.set) continue;
        if (ev.set) p.rib.set(pk, ev.set);
        else p.rib.delete(pk);
        const c = loc.updateKey(pk, p.ref, 0, ev.set);
        if (c.changed) emit(ev.prefix, pk);
      }
    }
  };
  pass(true);
  const initial = new Int32Array(keys.length).fill(-1);
  for (const [pk, k] of keyIndex) initial[k] = best(pk);
  pass(false);
  return {
    source: path,
    periodMs,
    records: sorted.length,
    recordTime,
    prefixEvents,
    peers: new Set(recs.filter((r) => r.events && r.events.length > 0).map((r) => r.peer)).size,
    keys,
    values,
    initial,
    changes: {
      time: Float64Array.from(time),
      key: Int32Array.from(key),
      value: Int32Array.from(value),
      record: Int32Array.from(record),
    },
    warmupChanges,
  };
}

/** The prefix events of one UPDATE (IPv4 body and MP_(UN)REACH unicast NLRI), in order. */
function updateEvents(
  u: UpdateMessage,
  intern: (attrs: UpdateMessage['attributes']) => AttrSet,
): { prefix: Prefix; pathId: number; set?: AttrSet }[] {
  const out: { prefix: Prefix; pathId: number; set?: AttrSet }[] = [];
  const withdraw = (n: Nlri): void => void out.push({ prefix: n.prefix, pathId: n.pathId ?? 0 });
  for (const n of u.withdrawn) withdraw(n);
  for (const a of u.attributes) {
    if (a.kind === 'mp-unreach' && a.safi === SAFI_UNICAST) a.withdrawn?.forEach(withdraw);
  }
  const mp = u.attributes.find((a) => a.kind === 'mp-reach');
  const reach: Nlri[] = [...u.nlri];
  if (mp?.kind === 'mp-reach' && mp.safi === SAFI_UNICAST && mp.nlri) reach.push(...mp.nlri);
  if (reach.length === 0) return out;
  if (u.treatAsWithdraw) {
    reach.forEach(withdraw);
    return out;
  }
  const set = intern(u.attributes);
  for (const n of reach) out.push({ prefix: n.prefix, pathId: n.pathId ?? 0, set });
  return out;
}

const hex = (b: Uint8Array): string => {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
};

/** How many copies of a trace make at least `hours` of virtual time. */
export function copiesFor(trace: Pick<Trace, 'periodMs'>, hours: number): number {
  return Math.max(1, Math.ceil((hours * 3_600_000) / trace.periodMs));
}

/** Value id of `key` at `offsetMs` into a copy (after every change at or before it). */
export function valueAt(
  trace: Trace,
  perKey: PerKeyChanges,
  key: number,
  offsetMs: number,
): number {
  const list = perKey.changes[key]!;
  let v = trace.initial[key]!;
  // Changes of one key are few (3.8 per copy on average): a linear scan is enough.
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (trace.changes.time[c]! > offsetMs) break;
    v = trace.changes.value[c]!;
  }
  return v;
}

/** For each key, the indexes of its changes in `trace.changes` (time order). */
export interface PerKeyChanges {
  readonly changes: readonly Int32Array[];
}

export function perKeyChanges(trace: Trace): PerKeyChanges {
  const n = trace.keys.length;
  const counts = new Int32Array(n);
  const ch = trace.changes;
  for (let i = 0; i < ch.key.length; i++) counts[ch.key[i]!]!++;
  const lists = Array.from({ length: n }, (_, k) => new Int32Array(counts[k]!));
  const fill = new Int32Array(n);
  for (let i = 0; i < ch.key.length; i++) {
    const k = ch.key[i]!;
    lists[k]![fill[k]!++] = i;
  }
  return { changes: lists };
}

/**
 * A trace built from given changes (tests, examples): `keys` prefixes (10.0.k.0/24),
 * values `r<id>`, one record per entry of `records` (its time and its changes).
 */
export function syntheticTrace(opts: {
  readonly periodMs: number;
  readonly keys: number;
  readonly values: number;
  readonly initial: readonly number[];
  readonly records: readonly {
    readonly time: number;
    readonly changes: readonly [number, number][];
  }[];
}): Trace {
  const keys: VoteKey[] = [];
  for (let k = 0; k < opts.keys; k++) {
    keys.push(
      routeKey(
        1,
        SAFI_UNICAST,
        { afi: 1, addr: Uint8Array.of(10, k >> 8, k & 255, 0), len: 24 },
        0,
      ),
    );
  }
  const time: number[] = [];
  const key: number[] = [];
  const value: number[] = [];
  const record: number[] = [];
  opts.records.forEach((r, i) => {
    for (const [k, v] of r.changes) {
      time.push(r.time);
      key.push(k);
      value.push(v);
      record.push(i);
    }
  });
  return {
    source: 'synthetic',
    periodMs: opts.periodMs,
    records: opts.records.length,
    recordTime: Float64Array.from(opts.records.map((r) => r.time)),
    prefixEvents: time.length,
    peers: 1,
    keys,
    values: Array.from({ length: opts.values }, (_, v) => 'r' + v.toString(36)),
    initial: Int32Array.from(opts.initial),
    changes: {
      time: Float64Array.from(time),
      key: Int32Array.from(key),
      value: Int32Array.from(value),
      record: Int32Array.from(record),
    },
    warmupChanges: 0,
  };
}
