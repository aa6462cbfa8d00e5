// Path attributes as bgpdump 1.6 reads them, for the bgpdump-compatible text output only.
// This is a presentation layer, not a codec: it reproduces bgpdump's own reading rules
// (zero-filled short reads, its AS4_PATH merge, its heuristic for the abbreviated
// MP_REACH_NLRI of RFC 6396 §4.3.4: "first octet non-zero = abbreviated, IPv6 next hop"),
// so that `nonstop mrt dump` prints what bgpdump prints, also for odd input. Protocol
// decoding proper lives in wire/.

import { formatIPv6Bgpdump as formatIPv6 } from './bgpdump-ip.js';
import { Cursor } from './mstream.js';

const bit = (type: number): number => (1 << (type - 1)) >>> 0;

export const F_ORIGIN = bit(1);
export const F_AS_PATH = bit(2);
export const F_ATOMIC_AGGREGATE = bit(6);
export const F_AGGREGATOR = bit(7);
export const F_COMMUNITIES = bit(8);
export const F_MP_REACH = bit(14);
export const F_MP_UNREACH = bit(15);
export const F_AS4_PATH = bit(17);
export const F_AS4_AGGREGATOR = bit(18);
const F_NEXT_HOP = bit(3);
const F_MED = bit(4);
const F_LOCAL_PREF = bit(5);

const AS_TRANS = 23456;
const ASPATH_ERROR = '! Error !';
const MAX_ASPATH_TEXT = 8000 - 100;
const COMMUNITY_BUFSIZ = 8192;

/** One (AFI, SAFI) slot of MP_REACH/MP_UNREACH, as bgpdump keeps them (AFI 1-2, SAFI 1-3). */
export interface MpSlot {
  present: boolean;
  nextHop: Uint8Array; // 16 octets (IPv4 in the first 4)
  nextHopLen: number;
  nlriStart: number;
  nlriEnd: number;
}

const slotIndex = (afi: number, safi: number): number => (afi - 1) * 3 + (safi - 1);
export const SLOT_ORDER_V4 = [0, 1, 2] as const;
export const SLOT_ORDER_V6 = [3, 4, 5] as const;
export const SLOT_V6_UNICAST = 3;

function newSlot(): MpSlot {
  return { present: false, nextHop: new Uint8Array(16), nextHopLen: 0, nlriStart: 0, nlriEnd: 0 };
}

export class BgpdumpAttrs {
  buf: Uint8Array = new Uint8Array(0);
  flag = 0;
  origin = 255;
  nextHop = new Uint8Array(4);
  med = 0;
  localPref = 0;
  aggregatorAs = 0;
  /** 0xffffffff = none (bgpdump's INADDR_NONE sentinel). */
  aggregatorAddr = 0xffffffff;
  private newAggregatorAs = 0;
  private newAggregatorAddr = 0xffffffff;
  private asPathStart = -1;
  private asPathLen = 0;
  private asnLen: 2 | 4 = 4;
  private as4PathStart = -1;
  private as4PathLen = 0;
  private commStart = -1;
  private commLen = 0;
  readonly announce: MpSlot[] = Array.from({ length: 6 }, newSlot);
  readonly withdraw: MpSlot[] = Array.from({ length: 6 }, newSlot);
  private addPath = false;
  private asPathText: string | undefined;
  private communityText: string | undefined;
  /** Warnings bgpdump would log (truncated attribute, ...). */
  warnings: string[] = [];

  /**
   * Read an attribute block at cursor `s` (2-octet total length, then attributes), as
   * bgpdump's process_attributes does. `s` ends up after the block.
   */
  read(s: Cursor, asnLen: 2 | 4, addPath: boolean): void {
    this.reset(s.b, asnLen, addPath);
    const total = s.u16();
    const a = s.sub(total);
    if (a.left !== total)
      this.warnings.push(`attribute block truncated: expected ${total}, ${a.left} present`);
    while (a.p < a.e) this.readOne(a);
    if (asnLen === 2) this.as4Transition();
  }

