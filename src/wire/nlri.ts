// NLRI prefixes: RFC 4271 §4.3 (length in bits + minimal octets), RFC 4760 §5 (the same
// encoding inside MP_REACH/MP_UNREACH), RFC 7911 §3 (ADD-PATH: a 4-octet Path Identifier
// before each prefix). Syntax errors per RFC 7606 §5.3: a prefix length beyond the address
// width, or a field that does not end on a prefix boundary.
//
//   +---------------------------+
//   | Path Identifier (4 octets)|   (only with ADD-PATH)
//   +---------------------------+
//   |   Length (1 octet)        |
//   +---------------------------+
//   |   Prefix (variable)       |
//   +---------------------------+
//
// Host bits set beyond the prefix length are masked and reported, never rejected: a
// collector or a route server must not drop a route because a peer left garbage there.

import type { Reader, Writer } from '../lib/bytes.js';
import { AFI, type Afi, type Prefix } from '../lib/ip.js';
import type { Nlri } from './types.js';

/** Why an NLRI field could not be parsed (callers map it to the RFC's NOTIFICATION). */
export class NlriError {
  constructor(
    readonly reason: string,
    /** Offset of the offending prefix in the underlying buffer. */
    readonly offset: number,
  ) {}
}

/**
 * Decode every prefix in the rest of `r`. Returns the NLRI, or an NlriError when a prefix
 * length exceeds the address width or the field ends inside a prefix. Prefixes whose host
 * bits were set are masked and pushed onto `hostBits` when given.
 */
export function decodePrefixes(
  r: Reader,
  afi: Afi,
  addPath: boolean,
  hostBits?: Prefix[],
): Nlri[] | NlriError {
  const buf = r.buf;
  const end = r.end;
  const width = afi === AFI.IPv4 ? 4 : 16;
  const maxLen = width * 8;
  const out: Nlri[] = [];
  let p = r.pos;
  while (p < end) {
    const start = p;
    let pathId = 0;
    if (addPath) {
      if (p + 5 > end)
        return new NlriError('path identifier runs past the end of the field', start);
      pathId = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
    }
    const len = buf[p++]!;
    if (len > maxLen) {
      return new NlriError(`prefix length ${len} exceeds ${maxLen} bits`, start);
    }
    const n = (len + 7) >>> 3;
    if (p + n > end) {
      return new NlriError(`prefix /${len} needs ${n} octet(s), only ${end - p} left`, start);
    }
    const addr = new Uint8Array(width);
    for (let i = 0; i < n; i++) addr[i] = buf[p + i]!;
    p += n;
    const rem = len & 7;
    let prefix: Prefix;
    if (rem !== 0) {
      const last = addr[n - 1]!;
      const masked = last & (0xff << (8 - rem)) & 0xff;
      prefix = { afi, addr, len };
      if (masked !== last) {
        addr[n - 1] = masked;
        hostBits?.push(prefix);
      }
    } else {
      prefix = { afi, addr, len };
    }
    out.push(addPath ? { prefix, pathId } : { prefix });
  }
  r.pos = p;
  return out;
}

/** Encode prefixes with the minimal number of octets (and path identifiers if addPath). */
export function encodePrefixes(w: Writer, nlri: readonly Nlri[], addPath: boolean): void {
  for (let k = 0; k < nlri.length; k++) {
    const e = nlri[k]!;
    if (addPath) w.u32(e.pathId ?? 0);
    const { addr, len } = e.prefix;
    w.u8(len);
    const n = (len + 7) >>> 3;
    if (n === 0) continue;
    const rem = len & 7;
    for (let i = 0; i < n - 1; i++) w.u8(addr[i]!);
    // Host bits are never sent, whatever the caller's bytes say.
    w.u8(rem === 0 ? addr[n - 1]! : addr[n - 1]! & (0xff << (8 - rem)));
  }
}

/** Octets `encodePrefixes` would write. */
export function prefixesLength(nlri: readonly Nlri[], addPath: boolean): number {
  let n = 0;
  for (let k = 0; k < nlri.length; k++) n += 1 + ((nlri[k]!.prefix.len + 7) >>> 3);
  return addPath ? n + 4 * nlri.length : n;
}
