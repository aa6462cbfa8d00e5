// Internet checksums for the TCPR packet rewriter (RFC 1071 one's-complement sum; IPv4
// header checksum RFC 791 §3.1; TCP pseudo-headers RFC 9293 §3.1 and RFC 8200 §8.1;
// incremental update RFC 1624 §3).
//
// Decision E1 (docs/tcpr.md): packets TCPR generates get both checksums computed in full
// here; forwarded packets are rewritten in place and their checksums updated
// incrementally (`wordAdjust`, `rangeAdjust`, `applyAdjust`), so a segment that arrived
// with a bad checksum leaves with a bad one. The full sums also verify incoming packets
// where the filter acts on their content.

/** TCP's protocol number, used in both pseudo-headers. */
const PROTO_TCP = 6;

/** Adds the 16-bit big-endian words of b[start, end) to `sum` (not folded). */
export function sumWords(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  if (end - start >= 64) {
    // Long ranges (payloads) 32 bits at a time, big-endian at any alignment: the two
    // halves of each read are two words. About twice as fast as byte by byte.
    const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let hi = 0;
    let lo = 0;
    for (; i + 3 < end; i += 4) {
      const w = d.getUint32(i);
      hi += w >>> 16;
      lo += w & 0xffff;
    }
    sum += hi + lo;
  }
  // High and low bytes summed apart: fewer shifts per word (64 KiB stay far below 2^53).
  let hi = 0;
  let lo = 0;
  for (; i + 1 < end; i += 2) {
    hi += b[i]!;
    lo += b[i + 1]!;
  }
  // An odd trailing byte is padded with a zero byte on the right.
  if (i < end) hi += b[i]!;
  return sum + hi * 256 + lo;
}

/** Folds carries into 16 bits (end-around carry); 0 only for a sum of zeros. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Folds carries into 16 bits and returns the one's complement (the value to store). */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
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

/** The pseudo-header's length and protocol words (IPv4 and IPv6 add up alike). */
function lengthWords(tcpLen: number): number {
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, 3 zero bytes, next header.
  // Both add up to the same words when the length fits in 16 bits; the upper half of a
  // 32-bit IPv6 length is added separately.
  return PROTO_TCP + (tcpLen & 0xffff) + Math.floor(tcpLen / 0x10000);
}

/** The pseudo-header sum for TCP over IPv4 or IPv6 (address width selects the family). */
function pseudoSum(src: Uint8Array, dst: Uint8Array, tcpLen: number): number {
  let sum = sumWords(src, 0, src.length);
  sum = sumWords(dst, 0, dst.length, sum);
  return sum + lengthWords(tcpLen);
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

/**
 * Like tcpChecksumValid for a segment inside its packet `p`: the addresses are read at
 * srcAt and dstAt (addrLen bytes each), the segment is p[off, off+len). No views made.
 */
export function tcpChecksumValidAt(
  p: Uint8Array,
  srcAt: number,
  dstAt: number,
  addrLen: number,
  off: number,
  len: number,
): boolean {
  let sum = sumWords(p, srcAt, srcAt + addrLen);
  sum = sumWords(p, dstAt, dstAt + addrLen, sum);
  return finish(sumWords(p, off, off + len, sum + lengthWords(len))) === 0;
}

// ---- incremental update (RFC 1624) ------------------------------------------------------
//
// A change of 16-bit words m → m' moves a checksum HC to HC' = ~(~HC + ~m + m') (RFC 1624
// eqn. 3). The terms ~m + m' of all changed words are added up first (an "adjustment",
// not folded) and applied once. Eqn. 3 has no -0 problem: ~HC + (a non-zero adjustment)
// folds to 1…0xffff, never to 0, so HC' is 0x0000…0xfffe, the value a full computation
// gives; an incoming HC of 0xffff (the other zero) is handled alike. RFC 1141's form
// (eqn. 2, HC + m + ~m') can produce 0xffff where a full computation gives 0x0000.

/** The adjustment for one 16-bit word changing from `before` to `after`. */
export function wordAdjust(before: number, after: number): number {
  return (~before & 0xffff) + after;
}

/** The adjustment for a region whose words summed to `before` and now sum to `after`. */
export function rangeAdjust(before: number, after: number): number {
  return (~fold(before) & 0xffff) + fold(after);
}

/** The checksum `hc` updated by a (non-zero) adjustment. */
export function applyAdjust(hc: number, adjust: number): number {
  return ~fold((~hc & 0xffff) + adjust) & 0xffff;
}
