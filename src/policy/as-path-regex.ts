// AS-path regular expressions, in the syntax of Cisco / FRR `as-path access-list`.
//
// The regex is matched (unanchored, like theirs) against the path's text form:
//   AS_SEQUENCE          65001 65002          ASNs separated by one space
//   AS_SET               {65003,65004}        braces, commas, no spaces
//   AS_CONFED_SEQUENCE   (65010 65011)
//   AS_CONFED_SET        [65010,65011]
// segments separated by one space: `65001 65002 {65003,65004}`; the empty path is "".
// ASNs are plain decimal (asplain, RFC 5396). The path is the route's real path: for a
// 2-octet session, AS_PATH reconciled with AS4_PATH (RFC 6793 §4.2.3).
//
// Syntax: `_` matches one boundary (start, end, space, `{`, `}`, `,`, `(`, `)`, `[`, `]`),
// so `_65001_` matches 65001 anywhere but not 165001, and `^$` matches the empty path.
// Otherwise it is JavaScript regex syntax restricted to: digits, space, `. * + ? ^ $ | ( )`,
// bracket classes `[0-9]`, commas, braces, and the escapes `\d` or `\` before punctuation.
// No lookaround or back-references. `{n}`, `{n,}`, `{n,m}` right after a digit, `.`, `)`
// or `]` is a repetition; any other brace is literal, so `{65003,65004}` matches an AS_SET
// as written (escaping it as `\{` works too).
//
// Catastrophic backtracking (JS regexes backtrack: `(.*)*x` takes seconds on a path of
// five ASNs): patterns are at most 256 characters, and a repeated group (`*`, `+`,
// `{n,m}`) may not contain another unbounded repetition, except of digits (`[0-9]+`,
// `\d*`) in a group that also holds a `_`: the boundary pins where each repetition of
// the group can start, so `^65001(_[0-9]+)*$` is accepted while `(.*)*`, `([0-9]+ ?)*`
// and `((_1)*)*` are not. Alternation of overlapping branches inside a repeated group
// (`(_1|_1)*`) is not detected; such patterns are unusual.

import { AS_SEG, effectiveAsPath, type AsPathSegment, type PathAttribute } from '../wire/index.js';
import { checkKeys, isRecord, oneOf, type Checker } from './check.js';

export const MAX_AS_PATH_REGEX_LENGTH = 256;

const BOUNDARY = '(?:^|$|[ {},()\\[\\]])';

/** The text form of a path (see header). */
export function asPathText(segs: readonly AsPathSegment[]): string {
  let s = '';
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (i > 0) s += ' ';
    switch (seg.type) {
      case AS_SEG.AS_SET:
        s += '{' + seg.asns.join(',') + '}';
        break;
      case AS_SEG.AS_CONFED_SEQUENCE:
        s += '(' + seg.asns.join(' ') + ')';
        break;
      case AS_SEG.AS_CONFED_SET:
        s += '[' + seg.asns.join(',') + ']';
        break;
      default:
        s += seg.asns.join(' ');
    }
  }
  return s;
}

/** The real AS path of a route (AS4_PATH folded in when AS_PATH has 2-octet ASNs). */
export function routeAsPath(attrs: readonly PathAttribute[]): readonly AsPathSegment[] {
  let as4 = true;
  for (const a of attrs) if (a.kind === 'as-path' && a.code === 2) as4 = a.asnWidth === 4;
  return effectiveAsPath(attrs, as4).asPath;
}

/**
 * Translate an AS-path regex to a JS RegExp, or return why it is not accepted.
 */
export function asPathRegex(pattern: string): RegExp | string {
  if (pattern.length > MAX_AS_PATH_REGEX_LENGTH) {
    return `at most ${MAX_AS_PATH_REGEX_LENGTH} characters`;
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return 'no lone backslash at the end';
      if (next !== 'd' && !/[^\w\s]/.test(next)) {
        return `\\d or a backslash before punctuation, not \\${next}`;
      }
      out += ch + next;
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      else if (!/[0-9^-]/.test(ch))
        return `only digits, ^ and - inside [...], not ${JSON.stringify(ch)}`;
      out += ch;
      continue;
    }
    if (ch === '{') {
      // A repetition only right after an ASN-ish atom; anywhere else a literal brace.
      const rep = /^\{\d+(,\d*)?\}/.exec(pattern.slice(i));
      if (rep && i > 0 && /[0-9.)\]]/.test(pattern[i - 1]!)) {
        out += rep[0];
        i += rep[0].length - 1;
      } else out += '\\{';
    } else if (ch === '}') out += '\\}';
    else if (ch === '_') out += BOUNDARY;
    else if (ch === '[') {
      inClass = true;
      out += ch;
    } else if (/[0-9 .*+?^$|(),\]]/.test(ch)) out += ch;
    else
      return `only digits, space, _ and . * + ? ^ $ | ( ) [ ] { } , \\, not ${JSON.stringify(ch)}`;
  }
  if (inClass) return 'a closing ] for every [';
  const nested = nestedRepetition(pattern);
  if (nested) return nested;
  try {
    // No `u` flag: it would refuse escapes such as `\,` that the syntax above allows.
    return new RegExp(out);
  } catch (e) {
    return `a valid regular expression (${(e as Error).message})`;
  }
}

