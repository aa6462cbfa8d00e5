// The hypervisor's side of transparent proxying: "the neighbour's address, port 179"
// becomes the neighbour's own endpoint on the replica's link (transparent-proxy.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Endpoint } from '../net/transport.js';
import { MemoryNetwork } from '../net/memory.js';
import type { ReplicaProxy } from './instance.js';
import { ProxyConnector, proxiedReplicaSpec } from './transparent-proxy.js';

const proxy = (mode: 'accept' | 'connect'): ReplicaProxy => ({
  mode,
  neighbors: [
    {
      address: '198.18.1.2',
      accept: { address: '198.18.255.1', port: 10179 },
      connect: { remote: { address: '198.18.255.2', port: 20179 }, local: '198.18.255.1' },
    },
    {
      address: '2001:db8:1::2',
      accept: { address: '2001:db8:ffff::1', port: 10180 },
      connect: { remote: { address: '2001:db8:ffff::2', port: 20180 }, local: '2001:db8:ffff::1' },
    },
  ],
});

test('accept mode: listening on a neighbour listens on its endpoint on the link', async () => {
  const net = new MemoryNetwork();
  const c = new ProxyConnector(net, proxy('accept'));
  const got: Endpoint[] = [];
  const l = await c.listen({ address: '2001:db8:1::2', port: 179 }, (t) => got.push(t.local));
  assert.deepEqual(l.local, { address: '2001:db8:ffff::1', port: 10180 });
  const t = await net.connect(
    { address: '2001:db8:ffff::1', port: 10180 },
    { address: '2001:db8:ffff::2' },
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 1);
  t.destroy();
  await l.close();
  await assert.rejects(
    () => c.listen({ address: '198.18.9.9', port: 179 }, () => undefined),
    /198\.18\.9\.9 is not a neighbour/,
  );
});

test('connect mode: speaking as a neighbour connects to its port on the replica', async () => {
  const net = new MemoryNetwork();
  const seen: { local: Endpoint; remote: Endpoint }[] = [];
  const l = await net.listen({ address: '198.18.255.2', port: 20179 }, (t) =>
    seen.push({ local: t.local, remote: t.remote }),
  );
  const spec = proxiedReplicaSpec({ name: 'r', proxy: proxy('connect') }, net, { startDelayMs: 5 });
  assert.equal(spec.mode, 'connect');
  assert.equal(spec.startDelayMs, 5);
  assert.ok(spec.endpoint);
  const t = await spec.connector.connect(spec.endpoint, { address: '198.18.1.2' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen[0]?.local, { address: '198.18.255.2', port: 20179 });
  assert.equal(seen[0]?.remote.address, '198.18.255.1');
  t.destroy();
  await l.close();
  await assert.rejects(() => spec.connector.connect(spec.endpoint!, {}), /no address/);
});
