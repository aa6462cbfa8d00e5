// `nonstop speaker` as an iBGP route reflector (RFC 4456) between two clients, BIRD and FRR,
// each on its own link. A route from one client reaches the other unchanged (empty AS path,
// next hop of the originating client, LOCAL_PREF) with ORIGINATOR_ID set to the originating
// client's router id and CLUSTER_LIST holding our cluster id; checked with each client's
// own CLI (birdc `show route all`, FRR's `show bgp ... json`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  established,
  Lab,
  labAvailable,
  waitFor,
  type BirdDaemon,
  type FrrDaemon,
} from '../src/lab/index.js';

const AS = 65000;
const RR_ID = '198.18.0.1';

interface FrrRrPath {
  originatorId?: string;
  clusterList?: { list?: string[] } | string[];
  locPrf?: number;
  nexthops?: { ip?: string }[];
  aspath?: { string?: string; length?: number };
  path?: string;
}

test('nonstop as route reflector: BIRD and FRR clients see ORIGINATOR_ID and CLUSTER_LIST', async (t) => {
  if (!labAvailable(['bird', 'frr'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('rr');
  const na = await lab.node('bird');
  const nb = await lab.node('frr');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30'] },
    { node: na, addresses: ['198.18.0.2/30'] },
  );
  await lab.link(
    { node: nn, addresses: ['198.18.0.5/30'] },
    { node: nb, addresses: ['198.18.0.6/30'] },
  );
  // Reflected next hops are the other client's address: each client reaches it through us.
  await lab.exec(na, 'ip', ['route', 'add', '198.18.0.4/30', 'via', '198.18.0.1']);
  await lab.exec(nb, 'ip', ['route', 'add', '198.18.0.0/30', 'via', '198.18.0.5']);

  const rr = lab.daemon('nonstop', {
    name: 'rr1',
    ns: nn.ns,
    routerId: RR_ID,
    asn: AS,
    neighbors: [
      { address: '198.18.0.2', asn: AS, localAddress: '198.18.0.1', routeReflectorClient: true },
      { address: '198.18.0.6', asn: AS, localAddress: '198.18.0.5', routeReflectorClient: true },
    ],
  });
  const bird = lab.daemon('bird', {
    name: 'birda',
    ns: na.ns,
    routerId: '198.18.0.2',
    asn: AS,
    neighbors: [{ address: '198.18.0.1', asn: AS, localAddress: '198.18.0.2' }],
    originate: [{ prefix: '198.19.1.0/24', localPref: 200, communities: ['65000:1'] }],
  }) as BirdDaemon;
  const frr = lab.daemon('frr', {
    name: 'frrb',
    ns: nb.ns,
    routerId: '198.18.0.6',
    asn: AS,
    neighbors: [{ address: '198.18.0.5', asn: AS, localAddress: '198.18.0.6' }],
    originate: [{ prefix: '198.19.2.0/24', localPref: 300 }],
  }) as FrrDaemon;
  await Promise.all([rr.start(), bird.start(), frr.start()]);
  await Promise.all([established(rr, 2), established(bird, 1), established(frr, 1)]);

  // BIRD's route at FRR, reflected by us.
  const atFrr = await waitFor(
    async () => {
      const out = JSON.parse(
        await frr.vtysh('bgpd', 'show bgp ipv4 unicast 198.19.1.0/24 json'),
      ) as { paths?: FrrRrPath[] };
      return out.paths?.[0];
    },
    {
      what: 'FRR to learn 198.19.1.0/24 reflected from BIRD',
      context: () => rr.logs().slice(-3000),
    },
  );
  assert.equal(atFrr?.originatorId, '198.18.0.2', JSON.stringify(atFrr));
  const cl = Array.isArray(atFrr?.clusterList) ? atFrr.clusterList : atFrr?.clusterList?.list;
  assert.deepEqual(cl, [RR_ID]);
  assert.equal(atFrr?.locPrf, 200);
  assert.equal(atFrr?.nexthops?.[0]?.ip, '198.18.0.2');
  const r1 = (await frr.routes('ipv4')).find((r) => r.prefix === '198.19.1.0/24');
  assert.deepEqual(r1?.asPath, []);
  assert.deepEqual(r1?.communities, ['65000:1']);
  assert.equal(r1?.best, true);

  // FRR's route at BIRD, reflected by us.
  const text = await waitFor(() => bird.birdc('show', 'route', 'all', '198.19.2.0/24'), {
    what: 'BIRD to learn 198.19.2.0/24 reflected from FRR',
    until: (out) => out.includes('BGP.originator_id'),
    context: () => rr.logs().slice(-3000),
  });
  assert.match(text, /BGP\.originator_id: 198\.18\.0\.6\b/);
  assert.match(text, /BGP\.cluster_list: 198\.18\.0\.1\s*$/m);
  assert.match(text, /BGP\.local_pref: 300\b/);
  assert.match(text, /BGP\.next_hop: 198\.18\.0\.6\b/);
  assert.match(text, /BGP\.as_path:\s*$/m);

  // Not reflected back to the client it came from (its own route is the only path there).
  const own = await bird.birdc('show', 'route', 'all', '198.19.1.0/24');
  assert.doesNotMatch(own, /originator_id/);

  // A withdrawal is reflected too.
  await frr.withdraw('198.19.2.0/24');
  await waitFor(async () => (await bird.routes('ipv4')).map((r) => r.prefix), {
    what: 'BIRD to drop 198.19.2.0/24',
    until: (ps) => ps.includes('198.19.1.0/24') && !ps.includes('198.19.2.0/24'),
  });
});
