// RouteMonitor (src/fib/route-monitor.ts) following real kernel tables of two fresh network
// namespaces `nst-rmon-<random>-a|b` from this process, which stays in its own: the routes
// are made with iproute2 (an independent writer), and the monitor must report the table as
// it was at start, then each change, per namespace, leaving out configuration routes. Needs
// root; NONSTOP_SKIP_LAB=1 skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RouteMonitor, netnsPath, type MonitoredRoute } from '../src/fib/route-monitor.js';

const ip = (...args: string[]): void => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

test('RouteMonitor follows two namespaces’ tables: snapshot, then every change', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.NONSTOP_SKIP_LAB === '1') return t.skip('needs root (NONSTOP_SKIP_LAB=1)');
    assert.fail(
      'the route monitor test needs root to create namespaces (NONSTOP_SKIP_LAB=1 skips)',
    );
  }
  const id = randomBytes(3).toString('hex');
  const ns = [`nst-rmon-${id}-a`, `nst-rmon-${id}-b`];
  let mon: RouteMonitor | undefined;
  try {
    for (const n of ns) {
      ip('netns', 'add', n);
      ip('-n', n, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
      ip('-n', n, 'link', 'set', 'v0', 'up');
      ip('-n', n, 'link', 'set', 'v1', 'up');
      ip('-n', n, 'addr', 'add', '198.18.0.1/24', 'dev', 'v0');
      ip('-n', n, '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'v0', 'nodad');
    }
    // Before the monitor starts: one routing route and one static (configuration) route.
    ip('-n', ns[0]!, 'route', 'add', '198.19.1.0/24', 'via', '198.18.0.2', 'proto', 'bird');
    ip('-n', ns[0]!, 'route', 'add', '198.19.9.0/24', 'via', '198.18.0.2', 'proto', 'static');

    const snaps = new Map<number, readonly MonitoredRoute[]>();
    const events: { n: number; add: boolean; r: MonitoredRoute }[] = [];
    mon = await RouteMonitor.start(
      { namespaces: ns.map(netnsPath) },
      {
        snapshot: (n, routes) => snaps.set(n, routes),
        route: (n, add, r) => events.push({ n, add, r }),
      },
    );
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      const end = Date.now() + 5000;
      while (!ok()) {
        if (Date.now() > end)
          assert.fail(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until('both snapshots', () => snaps.size === 2);
    assert.deepEqual(
      snaps.get(0)!.map((r) => [r.prefix, r.gateways]),
      [['198.19.1.0/24', ['198.18.0.2']]],
      'snapshot of a: the bird route, not the static one nor connected routes',
    );
    assert.deepEqual(snaps.get(1), []);

    ip('-n', ns[1]!, 'route', 'add', '198.19.2.0/24', 'via', '198.18.0.3', 'proto', '214');
    ip('-n', ns[1]!, '-6', 'route', 'add', '2001:db8:5::/48', 'via', '2001:db8::9', 'proto', '214');
    ip('-n', ns[0]!, 'route', 'del', '198.19.1.0/24');
    ip('-n', ns[0]!, 'route', 'add', '198.19.8.0/24', 'via', '198.18.0.2', 'proto', 'static');
    await until('three changes', () => events.length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    const seen = events.map((e) => [e.n, e.add, e.r.prefix, e.r.gateways, e.r.protocol]);
    assert.deepEqual(
      seen.filter((e) => e[0] === 1),
      [
        [1, true, '198.19.2.0/24', ['198.18.0.3'], 214],
        [1, true, '2001:db8:5::/48', ['2001:db8::9'], 214],
      ],
    );
    assert.deepEqual(
      seen.filter((e) => e[0] === 0),
      [[0, false, '198.19.1.0/24', ['198.18.0.2'], 12]],
      'a: the deletion only (static routes are configuration)',
    );
  } finally {
    await mon?.close();
    for (const n of ns) spawnSync('ip', ['netns', 'del', n]);
  }
});
