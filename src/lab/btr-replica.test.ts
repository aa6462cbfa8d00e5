// The plan of a BTR replica's namespace (btr-replica.ts), without root: link addresses,
// the proxy endpoints per neighbour, and the nftables rules that realise them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  proxyRuleset,
  replicaLink,
  replicaProxy,
  routerAddressFor,
  type BtrRouterSpec,
} from './btr-replica.js';

const ROUTER: BtrRouterSpec = {
  routerId: '198.18.0.1',
  asn: 65001,
  addresses: ['198.18.1.1/30', '2001:db8:1::1/64'],
  neighbors: [
    { address: '198.18.1.2', asn: 65002 },
    { address: '2001:db8:1::2', asn: 65003 },
  ],
};

test('link addresses per slot, and the router address towards each neighbour', () => {
  assert.deepEqual(replicaLink(2), {
    hypervisor: { v4: '198.18.255.9', v6: '2001:db8:ffff:2::1' },
    replica: { v4: '198.18.255.10', v6: '2001:db8:ffff:2::2' },
  });
  assert.throws(() => replicaLink(64), /from 0 to 63/);
  assert.equal(routerAddressFor(ROUTER, ROUTER.neighbors[0]!), '198.18.1.1');
  assert.equal(routerAddressFor(ROUTER, ROUTER.neighbors[1]!), '2001:db8:1::1');
  assert.throws(() => routerAddressFor(ROUTER, { address: '198.18.7.1' }), /give its localAddress/);
});

test('accept mode: DNAT of each neighbour:179 to its port on the hypervisor, SNAT to the link', () => {
  const p = replicaProxy(ROUTER, 1, 'accept');
  assert.deepEqual(p.neighbors[1], {
    address: '2001:db8:1::2',
    accept: { address: '2001:db8:ffff:1::1', port: 10180 },
    connect: {
      remote: { address: '2001:db8:ffff:1::2', port: 20180 },
      local: '2001:db8:ffff:1::1',
    },
  });
  const rules = proxyRuleset(ROUTER, p);
  assert.match(rules, /ip daddr 198\.18\.1\.2 tcp dport 179 dnat ip to 198\.18\.255\.5:10179/);
  assert.match(
    rules,
    /ip6 daddr 2001:db8:1::2 tcp dport 179 dnat ip6 to \[2001:db8:ffff:1::1\]:10180/,
  );
  assert.match(rules, /ip daddr 198\.18\.255\.5 tcp dport 10179 snat ip to 198\.18\.255\.6/);
  assert.doesNotMatch(rules, /proto-dst/);
});

test('connect mode: DNAT of the per-neighbour port to the router address:179, SNAT to the neighbour', () => {
  const rules = proxyRuleset(ROUTER, replicaProxy(ROUTER, 0, 'connect'));
  assert.match(rules, /ip daddr 198\.18\.255\.2 tcp dport 20179 dnat ip to 198\.18\.1\.1:179/);
  assert.match(
    rules,
    /ct original ip daddr 198\.18\.255\.2 ct original proto-dst 20179 snat ip to 198\.18\.1\.2/,
  );
  assert.match(rules, /dnat ip6 to \[2001:db8:1::1\]:179/);
  assert.doesNotMatch(rules, /tcp dport 179 dnat/);
});
