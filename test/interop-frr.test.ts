// Interop of `nonstop speaker` with FRR 8 (bgpd + zebra, Debian package) in network
// namespaces. One FRR is an eBGP neighbour over IPv4 and IPv6, another an iBGP neighbour;
// our side has a 4-octet ASN (RFC 6793). Routes flow every way with the attributes each
// kind of session must carry (checked with FRR's own `vtysh ... json` on its side and our
// control API on ours), withdrawals propagate, and ROUTE-REFRESH (RFC 2918) works in both
// directions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlRequest } from '../src/control/client.js';
import type { NeighborDetail } from '../src/control/api-types.js';
import {
  established,
  bestRoute as route,
  Lab,
  labAvailable,
  waitFor,
  type Daemon,
  type Family,
  type FrrDaemon,
  type NonstopDaemon,
} from '../src/lab/index.js';

const OUR_AS = 4200000001;

const learned = (d: Daemon, family: Family, prefix: string) =>
  waitFor(() => route(d, family, prefix), {
    what: `${d.spec.name} to learn ${prefix}`,
    context: () => d.logs().slice(-3000),
  });

const gone = (d: Daemon, family: Family, prefix: string) =>
  waitFor(async () => (await route(d, family, prefix)) === undefined, {
    what: `${d.spec.name} to drop ${prefix}`,
    until: (x) => x,
  });

async function neighborDetail(d: NonstopDaemon, address: string): Promise<NeighborDetail> {
  return d.api<NeighborDetail>(`/neighbors/${encodeURIComponent(address)}`);
}

/** FRR's message counters for one neighbour (`show bgp neighbors X json`). */
async function frrMessageStats(frr: FrrDaemon, address: string): Promise<Record<string, number>> {
  const out = JSON.parse(await frr.vtysh('bgpd', `show bgp neighbors ${address} json`)) as Record<
    string,
    { messageStats?: Record<string, number> }
  >;
  const stats = out[address]?.messageStats;
  assert.ok(stats, `FRR reports no messageStats for ${address}`);
  return stats;
}

