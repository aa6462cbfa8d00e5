// The hypervisor with real neighbours over kernel TCP on loopback (test/support/bgp-client's
// BgpClient, which records every message it gets) and three in-process `nonstop speaker`
// replicas on in-memory transports (issue 5, Must show 3 and 2, in-process):
// - a replica killed mid-stream (kill -9: every connection reset) and restarted is
//   bootstrapped from the history while the neighbour keeps sending, and the neighbours
//   see nothing: no reset, no ROUTE-REFRESH, no UPDATE caused by the crash;
// - a replica whose UPDATEs are corrupted is outvoted under continuous-majority: no
//   corrupted route ever reaches the neighbour, and the fault names the replica.
// Every run is compared with a reference: the same config on one ordinary speaker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpClient, defaultCapabilities } from '../../test/support/bgp-client.js';
import { ManualClock } from '../lib/clock.js';
import { parsePrefix, type Prefix } from '../lib/ip.js';
import { MemoryNetwork } from '../net/memory.js';
import { TcpConnector } from '../net/tcp.js';
import type { Speaker } from '../speaker/speaker.js';
import {
  AS_SEG,
  ATTR_DEFAULT_FLAGS,
  MSG,
  capExtendedMessage,
  type Nlri,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';
import { describeKey, routeKey } from './canonical-key.js';
import { describeValue } from './canonical.js';
import { BuggyTransport, type Corruption } from './buggy-replica.js';
import { Hypervisor, type HypervisorEvent, type VoteEvent } from './hypervisor.js';
import {
  KillableConnector,
  RouteTable,
  addr,
  makeSpeaker,
  routerCapabilities,
  speakerConfig,
  until,
} from './testing.js';
import type { VoteKey } from './voter.js';

const ROUTER = '127.0.0.1';
const N1 = '127.0.0.2';
const N2 = '127.0.0.3';

const routerYaml = (p1: number, p2: number, importN1 = 'all'): string => `
router-id: 198.18.0.1
asn: 65001
listen: []
static:
  - { prefix: 198.18.200.0/24, communities: [65001:200] }
policies:
  all: { default: accept }
  prefer: { terms: [{ name: lp, then: [{ set-local-pref: 200 }, accept] }], default: accept }
neighbors:
  - { address: ${N1}, port: ${p1}, asn: 65002, local-address: ${ROUTER}, families: [ipv4-unicast, ipv6-unicast], import: [${importN1}], export: [all] }
  - { address: ${N2}, port: ${p2}, asn: 65003, local-address: ${ROUTER}, families: [ipv4-unicast, ipv6-unicast], import: [all], export: [all] }
`;

// --- the neighbour's stream ---------------------------------------------------------------

const v4 = (i: number): Prefix => parsePrefix(`198.19.${i}.0/24`)!;
const v6 = (i: number): Prefix => parsePrefix(`2001:db8:${(0x1000 + i).toString(16)}::/48`)!;

function attrs(group: number, tag = 0): PathAttribute[] {
  const f = ATTR_DEFAULT_FLAGS;
  return [
    { kind: 'origin', code: 1, flags: f[1]!, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: f[2]!,
      asnWidth: 4,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [65002, 64512 + (group % 50)] }],
    },
    { kind: 'next-hop', code: 3, flags: f[3]!, nextHop: addr(N1) },
    { kind: 'communities', code: 8, flags: f[8]!, communities: [(65002 << 16) | (tag || group)] },
  ];
}

function announceV4(ids: readonly number[], tag = 0): Omit<UpdateMessage, 'type'>[] {
  const out: Omit<UpdateMessage, 'type'>[] = [];
  for (let i = 0; i < ids.length; i += 10) {
    const chunk = ids.slice(i, i + 10);
    out.push({
      withdrawn: [],
      attributes: attrs(chunk[0]! >> 3, tag),
      nlri: chunk.map((j) => ({ prefix: v4(j) })),
    });
  }
  return out;
}

