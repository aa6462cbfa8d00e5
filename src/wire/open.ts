// OPEN message (RFC 4271 §4.2, §6.2) with Capabilities (RFC 5492) and the extended optional
// parameters length of RFC 9072 §2, plus the negotiation of what the codec context needs
// (RFC 6793 4-octet AS, RFC 7911 ADD-PATH, RFC 8654 extended messages).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+
//   |    Version    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     My Autonomous System      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Hold Time           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         BGP Identifier                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Opt Parm Len  |  (255 with RFC 9072, followed by:)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Non-Ext OP Type| Extended Opt. Parm. Length    |  (type 255, 2-octet length)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |             Optional Parameters (variable)                    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//   each parameter: Parm. Type (1) | Parm. Length (1, or 2 with RFC 9072) | Value

import type { Writer } from '../lib/bytes.js';
import { ADD_PATH_DIR, decodeCapabilities, encodeCapabilities } from './capabilities.js';
import { AS_TRANS, CAP, ERR, ERR_OPEN, OPT_PARAM } from './constants.js';
import { bgpError, type BgpError } from './errors.js';
import { makeContext } from './context.js';
import {
  addPathKey,
  type Capability,
  type CodecContext,
  type OpenMessage,
  type OptionalParameter,
} from './types.js';

export function decodeOpen(buf: Uint8Array, start: number, end: number): OpenMessage | BgpError {
  if (end - start < 10) return malformed(`OPEN body of ${end - start} octets is shorter than 10`);
  const version = buf[start]!;
  const myAs = (buf[start + 1]! << 8) | buf[start + 2]!;
  const holdTime = (buf[start + 3]! << 8) | buf[start + 4]!;
  const bgpId = buf.subarray(start + 5, start + 9);
  let optLen = buf[start + 9]!;
  let p = start + 10;
  let extendedParams = false;
  // RFC 9072 §2: Non-Ext OP Len 255 and Non-Ext OP Type 255 announce the extended form.
  if (optLen === 255 && p < end && buf[p] === OPT_PARAM.EXTENDED_LENGTH) {
    if (p + 3 > end) return malformed('extended optional parameters length is truncated');
    optLen = (buf[p + 1]! << 8) | buf[p + 2]!;
    p += 3;
    extendedParams = true;
  }
  if (p + optLen !== end) {
    return malformed(
      `optional parameters length ${optLen} disagrees with the ${end - p} octet(s) present`,
    );
  }
  const params: OptionalParameter[] = [];
  const hdr = extendedParams ? 3 : 2;
  while (p < end) {
    if (p + hdr > end) return malformed('optional parameter header is truncated');
    const type = buf[p]!;
    const len = extendedParams ? (buf[p + 1]! << 8) | buf[p + 2]! : buf[p + 1]!;
    const vs = p + hdr;
    const ve = vs + len;
    if (ve > end) return malformed(`optional parameter ${type} of length ${len} overruns the OPEN`);
    p = ve;
    if (type === OPT_PARAM.CAPABILITIES) {
      const caps = decodeCapabilities(buf, vs, ve);
      if (!caps) {
        // Malformed capability list: keep the octets so the OPEN still round-trips.
        params.push({ type, data: buf.subarray(vs, ve) });
      } else {
        params.push({ type: OPT_PARAM.CAPABILITIES, capabilities: caps });
      }
    } else {
      params.push({ type, data: buf.subarray(vs, ve) });
    }
  }
  return { type: 1, version, myAs, holdTime, bgpId, params, extendedParams };
}

function malformed(reason: string): BgpError {
  // RFC 4271 §6.2: a recognised but malformed optional parameter is subcode 0 (Unspecific).
  return bgpError('session-reset', ERR.OPEN_MESSAGE, 0, reason);
}

export function encodeOpen(w: Writer, m: OpenMessage): void {
  w.u8(m.version).u16(m.myAs).u16(m.holdTime).bytes(m.bgpId);
  const lenAt = w.pos;
  // Write the parameters in the short form first; switch to RFC 9072 if asked or needed.
  if (!m.extendedParams) {
    w.u8(0);
    const ps = w.pos;
    let fits = true;
    for (const prm of m.params) {
      w.u8(prm.type);
      const at = w.reserve(1);
      writeParamValue(w, prm);
      const len = w.pos - at - 1;
      if (len > 255) fits = false;
      else w.patch(at, 1, len);
    }
    const total = w.pos - ps;
    if (fits && total <= 255) {
      w.patch(lenAt, 1, total);
      return;
    }
    w.pos = lenAt;
  }
  w.u8(255).u8(OPT_PARAM.EXTENDED_LENGTH);
  const totalAt = w.reserve(2);
  const ps = w.pos;
  for (const prm of m.params) {
    w.u8(prm.type);
    const at = w.reserve(2);
    writeParamValue(w, prm);
    w.patch(at, 2, w.pos - at - 2);
  }
  w.patch(totalAt, 2, w.pos - ps);
}

