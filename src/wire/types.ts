// The decoded form of BGP-4 messages (RFC 4271 §4) and their path attributes.
//
// Design rules, shared by every codec module:
// - Decoding keeps what byte-exact re-encoding needs (attribute order, flags including the
//   Extended Length bit, segment boundaries, next-hop length and reserved octets), so that
//   for canonical input `encode(decode(b))` equals `b`. The one intended canonicalisation is
//   host bits in NLRI: they are masked and reported (`hostBits`), never rejected.
// - Addresses are raw bytes (4 or 16 octets); text is produced by lib/ip.
// - 32-bit values are unsigned numbers.
// - Anything the codec does not interpret (other AFI/SAFI NLRI, unknown attributes,
//   unknown capabilities) is kept as bytes and written back unchanged.

import type { Prefix } from '../lib/ip.js';
import type { BgpError } from './errors.js';

/** Decode/encode context: what the session negotiated (RFC 6793, RFC 7911, RFC 8654). */
export interface CodecContext {
  /** Both sides announced the 4-octet AS capability: AS_PATH/AGGREGATOR carry 4-octet ASNs. */
  readonly as4: boolean;
  /** ADD-PATH receive (decode) or send (encode) is on for (afi << 8 | safi). */
  readonly addPath: ReadonlySet<number>;
  /** Extended messages (RFC 8654) negotiated: accept up to 65535 octets. */
  readonly extendedMessage: boolean;
  /**
   * MRT TABLE_DUMP_V2 RIB entries abbreviate MP_REACH_NLRI to next-hop length + next hop
   * (RFC 6396 §4.3.4). Set only by mrt/.
   */
  readonly mpReachAbbreviated?: boolean;
}

export const addPathKey = (afi: number, safi: number): number => (afi << 8) | safi;

/** A prefix in NLRI, with its ADD-PATH path identifier when the context has ADD-PATH. */
export interface Nlri {
  readonly prefix: Prefix;
  readonly pathId?: number;
}

// ---------------------------------------------------------------------------------------
// Path attributes. Every attribute carries the flags octet it arrived with (encode reuses
// it; builders use the RFC default flags).

export interface AsPathSegment {
  readonly type: number; // AS_SEG
  readonly asns: readonly number[];
}

export type PathAttribute =
  | { readonly kind: 'origin'; readonly code: 1; readonly flags: number; readonly origin: number }
  | {
      readonly kind: 'as-path';
      readonly code: 2 | 17; // AS_PATH or AS4_PATH
      readonly flags: number;
      readonly segments: readonly AsPathSegment[];
      /** Width of ASNs on the wire: 4 for AS4_PATH and for AS_PATH when ctx.as4. */
      readonly asnWidth: 2 | 4;
    }
  | {
      readonly kind: 'next-hop';
      readonly code: 3;
      readonly flags: number;
      readonly nextHop: Uint8Array;
    }
  | { readonly kind: 'med'; readonly code: 4; readonly flags: number; readonly med: number }
  | {
      readonly kind: 'local-pref';
      readonly code: 5;
      readonly flags: number;
      readonly localPref: number;
    }
  | { readonly kind: 'atomic-aggregate'; readonly code: 6; readonly flags: number }
  | {
      readonly kind: 'aggregator';
      readonly code: 7 | 18; // AGGREGATOR or AS4_AGGREGATOR
      readonly flags: number;
      readonly asn: number;
      readonly address: Uint8Array;
      readonly asnWidth: 2 | 4;
    }
  | {
      readonly kind: 'communities';
      readonly code: 8;
      readonly flags: number;
      readonly communities: readonly number[];
    }
  | {
      readonly kind: 'originator-id';
      readonly code: 9;
      readonly flags: number;
      readonly originatorId: Uint8Array;
    }
  | {
      readonly kind: 'cluster-list';
      readonly code: 10;
      readonly flags: number;
      readonly clusterIds: readonly Uint8Array[];
    }
  | MpReach
  | MpUnreach
  | {
      readonly kind: 'extended-communities';
      readonly code: 16;
      readonly flags: number;
      /** Each 8 octets, kept as bytes (RFC 4360 §2); helpers in wire/ interpret the types. */
      readonly communities: readonly Uint8Array[];
    }
  | {
      readonly kind: 'large-communities';
      readonly code: 32;
      readonly flags: number;
      /** Triples (global administrator, local data 1, local data 2), RFC 8092 §3. */
      readonly communities: readonly (readonly [number, number, number])[];
    }
  | {
      readonly kind: 'unknown';
      readonly code: number;
      readonly flags: number;
      /** Value octets as received. */
      readonly data: Uint8Array;
    };

