// Codec contexts (types.ts CodecContext): what a session negotiated, passed explicitly to
// every decode/encode call (RFC 6793 4-octet AS, RFC 7911 ADD-PATH, RFC 8654 extended
// messages, RFC 6396 §4.3.4 abbreviated MP_REACH_NLRI in MRT RIB entries).

import { addPathKey, type CodecContext } from './types.js';

const NO_ADD_PATH: ReadonlySet<number> = new Set();

export function makeContext(opts?: {
  as4?: boolean;
  /** Keys from addPathKey(afi, safi), or [afi, safi] pairs. */
  addPath?: Iterable<number | readonly [number, number]>;
  extendedMessage?: boolean;
  mpReachAbbreviated?: boolean;
}): CodecContext {
  let addPath = NO_ADD_PATH;
  if (opts?.addPath) {
    const s = new Set<number>();
    for (const k of opts.addPath) s.add(typeof k === 'number' ? k : addPathKey(k[0], k[1]));
    if (s.size > 0) addPath = s;
  }
  const ctx: CodecContext = {
    as4: opts?.as4 ?? false,
    addPath,
    extendedMessage: opts?.extendedMessage ?? false,
  };
  return opts?.mpReachAbbreviated ? { ...ctx, mpReachAbbreviated: true } : ctx;
}

/** A session that negotiated nothing (2-octet AS, no ADD-PATH, 4096-octet messages). */
export const DEFAULT_CONTEXT: CodecContext = makeContext();
/** 4-octet AS, the common case today (and MRT BGP4MP_*_AS4). */
export const AS4_CONTEXT: CodecContext = makeContext({ as4: true });