test('nonstop <-> FRR: eBGP IPv4/IPv6 and iBGP, attributes, withdrawals, ROUTE-REFRESH', async (t) => {
  if (!labAvailable(['frr'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const ne = await lab.node('frre');
  const ni = await lab.node('frri');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30', '2001:db8:0:1::1/64'] },
    { node: ne, addresses: ['198.18.0.2/30', '2001:db8:0:1::2/64'] },
  );
  await lab.link(
    { node: nn, addresses: ['198.18.0.5/30'] },
    { node: ni, addresses: ['198.18.0.6/30'] },
  );
  // The iBGP FRR resolves the eBGP neighbour's next hop (passed on unchanged) through us.
  await lab.exec(ni, 'ip', ['route', 'add', '198.18.0.0/30', 'via', '198.18.0.5']);

  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.1',
    asn: OUR_AS,
    neighbors: [
      { address: '198.18.0.2', asn: 65002, localAddress: '198.18.0.1' },
      { address: '2001:db8:0:1::2', asn: 65002, localAddress: '2001:db8:0:1::1' },
      { address: '198.18.0.6', asn: OUR_AS, localAddress: '198.18.0.5' },
    ],
    originate: [
      { prefix: '198.19.1.0/24', communities: ['65001:7'], med: 50, localPref: 300 },
      { prefix: '2001:db8:100::/48', communities: ['65001:8'] },
    ],
  }) as NonstopDaemon;
  const frrE = lab.daemon('frr', {
    name: 'frre',
    ns: ne.ns,
    routerId: '198.18.0.2',
    asn: 65002,
    neighbors: [
      { address: '198.18.0.1', asn: OUR_AS, localAddress: '198.18.0.2' },
      { address: '2001:db8:0:1::1', asn: OUR_AS, localAddress: '2001:db8:0:1::2' },
    ],
    originate: [
      { prefix: '198.19.2.0/24', communities: ['65002:9'], med: 20 },
      { prefix: '2001:db8:200::/48' },
    ],
  }) as FrrDaemon;
  const frrI = lab.daemon('frr', {
    name: 'frri',
    ns: ni.ns,
    routerId: '198.18.0.6',
    asn: OUR_AS,
    neighbors: [{ address: '198.18.0.5', asn: OUR_AS, localAddress: '198.18.0.6' }],
    originate: [{ prefix: '198.19.3.0/24', communities: ['65003:1'], localPref: 250 }],
  }) as FrrDaemon;
  await Promise.all([ours.start(), frrE.start(), frrI.start()]);
  await Promise.all([established(ours, 3), established(frrE, 2), established(frrI, 1)]);

  // Ours at the eBGP FRR: our 4-octet ASN prepended, next hop ours, MED and community kept.
  const e1 = await learned(frrE, 'ipv4', '198.19.1.0/24');
  assert.deepEqual(e1?.asPath, [OUR_AS]);
  assert.equal(e1?.nextHops[0], '198.18.0.1');
  assert.deepEqual(e1?.communities, ['65001:7']);
  assert.equal(e1?.med, 50);
  assert.equal(e1?.origin, 'igp');
  const e6 = await learned(frrE, 'ipv6', '2001:db8:100::/48');
  assert.deepEqual(e6?.asPath, [OUR_AS]);
  assert.ok(e6?.nextHops.includes('2001:db8:0:1::1'), JSON.stringify(e6?.nextHops));
  assert.deepEqual(e6?.communities, ['65001:8']);
  // The iBGP FRR's route passed on to eBGP: our ASN prepended to its empty path, next hop self.
  const e3 = await learned(frrE, 'ipv4', '198.19.3.0/24');
  assert.deepEqual(e3?.asPath, [OUR_AS]);
  assert.equal(e3?.nextHops[0], '198.18.0.1');
  assert.deepEqual(e3?.communities, ['65003:1']);

  // Ours at the iBGP FRR: empty AS path, LOCAL_PREF and MED as originated, next hop ours.
  const i1 = await learned(frrI, 'ipv4', '198.19.1.0/24');
  assert.deepEqual(i1?.asPath, []);
  assert.equal(i1?.nextHops[0], '198.18.0.5');
  assert.equal(i1?.localPref, 300);
  assert.equal(i1?.med, 50);
  assert.deepEqual(i1?.communities, ['65001:7']);
  // The eBGP FRR's route passed on to iBGP: AS path and next hop unchanged, MED kept,
  // LOCAL_PREF our default.
  const i2 = await learned(frrI, 'ipv4', '198.19.2.0/24');
  assert.deepEqual(i2?.asPath, [65002]);
  assert.equal(i2?.nextHops[0], '198.18.0.2');
  assert.equal(i2?.med, 20);
  assert.equal(i2?.localPref, 100);
  assert.deepEqual(i2?.communities, ['65002:9']);

  // FRR's routes at ours.
  const n2 = await learned(ours, 'ipv4', '198.19.2.0/24');
  assert.deepEqual(n2?.asPath, [65002]);
  assert.equal(n2?.nextHops[0], '198.18.0.2');
  assert.deepEqual(n2?.communities, ['65002:9']);
  assert.equal(n2?.med, 20);
  assert.equal(n2?.peer, '198.18.0.2');
  const n6 = await learned(ours, 'ipv6', '2001:db8:200::/48');
  assert.deepEqual(n6?.asPath, [65002]);
  assert.equal(n6?.nextHops[0], '2001:db8:0:1::2');
  const n3 = await learned(ours, 'ipv4', '198.19.3.0/24');
  assert.deepEqual(n3?.asPath, []);
  assert.equal(n3?.nextHops[0], '198.18.0.6');
  assert.equal(n3?.localPref, 250);
  assert.deepEqual(n3?.communities, ['65003:1']);

  // ROUTE-REFRESH from us: FRR counts one received, and we count one sent.
  const ebgp = '198.18.0.1';
  const before = await frrMessageStats(frrE, ebgp);
  const oursBefore = await neighborDetail(ours, '198.18.0.2');
  assert.equal(oursBefore.negotiated?.routeRefresh, true);
  const r = await controlRequest(
    ours.socket,
    'POST',
    `/neighbors/${encodeURIComponent('198.18.0.2')}/refresh`,
    { direction: 'in' },
  );
  assert.equal(r.status, 200, r.text);
  await waitFor(() => frrMessageStats(frrE, ebgp), {
    what: 'FRR to count a received ROUTE-REFRESH',
    until: (s) => (s.routeRefreshRecv ?? 0) > (before.routeRefreshRecv ?? 0),
  });
  const oursAfter = await neighborDetail(ours, '198.18.0.2');
  assert.ok(
    oursAfter.counters.messagesSent.routeRefresh > oursBefore.counters.messagesSent.routeRefresh,
  );

  // ROUTE-REFRESH from FRR (`clear bgp X soft in`): we count it and send our routes again.
  const fBefore = await frrMessageStats(frrE, ebgp);
  await frrE.vtysh('bgpd', `clear bgp ipv4 unicast ${ebgp} soft in`);
  await waitFor(() => neighborDetail(ours, '198.18.0.2'), {
    what: 'nonstop to count a received ROUTE-REFRESH from FRR',
    until: (d) =>
      d.counters.messagesReceived.routeRefresh > oursAfter.counters.messagesReceived.routeRefresh,
    context: () => ours.logs().slice(-3000),
  });
  await waitFor(() => frrMessageStats(frrE, ebgp), {
    what: 'FRR to receive our routes again after its ROUTE-REFRESH',
    until: (s) => (s.updatesRecv ?? 0) > (fBefore.updatesRecv ?? 0),
  });
  const resent = await neighborDetail(ours, '198.18.0.2');
  assert.ok(resent.counters.messagesSent.update > oursAfter.counters.messagesSent.update);
  // Still there, with the same attributes, and the session never dropped.
  assert.deepEqual((await route(frrE, 'ipv4', '198.19.1.0/24'))?.asPath, [OUR_AS]);
  assert.equal((await neighborDetail(ours, '198.18.0.2')).counters.dropped, 0);

  // Withdrawals: FRR's reaches us and, through us, the iBGP FRR; ours reaches both FRRs.
  await frrE.withdraw('198.19.2.0/24');
  await gone(ours, 'ipv4', '198.19.2.0/24');
  await gone(frrI, 'ipv4', '198.19.2.0/24');
  await ours.withdraw('198.19.1.0/24');
  await gone(frrE, 'ipv4', '198.19.1.0/24');
  await gone(frrI, 'ipv4', '198.19.1.0/24');
  await ours.withdraw('2001:db8:100::/48');
  await gone(frrE, 'ipv6', '2001:db8:100::/48');
  // The rest is untouched.
  assert.ok(await route(frrE, 'ipv4', '198.19.3.0/24'));
  assert.ok(await route(ours, 'ipv6', '2001:db8:200::/48'));
});
