// The hypervisor end to end, in one process (issue 5, Must show 1 and 3, on in-memory
// transports): three `nonstop speaker` replicas, each in its own MemoryNetwork namespace
// where the hypervisor answers as the neighbours, and real neighbours that are speakers
// too. Compared against a reference run: the same config on one ordinary speaker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { MemoryNetwork } from '../net/memory.js';
import type { Speaker } from '../speaker/speaker.js';
import {
  Hypervisor,
  type HypervisorEvent,
  type ReplicaSpec,
  type VoteEvent,
} from './hypervisor.js';
import {
  KillableConnector,
  RouteTable,
  makeSpeaker,
  routerCapabilities,
  settle,
  speakerConfig,
} from './testing.js';
import type { Strategy } from './voter.js';

const ROUTER = '198.18.0.1';
const N1 = '198.18.0.2';
const N2 = '198.18.0.3';

const ROUTER_YAML = `
router-id: ${ROUTER}
asn: 65001
listen: [{ address: ${ROUTER}, port: 179 }]
static:
  - { prefix: 198.18.200.0/24, communities: [65001:200] }
  - { prefix: "2001:db8:200::/48" }
policies: { all: { default: accept } }
neighbors:
  - { address: ${N1}, asn: 65002, local-address: ${ROUTER}, families: [ipv4-unicast, ipv6-unicast], import: [all], export: [all] }
  - { address: ${N2}, asn: 65003, local-address: ${ROUTER}, families: [ipv4-unicast, ipv6-unicast], import: [all], export: [all] }
`;

const N1_YAML = `
router-id: ${N1}
asn: 65002
listen: [{ address: ${N1}, port: 179 }]
static:
  - { prefix: 198.18.10.0/24, communities: [65002:1, 65002:2] }
  - { prefix: 198.18.11.0/24, med: 20 }
  - { prefix: 198.18.12.0/23 }
  - { prefix: 198.18.64.0/18, large-communities: [65002:1:1] }
  - { prefix: "2001:db8:10::/48" }
  - { prefix: "2001:db8:11::/48", communities: [65002:9] }
policies: { all: { default: accept } }
neighbors:
  - { address: ${ROUTER}, asn: 65001, passive: true, families: [ipv4-unicast, ipv6-unicast], import: [all], export: [all] }
`;

const N2_YAML = `
router-id: ${N2}
asn: 65003
listen: [{ address: ${N2}, port: 179 }]
static:
  - { prefix: 198.18.30.0/24 }
policies: { all: { default: accept } }
neighbors:
  - { address: ${ROUTER}, asn: 65001, passive: true, families: [ipv4-unicast, ipv6-unicast], import: [all], export: [all] }
`;

const routerCfg = speakerConfig(ROUTER_YAML);

interface Neighbors {
  n1: Speaker;
  n2: Speaker;
  /** What each neighbour received from the router. */
  fromRouter: { n1: RouteTable; n2: RouteTable };
}

function neighbors(net: MemoryNetwork, clock: ManualClock): Neighbors {
  const fromRouter = { n1: new RouteTable(), n2: new RouteTable() };
  const n1 = makeSpeaker(speakerConfig(N1_YAML), net.host(N1), clock, (_n, b, local) => {
    if (!local) fromRouter.n1.apply(b);
  });
  const n2 = makeSpeaker(speakerConfig(N2_YAML), net.host(N2), clock, (_n, b, local) => {
    if (!local) fromRouter.n2.apply(b);
  });
  return { n1, n2, fromRouter };
}

/** The reference: one ordinary speaker with the router's config. */
async function referenceRun(): Promise<Neighbors> {
  const net = new MemoryNetwork();
  const clock = new ManualClock(0);
  const nb = neighbors(net, clock);
  const router = makeSpeaker(routerCfg, net.host(ROUTER), clock);
  await nb.n1.start();
  await nb.n2.start();
  await router.start();
  await settle(clock, 3000, 60);
  await router.stop();
  await nb.n1.stop();
  await nb.n2.stop();
  return nb;
}

interface World extends Neighbors {
  net: MemoryNetwork;
  clock: ManualClock;
  hv: Hypervisor;
  replicas: Speaker[];
  processes: KillableConnector[];
  namespaces: MemoryNetwork[];
  events: (HypervisorEvent | VoteEvent)[];
  stop(): Promise<void>;
}

async function btrWorld(
  opts: {
    strategy?: Strategy;
    replicas?: (i: number, ns: MemoryNetwork) => Partial<ReplicaSpec>;
    random?: () => number;
  } = {},
): Promise<World> {
  const net = new MemoryNetwork();
  const clock = new ManualClock(0);
  const nb = neighbors(net, clock);
  const events: (HypervisorEvent | VoteEvent)[] = [];
  const namespaces = [0, 1, 2].map(() => new MemoryNetwork());
  const hv = new Hypervisor(
    {
      router: { asn: 65001, routerId: ROUTER },
      neighbors: [N1, N2].map((a, i) => ({
        name: `n${i + 1}`,
        address: a,
        asn: 65002 + i,
        localAddress: ROUTER,
        capabilities: routerCapabilities(routerCfg, a),
      })),
      replicas: namespaces.map((ns, i) => ({
        name: `r${i}`,
        connector: ns,
        ...opts.replicas?.(i, ns),
      })),
      voting: { strategy: opts.strategy ?? { kind: 'continuous-majority' }, steadyMs: 1000 },
      catchUp: { quietMs: 500, maxMs: 5000 },
    },
    {
      connector: net.host(ROUTER),
      clock,
      ...(opts.random ? { random: opts.random } : {}),
      onEvent: (e) => events.push(e),
    },
  );
  const processes = namespaces.map((ns) => new KillableConnector(ns.host(ROUTER)));
  const replicas = processes.map((p) => makeSpeaker(routerCfg, p, clock));
  await nb.n1.start();
  await nb.n2.start();
  await hv.start();
  for (const r of replicas) await r.start();
  return {
    ...nb,
    net,
    clock,
    hv,
    replicas,
    processes,
    namespaces,
    events,
    async stop() {
      for (const r of replicas) await r.stop();
      await hv.stop();
      await nb.n1.stop();
      await nb.n2.stop();
    },
  };
}

