// A bug-tolerant router of real daemons in a lab, with its external neighbours
// (docs/btr.md "Replicas in namespaces"): a router namespace running the hypervisor (the
// runner src/lab/btr-router-runner.ts, a process of its own there) between a real BIRD 2
// and a real FRR neighbour, with replicas (default nonstop and BIRD 2 in accept mode, FRR in
// connect mode), each in its own namespace carrying the router's addresses
// (src/lab/btr-replica.ts). Used by the real-daemon tests (test/btr-*.test.ts, through
// test/support/btr-lab.ts) and by `nonstop demo` with real daemons
// (src/cli/demo-btr-lab.ts).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultEvent, FaultSpec } from '../btr/fault-inject.js';
import type { HypervisorConfig, HypervisorEvent, VoteEvent } from '../btr/hypervisor.js';
import type { RouterInstance } from '../btr/instance.js';
import type { ManagedProcess } from '../net/process.js';
import { waitFor } from '../net/wait.js';
import { btrReplica, type BtrRouterSpec } from './btr-replica.js';
import type { BtrRouterConfig, BtrRouterLine } from './btr-router-runner.js';
import type { Daemon, RouteView } from './daemons/types.js';
import type { Lab, LabNode } from './lab.js';

/** The compiled hypervisor runner (dist/src/lab/btr-router-runner.js), to run in a namespace. */
export const btrRouterRunner = fileURLToPath(new URL('./btr-router-runner.js', import.meta.url));

export const ROUTER: BtrRouterSpec = {
  routerId: '198.18.0.1',
  asn: 65001,
  addresses: ['198.18.1.1/30', '198.18.2.1/30'],
  neighbors: [
    { address: '198.18.1.2', asn: 65002, localAddress: '198.18.1.1' },
    { address: '198.18.2.2', asn: 65003, localAddress: '198.18.2.1' },
  ],
};

export const BIRD_ROUTES = [
  { prefix: '198.19.2.0/24', communities: ['65002:9'] },
  { prefix: '198.19.22.0/24' },
];
export const FRR_ROUTES = [
  { prefix: '198.19.3.0/24', communities: ['65003:7', '65003:8'] },
  { prefix: '198.19.33.0/24' },
];

/** What each neighbour should learn from the router. */
export const WANT = {
  bird: FRR_ROUTES.map((r) => r.prefix),
  frr: BIRD_ROUTES.map((r) => r.prefix),
};

export interface Neighbours {
  readonly bird: Daemon;
  readonly frr: Daemon;
}

/** The external neighbours of one run, around a router node (`originate` adds routes). */
export async function neighbours(
  lab: Lab,
  prefix: string,
  router: LabNode,
  originate: { bird?: { prefix: string }[]; frr?: { prefix: string }[] } = {},
): Promise<Neighbours> {
  const nb = await lab.node(`${prefix}nb`);
  const nf = await lab.node(`${prefix}nf`);
  await lab.link(
    { node: router, addresses: ['198.18.1.1/30'] },
    { node: nb, addresses: ['198.18.1.2/30'] },
  );
  await lab.link(
    { node: router, addresses: ['198.18.2.1/30'] },
    { node: nf, addresses: ['198.18.2.2/30'] },
  );
  const bird = lab.daemon('bird', {
    name: `${prefix}nbird`,
    ns: nb.ns,
    routerId: '198.18.1.2',
    asn: 65002,
    neighbors: [{ address: '198.18.1.1', asn: 65001, localAddress: '198.18.1.2' }],
    originate: [...BIRD_ROUTES, ...(originate.bird ?? [])],
  });
  const frr = lab.daemon('frr', {
    name: `${prefix}nfrr`,
    ns: nf.ns,
    routerId: '198.18.2.2',
    asn: 65003,
    neighbors: [{ address: '198.18.2.1', asn: 65001, localAddress: '198.18.2.2' }],
    originate: [...FRR_ROUTES, ...(originate.frr ?? [])],
  });
  return { bird, frr };
}

