// Term actions: each edits the evaluation state's attribute array copy-on-write (edit.ts).
//
// - set-med `+n` / `-n` is relative to the route's MED, an absent MED counting as 0, and
//   saturates at 0 and 2^32-1 (as FRR's `set metric +n` does).
// - add-* appends values the route does not carry yet, after the existing ones, in the
//   order written; remove-* deletes every value matching any pattern (wildcards allowed);
//   set-* replaces the whole list (an empty list removes the attribute).
// - set-next-hop `self` only records the marker (PolicyResult.nextHop); an address is also
//   written into NEXT_HOP for IPv4 routes, or into MP_REACH_NLRI's next-hop field when the
//   route carries one (replacing a global + link-local pair by the one address).
// - prepend `n` prepends our own ASN n times; `{ asn, count }` a given ASN (edit.ts).

import { AFI, parseAddr } from '../lib/ip.js';
import { bytesEqual } from '../lib/bytes.js';
import { ATTR, type PathAttribute } from '../wire/index.js';
import { checkKeys, intIn, isRecord, oneOf, type Checker } from './check.js';
import {
  communityMatches,
  communityValue,
  extCommunityMatches,
  extCommunityValue,
  largeCommunityMatches,
  largeCommunityValue,
  parseCommunity,
  parseExtCommunity,
  parseLargeCommunity,
} from './communities.js';
import {
  findCode,
  prependAsn,
  putAttribute,
  setExtCommunities,
  setLargeCommunities,
  setLocalPref,
  setMed,
  setNextHopAttr,
  setOrigin,
  setStandardCommunities,
} from './edit.js';
import {
  EXT_EXPECTED,
  LARGE_EXPECTED,
  ORIGIN_NAMES,
  STD_EXPECTED,
  type EvalState,
} from './match.js';

export type Action = (s: EvalState) => void;

export const ACTION_KEYS = [
  'set-local-pref',
  'set-med',
  'set-origin',
  'set-next-hop',
  'prepend',
  'add-community',
  'remove-community',
  'set-community',
  'add-large-community',
  'remove-large-community',
  'set-large-community',
  'add-ext-community',
  'remove-ext-community',
  'set-ext-community',
] as const;
type ActionKey = (typeof ACTION_KEYS)[number];

const U32 = 0xffffffff;

/** A compiled `then` list: the actions, and `accept` / `reject` if the list ends with one. */
export interface CompiledThen {
  readonly actions: readonly Action[];
  readonly final?: 'accept' | 'reject';
}

export function compileThen(c: Checker, path: string, def: unknown): CompiledThen | undefined {
  if (def === undefined || def === null) return { actions: [] };
  if (!Array.isArray(def)) {
    return c.fail(
      path,
      `a list of actions (accept, reject, or one of ${ACTION_KEYS.join(', ')})`,
      def,
    );
  }
  const n0 = c.errors.length;
  const actions: Action[] = [];
  let final: 'accept' | 'reject' | undefined;
  def.forEach((d, i) => {
    const at = `${path}[${i}]`;
    if (d === 'accept' || d === 'reject') {
      if (i !== def.length - 1)
        c.fail(at, `${d} only as the last action (nothing after it would run)`, d);
      final = d;
      return;
    }
    if (!isRecord(d) || Object.keys(d).length !== 1) {
      c.fail(at, `accept, reject, or a mapping with one key (${ACTION_KEYS.join(', ')})`, d);
      return;
    }
    const key = Object.keys(d)[0]!;
    if (!(ACTION_KEYS as readonly string[]).includes(key)) {
      c.fail(`${at}.${key}`, `one of the actions accept, reject, ${ACTION_KEYS.join(', ')}`);
      return;
    }
    const a = compileAction(c, `${at}.${key}`, key as ActionKey, d[key]);
    if (a) actions.push(a);
  });
  if (c.errors.length > n0) return undefined;
  return final ? { actions, final } : { actions };
}

function compileAction(c: Checker, at: string, key: ActionKey, v: unknown): Action | undefined {
  switch (key) {
    case 'set-local-pref': {
      const n = intIn(c, at, v, 0, U32);
      return n === undefined ? undefined : (s) => void (s.attrs = setLocalPref(s.attrs, n));
    }
    case 'set-med':
      return compileMed(c, at, v);
    case 'set-origin': {
      const o = oneOf(c, at, v, ['igp', 'egp', 'incomplete'] as const);
      if (!o) return undefined;
      const code = ORIGIN_NAMES[o];
      return (s) => void (s.attrs = setOrigin(s.attrs, code));
    }
    case 'set-next-hop':
      return compileNextHop(c, at, v);
    case 'prepend':
      return compilePrepend(c, at, v);
    case 'add-community':
    case 'remove-community':
    case 'set-community': {
      const ps = patterns(
        c,
        at,
        v,
        (x) => parseCommunity(x, key === 'remove-community'),
        STD_EXPECTED,
      );
      if (!ps) return undefined;
      const values = key === 'remove-community' ? [] : ps.map(communityValue);
      const get = (s: EvalState): readonly number[] =>
        findCode(s.attrs, 'communities', ATTR.COMMUNITIES)?.communities ?? [];
      return listAction(
        key,
        get,
        setStandardCommunities,
        values,
        (x) => ps.some((p) => communityMatches(p, x)),
        (a, b) => a === b,
      );
    }
    case 'add-large-community':
    case 'remove-large-community':
    case 'set-large-community': {
      const wild = key === 'remove-large-community';
      const ps = patterns(c, at, v, (x) => parseLargeCommunity(x, wild), LARGE_EXPECTED);
      if (!ps) return undefined;
      const values = wild ? [] : ps.map(largeCommunityValue);
      const get = (s: EvalState): readonly (readonly [number, number, number])[] =>
        findCode(s.attrs, 'large-communities', ATTR.LARGE_COMMUNITY)?.communities ?? [];
      return listAction(
        key,
        get,
        setLargeCommunities,
        values,
        (x) => ps.some((p) => largeCommunityMatches(p, x)),
        (a, b) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2],
      );
    }
    case 'add-ext-community':
    case 'remove-ext-community':
    case 'set-ext-community': {
      const wild = key === 'remove-ext-community';
      const ps = patterns(c, at, v, (x) => parseExtCommunity(x, wild), EXT_EXPECTED);
      if (!ps) return undefined;
      const values = wild ? [] : ps.map(extCommunityValue);
      const get = (s: EvalState): readonly Uint8Array[] =>
        findCode(s.attrs, 'extended-communities', ATTR.EXTENDED_COMMUNITIES)?.communities ?? [];
      return listAction(
        key,
        get,
        setExtCommunities,
        values,
        (x) => ps.some((p) => extCommunityMatches(p, x)),
        bytesEqual,
      );
    }
  }
}

