// The one narrow interface every BGP implementation in the lab sits behind. An adapter
// translates a DaemonSpec into its implementation's config language, runs the daemon in a
// namespace, and reads its state back through the implementation's own CLI.

import type { ManagedProcess, RunOptions, RunResult } from '../../net/process.js';

export type Family = 'ipv4' | 'ipv6';

export interface NeighborSpec {
  address: string;
  asn: number;
  /** Source address of the session (and, for BIRD, the `local` address). */
  localAddress?: string;
  /** Only accept connections, never connect. */
  passive?: boolean;
  /** RFC 7911 ADD-PATH, send and receive. */
  addPath?: boolean;
  /** Address families to negotiate; default: the family of `address`. */
  families?: Family[];
  /** Seconds; default 9 (keepalive a third of it), so failures show quickly in tests. */
  holdTime?: number;
  /** Maximum prefixes accepted from the neighbour before a Cease 6/1 (nonstop). */
  maxPrefix?: number;
  /**
   * RFC 4724 restarting-speaker role (BIRD: `graceful restart on`, and `-R` recovery when
   * started again). Helper support is on by default where the daemon has it.
   */
  gracefulRestart?: boolean;
  /** iBGP: the neighbour is a route-reflector client of this daemon (RFC 4456). */
  routeReflectorClient?: boolean;
  /**
   * BIRD only: `next hop self` towards this neighbour, even where BIRD would pass a third-party
   * next hop on a shared subnet (RFC 4271 §5.1.3). FRR and nonstop set it for eBGP anyway.
   */
  nextHopSelf?: boolean;
  /**
   * BIRD 1.6 only: no MED on routes learned by BGP when exporting to this neighbour. BIRD
   * 1.6 passes a received MED on to eBGP neighbours, which BIRD 2, FRR, GoBGP and nonstop
   * do not (RFC 4271 §5.1.4: it MUST NOT be propagated to other neighbouring ASes).
   */
  noMedOut?: boolean;
  /**
   * FRR only: `neighbor X solo`, so this neighbour is never sent back the routes it sent.
   * FRR otherwise advertises them (the neighbour drops them as an AS-path loop) whenever the
   * neighbour shares an update group with others: its split horizon and its
   * `sender-as-path-loop-detection` only act on a peer alone in its update subgroup.
   * BIRD, GoBGP and nonstop never send a neighbour its own routes.
   */
  noEcho?: boolean;
  /**
   * eBGP multihop: the neighbour is this many hops away, not on a shared link (BIRD
   * `multihop N`, FRR `ebgp-multihop N`), e.g. behind the TCPR middlebox's namespace.
   */
  multihop?: number;
  /** BIRD only: raw options added inside this neighbour's `protocol bgp` block. */
  birdOptions?: string;
  /** Accept the neighbour's routes but send it none (export policy: reject all). */
  receiveOnly?: boolean;
}

export interface RouteSpec {
  prefix: string;
  nextHop?: string;
  /** "asn:value" standard communities. */
  communities?: string[];
  localPref?: number;
  med?: number;
}

export interface DaemonSpec {
  /** Unique within the lab; names the daemon's directory and log files. */
  name: string;
  /** Network namespace to run in (a lab node's `ns`). */
  ns: string;
  routerId: string;
  asn: number;
  neighbors: NeighborSpec[];
  originate?: RouteSpec[];
  /** Install best routes into the namespace's kernel FIB (BIRD, FRR). Default false. */
  kernelFib?: boolean;
  /** nonstop: keep the in-memory FIB when kernelFib is off (`fib.mode: memory`, the
   * default); false gives `fib.mode: none`, like the other daemons without a kernel FIB. */
  memoryFib?: boolean;
  /** nonstop: log level (default debug, so test failures come with the whole story). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** nonstop: extra arguments to node before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** nonstop: extra arguments to `nonstop speaker` after `-c FILE` (e.g. `--tcpr-state`). */
  args?: string[];
  /** Raw text appended to the generated configuration. */
  extra?: string;
}

export interface RouteView {
  prefix: string;
  family: Family;
  /** Next hops as the daemon reports them (first = primary). */
  nextHops: string[];
  asPath: number[];
  origin?: 'igp' | 'egp' | 'incomplete';
  localPref?: number;
  med?: number;
  communities: string[];
  /** Selected as best by the daemon (always true for adapters that only see one path). */
  best: boolean;
  /** Address of the neighbour it came from; undefined for locally originated routes. */
  peer?: string;
  pathId?: number;
}

export type SessionState =
  'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established';

export interface NeighborView {
  address: string;
  state: SessionState;
  /** The state exactly as the daemon printed it. */
  rawState: string;
  /** Seconds in Established, where the daemon reports it. */
  uptime?: number;
  /** Prefixes received (accepted), where the daemon reports it. */
  received?: number;
}

export interface Daemon {
  readonly kind: string;
  readonly spec: DaemonSpec;
  /** Directory holding this daemon's config, sockets and logs. */
  readonly dir: string;
  /** Starts the daemon and waits until its control interface answers. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL); idempotent. */
  stop(): Promise<void>;
  /** Sends a signal to the daemon's processes at once (default SIGKILL). */
  kill(signal?: NodeJS.Signals): void;
  running(): boolean;
  routes(family: Family): Promise<RouteView[]>;
  neighbors(): Promise<NeighborView[]>;
  announce(route: RouteSpec): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  /** Everything the daemon logged so far. */
  logs(): string;
  /** Its processes of the current run (the last start()): to watch them exit. */
  processes?(): readonly ManagedProcess[];
  /** Removes files the daemon leaves outside its directory (after its processes died). */
  removeLeftovers?(): void;
}

/** What the lab gives an adapter: a directory and a way to run things in its namespace. */
export interface DaemonHost {
  readonly dir: string;
  readonly ns: string;
  /** Starts a long-lived process in the namespace, tracked (and killed) by the lab. */
  spawn(
    cmd: string,
    args: readonly string[],
    opts: { name: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): ManagedProcess;
  /** Runs a command in the namespace and collects its output. */
  exec(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

export type DaemonFactory = (spec: DaemonSpec, host: DaemonHost) => Daemon;

export const familyOf = (addressOrPrefix: string): Family =>
  addressOrPrefix.includes(':') ? 'ipv6' : 'ipv4';

export const neighborFamilies = (n: NeighborSpec): Family[] => n.families ?? [familyOf(n.address)];

export const holdTimeOf = (n: NeighborSpec): number => n.holdTime ?? 9;

export function keepaliveOf(n: NeighborSpec): number {
  return Math.max(1, Math.floor(holdTimeOf(n) / 3));
}

/** Parses "65001:7" into its two halves; throws on anything else. */
export function parseCommunity(c: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(c);
  const hi = Number(m?.[1]);
  const lo = Number(m?.[2]);
  if (!m || hi > 0xffff || lo > 0xffff) throw new Error(`bad community "${c}": expected asn:value`);
  return [hi, lo];
}

/** Maps the many spellings of RFC 4271 states onto ours. */
export function normalizeState(raw: string): SessionState {
  const s = raw.toLowerCase().replace(/[^a-z]/g, '');
  if (s === 'established' || s === 'up') return 'established';
  if (s === 'opensent' || s === 'openconfirm' || s === 'connect' || s === 'active') return s;
  if (s === 'connected') return 'connect';
  return 'idle';
}
