// Pre-encoding of the injected UPDATEs (RFC 4271 §4.3, RFC 4760 §3 for IPv6): each route
// group — prefixes sharing one attribute set — is packed into as few UPDATEs of at most
// 4096 octets as possible, and the messages are concatenated into one buffer that the
// injector writes to the socket as it is. Written byte by byte here, not through wire/'s
// object encoder, so that 1M prefixes cost no objects at all. ASNs are 4 octets: every
// session of the benchmark negotiates RFC 6793.

import { ATTR, MSG } from '../../src/wire/index.js';

const MAX_MSG = 4096;
const HEADER = 19;

/** A growable byte buffer with a write cursor. */
export class ByteWriter {
  buf: Buffer;
  len = 0;

  constructor(initial = 1 << 20) {
    this.buf = Buffer.alloc(initial);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

export interface AttributeSet {
  origin: number;
  /** One AS_SEQUENCE; the first ASN is the injector's own. */
  asPath: readonly number[];
  med?: number;
  communities?: readonly number[];
}

function attr(w: ByteWriter, flags: number, code: number, value: Uint8Array): void {
  if (value.length > 255) {
    w.u8(flags | 0x10);
    w.u8(code);
    w.u16(value.length);
  } else {
    w.u8(flags);
    w.u8(code);
    w.u8(value.length);
  }
  w.bytes(value);
}

/** ORIGIN, AS_PATH, [NEXT_HOP], [MED], [COMMUNITIES] — everything but MP_REACH_NLRI. */
export function encodeAttributes(a: AttributeSet, nextHop4?: Uint8Array): Buffer {
  const w = new ByteWriter(256);
  attr(w, 0x40, ATTR.ORIGIN, Uint8Array.of(a.origin));
  const path = new ByteWriter(2 + 4 * a.asPath.length);
  if (a.asPath.length > 0) {
    path.u8(2); // AS_SEQUENCE
    path.u8(a.asPath.length);
    for (const asn of a.asPath) path.u32(asn);
  }
  attr(w, 0x40, ATTR.AS_PATH, path.result());
  if (nextHop4) attr(w, 0x40, ATTR.NEXT_HOP, nextHop4);
  if (a.med !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(a.med >>> 0);
    attr(w, 0x80, ATTR.MULTI_EXIT_DISC, v);
  }
  if (a.communities && a.communities.length > 0) {
    const v = Buffer.alloc(4 * a.communities.length);
    a.communities.forEach((c, i) => v.writeUInt32BE(c >>> 0, 4 * i));
    attr(w, 0xc0, ATTR.COMMUNITIES, v);
  }
  return w.result();
}

/** NLRI octets of one prefix (RFC 4271 §4.3): length, then the significant octets. */
export function nlriBytes(addr: Uint8Array, len: number): Buffer {
  const n = (len + 7) >> 3;
  const b = Buffer.alloc(1 + n);
  b[0] = len;
  b.set(addr.subarray(0, n), 1);
  return b;
}

function header(w: ByteWriter, type: number): number {
  w.ensure(HEADER);
  w.buf.fill(0xff, w.len, w.len + 16);
  const start = w.len;
  w.len += 16;
  w.u16(0); // length, patched by finish()
  w.u8(type);
  return start;
}

function finish(w: ByteWriter, start: number): void {
  w.buf.writeUInt16BE(w.len - start, start + 16);
}

/**
 * Appends UPDATEs announcing `nlri` (each element the octets of one prefix, from
 * nlriBytes) with `attrs` to `w`; returns the number of messages written. IPv4 prefixes
 * go in the NLRI field; with `nextHop6` they go in MP_REACH_NLRI (AFI 2, SAFI 1).
 */
export function appendUpdates(
  w: ByteWriter,
  attrs: Uint8Array,
  nlri: readonly Uint8Array[],
  nextHop6?: Uint8Array,
): number {
  // Room for NLRI in one message: 4096 − header − withdrawn length − attribute length −
  // attributes − (IPv6) the MP_REACH_NLRI header with extended length.
  const mpFixed = nextHop6 ? 4 + 2 + 1 + 1 + nextHop6.length + 1 : 0;
  const room = MAX_MSG - HEADER - 2 - 2 - attrs.length - mpFixed;
  if (room < 17) throw new Error(`attribute set of ${attrs.length} octets leaves no room for NLRI`);
  let messages = 0;
  let i = 0;
  while (i < nlri.length) {
    let j = i;
    let size = 0;
    while (j < nlri.length && size + nlri[j]!.length <= room) size += nlri[j++]!.length;
    const start = header(w, MSG.UPDATE);
    w.u16(0); // no withdrawn routes
    w.u16(attrs.length + mpFixed + (nextHop6 ? size : 0));
    w.bytes(attrs);
    if (nextHop6) {
      w.u8(0x90); // optional, extended length
      w.u8(ATTR.MP_REACH_NLRI);
      w.u16(2 + 1 + 1 + nextHop6.length + 1 + size);
      w.u16(2); // AFI IPv6
      w.u8(1); // SAFI unicast
      w.u8(nextHop6.length);
      w.bytes(nextHop6);
      w.u8(0);
    }
    for (let k = i; k < j; k++) w.bytes(nlri[k]!);
    finish(w, start);
    messages++;
    i = j;
  }
  return messages;
}

/** Appends one already complete BGP message. */
export function appendRaw(w: ByteWriter, msg: Uint8Array): void {
  w.bytes(msg);
}
