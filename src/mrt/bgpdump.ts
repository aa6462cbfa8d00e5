// bgpdump-compatible one-line output (`bgpdump -m` / `-M`, bgpdump 1.6): formats framed MRT
// records straight from their bytes into a TextOut. Fields, their order and bgpdump's
// quirks are reproduced on purpose so that scripts written against bgpdump keep working:
// - absent LOCAL_PREF/MED print 0, an absent NEXT_HOP prints 255.255.255.255, an absent
//   ORIGIN prints INCOMPLETE;
// - NLRI host bits are cleared (as bgpdump ≥ 1.6.2 upstream does; Debian's 1.6.2 does not);
// - MP_REACH IPv4 lines print LOCAL_PREF/MED as signed 32-bit numbers (bgpdump's %d);
// - IPv6 withdrawals sent over an IPv4 session by the local side print the IPv4 peer
//   address as an IPv6 one (bgpdump formats it with fmt_ipv6);
// - TABLE_DUMP AFI_IPv6_32BIT_AS records print their IPv6 addresses as IPv4 (bgpdump does).

import { formatIPv4 } from '../lib/ip.js';
import { formatIPv6Bgpdump as formatIPv6 } from './bgpdump-ip.js';
import { BgpdumpAttrs, SLOT_ORDER_V4, SLOT_ORDER_V6, type MpSlot } from './bgpdump-attrs.js';
import type { RawRecord } from './framer.js';
import { Cursor } from './mstream.js';
import type { TextOut } from './text-out.js';

export type OneLineMode = 'm' | 'M';

export interface BgpdumpOptions {
  /** 'm': Unix timestamps; 'M': human-readable times and shorter lines. */
  readonly mode: OneLineMode;
  /** RIB dumps: time of the dump (default) or of the route's last change. */
  readonly timeType?: 'dump' | 'change';
}

/** A diagnostic about one record: what bgpdump would warn about or refuse. */
export interface DumpWarning {
  readonly offset: number;
  readonly reason: string;
}

interface PeerText {
  /** "address|asn|" */
  readonly head: string;
}

const ZERO16 = new Uint8Array(16);

/** bgpdump's time2str: MM/DD/YY HH:MM:SS in UTC. */
export function bgpdumpTime(t: number): string {
  const d = new Date(t * 1000);
  const two = (n: number): string => (n < 10 ? '0' + n : String(n));
  return (
    two(d.getUTCMonth() + 1) +
    '/' +
    two(d.getUTCDate()) +
    '/' +
    two(d.getUTCFullYear() % 100) +
    ' ' +
    two(d.getUTCHours()) +
    ':' +
    two(d.getUTCMinutes()) +
    ':' +
    two(d.getUTCSeconds())
  );
}

function micro(us: number): string {
  const s = String(us);
  return s.length >= 6 ? s : '000000'.slice(s.length) + s;
}

export class BgpdumpFormatter {
  private readonly m: boolean;
  private readonly change: boolean;
  private peers: PeerText[] | undefined;
  private readonly attrs = new BgpdumpAttrs();
  private readonly addr = new Uint8Array(16);
  private readonly scratch = new Uint8Array(4);
  private lastTime = -1;
  private lastTimeText = '';
  /** Records that produced no output because bgpdump would not print them either. */
  skipped = 0;
  lines = 0;

  constructor(
    private readonly out: TextOut,
    opts: BgpdumpOptions,
    private readonly onWarning?: (w: DumpWarning) => void,
  ) {
    this.m = opts.mode === 'm';
    this.change = opts.timeType === 'change';
  }

  private warn(offset: number, reason: string): void {
    this.onWarning?.({ offset, reason });
  }

  private time(t: number): string {
    if (t === this.lastTime) return this.lastTimeText;
    this.lastTime = t;
    return (this.lastTimeText = this.m ? String(t) : bgpdumpTime(t));
  }

  /** Print one record. */
  record(r: RawRecord): void {
    switch (r.type) {
      case 12:
        this.tableDump(r);
        return;
      case 13:
        this.tableDumpV2(r);
        return;
      case 16:
      case 17:
        this.bgp4mp(r);
        return;
      default:
        this.skipped++;
    }
  }

  // ---- TABLE_DUMP (RFC 6396 §4.2) ------------------------------------------------------

