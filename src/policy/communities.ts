// Community patterns for matching, adding and removing: standard (RFC 1997), large
// (RFC 8092) and the route-target / site-of-origin extended communities (RFC 4360 §5,
// RFC 5668).
//
// Text forms:
//   standard   65001:100, 65001:*, *:100, or a well-known name (no-export, no-advertise,
//              no-export-subconfed (alias local-as), nopeer, blackhole, graceful-shutdown,
//              accept-own, llgr-stale, no-llgr)
//   large      65001:1:2, with * in any position
//   extended   rt:ADMIN:VALUE or soo:ADMIN:VALUE, ADMIN an ASN or an IPv4 address, either
//              part may be *. ADMIN up to 65535 with VALUE up to 2^32-1 is the 2-octet-AS
//              type (0x00); a larger ASN is the 4-octet-AS type (0x02, VALUE up to
//              65535); an address is the IPv4 type (0x01, VALUE up to 65535). A numeric
//              ADMIN up to 65535 also matches the 4-octet-AS encoding of the same
//              numbers, since implementations differ in which one they send.
// A pattern with a * matches; adding one is an error (there is nothing concrete to add).

import { parseIPv4 } from '../lib/ip.js';
import { WELL_KNOWN_COMMUNITY } from '../wire/index.js';

type Part = number | null; // null: wildcard

export interface CommunityPattern {
  readonly hi: Part;
  readonly lo: Part;
  readonly text: string;
}

export interface LargeCommunityPattern {
  readonly parts: readonly [Part, Part, Part];
  readonly text: string;
}

export interface ExtCommunityPattern {
  readonly subtype: number; // 0x02 route target, 0x03 route origin
  /** ASN, or IPv4 address as a 32-bit number; null: any. */
  readonly admin: Part;
  readonly adminIsAddress: boolean;
  readonly value: Part;
  readonly text: string;
}

export const COMMUNITY_NAMES: Readonly<Record<string, number>> = {
  'graceful-shutdown': WELL_KNOWN_COMMUNITY.GRACEFUL_SHUTDOWN,
  'accept-own': 0xffff0001, // RFC 7611
  'llgr-stale': 0xffff0006, // RFC 9494
  'no-llgr': 0xffff0007, // RFC 9494
  blackhole: WELL_KNOWN_COMMUNITY.BLACKHOLE,
  'no-export': WELL_KNOWN_COMMUNITY.NO_EXPORT,
  'no-advertise': WELL_KNOWN_COMMUNITY.NO_ADVERTISE,
  'no-export-subconfed': WELL_KNOWN_COMMUNITY.NO_EXPORT_SUBCONFED,
  'local-as': WELL_KNOWN_COMMUNITY.NO_EXPORT_SUBCONFED,
  nopeer: WELL_KNOWN_COMMUNITY.NOPEER,
};

