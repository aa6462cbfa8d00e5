// Compact Map keys for prefixes (RFC 4271 §4.3 NLRI: a length and the significant bits).
//
// The RIBs hold a million prefixes per table, so a key must be cheap to build, cheap to
// hash and cheap to keep:
//
// - IPv4 is a number. Prefixes up to /24 — nearly all of a full table — get a key below
//   2^29, a small integer (Smi) that V8 stores inline in the Map without a heap object:
//       key = (addr >>> 8) * 32 + len                       len <= 24
//   Longer prefixes get a key in a disjoint range (still a safe integer, boxed by V8):
//       key = 2^29 + addr * 8 + (len - 25)                  len 25..32
// - IPv6 is a short string: the length, then the significant 16-bit words of the address
//   as UTF-16 code units (a /48 is a 4-unit string). Lone surrogates are fine in Map keys.
//
// Numbers and strings never collide, so one Map may mix both families, though the RIBs
// keep one table per address family.

import type { Writer } from '../lib/bytes.js';
import { AFI, type Prefix } from '../lib/ip.js';

export type PrefixKey = number | string;

/** IPv4 keys at or above this stand for /25–/32 prefixes (see above). */
export const IPV4_LONG_KEY_BASE = 2 ** 29;
const LONG_V4_BASE = IPV4_LONG_KEY_BASE;

/** Key of an IPv4 prefix given as a 32-bit address (host bits must be zero) and a length. */
export function ipv4Key(addr: number, len: number): number {
  return len <= 24 ? (addr >>> 8) * 32 + len : LONG_V4_BASE + (addr >>> 0) * 8 + (len - 25);
}

/** Prefix length of an IPv4 key. */
export function ipv4KeyLen(key: number): number {
  return key < LONG_V4_BASE ? key & 31 : ((key - LONG_V4_BASE) % 8) + 25;
}

/** Address (32-bit, host bits zero) of an IPv4 key. */
export function ipv4KeyAddr(key: number): number {
  return key < LONG_V4_BASE ? (key >>> 5) * 256 : Math.floor((key - LONG_V4_BASE) / 8);
}

/** Key of an IPv6 prefix from its address bytes (host bits must be zero). */
export function ipv6Key(addr: Uint8Array, len: number): string {
  const words = (len + 15) >>> 4;
  switch (words) {
    case 0:
      return String.fromCharCode(len);
    case 1:
      return String.fromCharCode(len, (addr[0]! << 8) | addr[1]!);
    case 2:
      return String.fromCharCode(len, (addr[0]! << 8) | addr[1]!, (addr[2]! << 8) | addr[3]!);
    case 3:
      return String.fromCharCode(
        len,
        (addr[0]! << 8) | addr[1]!,
        (addr[2]! << 8) | addr[3]!,
        (addr[4]! << 8) | addr[5]!,
      );
    default: {
      let s = String.fromCharCode(len);
      for (let i = 0; i < words; i++)
        s += String.fromCharCode((addr[2 * i]! << 8) | addr[2 * i + 1]!);
      return s;
    }
  }
}

/** The key of a prefix (its host bits must be zero, as the codec guarantees). */
export function prefixKey(p: Prefix): PrefixKey {
  if (p.afi === AFI.IPv4) {
    const a = p.addr;
    return ipv4Key(((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0, p.len);
  }
  return ipv6Key(p.addr, p.len);
}

/** The prefix a key stands for. */
export function keyToPrefix(key: PrefixKey): Prefix {
  if (typeof key === 'number') {
    const len = ipv4KeyLen(key);
    const addr = ipv4KeyAddr(key);
    const b = new Uint8Array(4);
    b[0] = addr >>> 24;
    b[1] = (addr >>> 16) & 0xff;
    b[2] = (addr >>> 8) & 0xff;
    b[3] = addr & 0xff;
    return { afi: AFI.IPv4, addr: b, len };
  }
  const len = key.charCodeAt(0);
  const b = new Uint8Array(16);
  for (let i = 1; i < key.length; i++) {
    const w = key.charCodeAt(i);
    b[2 * (i - 1)] = w >>> 8;
    b[2 * (i - 1) + 1] = w & 0xff;
  }
  return { afi: AFI.IPv6, addr: b, len };
}

/** The key as NLRI (RFC 4271 §4.3): length octet, then the significant address octets. */
export function writeKeyNlri(w: Writer, key: PrefixKey): void {
  if (typeof key === 'number') {
    const len = ipv4KeyLen(key);
    const addr = ipv4KeyAddr(key);
    w.u8(len);
    for (let i = 0; i < (len + 7) >>> 3; i++) w.u8((addr >>> (24 - 8 * i)) & 0xff);
    return;
  }
  const len = key.charCodeAt(0);
  w.u8(len);
  for (let i = 0; i < (len + 7) >>> 3; i++) {
    const word = key.charCodeAt(1 + (i >>> 1));
    w.u8(i & 1 ? word & 0xff : word >>> 8);
  }
}

/** Address family of a key. */
export function keyAfi(key: PrefixKey): typeof AFI.IPv4 | typeof AFI.IPv6 {
  return typeof key === 'number' ? AFI.IPv4 : AFI.IPv6;
}