function withdrawV4(ids: readonly number[]): Omit<UpdateMessage, 'type'> {
  return { withdrawn: ids.map((j) => ({ prefix: v4(j) })), attributes: [], nlri: [] };
}

function announceV6(ids: readonly number[]): Omit<UpdateMessage, 'type'> {
  const f = ATTR_DEFAULT_FLAGS;
  const nlri: Nlri[] = ids.map((j) => ({ prefix: v6(j) }));
  const base = attrs(7).filter((a) => a.kind !== 'next-hop');
  const reach: PathAttribute = {
    kind: 'mp-reach',
    code: 14,
    flags: f[14]!,
    afi: 2,
    safi: 1,
    nextHop: addr('2001:db8::2'),
    reserved: 0,
    nlri,
  };
  return { withdrawn: [], attributes: [reach, ...base].sort((a, b) => a.code - b.code), nlri: [] };
}

function withdrawV6(ids: readonly number[]): Omit<UpdateMessage, 'type'> {
  const f = ATTR_DEFAULT_FLAGS;
  return {
    withdrawn: [],
    attributes: [
      {
        kind: 'mp-unreach',
        code: 15,
        flags: f[15]!,
        afi: 2,
        safi: 1,
        withdrawn: ids.map((j) => ({ prefix: v6(j) })),
      },
    ],
    nlri: [],
  };
}

const EOR_V4: Omit<UpdateMessage, 'type'> = { withdrawn: [], attributes: [], nlri: [] };
const EOR_V6: Omit<UpdateMessage, 'type'> = {
  withdrawn: [],
  attributes: [
    {
      kind: 'mp-unreach',
      code: 15,
      flags: ATTR_DEFAULT_FLAGS[15]!,
      afi: 2,
      safi: 1,
      withdrawn: [],
    },
  ],
  nlri: [],
};

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

const PHASE1 = [...announceV4(range(0, 200)), announceV6(range(0, 20)), EOR_V4, EOR_V6];
// Phase 2 touches each prefix at most once: 2a and 2b are disjoint.
const PHASE2A = [
  withdrawV4(range(0, 20)),
  ...announceV4(range(20, 40), 999),
  ...announceV4(range(200, 220)),
];
const PHASE2B = [
  withdrawV4(range(40, 60)),
  ...announceV4(range(60, 80), 998),
  ...announceV4(range(220, 240)),
  withdrawV6(range(0, 5)),
  announceV6(range(20, 25)),
];
const PHASE2_KEYS: VoteKey[] = [
  ...range(0, 80).map((i) => routeKey(1, 1, v4(i))),
  ...range(200, 240).map((i) => routeKey(1, 1, v4(i))),
  ...range(0, 5).map((i) => routeKey(2, 1, v6(i))),
  ...range(20, 25).map((i) => routeKey(2, 1, v6(i))),
];

// --- a router under test: the hypervisor with replicas, or one ordinary speaker -------------

