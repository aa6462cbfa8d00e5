// NOTIFICATION message (RFC 4271 §4.5, §6) with the code/subcode registries of RFC 4271,
// RFC 4486 / RFC 8203 / RFC 9003 (Cease), RFC 6608 (FSM), RFC 7313 (ROUTE-REFRESH), and
// the Shutdown Communication of RFC 9003 §2 (which obsoletes RFC 8203; same layout,
// up to 255 octets instead of 128).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Error code    | Error subcode |   Data (variable)             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import type { Writer } from '../lib/bytes.js';
import { ERR, ERR_CEASE } from './constants.js';
import type { BgpError } from './errors.js';
import type { NotificationMessage } from './types.js';

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure', // deprecated (RFC 4271 Appendix A)
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    8: 'Deprecated',
    9: 'Deprecated',
    10: 'Deprecated',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop', // deprecated
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    0: 'Unspecified Error',
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

export function notificationCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Unknown Error Code ${code}`;
}

export function notificationSubcodeName(code: number, subcode: number): string | undefined {
  return SUBCODE_NAMES[code]?.[subcode];
}

/** "Cease / Administrative Shutdown"; subcode 0 of a code without subcodes gives the code name. */
export function describeNotification(code: number, subcode: number): string {
  const c = notificationCodeName(code);
  const s = notificationSubcodeName(code, subcode);
  if (s) return `${c} / ${s}`;
  if (subcode === 0) return c;
  return `${c} / Unknown Subcode ${subcode}`;
}

/** NOTIFICATION body: code, subcode, data (the rest). Length ≥ 2 is ensured by the header. */
export function decodeNotification(
  buf: Uint8Array,
  start: number,
  end: number,
): NotificationMessage {
  return {
    type: 3,
    code: buf[start]!,
    subcode: buf[start + 1]!,
    data: buf.subarray(start + 2, end),
  };
}

export function encodeNotification(w: Writer, m: NotificationMessage): void {
  w.u8(m.code).u8(m.subcode).bytes(m.data);
}

/** The NOTIFICATION to send for a session-reset error. */
export function notificationFromError(e: BgpError): NotificationMessage {
  return { type: 3, code: e.code, subcode: e.subcode, data: e.data };
}

/**
 * The Shutdown Communication of a Cease / Administrative Shutdown or Reset (RFC 9003 §2):
 * a length octet then that many octets of UTF-8. Returns undefined when the notification
 * carries none, or `{ error }` when it is malformed (length overruns, or invalid UTF-8).
 */
export function decodeShutdownCommunication(
  m: Pick<NotificationMessage, 'code' | 'subcode' | 'data'>,
): { text: string; rest: Uint8Array } | { error: string } | undefined {
  if (
    m.code !== ERR.CEASE ||
    (m.subcode !== ERR_CEASE.ADMINISTRATIVE_SHUTDOWN &&
      m.subcode !== ERR_CEASE.ADMINISTRATIVE_RESET)
  ) {
    return undefined;
  }
  if (m.data.length === 0) return undefined;
  const n = m.data[0]!;
  if (n + 1 > m.data.length)
    return { error: `length ${n} overruns the ${m.data.length - 1} octet(s) of data` };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(m.data.subarray(1, 1 + n));
    return { text, rest: m.data.subarray(1 + n) };
  } catch {
    return { error: 'not valid UTF-8' };
  }
}

/** Data octets for a Cease with a Shutdown Communication (truncated to 255 octets of UTF-8). */
export function encodeShutdownCommunication(text: string): Uint8Array {
  let b = new TextEncoder().encode(text);
  if (b.length > 255) {
    let cut = 255;
    while (cut > 0 && (b[cut]! & 0xc0) === 0x80) cut--; // do not split a UTF-8 sequence
    b = b.subarray(0, cut);
  }
  const out = new Uint8Array(b.length + 1);
  out[0] = b.length;
  out.set(b, 1);
  return out;
}
