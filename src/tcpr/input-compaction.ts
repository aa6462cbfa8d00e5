// Compaction of a non-stop BGP session's input log (bgp-sessions.ts, docs/tcpr.md
// "Non-stop BGP"): the octets a neighbour sent since the connection opened are replaced by
// a shorter stream of BGP messages that, replayed through the speaker's receive path
// (decode with RFC 7606 handling, route engine), leaves the same Adj-RIB-In, and so the same
// Loc-RIB and exports, as the original (RFC 4271 §3.2: the Adj-RIB-In is the last
// announcement per route; §9 decision over it).
//
// Pure and deterministic: bytes in, bytes out, no I/O (the worker and the file scheme live
// in compaction-files.ts). What is kept:
// - The OPEN/KEEPALIVE exchange that made the session Established, as received (recovery
//   starts the replay after it: establishedOffset).
// - Per route, its last announcement. A route is what the speaker's RIB keys by: the
//   prefix (AFI implied by its key) and the ADD-PATH path identifier (RFC 7911; 0 without
//   it). SAFI is not part of the key because the engine keeps unicast and multicast of a
//   prefix in one table: the last announcement of either wins, here as there.
// - The attributes of that announcement as received, attribute by attribute, so that the
//   replay meets the same RFC 7606 outcomes (a duplicate or malformed optional attribute is
//   discarded again, AS4_PATH reconciled again). Left out: MP_UNREACH_NLRI, and the NLRI
//   inside MP_REACH_NLRI, which is re-filled with the routes that share the attributes.
//   Routes announced in the NLRI field and routes announced in MP_REACH_NLRI of one UPDATE
//   get separate messages with the same attribute octets (MP_REACH_NLRI kept, empty, in the
//   former), which decode to the same attribute set (rib/attr-set.ts drops the MP NLRI).
// - Routes with identical attribute octets packed into as few UPDATEs as the negotiated
//   maximum size allows (RFC 4271 §4.3; RFC 8654 extended messages).
// - End-of-RIB markers (RFC 4724 §2), once per family, after the routes, as received.
// Dropped, having no lasting effect on the RIB: withdrawn and treat-as-withdraw routes
// (RFC 7606 §2; withdrawals come before announcements within an UPDATE, as in the
// engine), KEEPALIVEs (they only restart the hold timer), ROUTE-REFRESH requests (the
// engine answers them by re-sending its Adj-RIB-Out; recovery re-announces everything
// anyway) and UPDATEs with nothing to install or withdraw.
//
// A message the session cannot survive (one that does not decode, a NOTIFICATION, an OPEN
// after the exchange, an unknown type, a bad header) ends the compaction: it and every octet
// after it are kept as received, so the replay fails exactly as the session did.

import { latin1, Writer } from '../lib/bytes.js';
import { AFI } from '../lib/ip.js';
import { prefixKey, writeKeyNlri, type PrefixKey } from '../rib/index.js';
import { endOfRibFamily } from '../speaker/engine/update-packer.js';
import {
  ATTR,
  ATTR_FLAG,
  BGP_EXT_MAX_LEN,
  BGP_HEADER_LEN,
  BGP_MAX_LEN,
  MSG,
  SAFI,
  addPathKey,
  checkHeader,
  decodeMessage,
  writeHeader,
  type CodecContext,
  type Nlri,
  type UpdateMessage,
} from '../wire/index.js';

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

export interface CompactionStats {
  /** Whole messages read after the OPEN/KEEPALIVE exchange. */
  readonly messagesIn: number;
  readonly updatesIn: number;
  /** Messages written after the exchange (UPDATEs and End-of-RIB markers). */
  readonly messagesOut: number;
  /** Routes held at the end (the Adj-RIB-In's size). */
  readonly routes: number;
  /** Distinct attribute octet strings among them. */
  readonly attributeSets: number;
  /** Octets kept as received after a message that ends the session (0 normally). */
  readonly verbatim: number;
}

export interface InputCompaction {
  /** BGP messages replacing `input[0, consumed)`. */
  readonly output: Uint8Array;
  /**
   * Octets of the input the output stands for: the end of the last whole message (a
   * message cut by the end of the input is left for later), or the whole input once a
   * message ended the compaction. 0 when the input has no complete OPEN/KEEPALIVE yet.
   */
  readonly consumed: number;
  readonly stats: CompactionStats;
}