function patterns<P extends { readonly text: string }>(
  c: Checker,
  at: string,
  v: unknown,
  parse: (s: string) => P | undefined,
  expected: string,
): P[] | undefined {
  if (!Array.isArray(v)) return c.fail(at, `a list of ${expected}`, v);
  const n0 = c.errors.length;
  const out: P[] = [];
  v.forEach((x, i) => {
    const p = typeof x === 'string' ? parse(x) : undefined;
    if (p) out.push(p);
    else if (typeof x === 'string' && x.includes('*') && parse(x.replace(/\*/g, '0'))) {
      c.fail(`${at}[${i}]`, `a concrete value (wildcards only in matches and remove-*)`, x);
    } else c.fail(`${at}[${i}]`, expected, x);
  });
  return c.errors.length > n0 ? undefined : out;
}

/** add / remove / set over one community list attribute. */
function listAction<V>(
  key: string,
  get: (s: EvalState) => readonly V[],
  put: (attrs: readonly PathAttribute[], values: readonly V[]) => readonly PathAttribute[],
  values: readonly V[],
  matchesRemove: (v: V) => boolean,
  eq: (a: V, b: V) => boolean,
): Action {
  if (key.startsWith('set-')) {
    const uniq = values.filter((v, i) => values.findIndex((w) => eq(v, w)) === i);
    return (s) => void (s.attrs = put(s.attrs, uniq));
  }
  if (key.startsWith('remove-')) {
    return (s) => {
      const cur = get(s);
      const kept = cur.filter((v) => !matchesRemove(v));
      if (kept.length !== cur.length) s.attrs = put(s.attrs, kept);
    };
  }
  return (s) => {
    const cur = get(s);
    const next = cur.slice();
    for (const v of values) if (!next.some((w) => eq(v, w))) next.push(v);
    if (next.length !== cur.length) s.attrs = put(s.attrs, next);
  };
}

function compileMed(c: Checker, at: string, v: unknown): Action | undefined {
  if (typeof v === 'number') {
    const n = intIn(c, at, v, 0, U32);
    return n === undefined ? undefined : (s) => void (s.attrs = setMed(s.attrs, n));
  }
  const m = typeof v === 'string' ? /^([+-])(\d{1,10})$/.exec(v) : null;
  if (!m || Number(m[2]) > U32) {
    return c.fail(at, 'an integer from 0 to 4294967295, or +n / -n to add or subtract', v);
  }
  const delta = (m[1] === '-' ? -1 : 1) * Number(m[2]);
  return (s) => {
    const cur = findCode(s.attrs, 'med', ATTR.MULTI_EXIT_DISC)?.med ?? 0;
    s.attrs = setMed(s.attrs, Math.min(U32, Math.max(0, cur + delta)));
  };
}

function compileNextHop(c: Checker, at: string, v: unknown): Action | undefined {
  if (v === 'self') return (s) => void (s.nextHop = 'self');
  const addr = typeof v === 'string' ? parseAddr(v) : undefined;
  if (!addr) return c.fail(at, 'an IPv4/IPv6 address or self', v);
  return (s) => {
    s.nextHop = addr;
    const mp = s.attrs.find((a) => a.kind === 'mp-reach');
    if (addr.length === 4 && (s.route.prefix.afi === AFI.IPv4 || !mp)) {
      s.attrs = setNextHopAttr(s.attrs, addr);
    } else if (mp && mp.kind === 'mp-reach') {
      s.attrs = putAttribute(s.attrs, { ...mp, nextHop: addr });
    }
  };
}

function compilePrepend(c: Checker, at: string, v: unknown): Action | undefined {
  if (typeof v === 'number') {
    const n = intIn(c, at, v, 1, 255, 'a count');
    return n === undefined ? undefined : (s) => void (s.attrs = prependAsn(s.attrs, s.localAsn, n));
  }
  if (!isRecord(v)) return c.fail(at, 'a count of our own ASN, or { asn, count }', v);
  checkKeys(c, at, v, ['asn', 'count']);
  const asn = intIn(c, `${at}.asn`, v.asn, 1, U32, 'an ASN');
  const count = v.count === undefined ? 1 : intIn(c, `${at}.count`, v.count, 1, 255, 'a count');
  if (asn === undefined || count === undefined) return undefined;
  return (s) => void (s.attrs = prependAsn(s.attrs, asn, count));
}
