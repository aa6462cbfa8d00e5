// A bug-tolerant router built from real, unmodified daemons (issue 5, "Must show" 1 and
// part of 3; docs/btr.md "Replicas in namespaces"). The router's namespace runs the
// hypervisor (test/support/btr-router.ts); its neighbours are a real BIRD 2 and a real FRR
// in namespaces of their own; its replicas are nonstop, BIRD 2 and FRR, each in its own
// namespace carrying the router's addresses, their sessions transparently proxied to the
// hypervisor (nftables, src/lab/btr-replica.ts). A reference run beside it has a plain
// nonstop speaker with the same configuration as the router.
//
// Checked with the neighbours' own CLIs: each has exactly one session, Established; each
// has the same table as in the reference run (AS path with the router's AS once, next hop
// the router's address); each replica's kernel FIB holds the routes; and `kill -9` of the
// BIRD replica (then its restart and rejoin) neither resets a neighbour's session nor
// changes its table.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HypervisorEvent } from '../src/btr/hypervisor.js';
import type { InstanceExit } from '../src/btr/instance.js';
import {
  btrReplica,
  established,
  Lab,
  labAvailable,
  waitFor,
  type BtrRouterSpec,
  type Daemon,
  type LabNode,
  type RouteView,
} from '../src/lab/index.js';
import type { BtrRouterConfig } from './support/btr-router.js';

const ROUTER: BtrRouterSpec = {
  routerId: '198.18.0.1',
  asn: 65001,
  addresses: ['198.18.1.1/30', '198.18.2.1/30'],
  neighbors: [
    { address: '198.18.1.2', asn: 65002, localAddress: '198.18.1.1' },
    { address: '198.18.2.2', asn: 65003, localAddress: '198.18.2.1' },
  ],
};

const BIRD_ROUTES = [
  { prefix: '198.19.2.0/24', communities: ['65002:9'] },
  { prefix: '198.19.22.0/24' },
];
const FRR_ROUTES = [
  { prefix: '198.19.3.0/24', communities: ['65003:7', '65003:8'] },
  { prefix: '198.19.33.0/24' },
];

/** The external neighbours of one run, around a router node. */
async function neighbours(
  lab: Lab,
  prefix: string,
  router: LabNode,
): Promise<{ bird: Daemon; frr: Daemon }> {
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
    originate: BIRD_ROUTES,
  });
  const frr = lab.daemon('frr', {
    name: `${prefix}nfrr`,
    ns: nf.ns,
    routerId: '198.18.2.2',
    asn: 65003,
    neighbors: [{ address: '198.18.2.1', asn: 65001, localAddress: '198.18.2.2' }],
    originate: FRR_ROUTES,
  });
  return { bird, frr };
}