  private tableDump(r: RawRecord): void {
    const st = r.subtype;
    if (st < 1 || st > 4) {
      this.warn(r.offset, `TABLE_DUMP: unknown AFI subtype ${st}`);
      this.skipped++;
      return;
    }
    const v6 = st === 2 || st === 4;
    const s = new Cursor(r.buf, r.start, r.end);
    s.skip(4); // view, sequence
    const prefix = new Uint8Array(16);
    s.get(v6 ? 16 : 4, prefix);
    const mask = s.u8();
    s.u8(); // status
    const uptime = s.u32();
    const peer = new Uint8Array(16);
    s.get(v6 ? 16 : 4, peer);
    const as4 = st >= 3;
    const peerAs = as4 ? s.u32() : s.u16();
    const a = this.attrs;
    a.read(s, as4 ? 4 : 2, false);
    this.reportAttrWarnings(r.offset);
    // bgpdump formats only subtype 2 as IPv6 (not 4)
    const text6 = st === 2;
    const time = this.time(this.change ? uptime : r.timestamp);
    const line =
      'TABLE_DUMP|' +
      time +
      '|B|' +
      (text6 ? formatIPv6(peer) : formatIPv4(peer)) +
      '|' +
      peerAs +
      '|' +
      (text6 ? formatIPv6(prefix) : formatIPv4(prefix)) +
      '/' +
      mask +
      '|' +
      a.asPath() +
      '|' +
      a.describeOrigin();
    this.emit(line + this.ribTail(a));
  }

  /** The end of a RIB line after ORIGIN: next hop, LOCAL_PREF, MED and the rest (-m only). */
  private ribTail(a: BgpdumpAttrs): string {
    if (!this.m) return '\n';
    const nh = a.v6UnicastNextHop() ?? formatIPv4(a.nextHop);
    return '|' + nh + '|' + a.localPrefOr0() + '|' + a.medOr0() + '|' + a.tailEnd();
  }

  private emit(line: string): void {
    this.out.reserve(line.length);
    this.out.ascii(line);
    this.lines++;
  }

  private reportAttrWarnings(offset: number): void {
    const w = this.attrs.warnings;
    for (let i = 0; i < w.length; i++) this.warn(offset, w[i]!);
  }

  // ---- TABLE_DUMP_V2 (RFC 6396 §4.3, RFC 8050) -----------------------------------------

  private tableDumpV2(r: RawRecord): void {
    switch (r.subtype) {
      case 1:
        this.peerIndex(r);
        return;
      case 2:
      case 8:
        this.rib(r, false, r.subtype === 8);
        return;
      case 4:
      case 10:
        this.rib(r, true, r.subtype === 10);
        return;
      default:
        this.skipped++; // multicast and RIB_GENERIC: bgpdump prints nothing
    }
  }

  private peerIndex(r: RawRecord): void {
    const s = new Cursor(r.buf, r.start, r.end);
    s.skip(4);
    const nameLen = s.u16();
    s.skip(nameLen);
    const n = s.u16();
    const peers: PeerText[] = [];
    const ip = new Uint8Array(16);
    for (let i = 0; i < n; i++) {
      const type = s.u8();
      s.skip(4);
      const v6 = (type & 1) !== 0;
      s.get(v6 ? 16 : 4, ip);
      const asn = type & 2 ? s.u32() : s.u16();
      peers.push({ head: (v6 ? formatIPv6(ip) : formatIPv4(ip)) + '|' + asn + '|' });
    }
    if (s.p > r.end || (n > 0 && s.left < 0)) this.warn(r.offset, 'PEER_INDEX_TABLE truncated');
    this.peers = peers;
    this.skipped++;
  }

