// Interop of `nonstop speaker` with BIRD 1.6 (Debian's `bird`, unpacked privately by
// scripts/setup.sh) in network namespaces: eBGP over IPv4 (`bird`) and IPv6 (`bird6`) on
// one link. Routes flow both ways with the expected attributes, checked with BIRD 1.6's own
// CLI (birdc, birdc6) on its side and our control API on ours; BIRD installs what it learns
// into its namespace's kernel FIB; announcements and withdrawals at either end propagate.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  established,
  bestRoute as route,
  Lab,
  labAvailable,
  waitFor,
  type Daemon,
  type Family,
} from '../src/lab/index.js';

const OURS_ASN = 4200000001; // a 4-octet ASN (RFC 6793)
const BIRD_ASN = 65002;

/** Waits until `d` no longer has a best route for `prefix`. */
const gone = (d: Daemon, family: Family, prefix: string): Promise<boolean> =>
  waitFor(async () => (await route(d, family, prefix)) === undefined, {
    what: `${d.spec.name} to drop ${prefix}`,
    until: (g) => g,
  });

test('nonstop <-> BIRD 1.6 eBGP over IPv4 and IPv6: routes both ways, withdrawals', async (t) => {
  if (!labAvailable(['bird1'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const nb = await lab.node('bird1');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30', '2001:db8:0:1::1/64'] },
    { node: nb, addresses: ['198.18.0.2/30', '2001:db8:0:1::2/64'] },
  );
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.1',
    asn: OURS_ASN,
    neighbors: [
      { address: '198.18.0.2', asn: BIRD_ASN, localAddress: '198.18.0.1' },
      { address: '2001:db8:0:1::2', asn: BIRD_ASN, localAddress: '2001:db8:0:1::1' },
    ],
    originate: [
      { prefix: '198.19.1.0/24', communities: ['65001:7'], med: 5 },
      { prefix: '2001:db8:100::/48', communities: ['65001:8'] },
    ],
  });
  const bird = lab.daemon('bird1', {
    name: 'bird1',
    ns: nb.ns,
    routerId: '198.18.0.2',
    asn: BIRD_ASN,
    kernelFib: true,
    neighbors: [
      { address: '198.18.0.1', asn: OURS_ASN, localAddress: '198.18.0.2' },
      // Passive on BIRD's side: our speaker opens the IPv6 session.
      { address: '2001:db8:0:1::1', asn: OURS_ASN, localAddress: '2001:db8:0:1::2', passive: true },
    ],
    originate: [
      { prefix: '198.19.2.0/24', communities: ['65002:9'], med: 20 },
      { prefix: '2001:db8:200::/48', communities: ['65002:10'] },
    ],
  });
  await Promise.all([ours.start(), bird.start()]);
  await Promise.all([established(ours, 2), established(bird, 2)]);

  // Ours at BIRD 1.6 (birdc): AS path is our 4-octet ASN, next hop our address on the link,
  // our community and MED.
  const b4 = await waitFor(() => route(bird, 'ipv4', '198.19.1.0/24'), {
    what: 'BIRD 1.6 to learn 198.19.1.0/24',
  });
  assert.ok(b4);
  assert.deepEqual(b4.asPath, [OURS_ASN]);
  assert.equal(b4.nextHops[0], '198.18.0.1');
  assert.equal(b4.peer, '198.18.0.1');
  assert.equal(b4.origin, 'igp');
  assert.equal(b4.med, 5);
  assert.deepEqual(b4.communities, ['65001:7']);
  // ... and from bird6 (birdc6), which runs its own table.
  const b6 = await waitFor(() => route(bird, 'ipv6', '2001:db8:100::/48'), {
    what: 'BIRD 1.6 (bird6) to learn 2001:db8:100::/48',
  });
  assert.ok(b6);
  assert.deepEqual(b6.asPath, [OURS_ASN]);
  assert.ok(b6.nextHops.includes('2001:db8:0:1::1'), JSON.stringify(b6.nextHops));
  assert.equal(b6.peer, '2001:db8:0:1::1');
  assert.deepEqual(b6.communities, ['65001:8']);
  // The families stay apart: bird (IPv4) has no IPv6 route and the reverse.
  assert.equal(await route(bird, 'ipv4', '2001:db8:100::/48'), undefined);
  assert.equal(await route(bird, 'ipv6', '198.19.1.0/24'), undefined);

  // BIRD 1.6 put both into its namespace's kernel FIB (kernelFib: true).
  const k4 = await waitFor(
    async () => (await lab.kernelRoutes(nb, 'ipv4')).find((r) => r.dst === '198.19.1.0/24'),
    { what: '198.19.1.0/24 in the kernel FIB of the BIRD 1.6 node' },
  );
  assert.equal(k4?.gateway, '198.18.0.1');
  const k6 = await waitFor(
    async () => (await lab.kernelRoutes(nb, 'ipv6')).find((r) => r.dst === '2001:db8:100::/48'),
    { what: '2001:db8:100::/48 in the kernel FIB of the BIRD 1.6 node' },
  );
  assert.equal(k6?.gateway, '2001:db8:0:1::1');

  // BIRD 1.6's at ours (control API), with its MED and communities.
  const n4 = await waitFor(() => route(ours, 'ipv4', '198.19.2.0/24'), {
    what: 'nonstop to learn 198.19.2.0/24',
  });
  assert.ok(n4);
  assert.deepEqual(n4.asPath, [BIRD_ASN]);
  assert.equal(n4.nextHops[0], '198.18.0.2');
  assert.equal(n4.med, 20);
  assert.deepEqual(n4.communities, ['65002:9']);
  const n6 = await waitFor(() => route(ours, 'ipv6', '2001:db8:200::/48'), {
    what: 'nonstop to learn 2001:db8:200::/48',
  });
  assert.ok(n6);
  assert.deepEqual(n6.asPath, [BIRD_ASN]);
  assert.equal(n6.nextHops[0], '2001:db8:0:1::2');
  assert.deepEqual(n6.communities, ['65002:10']);

  // Each side counts the one prefix the other originated per family.
  for (const n of await bird.neighbors()) assert.equal(n.received, 1, JSON.stringify(n));

  // A route announced to BIRD 1.6 at run time (config rewrite + `birdc configure`) arrives
  // with its attributes at once: the adapter orders the config so that BIRD never sends it
  // without them first (checked on the first version we see, not the eventual one).
  await bird.announce({ prefix: '198.19.3.0/24', communities: ['65002:11'] });
  const n3 = await waitFor(() => route(ours, 'ipv4', '198.19.3.0/24'), {
    what: 'nonstop to learn 198.19.3.0/24 announced later',
  });
  assert.deepEqual(n3?.communities, ['65002:11']);

  // Withdrawals both ways and in both families; only the withdrawn prefix goes.
  await bird.withdraw('198.19.2.0/24');
  await gone(ours, 'ipv4', '198.19.2.0/24');
  await bird.withdraw('2001:db8:200::/48');
  await gone(ours, 'ipv6', '2001:db8:200::/48');
  assert.ok(await route(ours, 'ipv4', '198.19.3.0/24'), '198.19.3.0/24 must stay');
  await ours.withdraw('198.19.1.0/24');
  await gone(bird, 'ipv4', '198.19.1.0/24');
  await waitFor(
    async () => (await lab.kernelRoutes(nb, 'ipv4')).some((r) => r.dst === '198.19.1.0/24'),
    { what: '198.19.1.0/24 to leave the kernel FIB of the BIRD 1.6 node', until: (x) => !x },
  );
  assert.ok(await route(bird, 'ipv6', '2001:db8:100::/48'), '2001:db8:100::/48 must stay');

  // Reconfigurations reset no session on either side.
  assert.ok((await ours.neighbors()).every((n) => n.state === 'established'));
  assert.ok((await bird.neighbors()).every((n) => n.state === 'established'));
});