function part(s: string, max: number, wildcard: boolean): Part | undefined {
  if (s === '*') return wildcard ? null : undefined;
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/** Parse a standard community pattern; `wildcard` allows `*`. */
export function parseCommunity(s: string, wildcard: boolean): CommunityPattern | undefined {
  const named = COMMUNITY_NAMES[s.toLowerCase()];
  if (named !== undefined) return { hi: named >>> 16, lo: named & 0xffff, text: s };
  const m = /^([^:]+):([^:]+)$/.exec(s);
  if (!m) return undefined;
  const hi = part(m[1]!, 0xffff, wildcard);
  const lo = part(m[2]!, 0xffff, wildcard);
  if (hi === undefined || lo === undefined) return undefined;
  return { hi, lo, text: s };
}

export function communityMatches(p: CommunityPattern, c: number): boolean {
  return (p.hi === null || p.hi === c >>> 16) && (p.lo === null || p.lo === (c & 0xffff));
}

/** The 32-bit value of a concrete pattern. */
export function communityValue(p: CommunityPattern): number {
  return (((p.hi ?? 0) << 16) | (p.lo ?? 0)) >>> 0;
}

export function parseLargeCommunity(
  s: string,
  wildcard: boolean,
): LargeCommunityPattern | undefined {
  const m = /^([^:]+):([^:]+):([^:]+)$/.exec(s);
  if (!m) return undefined;
  const a = part(m[1]!, 0xffffffff, wildcard);
  const b = part(m[2]!, 0xffffffff, wildcard);
  const c = part(m[3]!, 0xffffffff, wildcard);
  if (a === undefined || b === undefined || c === undefined) return undefined;
  return { parts: [a, b, c], text: s };
}

export function largeCommunityMatches(
  p: LargeCommunityPattern,
  c: readonly [number, number, number],
): boolean {
  const [a, b, d] = p.parts;
  return (a === null || a === c[0]) && (b === null || b === c[1]) && (d === null || d === c[2]);
}

export function largeCommunityValue(p: LargeCommunityPattern): [number, number, number] {
  return [p.parts[0] ?? 0, p.parts[1] ?? 0, p.parts[2] ?? 0];
}

const EXT_SUBTYPE: Readonly<Record<string, number>> = { rt: 0x02, soo: 0x03 };
const EXT_TYPE = { AS2: 0x00, IPV4: 0x01, AS4: 0x02 } as const;

export function parseExtCommunity(s: string, wildcard: boolean): ExtCommunityPattern | undefined {
  const m = /^([a-z]+):([^:]+):([^:]+)$/.exec(s.toLowerCase());
  if (!m) return undefined;
  const subtype = EXT_SUBTYPE[m[1]!];
  if (subtype === undefined) return undefined;
  let admin: Part | undefined;
  let adminIsAddress = false;
  if (m[2]!.includes('.')) {
    const ip = parseIPv4(m[2]!);
    if (!ip) return undefined;
    admin = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
    adminIsAddress = true;
  } else admin = part(m[2]!, 0xffffffff, wildcard);
  if (admin === undefined) return undefined;
  // The value is 4 octets only with a 2-octet administrator.
  const wide = !adminIsAddress && admin !== null && admin <= 0xffff;
  const value = part(m[3]!, wide || admin === null ? 0xffffffff : 0xffff, wildcard);
  if (value === undefined) return undefined;
  return { subtype, admin, adminIsAddress, value, text: s };
}

const u32At = (b: Uint8Array, p: number): number =>
  ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
const u16At = (b: Uint8Array, p: number): number => (b[p]! << 8) | b[p + 1]!;

export function extCommunityMatches(p: ExtCommunityPattern, c: Uint8Array): boolean {
  if (c.length !== 8 || c[1] !== p.subtype) return false;
  let admin: number;
  let value: number;
  switch (c[0]) {
    case EXT_TYPE.AS2:
      if (p.adminIsAddress) return false;
      admin = u16At(c, 2);
      value = u32At(c, 4);
      break;
    case EXT_TYPE.AS4:
      if (p.adminIsAddress) return false;
      admin = u32At(c, 2);
      value = u16At(c, 6);
      break;
    case EXT_TYPE.IPV4:
      if (!p.adminIsAddress && p.admin !== null) return false;
      admin = u32At(c, 2);
      value = u16At(c, 6);
      break;
    default:
      return false;
  }
  return (p.admin === null || p.admin === admin) && (p.value === null || p.value === value);
}

/** The 8 octets of a concrete pattern. */
export function extCommunityValue(p: ExtCommunityPattern): Uint8Array {
  const b = new Uint8Array(8);
  const admin = p.admin ?? 0;
  const value = p.value ?? 0;
  const dv = new DataView(b.buffer);
  b[1] = p.subtype;
  if (!p.adminIsAddress && admin <= 0xffff) {
    b[0] = EXT_TYPE.AS2;
    dv.setUint16(2, admin);
    dv.setUint32(4, value);
  } else {
    b[0] = p.adminIsAddress ? EXT_TYPE.IPV4 : EXT_TYPE.AS4;
    dv.setUint32(2, admin);
    dv.setUint16(6, value);
  }
  return b;
}