const faults = (w: World): HypervisorEvent[] =>
  w.events.filter((e): e is HypervisorEvent => e.type === 'replica-fault');

test('transparency: each neighbour sees one session and gets the routes one ordinary router sends', async () => {
  const ref = await referenceRun();
  const w = await btrWorld();
  await settle(w.clock, 3000, 60);
  assert.deepEqual(w.n1.states(), { [ROUTER]: 'Established' });
  assert.deepEqual(w.n2.states(), { [ROUTER]: 'Established' });
  assert.equal(w.net.connections, 2, 'one connection per neighbour on the real side');
  for (const r of w.replicas) {
    assert.deepEqual(r.states(), { [N1]: 'Established', [N2]: 'Established' });
  }
  assert.ok(
    ref.fromRouter.n2.routes.size >= 8,
    'the reference router sent N1’s and its own routes',
  );
  assert.deepEqual(w.fromRouter.n2.sorted(), ref.fromRouter.n2.sorted(), 'N2: same routes');
  assert.deepEqual(w.fromRouter.n1.sorted(), ref.fromRouter.n1.sorted(), 'N1: same routes');
  assert.deepEqual(faults(w), []);
  for (const s of w.hv.status()) {
    assert.equal(s.disagreements, 0);
    assert.ok(s.replicas.every((r) => r.voting && r.feed?.state === 'live'));
  }
  await w.stop();
});

/** A seeded uniform [0, 1) source (mulberry32). */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('diversity: the hypervisor connects to the replicas, staggered, with 1–10 ms update delays; the neighbours get the same routes', async () => {
  const ref = await referenceRun();
  const w = await btrWorld({
    random: seeded(42),
    replicas: (i) => ({
      mode: 'connect',
      endpoint: { address: ROUTER, port: 179 },
      startDelayMs: 300 * i,
      delay: { minMs: 1, maxMs: 10 },
    }),
  });
  await settle(w.clock, 5000, 100);
  assert.equal(w.net.connections, 2);
  assert.deepEqual(w.fromRouter.n2.sorted(), ref.fromRouter.n2.sorted());
  assert.deepEqual(w.fromRouter.n1.sorted(), ref.fromRouter.n1.sorted());
  assert.deepEqual(faults(w), []);
  const ups = w.events.flatMap((e) =>
    e.type === 'replica-up' && e.neighbor === 'n1' ? [{ r: e.replica, at: e.at }] : [],
  );
  assert.deepEqual(
    ups.map((u) => u.r),
    ['r0', 'r1', 'r2'],
    'sessions come up in the staggered order',
  );
  assert.ok(ups[1]!.at - ups[0]!.at >= 300 && ups[2]!.at - ups[1]!.at >= 300, JSON.stringify(ups));
  await w.stop();
});

test('a neighbour session reset: the replicas’ sessions to it end with its Cease, its routes are withdrawn, and all comes back with the new session', async () => {
  const ref = await referenceRun();
  const w = await btrWorld();
  await settle(w.clock, 3000, 60);
  const before = { n1: w.fromRouter.n1.sorted(), n2: w.fromRouter.n2.sorted() };
  assert.deepEqual(before.n2, ref.fromRouter.n2.sorted());
  await w.n1.stop('maintenance'); // Cease / Administrative Shutdown
  await settle(w.clock, 1000, 20);
  assert.equal(w.hv.incarnation('n1'), undefined, 'the history went with the session');
  // N2 keeps only the router's own routes (N1's were withdrawn, as one router would).
  assert.equal(w.fromRouter.n2.routes.size, 2);
  for (const r of w.replicas) assert.notEqual(r.states()[N1], 'Established');
  // N1 comes back; the hypervisor reconnects, the replicas are served again.
  const n1 = makeSpeaker(speakerConfig(N1_YAML), w.net.host(N1), w.clock, (_n, b, local) => {
    if (!local) w.fromRouter.n1.apply(b);
  });
  w.fromRouter.n1.routes.clear();
  await n1.start();
  await settle(w.clock, 20_000, 200);
  assert.deepEqual(w.fromRouter.n2.sorted(), before.n2);
  assert.deepEqual(w.fromRouter.n1.sorted(), before.n1);
  assert.deepEqual(faults(w), [], 'our own Cease to the replicas is no fault');
  const downs = w.events.filter((e) => e.type === 'neighbor-down');
  assert.equal(downs.length, 1);
  for (const r of w.replicas) assert.equal(r.states()[N1], 'Established');
  for (const r of w.replicas) await r.stop();
  await w.hv.stop();
  await n1.stop();
  await w.n2.stop();
});
