// The FIB vote of a bug-tolerant router whose replicas are real daemons in namespaces
// (BTR paper §4.3: "the FIB updates are voted upon before being installed"; issue 5,
// "FIB: voted routes installed into the router's kernel routing table; each replica's FIB
// observed from its own namespace's table (rtnetlink)").
//
// - Observing: each replica's kernel table (its namespace's main table without connected,
//   boot, static and other non-routing routes) is followed (`observe: 'monitor'`, the
//   default) by a RouteMonitor (src/fib/route-monitor.ts: rtnetlink notifications read in a
//   worker thread), every change pushed into the vote as it happens; or (`observe: 'poll'`)
//   read with iproute2 every `pollMs` by the FIB voter's poller (src/btr/fib-vote.ts,
//   FibPoller) and diffed into the vote. Kinds without a kernel FIB (GoBGP) are not
//   observed: they sit out of the FIB vote. A replica under fault injection has its
//   observed FIB corrupted by its injector (FaultInjector.corruptFib, which rewrites a whole
//   table), as a buggy daemon would have installed it: with the monitor, its mirrored table
//   is corrupted and snapshotted into the vote every `pollMs`.
// - Installing: the voted routes go into the kernel table of the namespace this process
//   runs in — the router's — with NetlinkFib (protocol 214); every change the kernel
//   accepted is reported to `onInstalled`, the complete record of what the router's FIB
//   was given.
//
// Every replica votes from the start: a replica still catching up holds fewer routes, and
// the majority decides each prefix meanwhile.

import type { Clock, TimerHandle } from '../lib/clock.js';
import { formatAddr, formatPrefix, parseAddr, parsePrefix, type Prefix } from '../lib/ip.js';
import { ipJson } from '../net/netns.js';
import { NetlinkFib, type Fib } from '../fib/index.js';
import { RouteMonitor, netnsPath, type MonitoredRoute } from '../fib/route-monitor.js';
import type { FaultInjector } from '../btr/fault-inject.js';
import { FibPoller, FibVote, ObservedFib, type FibVoteEvent } from '../btr/fib-vote.js';
import type { InstanceFibRoute } from '../btr/instance.js';
import type { Strategy } from '../btr/voter.js';

interface IpRoute {
  dst?: string;
  gateway?: string;
  protocol?: string;
  type?: string;
  nexthops?: { gateway?: string }[];
}

/** Routes that are configuration, not routing: connected, boot-time, static, autoconf. */
const NOT_ROUTING = new Set(['kernel', 'boot', 'static', 'ra', 'dhcp']);

/** Kinds without a kernel FIB of their own (GoBGP needs zebra for one). */
export const NO_KERNEL_FIB: ReadonlySet<string> = new Set(['gobgp']);

/** The routing routes of a namespace's main kernel table (see the header). */
export async function namespaceFibRoutes(ns: string): Promise<InstanceFibRoute[]> {
  const out: InstanceFibRoute[] = [];
  for (const fam of ['-4', '-6'] as const) {
    const routes = await ipJson<IpRoute[]>(ns, [fam, 'route', 'show', 'table', 'main']);
    for (const r of routes) {
      if (!r.dst || NOT_ROUTING.has(r.protocol ?? '')) continue;
      if (fam === '-6' && r.dst.startsWith('fe80:')) continue;
      const dst =
        r.dst === 'default'
          ? fam === '-4'
            ? '0.0.0.0/0'
            : '::/0'
          : r.dst.includes('/')
            ? r.dst
            : `${r.dst}/${fam === '-4' ? 32 : 128}`;
      const gws = [r.gateway, ...(r.nexthops ?? []).map((h) => h.gateway)].filter(
        (g): g is string => !!g,
      );
      out.push({ prefix: dst, gateways: [...new Set(gws)].sort() });
    }
  }
  return out;
}

export interface RouterFibReplica {
  /** The replica's name in the vote. */
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Lab daemon kind (kinds in NO_KERNEL_FIB are left out). */
  readonly kind: string;
  /** Its fault injector, if its outputs are corrupted on purpose. */
  readonly faults?: FaultInjector;
}

export interface RouterFibOptions {
  readonly replicas: readonly RouterFibReplica[];
  readonly strategy: Strategy;
  readonly steadyMs: number;
  readonly clock: Clock;
  /** How the replicas' tables are observed (see the header; default 'monitor'). */
  readonly observe?: 'monitor' | 'poll';
  /** Poll interval of the replicas' tables, or of a faulty replica's snapshot (ms, default 200). */
  readonly pollMs?: number;
  readonly onEvent?: (e: FibVoteEvent) => void;
  /** A change the router's kernel table accepted (gateways undefined: deleted). */
  readonly onInstalled?: (prefix: string, gateways: string[] | undefined) => void;
  /** The router's FIB (default: NetlinkFib on this process's namespace, main table). */
  readonly fib?: Fib;
}