  private rib(r: RawRecord, v6: boolean, addPath: boolean): void {
    const s = new Cursor(r.buf, r.start, r.end);
    s.skip(4); // sequence
    const plen = s.u8();
    const prefix = this.addr;
    prefix.fill(0);
    const nbytes = (plen + 7) >> 3;
    const width = v6 ? 16 : 4;
    s.get(nbytes > width ? width : nbytes, prefix);
    if (nbytes > width) s.skip(nbytes - width);
    const prefixText = (v6 ? formatIPv6(prefix) : formatIPv4(prefix)) + '/' + plen + '|';
    const count = s.u16();
    const peers = this.peers;
    if (!peers) {
      this.warn(r.offset, 'RIB record before any PEER_INDEX_TABLE: skipped');
      this.skipped++;
      return;
    }
    const a = this.attrs;
    const label = addPath ? 'TABLE_DUMP2_AP|' : 'TABLE_DUMP2|';
    for (let i = 0; i < count; i++) {
      const peerIndex = s.u16();
      const originated = s.u32();
      const pathId = addPath ? s.u32() : 0;
      a.read(s, 4, addPath);
      this.reportAttrWarnings(r.offset);
      const peer = peers[peerIndex];
      if (!peer) {
        this.warn(
          r.offset,
          `RIB entry names peer index ${peerIndex}, the table has ${peers.length}`,
        );
        continue;
      }
      const line =
        label +
        this.time(this.change ? originated : r.timestamp) +
        '|B|' +
        peer.head +
        prefixText +
        (addPath ? pathId + '|' : '') +
        a.asPath() +
        '|' +
        a.describeOrigin();
      this.emit(line + this.ribTail(a));
    }
  }

  // ---- BGP4MP / BGP4MP_ET (RFC 6396 §4.4-4.5, RFC 8050) ---------------------------------

  private bgp4mp(r: RawRecord): void {
    const st = r.subtype;
    const et = r.type === 17;
    if (st === 0 || st === 5) {
      this.stateChange(r, st === 5 ? 4 : 2, et);
      return;
    }
    if (st === 1 || st === 4 || (st >= 6 && st <= 11)) {
      this.message(r, et);
      return;
    }
    this.warn(r.offset, `BGP4MP: subtype ${st} not supported`);
    this.skipped++;
  }

  private timeText(r: RawRecord): string {
    const t = this.time(r.timestamp);
    return r.type === 17 ? t + '.' + micro(r.microseconds) : t;
  }

  private stateChange(r: RawRecord, asnLen: 2 | 4, et: boolean): void {
    const s = new Cursor(r.buf, r.start, r.end);
    const length = r.end - r.start;
    const peerAs = asnLen === 4 ? s.u32() : s.u16();
    s.skip(asnLen);
    let peer = '0.0.0.0';
    if (length !== 8) {
      s.skip(2);
      const afi = s.u16();
      const ip = this.addr;
      if (afi === 1) {
        if (length !== 20 && length !== 24) {
          this.warn(r.offset, `BGP4MP STATE_CHANGE: bad length ${length}`);
          this.skipped++;
          return;
        }
        s.get(4, ip);
        s.skip(4);
        peer = formatIPv4(ip);
      } else if (afi === 2) {
        if (length !== 44 && length !== 48) {
          this.warn(r.offset, `BGP4MP STATE_CHANGE: bad length ${length}`);
          this.skipped++;
          return;
        }
        s.get(16, ip);
        s.skip(16);
        peer = formatIPv6(ip);
      } else {
        this.warn(r.offset, `BGP4MP STATE_CHANGE: unknown AFI ${afi}`);
        this.skipped++;
        return;
      }
    }
    const oldState = s.u16();
    const newState = s.u16();
    this.emit(
      (et ? 'BGP4MP_ET|' : 'BGP4MP|') +
        this.timeText(r) +
        '|STATE|' +
        peer +
        '|' +
        peerAs +
        '|' +
        oldState +
        '|' +
        newState +
        '\n',
    );
  }

