// The non-stop BGP scenario of the TCPR tests (test/tcpr-bgp*.test.ts): our speaker in the
// app namespace of a TcprTopology, BIRD 2 or FRR in the peer namespace (passive, eBGP
// multihop: the tcpr namespace forwards twice), the peer's view sampled every 250 ms
// while our speaker is killed with SIGKILL and started again, and an UPDATE the peer sends
// during the outage. `tcpr: true` runs the session through the TCPR middlebox with
// `--tcpr-state`; otherwise the pump only forwards (the baselines), with or without
// graceful restart on our side. `opens` says who connects: by default our speaker (the
// peer is passive); 'peer': the peer, and our speaker accepts the session on its listening
// port, which the recovery then reconnects from. `family: 'ipv6'` runs the session and
// its routes over IPv6 (the middlebox maps both families).
//
// References are the configured routes (prefixes, AS, the announcing side's address as
// next hop), never our speaker's own output.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../src/lab/index.js';
import type { Daemon, NeighborView, RouteView } from '../../src/lab/daemons/types.js';
import type { FrrDaemon } from '../../src/lab/daemons/frr.js';
import { TcprTopology, TCPR_ADDRESSES as A } from '../../src/lab/tcpr-topology.js';
import { ip } from '../../src/net/netns.js';

const FILTER = fileURLToPath(new URL('../../src/tcpr/pump-filter.js', import.meta.url));
export const OUR_AS = 65001;
export const PEER_AS = 65002;
export type Family = 'ipv4' | 'ipv6';

/** The routes each side originates, and the ones the peer changes during the outage. */
export interface RouteSet {
  family: Family;
  /** Our speaker's session address (the peer's neighbour address). */
  us: string;
  ours: string[];
  theirs: string[];
  duringOutage: string;
  withdrawn: string;
  /** Our routes as the peer should have them (from the configuration). */
  oursAtPeer: Map<string, string>;
  /** The peer's routes `prefixes` as we should have them. */
  theirsAtUs(prefixes: string[]): Map<string, string>;
}

export function routeSet(family: Family): RouteSet {
  const v = family === 'ipv4' ? 'v4' : 'v6';
  const ours = Array.from({ length: 20 }, (_, i) =>
    family === 'ipv4' ? `198.19.${i + 1}.0/24` : `2001:db8:a${hex(i + 1)}::/48`,
  );
  const theirs = Array.from({ length: 10 }, (_, i) =>
    family === 'ipv4' ? `198.19.${i + 101}.0/24` : `2001:db8:b${hex(i + 1)}::/48`,
  );
  return {
    family,
    us: A.app[v],
    ours,
    theirs,
    duringOutage: family === 'ipv4' ? '198.19.150.0/24' : '2001:db8:c000::/48',
    withdrawn: theirs[3]!,
    oursAtPeer: new Map(ours.map((p) => [p, `${OUR_AS} / ${A.app[v]}`])),
    theirsAtUs: (prefixes) => new Map(prefixes.map((p) => [p, `${PEER_AS} / ${A.peer[v]}`])),
  };
}

const hex = (n: number): string => n.toString(16).padStart(3, '0');

const V4 = routeSet('ipv4');
export const OURS = V4.ours;
export const THEIRS = V4.theirs;
export const DURING_OUTAGE = V4.duringOutage;
export const WITHDRAWN = V4.withdrawn;
export const NOTIFICATION_LOG = /notification|hold timer expired|Received: |BGP Error/i;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type PeerKind = 'bird' | 'frr';

/** prefix → "as path / next hop" (best routes only). */
export function ribView(routes: RouteView[]): Map<string, string> {
  return new Map(
    routes.filter((r) => r.best).map((r) => [r.prefix, `${r.asPath.join(' ')} / ${r.nextHops[0]}`]),
  );
}

export const oursAtPeer = V4.oursAtPeer;
export const theirsAtUs = V4.theirsAtUs;

