// What bench/btr.ts feeds the router: one UPDATE per prefix, prefix number i being the /24
// at 20.0.0.0 + 256·i (i < 2^18, inside 20.0.0.0/6), each with an attribute set of its
// own (AS_PATH [feeder AS, 4200000000 + i mod 10^6], ORIGIN IGP, NEXT_HOP the feeder), so
// that neither the router nor a replica can pack two prefixes into one UPDATE: every
// prefix is a separate message in and out, and its pass-through time is its own.

import { ByteWriter, appendUpdates, encodeAttributes, nlriBytes } from '../speaker/encode.js';

const BASE = 0x14000000;
const MAX = 1 << 18;

/** The prefix number of addr/len (addr as an unsigned 32-bit number), or -1. */
export function prefixIndex(addr: number, len: number): number {
  if (len !== 24 || addr < BASE) return -1;
  const i = (addr - BASE) / 256;
  return i < MAX ? i : -1;
}

/** "20.0.1.0/24" for prefix number 1. */
export function prefixText(i: number): string {
  const a = BASE + i * 256;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`;
}

/** UPDATEs announcing prefixes [from, from+count), concatenated. */
export function encodeStream(from: number, count: number, asn: number, nextHop: string): Buffer {
  if (from < 0 || from + count > MAX)
    throw new RangeError(`prefixes ${from}+${count}: out of range`);
  const nh = Uint8Array.from(nextHop.split('.').map(Number));
  const w = new ByteWriter(count * 64 + 64);
  for (let i = from; i < from + count; i++) {
    const a = BASE + i * 256;
    const attrs = encodeAttributes(
      { origin: 0, asPath: [asn, 4_200_000_000 + (i % 1_000_000)] },
      nh,
    );
    const addr = Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, 0);
    appendUpdates(w, attrs, [nlriBytes(addr, 24)]);
  }
  return Buffer.from(w.result());
}
