// Forwarding information base: the one interface behind which routes are installed, whether
// into the Linux kernel (rtnetlink, netlink-fib.ts) or into memory (memory-fib.ts, for tests
// and for bug-tolerant-router replicas whose FIB is observed rather than installed).

import { AFI, formatAddr, formatPrefix, type Afi, type Prefix } from '../lib/ip.js';

/** One next hop. An IPv6 gateway for an IPv4 route (RFC 8950) is allowed. */
export interface FibNextHop {
  readonly gateway: Uint8Array;
  /** Outgoing interface; needed for link-local gateways, optional otherwise. */
  readonly ifindex?: number;
}

export interface FibRoute {
  readonly prefix: Prefix;
  /** Usually one; several make an ECMP route. */
  readonly nextHops: readonly FibNextHop[];
  /** Kernel route priority (RTA_PRIORITY); the kernel's default when absent. */
  readonly metric?: number;
  /**
   * Routing protocol number (rtm_protocol). Filled in by `list()`; ignored by `apply()`,
   * which stamps the FIB's own number so that `flush()` can find exactly its routes.
   */
  readonly proto?: number;
}

/**
 * `add` fails (EEXIST) if the prefix is already present; `replace` adds or replaces;
 * `delete` fails (ESRCH) if the prefix is absent.
 */
export type FibChange =
  | { readonly op: 'add' | 'replace'; readonly route: FibRoute }
  | { readonly op: 'delete'; readonly prefix: Prefix };

/** One change that was not applied; the others in the batch were. */
export interface FibFailure {
  /** Position of the change in the batch given to `apply()`. */
  readonly index: number;
  readonly change: FibChange;
  /** errno name (`ENETUNREACH`, `EEXIST`, `ESRCH`, ...) or `EINVAL` for bad input. */
  readonly code: string;
  /** Human-readable: the route, what failed, and the kernel's own explanation if any. */
  readonly message: string;
}

export interface ApplyReport {
  readonly applied: number;
  readonly failed: readonly FibFailure[];
}

export interface Fib {
  /** Apply a batch in order. Per-change failures are reported, never thrown. */
  apply(changes: readonly FibChange[]): Promise<ApplyReport>;
  /** Longest-prefix match, where the FIB can answer synchronously. */
  lookup?(addr: Uint8Array): FibRoute | undefined;
  /** Routes this FIB owns (for the kernel FIB: its table and protocol number). */
  list(afi?: Afi): Promise<FibRoute[]>;
  /** Remove every route this FIB owns. */
  flush(): Promise<void>;
  /** Release resources; routes are flushed first unless `keepRoutes`. */
  close(opts?: { readonly keepRoutes?: boolean }): Promise<void>;
}

/** Thrown for unusable configuration or environment (not for per-route failures). */
export class FibError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FibError';
  }
}

export function changePrefix(c: FibChange): Prefix {
  return c.op === 'delete' ? c.prefix : c.route.prefix;
}

/** `198.18.1.0/24 via 198.18.0.2` — for messages and logs. */
export function describeChange(c: FibChange): string {
  if (c.op === 'delete') return `delete ${formatPrefix(c.prefix)}`;
  const via = c.route.nextHops
    .map((h) => formatAddr(h.gateway) + (h.ifindex != null ? `%${h.ifindex}` : ''))
    .join(', ');
  return `${c.op} ${formatPrefix(c.route.prefix)} via ${via || '(none)'}`;
}

/** Input checks shared by every FIB: returns what is wrong, or undefined. */
export function validateChange(c: FibChange): string | undefined {
  const p = changePrefix(c);
  const width = p.afi === AFI.IPv4 ? 4 : p.afi === AFI.IPv6 ? 16 : -1;
  if (width < 0) return `unsupported address family ${String(p.afi)}`;
  if (p.addr.length !== width) return `prefix address has ${p.addr.length} bytes, want ${width}`;
  if (!Number.isInteger(p.len) || p.len < 0 || p.len > width * 8) {
    return `prefix length ${p.len} out of range 0..${width * 8}`;
  }
  if (c.op === 'delete') return undefined;
  const r = c.route;
  if (r.nextHops.length === 0) return 'route has no next hop';
  for (const h of r.nextHops) {
    if (h.gateway.length !== 4 && h.gateway.length !== 16) {
      return `gateway has ${h.gateway.length} bytes, want 4 or 16`;
    }
    if (h.ifindex != null && (!Number.isInteger(h.ifindex) || h.ifindex <= 0)) {
      return `bad interface index ${h.ifindex}`;
    }
  }
  if (r.metric != null && (!Number.isInteger(r.metric) || r.metric < 0 || r.metric > 0xffffffff)) {
    return `metric ${r.metric} out of range 0..4294967295`;
  }
  return undefined;
}
