// The translation of the btr config for replicas in namespaces (btr-lab-replicas.ts), without
// root: the router's addresses, its neighbours in the lab's DaemonSpec terms, the policies
// that cannot be translated yet, and when the namespace factory is needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBtrConfig, type BtrConfig } from '../btr/config.js';
import {
  needsNamespaces,
  policyProblems,
  routerAddresses,
  routerIfname,
  routerSpec,
} from './btr-lab-replicas.js';

function cfg(text: string): BtrConfig {
  const r = parseBtrConfig(text, 'btr.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const BASE = `
asn: 65001
router-id: 198.18.0.1
neighbors:
  - { address: 198.18.1.2, asn: 65002, local-address: 198.18.1.1, import: accept-all, export: accept-all }
  - { address: '2001:db8:2::2', asn: 65003, families: [ipv6-unicast], import: accept-all, export: reject-all }
`;

test('the router of the replicas: addresses found here, neighbours, export reject-all', () => {
  const c = cfg(BASE + 'replicas:\n  - { name: b, implementation: bird }\n');
  const here = [
    { address: '198.18.9.1', length: 24 },
    { address: '198.18.1.1', length: 30 },
    { address: '2001:db8:2::1', length: 64 },
  ];
  const addrs = routerAddresses(c, here);
  assert.deepEqual(addrs, ['198.18.1.1/30', '2001:db8:2::1/64']);
  assert.deepEqual(routerSpec(c, addrs), {
    routerId: '198.18.0.1',
    asn: 65001,
    addresses: addrs,
    neighbors: [
      { address: '198.18.1.2', asn: 65002, localAddress: '198.18.1.1', families: ['ipv4'] },
      { address: '2001:db8:2::2', asn: 65003, families: ['ipv6'], receiveOnly: true },
    ],
  });
  assert.throws(() => routerAddresses(c, here.slice(0, 1)), /no address of this namespace/);
  // interfaces, when given, are the router's addresses.
  const withIfs = cfg(
    BASE.replace(
      'neighbors:',
      'interfaces:\n  - { name: e0, addresses: [198.18.1.1/30] }\nneighbors:',
    ) + 'replicas:\n  - { name: b, implementation: bird }\n',
  );
  assert.deepEqual(routerAddresses(withIfs, []), ['198.18.1.1/30']);
});

test('policies outside what the daemons are given yet are named; the factory choice', () => {
  const c = cfg(
    BASE.replace(
      'import: accept-all, export: accept-all',
      'import: reject-all, export: { prefix-list: l }',
    ) +
      'prefix-lists:\n  l: [{ prefix: 198.19.0.0/16, le: 24 }]\n' +
      'replicas:\n  - { name: n, implementation: nonstop }\n',
  );
  const p = policyProblems(c);
  assert.equal(p.length, 2);
  assert.match(p[0]!, /198\.18\.1\.2: import reject-all/);
  assert.match(p[1]!, /export \{ prefix-list: l \}/);
  assert.equal(needsNamespaces(c), false);
  assert.equal(
    needsNamespaces(cfg(BASE + 'replicas:\n  - { name: g, implementation: gobgp }\n')),
    true,
  );
  assert.equal(routerIfname(63, 4194304), 'nst-b63-2hwcg');
});
