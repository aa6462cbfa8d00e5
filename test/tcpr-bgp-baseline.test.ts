// Baselines for non-stop BGP (issue 7): the kill of tcpr-bgp.test.ts without TCPR — the
// pump only forwards — once with graceful restart (RFC 4724) negotiated and once with
// neither. What the peer sees is recorded (diagnostics) and checked against what the RFCs
// make it do: without graceful restart the session goes down and our routes are withdrawn
// (RFC 4271 §8.2.2, §9.1.4 via the connection's close); with it the session goes down
// but our routes stay, as stale, until we are back (RFC 4724 §4.2). Either way the uptime
// restarts (recorded; whole seconds cannot tell a reset after a 1 s outage apart
// reliably, the samples do): the things TCPR avoids.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labAvailable } from '../src/lab/index.js';
import {
  buildScenario,
  DURING_OUTAGE,
  killAndRestart,
  oursAtPeer,
  THEIRS,
  theirsAtUs,
  WITHDRAWN,
} from './support/tcpr-bgp.js';

for (const kind of ['bird', 'frr'] as const) {
  const name = kind === 'bird' ? 'BIRD 2' : 'FRR';
  for (const gracefulRestart of [false, true]) {
    test(
      `baseline, ${gracefulRestart ? 'graceful restart' : 'neither TCPR nor graceful restart'}, ${name}: kill -9 of our speaker`,
      { timeout: 150_000 },
      async (t) => {
        if (!labAvailable([kind])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
        const s = await buildScenario(kind, { tcpr: false, gracefulRestart });
        t.after(() => s.destroy());
        const o = await killAndRestart(s, kind);
        const down = o.samples.filter((x) => x.state !== 'established');
        const withdrawn = o.samples.filter((x) => x.missing > 0);
        t.diagnostic(
          `${name} saw: session not Established in ${down.length} samples (${down[0]?.ms ?? '-'}–${down.at(-1)?.ms ?? '-'} ms after the kill), our routes missing in ${withdrawn.length} (at most ${Math.max(0, ...withdrawn.map((x) => x.missing))} of ${oursAtPeer.size}); uptime ${o.before?.uptime} s, then ${o.after?.uptime} s ${o.between.toFixed(1)} s later`,
        );
        assert.ok(down.length > 0, `${name} never saw the session go down`);
        if (gracefulRestart) assert.deepEqual(withdrawn, [], 'stale routes kept meanwhile');
        else assert.ok(withdrawn.length > 0, 'our routes were withdrawn meanwhile');
        // A new session: the UPDATE of the outage arrives in the peer's full table.
        assert.deepEqual(
          o.ourRibAfter,
          theirsAtUs([...THEIRS.filter((p) => p !== WITHDRAWN), DURING_OUTAGE]),
        );
        assert.deepEqual(await s.peerRib(), oursAtPeer);
      },
    );
  }
}
