// Prefix lists, with the semantics of FRR / Cisco `ip prefix-list`:
//
// - An entry `P/L` matches a route prefix whose first L bits equal P's and whose length
//   is in a range: exactly L when neither `ge` nor `le` is given; [ge, max] with `ge`
//   alone; [L, le] with `le` alone; [ge, le] with both. max is 32 (IPv4) or 128 (IPv6).
// - Entries are tried in order; the first one that matches decides (permit or deny). A
//   deny entry therefore carves an exception out of a later, wider permit entry.
// - No entry matches: deny (the implicit deny at the end). An empty list denies all.
// - Entries of the other address family never match.
// - Validation: L <= ge <= le <= max. An entry prefix with host bits set is an error
//   (FRR silently masks it; an operator who wrote 198.18.1.0/15 more likely made a typo).
//
// Lookup is a linear scan over pre-parsed entries; lists are short in practice and the
// first-match order has to be kept anyway.

import { AFI, maskAddr, parseAddr, type Afi, type Prefix } from '../lib/ip.js';
import { bytesEqual } from '../lib/bytes.js';
import { checkKeys, intIn, isRecord, oneOf, type Checker } from './check.js';

export interface PrefixListEntry {
  readonly afi: Afi;
  readonly addr: Uint8Array;
  readonly len: number;
  /** Accepted route prefix lengths, inclusive. */
  readonly minLen: number;
  readonly maxLen: number;
  readonly permit: boolean;
  /** The entry as written, for reasons and debugging. */
  readonly text: string;
}

export interface PrefixList {
  readonly name: string;
  readonly entries: readonly PrefixListEntry[];
}

/** Does the first `len` bits of `a` equal those of `b`? Both have the same width. */
export function sameLeadingBits(a: Uint8Array, b: Uint8Array, len: number): boolean {
  const full = len >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[full]! ^ b[full]!) & mask) === 0;
}

export function entryMatches(e: PrefixListEntry, p: Prefix): boolean {
  return (
    e.afi === p.afi &&
    p.len >= e.minLen &&
    p.len <= e.maxLen &&
    p.len >= e.len &&
    sameLeadingBits(e.addr, p.addr, e.len)
  );
}

/** The first entry matching `p` (its index), or -1 for the implicit deny. */
export function prefixListLookup(list: PrefixList, p: Prefix): number {
  const es = list.entries;
  for (let i = 0; i < es.length; i++) if (entryMatches(es[i]!, p)) return i;
  return -1;
}

export function prefixListPermits(list: PrefixList, p: Prefix): boolean {
  const i = prefixListLookup(list, p);
  return i >= 0 && list.entries[i]!.permit;
}

/** Parse "addr/len" strictly: host bits must be zero. */
export function parseStrictPrefix(
  c: Checker,
  path: string,
  v: unknown,
): { afi: Afi; addr: Uint8Array; len: number } | undefined {
  const expected = 'a prefix like 198.18.0.0/15 or 2001:db8::/32';
  if (typeof v !== 'string') return c.fail(path, expected, v);
  const slash = v.indexOf('/');
  const addr = slash > 0 ? parseAddr(v.slice(0, slash)) : undefined;
  const lenText = slash > 0 ? v.slice(slash + 1) : '';
  if (!addr || !/^\d{1,3}$/.test(lenText) || Number(lenText) > addr.length * 8) {
    return c.fail(path, expected, v);
  }
  const len = Number(lenText);
  const masked = maskAddr(addr, len);
  if (!bytesEqual(masked, addr)) {
    return c.fail(path, `a prefix without host bits set (host bits after /${len} must be 0)`, v);
  }
  return { afi: addr.length === 4 ? AFI.IPv4 : AFI.IPv6, addr: masked, len };
}

/** Validate and compile the entries of a prefix list found at `path`. */
export function compilePrefixList(
  c: Checker,
  path: string,
  name: string,
  def: unknown,
): PrefixList | undefined {
  if (!Array.isArray(def)) {
    return c.fail(path, 'a list of entries { prefix, ge?, le?, action? }', def);
  }
  const n0 = c.errors.length;
  const entries: PrefixListEntry[] = [];
  def.forEach((d, i) => {
    const e = compileEntry(c, `${path}[${i}]`, d);
    if (e) entries.push(e);
  });
  return c.errors.length > n0 ? undefined : { name, entries };
}

function compileEntry(c: Checker, path: string, d: unknown): PrefixListEntry | undefined {
  if (!isRecord(d)) return c.fail(path, 'an entry { prefix, ge?, le?, action? }', d);
  checkKeys(c, path, d, ['prefix', 'ge', 'le', 'action']);
  const p = parseStrictPrefix(c, `${path}.prefix`, d.prefix);
  const action =
    d.action === undefined
      ? 'permit'
      : oneOf(c, `${path}.action`, d.action, ['permit', 'deny'] as const);
  if (!p || !action) return undefined;
  const max = p.afi === AFI.IPv4 ? 32 : 128;
  let ge: number | undefined;
  let le: number | undefined;
  if (d.ge !== undefined) {
    ge = intIn(c, `${path}.ge`, d.ge, p.len, max, `an integer (at least the prefix length)`);
    if (ge === undefined) return undefined;
  }
  if (d.le !== undefined) {
    const lo = Math.max(p.len, ge ?? 0);
    le = intIn(c, `${path}.le`, d.le, lo, max, `an integer (at least the prefix length and ge)`);
    if (le === undefined) return undefined;
  }
  const minLen = ge ?? p.len;
  const maxLen = le ?? (ge !== undefined ? max : p.len);
  return {
    ...p,
    minLen,
    maxLen,
    permit: action === 'permit',
    text: `${d.prefix as string}${ge !== undefined ? ` ge ${ge}` : ''}${le !== undefined ? ` le ${le}` : ''} ${action}`,
  };
}
