// The typed speaker configuration (docs/speaker.md, "Configuration"): what
// parseSpeakerConfig returns, with every default filled in, addresses as bytes and
// policies compiled. Field names are the YAML keys in camelCase.

import { AFI, type Afi, type Prefix } from '../../lib/ip.js';
import type { CompiledPolicy, PolicyEnv } from '../../policy/index.js';
import { SAFI } from '../../wire/index.js';
import type { ConfigError } from './errors.js';

/** Address families a neighbor can negotiate (RFC 4760 AFI/SAFI), by config name. */
export const FAMILIES = {
  'ipv4-unicast': { afi: AFI.IPv4, safi: SAFI.UNICAST },
  'ipv6-unicast': { afi: AFI.IPv6, safi: SAFI.UNICAST },
} as const;
export type FamilyName = keyof typeof FAMILIES;
export const FAMILY_NAMES = Object.keys(FAMILIES) as FamilyName[];

export interface Family {
  readonly name: FamilyName;
  readonly afi: Afi;
  readonly safi: number;
}

export function family(name: FamilyName): Family {
  return { name, ...FAMILIES[name] };
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'text'] as const;
export const FIB_MODES = ['kernel', 'memory', 'none'] as const;
export const MAX_PREFIX_ACTIONS = ['shutdown', 'warn'] as const;

/** The defaults of docs/speaker.md, in one place. */
export const DEFAULTS = {
  port: 179,
  controlSocket: '/run/nonstop/speaker.sock',
  logLevel: 'info',
  logFormat: 'json',
  fibMode: 'memory',
  fibTable: 254,
  mrtInterval: 300,
  restartTime: 120,
  staleRoutesTime: 360,
  holdTime: 90,
  connectRetry: 120,
  delayOpen: 0,
  sendMax: 4,
  maxPrefixAction: 'shutdown',
  mrai: 0,
} as const;

export interface Endpoint {
  readonly address: Uint8Array;
  readonly port: number;
}

export interface DecisionConfig {
  readonly deterministicMed: boolean;
  readonly alwaysCompareMed: boolean;
  readonly medMissingAsWorst: boolean;
  readonly ignoreAsPathLength: boolean;
  readonly preferOlder: boolean;
}

export interface FibConfig {
  readonly mode: (typeof FIB_MODES)[number];
  readonly table: number;
  readonly keepOnExit: boolean;
}

export interface MrtConfig {
  /** Periodic TABLE_DUMP_V2 snapshots; absent = off. `path` takes strftime escapes. */
  readonly ribDump?: { readonly path: string; readonly interval: number };
  /** BGP4MP update log, a new file every `rotate` seconds; absent = off. */
  readonly updates?: { readonly path: string; readonly rotate: number };
}

export interface StaticRoute {
  readonly prefix: Prefix;
  /** `self`: our address on each session (the NEXT_HOP rules of RFC 4271 §5.1.3 apply). */
  readonly nextHop: 'self' | Uint8Array;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly (readonly [number, number, number])[];
  readonly localPref?: number;
  readonly med?: number;
}

export interface AddPathConfig {
  readonly receive: readonly Family[];
  readonly send: readonly Family[];
  /** How many paths per prefix we send when sending is negotiated. */
  readonly sendMax: number;
}

export interface MaxPrefixConfig {
  readonly limit: number;
  readonly action: (typeof MAX_PREFIX_ACTIONS)[number];
  /** Seconds before reconnecting after a shutdown; 0 = stay down until reset by hand. */
  readonly restart: number;
}

/** A neighbor's policy for one direction. */
export interface PolicyChain {
  /** The configured policy names, in order; empty when none is configured. */
  readonly names: readonly string[];
  /** What to run: the configured chain, or the RFC 8212 / iBGP default when empty. */
  readonly chain: readonly CompiledPolicy[];
}

export interface NeighborConfig {
  /** The address as text (canonical form): the neighbor's identity across reloads. */
  readonly key: string;
  readonly address: Uint8Array;
  readonly asn: number;
  /** asn equals the local ASN. */
  readonly ibgp: boolean;
  readonly description?: string;
  /** Absent: chosen by the kernel. */
  readonly localAddress?: Uint8Array;
  readonly port: number;
  readonly passive: boolean;
  readonly holdTime: number;
  readonly connectRetry: number;
  readonly delayOpen: number;
  readonly families: readonly Family[];
  readonly addPath: AddPathConfig;
  readonly import: PolicyChain;
  readonly export: PolicyChain;
  readonly nextHopSelf: boolean;
  /** Keep the routes as received (pre-policy), so import policy changes re-run locally. */
  readonly softReconfigurationInbound: boolean;
  readonly routeReflectorClient: boolean;
  readonly maxPrefix?: MaxPrefixConfig;
  readonly gracefulRestart: boolean;
  readonly mrai: number;
  readonly inactive: boolean;
}

export interface SpeakerConfig {
  /** The file it was read from, as given. */
  readonly file: string;
  readonly routerId: Uint8Array;
  readonly asn: number;
  readonly listen: readonly Endpoint[];
  readonly control: {
    readonly socket: string;
    /** A loopback `host:port` as written (the control server's `http` option). */
    readonly http?: string;
  };
  readonly log: {
    readonly level: (typeof LOG_LEVELS)[number];
    readonly format: (typeof LOG_FORMATS)[number];
  };
  readonly decision: DecisionConfig;
  readonly fib: FibConfig;
  readonly mrt: MrtConfig;
  readonly gracefulRestart: { readonly restartTime: number; readonly staleRoutesTime: number };
  readonly routeReflector: { readonly clusterId: Uint8Array };
  readonly static: readonly StaticRoute[];
  /** Every policy under `policies`, compiled, by name. */
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  /** The named prefix and AS-path lists the policies refer to. */
  readonly policyEnv: PolicyEnv;
  /**
   * A text per policy that changes whenever the policy or a list it refers to changes;
   * diffConfigs compares these to find neighbors that need soft reconfiguration.
   */
  readonly policyFingerprints: ReadonlyMap<string, string>;
  readonly neighbors: readonly NeighborConfig[];
  /** Not errors, but worth telling (e.g. RFC 8212 rejecting everything on an eBGP peer). */
  readonly warnings: readonly ConfigError[];
}