export interface Scenario {
  topo: TcprTopology;
  /** The routes of the scenario's address family. */
  routes: RouteSet;
  /** `--tcpr-state` of our speaker (when `tcpr`). */
  stateDir: string;
  speaker: Daemon;
  peer: Daemon;
  /** Our routes as the peer has them. */
  peerRib(): Promise<Map<string, string>>;
  /** The peer's routes as our speaker has them. */
  ourRib(): Promise<Map<string, string>>;
  destroy(): Promise<void>;
}

export async function buildScenario(
  kind: PeerKind,
  o: {
    tcpr: boolean;
    gracefulRestart: boolean;
    /** `--tcpr-compact-threshold` (octets): tiny values make compaction run at once. */
    compactThreshold?: number;
    /** Who connects (default 'we': the peer is passive). */
    opens?: 'we' | 'peer';
    /** The session's address family (default IPv4). */
    family?: Family;
  },
): Promise<Scenario> {
  const r = routeSet(o.family ?? 'ipv4');
  const v = r.family === 'ipv4' ? 'v4' : 'v6';
  const topo = await TcprTopology.build();
  try {
    await topo.startPump(
      o.tcpr
        ? {
            filter: {
              module: FILTER,
              export: 'createFilter',
              options: {
                addresses: [
                  { internal: A.app.v4, external: A.app.v4 },
                  { internal: A.app.v6, external: A.app.v6 },
                ],
                channel: { addresses: [A.sideChannel.v4, A.sideChannel.v6] },
              },
            },
          }
        : {},
    );
    // FRR does not resolve next hops through a default route: a route to our subnet.
    await ip(['-n', topo.peer!.ns, 'route', 'add', A.appNet[v], 'via', A.tcprPeer[v]]);
    const speaker = topo.lab.daemon('nonstop', {
      name: 'ours',
      ns: topo.app!.ns,
      routerId: A.app.v4,
      asn: OUR_AS,
      logLevel: 'info',
      neighbors: [
        {
          address: A.peer[v],
          asn: PEER_AS,
          localAddress: A.app[v],
          holdTime: 30,
          gracefulRestart: o.gracefulRestart,
          passive: o.opens === 'peer',
        },
      ],
      originate: r.ours.map((prefix) => ({ prefix })),
      args: o.tcpr
        ? [
            '--tcpr-state',
            join(topo.lab.dir, 'tcpr-state'),
            ...(o.compactThreshold !== undefined
              ? ['--tcpr-compact-threshold', String(o.compactThreshold)]
              : []),
          ]
        : [],
    });
    const peer = topo.lab.daemon(kind, {
      name: kind,
      ns: topo.peer!.ns,
      routerId: A.peer.v4,
      asn: PEER_AS,
      neighbors: [
        {
          address: A.app[v],
          asn: OUR_AS,
          localAddress: A.peer[v],
          passive: o.opens !== 'peer',
          holdTime: 30,
          multihop: 4,
        },
      ],
      originate: r.theirs.map((prefix) => ({ prefix })),
    });
    const peerRib = async (): Promise<Map<string, string>> =>
      new Map([...ribView(await peer.routes(r.family))].filter(([p]) => r.oursAtPeer.has(p)));
    const ourRib = async (): Promise<Map<string, string>> =>
      new Map([...ribView(await speaker.routes(r.family))].filter(([p]) => !r.oursAtPeer.has(p)));
    // The passive side first, so the other's first connection finds it listening.
    for (const d of o.opens === 'peer' ? [speaker, peer] : [peer, speaker]) await d.start();
    await waitFor(peerRib, {
      what: `${kind} to learn our ${r.ours.length} routes`,
      until: (m) => m.size === r.ours.length,
      timeoutMs: 30_000,
      context: () => `${speaker.logs().slice(-3000)}\n${peer.logs().slice(-2000)}`,
    });
    await waitFor(ourRib, {
      what: `our speaker to learn ${kind}'s routes`,
      until: (m) => r.theirs.every((p) => m.has(p)),
      timeoutMs: 30_000,
      context: () => `${speaker.logs().slice(-3000)}\n${peer.logs().slice(-2000)}`,
    });
    return {
      topo,
      routes: r,
      stateDir: join(topo.lab.dir, 'tcpr-state'),
      speaker,
      peer,
      peerRib,
      ourRib,
      destroy: async () => {
        await Promise.all([speaker.stop(), peer.stop()]);
        await topo.destroy();
      },
    };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

export interface Outage {
  before: NeighborView | undefined;
  after: NeighborView | undefined;
  /** Seconds between the two neighbour readings: without a reset, uptime grows by this. */
  between: number;
  /** Samples where the peer's session was not Established or our routes not all there. */
  samples: { ms: number; state: string; missing: number }[];
  /** Our RIB of the peer's routes once the outage UPDATE was acted on. */
  ourRibAfter: Map<string, string>;
  /** Seconds from the kill to the end of sampling. */
  elapsed: number;
  peerLog: string;
  frrBefore?: FrrCounters;
  frrAfter?: FrrCounters;
}

export interface FrrCounters {
  notifications: number;
  refreshes: number;
}

/** FRR's per-neighbour message counters (`show bgp neighbors json`). */
export async function frrCounters(d: Daemon, neighbor: string): Promise<FrrCounters> {
  const out = await (d as FrrDaemon).vtysh('bgpd', 'show bgp neighbors json');
  const j = JSON.parse(out) as Record<string, { messageStats?: Record<string, number> }>;
  const m = j[neighbor]?.messageStats ?? {};
  return {
    notifications: (m['notificationsRecv'] ?? 0) + (m['notificationsSent'] ?? 0),
    refreshes: m['routeRefreshRecv'] ?? 0,
  };
}

/**
 * Kills our speaker (SIGKILL), lets the peer announce DURING_OUTAGE and withdraw
 * WITHDRAWN while it is dead, starts it again, waits until our RIB reflects that UPDATE,
 * and samples the peer's view every 250 ms meanwhile (and 1.5 s after).
 */
export async function killAndRestart(s: Scenario, kind: PeerKind): Promise<Outage> {
  const { speaker, peer, routes: r } = s;
  await sleep(1500); // a few KEEPALIVEs and checkpoints
  const [before] = await peer.neighbors();
  const tBefore = Date.now();
  const frrBefore = kind === 'frr' ? await frrCounters(peer, r.us) : undefined;
  const logFrom = peer.logs().length;
  const samples: Outage['samples'] = [];
  let sampling = true;
  const t0 = Date.now();
  const sampler = (async () => {
    while (sampling) {
      const [n] = await peer.neighbors();
      const rib = await s.peerRib();
      const missing = r.ours.filter((p) => rib.get(p) !== r.oursAtPeer.get(p)).length;
      if (n?.state !== 'established' || missing) {
        samples.push({ ms: Date.now() - t0, state: n?.state ?? 'none', missing });
      }
      await sleep(250);
    }
  })();
  speaker.kill('SIGKILL');
  await Promise.all((speaker.processes?.() ?? []).map((p) => p.exited));
  await peer.announce({ prefix: r.duringOutage });
  await peer.withdraw(r.withdrawn);
  await sleep(500);
  await speaker.start();
  const ourRibAfter = await waitFor(s.ourRib, {
    what: 'our restarted speaker to act on the UPDATE sent during the outage',
    until: (m) => m.has(r.duringOutage) && !m.has(r.withdrawn),
    timeoutMs: 40_000,
    context: () => speaker.logs().slice(-4000),
  });
  // Our routes back at the peer (a baseline without TCPR withdrew them), then 1.5 s more.
  await waitFor(s.peerRib, {
    what: `${kind} to have our routes again`,
    until: (m) => m.size === r.ours.length,
    timeoutMs: 40_000,
  });
  await sleep(1500);
  sampling = false;
  await sampler;
  const [after] = await peer.neighbors();
  return {
    before,
    after,
    between: (Date.now() - tBefore) / 1000,
    samples,
    ourRibAfter,
    elapsed: (Date.now() - t0) / 1000,
    peerLog: peer.logs().slice(logFrom),
    ...(frrBefore ? { frrBefore, frrAfter: await frrCounters(peer, r.us) } : {}),
  };
}
