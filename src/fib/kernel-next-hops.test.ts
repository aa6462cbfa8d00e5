import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddr, parsePrefix } from '../lib/ip.js';
import type { FibRoute } from './fib.js';
import { KernelNextHops } from './kernel-next-hops.js';

const route = (p: string, proto: number, metric?: number): FibRoute => ({
  prefix: parsePrefix(p)!,
  nextHops: [],
  proto,
  ...(metric !== undefined ? { metric } : {}),
});

test('next hops resolve through connected and IGP routes, never through ours or the default route', async () => {
  let kernel: FibRoute[] = [
    route('198.18.1.0/24', 2), // connected (proto kernel)
    route('198.18.9.0/24', 16, 20), // an IGP route with metric 20
    route('198.18.200.0/24', 214), // one of our own BGP routes
    route('0.0.0.0/0', 4), // static default
  ];
  const nh = new KernelNextHops({
    // Like the kernel with strict dump checking: only the protocol asked for.
    listKernel: async (afi, filter) =>
      kernel.filter(
        (r) =>
          r.prefix.afi === (afi ?? 1) &&
          (filter?.protocol === undefined || r.proto === filter.protocol),
      ),
  });
  assert.equal(await nh.refresh(), true);
  assert.deepEqual(nh.resolve(parseAddr('198.18.1.7')!), { reachable: true, igpCost: 0 });
  assert.deepEqual(nh.resolve(parseAddr('198.18.9.1')!), { reachable: true, igpCost: 20 });
  assert.equal(
    nh.resolve(parseAddr('198.18.200.1')!).reachable,
    false,
    'not through our own BGP route',
  );
  assert.equal(
    nh.resolve(parseAddr('203.0.113.1')!).reachable,
    false,
    'not through the default route',
  );
  assert.equal(await nh.refresh(), false, 'nothing changed');
  kernel = [...kernel, route('198.18.8.0/24', 16, 5)];
  assert.equal(await nh.refresh(), true);
  assert.deepEqual(nh.resolve(parseAddr('198.18.8.1')!), { reachable: true, igpCost: 5 });
});
