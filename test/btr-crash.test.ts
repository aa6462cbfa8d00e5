// Crash during a trace replay (issue 5, "Must show" 3; docs/btr.md "Replicas in
// namespaces"): a bug-tolerant router of real daemons (test/support/btr-lab.ts: replicas
// nonstop, BIRD 2 and FRR) between a feeder and a real FRR neighbour (the receiver). The
// feeder (test/support/btr-trace-feeder.ts) replays the IPv4 UPDATEs that one peer of the RIS
// trace ../shared/data/hdb3-MRT/latest-update.gz sent (AS 206499, 185.215.214.1) in rounds
// in which each prefix changes at most once, 150 ms apart — not at trace speed: the pacing
// makes the router's output a function of the trace alone (see the feeder's header). A
// subset: the first 2,000 of the peer's 4,801 UPDATEs (6,127 prefix changes on 1,772
// prefixes, 264 rounds, ~40 s); the whole peer (468 rounds) would take two minutes per run.
//
// Two routers run side by side with the same set-up and the same replay; the replica
// supervisor (src/btr/supervisor.ts, through test/support/btr-supervise.ts) runs each one's
// replicas. In one, the BIRD replica gets `kill -9` halfway through the replay; the
// supervisor sees the crash and restarts it at once, and the hypervisor bootstraps it from
// the history while the replay goes on. Compared with the reference run, from the
// hypervisor's record of every message that left the router (btr-router.ts `logSent`):
// - per neighbour and per prefix, the sequence of changes sent (each announcement's
//   attributes, or a withdrawal), in order: identical. How the changes are packed into
//   UPDATE messages depends on timing and is not compared (the counts are reported); a
//   change the crash caused (an extra, a missing or a different advertisement, to either
//   neighbour) would show as a different sequence;
// - no NOTIFICATION and no ROUTE-REFRESH to either neighbour, one OPEN each; the
//   hypervisor reports no neighbour session going down; the FRR neighbour's session
//   uptime runs on across the crash;
// - the receiver's final table (its CLI) is the same as in the reference run.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InstanceExit } from '../src/btr/instance.js';
import { formatAddr, formatPrefix } from '../src/lib/ip.js';
import { Lab, established, labAvailable, waitFor, type RouteView } from '../src/lab/index.js';
import { AS4_CONTEXT, MSG, decodeMessage, type PathAttribute } from '../src/wire/index.js';
import { btrRouter, table, uptime, type BtrRouter } from './support/btr-lab.js';
import type { FeederConfig, FeederLine } from './support/btr-trace-feeder.js';
import { supervise } from './support/btr-supervise.js';
import { requireData } from './support/data.js';

const TRACE = 'hdb3-MRT/latest-update.gz';
const FEEDER = '198.18.1.2';
const RECEIVER = '198.18.2.2';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  /** neighbour → prefix → the changes sent, in order. */
  readonly changes: Map<string, Map<string, string[]>>;
  readonly updates: Record<string, number>;
  readonly other: { to: string; type: number; wall: number }[];
  /** Wall time when the sessions were up and the table converged, before the replay. */
  readonly readyWall: number;
  readonly neighborDowns: number;
  readonly receiverTable: RouteView[];
  readonly router: BtrRouter;
  readonly plan: { updates: number; rounds: number; prefixes: number; changes: number };
  readonly crash?: {
    exit: InstanceExit;
    round: number;
    of: number;
    /** When the restarted replica voted again towards both neighbours, and the replay ended. */
    votingAgainWall: number;
    doneWall: number;
  };
  readonly uptimes: { before: number; after: number; elapsedS: number };
  readonly supervisorLog: string[];
}

/** One attribute set in words (the next hop included). */
function describe(attrs: readonly PathAttribute[]): string {
  return attrs
    .map((a) => {
      switch (a.kind) {
        case 'next-hop':
          return `nh ${formatAddr(a.nextHop)}`;
        case 'as-path':
          return `path ${a.segments.map((s) => `${s.type}:${s.asns.join(' ')}`).join(' | ')}`;
        case 'communities':
          return `comm ${[...a.communities].sort((x, y) => x - y).join(' ')}`;
        case 'origin':
          return `origin ${a.origin}`;
        default:
          return `${a.kind} ${JSON.stringify(a, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v))}`;
      }
    })
    .sort()
    .join(', ');
}

