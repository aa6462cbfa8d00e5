// Term match conditions. Every key of a `match` must hold (AND); a key holding a list
// holds when any item does (OR), except community `all` / `none`. An absent or empty
// `match` holds for every route. Matches see the attributes as modified by the actions
// of earlier terms and earlier policies of the chain (as in BIRD and Junos).

import { AFI, parseAddr, type Afi } from '../lib/ip.js';
import { asPathLength, ATTR, ORIGIN, type PathAttribute } from '../wire/index.js';
import {
  asPathListPermits,
  asPathText,
  compileAsPathList,
  routeAsPath,
  type AsPathList,
} from './as-path-regex.js';
import { checkKeys, intIn, isRecord, oneOf, range, type Checker } from './check.js';
import {
  communityMatches,
  extCommunityMatches,
  largeCommunityMatches,
  parseCommunity,
  parseExtCommunity,
  parseLargeCommunity,
} from './communities.js';
import { findCode } from './edit.js';
import {
  compilePrefixList,
  parseStrictPrefix,
  prefixListPermits,
  sameLeadingBits,
  type PrefixList,
} from './prefix-list.js';
import type { PolicyRoute } from './types.js';

/** Named lists a policy may refer to. */
export interface PolicyEnv {
  readonly prefixLists: ReadonlyMap<string, PrefixList>;
  readonly asPathLists: ReadonlyMap<string, AsPathList>;
}

export const EMPTY_ENV: PolicyEnv = { prefixLists: new Map(), asPathLists: new Map() };

/** The working state of one evaluation; only ever holds new arrays, never the input's. */
export interface EvalState {
  readonly route: PolicyRoute;
  readonly localAsn: number;
  attrs: readonly PathAttribute[];
  nextHop: 'self' | Uint8Array | undefined;
  /** AS path text, cached for the attribute array it was computed from. */
  textOf?: readonly PathAttribute[];
  text?: string;
}

export type Matcher = (s: EvalState) => boolean;

export const MATCH_KEYS = [
  'prefix-list',
  'prefix-length',
  'family',
  'as-path',
  'as-path-length',
  'community',
  'large-community',
  'ext-community',
  'origin',
  'next-hop',
  'peer-asn',
  'peer-address',
  'route-type',
] as const;

export const ORIGIN_NAMES = { igp: ORIGIN.IGP, egp: ORIGIN.EGP, incomplete: ORIGIN.INCOMPLETE };

function pathText(s: EvalState): string {
  if (s.textOf !== s.attrs || s.text === undefined) {
    s.text = asPathText(routeAsPath(s.attrs));
    s.textOf = s.attrs;
  }
  return s.text;
}

/** The route's next hop: NEXT_HOP, else the (global) next hop of MP_REACH_NLRI. */
export function routeNextHop(attrs: readonly PathAttribute[]): Uint8Array | undefined {
  const nh = findCode(attrs, 'next-hop', ATTR.NEXT_HOP);
  if (nh) return nh.nextHop;
  for (const a of attrs) {
    if (a.kind !== 'mp-reach') continue;
    const b = a.nextHop;
    if (b.length >= 16) return b.subarray(0, 16);
    if (b.length >= 4) return b.subarray(0, 4);
  }
  return undefined;
}

interface AddrRange {
  readonly afi: Afi;
  readonly addr: Uint8Array;
  readonly len: number;
}

function inRanges(ranges: readonly AddrRange[], a: Uint8Array | undefined): boolean {
  if (!a) return false;
  const afi = a.length === 4 ? AFI.IPv4 : a.length === 16 ? AFI.IPv6 : 0;
  return ranges.some((r) => r.afi === afi && sameLeadingBits(r.addr, a, r.len));
}

