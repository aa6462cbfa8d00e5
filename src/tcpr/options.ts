// TCP options as TCPR handles them (spec §2.1; RFC 9293 §3.2, RFC 7323, RFC 2018).
// All functions work in place on an option area — a whole array, or the range
// [start, end) of a packet the filter rewrites in place — and never change its length, so
// the data offset stays put. The caller keeps the checksum right (it sums the area before
// and after a rewrite).
//
// Behaviour:
// - `scanOptions` walks the options until EOL or the end, allocation-free: malformed or
//   not, and whether there is anything to NOP out or any SACK. An option length of 0 or
//   1, or one that runs past the header, makes the whole segment malformed: the caller
//   drops it (we cannot tell what the rest of the area holds).
// - `sanitizeOptions` / `nopUnknownOptions` keep NOP, MSS, window scale, SACK-permitted,
//   SACK and timestamps, and overwrite every other option with NOP bytes: TFO, MPTCP,
//   TCP-MD5 (19), TCP-AO (29) and experiments. MD5/AO are stripped because TCPR rewrites
//   seq/ack, which would break their signatures anyway (E11). A kept option with a length
//   its RFC does not allow is NOPed out too (a receiver would ignore it).
// - `readSynOptions` reads MSS, window scale and SACK-permitted (learned from SYNs).
// - `shiftSackBlocks` adds a delta to every SACK edge (peer→app: edges refer to app data).
// - `stripSack` NOPs out SACK blocks (app→peer while not done reading, decision E5).
// - `synAckOptions` builds the fake SYN-ACK's options: MSS, window scale, SACK-permitted,
//   never timestamps (E4), padded with EOL to a multiple of 4.

import type { MalformedReason } from './packet.js';

export const TCP_OPT = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERM: 4,
  SACK: 5,
  TIMESTAMP: 8,
  MD5: 19,
  AO: 29,
} as const;

/** The only lengths each kept option may have. SACK: 2 + 8n with 1 ≤ n ≤ 4. */
function lengthAllowed(kind: number, len: number): boolean {
  switch (kind) {
    case TCP_OPT.MSS:
      return len === 4;
    case TCP_OPT.WSCALE:
      return len === 3;
    case TCP_OPT.SACK_PERM:
      return len === 2;
    case TCP_OPT.TIMESTAMP:
      return len === 10;
    case TCP_OPT.SACK:
      return len >= 10 && len <= 34 && (len - 2) % 8 === 0;
    default:
      return false;
  }
}

export type SanitizeResult =
  | { ok: true; changed: boolean }
  | { ok: false; reason: Extract<MalformedReason, 'tcp-option-length' | 'tcp-option-overrun'> };

/** What `scanOptions` found: bit flags, or a negative code for a malformed area. */
export const OPT_SCAN = {
  /** An option TCPR does not keep, or a kept one with a wrong length: to be NOPed out. */
  UNKNOWN: 1,
  /** At least one (well-formed) SACK option. */
  SACK: 2,
  /** Malformed: an option length of 0 or 1 (`tcp-option-length`). */
  BAD_LENGTH: -1,
  /** Malformed: an option runs past the end of the area (`tcp-option-overrun`). */
  OVERRUN: -2,
} as const;

/**
 * Validates the option area b[start, end) and says what the rewrites below would find
 * (OPT_SCAN flags), without changing anything or allocating: the packet path runs it on
 * every segment and calls the rewrites only when a flag says they have work.
 */
export function scanOptions(b: Uint8Array, start: number, end: number): number {
  let found = 0;
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCP_OPT.EOL) break;
    if (kind === TCP_OPT.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return OPT_SCAN.OVERRUN;
    const len = b[i + 1]!;
    if (len < 2) return OPT_SCAN.BAD_LENGTH;
    if (i + len > end) return OPT_SCAN.OVERRUN;
    if (!lengthAllowed(kind, len)) found |= OPT_SCAN.UNKNOWN;
    else if (kind === TCP_OPT.SACK) found |= OPT_SCAN.SACK;
    i += len;
  }
  return found;
}

/** The malformed-packet reason of a negative scanOptions result. */
export function scanReason(
  scan: number,
): Extract<MalformedReason, 'tcp-option-length' | 'tcp-option-overrun'> {
  return scan === OPT_SCAN.BAD_LENGTH ? 'tcp-option-length' : 'tcp-option-overrun';
}