  private reset(buf: Uint8Array, asnLen: 2 | 4, addPath: boolean): void {
    this.buf = buf;
    this.flag = 0;
    this.origin = 255;
    this.nextHop.fill(255);
    this.med = 0;
    this.localPref = 0;
    this.aggregatorAs = 0;
    this.aggregatorAddr = 0xffffffff;
    this.newAggregatorAs = 0;
    this.newAggregatorAddr = 0xffffffff;
    this.asPathStart = -1;
    this.asPathLen = 0;
    this.asnLen = asnLen;
    this.as4PathStart = -1;
    this.as4PathLen = 0;
    this.commStart = -1;
    this.commLen = 0;
    for (let i = 0; i < 6; i++) {
      this.announce[i]!.present = false;
      this.withdraw[i]!.present = false;
    }
    this.addPath = addPath;
    this.asPathText = undefined;
    this.communityText = undefined;
    this.merged = undefined;
    if (this.warnings.length) this.warnings = [];
  }

  private readOne(outer: Cursor): void {
    const flags = outer.u8();
    const type = outer.u8();
    const len = flags & 0x10 ? outer.u16() : outer.u8();
    const s = outer.sub(len);
    if (s.left !== len) {
      this.warnings.push(`attribute ${type} truncated: expected ${len}, ${s.left} present`);
      return;
    }
    if (type <= 32) this.flag = (this.flag | bit(type === 0 ? 32 : type)) >>> 0;
    switch (type) {
      case 14:
        this.mpReach(s);
        break;
      case 15:
        this.mpUnreach(s);
        break;
      case 1:
        this.origin = s.u8();
        break;
      case 2:
        this.asPathStart = s.p;
        this.asPathLen = len;
        break;
      case 3:
        s.get(4, this.nextHop);
        break;
      case 4:
        this.med = s.u32();
        break;
      case 5:
        this.localPref = s.u32();
        break;
      case 7:
        this.aggregatorAs = this.asnLen === 4 ? s.u32() : s.u16();
        this.aggregatorAddr = s.u32();
        break;
      case 8:
        this.commStart = s.p;
        this.commLen = len;
        break;
      case 17:
        this.as4PathStart = s.p;
        this.as4PathLen = len;
        break;
      case 18:
        this.newAggregatorAs = s.u32();
        this.newAggregatorAddr = s.u32();
        break;
      default:
        break;
    }
  }

  private nextHopInto(s: Cursor, slot: MpSlot, afi: number): void {
    slot.nextHopLen = s.u8();
    slot.nextHop.fill(0);
    if (afi === 1) {
      s.get(4, slot.nextHop);
      return;
    }
    s.get(16, slot.nextHop);
    if (slot.nextHopLen === 32) s.skip(16); // link-local: not printed in one-line modes
  }

  private mpReach(s: Cursor): void {
    // bgpdump's heuristic for the RFC 6396 §4.3.4 abbreviated form: a non-zero first
    // octet cannot be the high octet of AFI 1 or 2, so it must be a next-hop length.
    if (s.p < s.e && this.buf[s.p] !== 0) {
      const slot = this.announce[SLOT_V6_UNICAST]!;
      if (slot.present) return;
      slot.present = true;
      this.nextHopInto(s, slot, 2);
      slot.nlriStart = slot.nlriEnd = s.e;
      return;
    }
    const afi = s.u16();
    const safi = s.u8();
    if (afi < 1 || afi > 2 || safi < 1 || safi > 3) {
      this.warnings.push(`MP_REACH_NLRI for unsupported AFI ${afi} SAFI ${safi}`);
      return;
    }
    const slot = this.announce[slotIndex(afi, safi)]!;
    if (slot.present) return;
    slot.present = true;
    this.nextHopInto(s, slot, afi);
    let snpa = s.u8();
    for (; snpa > 0; snpa--) s.skip(s.u8());
    slot.nlriStart = s.p;
    slot.nlriEnd = s.e;
  }