interface GroupScan {
  /** An unbounded repetition of something other than digits (or of a repeated group). */
  unsafe: boolean;
  /** An unbounded repetition of digits. */
  digits: boolean;
  /** A `_` that is not itself repeated. */
  boundary: boolean;
}

/** Why `pattern` risks exponential backtracking (see the header), or undefined. */
function nestedRepetition(pattern: string): string | undefined {
  const stack: GroupScan[] = [{ unsafe: false, digits: false, boundary: false }];
  let atom: 'digit' | 'other' | 'boundary' | 'none' = 'none'; // what a repetition applies to
  let closed: GroupScan | undefined; // the group just closed, when the last atom is a group
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const top = stack[stack.length - 1]!;
    const rep = /^(\*|\+|\{\d+(,\d*)?\})/.exec(pattern.slice(i));
    const repeats = rep !== null && (ch !== '{' || (i > 0 && /[0-9.)\]]/.test(pattern[i - 1]!)));
    if (repeats) {
      const unbounded = ch !== '{' || /,\}$/.test(rep[0]);
      if (closed) {
        if (closed.unsafe || (closed.digits && !closed.boundary)) {
          return 'no repetition of a group that itself repeats something unboundedly (exponential backtracking), e.g. (.*)* or ([0-9]+ ?)*; repeat digits only next to a _ as in (_[0-9]+)*';
        }
        if (closed.digits || unbounded) top.unsafe = true;
      } else if (unbounded) {
        if (atom === 'digit') top.digits = true;
        else top.unsafe = true;
      }
      i += rep[0].length - 1;
      closed = undefined;
      atom = 'none';
      continue;
    }
    if (closed) {
      // The group was not repeated: what it holds counts for the enclosing group.
      top.unsafe ||= closed.unsafe;
      top.digits ||= closed.digits;
      top.boundary ||= closed.boundary;
      closed = undefined;
    }
    if (ch === '\\') {
      atom = pattern[i + 1] === 'd' ? 'digit' : 'other';
      i++;
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i);
      atom = pattern[i + 1] === '^' ? 'other' : 'digit';
      i = end;
    } else if (ch === '(') {
      stack.push({ unsafe: false, digits: false, boundary: false });
      atom = 'none';
    } else if (ch === ')' && stack.length > 1) {
      closed = stack.pop()!;
      atom = 'none';
    } else if (ch === '_') {
      atom = 'boundary';
      if (!/[*+?{]/.test(pattern[i + 1] ?? '')) top.boundary = true;
    } else if (/[0-9]/.test(ch)) atom = 'digit';
    else if (ch === '|' || ch === '^' || ch === '$' || ch === '?') atom = 'none';
    else atom = 'other';
  }
  return undefined;
}

export interface AsPathListEntry {
  readonly regex: RegExp;
  readonly source: string;
  readonly permit: boolean;
}

export interface AsPathList {
  readonly name: string;
  readonly entries: readonly AsPathListEntry[];
}

/** First matching entry decides; no match denies (like FRR as-path access-lists). */
export function asPathListPermits(list: AsPathList, text: string): boolean {
  for (const e of list.entries) if (e.regex.test(text)) return e.permit;
  return false;
}

export function compileAsPathList(
  c: Checker,
  path: string,
  name: string,
  def: unknown,
): AsPathList | undefined {
  if (!Array.isArray(def)) return c.fail(path, 'a list of AS-path regexes', def);
  const n0 = c.errors.length;
  const entries: AsPathListEntry[] = [];
  def.forEach((d, i) => {
    const at = `${path}[${i}]`;
    let source: unknown = d;
    let permit = true;
    if (isRecord(d)) {
      checkKeys(c, at, d, ['regex', 'action']);
      source = d.regex;
      if (d.action !== undefined) {
        permit = oneOf(c, `${at}.action`, d.action, ['permit', 'deny'] as const) !== 'deny';
      }
    }
    const where = isRecord(d) ? `${at}.regex` : at;
    if (typeof source !== 'string') {
      c.fail(where, 'an AS-path regex such as "^65001_" (or { regex, action })', source);
      return;
    }
    const re = asPathRegex(source);
    if (typeof re === 'string') c.fail(where, `an AS-path regex: ${re}`, source);
    else entries.push({ regex: re, source, permit });
  });
  return c.errors.length > n0 ? undefined : { name, entries };
}