/**
 * Compacts `input`, the octets received on one session from its first octet on (or the
 * output of an earlier compaction followed by what came after it). `ctx`: the session's
 * receive context (4-octet AS, ADD-PATH per family, extended messages).
 */
export function compactInput(input: Uint8Array, ctx: CodecContext): InputCompaction {
  const start = establishedOffset(input);
  if (start === undefined) {
    return { output: new Uint8Array(0), consumed: 0, stats: emptyStats };
  }
  const rib = new RouteTable(ctx);
  let off = start;
  let verbatimFrom = -1;
  let messagesIn = 0;
  let updatesIn = 0;
  while (off + BGP_HEADER_LEN <= input.length) {
    const len = checkHeader(input, off, ctx.extendedMessage);
    if (typeof len !== 'number') {
      verbatimFrom = off;
      break;
    }
    if (off + len > input.length) break;
    const msg = input.subarray(off, off + len);
    const type = msg[18]!;
    if (type === MSG.UPDATE || type === MSG.ROUTE_REFRESH) {
      const r = decodeMessage(msg, ctx);
      if (!r.ok) {
        verbatimFrom = off;
        break;
      }
      if (r.message.type === MSG.UPDATE) {
        if (!rib.apply(r.message, msg)) {
          verbatimFrom = off;
          break;
        }
        updatesIn++;
      }
    } else if (type !== MSG.KEEPALIVE) {
      verbatimFrom = off;
      break;
    }
    messagesIn++;
    off += len;
  }
  const w = new Writer(Math.min(input.length + 4096, 1 << 20));
  w.bytes(input.subarray(0, start));
  const messagesOut = rib.write(w);
  let verbatim = 0;
  if (verbatimFrom >= 0) {
    verbatim = input.length - verbatimFrom;
    w.bytes(input.subarray(verbatimFrom));
  }
  return {
    output: w.finish(),
    consumed: verbatimFrom >= 0 ? input.length : off,
    stats: {
      messagesIn,
      updatesIn,
      messagesOut,
      routes: rib.size,
      attributeSets: rib.templateCount,
      verbatim,
    },
  };
}

const emptyStats: CompactionStats = {
  messagesIn: 0,
  updatesIn: 0,
  messagesOut: 0,
  routes: 0,
  attributeSets: 0,
  verbatim: 0,
};

const EXT = ATTR_FLAG.EXTENDED_LENGTH;
const HEADER_SPACE = new Uint8Array(BGP_HEADER_LEN);
const IPV4_UNICAST = addPathKey(AFI.IPv4, SAFI.UNICAST);

/**
 * The attributes of one announcement as received, MP_UNREACH_NLRI left out and
 * MP_REACH_NLRI's NLRI emptied (`block`), for routes of one family announced one way
 * (in the NLRI field, or in MP_REACH_NLRI).
 */
interface Template {
  readonly id: number;
  readonly key: string;
  readonly block: Uint8Array;
  /** The routes go in MP_REACH_NLRI (else in the UPDATE's NLRI field, IPv4). */
  readonly mp: boolean;
  /** Where MP_REACH_NLRI starts in `block`, its header length, and its end. */
  readonly mpAt: number;
  readonly mpHdr: number;
  readonly mpEnd: number;
  /** Path identifiers on the wire for this family (RFC 7911). */
  readonly addPath: boolean;
  refs: number;
}

/** The last announcement per route, as references to attribute templates. */
class RouteTable {
  /** pathId → prefix key → template id. */
  private readonly routes = new Map<number, Map<PrefixKey, number>>();
  private readonly templates = new Map<number, Template>();
  private readonly byKey = new Map<string, Template>();
  private readonly endOfRib = new Map<number, Uint8Array>();
  private nextId = 1;
  private count = 0;
  private readonly max: number;

  constructor(private readonly ctx: CodecContext) {
    this.max = ctx.extendedMessage ? BGP_EXT_MAX_LEN : BGP_MAX_LEN;
  }

  get size(): number {
    return this.count;
  }

  get templateCount(): number {
    return this.templates.size;
  }

