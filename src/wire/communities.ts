// Community attributes: COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360 §2) and
// LARGE_COMMUNITY (RFC 8092 §3); well-known community values (RFC 1997, RFC 7999,
// RFC 8326). RFC 7606 §7.8/§7.14 and RFC 8092 §6: a length that is not a non-zero
// multiple of 4 / 8 / 12 makes the attribute malformed (treat-as-withdraw).
//
//   COMMUNITIES        EXTENDED_COMMUNITIES              LARGE_COMMUNITY
//   +-------------+    +------+---------+------------+   +-------------+-----------+-----------+
//   | 4 octets ×n |    | type | subtype | value (6)  |×n | global (4)  | local1 (4)| local2 (4)|×n
//   +-------------+    +------+---------+------------+   +-------------+-----------+-----------+

import type { Writer } from '../lib/bytes.js';

export const WELL_KNOWN_COMMUNITY = {
  GRACEFUL_SHUTDOWN: 0xffff0000, // RFC 8326
  BLACKHOLE: 0xffff029a, // RFC 7999
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NOPEER: 0xffffff04, // RFC 3765
} as const;

export function decodeCommunityValues(buf: Uint8Array, start: number, end: number): number[] {
  const n = (end - start) >>> 2;
  const out = new Array<number>(n);
  for (let i = 0, p = start; i < n; i++, p += 4) {
    out[i] = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
  }
  return out;
}

export function decodeExtendedCommunityValues(
  buf: Uint8Array,
  start: number,
  end: number,
): Uint8Array[] {
  const n = (end - start) >>> 3;
  const out = new Array<Uint8Array>(n);
  for (let i = 0, p = start; i < n; i++, p += 8) out[i] = buf.subarray(p, p + 8);
  return out;
}

export function decodeLargeCommunityValues(
  buf: Uint8Array,
  start: number,
  end: number,
): (readonly [number, number, number])[] {
  const n = ((end - start) / 12) | 0;
  const out = new Array<readonly [number, number, number]>(n);
  for (let i = 0, p = start; i < n; i++, p += 12) {
    out[i] = [
      ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0,
      ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0,
      ((buf[p + 8]! << 24) | (buf[p + 9]! << 16) | (buf[p + 10]! << 8) | buf[p + 11]!) >>> 0,
    ];
  }
  return out;
}

export function encodeCommunityValues(w: Writer, c: readonly number[]): void {
  for (let i = 0; i < c.length; i++) w.u32(c[i]!);
}

export function encodeLargeCommunityValues(
  w: Writer,
  c: readonly (readonly [number, number, number])[],
): void {
  for (let i = 0; i < c.length; i++) {
    const t = c[i]!;
    w.u32(t[0]).u32(t[1]).u32(t[2]);
  }
}

/** "65535:65281" text of a standard community (RFC 1997 presentation). */
export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

/** "global:local1:local2" text of a large community (RFC 8092 §3). */
export function formatLargeCommunity(c: readonly [number, number, number]): string {
  return `${c[0]}:${c[1]}:${c[2]}`;
}
