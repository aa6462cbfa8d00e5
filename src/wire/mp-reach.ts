// MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4), with ADD-PATH NLRI (RFC 7911 §3)
// and the abbreviated MP_REACH_NLRI of MRT TABLE_DUMP_V2 RIB entries (RFC 6396 §4.3.4).
// IPv4/IPv6 unicast and multicast NLRI are decoded; every other AFI/SAFI is kept as the
// octets received so that it re-encodes identically.
//
//   MP_REACH_NLRI                               MP_UNREACH_NLRI
//   +---------------------------------------+   +---------------------------------------+
//   | AFI (2 octets)                        |   | AFI (2 octets)                        |
//   | SAFI (1 octet)                        |   | SAFI (1 octet)                        |
//   | Length of Next Hop Address (1 octet)  |   | Withdrawn Routes (variable)           |
//   | Next Hop Address (variable)           |   +---------------------------------------+
//   | Reserved (1 octet)                    |
//   | NLRI (variable)                       |   abbreviated (RFC 6396 §4.3.4)
//   +---------------------------------------+   | Next Hop Length (1) | Next Hop (var) |

import type { Reader, Writer } from '../lib/bytes.js';
import { AFI, type Afi, type Prefix } from '../lib/ip.js';
import { SAFI } from './constants.js';
import { NlriError, decodePrefixes, encodePrefixes } from './nlri.js';
import { addPathKey, type CodecContext, type MpReach, type MpUnreach } from './types.js';

/** IPv4/IPv6 × unicast/multicast: the families whose NLRI this codec decodes. */
export function isDecodedFamily(afi: number, safi: number): afi is Afi {
  return (
    (afi === AFI.IPv4 || afi === AFI.IPv6) && (safi === SAFI.UNICAST || safi === SAFI.MULTICAST)
  );
}

/** Next-hop lengths accepted for decoded families (RFC 4760, RFC 2545 §3, RFC 8950 §3). */
function nextHopLengthOk(afi: number, len: number): boolean {
  return afi === AFI.IPv4 ? len === 4 || len === 16 || len === 32 : len === 16 || len === 32;
}

/** Decode an MP_REACH_NLRI value (the rest of `r`); a string says why it is malformed. */
export function decodeMpReach(
  r: Reader,
  flags: number,
  ctx: CodecContext,
  hostBits: Prefix[] | undefined,
): MpReach | string {
  if (ctx.mpReachAbbreviated) {
    const nhLen = r.u8();
    if (nhLen > r.remaining) return `next hop length ${nhLen} overruns the attribute`;
    const nextHop = r.bytes(nhLen);
    if (!r.atEnd()) return `${r.remaining} octet(s) after the abbreviated next hop`;
    // RFC 6396 §4.3.4 leaves AFI/SAFI to the RIB entry; infer AFI from the next hop.
    const afi = nhLen === 4 || nhLen === 12 ? AFI.IPv4 : AFI.IPv6;
    return {
      kind: 'mp-reach',
      code: 14,
      flags,
      afi,
      safi: SAFI.UNICAST,
      nextHop,
      reserved: 0,
      abbreviated: true,
    };
  }
  if (r.remaining < 5) return `attribute of ${r.remaining} octet(s) is shorter than 5`;
  const afi = r.u16();
  const safi = r.u8();
  const nhLen = r.u8();
  if (nhLen + 1 > r.remaining) return `next hop length ${nhLen} overruns the attribute`;
  const nextHop = r.bytes(nhLen);
  const reserved = r.u8();
  if (!isDecodedFamily(afi, safi)) {
    return { kind: 'mp-reach', code: 14, flags, afi, safi, nextHop, reserved, opaque: r.rest() };
  }
  if (!nextHopLengthOk(afi, nhLen)) return `next hop length ${nhLen} is invalid for AFI ${afi}`;
  const nlri = decodePrefixes(r, afi, ctx.addPath.has(addPathKey(afi, safi)), hostBits);
  if (nlri instanceof NlriError) return `NLRI: ${nlri.reason}`;
  return { kind: 'mp-reach', code: 14, flags, afi, safi, nextHop, reserved, nlri };
}

/** Decode an MP_UNREACH_NLRI value (the rest of `r`); a string says why it is malformed. */
export function decodeMpUnreach(
  r: Reader,
  flags: number,
  ctx: CodecContext,
  hostBits: Prefix[] | undefined,
): MpUnreach | string {
  if (r.remaining < 3) return `attribute of ${r.remaining} octet(s) is shorter than 3`;
  const afi = r.u16();
  const safi = r.u8();
  if (!isDecodedFamily(afi, safi)) {
    return { kind: 'mp-unreach', code: 15, flags, afi, safi, opaque: r.rest() };
  }
  const withdrawn = decodePrefixes(r, afi, ctx.addPath.has(addPathKey(afi, safi)), hostBits);
  if (withdrawn instanceof NlriError) return `withdrawn routes: ${withdrawn.reason}`;
  return { kind: 'mp-unreach', code: 15, flags, afi, safi, withdrawn };
}

export function encodeMpReach(w: Writer, a: MpReach, ctx: CodecContext): void {
  if (a.abbreviated) {
    w.u8(a.nextHop.length).bytes(a.nextHop);
    return;
  }
  w.u16(a.afi).u8(a.safi).u8(a.nextHop.length).bytes(a.nextHop).u8(a.reserved);
  if (a.nlri) encodePrefixes(w, a.nlri, ctx.addPath.has(addPathKey(a.afi, a.safi)));
  else if (a.opaque) w.bytes(a.opaque);
}

export function encodeMpUnreach(w: Writer, a: MpUnreach, ctx: CodecContext): void {
  w.u16(a.afi).u8(a.safi);
  if (a.withdrawn) encodePrefixes(w, a.withdrawn, ctx.addPath.has(addPathKey(a.afi, a.safi)));
  else if (a.opaque) w.bytes(a.opaque);
}