async function run(lab: Lab, prefix: string, trace: string, crash: boolean): Promise<RunResult> {
  const r = await btrRouter(lab, { prefix, logSent: true });
  // Crashes are what this test is about; voter disagreements are not fed to the supervisor,
  // because FRR sends the neighbours' own routes back to them and would be restarted for it
  // (docs/btr.md "Replicas in namespaces").
  const sup = supervise(r, { votes: false });
  const feederCfg: FeederConfig = {
    trace,
    peer: { asn: 206499, address: '185.215.214.1' },
    asn: 65002,
    address: FEEDER,
    router: '198.18.1.1',
    gapMs: 300,
    limit: 1200,
  };
  const cfgFile = join(lab.dir, `${prefix}feeder.json`);
  writeFileSync(cfgFile, JSON.stringify(feederCfg));
  await r.neighbours.frr.start();
  const feeder = lab.spawn(
    { name: `${prefix}nb`, ns: `${lab.prefix}${prefix}nb` },
    process.execPath,
    [fileURLToPath(new URL('./support/btr-trace-feeder.js', import.meta.url)), cfgFile],
    { name: `${prefix}feeder` },
  );
  const feederLines = (): FeederLine[] =>
    feeder
      .logTail(1e7)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as FeederLine);
  const context = (): string => `${r.context()}\nfeeder:\n${feeder.logTail(2000)}`;
  try {
    await established(r.neighbours.frr, 1);
    await waitFor(() => r.events(), {
      what: 'every replica to be up towards both neighbours',
      until: (es) =>
        new Set(
          es.flatMap((e) =>
            e.type === 'replica-up' || e.type === 'replica-caught-up'
              ? [`${e.replica} ${e.neighbor} ${e.type}`]
              : [],
          ),
        ).size === 12,
      timeoutMs: 40_000,
      context,
    });
    await sleep(2000); // the receiver's own routes settle
    const before = { receiver: await uptime(r.neighbours.frr), at: Date.now() };
    feeder.kill('SIGUSR1');

    let crashed: RunResult['crash'];
    if (crash) {
      const mid = await waitFor(() => feederLines(), {
        what: 'the replay to reach its middle',
        until: (ls) => ls.some((l) => 'round' in l && l.round >= Math.floor(l.of / 2)),
        timeoutMs: 60_000,
        intervalMs: 20,
        context,
      });
      const at = [...mid].reverse().find((l) => 'round' in l) as { round: number; of: number };
      const rbird = r.replicas[1]!;
      const exits: InstanceExit[] = [];
      rbird.onExit((e) => exits.push(e));
      const killWall = Date.now();
      rbird.kill('SIGKILL');
      await waitFor(() => exits, { what: 'the BIRD replica to exit', until: (x) => x.length > 0 });
      const back = await waitFor(() => r.lines(), {
        what: 'the restarted BIRD replica to vote again towards both neighbours',
        until: (ls) =>
          ls.filter(
            (l) =>
              'event' in l &&
              l.wall > killWall &&
              l.event.type === 'replica-voting' &&
              l.event.replica === rbird.name,
          ).length >= 2,
        timeoutMs: 40_000,
        context,
      });
      crashed = {
        exit: exits[0]!,
        round: at.round,
        of: at.of,
        votingAgainWall: Math.max(
          ...back.flatMap((l) =>
            'event' in l && l.wall > killWall && l.event.type === 'replica-voting' ? [l.wall] : [],
          ),
        ),
        doneWall: 0,
      };
    }
    const done = await waitFor(() => feederLines(), {
      what: 'the replay to end',
      until: (ls) => ls.some((l) => 'done' in l),
      timeoutMs: 80_000,
      intervalMs: 100,
      context,
    });
    // Quiet: nothing sent to a neighbour for 2 s.
    await waitFor(() => r.lines().filter((l) => 'sent' in l), {
      what: 'the router to go quiet',
      until: (ls) => Date.now() - (ls[ls.length - 1]?.wall ?? 0) > 2000,
      timeoutMs: 30_000,
      intervalMs: 200,
      context,
    });
    if (crashed) {
      const d = done.find((l) => 'done' in l);
      crashed = { ...crashed, doneWall: d?.wall ?? 0 };
    }
    const after = { receiver: await uptime(r.neighbours.frr), at: Date.now() };

    const changes = new Map<string, Map<string, string[]>>();
    const updates: Record<string, number> = {};
    const other: { to: string; type: number; wall: number }[] = [];
    for (const l of r.lines()) {
      if ('sentOther' in l) other.push({ to: l.sentOther, type: l.type, wall: l.wall });
      if (!('sent' in l)) continue;
      const d = decodeMessage(Buffer.from(l.hex, 'hex'), AS4_CONTEXT);
      assert.ok(d.ok && d.message.type === MSG.UPDATE, `undecodable UPDATE to ${l.sent}`);
      const u = d.message;
      updates[l.sent] = (updates[l.sent] ?? 0) + 1;
      const per = changes.get(l.sent) ?? new Map<string, string[]>();
      changes.set(l.sent, per);
      const add = (p: string, v: string): void => {
        const seq = per.get(p) ?? [];
        seq.push(v);
        per.set(p, seq);
      };
      for (const n of u.withdrawn) add(formatPrefix(n.prefix), 'withdrawn');
      const attrs = describe(u.attributes);
      for (const n of u.nlri) add(formatPrefix(n.prefix), attrs);
    }
    const plan = feederLines().find(
      (l): l is Extract<FeederLine, { plan: unknown }> => 'plan' in l,
    )!.plan;
    assert.ok(done.length > 0);
    return {
      changes,
      updates,
      other,
      readyWall: before.at,
      neighborDowns: r.events().filter((e) => e.type === 'neighbor-down').length,
      receiverTable: await table(r.neighbours.frr),
      router: r,
      plan,
      ...(crashed ? { crash: crashed } : {}),
      uptimes: {
        before: before.receiver,
        after: after.receiver,
        elapsedS: (after.at - before.at) / 1000,
      },
      supervisorLog: sup.events.flatMap((e) => (e.type === 'decision' ? [e.message] : [])),
    };
  } finally {
    await sup.stop();
  }
}