  private mpUnreach(s: Cursor): void {
    const afi = s.u16();
    const safi = s.u8();
    if (afi < 1 || afi > 2 || safi < 1 || safi > 3) {
      this.warnings.push(`MP_UNREACH_NLRI for unsupported AFI ${afi} SAFI ${safi}`);
      return;
    }
    const slot = this.withdraw[slotIndex(afi, safi)]!;
    if (slot.present) return;
    slot.present = true;
    slot.nlriStart = s.p;
    slot.nlriEnd = s.e;
  }

  get isAddPath(): boolean {
    return this.addPath;
  }

  /** bgpdump's AS4_PATH / AS4_AGGREGATOR handling for 2-octet-AS input (its own rules). */
  private merged: Uint8Array | undefined;
  private as4Transition(): void {
    const f = this.flag;
    if (f & F_AGGREGATOR && f & F_AS4_AGGREGATOR) {
      if (this.aggregatorAs !== AS_TRANS) return;
      this.aggregatorAs = this.newAggregatorAs;
      this.aggregatorAddr = this.newAggregatorAddr;
    }
    if (!(f & F_AS4_PATH) || this.asPathStart < 0) return;
    const old = walkAsPath(this.buf, this.asPathStart, this.asPathLen, 2, false);
    const neu = walkAsPath(this.buf, this.as4PathStart, this.as4PathLen, 4, false);
    if (old.count < neu.count) return;
    // Copy from AS_PATH (widened to 4 octets) until it is AS_PATH - AS4_PATH long, then
    // append AS4_PATH. Like bgpdump, this re-reads the first AS_PATH segment each time.
    const target = old.count - neu.count;
    const parts: number[] = [];
    let count = 0;
    const b = this.buf;
    const p0 = this.asPathStart;
    const end0 = p0 + this.asPathLen;
    while (count < target) {
      if (p0 + 2 > end0) break;
      const type = b[p0]!;
      let segLen = b[p0 + 1]!;
      if (type === 1 || type === 4) count += 1;
      else {
        if (segLen === 0) break; // bgpdump would loop forever here
        count += segLen;
        if (count > target) segLen -= count - target;
      }
      parts.push(type, segLen);
      for (let i = 0; i < segLen; i++) {
        const q = p0 + 2 + 2 * i;
        parts.push(0, 0, q < end0 ? b[q]! : 0, q + 1 < end0 ? b[q + 1]! : 0);
      }
    }
    const merged = new Uint8Array(parts.length + this.as4PathLen);
    merged.set(parts);
    merged.set(b.subarray(this.as4PathStart, this.as4PathStart + this.as4PathLen), parts.length);
    this.merged = merged;
  }

  /** The AS path as bgpdump prints it ('' when there is none). */
  asPath(): string {
    if (this.asPathText !== undefined) return this.asPathText;
    let t = '';
    if (this.merged) t = walkAsPath(this.merged, 0, this.merged.length, 4, true).text;
    else if (this.asPathStart >= 0)
      t = walkAsPath(this.buf, this.asPathStart, this.asPathLen, this.asnLen, true).text;
    return (this.asPathText = t);
  }

  /** Communities as bgpdump prints them in one-line mode (without its leading space). */
  communities(): string {
    if (this.communityText !== undefined) return this.communityText;
    let t = '';
    const b = this.buf;
    const n = this.commLen >> 2;
    for (let i = 0; i < n; i++) {
      const q = this.commStart + 4 * i;
      const hi = (b[q]! << 8) | b[q + 1]!;
      const lo = (b[q + 2]! << 8) | b[q + 3]!;
      let piece: string;
      if (hi === 0xffff && lo === 0xff01) piece = ' no-export';
      else if (hi === 0xffff && lo === 0xff02) piece = ' no-advertise';
      else if (hi === 0xffff && lo === 0xff03) piece = ' local-AS';
      else {
        piece = ' ' + hi + ':' + lo;
        // snprintf into the rest of a BUFSIZ buffer truncates
        if (t.length + piece.length >= COMMUNITY_BUFSIZ)
          piece = piece.slice(0, COMMUNITY_BUFSIZ - 1 - t.length);
        t += piece;
        continue;
      }
      if (t.length + piece.length < COMMUNITY_BUFSIZ) t += piece; // strlcat refuses what does not fit
    }
    return (this.communityText = t.length > 0 ? t.slice(1) : '');
  }