/**
 * Calls visit(kind, offset, length) for each option of b[start, end) other than NOP/EOL.
 * Only for areas scanOptions accepted (it stops at anything malformed).
 */
function walk(
  b: Uint8Array,
  start: number,
  end: number,
  visit: (kind: number, at: number, len: number) => void,
): void {
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCP_OPT.EOL) break;
    if (kind === TCP_OPT.NOP) {
      i++;
      continue;
    }
    const len = i + 1 < end ? b[i + 1]! : 0;
    if (len < 2 || i + len > end) break;
    visit(kind, i, len);
    i += len;
  }
}

/** NOPs out every option TCPR does not keep in b[start, end) (validated); true if any. */
export function nopUnknownOptions(b: Uint8Array, start = 0, end = b.length): boolean {
  let changed = false;
  walk(b, start, end, (kind, at, len) => {
    if (lengthAllowed(kind, len)) return;
    b.fill(TCP_OPT.NOP, at, at + len);
    changed = true;
  });
  return changed;
}

/** NOPs out every option TCPR does not keep. Validates the whole area first. */
export function sanitizeOptions(o: Uint8Array): SanitizeResult {
  const scan = scanOptions(o, 0, o.length);
  if (scan < 0) return { ok: false, reason: scanReason(scan) };
  return { ok: true, changed: (scan & OPT_SCAN.UNKNOWN) !== 0 && nopUnknownOptions(o) };
}

export interface SynOptions {
  mss?: number;
  /** Window scale shift as sent (not clamped). */
  ws?: number;
  sackPermitted: boolean;
}

/** MSS, window scale and SACK-permitted from sanitised options in o[start, end). */
export function readSynOptions(o: Uint8Array, start = 0, end = o.length): SynOptions {
  const out: SynOptions = { sackPermitted: false };
  walk(o, start, end, (kind, at) => {
    if (kind === TCP_OPT.MSS) out.mss = (o[at + 2]! << 8) | o[at + 3]!;
    else if (kind === TCP_OPT.WSCALE) out.ws = o[at + 2]!;
    else if (kind === TCP_OPT.SACK_PERM) out.sackPermitted = true;
  });
  return out;
}

/** Adds `delta` (mod 2^32) to every left and right edge of every SACK block in o[start, end). */
export function shiftSackBlocks(o: Uint8Array, delta: number, start = 0, end = o.length): boolean {
  if (delta === 0) return false;
  let changed = false;
  walk(o, start, end, (kind, at, len) => {
    if (kind !== TCP_OPT.SACK) return;
    for (let e = at + 2; e + 4 <= at + len; e += 4) {
      const v = ((o[e]! << 24) | (o[e + 1]! << 16) | (o[e + 2]! << 8) | o[e + 3]!) >>> 0;
      const w = (v + delta) >>> 0;
      o[e] = w >>> 24;
      o[e + 1] = (w >>> 16) & 0xff;
      o[e + 2] = (w >>> 8) & 0xff;
      o[e + 3] = w & 0xff;
      changed = true;
    }
  });
  return changed;
}

/** NOPs out all SACK options in o[start, end); true when there were any. */
export function stripSack(o: Uint8Array, start = 0, end = o.length): boolean {
  let changed = false;
  walk(o, start, end, (kind, at, len) => {
    if (kind !== TCP_OPT.SACK) return;
    o.fill(TCP_OPT.NOP, at, at + len);
    changed = true;
  });
  return changed;
}

/** Options of the fake SYN-ACK: MSS, WS and SACK-permitted when known; EOL padding. */
export function synAckOptions(opts: {
  mss?: number;
  ws?: number;
  sackPermitted?: boolean;
}): Uint8Array {
  const bytes: number[] = [];
  if (opts.mss !== undefined) bytes.push(TCP_OPT.MSS, 4, opts.mss >> 8, opts.mss & 0xff);
  if (opts.ws !== undefined) bytes.push(TCP_OPT.WSCALE, 3, opts.ws);
  if (opts.sackPermitted) bytes.push(TCP_OPT.SACK_PERM, 2);
  while (bytes.length % 4 !== 0) bytes.push(TCP_OPT.EOL);
  return Uint8Array.from(bytes);
}
