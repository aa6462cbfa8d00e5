// Capabilities Advertisement (RFC 5492 §4) and the capabilities this codec interprets:
// Multiprotocol (RFC 4760 §8), Route Refresh (RFC 2918 §2, and the pre-standard Cisco code
// 128), Extended Message (RFC 8654 §3), Graceful Restart (RFC 4724 §3), 4-octet AS
// (RFC 6793 §3), ADD-PATH (RFC 7911 §4) and Enhanced Route Refresh (RFC 7313 §3.1).
// Any other capability — and a known one whose length is wrong — is kept as its octets,
// so an OPEN always re-encodes identically.
//
//   +------------------------------+
//   | Capability Code (1 octet)    |
//   +------------------------------+
//   | Capability Length (1 octet)  |
//   +------------------------------+
//   | Capability Value (variable)  |
//   +------------------------------+
//
//   Graceful Restart value:               ADD-PATH value (per family):
//   +--------+------------------------+   +-----------------+----------+--------------+
//   |R|N|0|0| Restart Time (12 bits) |   | AFI (2 octets)  | SAFI (1) | Send/Rcv (1) |
//   +--------+------------------------+   +-----------------+----------+--------------+
//   | AFI (2) | SAFI (1) | Flags (1) | ×n

import type { Writer } from '../lib/bytes.js';
import { CAP } from './constants.js';
import type { Capability } from './types.js';

/** Decode the capabilities in a Capabilities optional parameter; undefined if malformed. */
export function decodeCapabilities(
  buf: Uint8Array,
  start: number,
  end: number,
): Capability[] | undefined {
  const out: Capability[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) return undefined;
    const code = buf[p]!;
    const len = buf[p + 1]!;
    const vs = p + 2;
    const ve = vs + len;
    if (ve > end) return undefined;
    p = ve;
    out.push(decodeCapability(buf, vs, ve, code));
  }
  return out;
}

function decodeCapability(buf: Uint8Array, vs: number, ve: number, code: number): Capability {
  const len = ve - vs;
  switch (code) {
    case CAP.MULTIPROTOCOL:
      if (len !== 4) break;
      return {
        kind: 'multiprotocol',
        code,
        afi: (buf[vs]! << 8) | buf[vs + 1]!,
        reserved: buf[vs + 2]!,
        safi: buf[vs + 3]!,
      };
    case CAP.ROUTE_REFRESH:
    case CAP.ROUTE_REFRESH_CISCO:
      if (len !== 0) break;
      return { kind: 'route-refresh', code };
    case CAP.EXTENDED_MESSAGE:
      if (len !== 0) break;
      return { kind: 'extended-message', code };
    case CAP.ENHANCED_ROUTE_REFRESH:
      if (len !== 0) break;
      return { kind: 'enhanced-route-refresh', code };
    case CAP.FOUR_OCTET_AS:
      if (len !== 4) break;
      return {
        kind: 'four-octet-as',
        code,
        asn: ((buf[vs]! << 24) | (buf[vs + 1]! << 16) | (buf[vs + 2]! << 8) | buf[vs + 3]!) >>> 0,
      };
    case CAP.GRACEFUL_RESTART: {
      if (len < 2 || (len - 2) % 4 !== 0) break;
      const families: { afi: number; safi: number; flags: number }[] = [];
      for (let p = vs + 2; p < ve; p += 4) {
        families.push({ afi: (buf[p]! << 8) | buf[p + 1]!, safi: buf[p + 2]!, flags: buf[p + 3]! });
      }
      return {
        kind: 'graceful-restart',
        code,
        flags: buf[vs]! >>> 4,
        restartTime: ((buf[vs]! & 0x0f) << 8) | buf[vs + 1]!,
        families,
      };
    }
    case CAP.ADD_PATH: {
      if (len === 0 || len % 4 !== 0) break;
      const families: { afi: number; safi: number; sendReceive: number }[] = [];
      for (let p = vs; p < ve; p += 4) {
        families.push({
          afi: (buf[p]! << 8) | buf[p + 1]!,
          safi: buf[p + 2]!,
          sendReceive: buf[p + 3]!,
        });
      }
      return { kind: 'add-path', code, families };
    }
  }
  return { kind: 'unknown', code, data: buf.subarray(vs, ve) };
}

export function encodeCapability(w: Writer, c: Capability): void {
  w.u8(c.code);
  const lenAt = w.reserve(1);
  const vs = w.pos;
  switch (c.kind) {
    case 'multiprotocol':
      w.u16(c.afi).u8(c.reserved).u8(c.safi);
      break;
    case 'route-refresh':
    case 'extended-message':
    case 'enhanced-route-refresh':
      break;
    case 'four-octet-as':
      w.u32(c.asn);
      break;
    case 'graceful-restart':
      w.u16(((c.flags & 0x0f) << 12) | (c.restartTime & 0x0fff));
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.flags);
      break;
    case 'add-path':
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.sendReceive);
      break;
    case 'unknown':
      w.bytes(c.data);
      break;
  }
  const len = w.pos - vs;
  if (len > 255) throw new RangeError(`capability ${c.code} value of ${len} octets is too long`);
  w.patch(lenAt, 1, len);
}

export function encodeCapabilities(w: Writer, caps: readonly Capability[]): void {
  for (const c of caps) encodeCapability(w, c);
}

// Builders with the RFC's fixed fields filled in.
export const capMultiprotocol = (afi: number, safi: number): Capability => ({
  kind: 'multiprotocol',
  code: CAP.MULTIPROTOCOL,
  afi,
  reserved: 0,
  safi,
});
export const capRouteRefresh = (): Capability => ({
  kind: 'route-refresh',
  code: CAP.ROUTE_REFRESH,
});
export const capExtendedMessage = (): Capability => ({
  kind: 'extended-message',
  code: CAP.EXTENDED_MESSAGE,
});
export const capEnhancedRouteRefresh = (): Capability => ({
  kind: 'enhanced-route-refresh',
  code: CAP.ENHANCED_ROUTE_REFRESH,
});
export const capFourOctetAs = (asn: number): Capability => ({
  kind: 'four-octet-as',
  code: CAP.FOUR_OCTET_AS,
  asn,
});
export const capAddPath = (
  families: readonly { afi: number; safi: number; sendReceive: number }[],
): Capability => ({ kind: 'add-path', code: CAP.ADD_PATH, families });
/** RFC 4724 §3: the Restart State (R) flag, and each family's Forwarding State (F) flag. */
export const GR_FLAGS = { RESTART_STATE: 0x8, FORWARDING_STATE: 0x80 } as const;

export const capGracefulRestart = (
  restartTime: number,
  families: readonly { afi: number; safi: number; flags: number }[],
  flags = 0,
): Capability => ({
  kind: 'graceful-restart',
  code: CAP.GRACEFUL_RESTART,
  flags,
  restartTime,
  families,
});

/** ADD-PATH Send/Receive values (RFC 7911 §4). */
export const ADD_PATH_DIR = { RECEIVE: 1, SEND: 2, BOTH: 3 } as const;