  /**
   * Applies one decoded UPDATE (`raw`: the message as received) as the route engine does:
   * End-of-RIB first, then withdrawals (field, MP_UNREACH_NLRI), then announcements (field,
   * MP_REACH_NLRI), or their withdrawal when RFC 7606 says treat-as-withdraw. False when
   * its attributes cannot be taken apart (never after a successful decode).
   */
  apply(u: UpdateMessage, raw: Uint8Array): boolean {
    const eor = endOfRibFamily(u);
    if (eor) {
      const k = addPathKey(eor.afi, eor.safi);
      if (!this.endOfRib.has(k)) this.endOfRib.set(k, raw.slice());
      return true;
    }
    for (const n of u.withdrawn) this.remove(n);
    let reach: readonly Nlri[] | undefined;
    let reachAfi = 0;
    let reachSafi = 0;
    for (const a of u.attributes) {
      if (a.kind === 'mp-unreach' && a.withdrawn) for (const n of a.withdrawn) this.remove(n);
      else if (a.kind === 'mp-reach' && a.nlri && a.nlri.length > 0) {
        reach = a.nlri;
        reachAfi = a.afi;
        reachSafi = a.safi;
      }
    }
    if (u.treatAsWithdraw) {
      for (const n of u.nlri) this.remove(n);
      if (reach) for (const n of reach) this.remove(n);
      return true;
    }
    if (u.nlri.length > 0) {
      const t = this.template(raw, false, this.ctx.addPath.has(IPV4_UNICAST));
      if (!t) return false;
      for (const n of u.nlri) this.set(n, t);
    }
    if (reach) {
      const t = this.template(raw, true, this.ctx.addPath.has(addPathKey(reachAfi, reachSafi)));
      if (!t) return false;
      for (const n of reach) this.set(n, t);
    }
    return true;
  }

  private set(n: Nlri, t: Template): void {
    const pathId = n.pathId ?? 0;
    let m = this.routes.get(pathId);
    if (!m) this.routes.set(pathId, (m = new Map()));
    const key = prefixKey(n.prefix);
    const old = m.get(key);
    if (old === t.id) return;
    m.set(key, t.id);
    t.refs++;
    if (old === undefined) this.count++;
    else this.release(old);
  }

  private remove(n: Nlri): void {
    const m = this.routes.get(n.pathId ?? 0);
    if (!m) return;
    const key = prefixKey(n.prefix);
    const old = m.get(key);
    if (old === undefined) return;
    m.delete(key);
    this.count--;
    this.release(old);
  }

  private release(id: number): void {
    const t = this.templates.get(id)!;
    if (--t.refs > 0) return;
    this.templates.delete(id);
    this.byKey.delete(t.key);
  }

  /** The template of `raw`'s attributes for routes announced one way (see Template). */
  private template(raw: Uint8Array, mp: boolean, addPath: boolean): Template | undefined {
    const wLen = (raw[19]! << 8) | raw[20]!;
    const aAt = 21 + wLen;
    const aStart = aAt + 2;
    const aEnd = aStart + ((raw[aAt]! << 8) | raw[aAt + 1]!);
    const block = new Writer(aEnd - aStart);
    let mpAt = -1;
    let mpHdr = 0;
    let mpEnd = 0;
    for (let p = aStart; p < aEnd;) {
      if (p + 3 > aEnd) return undefined;
      const flags = raw[p]!;
      const code = raw[p + 1]!;
      const hdr = flags & EXT ? 4 : 3;
      if (p + hdr > aEnd) return undefined;
      const len = flags & EXT ? (raw[p + 2]! << 8) | raw[p + 3]! : raw[p + 2]!;
      const vs = p + hdr;
      const ve = vs + len;
      if (ve > aEnd) return undefined;
      if (code === ATTR.MP_REACH_NLRI) {
        // AFI (2), SAFI (1), next hop length (1), next hop, reserved (1): NLRI left out.
        if (len < 4 || vs + 5 + raw[vs + 3]! > ve) return undefined;
        const value = raw.subarray(vs, vs + 5 + raw[vs + 3]!);
        mpAt = block.pos;
        block.u8(flags).u8(code);
        if (flags & EXT) block.u16(value.length);
        else block.u8(value.length);
        mpHdr = block.pos - mpAt;
        block.bytes(value);
        mpEnd = block.pos;
      } else if (code !== ATTR.MP_UNREACH_NLRI) {
        block.bytes(raw.subarray(p, ve));
      }
      p = ve;
    }
    if (mp && mpAt < 0) return undefined;
    const bytes = block.finish();
    const key = (mp ? 'M' : 'N') + latin1(bytes);
    const known = this.byKey.get(key);
    if (known) return known;
    const t: Template = {
      id: this.nextId++,
      key,
      block: bytes,
      mp,
      mpAt,
      mpHdr,
      mpEnd,
      addPath,
      refs: 0,
    };
    this.templates.set(t.id, t);
    this.byKey.set(key, t);
    return t;
  }