function writeParamValue(w: Writer, prm: OptionalParameter): void {
  if ('capabilities' in prm) encodeCapabilities(w, prm.capabilities);
  else w.bytes(prm.data);
}

/** Every capability of an OPEN, in order, across all Capabilities parameters. */
export function openCapabilities(m: OpenMessage): Capability[] {
  const out: Capability[] = [];
  for (const prm of m.params) if ('capabilities' in prm) out.push(...prm.capabilities);
  return out;
}

/** The sender's real ASN: the 4-octet AS capability's, else My Autonomous System. */
export function openAsn(m: OpenMessage): number {
  for (const c of openCapabilities(m)) if (c.kind === 'four-octet-as') return c.asn;
  return m.myAs;
}

/** Build an OPEN with one Capabilities parameter; myAs becomes AS_TRANS above 65535. */
export function makeOpen(opts: {
  asn: number;
  holdTime: number;
  bgpId: Uint8Array;
  capabilities: readonly Capability[];
}): OpenMessage {
  return {
    type: 1,
    version: 4,
    myAs: opts.asn > 0xffff ? AS_TRANS : opts.asn,
    holdTime: opts.holdTime,
    bgpId: opts.bgpId,
    params:
      opts.capabilities.length > 0
        ? [{ type: OPT_PARAM.CAPABILITIES, capabilities: opts.capabilities }]
        : [],
    extendedParams: false,
  };
}

/**
 * Semantic checks of a received OPEN (RFC 4271 §6.2, RFC 6793 §4.1), kept apart from
 * decoding: version, hold time, BGP Identifier, and the peer AS when one is expected.
 */
export function validateOpen(m: OpenMessage, opts?: { peerAs?: number }): BgpError | undefined {
  if (m.version !== 4) {
    return bgpError(
      'session-reset',
      ERR.OPEN_MESSAGE,
      ERR_OPEN.UNSUPPORTED_VERSION_NUMBER,
      `BGP version ${m.version} is not supported (only 4)`,
      Uint8Array.of(0, 4),
    );
  }
  if (m.holdTime === 1 || m.holdTime === 2) {
    return bgpError(
      'session-reset',
      ERR.OPEN_MESSAGE,
      ERR_OPEN.UNACCEPTABLE_HOLD_TIME,
      `hold time ${m.holdTime} s is not allowed (0 or at least 3)`,
    );
  }
  if (m.bgpId[0] === 0 && m.bgpId[1] === 0 && m.bgpId[2] === 0 && m.bgpId[3] === 0) {
    return bgpError(
      'session-reset',
      ERR.OPEN_MESSAGE,
      ERR_OPEN.BAD_BGP_IDENTIFIER,
      'BGP Identifier is 0.0.0.0',
    );
  }
  if (opts?.peerAs !== undefined && openAsn(m) !== opts.peerAs) {
    return bgpError(
      'session-reset',
      ERR.OPEN_MESSAGE,
      ERR_OPEN.BAD_PEER_AS,
      `peer AS ${openAsn(m)} is not the configured ${opts.peerAs}`,
    );
  }
  return undefined;
}

/**
 * Codec contexts of a session from both OPENs: `receive` decodes what the peer sends,
 * `send` encodes what we send. 4-octet AS and extended messages need both sides (RFC 6793
 * §4, RFC 8654 §3); ADD-PATH is per direction and family (RFC 7911 §4).
 */
export function negotiateContexts(
  local: OpenMessage,
  remote: OpenMessage,
): { receive: CodecContext; send: CodecContext } {
  const lc = openCapabilities(local);
  const rc = openCapabilities(remote);
  const has = (caps: Capability[], code: number): boolean => caps.some((c) => c.code === code);
  const as4 = has(lc, CAP.FOUR_OCTET_AS) && has(rc, CAP.FOUR_OCTET_AS);
  const extendedMessage = has(lc, CAP.EXTENDED_MESSAGE) && has(rc, CAP.EXTENDED_MESSAGE);
  const dirs = (caps: Capability[]): Map<number, number> => {
    const m = new Map<number, number>();
    for (const c of caps) {
      if (c.kind === 'add-path')
        for (const f of c.families) m.set(addPathKey(f.afi, f.safi), f.sendReceive);
    }
    return m;
  };
  const ld = dirs(lc);
  const rd = dirs(rc);
  const receive: number[] = [];
  const send: number[] = [];
  for (const [key, l] of ld) {
    const r = rd.get(key) ?? 0;
    if (l & ADD_PATH_DIR.RECEIVE && r & ADD_PATH_DIR.SEND) receive.push(key);
    if (l & ADD_PATH_DIR.SEND && r & ADD_PATH_DIR.RECEIVE) send.push(key);
  }
  return {
    receive: makeContext({ as4, extendedMessage, addPath: receive }),
    send: makeContext({ as4, extendedMessage, addPath: send }),
  };
}

/** The context for decoding what the remote peer sends (see negotiateContexts). */
export function negotiatedContext(local: OpenMessage, remote: OpenMessage): CodecContext {
  return negotiateContexts(local, remote).receive;
}
