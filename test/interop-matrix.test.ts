// Interop matrix of `nonstop speaker` against every real daemon of the lab (BIRD 2, FRR,
// GoBGP, ExaBGP) × {eBGP, iBGP}: one lab per case, our speaker and the daemon on one link
// with an IPv4 and an IPv6 session. Each case checks, per RFC 4271 and RFC 6793 (4-octet
// ASNs on every AS involved):
// - both sessions reach Established, as each side reports it;
// - a route originated at each side in each family reaches the other side with the
//   attributes that kind of session must carry (eBGP: the originator's AS prepended, next
//   hop the sender's link address, no LOCAL_PREF; iBGP: empty AS path, LOCAL_PREF present,
//   next hop the originator's address) — read with the daemon's own CLI on its side (through
//   the adapter's routes()) and with our control API on ours;
// - a withdrawal at each side reaches the other, and the sessions stay up.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  bestRoute as route,
  Lab,
  labAvailable,
  waitFor,
  type Daemon,
  type Family,
  type RouteSpec,
  type RouteView,
} from '../src/lab/index.js';

type Kind = 'bird' | 'frr' | 'gobgp' | 'exabgp';
type Session = 'ebgp' | 'ibgp';

const KINDS: readonly Kind[] = ['bird', 'frr', 'gobgp', 'exabgp'];
const SESSIONS: readonly Session[] = ['ebgp', 'ibgp'];

// 4-octet ASNs (RFC 6793) on both sides: above 65535, so only AS4-aware code paths work.
const OUR_EBGP_AS = 4200000001;
const PEER_EBGP_AS = 4200000002;
const IBGP_AS = 4200000100;

const OURS = { v4: '198.18.0.1', v6: '2001:db8:0:1::1' };
const PEER = { v4: '198.18.0.2', v6: '2001:db8:0:1::2' };

// IPv4 routes carry a LOCAL_PREF of their own (which must reach iBGP peers and never eBGP
// ones), IPv6 routes none (iBGP peers must see the sender's default: 100, BIRD's below).
const OUR_ROUTES = {
  ipv4: { prefix: '198.19.1.0/24', communities: ['65001:7'], med: 50, localPref: 300 },
  ipv6: { prefix: '2001:db8:100::/48', communities: ['65001:8'] },
} satisfies Record<Family, RouteSpec>;
const PEER_ROUTES = {
  ipv4: { prefix: '198.19.2.0/24', communities: ['65002:9'], med: 20, localPref: 250 },
  ipv6: { prefix: '2001:db8:200::/48', communities: ['65002:10'] },
} satisfies Record<Family, RouteSpec>;

const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const addr = (side: typeof OURS, f: Family): string => (f === 'ipv4' ? side.v4 : side.v6);

/**
 * BIRD shows a LOCAL_PREF on every route: one received over eBGP is discarded (RFC 4271
 * §5.1.5) and its `default bgp_local_pref` attached instead, so its CLI cannot tell whether
 * we sent one. With `allow bgp_local_pref` it keeps what it receives, and a distinctive
 * default marks "none received". That default is also what BIRD itself sends to iBGP peers
 * for a route without a LOCAL_PREF of its own.
 */
const BIRD_DEFAULT_LOCAL_PREF = 77;
const BIRD_OPTIONS = `allow bgp_local_pref on; default bgp_local_pref ${BIRD_DEFAULT_LOCAL_PREF};`;

/** What a daemon's CLI shows as LOCAL_PREF for a route that arrived without one. */
const shownWithoutLocalPref = (kind: Kind | 'nonstop'): number | undefined =>
  kind === 'bird' ? BIRD_DEFAULT_LOCAL_PREF : undefined;

/** The LOCAL_PREF a daemon sends to iBGP peers for a route originated without one. */
const defaultLocalPref = (kind: Kind | 'nonstop'): number =>
  kind === 'bird' ? BIRD_DEFAULT_LOCAL_PREF : 100;

/** Known bugs or limits: `${kind}-${session}-${step}` → reason (the step is a `todo`). */
const TODO: Record<string, string> = {};

const learned = (d: Daemon, family: Family, prefix: string, from: Daemon) =>
  waitFor(() => route(d, family, prefix), {
    what: `${d.spec.name} to learn ${prefix}`,
    timeoutMs: 8000,
    intervalMs: 100,
    context: () => `${d.logs().slice(-2000)}\n${from.logs().slice(-2000)}`,
  });

const gone = (d: Daemon, family: Family, prefix: string) =>
  waitFor(async () => (await route(d, family, prefix)) === undefined, {
    what: `${d.spec.name} to drop ${prefix}`,
    until: (x) => x,
    timeoutMs: 8000,
    intervalMs: 100,
    context: () => d.logs().slice(-3000),
  });

const established = (d: Daemon, n: number) =>
  waitFor(() => d.neighbors(), {
    what: `${d.spec.name}: ${n} sessions Established`,
    until: (ns) => ns.length === n && ns.every((x) => x.state === 'established'),
    timeoutMs: 15_000,
    intervalMs: 100,
    context: () => d.logs().slice(-3000),
  });

/**
 * Checks one received route against what RFC 4271 says the sender must put on it.
 * `spec` is the route as originated; `sender` the originating daemon, its AS and its
 * address on the link; `receiver` the daemon whose view `r` is.
 */
