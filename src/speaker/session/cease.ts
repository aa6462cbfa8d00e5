// NOTIFICATION data of the Cease subcodes a Peer sends when told to stop (RFC 4486 §4,
// RFC 9003 §2), and their one-line description for logs.

import {
  ERR,
  ERR_CEASE,
  decodeShutdownCommunication,
  describeNotification,
  encodeShutdownCommunication,
  type NotificationMessage,
} from '../../wire/index.js';
import type { StopOptions } from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * RFC 4486 §4: Cease / Maximum Number of Prefixes Reached may carry
 * AFI (2 octets), SAFI (1 octet) and the prefix upper bound (4 octets).
 */
export function maxPrefixData(afi: number, safi: number, limit: number): Uint8Array {
  const b = new Uint8Array(7);
  const v = new DataView(b.buffer);
  v.setUint16(0, afi);
  v.setUint8(2, safi);
  v.setUint32(3, limit >>> 0);
  return b;
}

/** Cease subcode and data for stop(); throws on a code other than Cease (a caller bug). */
export function ceaseFor(o: StopOptions): { subcode: number; data: Uint8Array } {
  if (o.code !== undefined && o.code !== ERR.CEASE) {
    throw new RangeError(`stopping a session sends a Cease (code 6), not code ${o.code}`);
  }
  const subcode = o.subcode ?? ERR_CEASE.ADMINISTRATIVE_SHUTDOWN;
  if (!Number.isInteger(subcode) || subcode < 0 || subcode > 255) {
    throw new RangeError(`Cease subcode ${subcode} is not an octet`);
  }
  if (o.data) return { subcode, data: o.data };
  if (subcode === ERR_CEASE.MAXIMUM_NUMBER_OF_PREFIXES_REACHED && o.maxPrefix) {
    const m = o.maxPrefix;
    return { subcode, data: maxPrefixData(m.afi, m.safi, m.limit) };
  }
  const shutdown =
    subcode === ERR_CEASE.ADMINISTRATIVE_SHUTDOWN || subcode === ERR_CEASE.ADMINISTRATIVE_RESET;
  if (shutdown && o.shutdownMessage !== undefined) {
    return { subcode, data: encodeShutdownCommunication(o.shutdownMessage) };
  }
  return { subcode, data: EMPTY };
}

/** "NOTIFICATION 6/2 (Cease / Administrative Shutdown): "maintenance"" for logs. */
export function notificationText(
  m: Pick<NotificationMessage, 'code' | 'subcode' | 'data'>,
): string {
  let s = `NOTIFICATION ${m.code}/${m.subcode} (${describeNotification(m.code, m.subcode)})`;
  const sc = decodeShutdownCommunication(m);
  if (sc && 'text' in sc) s += `: "${sc.text}"`;
  if (m.code === ERR.CEASE && m.subcode === 1 && m.data.length >= 7) {
    const v = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    s += `: AFI ${v.getUint16(0)} SAFI ${v.getUint8(2)} limit ${v.getUint32(3)}`;
  }
  return s;
}
