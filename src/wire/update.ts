// UPDATE message (RFC 4271 §4.3, §6.3) with the revised error handling of RFC 7606 (§3(d)
// missing mandatory attributes, §4 length fields, §5.3 NLRI syntax) and ADD-PATH (RFC 7911).
//
//   +-----------------------------------------------------+
//   |   Withdrawn Routes Length (2 octets)                |
//   +-----------------------------------------------------+
//   |   Withdrawn Routes (variable)                       |
//   +-----------------------------------------------------+
//   |   Total Path Attribute Length (2 octets)            |
//   +-----------------------------------------------------+
//   |   Path Attributes (variable)                        |
//   +-----------------------------------------------------+
//   |   Network Layer Reachability Information (variable) |
//   +-----------------------------------------------------+

import { Reader, type Writer } from '../lib/bytes.js';
import { AFI, type Prefix } from '../lib/ip.js';
import { decodeAttributes, encodeAttributes } from './attributes.js';
import { ATTR, ERR, ERR_UPDATE, SAFI } from './constants.js';
import { bgpError, mostSevere, type BgpError } from './errors.js';
import { NlriError, decodePrefixes, encodePrefixes } from './nlri.js';
import { addPathKey, type CodecContext, type PathAttribute, type UpdateMessage } from './types.js';

const IPV4_UNICAST = addPathKey(AFI.IPv4, SAFI.UNICAST);

export type UpdateResult = { ok: true; message: UpdateMessage } | { ok: false; error: BgpError };

/**
 * Decode an UPDATE body (`buf[start, end)`, after the 19-octet header). A session-reset
 * error is returned as `{ ok: false }`; milder RFC 7606 outcomes are reported in the
 * message (`errors`, `treatAsWithdraw`).
 */