/** MP_REACH_NLRI (RFC 4760 §3). */
export interface MpReach {
  readonly kind: 'mp-reach';
  readonly code: 14;
  readonly flags: number;
  readonly afi: number;
  readonly safi: number;
  /** Next-hop field as received (e.g. 16 or 32 octets for IPv6 global [+ link-local]). */
  readonly nextHop: Uint8Array;
  /** The reserved octet (RFC 4760: must be 0, ignored on receipt); kept for round-trip. */
  readonly reserved: number;
  /** Decoded NLRI for IPv4/IPv6 unicast/multicast; undefined when `opaque` is used. */
  readonly nlri?: readonly Nlri[];
  /** NLRI octets of any other AFI/SAFI, kept as received. */
  readonly opaque?: Uint8Array;
  /** True when decoded from the RFC 6396 §4.3.4 abbreviated form (no AFI/SAFI/NLRI). */
  readonly abbreviated?: boolean;
}

/** MP_UNREACH_NLRI (RFC 4760 §4). */
export interface MpUnreach {
  readonly kind: 'mp-unreach';
  readonly code: 15;
  readonly flags: number;
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn?: readonly Nlri[];
  readonly opaque?: Uint8Array;
}

// ---------------------------------------------------------------------------------------
// Messages.

export type Capability =
  | {
      readonly kind: 'multiprotocol';
      readonly code: 1;
      readonly afi: number;
      readonly reserved: number;
      readonly safi: number;
    }
  | { readonly kind: 'route-refresh'; readonly code: 2 | 128 }
  | { readonly kind: 'extended-message'; readonly code: 6 }
  | {
      readonly kind: 'graceful-restart';
      readonly code: 64;
      /** The 4-bit flags field (R = 0x8, N = 0x4 of RFC 8538). */
      readonly flags: number;
      readonly restartTime: number;
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly flags: number;
      }[];
    }
  | { readonly kind: 'four-octet-as'; readonly code: 65; readonly asn: number }
  | {
      readonly kind: 'add-path';
      readonly code: 69;
      /** sendReceive: 1 = receive, 2 = send, 3 = both (RFC 7911 §4). */
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly sendReceive: number;
      }[];
    }
  | { readonly kind: 'enhanced-route-refresh'; readonly code: 70 }
  | { readonly kind: 'unknown'; readonly code: number; readonly data: Uint8Array };

export type OptionalParameter =
  | { readonly type: 2; readonly capabilities: readonly Capability[] }
  | { readonly type: number; readonly data: Uint8Array };

export interface OpenMessage {
  readonly type: 1;
  readonly version: number;
  /** My Autonomous System field (2 octets; AS_TRANS when the real ASN needs 4). */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: Uint8Array;
  readonly params: readonly OptionalParameter[];
  /** Optional parameters used the RFC 9072 extended-length encoding. */
  readonly extendedParams: boolean;
}

export interface UpdateMessage {
  readonly type: 2;
  readonly withdrawn: readonly Nlri[];
  readonly attributes: readonly PathAttribute[];
  readonly nlri: readonly Nlri[];
  /** RFC 7606 outcomes that did not reset the session (treat-as-withdraw, discards). */
  readonly errors?: readonly BgpError[];
  /** RFC 7606 §2: at least one error demands the whole UPDATE be treated as a withdraw. */
  readonly treatAsWithdraw?: boolean;
  /** Prefixes whose host bits were set on the wire (masked here; reported, not rejected). */
  readonly hostBits?: readonly Prefix[];
}

export interface NotificationMessage {
  readonly type: 3;
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export interface KeepaliveMessage {
  readonly type: 4;
}

export interface RouteRefreshMessage {
  readonly type: 5;
  readonly afi: number;
  /** RFC 7313 message subtype (0 normal, 1 BoRR, 2 EoRR); RFC 2918 "reserved". */
  readonly subtype: number;
  readonly safi: number;
}

export type BgpMessage =
  OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
