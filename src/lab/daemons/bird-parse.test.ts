// The BIRD CLI parsers on output of the real daemons (BIRD 2.0.12 and 1.6.8 from Debian
// bookworm, lab topologies like test/interop-bird*.test.ts), shortened; the Active session
// and the IPv6 community are written in the same format. BIRD 1.6 puts the first next hop
// on the route line and names its column header in lower case.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBirdProtocols, parseBirdRoutes } from './bird-parse.js';

const PEERS = new Map([
  ['nst_n0', '198.18.0.1'],
  ['nst_n1', '2001:db8:0:1::1'],
  ['nst_n2', '198.18.0.5'],
  ['nst_n3', '2001:db8:0:2::1'],
]);

const BIRD2_ROUTES4 = [
  'BIRD 2.0.12 ready.',
  'Table master4:',
  '198.19.1.0/24        unicast [nst_n0 1795247780] * (100) [AS4200000001i]',
  '\tvia 198.18.0.1 on nst-ns',
  '\tType: BGP univ',
  '\tBGP.origin: IGP',
  '\tBGP.as_path: 4200000001',
  '\tBGP.next_hop: 198.18.0.1',
  '\tBGP.med: 5',
  '\tBGP.local_pref: 100',
  '\tBGP.community: (65001,7)',
  '198.19.2.0/24        blackhole [nst_static4 1795247780] * (200)',
  '\tType: static univ',
  '',
].join('\n');

// bird (IPv4): one prefix from two eBGP neighbours; the second route starts with spaces.
const BIRD1_ROUTES4 = [
  'BIRD 1.6.8 ready.',
  '198.19.9.0/24      via 198.18.0.1 on nst-ns [nst_n0 1795247790] * (100) [AS65001i]',
  '\tType: BGP unicast univ',
  '\tBGP.origin: IGP',
  '\tBGP.as_path: 65001',
  '\tBGP.next_hop: 198.18.0.1',
  '\tBGP.local_pref: 100',
  '                   via 198.18.0.5 on nst-b2 [nst_n2 1795247791] (100) [AS65003i]',
  '\tType: BGP unicast univ',
  '\tBGP.origin: IGP',
  '\tBGP.as_path: 65003',
  '\tBGP.next_hop: 198.18.0.5',
  '\tBGP.med: 3',
  '\tBGP.local_pref: 100',
  '198.19.2.0/24      blackhole [nst_static4 1795247772] * (200)',
  '\tType: static unicast univ',
  '',
].join('\n');

// bird6: the second neighbour (BIRD 2) sends a link-local next hop beside the global one.
const BIRD1_ROUTES6 = [
  'BIRD 1.6.8 ready.',
  '2001:db8:900::/48  via 2001:db8:0:1::1 on nst-ns [nst_n1 1795247793] * (100) [AS65001i]',
  '\tType: BGP unicast univ',
  '\tBGP.origin: IGP',
  '\tBGP.as_path: 65001',
  '\tBGP.next_hop: 2001:db8:0:1::1',
  '\tBGP.local_pref: 100',
  '\tBGP.community: (65001,8)',
  '                   via 2001:db8:0:2::1 on nst-b2 [nst_n3 1795247792] (100) [AS65003i]',
  '\tType: BGP unicast univ',
  '\tBGP.origin: IGP',
  '\tBGP.as_path: 65003',
  '\tBGP.next_hop: 2001:db8:0:2::1 fe80::cc9a:ebff:feaf:b549',
  '\tBGP.local_pref: 100',
  '',
].join('\n');

const BIRD1_PROTOCOLS = [
  'BIRD 1.6.8 ready.',
  'name     proto    table    state  since       info',
  'device1  Device   master   up     1795247772  ',
  '  Preference:     240',
  '  Routes:         0 imported, 0 exported, 0 preferred',
  '',
  'nst_static4 Static   master   up     1795247772  ',
  '  Routes:         1 imported, 0 exported, 1 preferred',
  '',
  'nst_n0   BGP      master   up     1795247772  Established   ',
  '  Description:    198.18.0.1',
  '  Routes:         1 imported, 1 exported, 1 preferred',
  '  BGP state:          Established',
  '    Neighbor address: 198.18.0.1',
  '    Neighbor AS:      4200000001',
  '',
  'nst_n2   BGP      master   start  1795247770  Active        Socket: Connection refused',
  '  Description:    198.18.0.5',
  '  Routes:         0 imported, 0 exported, 0 preferred',
  '  BGP state:          Active',
  '    Neighbor address: 198.18.0.5',
  '',
].join('\n');

test('BIRD 2 routes: next hop from the via line, attributes from BGP.* lines', () => {
  const [bgp, stat, ...rest] = parseBirdRoutes(BIRD2_ROUTES4, 'ipv4', PEERS);
  assert.equal(rest.length, 0);
  assert.deepEqual(bgp, {
    prefix: '198.19.1.0/24',
    family: 'ipv4',
    nextHops: ['198.18.0.1'],
    asPath: [4200000001],
    origin: 'igp',
    med: 5,
    localPref: 100,
    communities: ['65001:7'],
    best: true,
    peer: '198.18.0.1',
  });
  assert.equal(stat?.prefix, '198.19.2.0/24');
  assert.equal(stat?.peer, undefined);
  assert.deepEqual(stat?.nextHops, []);
});

test('BIRD 1.6 routes: two paths for one prefix, only the first best', () => {
  const rs = parseBirdRoutes(BIRD1_ROUTES4, 'ipv4', PEERS);
  assert.deepEqual(
    rs.map((r) => [r.prefix, r.peer, r.best, r.nextHops, r.asPath, r.med]),
    [
      ['198.19.9.0/24', '198.18.0.1', true, ['198.18.0.1'], [65001], undefined],
      ['198.19.9.0/24', '198.18.0.5', false, ['198.18.0.5'], [65003], 3],
      ['198.19.2.0/24', undefined, true, [], [], undefined],
    ],
  );
});

test('BIRD 1.6 (bird6) routes: global then link-local next hop, communities', () => {
  const [a, b, ...rest] = parseBirdRoutes(BIRD1_ROUTES6, 'ipv6', PEERS);
  assert.equal(rest.length, 0);
  assert.deepEqual(a?.communities, ['65001:8']);
  assert.equal(a?.family, 'ipv6');
  assert.equal(a?.peer, '2001:db8:0:1::1');
  assert.deepEqual(b?.nextHops, ['2001:db8:0:2::1', 'fe80::cc9a:ebff:feaf:b549']);
  assert.equal(b?.best, false);
  assert.equal(b?.peer, '2001:db8:0:2::1');
});

test('BIRD 1.6 protocols: lower-case header skipped, BGP state and imports per protocol', () => {
  const ps = parseBirdProtocols(BIRD1_PROTOCOLS);
  assert.deepEqual(
    ps.map((p) => p.name),
    ['device1', 'nst_static4', 'nst_n0', 'nst_n2'],
  );
  const n0 = ps.find((p) => p.name === 'nst_n0');
  assert.deepEqual(
    [n0?.proto, n0?.state, n0?.since, n0?.bgpState, n0?.neighborAddress, n0?.imported],
    ['BGP', 'up', 1795247772, 'Established', '198.18.0.1', 1],
  );
  const n2 = ps.find((p) => p.name === 'nst_n2');
  assert.deepEqual([n2?.state, n2?.bgpState, n2?.imported], ['start', 'Active', 0]);
});
