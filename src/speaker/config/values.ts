// Readers for the scalar kinds of the config: integers in a range, booleans, names from a
// fixed set, addresses, prefixes, ASNs (RFC 6793 plain or RFC 5396 asdot) and communities
// (RFC 1997, RFC 8092). Each records an `expected …, got …` error and returns undefined
// when the value is wrong.

import { isScalar } from 'yaml';
import { AFI, maskAddr, parseAddr, parseIPv4, type Prefix } from '../../lib/ip.js';
import { COMMUNITY_NAMES } from '../../policy/index.js';
import { suggestion } from './errors.js';
import { scalar, sourceText, type Reader, type Slot } from './reader.js';

export type Read<T> = (r: Reader, s: Slot) => T | undefined;

export const U16 = 0xffff;
export const U32 = 0xffffffff;
/** RFC 6793 §9: AS_TRANS stands in for a 4-octet ASN; it is never a real one. */
export const AS_TRANS = 23456;

/** An integer from `min` to `max`. */
export function int(min: number, max: number, what?: string): Read<number> {
  return (r, s) => {
    const v = scalar(s.value);
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    return r.expected(s, what ?? `an integer from ${min} to ${max}`);
  };
}

/** RFC 4271 §4.2: a hold time is 0 (no keepalives) or at least 3 seconds. */
export const holdTime: Read<number> = (r, s) => {
  const v = scalar(s.value);
  if (typeof v === 'number' && Number.isInteger(v) && (v === 0 || (v >= 3 && v <= U16))) return v;
  return r.expected(s, '0 or an integer from 3 to 65535');
};

export const bool: Read<boolean> = (r, s) => {
  const v = scalar(s.value);
  return typeof v === 'boolean' ? v : r.expected(s, 'true or false');
};

/** Any scalar, as written (so `description: 65002` is the text "65002"). */
export const text: Read<string> = (r, s) => {
  if (!isScalar(s.value)) return r.expected(s, 'a string');
  const v = s.value.value;
  const t = typeof v === 'string' ? v : sourceText(s.value);
  return t === '' ? r.expected(s, 'a non-empty string') : t;
};

/** One of `choices`, suggesting the closest one for a typo. */
export function oneOf<T extends string>(choices: readonly T[], what?: string): Read<T> {
  return (r, s) => {
    const v = scalar(s.value);
    if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
    const extra = typeof v === 'string' ? suggestion(v, choices) : '';
    return r.expected(s, what ?? `one of ${choices.join(', ')}`, extra);
  };
}

/** A dotted quad that is not 0.0.0.0 (a BGP Identifier or cluster ID, RFC 6286 §2.1). */
export const identifier: Read<Uint8Array> = (r, s) => {
  const v = scalar(s.value);
  const a = typeof v === 'string' ? parseIPv4(v) : undefined;
  if (!a || a.every((b) => b === 0)) {
    return r.expected(s, 'a non-zero IPv4 address (dotted quad) like 198.18.0.1');
  }
  return a;
};

export const address: Read<Uint8Array> = (r, s) => {
  const v = scalar(s.value);
  const a = typeof v === 'string' ? parseAddr(v) : undefined;
  return a ?? r.expected(s, 'an IPv4 or IPv6 address', ipv6Hint(s));
};

/** An address of one family (`family` is 4 or 16 bytes); `why` explains the constraint. */
export function addressOf(bytes: 4 | 16, why: string): Read<Uint8Array> {
  return (r, s) => {
    const a = address(r, s);
    if (a === undefined || a.length === bytes) return a;
    return r.expected(s, `an ${bytes === 4 ? 'IPv4' : 'IPv6'} address (${why})`);
  };
}

