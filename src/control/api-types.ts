// The JSON shapes of the control API (HTTP/1.1 on the speaker's Unix socket, optionally on
// localhost TCP). The speaker implements the handlers; `nonstop show` and scripts consume
// them. Field names are camelCase; times are ISO 8601 UTC strings; durations are seconds;
// addresses and prefixes are text ("198.18.0.2", "2001:db8::/32"); families use the config
// names ("ipv4-unicast"). Adding a field is compatible; renaming or removing one is not.

/** Endpoints. Path parameters must be URI-encoded (a prefix's "/" becomes %2F). */
export const API_PATHS = {
  status: '/status',
  neighbors: '/neighbors',
  neighbor: '/neighbors/:address',
  neighborReset: '/neighbors/:address/reset',
  neighborRefresh: '/neighbors/:address/refresh',
  /** Query: prefix, family (ipv4|ipv6), limit. */
  rib: '/rib',
  /** Query: family (ipv4|ipv6), limit. */
  fib: '/fib',
  metrics: '/metrics',
} as const;

/** Fills a path template: apiPath('/neighbors/:address', { address: '2001:db8::1' }). */
export function apiPath(template: string, params: Readonly<Record<string, string>> = {}): string {
  return template.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`apiPath: no value for :${name} in ${template}`);
    return encodeURIComponent(v);
  });
}

/** Every error response (4xx, 5xx) has this body. */
export interface ApiError {
  error: {
    /** Stable, matchable: 'not_found', 'method_not_allowed', 'bad_request', 'internal', … */
    code: string;
    /** What was wrong and, where it helps, what to do. */
    message: string;
    /** For 500s: the id under which the details were logged by the speaker. */
    id?: string;
  };
}

/** RFC 4271 §8.2.2 states, plus how the operator configured the session. */
export type SessionState =
  'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';
/** enabled: normal; shutdown: administratively down; inactive: holds config/RIB, no network. */
export type AdminState = 'enabled' | 'shutdown' | 'inactive';

/** GET /status */
export interface StatusResponse {
  version: string;
  pid: number;
  routerId: string;
  asn: number;
  startedAt: string;
  uptimeSeconds: number;
}

/** Prefix counts of one neighbour (one family, or the total over its families). */
export interface PrefixCounts {
  /** In Adj-RIB-In before import policy. */
  received: number;
  /** After import policy (eligible for the decision process). */
  accepted: number;
  /** In Adj-RIB-Out, i.e. advertised to the neighbour. */
  sent: number;
}

/** The last thing that brought the session down. */
export interface SessionError {
  time: string;
  /** 'sent' / 'received': a NOTIFICATION; 'local': a transport or FSM event without one. */
  direction: 'sent' | 'received' | 'local';
  /** NOTIFICATION error code and subcode when there was one. */
  code?: number;
  subcode?: number;
  /** Human text, e.g. "Cease/Administrative Reset" or "hold timer expired". */
  message: string;
}

/** One row of GET /neighbors. */
export interface NeighborSummary {
  address: string;
  asn: number;
  description?: string;
  state: SessionState;
  adminState: AdminState;
  /** When `state` was entered. */
  since: string;
  /** Seconds in Established; null when not Established. */
  uptimeSeconds: number | null;
  /** Totals over the neighbour's families. */
  prefixes: PrefixCounts;
  lastError?: SessionError;
}

/** GET /neighbors */
export interface NeighborsResponse {
  routerId: string;
  asn: number;
  neighbors: NeighborSummary[];
}

/** One capability from an OPEN, decoded where known. */
export interface CapabilityInfo {
  /** IANA capability code. */
  code: number;
  /** e.g. "multiprotocol", "route-refresh", "4-octet-as", "add-path", "unknown". */
  name: string;
  /** Decoded value in words, e.g. "ipv4-unicast" or "ipv4-unicast receive/send". */
  value?: string;
}

/** Per message type, counted on the wire. */
export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
  total: number;
}

