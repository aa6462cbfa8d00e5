// IPv6 text as bgpdump prints it (its own fmt_ipv6, not inet_ntop): the longest run of
// zero groups is compressed even when it is a single group (2001:7f8:30::2:1:0:8447),
// the first run wins a tie, and IPv4-mapped / IPv4-compatible addresses end in a dotted
// quad. RFC 5952 (and lib/ip's formatIPv6) would not compress a single zero group.

const HEX: string[] = Array.from({ length: 65536 }, (_, i) => i.toString(16));

export function formatIPv6Bgpdump(b: Uint8Array, off = 0): string {
  let zeros10 = true;
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) zeros10 = false;
  if (zeros10) {
    const w5 = (b[off + 10]! << 8) | b[off + 11]!;
    const v4 = b[off + 12]! + '.' + b[off + 13]! + '.' + b[off + 14]! + '.' + b[off + 15]!;
    if (w5 === 0xffff) return '::ffff:' + v4;
    const last =
      ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
    if (w5 === 0 && last > 1) return '::' + v4;
  }
  // Longest run of zero groups (length >= 1), first on a tie.
  let best = -1;
  let bestLen = 0;
  let run = 0;
  for (let i = 7; i >= 0; i--) {
    const w = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
    run = w === 0 ? run + 1 : 0;
    if (run >= bestLen && run > 0) {
      best = i;
      bestLen = run;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += HEX[(b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!]!;
    if (i !== 7) s += ':';
  }
  return s;
}