function checkAttributes(
  r: RouteView | undefined,
  o: {
    session: Session;
    spec: RouteSpec;
    sender: { kind: Kind | 'nonstop'; as: number; address: string };
    receiver: Kind | 'nonstop';
  },
): void {
  const where = JSON.stringify(r);
  assert.ok(r, `route ${o.spec.prefix} missing`);
  assert.equal(r.prefix, o.spec.prefix);
  if (o.session === 'ebgp') {
    // §5.1.2: the sender prepends its own AS; §5.1.3: next hop is the sender's address on
    // the shared link; §5.1.5: LOCAL_PREF is never sent to an external peer.
    assert.deepEqual(r.asPath, [o.sender.as], where);
    assert.equal(
      r.localPref,
      shownWithoutLocalPref(o.receiver),
      `no LOCAL_PREF over eBGP: ${where}`,
    );
  } else {
    // §5.1.2: an originated route goes to internal peers with an empty AS path; §5.1.5:
    // LOCAL_PREF is in every UPDATE to an internal peer (the configured one, else 100).
    assert.deepEqual(r.asPath, [], where);
    assert.equal(
      r.localPref,
      o.spec.localPref ?? defaultLocalPref(o.sender.kind),
      `LOCAL_PREF over iBGP: ${where}`,
    );
  }
  // Originated without a next hop: the originator's address on the link, for both kinds.
  assert.equal(r.nextHops[0], o.sender.address, `next hop: ${where}`);
  assert.deepEqual(r.communities, o.spec.communities ?? [], where);
  if (o.spec.med !== undefined) assert.equal(r.med, o.spec.med, `MED: ${where}`);
  if (r.peer !== undefined) assert.equal(r.peer, o.sender.address, `peer: ${where}`);
}

async function runCase(t: TestContext, kind: Kind, session: Session): Promise<void> {
  const ibgp = session === 'ibgp';
  const ourAs = ibgp ? IBGP_AS : OUR_EBGP_AS;
  const peerAs = ibgp ? IBGP_AS : PEER_EBGP_AS;
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const np = await lab.node('peer');
  await lab.link(
    { node: nn, addresses: [`${OURS.v4}/30`, `${OURS.v6}/64`] },
    { node: np, addresses: [`${PEER.v4}/30`, `${PEER.v6}/64`] },
  );
  // The first neighbour solicitation on a fresh link is often lost; resolved before the
  // daemons start, it cannot hold up their first connection attempts.
  const up = await Promise.all(FAMILIES.map((f) => lab.reachable(nn, addr(PEER, f))));
  assert.deepEqual(up, [true, true], 'link reachable over IPv4 and IPv6');
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: OURS.v4,
    asn: ourAs,
    neighbors: FAMILIES.map((f) => ({
      address: addr(PEER, f),
      asn: peerAs,
      localAddress: addr(OURS, f),
    })),
    originate: [OUR_ROUTES.ipv4, OUR_ROUTES.ipv6],
  });
  const peer = lab.daemon(kind, {
    name: `${kind}1`,
    ns: np.ns,
    routerId: PEER.v4,
    asn: peerAs,
    neighbors: FAMILIES.map((f) => ({
      address: addr(OURS, f),
      asn: ourAs,
      localAddress: addr(PEER, f),
      ...(kind === 'bird' ? { birdOptions: BIRD_OPTIONS } : {}),
    })),
    originate: [PEER_ROUTES.ipv4, PEER_ROUTES.ipv6],
  });

  const step = (name: string, fn: () => Promise<void>) => {
    const todo = TODO[`${kind}-${session}-${name}`];
    return t.test(name, todo ? { todo } : {}, fn);
  };

  await step('sessions', async () => {
    await Promise.all([ours.start(), peer.start()]);
    await Promise.all([established(ours, 2), established(peer, 2)]);
  });
  for (const family of FAMILIES) {
    await step(`ours-at-${kind}-${family}`, async () => {
      const spec = OUR_ROUTES[family];
      checkAttributes(await learned(peer, family, spec.prefix, ours), {
        session,
        spec,
        sender: { kind: 'nonstop', as: ourAs, address: addr(OURS, family) },
        receiver: kind,
      });
    });
    await step(`${kind}-at-ours-${family}`, async () => {
      const spec = PEER_ROUTES[family];
      checkAttributes(await learned(ours, family, spec.prefix, peer), {
        session,
        spec,
        sender: { kind, as: peerAs, address: addr(PEER, family) },
        receiver: 'nonstop',
      });
    });
  }
  await step('withdrawals', async () => {
    for (const [i, family] of FAMILIES.entries()) {
      await Promise.all([
        peer.withdraw(PEER_ROUTES[family].prefix),
        ours.withdraw(OUR_ROUTES[family].prefix),
      ]);
      await Promise.all([
        gone(ours, family, PEER_ROUTES[family].prefix),
        gone(peer, family, OUR_ROUTES[family].prefix),
      ]);
      // Only that prefix went: the other family's routes are still there on both sides.
      for (const f of FAMILIES.slice(i + 1)) {
        assert.ok(await route(ours, f, PEER_ROUTES[f].prefix), `${PEER_ROUTES[f].prefix} kept`);
        assert.ok(await route(peer, f, OUR_ROUTES[f].prefix), `${OUR_ROUTES[f].prefix} kept`);
      }
    }
    // Both sessions survived (our withdrawal is a config reload).
    assert.ok((await ours.neighbors()).every((n) => n.state === 'established'));
    assert.ok((await peer.neighbors()).every((n) => n.state === 'established'));
  });
}

for (const kind of KINDS) {
  for (const session of SESSIONS) {
    test(`matrix: nonstop <-> ${kind} ${session === 'ebgp' ? 'eBGP' : 'iBGP'} over IPv4 and IPv6`, async (t) => {
      if (!labAvailable([kind])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
      await runCase(t, kind, session);
    });
  }
}