/** What was agreed with the neighbour in the OPEN exchange (null in the detail before it). */
export interface NegotiatedSession {
  holdTime: number;
  keepaliveTime: number;
  peerRouterId: string;
  as4: boolean;
  extendedMessage: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  families: string[];
  addPath: { receive: string[]; send: string[] };
  /** The neighbour's graceful-restart capability, if it sent one. */
  gracefulRestart: null | {
    restartTime: number;
    restarting: boolean;
    families: { family: string; forwardingPreserved: boolean }[];
  };
  capabilities: { local: CapabilityInfo[]; remote: CapabilityInfo[] };
}

/** GET /neighbors/:address */
export interface NeighborDetail extends NeighborSummary {
  type: 'ebgp' | 'ibgp';
  localAddress?: string;
  localPort?: number;
  remotePort?: number;
  config: {
    holdTime: number;
    connectRetry: number;
    passive: boolean;
    families: string[];
    import: string[];
    export: string[];
    routeReflectorClient: boolean;
    nextHopSelf: boolean;
    maxPrefix?: { limit: number; action: 'shutdown' | 'warn' };
  };
  negotiated: NegotiatedSession | null;
  counters: {
    messagesReceived: MessageCounters;
    messagesSent: MessageCounters;
    bytesReceived: number;
    bytesSent: number;
    /** Times the session reached Established, and left it. */
    established: number;
    dropped: number;
  };
  /** Per family. */
  families: (PrefixCounts & { family: string })[];
}

export type RibFamily = 'ipv4' | 'ipv6';

/** One path of a RIB entry. */
export interface RibPath {
  /** Chosen by the decision process. Exactly one path per entry is best (if any is usable). */
  best: boolean;
  /**
   * On the best path: the decision step that made it win over the runner-up
   * (decision/compare.ts step names: "LOCAL_PREF", "AS_PATH", "MED", "ROUTER_ID", …),
   * or "ONLY_PATH" when it had no competitor.
   */
  reason?: string;
  /** The comparison in words, e.g. "local-pref 200 > 100". */
  reasonText?: string;
  /** The neighbour it came from; absent for locally originated (static) routes. */
  peer?: string;
  peerAsn?: number;
  /** ADD-PATH path identifier (RFC 7911), when the neighbour sent one. */
  pathId?: number;
  nextHop: string;
  /** AS_PATH as text: "65002 65010 {65020,65021}"; "" for an empty path. */
  asPath: string;
  origin: 'igp' | 'egp' | 'incomplete';
  localPref?: number;
  med?: number;
  communities?: string[];
  largeCommunities?: string[];
  extendedCommunities?: string[];
  atomicAggregate?: boolean;
  aggregator?: string;
  originatorId?: string;
  clusterList?: string[];
  /** Kept as stale during a neighbour's graceful restart (RFC 4724). */
  stale?: boolean;
  /** When this path was last received or changed. */
  updated?: string;
}

export interface RibEntry {
  prefix: string;
  /** Best path first. */
  paths: RibPath[];
}

/** GET /rib?prefix=&family=&limit= — Loc-RIB candidates (post-import-policy paths). */
export interface RibResponse {
  entries: RibEntry[];
  /** Prefixes matching the query; more than entries.length when truncated. */
  total: number;
  truncated: boolean;
}

export interface FibEntry {
  prefix: string;
  nextHops: string[];
  /** Outgoing interface, when known (kernel mode). */
  interface?: string;
  /** False when installing failed; `error` says why. */
  installed: boolean;
  error?: string;
}

/** GET /fib?family=&limit= */
export interface FibResponse {
  mode: 'kernel' | 'memory' | 'none';
  /** Kernel routing table number (kernel mode). */
  table?: number;
  entries: FibEntry[];
  total: number;
  truncated: boolean;
}

/** POST /neighbors/:address/refresh body (optional). */
export interface RefreshRequest {
  /** in: ask the neighbour to resend (ROUTE-REFRESH) or re-run import policy; out: resend ours. */
  direction?: 'in' | 'out';
}

/** Response of POST …/reset and …/refresh. */
export interface ActionResponse {
  ok: boolean;
  /** What was done, for the operator: "sent Cease/Administrative Reset to 198.18.0.2". */
  message: string;
}
