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
import { test } from 'node:test';
import type { InstanceExit } from '../src/btr/instance.js';
import { established, Lab, labAvailable, waitFor, type Daemon } from '../src/lab/index.js';
import {
  ROUTER,
  WANT,
  btrRouter,
  hasAll,
  neighbours,
  table,
  tcpSessions,
  uptime,
} from './support/btr-lab.js';

test('BTR with real replicas (nonstop, BIRD 2, FRR) between real BIRD and FRR neighbours', async (t) => {
  if (!labAvailable(['bird', 'frr', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());

  // --- the bug-tolerant router and the reference router, side by side ---------------------
  const router = await btrRouter(lab);
  const { replicas, events, context } = router;
  const btr = router.neighbours;
  const xrt = await lab.node('xrt');
  const ref = await neighbours(lab, 'x', xrt);
  const plain = lab.daemon('nonstop', { ...ROUTER, name: 'xrouter', ns: xrt.ns, logLevel: 'info' });

  await Promise.all([router.start(), plain.start(), ref.bird.start(), ref.frr.start()]);

  // --- transparency: one session per neighbour, the reference's tables ---------------------
  await Promise.all([btr.bird, btr.frr, ref.bird, ref.frr].map((d) => established(d, 1)));
  const want = WANT;
  const converged = async (d: Daemon, prefixes: string[]) =>
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
