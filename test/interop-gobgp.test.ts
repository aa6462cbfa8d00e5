// Interop of `nonstop speaker` with GoBGP 3 (gobgpd) in network namespaces: eBGP over IPv4
// and IPv6 with routes both ways; ADD-PATH (RFC 7911) receive, with GoBGP sending us two
// paths for one prefix that it learned from two BIRDs; and max-prefix, where one prefix
// over our limit makes us close the session with Cease 6/1 (RFC 4486).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NeighborDetail, RibResponse } from '../src/control/api-types.js';
import {
  established,
  bestRoute as route,
  Lab,
  labAvailable,
  waitFor,
  type Daemon,
  type Family,
  type GobgpDaemon,
  type NonstopDaemon,
} from '../src/lab/index.js';

const learned = (d: Daemon, family: Family, prefix: string) =>
  waitFor(() => route(d, family, prefix), {
    what: `${d.spec.name} to learn ${prefix}`,
    context: () => d.logs().slice(-3000),
  });

const detail = (d: NonstopDaemon, address: string) =>
  d.api<NeighborDetail>(`/neighbors/${encodeURIComponent(address)}`);

/** gobgp's `neighbor X -j`, the parts we read. */
interface GobgpPeer {
  state?: {
    session_state?: number;
    messages?: { received?: { notification?: number }; sent?: { notification?: number } };
  };
}

test('nonstop <-> GoBGP: eBGP IPv4/IPv6, ADD-PATH receive of two paths', async (t) => {
  if (!labAvailable(['gobgp', 'bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const ng = await lab.node('gobgp');
  const nb1 = await lab.node('bird1');
  const nb2 = await lab.node('bird2');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30', '2001:db8:0:1::1/64'] },
    { node: ng, addresses: ['198.18.0.2/30', '2001:db8:0:1::2/64'] },
  );
  await lab.link(
    { node: ng, addresses: ['198.18.0.5/30'] },
    { node: nb1, addresses: ['198.18.0.6/30'] },
  );
  await lab.link(
    { node: ng, addresses: ['198.18.0.9/30'] },
    { node: nb2, addresses: ['198.18.0.10/30'] },
  );

  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.1',
    asn: 65001,
    neighbors: [
      { address: '198.18.0.2', asn: 65010, localAddress: '198.18.0.1', addPath: true },
      { address: '2001:db8:0:1::2', asn: 65010, localAddress: '2001:db8:0:1::1' },
    ],
    originate: [
      { prefix: '198.19.1.0/24', communities: ['65001:7'], med: 30 },
      { prefix: '2001:db8:100::/48' },
    ],
  }) as NonstopDaemon;
  const gobgp = lab.daemon('gobgp', {
    name: 'gobgp1',
    ns: ng.ns,
    routerId: '198.18.0.2',
    asn: 65010,
    neighbors: [
      { address: '198.18.0.1', asn: 65001, localAddress: '198.18.0.2', addPath: true },
      { address: '2001:db8:0:1::1', asn: 65001, localAddress: '2001:db8:0:1::2' },
      { address: '198.18.0.6', asn: 65021, localAddress: '198.18.0.5' },
      { address: '198.18.0.10', asn: 65022, localAddress: '198.18.0.9' },
    ],
    originate: [
      { prefix: '198.19.2.0/24', communities: ['65010:9'], med: 20 },
      { prefix: '2001:db8:200::/48' },
    ],
  }) as GobgpDaemon;
  const birds = [
    { node: nb1, name: 'bird1', asn: 65021, addr: '198.18.0.6', peer: '198.18.0.5' },
    { node: nb2, name: 'bird2', asn: 65022, addr: '198.18.0.10', peer: '198.18.0.9' },
  ].map((b) =>
    lab.daemon('bird', {
      name: b.name,
      ns: b.node.ns,
      routerId: b.addr,
      asn: b.asn,
      neighbors: [{ address: b.peer, asn: 65010, localAddress: b.addr }],
      // The same prefix from both: GoBGP holds two paths for it.
      originate: [{ prefix: '198.19.10.0/24' }],
    }),
  );
  await Promise.all([ours.start(), gobgp.start(), ...birds.map((b) => b.start())]);
  await Promise.all([established(ours, 2), established(gobgp, 4)]);

  // ADD-PATH was negotiated for IPv4 in both directions, not for IPv6.
  const d4 = await detail(ours, '198.18.0.2');
  assert.deepEqual(d4.negotiated?.addPath.receive, ['ipv4-unicast']);
  assert.deepEqual(d4.negotiated?.addPath.send, ['ipv4-unicast']);
  const d6 = await detail(ours, '2001:db8:0:1::2');
  assert.deepEqual(d6.negotiated?.addPath.receive, []);

  // Ours at GoBGP.
  const g1 = await learned(gobgp, 'ipv4', '198.19.1.0/24');
  assert.deepEqual(g1?.asPath, [65001]);
  assert.deepEqual(g1?.nextHops, ['198.18.0.1']);
  assert.deepEqual(g1?.communities, ['65001:7']);
  assert.equal(g1?.med, 30);
  assert.equal(g1?.peer, '198.18.0.1');
  const g6 = await learned(gobgp, 'ipv6', '2001:db8:100::/48');
  assert.deepEqual(g6?.asPath, [65001]);
  assert.ok(g6?.nextHops.includes('2001:db8:0:1::1'), JSON.stringify(g6?.nextHops));

  // GoBGP's at ours.
  const n2 = await learned(ours, 'ipv4', '198.19.2.0/24');
  assert.deepEqual(n2?.asPath, [65010]);
  assert.equal(n2?.nextHops[0], '198.18.0.2');
  assert.deepEqual(n2?.communities, ['65010:9']);
  assert.equal(n2?.med, 20);
  const n6 = await learned(ours, 'ipv6', '2001:db8:200::/48');
  assert.deepEqual(n6?.asPath, [65010]);
  assert.equal(n6?.nextHops[0], '2001:db8:0:1::2');

  // GoBGP holds two paths for 198.19.10.0/24 (checked with `gobgp ... -j`) ...
  const gPaths = await waitFor(
    async () => (await gobgp.routes('ipv4')).filter((r) => r.prefix === '198.19.10.0/24'),
    { what: 'GoBGP to hold two paths for 198.19.10.0/24', until: (ps) => ps.length === 2 },
  );
  assert.deepEqual(gPaths.map((p) => p.asPath[0]).sort(), [65021, 65022]);
  // ... and sends both to us, each with its own path identifier: we hold both.
  const paths = await waitFor(
    async () =>
      (await ours.api<RibResponse>('/rib?prefix=198.19.10.0%2F24&family=ipv4')).entries[0]?.paths ??
      [],
    {
      what: 'nonstop to hold two ADD-PATH paths for 198.19.10.0/24 from GoBGP',
      until: (ps) => ps.length === 2,
      context: () => ours.logs().slice(-3000),
    },
  );
  assert.ok(
    paths.every((p) => p.peer === '198.18.0.2'),
    JSON.stringify(paths),
  );
  const ids = paths.map((p) => p.pathId);
  assert.ok(
    ids.every((id) => typeof id === 'number' && id > 0),
    JSON.stringify(ids),
  );
  assert.notEqual(ids[0], ids[1]);
  assert.deepEqual(paths.map((p) => p.asPath).sort(), ['65010 65021', '65010 65022']);
  assert.equal(paths.filter((p) => p.best).length, 1);

  // One BIRD withdraws: only its path goes, the other stays.
  await birds[0]?.withdraw('198.19.10.0/24');
  const left = await waitFor(
    async () =>
      (await ours.api<RibResponse>('/rib?prefix=198.19.10.0%2F24&family=ipv4')).entries[0]?.paths ??
      [],
    { what: 'nonstop to keep only the path via 65022', until: (ps) => ps.length === 1 },
  );
  assert.equal(left[0]?.asPath, '65010 65022');
  assert.equal(left[0]?.best, true);
});

