// GoBGP <-> BIRD over IPv6 with ADD-PATH: the generated configs of both adapters for an
// IPv6 session with RFC 7911 negotiate it, and routes flow both ways.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BirdDaemon, Lab, labAvailable, waitFor, type Daemon } from '../src/lab/index.js';

const v6 = async (d: Daemon, prefix: string) =>
  (await d.routes('ipv6')).find((r) => r.prefix === prefix && r.best);

test('GoBGP <-> BIRD over IPv6 with ADD-PATH: capability negotiated, routes both ways', async (t) => {
  if (!labAvailable(['gobgp', 'bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const ng = await lab.node('gobgp');
  const nb = await lab.node('bird');
  await lab.link(
    { node: ng, addresses: ['2001:db8:0:3::1/64'] },
    { node: nb, addresses: ['2001:db8:0:3::2/64'] },
  );
  const [gobgp, bird] = await Promise.all([
    lab.startDaemon('gobgp', {
      name: 'gobgp1',
      ns: ng.ns,
      routerId: '198.18.3.1',
      asn: 65003,
      neighbors: [
        { address: '2001:db8:0:3::2', asn: 65001, localAddress: '2001:db8:0:3::1', addPath: true },
      ],
      originate: [{ prefix: '2001:db8:300::/48', communities: ['65003:1'] }],
    }),
    lab.startDaemon('bird', {
      name: 'bird1',
      ns: nb.ns,
      routerId: '198.18.3.2',
      asn: 65001,
      neighbors: [
        { address: '2001:db8:0:3::1', asn: 65003, localAddress: '2001:db8:0:3::2', addPath: true },
      ],
      originate: [{ prefix: '2001:db8:100::/48' }],
    }),
  ]);
  await waitFor(() => bird.neighbors(), {
    what: 'BIRD session with GoBGP Established',
    until: (ns) => ns[0]?.state === 'established',
    timeoutMs: 20_000,
    context: () => `${bird.logs().slice(-1500)}\n${gobgp.logs().slice(-1500)}`,
  });
  assert.ok(bird instanceof BirdDaemon);
  const caps = await bird.birdc('show', 'protocols', 'all', 'nst_n0');
  const neighborCaps = caps.slice(caps.indexOf('Neighbor capabilities'));
  assert.match(neighborCaps, /ADD-PATH\s+RX: ipv6\s+TX: ipv6/);

  const atBird = await waitFor(() => v6(bird, '2001:db8:300::/48'), {
    what: 'BIRD to learn 2001:db8:300::/48 from GoBGP',
  });
  assert.deepEqual(atBird?.asPath, [65003]);
  assert.deepEqual(atBird?.communities, ['65003:1']);
  assert.equal(atBird?.nextHops[0], '2001:db8:0:3::1');

  const atGobgp = await waitFor(() => v6(gobgp, '2001:db8:100::/48'), {
    what: 'GoBGP to learn 2001:db8:100::/48 from BIRD',
  });
  assert.deepEqual(atGobgp?.asPath, [65001]);
  assert.equal(atGobgp?.nextHops[0], '2001:db8:0:3::2');
});