/** Addresses (as host prefixes) or prefixes. */
function addrRanges(c: Checker, path: string, v: unknown): AddrRange[] | undefined {
  const items = Array.isArray(v) ? v : [v];
  const out: AddrRange[] = [];
  const n0 = c.errors.length;
  items.forEach((it, i) => {
    const at = Array.isArray(v) ? `${path}[${i}]` : path;
    if (typeof it === 'string' && !it.includes('/')) {
      const a = parseAddr(it);
      if (!a) c.fail(at, 'an IPv4/IPv6 address or prefix', it);
      else out.push({ afi: a.length === 4 ? AFI.IPv4 : AFI.IPv6, addr: a, len: a.length * 8 });
    } else {
      const p = parseStrictPrefix(c, at, it);
      if (p) out.push(p);
    }
  });
  return c.errors.length > n0 ? undefined : out;
}

/** any / all / none of a pattern list, over the values a route carries. */
function communityClause<P, V>(
  c: Checker,
  path: string,
  v: unknown,
  parse: (s: string) => P | undefined,
  expected: string,
  matches: (p: P, v: V) => boolean,
  values: (attrs: readonly PathAttribute[]) => readonly V[],
): Matcher | undefined {
  const n0 = c.errors.length;
  const parseList = (at: string, l: unknown): P[] => {
    if (!Array.isArray(l)) {
      c.fail(at, `a list of ${expected}`, l);
      return [];
    }
    const out: P[] = [];
    l.forEach((s, i) => {
      const p = typeof s === 'string' ? parse(s) : undefined;
      if (p === undefined) c.fail(`${at}[${i}]`, expected, s);
      else out.push(p);
    });
    return out;
  };
  let any: P[] | undefined;
  let all: P[] = [];
  let none: P[] = [];
  if (Array.isArray(v)) any = parseList(path, v);
  else if (isRecord(v)) {
    checkKeys(c, path, v, ['any', 'all', 'none']);
    if (v.any !== undefined) any = parseList(`${path}.any`, v.any);
    if (v.all !== undefined) all = parseList(`${path}.all`, v.all);
    if (v.none !== undefined) none = parseList(`${path}.none`, v.none);
  } else {
    return c.fail(path, `a list of ${expected}, or { any, all, none } of such lists`, v);
  }
  if (c.errors.length > n0) return undefined;
  const has = (vals: readonly V[], p: P): boolean => vals.some((x) => matches(p, x));
  return (s) => {
    const vals = values(s.attrs);
    if (any && !any.some((p) => has(vals, p))) return false;
    if (!all.every((p) => has(vals, p))) return false;
    return !none.some((p) => has(vals, p));
  };
}

const stdValues = (attrs: readonly PathAttribute[]): readonly number[] =>
  findCode(attrs, 'communities', ATTR.COMMUNITIES)?.communities ?? [];
const largeValues = (
  attrs: readonly PathAttribute[],
): readonly (readonly [number, number, number])[] =>
  findCode(attrs, 'large-communities', ATTR.LARGE_COMMUNITY)?.communities ?? [];
const extValues = (attrs: readonly PathAttribute[]): readonly Uint8Array[] =>
  findCode(attrs, 'extended-communities', ATTR.EXTENDED_COMMUNITIES)?.communities ?? [];

export const STD_EXPECTED = 'a community like 65001:100, 65001:* or no-export';
export const LARGE_EXPECTED = 'a large community like 65001:1:2 (any part may be *)';
export const EXT_EXPECTED = 'an extended community like rt:65001:100 or soo:198.18.0.1:7';