test('nonstop <-> GoBGP: max-prefix closes the session with Cease 6/1', async (t) => {
  if (!labAvailable(['gobgp'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const ng = await lab.node('gobgp');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30'] },
    { node: ng, addresses: ['198.18.0.2/30'] },
  );
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.1',
    asn: 65001,
    neighbors: [{ address: '198.18.0.2', asn: 65010, localAddress: '198.18.0.1', maxPrefix: 2 }],
  }) as NonstopDaemon;
  const gobgp = lab.daemon('gobgp', {
    name: 'gobgp1',
    ns: ng.ns,
    routerId: '198.18.0.2',
    asn: 65010,
    neighbors: [{ address: '198.18.0.1', asn: 65001, localAddress: '198.18.0.2' }],
    originate: [{ prefix: '198.19.1.0/24' }, { prefix: '198.19.2.0/24' }],
  }) as GobgpDaemon;
  await Promise.all([ours.start(), gobgp.start()]);
  await Promise.all([established(ours, 1), established(gobgp, 1)]);

  // At the limit: accepted, session up.
  await waitFor(() => ours.neighbors(), {
    what: 'nonstop to accept 2 prefixes',
    until: (ns) => ns[0]?.received === 2,
  });
  assert.equal((await detail(ours, '198.18.0.2')).config.maxPrefix?.limit, 2);

  // One over: Cease / Maximum Number of Prefixes Reached, sent by us.
  await gobgp.announce({ prefix: '198.19.3.0/24' });
  const down = await waitFor(() => detail(ours, '198.18.0.2'), {
    what: 'nonstop to close the session over max-prefix',
    until: (d) => d.state !== 'Established' && d.lastError !== undefined,
    context: () => ours.logs().slice(-3000),
  });
  assert.equal(down.lastError?.direction, 'sent');
  assert.equal(down.lastError?.code, 6);
  assert.equal(down.lastError?.subcode, 1);
  assert.match(ours.logs(), /max-prefix/);

  // GoBGP received it: its NOTIFICATION counter and its log say so.
  const peer = await waitFor(
    async () => (JSON.parse(await gobgp.gobgp('neighbor', '198.18.0.1', '-j')) as GobgpPeer).state,
    {
      what: 'GoBGP to count a received NOTIFICATION',
      until: (s) => (s?.messages?.received?.notification ?? 0) >= 1,
    },
  );
  assert.notEqual(peer?.session_state, 6);
  assert.match(gobgp.logs(), /[Nn]otification|Cease|max.?prefix|prefix limit/);

  // No routes from GoBGP remain, and with `restart: 0` we do not bring it back by ourselves.
  assert.equal(await route(ours, 'ipv4', '198.19.1.0/24'), undefined);
  await new Promise((r) => setTimeout(r, 3000));
  const later = await detail(ours, '198.18.0.2');
  assert.notEqual(later.state, 'Established');
});
