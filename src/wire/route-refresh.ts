// ROUTE-REFRESH message (RFC 2918 §3) and Enhanced Route Refresh subtypes (RFC 7313 §3.2):
// 0 normal request, 1 Beginning of RIB Route Refresh (BoRR), 2 End of RIB Route Refresh
// (EoRR). A body that is not 4 octets is a ROUTE-REFRESH Message Error / Invalid Message
// Length (RFC 7313 §5); ORF entries (RFC 5291) are not supported and fall under it too.
//
//    0       7      15      23      31
//   +-------+-------+-------+-------+
//   |      AFI      |SubType| SAFI  |
//   +-------+-------+-------+-------+

import type { Writer } from '../lib/bytes.js';
import { ERR, ERR_ROUTE_REFRESH } from './constants.js';
import { bgpError, type BgpError } from './errors.js';
import type { RouteRefreshMessage } from './types.js';

export function decodeRouteRefresh(
  buf: Uint8Array,
  start: number,
  end: number,
): RouteRefreshMessage | BgpError {
  if (end - start !== 4) {
    const total = end - start + 19;
    return bgpError(
      'session-reset',
      ERR.ROUTE_REFRESH_MESSAGE,
      ERR_ROUTE_REFRESH.INVALID_MESSAGE_LENGTH,
      `ROUTE-REFRESH of ${total} octets, expected 23`,
      // RFC 7313 §5: the Data field carries the complete message (the header included).
      buf.subarray(start - 19, end),
    );
  }
  return {
    type: 5,
    afi: (buf[start]! << 8) | buf[start + 1]!,
    subtype: buf[start + 2]!,
    safi: buf[start + 3]!,
  };
}

export function encodeRouteRefresh(w: Writer, m: RouteRefreshMessage): void {
  w.u16(m.afi).u8(m.subtype).u8(m.safi);
}