export function decodeUpdate(
  buf: Uint8Array,
  start: number,
  end: number,
  ctx: CodecContext,
): UpdateResult {
  const bodyLen = end - start;
  if (bodyLen < 4) {
    return reset(
      ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
      `UPDATE body of ${bodyLen} octet(s) is shorter than 4`,
    );
  }
  const wLen = (buf[start]! << 8) | buf[start + 1]!;
  if (wLen + 4 > bodyLen) {
    return reset(
      ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
      `withdrawn routes length ${wLen} exceeds the ${bodyLen - 4} octet(s) available`,
    );
  }
  const wStart = start + 2;
  const wEnd = wStart + wLen;
  const aLen = (buf[wEnd]! << 8) | buf[wEnd + 1]!;
  const aStart = wEnd + 2;
  const aEnd = aStart + aLen;
  if (aEnd > end) {
    return reset(
      ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
      `total path attribute length ${aLen} exceeds the ${end - aStart} octet(s) available`,
    );
  }
  const addPath4 = ctx.addPath.has(IPV4_UNICAST);
  let hostBits: Prefix[] | undefined;
  const hb: Prefix[] = [];

  let withdrawn: UpdateMessage['withdrawn'] = EMPTY;
  if (wLen > 0) {
    const w = decodePrefixes(new Reader(buf, wStart, wEnd), AFI.IPv4, addPath4, hb);
    if (w instanceof NlriError) {
      return reset(ERR_UPDATE.INVALID_NETWORK_FIELD, `withdrawn routes: ${w.reason}`);
    }
    withdrawn = w;
  }

  let attributes: readonly PathAttribute[] = EMPTY;
  let errors: BgpError[] | undefined;
  if (aLen > 0) {
    const d = decodeAttributes(buf, aStart, aEnd, ctx, hb);
    if (d.fatal) return { ok: false, error: mostSevere(d.errors)! };
    attributes = d.attributes;
    if (d.errors.length > 0) errors = d.errors;
  }

  let nlri: UpdateMessage['nlri'] = EMPTY;
  if (aEnd < end) {
    const n = decodePrefixes(new Reader(buf, aEnd, end), AFI.IPv4, addPath4, hb);
    if (n instanceof NlriError) {
      // RFC 7606 §5.3: a malformed NLRI field cannot be treated as withdrawn.
      return reset(ERR_UPDATE.INVALID_NETWORK_FIELD, `NLRI: ${n.reason}`);
    }
    nlri = n;
  }
  if (hb.length > 0) hostBits = hb;

  // RFC 7606 §3(d) / RFC 4760 §3: mandatory attributes when there is something to install.
  if (nlri.length > 0 || hasMpReachNlri(attributes)) {
    let seen = 0;
    for (let i = 0; i < attributes.length; i++) {
      const c = attributes[i]!.code;
      if (c === ATTR.ORIGIN) seen |= 1;
      else if (c === ATTR.AS_PATH) seen |= 2;
      else if (c === ATTR.NEXT_HOP) seen |= 4;
    }
    const need = nlri.length > 0 ? 7 : 3;
    if ((seen & need) !== need && !errorsCover(errors, seen, need)) {
      const missing =
        (need & ~seen & 1) !== 0
          ? ATTR.ORIGIN
          : (need & ~seen & 2) !== 0
            ? ATTR.AS_PATH
            : ATTR.NEXT_HOP;
      (errors ??= []).push(
        bgpError(
          'treat-as-withdraw',
          ERR.UPDATE_MESSAGE,
          ERR_UPDATE.MISSING_WELL_KNOWN_ATTRIBUTE,
          `missing well-known mandatory attribute ${missing}`,
          Uint8Array.of(missing),
          missing,
        ),
      );
    }
  }

  let treatAsWithdraw = false;
  if (errors) {
    for (const e of errors) if (e.action === 'treat-as-withdraw') treatAsWithdraw = true;
  }
  const message: UpdateMessage = { type: 2, withdrawn, attributes, nlri };
  if (errors) (message as { errors?: BgpError[] }).errors = errors;
  if (treatAsWithdraw) (message as { treatAsWithdraw?: boolean }).treatAsWithdraw = true;
  if (hostBits) (message as { hostBits?: Prefix[] }).hostBits = hostBits;
  return { ok: true, message };
}

const EMPTY: readonly never[] = Object.freeze([]) as readonly never[];

function reset(subcode: number, reason: string): { ok: false; error: BgpError } {
  return { ok: false, error: bgpError('session-reset', ERR.UPDATE_MESSAGE, subcode, reason) };
}

function hasMpReachNlri(attrs: readonly PathAttribute[]): boolean {
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.kind === 'mp-reach')
      return !a.abbreviated && ((a.nlri?.length ?? 0) > 0 || (a.opaque?.length ?? 0) > 0);
  }
  return false;
}

/**
 * A mandatory attribute that was present but malformed was already reported (and already
 * triggered treat-as-withdraw); do not also report it missing.
 */
function errorsCover(errors: BgpError[] | undefined, seen: number, need: number): boolean {
  if (!errors) return false;
  let covered = seen;
  for (const e of errors) {
    if (e.attribute === ATTR.ORIGIN) covered |= 1;
    else if (e.attribute === ATTR.AS_PATH) covered |= 2;
    else if (e.attribute === ATTR.NEXT_HOP) covered |= 4;
  }
  return (covered & need) === need;
}

/** Encode an UPDATE body (without the header). */
export function encodeUpdate(w: Writer, m: UpdateMessage, ctx: CodecContext): void {
  const addPath4 = ctx.addPath.has(IPV4_UNICAST);
  const wAt = w.reserve(2);
  encodePrefixes(w, m.withdrawn, addPath4);
  w.patch(wAt, 2, w.pos - wAt - 2);
  const aAt = w.reserve(2);
  encodeAttributes(w, m.attributes, ctx);
  w.patch(aAt, 2, w.pos - aAt - 2);
  encodePrefixes(w, m.nlri, addPath4);
}