const sorted = (m: Map<string, string[]> | undefined): [string, string[]][] =>
  [...(m ?? new Map<string, string[]>())].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

test('kill -9 of a replica during a RIS trace replay: the neighbours see nothing of it', async (t) => {
  if (!labAvailable(['bird', 'frr', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const trace = requireData(t, TRACE);
  if (!trace) return;
  const lab = Lab.create();
  t.after(() => lab.destroy());

  const [ref, hit] = await Promise.all([run(lab, 'x', trace, false), run(lab, '', trace, true)]);

  // The crash happened halfway through, the supervisor restarted the replica at once, and
  // it was bootstrapped and voted again towards both neighbours.
  const c = hit.crash!;
  assert.equal(c.exit.signal, 'SIGKILL');
  assert.equal(c.exit.expected, false);
  assert.ok(c.round > 0 && c.round < c.of - 1, `killed at round ${c.round} of ${c.of}`);
  assert.ok(
    hit.supervisorLog.some((m) => /^rbird \(bird\) crashed: .*restarted$/.test(m)),
    hit.supervisorLog.join('\n'),
  );
  assert.ok(
    c.votingAgainWall < c.doneWall,
    'the restarted replica was bootstrapped and voting before the replay ended',
  );
  assert.deepEqual(ref.supervisorLog, []);

  // The replay was the whole peer's trace, and the receiver got its changes.
  assert.equal(ref.plan.updates, hit.plan.updates);
  const recvRef = sorted(ref.changes.get(RECEIVER));
  const recvHit = sorted(hit.changes.get(RECEIVER));
  const count = (xs: [string, string[]][]): number => xs.reduce((s, [, v]) => s + v.length, 0);
  t.diagnostic(
    `trace peer AS 206499: ${ref.plan.updates} UPDATEs, ${ref.plan.changes} prefix changes on ${ref.plan.prefixes} prefixes, ${ref.plan.rounds} rounds; ` +
      `receiver got ${count(recvRef)} changes on ${recvRef.length} prefixes in ${ref.updates[RECEIVER]} UPDATEs (reference) and ${count(recvHit)} in ${hit.updates[RECEIVER]} UPDATEs (crash at round ${c.round}/${c.of})`,
  );
  assert.ok(recvRef.length > 1000, `the receiver learnt only ${recvRef.length} prefixes`);

  // No change caused by the crash: per neighbour and prefix, the same changes in order.
  assert.equal(count(recvHit), count(recvRef), 'changes sent to the receiver');
  assert.deepEqual(recvHit, recvRef, 'per-prefix changes sent to the receiver');
  assert.deepEqual(
    sorted(hit.changes.get(FEEDER)),
    sorted(ref.changes.get(FEEDER)),
    'per-prefix changes sent to the feeder',
  );

  // No session reset, no ROUTE-REFRESH, no NOTIFICATION: besides UPDATEs and KEEPALIVEs
  // only OPENs, all while the sessions were being set up (a connection collision at start
  // can cost one more; RFC 4271 §6.8), none once the table had converged.
  for (const x of [ref, hit]) {
    assert.deepEqual([...new Set(x.other.map((o) => o.type))], [MSG.OPEN], 'only OPENs');
    assert.deepEqual([...new Set(x.other.map((o) => o.to))].sort(), [FEEDER, RECEIVER].sort());
    const late = x.other.filter((o) => o.wall >= x.readyWall);
    assert.deepEqual(late, [], 'an OPEN after the sessions were up: a session reset');
    assert.equal(x.neighborDowns, 0);
    assert.ok(
      x.uptimes.after >= x.uptimes.before + x.uptimes.elapsedS - 2,
      `receiver session reset: ${JSON.stringify(x.uptimes)}`,
    );
  }
  assert.deepEqual(hit.receiverTable, ref.receiverTable, "the receiver's final table");
});