/** A neighbour's best IPv4 routes, sorted: what the comparison with the reference is on. */
export async function table(d: Daemon): Promise<RouteView[]> {
  return (await d.routes('ipv4'))
    .filter((r) => r.best)
    .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

export const hasAll = (rs: RouteView[], prefixes: string[]): boolean =>
  prefixes.every((p) => rs.some((r) => r.prefix === p));

export interface BtrLabRouterOptions {
  /** Prefix of node and daemon names (several routers in one lab). Default ''. */
  readonly prefix?: string;
  readonly voting?: HypervisorConfig['voting'];
  /** Per replica name ('rnon', 'rbird', 'rfrr'): its fault injection. */
  readonly faults?: Readonly<Record<string, FaultSpec>>;
  readonly logSent?: boolean;
  /** Extra routes the neighbours originate. */
  readonly originate?: { bird?: { prefix: string }[]; frr?: { prefix: string }[] };
  /** The hypervisor's catch-up of returning replicas (default quiet 1000 ms, at most 10 s). */
  readonly catchUp?: HypervisorConfig['catchUp'];
  /** The router's FIB vote: replicas' kernel tables polled every `pollMs`, voted, installed. */
  readonly fib?: BtrRouterConfig['fib'];
  /** The replica set as [name, kind, mode] (default rnon, rbird, rfrr; see `btrLabRouter`). */
  readonly replicas?: readonly (readonly [string, string, 'accept' | 'connect'])[];
}

export interface BtrLabRouter {
  readonly node: LabNode;
  readonly neighbours: Neighbours;
  /** rnon (nonstop, accept), rbird (BIRD 2, accept), rfrr (FRR, connect); or `opts.replicas`. */
  readonly replicas: RouterInstance[];
  readonly hypervisor: ManagedProcess;
  /** Every JSON line the hypervisor printed so far. */
  lines(): BtrRouterLine[];
  events(): (HypervisorEvent | VoteEvent)[];
  faultEvents(): FaultEvent[];
  /** The last lines of the hypervisor's output, for failure messages. */
  context(): string;
  /** Start replicas and neighbours (the hypervisor runs from the start). */
  start(): Promise<void>;
  /** Wait until both neighbours hold every route of the other. */
  converged(): Promise<{ bird: RouteView[]; frr: RouteView[] }>;
}

/** A BTR router node with its neighbours, replicas and hypervisor (not started). */
export async function btrLabRouter(
  lab: Lab,
  opts: BtrLabRouterOptions = {},
): Promise<BtrLabRouter> {
  const prefix = opts.prefix ?? '';
  const node = await lab.node(`${prefix}rt`);
  const nb = await neighbours(lab, prefix, node, opts.originate);
  // nonstop and BIRD connect, as they would to the neighbours; FRR is passive and the
  // hypervisor connects to it (the paper's virtd).
  const kinds = opts.replicas ?? [
    ['rnon', 'nonstop', 'accept'],
    ['rbird', 'bird', 'accept'],
    ['rfrr', 'frr', 'connect'],
  ];
  const replicas = await Promise.all(
    kinds.map(([name, kind, mode], slot) =>
      btrReplica(lab, {
        name: `${prefix}${name}`,
        kind,
        mode,
        router: ROUTER,
        routerNode: node,
        slot,
        daemon: { logLevel: 'info' },
      }),
    ),
  );
  const cfg: BtrRouterConfig = {
    hypervisor: hypervisorFor(ROUTER, opts),
    replicas: replicas.map((r, i) => {
      const f = opts.faults?.[kinds[i]![0]];
      return {
        name: r.name,
        proxy: r.proxy,
        ns: r.node.ns,
        kind: r.kind,
        ...(f ? { faults: f } : {}),
      };
    }),
    ...(opts.logSent ? { logSent: true } : {}),
    ...(opts.fib ? { fib: opts.fib } : {}),
  };
  const cfgFile = join(lab.dir, `${prefix}btr-router.json`);
  writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
  const hv = lab.spawn(node, process.execPath, [btrRouterRunner, cfgFile], {
    name: `${prefix}hypervisor`,
  });
  // The log only grows: parse each complete line once.
  const parsed: BtrRouterLine[] = [];
  let consumed = 0;
  const lines = (): BtrRouterLine[] => {
    const text = hv.logTail(1e9);
    const end = text.lastIndexOf('\n') + 1;
    if (end > consumed) {
      for (const l of text.slice(consumed, end).split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          parsed.push(JSON.parse(l) as BtrRouterLine);
        } catch {
          // not one of ours
        }
      }
      consumed = end;
    }
    return parsed;
  };
  const context = (): string => `hypervisor:\n${hv.logTail(4000)}`;
  const converged = async (d: Daemon, prefixes: string[]): Promise<RouteView[]> =>
    waitFor(() => table(d), {
      what: `${d.spec.name} to learn ${prefixes.join(', ')}`,
      until: (rs) => hasAll(rs, prefixes),
      timeoutMs: 30_000,
      context,
    });
  return {
    node,
    neighbours: nb,
    replicas,
    hypervisor: hv,
    lines,
    events: () => lines().flatMap((l) => ('event' in l ? [l.event] : [])),
    faultEvents: () => lines().flatMap((l) => ('fault' in l ? [l.fault] : [])),
    context,
    start: async () => {
      await Promise.all([...replicas.map((r) => r.start()), nb.bird.start(), nb.frr.start()]);
    },
    converged: async () => {
      const [bird, frr] = await Promise.all([
        converged(nb.bird, WANT.bird),
        converged(nb.frr, WANT.frr),
      ]);
      return { bird, frr };
    },
  };
}

/** The hypervisor's side of the lab router: its sessions to the neighbours, the voting. */
export function hypervisorFor(
  router: BtrRouterSpec,
  o: { voting?: HypervisorConfig['voting']; catchUp?: HypervisorConfig['catchUp'] } = {},
): BtrRouterConfig['hypervisor'] {
  return {
    router: { asn: router.asn, routerId: router.routerId },
    neighbors: router.neighbors.map((n) => ({
      name: n.address,
      address: n.address,
      asn: n.asn,
      localAddress: n.localAddress!,
      holdTime: 9,
      fsm: { connectRetryTime: 1 },
    })),
    listen: router.neighbors.map((n) => ({ address: n.localAddress!, port: 179 })),
    voting: o.voting ?? { strategy: { kind: 'continuous-majority' }, steadyMs: 1000 },
    catchUp: o.catchUp ?? { quietMs: 1000, maxMs: 10_000 },
  };
}

/** A fault the update voter of a neighbour reported (its event names replica and key). */
export type VoteFault = VoteEvent & { event: { type: 'fault' } };

/** The update voters' faults among the runner's lines from `sinceWall` on. */
export function voteFaults(lines: readonly BtrRouterLine[], sinceWall: number): VoteFault[] {
  return lines.flatMap((l) =>
    'event' in l && l.wall >= sinceWall && l.event.type === 'vote' && l.event.event.type === 'fault'
      ? [l.event as VoteFault]
      : [],
  );
}
