// Non-stop BGP over TCPR (issue 7; paper §III-B): `nonstop speaker --tcpr-state DIR` in the
// app namespace, its session to a real BIRD 2 or FRR in the peer namespace running through
// the TCPR middlebox (the pump filter in the tcpr namespace). Our speaker is killed with
// SIGKILL and started again with the same state directory (test/support/tcpr-bgp.ts).
// Checked from the peer's side with its own CLI, sampled every 250 ms from the kill until
// 1.5 s after we are back:
// - the session never leaves Established and its uptime counter does not restart;
// - every route we announced stays in the peer's RIB (no withdrawal) with the same
//   attributes, the configured ones;
// - the peer logs no NOTIFICATION (and FRR counts no NOTIFICATION or ROUTE-REFRESH);
// - an UPDATE the peer sends during the outage (one prefix announced, one withdrawn) is
//   acted on after the recovery: our RIB equals the peer's configured routes after it.
// The same kill without TCPR, with and without graceful restart: tcpr-bgp-baseline.test.ts.
// With log compaction: the same scenario with `--tcpr-compact-threshold 64`, so in.log is
// compacted into a snapshot and out.log trimmed to what the peer has not acknowledged
// before the kill (checked in the speaker's log and in the state directory); the recovery
// then starts from the snapshot and every assertion above must still hold.
// With the roles swapped (our neighbour passive, the peer opens the session): the session
// the peer opened is recovered from our listening port, before our speaker listens again.
// Over IPv6: the session between IPv6 addresses, its routes IPv6 prefixes.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { labAvailable, waitFor } from '../src/lab/index.js';
import { buildScenario, killAndRestart, NOTIFICATION_LOG } from './support/tcpr-bgp.js';

/** The state files of every neighbour of our speaker. */
function stateFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(dir, d.name)));
}

/** Stream offsets in the names of files like in-<B>.snap. */
const bases = (files: string[], re: RegExp): number[] =>
  files.flatMap((f) => {
    const m = re.exec(f);
    return m ? [Number(m[1])] : [];
  });

for (const kind of ['bird', 'frr'] as const) {
  for (const [compaction, opens, family] of [
    [false, 'we', 'ipv4'],
    [true, 'we', 'ipv4'],
    [false, 'peer', 'ipv4'],
    [false, 'we', 'ipv6'],
  ] as const) {
    const name = kind === 'bird' ? 'BIRD 2' : 'FRR';
    const what =
      (compaction ? ', logs compacted before the kill' : '') +
      (opens === 'peer' ? `, the session opened by ${name}` : '') +
      (family === 'ipv6' ? ', over IPv6' : '');
    test(
      `non-stop BGP with ${name}: kill -9 of our speaker, the session carries on${what}`,
      { timeout: 150_000 },
      async (t) => {
        if (!labAvailable([kind])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
        const s = await buildScenario(kind, {
          tcpr: true,
          gracefulRestart: true,
          ...(compaction ? { compactThreshold: 64 } : {}),
          opens,
          family,
        });
        const r = s.routes;
        t.after(() => s.destroy());
        assert.deepEqual(await s.peerRib(), r.oursAtPeer, `${name}'s RIB before the kill`);
        assert.deepEqual(await s.ourRib(), r.theirsAtUs(r.theirs), 'our RIB before the kill');
        if (compaction) {
          await waitFor(() => s.speaker.logs(), {
            what: 'in.log compacted and out.log trimmed',
            until: (l) => /in\.log compacted/.test(l) && /out\.log trimmed/.test(l),
            timeoutMs: 20_000,
          });
          const files = stateFiles(s.stateDir);
          const snap = bases(files, /^in-(\d+)\.snap$/);
          // (Two for an instant while a newer one replaces the older.)
          const b = Math.max(...snap);
          assert.ok(b > 0, `an input snapshot: ${files.join(' ')}`);
          assert.ok(files.includes(`in-${b}.log`), `its segment: ${files.join(' ')}`);
          assert.ok(
            bases(files, /^out-(\d+)\.log$/)[0]! > 0,
            `out.log trimmed: ${files.join(' ')}`,
          );
        }
        const o = await killAndRestart(s, kind);
        t.diagnostic(`kill to the end of sampling: ${o.elapsed.toFixed(1)} s`);
        assert.equal(o.before?.state, 'established');
        assert.deepEqual(
          o.ourRibAfter,
          r.theirsAtUs([...r.theirs.filter((p) => p !== r.withdrawn), r.duringOutage]),
          'our RIB after the recovery',
        );
        assert.deepEqual(o.samples, [], `${name} saw the session or our routes change`);
        assert.equal(o.after?.state, 'established');
        // Uptimes are whole seconds: ±0.5 each. A reset would take off the ~2 s we were away.
        assert.ok(
          (o.after?.uptime ?? 0) >= (o.before?.uptime ?? 0) + o.between - 1.5,
          `${name}'s uptime restarted: ${o.before?.uptime} s, then ${o.after?.uptime} s ${o.between} s later`,
        );
        assert.deepEqual(await s.peerRib(), r.oursAtPeer, `${name}'s RIB after the recovery`);
        assert.ok(
          !NOTIFICATION_LOG.test(o.peerLog),
          `${name} logged a notification:\n${o.peerLog}`,
        );
        if (o.frrBefore) assert.deepEqual(o.frrAfter, o.frrBefore, 'FRR message counters');
        const rec = / TCPR session recovered .*/.exec(s.speaker.logs());
        assert.ok(rec, 'the speaker logged the recovery');
        t.diagnostic(rec[0].trim());
        if (opens === 'peer') {
          // The peer opened it: recovered from our listening port (BGP's 179).
          assert.match(s.speaker.logs(), /TCPR-protected connection accepted/);
          assert.doesNotMatch(s.speaker.logs(), /TCPR-protected connection opened/);
          assert.match(s.speaker.logs(), /TCPR session recovered.* local=[^ ]+:179 /);
        }
        if (compaction) assert.match(s.speaker.logs(), /TCPR session recovered.* inputBase=[1-9]/);
      },
    );
  }
}