  /** Writes the routes (grouped by template) and then the End-of-RIB markers. */
  write(w: Writer): number {
    const groups = new Map<number, { keys: PrefixKey[]; pathIds: number[] }>();
    for (const [pathId, m] of this.routes) {
      for (const [key, id] of m) {
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { keys: [], pathIds: [] }));
        g.keys.push(key);
        g.pathIds.push(pathId);
      }
    }
    let messages = 0;
    const nlri = new Writer(4096);
    const ends: number[] = [];
    // Templates in creation order: deterministic for a given input.
    const ids = [...groups.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const t = this.templates.get(id)!;
      const g = groups.get(id)!;
      nlri.reset();
      ends.length = 0;
      for (let i = 0; i < g.keys.length; i++) {
        writeNlri(nlri, g.keys[i]!, g.pathIds[i]!, t.addPath);
        ends.push(nlri.pos);
      }
      let from = 0;
      let i = 0;
      while (i < ends.length) {
        // As many routes as fit; one always does (the UPDATE it came in did).
        let j = i + 1;
        while (j < ends.length && messageLength(t, ends[j]! - from) <= this.max) j++;
        writeUpdate(w, t, nlri.buf.subarray(from, ends[j - 1]!));
        messages++;
        from = ends[j - 1]!;
        i = j;
      }
    }
    for (const m of this.endOfRib.values()) {
      w.bytes(m);
      messages++;
    }
    return messages;
  }
}

/** Octets of the UPDATE carrying `nlriLen` octets of NLRI with template `t`. */
function messageLength(t: Template, nlriLen: number): number {
  if (!t.mp) return BGP_HEADER_LEN + 4 + t.block.length + nlriLen;
  const value = t.mpEnd - t.mpAt - t.mpHdr + nlriLen;
  const hdr = t.mpHdr === 4 || value > 0xff ? 4 : 3;
  return BGP_HEADER_LEN + 4 + t.block.length - t.mpHdr + hdr + nlriLen;
}

function writeUpdate(w: Writer, t: Template, nlri: Uint8Array): void {
  const at = w.pos;
  w.bytes(HEADER_SPACE); // written last, with the length
  w.u16(0); // no withdrawn routes
  const aLenAt = w.reserve(2);
  const aStart = w.pos;
  if (!t.mp) {
    w.bytes(t.block);
  } else {
    const b = t.block;
    const valueHead = b.subarray(t.mpAt + t.mpHdr, t.mpEnd);
    const value = valueHead.length + nlri.length;
    const flags = b[t.mpAt]!;
    w.bytes(b.subarray(0, t.mpAt));
    if (flags & EXT || value > 0xff)
      w.u8(flags | EXT)
        .u8(ATTR.MP_REACH_NLRI)
        .u16(value);
    else w.u8(flags).u8(ATTR.MP_REACH_NLRI).u8(value);
    w.bytes(valueHead).bytes(nlri);
    w.bytes(b.subarray(t.mpEnd));
  }
  w.patch(aLenAt, 2, w.pos - aStart);
  if (!t.mp) w.bytes(nlri);
  writeHeader(w.buf, at, w.pos - at, MSG.UPDATE);
}

/** One NLRI entry (RFC 4271 §4.3, RFC 7911 §3) from a RIB prefix key. */
function writeNlri(w: Writer, key: PrefixKey, pathId: number, addPath: boolean): void {
  if (addPath) w.u32(pathId);
  writeKeyNlri(w, key);
}