/** `addr/len` with no host bits set. */
export const prefix: Read<Prefix> = (r, s) => {
  const v = scalar(s.value);
  const expected = 'a prefix like 198.18.100.0/24 or 2001:db8::/32';
  if (typeof v !== 'string') return r.expected(s, expected);
  const slash = v.indexOf('/');
  const addr = slash > 0 ? parseAddr(v.slice(0, slash)) : undefined;
  const lenText = slash > 0 ? v.slice(slash + 1) : '';
  if (!addr || !/^\d{1,3}$/.test(lenText) || Number(lenText) > addr.length * 8) {
    return r.expected(s, expected);
  }
  const len = Number(lenText);
  const masked = maskAddr(addr, len);
  if (masked.some((b, i) => b !== addr[i])) {
    return r.expected(s, `a prefix without host bits set (all bits after /${len} zero)`);
  }
  return { afi: addr.length === 4 ? AFI.IPv4 : AFI.IPv6, addr: masked, len };
};

/**
 * An ASN: `65001`, `4200000000`, or asdot `1.10` (RFC 5396: high.low = high × 65536 +
 * low). AS 0 (RFC 7607) and AS_TRANS (RFC 6793) are refused.
 */
export const asn: Read<number> = (r, s) => {
  const what = 'an ASN from 1 to 4294967295 (or asdot like 1.10)';
  if (!isScalar(s.value)) return r.expected(s, what);
  const t = typeof s.value.value === 'string' ? s.value.value : sourceText(s.value);
  let n: number | undefined;
  const dot = /^(\d{1,5})\.(\d{1,5})$/.exec(t);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi <= U16 && lo <= U16) n = hi * 65536 + lo;
  } else if (/^\d{1,10}$/.test(t)) n = Number(t);
  if (n === undefined || n < 1 || n > U32) return r.expected(s, what);
  if (n === AS_TRANS) return r.expected(s, `${what}; 23456 is AS_TRANS (RFC 6793), not a real AS`);
  return n;
};

/**
 * `control.http`: `host:port` on a loopback address (docs/control.md: the API has no
 * authentication): `127.0.0.1:8179`, `[::1]:8179` or `localhost:8179`. Kept as written,
 * which is what the control server takes.
 */
export const loopbackHostPort: Read<string> = (r, s) => {
  const v = scalar(s.value);
  const m = typeof v === 'string' ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v) : null;
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const addr = host === 'localhost' ? new Uint8Array([127, 0, 0, 1]) : parseAddr(host);
  const port = m ? Number(m[3]) : 0;
  if (typeof v !== 'string' || !addr || port < 1 || port > U16) {
    return r.expected(s, 'host:port like 127.0.0.1:8179, [::1]:8179 or localhost:8179');
  }
  if (!isLoopback(addr)) {
    return r.expected(
      s,
      'a loopback address (127.0.0.1, ::1 or localhost): the control API has no authentication',
    );
  }
  return v;
};

/** A standard community to attach: `65001:100` or a well-known name like no-export. */
export const community: Read<number> = (r, s) => {
  const v = scalar(s.value);
  if (typeof v === 'string') {
    const named = COMMUNITY_NAMES[v];
    if (named !== undefined) return named;
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(v);
    if (m && Number(m[1]) <= U16 && Number(m[2]) <= U16) {
      return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
    }
  }
  return r.expected(s, 'a community like 65001:100 or no-export');
};

/** A large community to attach: `65001:1:2`, each part up to 4294967295. */
export const largeCommunity: Read<readonly [number, number, number]> = (r, s) => {
  const v = scalar(s.value);
  const m = typeof v === 'string' ? /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(v) : null;
  if (m) {
    const parts = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
    if (parts.every((p) => p <= U32)) return parts;
  }
  return r.expected(s, 'a large community like 65001:1:2');
};

/** YAML reads a plain `2001:db8::` as a mapping key; say to quote it. */
function ipv6Hint(s: Slot): string {
  return s.value !== null && !isScalar(s.value)
    ? ' (quote IPv6 addresses that start or end with a colon: "2001:db8::")'
    : '';
}

/** 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6 (::ffff:127.0.0.1). */
export function isLoopback(a: Uint8Array): boolean {
  if (a.length === 4) return a[0] === 127;
  const zeros = (from: number, to: number): boolean => a.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 15) && a[15] === 1) return true;
  return zeros(0, 10) && a[10] === 0xff && a[11] === 0xff && a[12] === 127;
}
