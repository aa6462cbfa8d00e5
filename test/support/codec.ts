// The codec as the conformance suites use it: contexts, decode that never lets an
// exception escape unnoticed, framing of a whole stream, and the session context a
// passive collector would negotiate from the OPEN it receives.

import { toHex } from '../../src/lib/bytes.js';
import type { BgpError } from '../../src/wire/errors.js';
import { Framer } from '../../src/wire/framer.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { makeContext } from '../../src/wire/context.js';
import { type BgpMessage, type CodecContext, type OpenMessage } from '../../src/wire/types.js';

/** A context; unlike makeContext, 4-octet AS is on unless asked otherwise. */
export function context(
  opts: {
    as4?: boolean;
    addPath?: Iterable<readonly [number, number]>;
    extendedMessage?: boolean;
  } = {},
): CodecContext {
  return makeContext({
    as4: opts.as4 ?? true,
    addPath: opts.addPath ?? [],
    extendedMessage: opts.extendedMessage ?? false,
  });
}

export type Decoded = { ok: true; message: BgpMessage } | { ok: false; error: BgpError };

/** decodeMessage, with a thrown exception turned into an assertion-friendly failure. */
export function decode(msg: Uint8Array, ctx: CodecContext): Decoded {
  try {
    return decodeMessage(msg, ctx);
  } catch (e) {
    throw new Error(
      `decodeMessage threw on ${toHex(msg)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
  }
}

export function encode(m: BgpMessage, ctx: CodecContext): Uint8Array {
  return encodeMessage(m, ctx);
}

export function isBgpError(x: unknown): x is BgpError {
  return (
    typeof x === 'object' &&
    x !== null &&
    !(x instanceof Uint8Array) &&
    'action' in x &&
    'code' in x
  );
}

export interface FramedStream {
  /** Copies of the framed messages, in order. */
  messages: Uint8Array[];
  /** The header error the framer stopped at, if any. */
  error: BgpError | undefined;
  /** Octets left over (an incomplete message at the end). */
  leftover: number;
}

/**
 * Frame `chunks` (pushed one after the other) into messages. Bounded: at most one message
 * per 19 octets can come out, so a framer that loops is caught instead of hanging.
 */
export function frame(
  chunks: Iterable<Uint8Array>,
  opts?: { extendedMessage?: boolean },
): FramedStream {
  const f = new Framer(opts);
  const messages: Uint8Array[] = [];
  let total = 0;
  let error: BgpError | undefined;
  const drain = (): void => {
    for (let guard = 0; ; guard++) {
      if (guard > total / 19 + 1)
        throw new Error('framer returned more messages than the input can hold');
      const r = f.next();
      if (r === undefined) return;
      if (r instanceof Uint8Array) {
        messages.push(r.slice());
        continue;
      }
      error = r;
      return;
    }
  };
  for (const c of chunks) {
    total += c.length;
    f.push(c);
    drain();
    if (error) break;
  }
  return { messages, error, leftover: f.buffered };
}

/** A compact description of an error for assertion messages. */
export function describeError(e: BgpError): string {
  return `${e.action} ${e.code}/${e.subcode} data=${toHex(e.data)} (${e.reason})`;
}

/**
 * The context a collector that supports everything would end up with, given only the
 * speaker's OPEN (the captures hold one direction): 4-octet AS if the speaker announced it,
 * ADD-PATH on the families for which it said it would send path identifiers (RFC 7911 §4:
 * send or send/receive), extended messages if announced.
 */
export function contextFromSpeakerOpen(open: OpenMessage): CodecContext {
  let as4 = false;
  let extendedMessage = false;
  const addPath: [number, number][] = [];
  for (const p of open.params) {
    if (!('capabilities' in p)) continue;
    for (const c of p.capabilities) {
      if (c.kind === 'four-octet-as') as4 = true;
      else if (c.kind === 'extended-message') extendedMessage = true;
      else if (c.kind === 'add-path') {
        for (const f of c.families) if (f.sendReceive & 2) addPath.push([f.afi, f.safi]);
      }
    }
  }
  return context({ as4, addPath, extendedMessage });
}
