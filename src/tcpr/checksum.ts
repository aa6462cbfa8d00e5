// Internet checksums for the TCPR packet rewriter (RFC 1071 one's-complement sum; IPv4
// header checksum RFC 791 §3.1; TCP pseudo-headers RFC 9293 §3.1 and RFC 8200 §8.1).
//
// Every packet TCPR forwards or generates gets both checksums recomputed from scratch
// (spec §2.8 E1): no incremental updates, no trust in offloaded partial sums. The same
// functions verify incoming packets, so a corrupted segment is dropped instead of being
// re-signed with a fresh, valid checksum.

/** TCP's protocol number, used in both pseudo-headers. */
const PROTO_TCP = 6;

/** Adds the 16-bit big-endian words of b[start, end) to `sum` (not folded). */
export function sumWords(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  // An odd trailing byte is padded with a zero byte on the right.
  if (i < end) sum += b[i]! << 8;
  // No folding needed here: 32 Ki words of at most 0xffff stay far below 2^53.
  return sum;
}

/** Folds carries into 16 bits and returns the one's complement (the value to store). */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The IPv4 header checksum of b[off, off+len) with the checksum field taken as zero. */
export function ipv4HeaderChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = sumWords(b, off, off + 10);
  sum = sumWords(b, off + 12, off + len, sum);
  return finish(sum);
}

/** True when the IPv4 header at b[off, off+len) carries a correct checksum. */
export function ipv4HeaderValid(b: Uint8Array, off: number, len: number): boolean {
  return finish(sumWords(b, off, off + len)) === 0;
}

/** The pseudo-header sum for TCP over IPv4 or IPv6 (address width selects the family). */
function pseudoSum(src: Uint8Array, dst: Uint8Array, tcpLen: number): number {
  let sum = sumWords(src, 0, src.length);
  sum = sumWords(dst, 0, dst.length, sum);
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, 3 zero bytes, next header.
  // Both add up to the same words when the length fits in 16 bits; the upper half of a
  // 32-bit IPv6 length is added separately.
  sum += PROTO_TCP + (tcpLen & 0xffff) + Math.floor(tcpLen / 0x10000);
  return sum;
}

/**
 * The TCP checksum of the segment tcp[off, off+len) between src and dst, with the
 * checksum field (bytes 16–17 of the TCP header) taken as zero.
 */
export function tcpChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  tcp: Uint8Array,
  off: number,
  len: number,
): number {
  let sum = pseudoSum(src, dst, len);
  sum = sumWords(tcp, off, off + 16, sum);
  sum = sumWords(tcp, off + 18, off + len, sum);
  return finish(sum);
}

/** True when the TCP segment tcp[off, off+len) carries a correct checksum. */
export function tcpChecksumValid(
  src: Uint8Array,
  dst: Uint8Array,
  tcp: Uint8Array,
  off: number,
  len: number,
): boolean {
  return finish(sumWords(tcp, off, off + len, pseudoSum(src, dst, len))) === 0;
}
