// Interop of the lab's GoBGP and ExaBGP adapters: an eBGP session, routes both ways
// (configured, and announced/withdrawn at run time through gobgp's CLI and ExaBGP's API).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lab, labAvailable, waitFor, type Daemon } from '../src/lab/index.js';

const v4 = async (d: Daemon, prefix: string) =>
  (await d.routes('ipv4')).find((r) => r.prefix === prefix && r.best);

test('GoBGP <-> ExaBGP: session Established, routes exchanged both ways, withdraw', async (t) => {
  if (!labAvailable(['gobgp', 'exabgp'])) {
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  }
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const ng = await lab.node('gobgp');
  const ne = await lab.node('exabgp');
  await lab.link(
    { node: ng, addresses: ['198.18.1.1/30', '2001:db8:0:2::1/64'] },
    { node: ne, addresses: ['198.18.1.2/30', '2001:db8:0:2::2/64'] },
  );
  const gobgp = lab.daemon('gobgp', {
    name: 'gobgp1',
    ns: ng.ns,
    routerId: '198.18.1.1',
    asn: 65003,
    neighbors: [{ address: '198.18.1.2', asn: 65004, localAddress: '198.18.1.1' }],
    originate: [{ prefix: '198.19.6.0/24', communities: ['65003:6'], med: 60 }],
  });
  const exa = lab.daemon('exabgp', {
    name: 'exa1',
    ns: ne.ns,
    routerId: '198.18.1.2',
    asn: 65004,
    neighbors: [{ address: '198.18.1.1', asn: 65003, localAddress: '198.18.1.2' }],
    originate: [{ prefix: '198.19.4.0/24', communities: ['65004:4'] }],
  });
  await Promise.all([gobgp.start(), exa.start()]);

  for (const d of [gobgp, exa]) {
    await waitFor(() => d.neighbors(), {
      what: `${d.spec.name}: session Established`,
      until: (ns) => ns[0]?.state === 'established',
      timeoutMs: 20_000,
      context: () => d.logs().slice(-2000),
    });
  }

  // ExaBGP's static route at GoBGP.
  const r = await waitFor(() => v4(gobgp, '198.19.4.0/24'), {
    what: 'GoBGP to learn 198.19.4.0/24 from ExaBGP',
  });
  assert.deepEqual(r?.asPath, [65004]);
  assert.deepEqual(r?.nextHops, ['198.18.1.2']);
  assert.deepEqual(r?.communities, ['65004:4']);
  assert.equal(r?.peer, '198.18.1.2');

  // GoBGP's route (added with `gobgp global rib add` at start) at ExaBGP.
  const g = await waitFor(() => v4(exa, '198.19.6.0/24'), {
    what: 'ExaBGP to receive 198.19.6.0/24 from GoBGP',
  });
  assert.deepEqual(g?.asPath, [65003]);
  assert.deepEqual(g?.nextHops, ['198.18.1.1']);
  assert.deepEqual(g?.communities, ['65003:6']);
  assert.equal(g?.med, 60);

  // Run time, through ExaBGP's API process.
  await exa.announce({ prefix: '198.19.5.0/24', med: 50 });
  const a = await waitFor(() => v4(gobgp, '198.19.5.0/24'), {
    what: 'GoBGP to learn 198.19.5.0/24 announced through the ExaBGP API',
  });
  assert.equal(a?.med, 50);
  await exa.withdraw('198.19.5.0/24');
  await waitFor(() => v4(gobgp, '198.19.5.0/24'), {
    what: '198.19.5.0/24 withdrawn from GoBGP',
    until: (x) => x === undefined,
  });

  // ... and through the gobgp CLI.
  await gobgp.withdraw('198.19.6.0/24');
  await waitFor(() => v4(exa, '198.19.6.0/24'), {
    what: '198.19.6.0/24 withdrawn at ExaBGP',
    until: (x) => x === undefined,
  });
  const [n] = await gobgp.neighbors();
  assert.equal(n?.received, 1); // 198.19.4.0/24 only
  assert.ok(n?.uptime !== undefined && n.uptime >= 0);
});