  describeOrigin(): string {
    return this.origin === 0 ? 'IGP' : this.origin === 1 ? 'EGP' : 'INCOMPLETE';
  }

  /** "nexthop|lp|med|" value fields: bgpdump prints 0 for an absent LOCAL_PREF/MED. */
  localPrefOr0(): number {
    return this.flag & F_LOCAL_PREF ? this.localPref : 0;
  }

  medOr0(): number {
    return this.flag & F_MED ? this.med : 0;
  }

  hasNextHopAttr(): boolean {
    return (this.flag & F_NEXT_HOP) !== 0;
  }

  /** "comm|AG|aggregator|\n" — the common end of a -m announcement line. */
  tailEnd(): string {
    const ag = this.flag & F_ATOMIC_AGGREGATE ? 'AG' : 'NAG';
    const comm = this.flag & F_COMMUNITIES ? this.communities() : '';
    let s = comm + '|' + ag + '|';
    if (this.aggregatorAddr !== 0xffffffff) {
      const a = this.aggregatorAddr;
      s +=
        this.aggregatorAs +
        ' ' +
        (a >>> 24) +
        '.' +
        ((a >>> 16) & 255) +
        '.' +
        ((a >>> 8) & 255) +
        '.' +
        (a & 255) +
        '|';
    } else s += '|';
    return s + '\n';
  }

  /** The IPv6 next hop of MP_REACH for IPv6 unicast, when present (TABLE_DUMP lines). */
  v6UnicastNextHop(): string | undefined {
    if (!(this.flag & F_MP_REACH)) return undefined;
    const slot = this.announce[SLOT_V6_UNICAST]!;
    return slot.present ? formatIPv6(slot.nextHop) : undefined;
  }
}

interface AsPathWalk {
  text: string;
  count: number;
}

const segOpen = ['', '{', ' ', '(', '['];
const segClose = ['', '}', ' ', ')', ']'];

/** bgpdump's AS path text and length count (sets count 1, confed sequences count). */
export function walkAsPath(
  b: Uint8Array,
  start: number,
  len: number,
  asnLen: 2 | 4,
  wantText: boolean,
): AsPathWalk {
  let text = '';
  let count = 0;
  let space = false;
  let prevType = 2;
  let lastType = -1;
  let p = start;
  const end = start + len;
  while (p < end) {
    const type = b[p]!;
    const segLen = p + 1 < end ? b[p + 1]! : 0;
    if (type < 1 || type > 4 || p + segLen * asnLen + 2 > end)
      return { text: ASPATH_ERROR, count: 0 };
    if (prevType !== 2) text += segClose[prevType]!;
    if (space) text += ' ';
    if (type !== 2) text += segOpen[type]!;
    space = false;
    count += type === 2 || type === 3 ? segLen : 1;
    const sep = type === 1 || type === 4 ? ',' : ' ';
    let q = p + 2;
    for (let i = 0; i < segLen; i++) {
      if (space) text += sep;
      else space = true;
      const asn =
        asnLen === 2
          ? (b[q]! << 8) | b[q + 1]!
          : ((b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!) >>> 0;
      q += asnLen;
      if (wantText) {
        text += asn;
        if (text.length > MAX_ASPATH_TEXT) return { text: text + '...', count };
      }
    }
    prevType = type;
    lastType = type;
    p += segLen * asnLen + 2;
  }
  if (lastType !== -1 && lastType !== 2) text += segClose[lastType]!;
  return { text, count };
}