/** The running FIB vote of a real-daemon router (see the header). */
export class RouterFib {
  private timer: TimerHandle | undefined;

  private constructor(
    readonly vote: FibVote,
    private readonly poller: FibPoller | undefined,
    private readonly monitor: RouteMonitor | undefined,
    private readonly fib: Fib,
    /** Replicas taking part (those with a kernel FIB). */
    readonly voting: readonly string[],
  ) {}

  static async start(o: RouterFibOptions): Promise<RouterFib> {
    const inner = o.fib ?? (await NetlinkFib.open());
    const fib = new ObservedFib(inner, (prefix: Prefix, gws) =>
      o.onInstalled?.(
        formatPrefix(prefix),
        gws?.map((g) => formatAddr(g)),
      ),
    );
    const vote = new FibVote({
      strategy: o.strategy,
      clock: o.clock,
      steadyMs: o.steadyMs,
      fib,
      maxReplicas: Math.min(31, Math.max(8, o.replicas.length)),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    });
    const observed = o.replicas.filter((r) => !NO_KERNEL_FIB.has(r.kind));
    for (const r of observed) vote.addReplica(r.name, { voting: true });
    const pollMs = o.pollMs ?? 200;
    if (o.observe === 'poll') {
      const polled = observed.map((r) => ({
        name: r.name,
        fibRoutes: async () => {
          const routes = await namespaceFibRoutes(r.ns);
          return r.faults ? r.faults.corruptFib(routes) : routes;
        },
      }));
      const poller = new FibPoller({
        clock: o.clock,
        vote,
        replicas: () => polled,
        intervalMs: pollMs,
        ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      });
      poller.start();
      return new RouterFib(
        vote,
        poller,
        undefined,
        inner,
        observed.map((r) => r.name),
      );
    }
    // Monitored: mirrors of every table; clean replicas push each change, faulty ones are
    // corrupted and snapshotted every pollMs.
    const mirrors = observed.map(() => new Map<string, readonly string[]>());
    const known = observed.map(() => false);
    const routesOf = (n: number): InstanceFibRoute[] =>
      [...mirrors[n]!].map(([prefix, gws]) => ({ prefix, gateways: [...gws] }));
    const push = (n: number, prefix: string, gws: readonly string[] | undefined): void => {
      const p = parsePrefix(prefix);
      if (!p) return;
      const bytes = gws?.map((g) => parseAddr(g)).filter((g): g is Uint8Array => !!g);
      vote.route(observed[n]!.name, p, bytes);
    };
    const monitor = await RouteMonitor.start(
      { namespaces: observed.map((r) => netnsPath(r.ns)) },
      {
        snapshot: (n, routes: readonly MonitoredRoute[]) => {
          mirrors[n]!.clear();
          known[n] = true;
          for (const r of routes) mirrors[n]!.set(r.prefix, r.gateways);
          if (!observed[n]!.faults) vote.snapshot(observed[n]!.name, routesOf(n));
        },
        route: (n, add, r) => {
          if (add) mirrors[n]!.set(r.prefix, r.gateways);
          else mirrors[n]!.delete(r.prefix);
          if (!observed[n]!.faults) push(n, r.prefix, add ? r.gateways : undefined);
        },
        error: (e) => o.onEvent?.({ type: 'observe-failed', replica: '(all)', reason: e.message }),
      },
    );
    const faulty = observed.flatMap((r, n) => (r.faults ? [{ r, n }] : []));
    const rf = new RouterFib(
      vote,
      undefined,
      monitor,
      inner,
      observed.map((r) => r.name),
    );
    if (faulty.length > 0) {
      const tick = (): void => {
        // Not before the table is known: an injector shown an empty table skips its episode.
        for (const { r, n } of faulty)
          if (known[n]) vote.snapshot(r.name, r.faults!.corruptFib(routesOf(n)));
        rf.timer = o.clock.at(o.clock.now() + pollMs, tick);
      };
      tick();
    }
    return rf;
  }

  /** Stops polling and voting; the voted routes are removed from the router's table. */
  async close(): Promise<void> {
    this.poller?.stop();
    this.timer?.cancel();
    await this.monitor?.close();
    await this.vote.close();
    await this.fib.close();
  }
}