  private message(r: RawRecord, et: boolean): void {
    const st = r.subtype;
    const as4 = st === 4 || st === 7 || st === 9 || st === 11;
    const local = st === 6 || st === 7 || st === 10 || st === 11;
    const addPath = st >= 8;
    const s = new Cursor(r.buf, r.start, r.end);
    const peerAs = as4 ? s.u32() : s.u16();
    s.skip(as4 ? 4 : 2);
    const ifIndex = s.u16();
    let afi = s.u16();
    const ip = new Uint8Array(16);
    let markerOk = true;
    if (afi === 1 || afi === 2) {
      s.get(afi === 1 ? 4 : 16, ip);
      s.skip(afi === 1 ? 4 : 16);
      for (let i = 0; i < 16; i++) if (s.u8() !== 0xff) markerOk = false;
    } else if (afi === 0xffff && ifIndex === 0xffff) {
      // Old Zebra dumps of OPEN messages: no interface/addresses; the first 4 marker octets were eaten.
      afi = 1;
      for (let i = 0; i < 12; i++) if (s.u8() !== 0xff) markerOk = false;
    } else {
      this.warn(r.offset, `BGP4MP message: unsupported AFI ${afi}`);
      this.skipped++;
      return;
    }
    if (!markerOk) {
      this.warn(r.offset, 'BGP4MP message: bad BGP marker');
      this.skipped++;
      return;
    }
    const size = s.u16();
    const msg = s.sub(size - 18);
    const type = msg.u8();
    if (type !== 2) {
      if (type < 1 || type > 5)
        this.warn(r.offset, `BGP4MP message: unknown BGP message type ${type}`);
      this.skipped++;
      return;
    }
    this.update(r, msg, et, local, addPath, as4, afi, ip, peerAs);
  }

  private update(
    r: RawRecord,
    msg: Cursor,
    et: boolean,
    local: boolean,
    addPath: boolean,
    as4: boolean,
    afi: number,
    ip: Uint8Array,
    peerAs: number,
  ): void {
    const wlen = msg.u16();
    const wd = msg.sub(wlen);
    const a = this.attrs;
    a.read(msg, as4 ? 4 : 2, addPath);
    this.reportAttrWarnings(r.offset);
    const nlriStart = msg.p;
    const nlriEnd = msg.e;

    const format = (et ? 'BGP4MP_ET' : 'BGP4MP') + (local ? '_LOCAL' : '') + (addPath ? '_AP' : '');
    const time = this.timeText(r);
    const peer = (afi === 2 ? formatIPv6(ip) : formatIPv4(ip)) + '|' + peerAs + '|';
    const headW = format + '|' + time + '|W|' + peer;
    const buf = r.buf;

    // Withdrawals: IPv4 field, then MP_UNREACH IPv4 and IPv6 families.
    this.prefixLines(headW, buf, wd.p, wd.e, false, addPath, '\n');
    for (const i of SLOT_ORDER_V4) {
      const slot = a.withdraw[i]!;
      if (slot.present)
        this.prefixLines(headW, buf, slot.nlriStart, slot.nlriEnd, false, addPath, '\n');
    }
    let headW6: string | undefined;
    for (const i of SLOT_ORDER_V6) {
      const slot = a.withdraw[i]!;
      if (!slot.present) continue;
      if (headW6 === undefined) {
        const peer6 =
          afi === 1 && local ? formatIPv6(v4in16(ip)) : afi === 2 ? formatIPv6(ip) : formatIPv4(ip);
        headW6 = format + '|' + time + '|W|' + peer6 + '|' + peerAs + '|';
      }
      this.prefixLines(headW6, buf, slot.nlriStart, slot.nlriEnd, true, addPath, '\n');
    }

    // Announcements: IPv4 NLRI field, then MP_REACH IPv4 and IPv6 families.
    const hasV4 = nlriEnd > nlriStart;
    let anyMp = false;
    for (let i = 0; i < 6; i++)
      if (a.announce[i]!.present && a.announce[i]!.nlriEnd > a.announce[i]!.nlriStart) anyMp = true;
    if (!hasV4 && !anyMp) return;
    const headA = format + '|' + time + '|A|' + peer;
    const base = a.asPath() + '|' + a.describeOrigin();
    if (!this.m) {
      const tail = base + '\n';
      if (hasV4) this.prefixLines(headA, buf, nlriStart, nlriEnd, false, addPath, tail, true);
      for (const i of SLOT_ORDER_V4) {
        const slot = a.announce[i]!;
        if (slot.present)
          this.prefixLines(headA, buf, slot.nlriStart, slot.nlriEnd, false, addPath, tail, true);
      }
      for (const i of SLOT_ORDER_V6) {
        const slot = a.announce[i]!;
        if (slot.present)
          this.prefixLines(headA, buf, slot.nlriStart, slot.nlriEnd, true, addPath, tail, true);
      }
      return;
    }
    const end = a.tailEnd();
    const lp = a.localPrefOr0();
    const med = a.medOr0();
    if (hasV4) {
      const tail = base + '|' + formatIPv4(a.nextHop) + '|' + lp + '|' + med + '|' + end;
      this.prefixLines(headA, buf, nlriStart, nlriEnd, false, addPath, tail, true);
    }
    for (const i of SLOT_ORDER_V4) {
      const slot = a.announce[i]!;
      if (!slot.present || slot.nlriEnd <= slot.nlriStart) continue;
      const tail =
        base + '|' + formatIPv4(slot.nextHop) + '|' + (lp | 0) + '|' + (med | 0) + '|' + end;
      this.prefixLines(headA, buf, slot.nlriStart, slot.nlriEnd, false, addPath, tail, true);
    }
    for (const i of SLOT_ORDER_V6) {
      const slot: MpSlot = a.announce[i]!;
      if (!slot.present || slot.nlriEnd <= slot.nlriStart) continue;
      const tail = base + '|' + formatIPv6(slot.nextHop) + '|' + lp + '|' + med + '|' + end;
      this.prefixLines(headA, buf, slot.nlriStart, slot.nlriEnd, true, addPath, tail, true);
    }
  }