interface Run {
  readonly clock: ManualClock;
  readonly ports: { readonly p1: number; readonly p2: number };
  readonly c1: BgpClient;
  readonly c2: BgpClient;
  hv?: Hypervisor;
  events: (HypervisorEvent | VoteEvent)[];
  replicas: Speaker[];
  processes: KillableConnector[];
  namespaces: MemoryNetwork[];
  /** Replay steps held back while true (see `gate`). */
  gate: { closed: boolean; queued: (() => void)[] };
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

async function neighbours(extendedN1 = false): Promise<{
  p1: number;
  p2: number;
  c1: Promise<BgpClient>;
  c2: Promise<BgpClient>;
}> {
  const a1 = await BgpClient.accept(
    { host: N1 },
    {
      asn: 65002,
      bgpId: '198.18.0.2',
      holdTime: 0,
      ...(extendedN1
        ? { capabilities: [...defaultCapabilities(65002), capExtendedMessage()] }
        : {}),
    },
  );
  const a2 = await BgpClient.accept({ host: N2 }, { asn: 65003, bgpId: '198.18.0.3', holdTime: 0 });
  return { p1: a1.port, p2: a2.port, c1: a1.client, c2: a2.client };
}

async function handshake(
  c1: Promise<BgpClient>,
  c2: Promise<BgpClient>,
): Promise<[BgpClient, BgpClient]> {
  const [x, y] = await Promise.all([c1, c2]);
  await Promise.all([x.handshake(), y.handshake()]);
  return [x, y];
}

async function referenceRun(): Promise<Run> {
  const clock = new ManualClock(0);
  const nb = await neighbours();
  const router = makeSpeaker(speakerConfig(routerYaml(nb.p1, nb.p2)), new TcpConnector(), clock);
  await router.start();
  const [c1, c2] = await handshake(nb.c1, nb.c2);
  return {
    clock,
    ports: { p1: nb.p1, p2: nb.p2 },
    c1,
    c2,
    events: [],
    replicas: [router],
    processes: [],
    namespaces: [],
    gate: { closed: false, queued: [] },
    restart: () => Promise.resolve(),
    async stop() {
      await router.stop();
      await c1.close();
      await c2.close();
    },
  };
}

async function btrRun(
  corrupt?: { replica: number; c: Corruption },
  opts: { extendedN1?: boolean } = {},
): Promise<Run> {
  const clock = new ManualClock(0);
  const nb = await neighbours(opts.extendedN1);
  const cfg = speakerConfig(routerYaml(nb.p1, nb.p2));
  const events: (HypervisorEvent | VoteEvent)[] = [];
  const gate = { closed: false, queued: [] as (() => void)[] };
  const namespaces = [0, 1, 2].map(() => new MemoryNetwork());
  const hv = new Hypervisor(
    {
      router: { asn: 65001, routerId: '198.18.0.1' },
      neighbors: [
        {
          name: 'n1',
          address: N1,
          port: nb.p1,
          asn: 65002,
          localAddress: ROUTER,
          capabilities: [
            ...routerCapabilities(cfg, N1),
            ...(opts.extendedN1 ? [capExtendedMessage()] : []),
          ],
        },
        {
          name: 'n2',
          address: N2,
          port: nb.p2,
          asn: 65003,
          localAddress: ROUTER,
          capabilities: routerCapabilities(cfg, N2),
        },
      ],
      replicas: namespaces.map((ns, i) => ({ name: `r${i}`, connector: ns })),
      voting: { strategy: { kind: 'continuous-majority' }, steadyMs: 1000 },
      catchUp: { quietMs: 500, maxMs: 5000 },
    },
    {
      connector: new TcpConnector(),
      clock,
      yieldTo: (fn) => {
        if (gate.closed) gate.queued.push(fn);
        else setImmediate(fn);
      },
      onEvent: (e) => events.push(e),
    },
  );
  const process = (i: number): KillableConnector =>
    new KillableConnector(namespaces[i]!.host(ROUTER), (t) =>
      corrupt?.replica === i && t.remote.address === N2 ? new BuggyTransport(t, corrupt.c) : t,
    );
  const processes = [0, 1, 2].map(process);
  const replicas = processes.map((p) => makeSpeaker(cfg, p, clock));
  await hv.start();
  const [c1, c2] = await handshake(nb.c1, nb.c2);
  for (const r of replicas) await r.start();
  return {
    clock,
    ports: { p1: nb.p1, p2: nb.p2 },
    c1,
    c2,
    hv,
    events,
    replicas,
    processes,
    namespaces,
    gate,
    async restart(i) {
      await processes[i]!.kill(); // kill -9: connections reset, listeners gone
      await replicas[i]!.stop('killed');
      await until(
        clock,
        () => faultsOf(events, `r${i}`).length >= 2,
        `r${i}'s crash to be noticed`,
      );
      processes[i] = process(i);
      replicas[i] = makeSpeaker(cfg, processes[i]!, clock);
    },
    async stop() {
      for (const r of replicas) await r.stop();
      await hv.stop();
      await c1.close();
      await c2.close();
    },
  };
}

function faultsOf(
  events: readonly (HypervisorEvent | VoteEvent)[],
  replica?: string,
): HypervisorEvent[] {
  return events.filter(
    (e): e is HypervisorEvent =>
      e.type === 'replica-fault' && (replica === undefined || e.replica === replica),
  );
}

/** What a client has received since `since`, as a table of routes. */
function tableOf(c: BgpClient, since = 0): RouteTable {
  const t = new RouteTable(c.recv);
  for (const r of c.received.slice(since)) t.apply(r.raw);
  return t;
}

function send(c: BgpClient, us: readonly Omit<UpdateMessage, 'type'>[]): void {
  for (const u of us) c.sendUpdate(u);
}

const STATIC = routeKey(1, 1, parsePrefix('198.18.200.0/24')!);

/** Phase 1, then phase 2 (2a, 2b) with hooks before 2a and before 2b. */
async function script(
  run: Run,
  during: {
    beforeA?: (marks: { mark1: number; mark2: number }) => Promise<void>;
    beforeB?: () => Promise<void>;
  } = {},
): Promise<{ mark1: number; mark2: number }> {
  const { c1, c2, clock } = run;
  send(c1, PHASE1);
  // 200 + 20 routes of N1's, and the router's own.
  await until(clock, () => tableOf(c2).routes.size === 221, 'phase 1 at N2', {
    timeoutMs: 20_000,
    detail: () => `${tableOf(c2).routes.size} routes; ${c2.describe()}`,
  });
  await settleReal(clock);
  const mark1 = c1.mark();
  const mark2 = c2.mark();
  await during.beforeA?.({ mark1, mark2 });
  send(c1, PHASE2A);
  await until(clock, () => tableOf(c2, mark2).changes.size === 60, 'phase 2a at N2');
  await during.beforeB?.();
  send(c1, PHASE2B);
  await until(
    clock,
    () => tableOf(c2, mark2).changes.size === PHASE2_KEYS.length,
    'phase 2b at N2',
  );
  await settleReal(clock);
  return { mark1, mark2 };
}

/** Real time for the sockets and virtual time past T (3 s). */
async function settleReal(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1));
    clock.advance(100);
  }
}

