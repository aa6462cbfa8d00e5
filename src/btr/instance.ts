// One replica of the bug-tolerant router, whatever implementation runs it (BTR paper §3.1
// "Running multiple router instances", ARCHITECTURE.md "Bug-tolerant router"): an
// unmodified BGP daemon that believes it is the router, in a place of its own (a network
// namespace carrying the router's addresses), whose sessions to the router's neighbours
// are transparently proxied to the hypervisor. The replica supervisor (restart, standby)
// and `nonstop btr` work against this interface only; adapters implement it above btr/
// (the lab's is `src/lab/btr-replica.ts`).
//
// How the hypervisor reaches an instance is plain data (`ReplicaProxy`), so it can cross a
// process boundary: the hypervisor runs in the router's namespace, the supervisor need
// not. `proxiedReplicaSpec` (transparent-proxy.ts) turns it into the hypervisor's
// `ReplicaSpec` over a Connector opened in the router's namespace.

import type { Endpoint } from '../net/transport.js';

/** The signals a supervisor or a fault injector sends to an instance. */
export type InstanceSignal = 'SIGKILL' | 'SIGSTOP' | 'SIGCONT';

/** How an instance's run ended: the first of its processes to exit. */
export interface InstanceExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** True when stop() asked for it; false for a crash or a kill(). */
  readonly expected: boolean;
}

/** One route of a replica's FIB as observed (the FIB voter's input, `canonicalFibValue`). */
export interface InstanceFibRoute {
  /** "198.19.1.0/24", "2001:db8:1::/48" (always with the length). */
  readonly prefix: string;
  /** Next-hop addresses, sorted; empty for a blackhole or unreachable route. */
  readonly gateways: readonly string[];
}

/**
 * Where the hypervisor meets a replica's sessions, per neighbour (transparent-proxy.ts).
 * Plain data: JSON-serialisable. Addresses are in the router's namespace (the hypervisor's
 * end of the replica's link) or on the replica's link, never the router's own.
 */
export interface ReplicaProxy {
  /**
   * 'accept': the replica connects to the neighbour's address, port 179, and lands where
   * the hypervisor listens (`accept`). 'connect': the hypervisor connects (`connect`) and
   * the replica sees the neighbour's address connect to its port 179.
   */
  readonly mode: 'accept' | 'connect';
  readonly neighbors: readonly ProxiedNeighbor[];
}

export interface ProxiedNeighbor {
  /** The neighbour's address, as in the router's configuration. */
  readonly address: string;
  /** accept mode: where the hypervisor listens for the replica's sessions to this neighbour. */
  readonly accept: Endpoint;
  /** connect mode: where the hypervisor connects (from `local`) to reach the replica as this neighbour. */
  readonly connect: { readonly remote: Endpoint; readonly local: string };
}

/** A running (or startable) replica: an unmodified daemon that believes it is the router. */
export interface RouterInstance {
  /** Unique among the router's replicas; the hypervisor's replica name. */
  readonly name: string;
  /** Implementation: 'nonstop', 'bird', 'bird1', 'frr', 'gobgp', … */
  readonly kind: string;
  /** How the hypervisor reaches its sessions. */
  readonly proxy: ReplicaProxy;
  /** Starts it (again, after an exit) and resolves once its control interface answers. */
  start(): Promise<void>;
  /** Graceful stop (then SIGKILL); idempotent. Reaps what a crash left running. */
  stop(): Promise<void>;
  /** Sends a signal to all of its processes at once (fault injection, supervision). */
  kill(signal: InstanceSignal): void;
  /** All of its processes are running (a SIGSTOPped one counts as running). */
  running(): boolean;
  /**
   * Called once per start(), when the first of its processes exits (the others may still
   * run: call stop() before start()). Returns a function that unsubscribes.
   */
  onExit(cb: (exit: InstanceExit) => void): () => void;
  /** Its FIB as observed now (its namespace's kernel table, or its own API). */
  fibRoutes(): Promise<InstanceFibRoute[]>;
}