  /**
   * One line per prefix of an NLRI field: head + prefix [+ path id] + tail. Withdrawal
   * lines end the prefix with "|pathid\n"; announcement lines (announce=true) put "|" after
   * the prefix and the path id, then the tail.
   */
  private prefixLines(
    head: string,
    b: Uint8Array,
    p: number,
    end: number,
    v6: boolean,
    addPath: boolean,
    tail: string,
    announce = false,
  ): void {
    if (p >= end) return;
    const out = this.out;
    const width = v6 ? 16 : 4;
    const addr = this.addr;
    const need = head.length + tail.length + 64;
    while (p < end) {
      let pathId = 0;
      if (addPath) {
        if (p + 4 <= end) {
          pathId = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
          p += 4;
        } else {
          for (let i = 0; i < 4; i++) pathId = pathId * 256 + (p + i < end ? b[p + i]! : 0);
          p = end;
        }
      }
      const plen = p < end ? b[p++]! : 0;
      const nbytes = (plen + 7) >> 3;
      if (end - p < nbytes) break;
      let shownLen = plen;
      if (nbytes > 16) {
        // bgpdump copies the prefix octets into a 16-octet address followed by the length
        // and the path id: an oversized prefix overwrites them. Reproduced, not "fixed".
        shownLen = b[p + 16]!;
        if (addPath && nbytes > 20) {
          let id = 0;
          for (let k = 3; k >= 0; k--) {
            const v = 20 + k < nbytes ? b[p + 20 + k]! : (pathId >>> (8 * (3 - k))) & 255;
            id = id * 256 + v;
          }
          pathId = id;
        }
      }
      out.reserve(need);
      out.ascii(head);
      if (!v6) {
        const sc = this.scratch;
        sc[0] = sc[1] = sc[2] = sc[3] = 0;
        const n = nbytes < 4 ? nbytes : 4;
        for (let i = 0; i < n; i++) sc[i] = b[p + i]!;
        if (plen < 32) maskBits(sc, plen);
        out.ipv4(sc, 0);
      } else {
        addr.fill(0);
        const n = nbytes < width ? nbytes : width;
        for (let i = 0; i < n; i++) addr[i] = b[p + i]!;
        if (plen < 128) maskBits(addr, plen);
        out.ascii(formatIPv6(addr));
      }
      out.byte(47); // '/'
      out.uint(shownLen);
      if (announce) {
        out.byte(124);
        if (addPath) {
          out.uint(pathId);
          out.byte(124);
        }
      } else if (addPath) {
        out.byte(124);
        out.uint(pathId);
      }
      out.ascii(tail);
      this.lines++;
      p += nbytes;
    }
  }
}

function maskBits(a: Uint8Array, len: number): void {
  for (let i = 0; i < a.length; i++) {
    const bitPos = i * 8;
    if (bitPos >= len) a[i] = 0;
    else if (bitPos + 8 > len) a[i] = a[i]! & (0xff << (8 - (len - bitPos)));
  }
}

function v4in16(ip: Uint8Array): Uint8Array {
  const o = ZERO16.slice();
  o.set(ip.subarray(0, 4));
  return o;
}
