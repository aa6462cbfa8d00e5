// Interop of the lab's BIRD 2 and FRR adapters: eBGP over IPv4 and IPv6 on one link.
// Routes originated at BIRD reach FRR's BGP table (AS path, next hop, attributes) and
// zebra's kernel FIB in FRR's namespace; withdrawals propagate; FRR originates at run time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestRoute as route, Lab, labAvailable, waitFor, type Daemon } from '../src/lab/index.js';

test('BIRD <-> FRR eBGP over IPv4 and IPv6: sessions, routes, kernel FIB, withdraw', async (t) => {
  if (!labAvailable(['bird', 'frr'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nb = await lab.node('bird');
  const nf = await lab.node('frr');
  await lab.link(
    { node: nb, addresses: ['198.18.0.1/30', '2001:db8:0:1::1/64'] },
    { node: nf, addresses: ['198.18.0.2/30', '2001:db8:0:1::2/64'] },
  );
  const bird = lab.daemon('bird', {
    name: 'bird1',
    ns: nb.ns,
    routerId: '198.18.0.1',
    asn: 65001,
    neighbors: [
      { address: '198.18.0.2', asn: 65002, localAddress: '198.18.0.1' },
      { address: '2001:db8:0:1::2', asn: 65002, localAddress: '2001:db8:0:1::1' },
    ],
    originate: [
      { prefix: '198.19.1.0/24', communities: ['65001:7'], med: 5 },
      { prefix: '2001:db8:100::/48' },
    ],
  });
  const frr = lab.daemon('frr', {
    name: 'frr1',
    ns: nf.ns,
    routerId: '198.18.0.2',
    asn: 65002,
    kernelFib: true,
    neighbors: [
      { address: '198.18.0.1', asn: 65001 },
      { address: '2001:db8:0:1::1', asn: 65001 },
    ],
    originate: [{ prefix: '198.19.2.0/24' }],
  });
  await Promise.all([bird.start(), frr.start()]);

  const established = (d: Daemon) =>
    waitFor(() => d.neighbors(), {
      what: `${d.spec.name}: both sessions Established`,
      until: (ns) => ns.length === 2 && ns.every((n) => n.state === 'established'),
      timeoutMs: 20_000,
      context: () => d.logs().slice(-2000),
    });
  await Promise.all([established(bird), established(frr)]);

  // BIRD's IPv4 route in FRR's BGP table, with its attributes.
  const r4 = await waitFor(() => route(frr, 'ipv4', '198.19.1.0/24'), {
    what: 'FRR to learn 198.19.1.0/24 from BIRD',
  });
  assert.ok(r4);
  assert.deepEqual(r4.asPath, [65001]);
  assert.equal(r4.nextHops[0], '198.18.0.1');
  assert.equal(r4.peer, '198.18.0.1');
  assert.deepEqual(r4.communities, ['65001:7']);
  assert.equal(r4.med, 5);
  assert.equal(r4.origin, 'igp');

  const r6 = await waitFor(() => route(frr, 'ipv6', '2001:db8:100::/48'), {
    what: 'FRR to learn 2001:db8:100::/48 from BIRD',
  });
  assert.ok(r6);
  assert.deepEqual(r6.asPath, [65001]);
  assert.ok(r6.nextHops.includes('2001:db8:0:1::1'), JSON.stringify(r6.nextHops));

  // ... and in the kernel FIB of FRR's namespace, installed by zebra.
  const k4 = await waitFor(
    async () => (await lab.kernelRoutes(nf, 'ipv4')).find((r) => r.dst === '198.19.1.0/24'),
    { what: '198.19.1.0/24 in the kernel FIB of the FRR node' },
  );
  assert.equal(k4?.gateway, '198.18.0.1');
  assert.equal(k4?.protocol, 'bgp');
  const k6 = await waitFor(
    async () => (await lab.kernelRoutes(nf, 'ipv6')).find((r) => r.dst === '2001:db8:100::/48'),
    { what: '2001:db8:100::/48 in the kernel FIB of the FRR node' },
  );
  assert.equal(k6?.protocol, 'bgp');

  // The other direction: FRR's `network` statement reaches BIRD.
  const back = await waitFor(() => route(bird, 'ipv4', '198.19.2.0/24'), {
    what: 'BIRD to learn 198.19.2.0/24 from FRR',
  });
  assert.deepEqual(back?.asPath, [65002]);
  assert.deepEqual(back?.nextHops, ['198.18.0.2']);
  assert.equal(back?.peer, '198.18.0.2');

  // Withdraw at BIRD (config reload): gone from FRR's table and from the kernel.
  await bird.withdraw('198.19.1.0/24');
  await waitFor(() => route(frr, 'ipv4', '198.19.1.0/24'), {
    what: '198.19.1.0/24 withdrawn from FRR',
    until: (r) => r === undefined,
  });
  await waitFor(
    async () => (await lab.kernelRoutes(nf, 'ipv4')).some((r) => r.dst === '198.19.1.0/24'),
    { what: '198.19.1.0/24 removed from the FRR node kernel FIB', until: (v) => !v },
  );

  // Run-time origination at FRR (vtysh configure) and its withdrawal.
  await frr.announce({ prefix: '198.19.3.0/24', communities: ['65002:3'], localPref: 300 });
  const rt = await waitFor(() => route(bird, 'ipv4', '198.19.3.0/24'), {
    what: 'BIRD to learn 198.19.3.0/24 announced at run time by FRR',
  });
  assert.deepEqual(rt?.communities, ['65002:3']);
  await frr.withdraw('198.19.3.0/24');
  await waitFor(() => route(bird, 'ipv4', '198.19.3.0/24'), {
    what: '198.19.3.0/24 withdrawn from BIRD',
    until: (r) => r === undefined,
  });

  const [bn] = await bird.neighbors();
  assert.ok(bn && bn.received !== undefined && bn.received >= 1);
});