const sum = (m: Map<unknown, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

test(
  'restart: a replica killed mid-stream is bootstrapped from history; the neighbours see no reset, no refresh, no UPDATE caused by it',
  { timeout: 60_000 },
  async () => {
    const ref = await referenceRun();
    let refTable: [string, string][];
    let refChanges: { n1: number; n2: number };
    try {
      const { mark1, mark2 } = await script(ref);
      refTable = tableOf(ref.c2).sorted();
      refChanges = {
        n1: sum(tableOf(ref.c1, mark1).changes),
        n2: sum(tableOf(ref.c2, mark2).changes),
      };
    } finally {
      await ref.stop();
    }

    const run = await btrRun();
    try {
      const { c1, c2, clock, events, hv } = run;
      let heldAtRelease = -1;
      const { mark1, mark2 } = await script(run, {
        // Before 2a: kill r2. Nothing reaches the neighbours, even after T.
        beforeA: async () => {
          await run.restart(2);
          await settleReal(clock);
          assert.equal(c2.messages(MSG.UPDATE, c2.mark() - 0).length, 0);
          assert.equal(c2.received.length, c2.mark());
        },
        // Before 2b: start r2 again, holding its replay until 2b has reached the history,
        // so that 2b arrives while the replay is under way.
        beforeB: async () => {
          run.gate.closed = true;
          await run.replicas[2]!.start();
          await until(clock, () => run.gate.queued.length >= 2, 'r2’s replays to start');
          const n1 = hv!.incarnation('n1')!;
          const before = n1.replicator.history.stats().updates;
          void until(
            clock,
            () => n1.replicator.history.stats().updates >= before + PHASE2B.length,
            '2b in the history',
          ).then(() => {
            heldAtRelease = hv!.status()[0]!.replicas[2]!.feed!.held;
            run.gate.closed = false;
            for (const fn of run.gate.queued.splice(0)) setImmediate(fn);
          });
        },
      });
      assert.equal(heldAtRelease, PHASE2B.length, '2b was held for r2 during its replay');
      await until(
        clock,
        () => events.filter((e) => e.type === 'replica-voting' && e.replica === 'r2').length === 2,
        'r2 voting again on both neighbours',
      );
      const feed = hv!.status()[0]!.replicas[2]!.feed!;
      assert.equal(feed.bootstraps, 2, 'r2 was bootstrapped twice from n1’s history');
      assert.equal(feed.state, 'live');
      const quiet = { n1: c1.mark(), n2: c2.mark() };
      await settleReal(clock);
      assert.equal(c2.received.length, quiet.n2, 'nothing to N2 after r2 rejoined');
      assert.equal(c1.received.length, quiet.n1, 'nothing to N1 after r2 rejoined');

      // The neighbours: one session each, no NOTIFICATION, no ROUTE-REFRESH.
      for (const c of [c1, c2]) {
        assert.equal(c.isClosed, false);
        assert.deepEqual(c.notifications(), []);
        assert.equal(c.messages(MSG.ROUTE_REFRESH).length, 0);
        assert.equal(c.messages(MSG.OPEN).length, 1);
      }
      // Same routes, and the same route changes, as the ordinary router.
      assert.deepEqual(tableOf(c2).sorted(), refTable);
      const changes = tableOf(c2, mark2).changes;
      assert.deepEqual([...changes.keys()].map(String).sort(), PHASE2_KEYS.map(String).sort());
      assert.ok(
        [...changes.values()].every((n) => n === 1),
        'each changed prefix once',
      );
      assert.deepEqual(
        { n1: sum(tableOf(c1, mark1).changes), n2: sum(changes) },
        refChanges,
        'route changes sent to each neighbour, as the reference',
      );
      assert.ok(tableOf(c2).routes.has(STATIC));
      // r2 is back in the vote and agrees on every key.
      for (const s of hv!.status()) {
        assert.equal(s.disagreements, 0, `${s.neighbor}: no disagreement`);
        assert.ok(s.replicas.every((r) => r.voting));
      }
      assert.deepEqual(
        [...new Set(faultsOf(events).map((e) => e.type === 'replica-fault' && e.replica))],
        ['r2'],
      );
    } finally {
      await run.stop();
    }
  },
);

test(
  'masking: a replica that adds a route and corrupts a next hop is outvoted (continuous-majority); no corrupted route reaches the neighbour',
  { timeout: 60_000 },
  async () => {
    const ref = await referenceRun();
    let refTable: [string, string][];
    try {
      await script(ref);
      refTable = tableOf(ref.c2).sorted();
    } finally {
      await ref.stop();
    }
    const bogus = parsePrefix('198.18.99.0/24')!;
    const victim = v4(5);
    const run = await btrRun({
      replica: 1,
      c: { addPrefix: bogus, nextHopOf: { prefix: victim, nextHop: addr('127.0.0.99') } },
    });
    try {
      const { c2, clock, events } = run;
      await script(run);
      await settleReal(clock);
      // Every UPDATE N2 ever received (the client records them all), not only the final table.
      const bogusKey = routeKey(1, 1, bogus);
      const victimKey = routeKey(1, 1, victim);
      let victimSeen = 0;
      for (const r of c2.received) {
        if (r.raw[18] !== MSG.UPDATE) continue;
        const t = new RouteTable(c2.recv);
        t.apply(r.raw);
        assert.ok(!t.routes.has(bogusKey), 'the added route never reached N2');
        for (const [k, v] of t.routes) {
          // The corrupted next hop went with every prefix packed with the victim: none passed.
          const nh = describeValue(v).split(' ')[1];
          assert.ok(
            nh === ROUTER || nh === `::ffff:${ROUTER}`,
            `${describeKey(k)}: ${describeValue(v)}`,
          );
          if (k === victimKey) victimSeen++;
        }
      }
      assert.equal(victimSeen, 1, 'the victim prefix was announced once, correctly');
      assert.deepEqual(tableOf(c2).sorted(), refTable, 'N2 has what the ordinary router sends');
      // The voter names the replica and the keys (after T).
      const flagged = events.flatMap((e) =>
        e.type === 'vote' && e.event.type === 'fault'
          ? [{ neighbor: e.neighbor, replica: e.event.name, key: e.event.key }]
          : [],
      );
      assert.ok(flagged.length >= 2);
      assert.ok(
        flagged.every((f) => f.neighbor === 'n2' && f.replica === 'r1'),
        JSON.stringify(flagged),
      );
      assert.ok(
        flagged.some((f) => f.key === bogusKey) && flagged.some((f) => f.key === victimKey),
      );
      assert.deepEqual(faultsOf(events), [], 'no session fault: the replica is only wrong');
    } finally {
      await run.stop();
    }
  },
);

test(
  'ROUTE-REFRESH from a neighbour is answered from the voted output; it reaches neither the replicas nor the other neighbour',
  { timeout: 60_000 },
  async () => {
    const run = await btrRun();
    try {
      const { c1, c2, clock, hv } = run;
      send(c1, PHASE1);
      await until(clock, () => tableOf(c2).routes.size === 221, 'phase 1 at N2');
      await settleReal(clock);
      const m1 = c1.mark();
      const m2 = c2.mark();
      const replicaUpdates = hv!.status().map((s) => s.replicas.map((r) => r.feed!.forwarded));
      c2.sendMessage({ type: MSG.ROUTE_REFRESH, afi: 1, safi: 1, subtype: 0 });
      await until(clock, () => tableOf(c2, m2).routes.size === 201, 'the IPv4 table again at N2');
      await settleReal(clock);
      assert.equal(tableOf(c2, m2).routes.size, 201, 'IPv4 only: 200 of N1’s and the router’s own');
      assert.equal(c1.received.length, m1, 'nothing to N1');
      assert.deepEqual(
        hv!.status().map((s) => s.replicas.map((r) => r.feed!.forwarded)),
        replicaUpdates,
        'nothing to the replicas',
      );
      assert.deepEqual(c2.notifications(), []);
    } finally {
      await run.stop();
    }
  },
);

test(
  'a replica whose session cannot carry the neighbour’s octets (no extended messages) is refused and reported; the neighbour is not touched',
  { timeout: 60_000 },
  async () => {
    const run = await btrRun(undefined, { extendedN1: true });
    try {
      const { c1, clock, events } = run;
      await until(clock, () => faultsOf(events).length >= 3, 'three faults');
      const f = faultsOf(events);
      assert.ok(
        f.every(
          (e) =>
            e.type === 'replica-fault' && e.neighbor === 'n1' && /extended messages/.test(e.reason),
        ),
        JSON.stringify(f),
      );
      assert.deepEqual(
        new Set(f.map((e) => e.type === 'replica-fault' && e.replica)),
        new Set(['r0', 'r1', 'r2']),
      );
      assert.equal(c1.isClosed, false);
      assert.deepEqual(c1.notifications(), []);
      for (const r of run.replicas) assert.notEqual(r.states()[N1], 'Established');
      for (const r of run.replicas)
        assert.equal(r.states()[N2], 'Established', 'the other neighbour is served');
    } finally {
      await run.stop();
    }
  },
);