/** A neighbour's best IPv4 routes, sorted: what the comparison with the reference is on. */
async function table(d: Daemon): Promise<RouteView[]> {
  return (await d.routes('ipv4'))
    .filter((r) => r.best)
    .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

const hasAll = (rs: RouteView[], prefixes: string[]): boolean =>
  prefixes.every((p) => rs.some((r) => r.prefix === p));

/** Established BGP connections in a namespace (the kernel's view, not the daemon's). */
async function tcpSessions(lab: Lab, node: LabNode): Promise<number> {
  const r = await lab.exec(node, 'ss', [
    '-Htn',
    'state',
    'established',
    '( sport = :179 or dport = :179 )',
  ]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

async function uptime(d: Daemon): Promise<number> {
  const [n] = await d.neighbors();
  assert.equal(n?.state, 'established', `${d.spec.name}: ${JSON.stringify(n)}`);
  return n?.uptime ?? -1;
}

test('BTR with real replicas (nonstop, BIRD 2, FRR) between real BIRD and FRR neighbours', async (t) => {
  if (!labAvailable(['bird', 'frr', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());

  // --- the bug-tolerant router and the reference router, side by side ---------------------
  const rt = await lab.node('rt');
  const xrt = await lab.node('xrt');
  const btr = await neighbours(lab, '', rt);
  const ref = await neighbours(lab, 'x', xrt);
  const plain = lab.daemon('nonstop', { ...ROUTER, name: 'xrouter', ns: xrt.ns, logLevel: 'info' });

  // nonstop and BIRD connect, as they would to the neighbours; FRR is passive and the
  // hypervisor connects to it (the paper's virtd).
  const kinds = [
    ['rnon', 'nonstop', 'accept'],
    ['rbird', 'bird', 'accept'],
    ['rfrr', 'frr', 'connect'],
  ] as const;
  const replicas = await Promise.all(
    kinds.map(([name, kind, mode], slot) =>
      btrReplica(lab, {
        name,
        kind,
        mode,
        router: ROUTER,
        routerNode: rt,
        slot,
        daemon: { logLevel: 'info' },
      }),
    ),
  );
  const cfg: BtrRouterConfig = {
    hypervisor: {
      router: { asn: ROUTER.asn, routerId: ROUTER.routerId },
      neighbors: ROUTER.neighbors.map((n) => ({
        name: n.address,
        address: n.address,
        asn: n.asn,
        localAddress: n.localAddress!,
        holdTime: 9,
        fsm: { connectRetryTime: 1 },
      })),
      listen: ROUTER.neighbors.map((n) => ({ address: n.localAddress!, port: 179 })),
      voting: { strategy: { kind: 'continuous-majority' }, steadyMs: 1000 },
      catchUp: { quietMs: 1000, maxMs: 10_000 },
    },
    replicas: replicas.map((r) => ({ name: r.name, proxy: r.proxy })),
  };
  const cfgFile = join(lab.dir, 'btr-router.json');
  writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
  const runner = fileURLToPath(new URL('./support/btr-router.js', import.meta.url));
  const hv = lab.spawn(rt, process.execPath, [runner, cfgFile], { name: 'hypervisor' });
  const events = (): HypervisorEvent[] =>
    hv
      .logTail(1e9)
      .split('\n')
      .flatMap((l) => {
        try {
          const o = JSON.parse(l) as { event?: HypervisorEvent };
          return o.event ? [o.event] : [];
        } catch {
          return [];
        }
      });
  const context = (): string => `hypervisor:\n${hv.logTail(4000)}`;

  await Promise.all([
    ...replicas.map((r) => r.start()),
    btr.bird.start(),
    btr.frr.start(),
    plain.start(),
    ref.bird.start(),
    ref.frr.start(),
  ]);

  // --- transparency: one session per neighbour, the reference's tables ---------------------
  await Promise.all([btr.bird, btr.frr, ref.bird, ref.frr].map((d) => established(d, 1)));
  const want = {
    bird: FRR_ROUTES.map((r) => r.prefix),
    frr: BIRD_ROUTES.map((r) => r.prefix),
  };
  const converged = async (d: Daemon, prefixes: string[]): Promise<RouteView[]> =>
    waitFor(() => table(d), {
      what: `${d.spec.name} to learn ${prefixes.join(', ')}`,
      until: (rs) => hasAll(rs, prefixes),
      timeoutMs: 30_000,
      context,
    });
  const [bBird, bFrr, xBird, xFrr] = await Promise.all([
    converged(btr.bird, want.bird),
    converged(btr.frr, want.frr),
    converged(ref.bird, want.bird),
    converged(ref.frr, want.frr),
  ]);
  assert.deepEqual(bBird, xBird, 'the BIRD neighbour: BTR router vs plain router');
  assert.deepEqual(bFrr, xFrr, 'the FRR neighbour: BTR router vs plain router');
  const r3 = bBird.find((r) => r.prefix === '198.19.3.0/24');
  assert.deepEqual(r3?.asPath, [65001, 65003]);
  assert.deepEqual(r3?.nextHops, ['198.18.1.1']);
  assert.deepEqual(r3?.communities, ['65003:7', '65003:8']);
  const r2 = bFrr.find((r) => r.prefix === '198.19.2.0/24');
  assert.deepEqual(r2?.asPath, [65001, 65002]);
  assert.deepEqual(r2?.nextHops, ['198.18.2.1']);
  assert.deepEqual(r2?.communities, ['65002:9']);
  // Exactly one BGP connection in each neighbour's namespace: replicas never reach it.
  assert.equal(await tcpSessions(lab, { name: 'nb', ns: `${lab.prefix}nb` }), 1);
  assert.equal(await tcpSessions(lab, { name: 'nf', ns: `${lab.prefix}nf` }), 1);

  // Every replica believes it is the router: its kernel FIB holds the neighbours' routes
  // through the neighbours' addresses.
  for (const r of replicas) {
    const fib = await waitFor(() => r.fibRoutes(), {
      what: `${r.name}'s FIB to hold every neighbour route`,
      until: (f) => [...want.bird, ...want.frr].every((p) => f.some((x) => x.prefix === p)),
      timeoutMs: 10_000,
    });
    assert.deepEqual(fib.find((x) => x.prefix === '198.19.2.0/24')?.gateways, ['198.18.1.2']);
    assert.deepEqual(fib.find((x) => x.prefix === '198.19.3.0/24')?.gateways, ['198.18.2.2']);
  }

  // --- kill -9 of the BIRD replica: the neighbours see nothing ------------------------------
  const rbird = replicas[1]!;
  const exits: InstanceExit[] = [];
  rbird.onExit((e) => exits.push(e));
  const before = { bird: await uptime(btr.bird), frr: await uptime(btr.frr), at: Date.now() };
  rbird.kill('SIGKILL');
  await waitFor(() => exits, { what: 'the BIRD replica to exit', until: (x) => x.length === 1 });
  assert.equal(exits[0]?.signal, 'SIGKILL');
  assert.equal(exits[0]?.expected, false);
  assert.equal(rbird.running(), false);
  await waitFor(() => events(), {
    what: 'the hypervisor to see the BIRD replica gone from both neighbours',
    until: (es) =>
      es.filter((e) => e.type === 'replica-fault' && e.replica === 'rbird').length >= 2,
    timeoutMs: 15_000,
    context,
  });
  await new Promise((r) => setTimeout(r, 2000)); // anything the crash caused has arrived by now
  const during = { bird: await table(btr.bird), frr: await table(btr.frr) };
  assert.deepEqual(during.bird, xBird);
  assert.deepEqual(during.frr, xFrr);

  // Restarted, it is caught up from the history and votes again; still nothing outside.
  await rbird.stop();
  await rbird.start();
  await waitFor(() => events(), {
    what: 'the restarted BIRD replica to vote again for both neighbours',
    until: (es) =>
      es.filter((e) => e.type === 'replica-voting' && e.replica === 'rbird').length >= 2,
    timeoutMs: 20_000,
    context,
  });
  const after = { bird: await uptime(btr.bird), frr: await uptime(btr.frr), at: Date.now() };
  const elapsed = (after.at - before.at) / 1000;
  // Uptimes are whole seconds: a session reset would have restarted them near zero.
  assert.ok(
    after.bird >= before.bird + elapsed - 2,
    `BIRD neighbour session reset: ${JSON.stringify({ before, after })}`,
  );
  assert.ok(
    after.frr >= before.frr + elapsed - 2,
    `FRR neighbour session reset: ${JSON.stringify({ before, after })}`,
  );
  assert.deepEqual(await table(btr.bird), xBird);
  assert.deepEqual(await table(btr.frr), xFrr);
  assert.equal(await tcpSessions(lab, { name: 'nb', ns: `${lab.prefix}nb` }), 1);
  assert.equal(await tcpSessions(lab, { name: 'nf', ns: `${lab.prefix}nf` }), 1);
  // The neighbours' sessions went down never: no neighbor-down in the hypervisor's events.
  assert.deepEqual(
    events().filter((e) => e.type === 'neighbor-down'),
    [],
  );
});