/** Compile one `match` mapping at `path` into a list of conditions (all must hold). */
export function compileMatch(
  c: Checker,
  path: string,
  def: unknown,
  env: PolicyEnv,
): Matcher[] | undefined {
  if (def === undefined || def === null) return [];
  if (!isRecord(def))
    return c.fail(path, `a mapping of conditions (${MATCH_KEYS.join(', ')})`, def);
  checkKeys(c, path, def, MATCH_KEYS);
  const n0 = c.errors.length;
  const out: Matcher[] = [];
  const add = (m: Matcher | undefined): void => {
    if (m) out.push(m);
  };
  for (const key of MATCH_KEYS) {
    const v = def[key];
    if (v === undefined) continue;
    const at = `${path}.${key}`;
    switch (key) {
      case 'prefix-list': {
        let list: PrefixList | undefined;
        if (typeof v === 'string') {
          list = env.prefixLists.get(v);
          if (!list)
            c.fail(at, `the name of a list under prefix-lists (${names(env.prefixLists)})`, v);
        } else list = compilePrefixList(c, at, `${path}.prefix-list`, v);
        if (list) {
          const l = list;
          add((s) => prefixListPermits(l, s.route.prefix));
        }
        break;
      }
      case 'prefix-length': {
        const r = range(c, at, v, 0, 128);
        if (r) add((s) => s.route.prefix.len >= r[0] && s.route.prefix.len <= r[1]);
        break;
      }
      case 'family': {
        const f = oneOf(c, at, v, ['ipv4', 'ipv6'] as const);
        if (f) {
          const afi = f === 'ipv4' ? AFI.IPv4 : AFI.IPv6;
          add((s) => s.route.prefix.afi === afi);
        }
        break;
      }
      case 'as-path': {
        let list: AsPathList | undefined;
        if (typeof v === 'string') {
          list = env.asPathLists.get(v);
          if (!list)
            c.fail(at, `the name of a list under as-path-lists (${names(env.asPathLists)})`, v);
        } else list = compileAsPathList(c, at, `${path}.as-path`, v);
        if (list) {
          const l = list;
          add((s) => asPathListPermits(l, pathText(s)));
        }
        break;
      }
      case 'as-path-length': {
        const r = range(c, at, v, 0, 0xffff);
        if (r) {
          add((s) => {
            const n = asPathLength(routeAsPath(s.attrs));
            return n >= r[0] && n <= r[1];
          });
        }
        break;
      }
      case 'community':
        add(
          communityClause(
            c,
            at,
            v,
            (x) => parseCommunity(x, true),
            STD_EXPECTED,
            communityMatches,
            stdValues,
          ),
        );
        break;
      case 'large-community':
        add(
          communityClause(
            c,
            at,
            v,
            (x) => parseLargeCommunity(x, true),
            LARGE_EXPECTED,
            largeCommunityMatches,
            largeValues,
          ),
        );
        break;
      case 'ext-community':
        add(
          communityClause(
            c,
            at,
            v,
            (x) => parseExtCommunity(x, true),
            EXT_EXPECTED,
            extCommunityMatches,
            extValues,
          ),
        );
        break;
      case 'origin': {
        const items = Array.isArray(v) ? v : [v];
        const set = new Set<number>();
        items.forEach((o, i) => {
          const name = oneOf(c, Array.isArray(v) ? `${at}[${i}]` : at, o, [
            'igp',
            'egp',
            'incomplete',
          ] as const);
          if (name) set.add(ORIGIN_NAMES[name]);
        });
        add((s) => {
          const o = findCode(s.attrs, 'origin', ATTR.ORIGIN);
          return o !== undefined && set.has(o.origin);
        });
        break;
      }
      case 'next-hop': {
        const r = addrRanges(c, at, v);
        if (r) add((s) => inRanges(r, routeNextHop(s.attrs)));
        break;
      }
      case 'peer-address': {
        const r = addrRanges(c, at, v);
        if (r) add((s) => inRanges(r, s.route.peer.address));
        break;
      }
      case 'peer-asn': {
        const items = Array.isArray(v) ? v : [v];
        const set = new Set<number>();
        items.forEach((a, i) => {
          const n = intIn(c, Array.isArray(v) ? `${at}[${i}]` : at, a, 0, 0xffffffff, 'an ASN');
          if (n !== undefined) set.add(n);
        });
        add((s) => set.has(s.route.peer.asn));
        break;
      }
      case 'route-type': {
        const t = oneOf(c, at, v, ['ibgp', 'ebgp'] as const);
        if (t) {
          const ibgp = t === 'ibgp';
          add((s) => s.route.peer.ibgp === ibgp);
        }
        break;
      }
    }
  }
  return c.errors.length > n0 ? undefined : out;
}

function names(m: ReadonlyMap<string, unknown>): string {
  return m.size === 0 ? 'none are defined' : `defined: ${[...m.keys()].join(', ')}`;
}
