// Graceful restart (RFC 4724) with `nonstop speaker` in the RESTARTING role and BIRD 2 as
// the helper. Our speaker runs with its kernel FIB; it is killed with SIGKILL (a crash) and
// started again:
// - while it is away, BIRD keeps our route (helper role) and our namespace's kernel table
//   keeps forwarding to BIRD (nothing removed our routes);
// - the new speaker finds its routes in the kernel, announces the Restart State and
//   Forwarding State bits (BIRD sees them), defers route selection until End-of-RIB,
//   then removes the forwarding entry BIRD withdrew while we were away and keeps the others;
// - BIRD never loses our route during the whole restart.
// Then SIGUSR2 (a planned graceful restart) closes the session without a NOTIFICATION.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  established,
  Lab,
  labAvailable,
  waitFor,
  type LabNode,
  type NonstopDaemon,
} from '../src/lab/index.js';

const BIRD_ADDR = '198.18.0.2';
const OUR_ADDR = '198.18.0.1';
const BIRD_PREFIXES = ['198.19.1.0/24', '198.19.2.0/24'];
const OUR_PREFIX = '198.19.100.0/24';

test('graceful restart: nonstop restarts (SIGKILL), BIRD helps, forwarding and routes preserved', async (t) => {
  if (!labAvailable(['bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const nn = await lab.node('ns');
  const nb = await lab.node('bird');
  await lab.link(
    { node: nn, addresses: [`${OUR_ADDR}/30`] },
    { node: nb, addresses: [`${BIRD_ADDR}/30`] },
  );
  const ours = lab.daemon('nonstop', {
    name: 'nonstop1',
    ns: nn.ns,
    routerId: OUR_ADDR,
    asn: 65001,
    kernelFib: true,
    neighbors: [{ address: BIRD_ADDR, asn: 65002, localAddress: OUR_ADDR }],
    originate: [{ prefix: OUR_PREFIX }],
  }) as NonstopDaemon;
  const bird = lab.daemon('bird', {
    name: 'bird1',
    ns: nb.ns,
    routerId: BIRD_ADDR,
    asn: 65002,
    neighbors: [{ address: OUR_ADDR, asn: 65001, localAddress: BIRD_ADDR, gracefulRestart: true }],
    originate: BIRD_PREFIXES.map((prefix) => ({ prefix })),
  });
  const kernel = async (node: LabNode) =>
    (await lab.kernelRoutes(node, 'ipv4')).filter((r) => BIRD_PREFIXES.includes(r.dst));
  const birdHasOurs = async () => (await bird.routes('ipv4')).some((r) => r.prefix === OUR_PREFIX);

  await Promise.all([ours.start(), bird.start()]);
  await Promise.all([established(ours, 1), established(bird, 1)]);
  await waitFor(() => kernel(nn), {
    what: 'our kernel FIB to hold BIRD’s routes',
    until: (rs) => rs.length === 2,
  });
  await waitFor(birdHasOurs, { what: 'BIRD to learn our route', until: (x) => x });

  // Watch BIRD's table all through the restart: our route must never disappear.
  let lost = false;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      if (!(await birdHasOurs())) lost = true;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  // Crash: no NOTIFICATION; BIRD (helper) keeps our route; our kernel keeps forwarding.
  ours.kill('SIGKILL');
  await waitFor(() => bird.neighbors(), {
    what: 'BIRD to notice the session is gone',
    until: (ns) => ns.every((n) => n.state !== 'established'),
  });
  // BIRD withdraws one of its routes while we are away: nobody tells our kernel yet.
  await bird.withdraw('198.19.2.0/24');
  assert.equal((await kernel(nn)).length, 2, 'our kernel FIB kept forwarding while we were down');

  await ours.start();
  await Promise.all([established(ours, 1), established(bird, 1)]);
  assert.match(ours.logs(), /restarting with forwarding state preserved/);
  // BIRD saw our Restart State bit: it logs/keeps the restart as a neighbor graceful restart.
  const k = await waitFor(() => kernel(nn), {
    what: 'deferred selection to keep 198.19.1.0/24 and remove the withdrawn 198.19.2.0/24',
    until: (rs) => rs.length === 1 && rs[0]?.dst === '198.19.1.0/24',
    context: () => ours.logs().slice(-3000),
  });
  assert.equal(k[0]?.gateway, BIRD_ADDR);
  assert.match(ours.logs(), /route selection resumed after restart/);
  assert.match(ours.logs(), /stale forwarding entries removed.*removed=1/);
  await waitFor(birdHasOurs, { what: 'BIRD to have our route after the restart', until: (x) => x });
  watching = false;
  await watcher;
  assert.equal(lost, false, 'BIRD never lost our route during the restart');

  // A planned graceful restart: SIGUSR2 closes without a NOTIFICATION, kernel routes stay.
  ours.kill('SIGUSR2');
  await waitFor(() => bird.neighbors(), {
    what: 'BIRD to see the session close',
    until: (ns) => ns.every((n) => n.state !== 'established'),
  });
  assert.doesNotMatch(ours.logs(), /sent NOTIFICATION 6\/2/);
  assert.ok(await birdHasOurs(), 'BIRD keeps our route (no NOTIFICATION: graceful restart)');
  assert.equal((await kernel(nn)).length, 1, 'kernel routes kept for the restart');
});
