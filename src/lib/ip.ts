// IPv4/IPv6 addresses and prefixes. Addresses are raw bytes (4 or 16); text follows the
// conventions of glibc's inet_ntop (RFC 4291 §2.2 text with the longest run of two or more
// zero groups compressed, first run on a tie, and the IPv4-compatible/-mapped forms
// `::a.b.c.d` / `::ffff:a.b.c.d`), which is what bgpdump and the BGP daemons print.

export const AFI = { IPv4: 1, IPv6: 2 } as const;
export type Afi = (typeof AFI)[keyof typeof AFI];

/** A prefix: address bytes (full width, host bits zero) and a length in bits. */
export interface Prefix {
  readonly afi: Afi;
  readonly addr: Uint8Array;
  readonly len: number;
}

const dec: string[] = Array.from({ length: 256 }, (_, i) => String(i));

export function formatIPv4(b: Uint8Array, off = 0): string {
  return (
    dec[b[off]!]! + '.' + dec[b[off + 1]!]! + '.' + dec[b[off + 2]!]! + '.' + dec[b[off + 3]!]!
  );
}

export function formatIPv6(b: Uint8Array, off = 0): string {
  const w = new Array<number>(8);
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  // Longest run of zero words (length >= 2), first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  let curStart = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curStart < 0) {
        curStart = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestStart = curStart;
        bestLen = curLen;
      }
    } else curStart = -1;
  }
  if (bestLen < 2) bestStart = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestStart >= 0 && i >= bestStart && i < bestStart + bestLen) {
      if (i === bestStart) s += ':';
      continue;
    }
    if (i > 0) s += ':';
    if (i === 6 && bestStart === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      return s + formatIPv4(b, off + 12);
    }
    s += w[i]!.toString(16);
  }
  if (bestStart >= 0 && bestStart + bestLen === 8) s += ':';
  return s;
}

export function formatAddr(b: Uint8Array): string {
  return b.length === 4 ? formatIPv4(b) : formatIPv6(b);
}

export function formatPrefix(p: Prefix): string {
  return (p.afi === AFI.IPv4 ? formatIPv4(p.addr) : formatIPv6(p.addr)) + '/' + p.len;
}

export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

export function parseIPv6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let tail4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail4 = parseIPv4(s.slice(lastColon + 1));
    if (!tail4) return undefined;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (head.length + tail.length > (halves.length === 2 ? 7 : 8)) return undefined;
  const put = (groups: string[], start: number): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      const v = parseInt(g, 16);
      out[2 * (start + i)] = v >> 8;
      out[2 * (start + i) + 1] = v & 0xff;
    }
    return true;
  };
  if (!put(head, 0) || !put(tail, 8 - tail.length)) return undefined;
  if (tail4) out.set(tail4, 12);
  return out;
}

export function parseAddr(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

/**
 * `HOST:PORT` or `[IPv6]:PORT` (or a bare `PORT`) → the host text (absent for a bare port)
 * and the port (1–65535); undefined when malformed. The host is not resolved or checked.
 */
export function splitHostPort(s: string): { host?: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) return undefined;
  const host = m[1] || m[2];
  return host ? { host, port } : { port };
}

export function parsePrefix(s: string): Prefix | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddr(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > addr.length * 8) return undefined;
  return { afi: addr.length === 4 ? AFI.IPv4 : AFI.IPv6, addr: maskAddr(addr, len), len };
}

/** A copy of `addr` with every bit after `len` cleared. */
export function maskAddr(addr: Uint8Array, len: number): Uint8Array {
  const out = addr.slice();
  for (let i = 0; i < out.length; i++) {
    const bit = i * 8;
    if (bit >= len) out[i] = 0;
    else if (bit + 8 > len) out[i] = out[i]! & (0xff << (8 - (len - bit))) & 0xff;
  }
  return out;
}
