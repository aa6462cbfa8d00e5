// Graceful restart (RFC 4724) with `nonstop speaker` in the helper role and BIRD 2 as the
// restarting speaker, with our kernel FIB on: when BIRD dies, its routes stay in our RIB
// (stale) and in our namespace's kernel table; when it comes back with one route fewer and
// sends End-of-RIB, exactly that route is flushed from both. A NOTIFICATION from BIRD
// afterwards ends the session without graceful restart: its routes go at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NeighborDetail, RibResponse } from '../src/control/api-types.js';
import {
  established,
  Lab,
  labAvailable,
  waitFor,
  type BirdDaemon,
  type LabNode,
  type NonstopDaemon,
} from '../src/lab/index.js';

const PREFIXES = ['198.19.1.0/24', '198.19.2.0/24', '198.19.3.0/24'];
const BIRD_ADDR = '198.18.0.2';

test('graceful restart: nonstop helps BIRD restart, stale routes kept then swept', async (t) => {
  if (!labAvailable(['bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const nb = await lab.node('bird');
  await lab.link(
    { node: nn, addresses: ['198.18.0.1/30'] },
    { node: nb, addresses: [`${BIRD_ADDR}/30`] },
  );
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: '198.18.0.1',
    asn: 65001,
    kernelFib: true,
    neighbors: [{ address: BIRD_ADDR, asn: 65002, localAddress: '198.18.0.1' }],
  }) as NonstopDaemon;
  const bird = lab.daemon('bird', {
    name: 'bird1',
    ns: nb.ns,
    routerId: BIRD_ADDR,
    asn: 65002,
    neighbors: [
      { address: '198.18.0.1', asn: 65001, localAddress: BIRD_ADDR, gracefulRestart: true },
    ],
    originate: PREFIXES.map((prefix) => ({ prefix })),
  }) as BirdDaemon;

  const rib = async () =>
    (await ours.api<RibResponse>('/rib?family=ipv4')).entries.filter((e) =>
      PREFIXES.includes(e.prefix),
    );
  const kernel = async (node: LabNode) =>
    (await lab.kernelRoutes(node, 'ipv4')).filter((r) => PREFIXES.includes(r.dst));
  const detail = () => ours.api<NeighborDetail>(`/neighbors/${BIRD_ADDR}`);

  await Promise.all([ours.start(), bird.start()]);
  await Promise.all([established(ours, 1), established(bird, 1)]);
  const neg = (await detail()).negotiated;
  assert.ok(neg?.gracefulRestart, 'BIRD advertised graceful restart');
  assert.deepEqual(
    neg.gracefulRestart.families.map((f) => f.family),
    ['ipv4-unicast'],
  );

  // All three in our kernel FIB, via BIRD, installed by us.
  const k1 = await waitFor(() => kernel(nn), {
    what: 'our kernel FIB to hold the three routes',
    until: (rs) => rs.length === 3,
    context: () => ours.logs().slice(-3000),
  });
  for (const r of k1) {
    assert.equal(r.gateway, BIRD_ADDR);
    assert.ok(r.protocol === '214' || r.protocol === 'nonstop', `protocol ${r.protocol}`);
  }

  // BIRD dies (no NOTIFICATION): we keep its routes, stale, in the RIB and the kernel.
  bird.kill('SIGKILL');
  const stale = await waitFor(rib, {
    what: 'our RIB to mark BIRD’s routes stale',
    until: (es) => es.length === 3 && es.every((e) => e.paths[0]?.stale === true),
    context: () => ours.logs().slice(-3000),
  });
  assert.ok(stale.every((e) => e.paths[0]?.peer === BIRD_ADDR));
  assert.match(ours.logs(), /keeping its routes as stale/);
  // A while later (past BIRD's connect retry, our hold time is not involved): still there.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await kernel(nn)).length, 3, 'kernel FIB kept the stale routes');
  assert.equal((await rib()).length, 3);
  assert.notEqual((await detail()).state, 'Established');

  // BIRD restarts (recovering: forwarding state preserved) without 198.19.3.0/24.
  await bird.withdraw('198.19.3.0/24');
  await bird.start();
  await Promise.all([established(ours, 1), established(bird, 1)]);
  const regr = (await detail()).negotiated?.gracefulRestart;
  assert.equal(regr?.restarting, true, JSON.stringify(regr));
  assert.equal(regr.families[0]?.forwardingPreserved, true);
  const back = await waitFor(rib, {
    what: 'End-of-RIB from BIRD to sweep 198.19.3.0/24 and refresh the others',
    until: (es) =>
      es.length === 2 && es.every((e) => e.paths.length === 1 && e.paths[0]?.stale !== true),
    context: () => ours.logs().slice(-3000),
  });
  assert.deepEqual(back.map((e) => e.prefix).sort(), ['198.19.1.0/24', '198.19.2.0/24']);
  assert.match(ours.logs(), /stale routes flushed.*End-of-RIB/);
  const k2 = await waitFor(() => kernel(nn), {
    what: 'our kernel FIB to drop 198.19.3.0/24 and keep the others',
    until: (rs) => rs.length === 2,
  });
  assert.deepEqual(k2.map((r) => r.dst).sort(), ['198.19.1.0/24', '198.19.2.0/24']);

  // BIRD now ends the session with a NOTIFICATION (Cease, Administrative Shutdown): no
  // graceful restart after a NOTIFICATION (RFC 4724 §4), its routes go at once.
  await bird.birdc('disable', 'nst_n0');
  const down = await waitFor(() => detail(), {
    what: 'nonstop to see the NOTIFICATION from BIRD',
    until: (d) => d.state !== 'Established' && d.lastError?.direction === 'received',
  });
  assert.equal(down.lastError?.code, 6);
  assert.equal(down.lastError?.subcode, 2);
  await waitFor(rib, { what: 'our RIB to drop BIRD’s routes', until: (es) => es.length === 0 });
  await waitFor(() => kernel(nn), {
    what: 'our kernel FIB to drop BIRD’s routes',
    until: (rs) => rs.length === 0,
  });
});
