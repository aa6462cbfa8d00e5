// MRT code points (RFC 6396 §4, RFC 8050 §3, IANA "Multi-Threaded Routing Toolkit (MRT)").
// The TABLE_DUMP 32-bit-AS subtypes are not in the RFC: bgpdump and some collectors use them.

export const MRT_HEADER_LEN = 12;
/** BGP4MP_ET / *_ET records carry a 4-octet microsecond field after the common header. */
export const MRT_ET_HEADER_LEN = 16;

export const MRT_TYPE = {
  OSPFV2: 11,
  TABLE_DUMP: 12,
  TABLE_DUMP_V2: 13,
  BGP4MP: 16,
  BGP4MP_ET: 17,
  ISIS: 32,
  ISIS_ET: 33,
  OSPFV3: 48,
  OSPFV3_ET: 49,
} as const;

/** Types whose header carries the microsecond field (RFC 6396 §3). */
export function isExtendedTimestampType(type: number): boolean {
  return type === MRT_TYPE.BGP4MP_ET || type === MRT_TYPE.ISIS_ET || type === MRT_TYPE.OSPFV3_ET;
}

/** TABLE_DUMP subtypes = AFI (RFC 6396 §4.2), plus the bgpdump 32-bit-AS variants. */
export const TABLE_DUMP = {
  AFI_IPV4: 1,
  AFI_IPV6: 2,
  AFI_IPV4_32BIT_AS: 3,
  AFI_IPV6_32BIT_AS: 4,
} as const;

/** TABLE_DUMP_V2 subtypes (RFC 6396 §4.3, RFC 8050 §3). */
export const TABLE_DUMP_V2 = {
  PEER_INDEX_TABLE: 1,
  RIB_IPV4_UNICAST: 2,
  RIB_IPV4_MULTICAST: 3,
  RIB_IPV6_UNICAST: 4,
  RIB_IPV6_MULTICAST: 5,
  RIB_GENERIC: 6,
  GEO_PEER_TABLE: 7,
  RIB_IPV4_UNICAST_ADDPATH: 8,
  RIB_IPV4_MULTICAST_ADDPATH: 9,
  RIB_IPV6_UNICAST_ADDPATH: 10,
  RIB_IPV6_MULTICAST_ADDPATH: 11,
  RIB_GENERIC_ADDPATH: 12,
} as const;

/** PEER_INDEX_TABLE peer type bits (RFC 6396 §4.3.1). */
export const PEER_TYPE = { IPV6: 0x01, AS4: 0x02 } as const;

/** BGP4MP / BGP4MP_ET subtypes (RFC 6396 §4.4, RFC 8050 §3). */
export const BGP4MP = {
  STATE_CHANGE: 0,
  MESSAGE: 1,
  ENTRY: 2,
  SNAPSHOT: 3,
  MESSAGE_AS4: 4,
  STATE_CHANGE_AS4: 5,
  MESSAGE_LOCAL: 6,
  MESSAGE_AS4_LOCAL: 7,
  MESSAGE_ADDPATH: 8,
  MESSAGE_AS4_ADDPATH: 9,
  MESSAGE_LOCAL_ADDPATH: 10,
  MESSAGE_AS4_LOCAL_ADDPATH: 11,
} as const;

/** What a BGP4MP message subtype implies: 4-octet ASNs, sent by the local side, ADD-PATH. */
export interface Bgp4mpMessageKind {
  readonly as4: boolean;
  readonly local: boolean;
  readonly addPath: boolean;
}

const messageKinds: ReadonlyMap<number, Bgp4mpMessageKind> = new Map([
  [BGP4MP.MESSAGE, { as4: false, local: false, addPath: false }],
  [BGP4MP.MESSAGE_AS4, { as4: true, local: false, addPath: false }],
  [BGP4MP.MESSAGE_LOCAL, { as4: false, local: true, addPath: false }],
  [BGP4MP.MESSAGE_AS4_LOCAL, { as4: true, local: true, addPath: false }],
  [BGP4MP.MESSAGE_ADDPATH, { as4: false, local: false, addPath: true }],
  [BGP4MP.MESSAGE_AS4_ADDPATH, { as4: true, local: false, addPath: true }],
  [BGP4MP.MESSAGE_LOCAL_ADDPATH, { as4: false, local: true, addPath: true }],
  [BGP4MP.MESSAGE_AS4_LOCAL_ADDPATH, { as4: true, local: true, addPath: true }],
]);

/** The message kind of a BGP4MP subtype, or undefined for state changes and others. */
export function bgp4mpMessageKind(subtype: number): Bgp4mpMessageKind | undefined {
  return messageKinds.get(subtype);
}

/** BGP FSM states as numbered in BGP4MP STATE_CHANGE (RFC 6396 §4.4.1). */
export const BGP_STATE = {
  IDLE: 1,
  CONNECT: 2,
  ACTIVE: 3,
  OPEN_SENT: 4,
  OPEN_CONFIRM: 5,
  ESTABLISHED: 6,
} as const;

const typeNames: Record<number, string> = {
  11: 'OSPFv2',
  12: 'TABLE_DUMP',
  13: 'TABLE_DUMP_V2',
  16: 'BGP4MP',
  17: 'BGP4MP_ET',
  32: 'ISIS',
  33: 'ISIS_ET',
  48: 'OSPFv3',
  49: 'OSPFv3_ET',
};

const subtypeNames: Record<number, Record<number, string>> = {
  12: { 1: 'AFI_IPv4', 2: 'AFI_IPv6', 3: 'AFI_IPv4_32BIT_AS', 4: 'AFI_IPv6_32BIT_AS' },
  13: Object.fromEntries(Object.entries(TABLE_DUMP_V2).map(([k, v]) => [v, k])),
  16: Object.fromEntries(Object.entries(BGP4MP).map(([k, v]) => [v, k])),
  17: Object.fromEntries(Object.entries(BGP4MP).map(([k, v]) => [v, k])),
};

export function mrtTypeName(type: number): string {
  return typeNames[type] ?? `TYPE_${type}`;
}

export function mrtSubtypeName(type: number, subtype: number): string {
  return subtypeNames[type]?.[subtype] ?? `SUBTYPE_${subtype}`;
}
