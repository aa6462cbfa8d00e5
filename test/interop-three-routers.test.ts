// Three routers in a row, each in its own namespace, with real forwarding:
// BIRD (AS 65001) — nonstop (AS 65002, kernel FIB) — FRR (AS 65003, zebra kernel FIB).
// A prefix originated at BIRD crosses our speaker to FRR with the AS path and next hop of a
// transit AS, lands in both kernel FIBs, carries packets end to end, and is withdrawn from
// FRR's kernel when BIRD withdraws it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  established,
  bestRoute as route,
  Lab,
  labAvailable,
  waitFor,
  type FrrDaemon,
  type LabNode,
} from '../src/lab/index.js';

const PREFIX = '198.19.1.0/24';

test('BIRD — nonstop — FRR: transit route in BGP and both kernel FIBs, then withdrawn', async (t) => {
  if (!labAvailable(['bird', 'frr'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nb = await lab.node('bird');
  const nn = await lab.node('ns');
  const nf = await lab.node('frr');
  await lab.link(
    { node: nb, addresses: ['198.18.0.1/30'] },
    { node: nn, addresses: ['198.18.0.2/30'] },
  );
  await lab.link(
    { node: nn, addresses: ['198.18.0.5/30'] },
    { node: nf, addresses: ['198.18.0.6/30'] },
  );
  // A host inside the prefix, at BIRD, and BIRD's way back to FRR's link: for a ping.
  await lab.exec(nb, 'ip', ['addr', 'add', '198.19.1.1/32', 'dev', 'lo']);
  await lab.exec(nb, 'ip', ['route', 'add', '198.18.0.4/30', 'via', '198.18.0.2']);

  const bird = lab.daemon('bird', {
    name: 'bird1',
    ns: nb.ns,
    routerId: '198.18.0.1',
    asn: 65001,
    neighbors: [{ address: '198.18.0.2', asn: 65002, localAddress: '198.18.0.1' }],
    originate: [{ prefix: PREFIX, communities: ['65001:1'] }],
  });
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.2',
    asn: 65002,
    kernelFib: true,
    neighbors: [
      { address: '198.18.0.1', asn: 65001, localAddress: '198.18.0.2' },
      { address: '198.18.0.6', asn: 65003, localAddress: '198.18.0.5' },
    ],
  });
  const frr = lab.daemon('frr', {
    name: 'frr1',
    ns: nf.ns,
    routerId: '198.18.0.6',
    asn: 65003,
    kernelFib: true,
    neighbors: [{ address: '198.18.0.5', asn: 65002, localAddress: '198.18.0.6' }],
  }) as FrrDaemon;
  await Promise.all([bird.start(), ours.start(), frr.start()]);
  await Promise.all([established(bird, 1), established(ours, 2), established(frr, 1)]);

  const kernelRoute = (node: LabNode) =>
    lab.kernelRoutes(node, 'ipv4').then((rs) => rs.find((r) => r.dst === PREFIX));

  // FRR's BGP table: through our AS, next hop our address on FRR's link.
  const f = await waitFor(() => route(frr, 'ipv4', PREFIX), {
    what: `FRR to learn ${PREFIX} through nonstop`,
    context: () => ours.logs().slice(-3000),
  });
  assert.deepEqual(f?.asPath, [65002, 65001]);
  assert.equal(f?.nextHops[0], '198.18.0.5');
  assert.equal(f?.peer, '198.18.0.5');
  assert.deepEqual(f?.communities, ['65001:1']);

  // Our kernel FIB: via BIRD. FRR's (zebra): via us.
  const kn = await waitFor(() => kernelRoute(nn), { what: `our kernel FIB to hold ${PREFIX}` });
  assert.equal(kn?.gateway, '198.18.0.1');
  const kf = await waitFor(() => kernelRoute(nf), { what: `FRR's kernel FIB to hold ${PREFIX}` });
  assert.equal(kf?.gateway, '198.18.0.5');
  assert.equal(kf?.protocol, 'bgp');
  const z = await frr.zebraRoutes('ipv4');
  assert.ok(z[PREFIX], `zebra has no ${PREFIX}: ${JSON.stringify(Object.keys(z))}`);

  // Packets follow: FRR's node reaches the host inside the prefix, two hops away.
  assert.ok(await lab.reachable(nf, '198.19.1.1', 5000), 'FRR node cannot reach 198.19.1.1');

  // Withdrawn at BIRD: gone from our kernel, FRR's BGP table and FRR's kernel.
  await bird.withdraw(PREFIX);
  await waitFor(async () => (await kernelRoute(nf)) === undefined, {
    what: `FRR's kernel FIB to drop ${PREFIX}`,
    until: (x) => x,
  });
  assert.equal(await route(frr, 'ipv4', PREFIX), undefined);
  await waitFor(async () => (await kernelRoute(nn)) === undefined, {
    what: `our kernel FIB to drop ${PREFIX}`,
    until: (x) => x,
  });
});
