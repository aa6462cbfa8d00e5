// Helpers for the codec's own tests: hex literals and message framing by hand.

import { fromHex } from '../lib/bytes.js';

/** Bytes from hex text; spaces, newlines and `|` separators are ignored. */
export const hex = (s: string): Uint8Array => fromHex(s);

/** A whole message: all-ones marker, length, type, then the body. */
export function frame(type: number, body: Uint8Array | string): Uint8Array {
  const b = typeof body === 'string' ? hex(body) : body;
  const out = new Uint8Array(19 + b.length);
  out.fill(0xff, 0, 16);
  out[16] = (19 + b.length) >>> 8;
  out[17] = (19 + b.length) & 0xff;
  out[18] = type;
  out.set(b, 19);
  return out;
}
