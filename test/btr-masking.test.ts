// Masking (issue 5, "Must show" 2; docs/btr.md "Fault injection"): a bug-tolerant router of
// real daemons (test/support/btr-lab.ts: replicas nonstop, BIRD 2 and FRR between a real
// BIRD and a real FRR neighbour) whose nonstop replica corrupts its outputs with the
// paper's bug model (src/btr/fault-inject.ts: add a bogus announcement, suppress one,
// change a next hop; fixed durations and inter-arrival times, a fixed seed).
//
// - continuous-majority and wait-for-consensus: while the bugs run, both neighbours' RIBs
//   are read through their CLIs about every 100 ms and never differ from the converged
//   table; every UPDATE the router sent to a neighbour (the hypervisor's record) is
//   checked: none carries a bogus prefix, a bogus next hop or a withdrawal of a suppressed
//   route — in fact none is sent at all; the voter reports a fault naming the nonstop
//   replica for every corrupted key, and no other replica.
//   The router's FIB too (src/lab/btr-fib.ts): the replicas' kernel tables are polled every
//   100 ms (`observe: 'poll'`: with the rtnetlink monitor, the master/slave case fails about
//   one run in three — the wrong next hop is never sent; an interaction not yet understood)
//   and voted, the voted routes installed in the router namespace's kernel table; the
//   same bugs corrupt the nonstop replica's FIB as the voter sees it. The router's kernel
//   table, read about every 100 ms, never differs from the converged one; the runner's
//   record of every change the kernel accepted has none after the bugs start; the FIB
//   voter names the nonstop replica for every corrupted prefix. The router namespace has
//   an address on the bogus next hops' subnet, so the kernel would accept a corrupted
//   route if the vote let one through.
// - master/slave with the corrupted replica as master: its wrong next hop goes out at
//   once, and is corrected (the slave promoted, the difference re-advertised) within
//   T + 500 ms of the bug's start; the fault names the master; the neighbours' RIBs are
//   back to the converged table and stay there. In the FIB likewise: the wrong gateway is
//   installed, then corrected within T + 500 ms of the FIB bug's start.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { FIB, type BugModel, type FaultEvent } from '../src/btr/fault-inject.js';
import type { InstanceFibRoute } from '../src/btr/instance.js';
import { namespaceFibRoutes } from '../src/lab/btr-fib.js';
import type { HypervisorConfig } from '../src/btr/hypervisor.js';
import { routeKey } from '../src/btr/canonical-key.js';
import { formatAddr, formatPrefix, parsePrefix } from '../src/lib/ip.js';
import { Lab, established, labAvailable, waitFor, type RouteView } from '../src/lab/index.js';
import {
  AS4_CONTEXT,
  MSG,
  decodeMessage,
  type Nlri,
  type UpdateMessage,
} from '../src/wire/index.js';
import { btrRouter, table, voteFaults, type BtrRouter } from './support/btr-lab.js';

const T = 1000;
const NONSTOP = 'rnon';

/** Seed 3 gives next-hop, add, suppress: one episode of each kind, overlapping. */
const BUGS: BugModel = {
  interArrivalMs: 2000,
  durationMs: 2500,
  distribution: 'fixed',
  maxEpisodes: 3,
};
const FAULT_PERIOD_MS = 3 * 2000 + 2500;

/** More routes per session than episodes at once, so every episode finds a victim. */
const ORIGINATE = {
  bird: [{ prefix: '198.19.20.0/24' }, { prefix: '198.19.21.0/24' }],
  frr: [{ prefix: '198.19.30.0/24' }, { prefix: '198.19.31.0/24' }],
};

interface Snapshot {
  readonly at: number;
  readonly bird: RouteView[];
  readonly frr: RouteView[];
  /** The router namespace's kernel table (routing routes), by prefix. */
  readonly fib: InstanceFibRoute[];
}

/** What the router's kernel FIB holds once converged: each neighbour's routes via it. */
const WANT_FIB: InstanceFibRoute[] = [
  ...['198.19.2.0/24', '198.19.22.0/24', '198.19.20.0/24', '198.19.21.0/24'].map((prefix) => ({
    prefix,
    gateways: ['198.18.1.2'],
  })),
  ...['198.19.3.0/24', '198.19.33.0/24', '198.19.30.0/24', '198.19.31.0/24'].map((prefix) => ({
    prefix,
    gateways: ['198.18.2.2'],
  })),
].sort(byPrefix);

function byPrefix(a: { prefix: string }, b: { prefix: string }): number {
  return a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0;
}

const routerFib = async (r: BtrRouter): Promise<InstanceFibRoute[]> =>
  (await namespaceFibRoutes(r.node.ns)).sort(byPrefix);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Both neighbours' RIBs through their CLIs, about every `everyMs`, until `untilWall`. */
async function pollRibs(r: BtrRouter, untilWall: number, everyMs = 100): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  while (Date.now() < untilWall) {
    const t0 = Date.now();
    const [bird, frr, fib] = await Promise.all([
      table(r.neighbours.bird),
      table(r.neighbours.frr),
      routerFib(r),
    ]);
    out.push({ at: t0, bird, frr, fib });
    await sleep(Math.max(0, everyMs - (Date.now() - t0)));
  }
  return out;
}

/** The UPDATEs the router sent to its neighbours from `sinceWall` on, decoded. */
function sentSince(
  r: BtrRouter,
  sinceWall: number,
): { to: string; at: number; u: UpdateMessage }[] {
  return r.lines().flatMap((l) => {
    if (!('sent' in l) || l.wall < sinceWall) return [];
    const d = decodeMessage(Buffer.from(l.hex, 'hex'), AS4_CONTEXT);
    assert.ok(d.ok && d.message.type === MSG.UPDATE, `undecodable UPDATE to ${l.sent}: ${l.hex}`);
    return [{ to: l.sent, at: l.wall, u: d.message }];
  });
}

const nextHopOf = (u: UpdateMessage): string | undefined => {
  const a = u.attributes.find((x) => x.kind === 'next-hop');
  return a?.kind === 'next-hop' ? formatAddr(a.nextHop) : undefined;
};

type BugStart = Extract<FaultEvent, { type: 'bug-start' }>;

const voteKey = (prefix: string): string => String(routeKey(1, 1, parsePrefix(prefix)!));

/** A router whose nonstop replica is buggy, converged, with its bug schedule armed. */
async function buggyRouter(
  t: TestContext,
  voting: HypervisorConfig['voting'],
  bugs: BugModel,
  seed: number,
): Promise<{
  r: BtrRouter;
  base: { bird: RouteView[]; frr: RouteView[]; fib: InstanceFibRoute[] };
  armedAt: number;
}> {
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const r = await btrRouter(lab, {
    voting,
    faults: { [NONSTOP]: { seed, bugs } },
    logSent: true,
    originate: ORIGINATE,
    fib: { pollMs: 100, observe: 'poll' },
  });
  // The bogus next hops' subnet is on-link in the router (a veth pair inside its namespace:
  // this kernel has no dummy devices), so a corrupted route would install.
  for (const args of [
    ['link', 'add', 'nst-bogus', 'type', 'veth', 'peer', 'name', 'nst-bogus-p'],
    ['addr', 'add', '198.19.253.1/24', 'dev', 'nst-bogus'],
    ['link', 'set', 'nst-bogus-p', 'up'],
    ['link', 'set', 'nst-bogus', 'up'],
  ]) {
    const x = await lab.exec(r.node, 'ip', args);
    assert.equal(x.code, 0, `ip ${args.join(' ')}: ${x.stderr}`);
  }
  await r.start();
  await Promise.all([established(r.neighbours.bird, 1), established(r.neighbours.frr, 1)]);
  const want = {
    bird: ['198.19.3.0/24', '198.19.33.0/24', '198.19.30.0/24', '198.19.31.0/24'],
    frr: ['198.19.2.0/24', '198.19.22.0/24', '198.19.20.0/24', '198.19.21.0/24'],
  };
  await Promise.all(
    (['bird', 'frr'] as const).map((n) =>
      waitFor(() => table(r.neighbours[n]), {
        what: `the ${n} neighbour to learn ${want[n].join(', ')}`,
        until: (rs) => want[n].every((p) => rs.some((x) => x.prefix === p)),
        timeoutMs: 30_000,
        context: r.context,
      }),
    ),
  );
  await waitFor(() => routerFib(r), {
    what: "the router's kernel FIB to hold the voted routes",
    until: (rs) => JSON.stringify(rs) === JSON.stringify(WANT_FIB),
    timeoutMs: 30_000,
    context: () => `${r.context()}\nwant ${JSON.stringify(WANT_FIB)}`,
  });
  // Every replica votes and the output has been steady for T: the baseline.
  await sleep(T + 500);
  const base = {
    bird: await table(r.neighbours.bird),
    frr: await table(r.neighbours.frr),
    fib: await routerFib(r),
  };
  assert.deepEqual(base.fib, WANT_FIB);
  const armedAt = Date.now();
  r.hypervisor.kill('SIGUSR1');
  await waitFor(() => r.lines(), {
    what: 'the hypervisor to arm the fault injector',
    until: (ls) => ls.some((l) => 'armed' in l),
    context: r.context,
  });
  return { r, base, armedAt };
}

async function masked(t: TestContext, voting: HypervisorConfig['voting']): Promise<void> {
  if (!labAvailable(['bird', 'frr', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const { r, base, armedAt } = await buggyRouter(t, voting, BUGS, 3);
  const snaps = await pollRibs(r, armedAt + FAULT_PERIOD_MS + 1500);

  // The bugs happened: one episode of each kind, on both of the replica's sessions and in
  // its FIB.
  const all = r.faultEvents().filter((e): e is BugStart => e.type === 'bug-start');
  const starts = all.filter((e) => e.neighbor !== FIB);
  const fibStarts = all.filter((e) => e.neighbor === FIB);
  const skipped = r.faultEvents().filter((e) => e.type === 'bug-skipped');
  assert.deepEqual(skipped, [], 'every episode found a victim');
  for (const ss of [starts, fibStarts]) {
    assert.deepEqual(
      [...new Set(ss.map((e) => e.kind))].sort(),
      ['add', 'next-hop', 'suppress'],
      JSON.stringify(all),
    );
  }
  assert.equal(starts.length, 6, 'three episodes on two sessions');
  assert.equal(fibStarts.length, 3, 'three episodes in the FIB');
  assert.equal(r.faultEvents().filter((e) => e.type === 'bug-end').length, 9);

  // Checked continuously: the neighbours' RIBs and the router's kernel FIB never differ
  // from the converged ones.
  assert.ok(snaps.length >= FAULT_PERIOD_MS / 250, `only ${snaps.length} polls`);
  for (const s of snaps) {
    assert.deepEqual(s.bird, base.bird, `BIRD neighbour's RIB at +${s.at - armedAt} ms`);
    assert.deepEqual(s.frr, base.frr, `FRR neighbour's RIB at +${s.at - armedAt} ms`);
    assert.deepEqual(s.fib, base.fib, `the router's kernel FIB at +${s.at - armedAt} ms`);
  }
  // Every change the router's FIB accepted: none once the bugs ran.
  assert.deepEqual(installedSince(r, armedAt), [], 'the router’s FIB changed while the bugs ran');
  // The FIB voter names the buggy replica for every corrupted prefix, and nobody else.
  const ff = fibFaults(r, armedAt);
  for (const b of fibStarts) {
    assert.ok(
      ff.some((f) => f.name === NONSTOP && String(f.key) === voteKey(b.prefix)),
      `no FIB fault for ${b.kind} ${b.prefix}: ${JSON.stringify(ff)}`,
    );
  }
  assert.deepEqual(
    ff.filter((f) => f.name !== NONSTOP),
    [],
  );

  // Every UPDATE that left the router: none carries a corrupted value (there are none).
  const sent = sentSince(r, armedAt);
  for (const { to, u } of sent) {
    for (const b of starts.filter((e) => e.neighbor === to)) {
      const touches = (ns: readonly Nlri[]): boolean =>
        ns.some((n) => formatPrefix(n.prefix) === b.prefix);
      if (b.kind === 'add') assert.ok(!touches(u.nlri), `bogus ${b.prefix} sent to ${to}`);
      if (b.kind === 'suppress') assert.ok(!touches(u.withdrawn), `${b.prefix} withdrawn at ${to}`);
      if (b.kind === 'next-hop') {
        assert.ok(nextHopOf(u) !== b.nextHop, `next hop ${b.nextHop} sent to ${to}`);
      }
    }
  }
  assert.equal(sent.length, 0, 'the router sent no UPDATE while the bugs ran');

  // The voter names the buggy replica for every corrupted key, and nobody else.
  const faults = voteFaults(r.lines(), armedAt);
  for (const b of starts) {
    assert.ok(
      faults.some(
        (f) =>
          f.neighbor === b.neighbor &&
          f.event.name === NONSTOP &&
          String(f.event.key) === voteKey(b.prefix),
      ),
      `no fault for ${b.kind} ${b.prefix} towards ${b.neighbor}: ${JSON.stringify(faults)}`,
    );
  }
  assert.deepEqual(
    faults.filter((f) => f.event.name !== NONSTOP),
    [],
  );
}

/** Changes the router's kernel FIB accepted from `sinceWall` on (the runner's record). */
function installedSince(r: BtrRouter, sinceWall: number) {
  return r
    .lines()
    .flatMap((l) =>
      'fibInstalled' in l && l.wall >= sinceWall ? [{ ...l.fibInstalled, wall: l.wall }] : [],
    );
}

/** The FIB voter's faults from `sinceWall` on. */
function fibFaults(r: BtrRouter, sinceWall: number) {
  return r
    .lines()
    .flatMap((l) =>
      'fibEvent' in l &&
      l.wall >= sinceWall &&
      l.fibEvent.type === 'vote' &&
      l.fibEvent.event.type === 'fault'
        ? [l.fibEvent.event]
        : [],
    );
}

test('masking under continuous-majority: a buggy nonstop replica never reaches the neighbours', async (t) => {
  await masked(t, { strategy: { kind: 'continuous-majority' }, steadyMs: T });
});

test('masking under wait-for-consensus (K = 3): a buggy nonstop replica never reaches the neighbours', async (t) => {
  await masked(t, { strategy: { kind: 'wait-for-consensus', k: 3 }, steadyMs: T });
});

test('master/slave: a corrupted master is corrected within T plus a small bound, and named', async (t) => {
  if (!labAvailable(['bird', 'frr', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const bugs: BugModel = {
    interArrivalMs: 500,
    durationMs: 4000,
    distribution: 'fixed',
    kinds: ['next-hop'],
    maxEpisodes: 1,
  };
  const BOUND = 500;
  const { r, base, armedAt } = await buggyRouter(
    t,
    { strategy: { kind: 'master-slave' }, steadyMs: T },
    bugs,
    11,
  );
  const snaps = await pollRibs(r, armedAt + 500 + 4000 + 1500);
  const all = r.faultEvents().filter((e): e is BugStart => e.type === 'bug-start');
  const starts = all.filter((e) => e.neighbor !== FIB);
  assert.equal(starts.length, 2, JSON.stringify(r.faultEvents()));
  const startWall = r
    .lines()
    .find((l) => 'fault' in l && l.fault.type === 'bug-start' && l.fault.neighbor !== FIB)!.wall;

  const sent = sentSince(r, armedAt);
  for (const b of starts) {
    const about = sent.filter(
      (s) => s.to === b.neighbor && s.u.nlri.some((n) => formatPrefix(n.prefix) === b.prefix),
    );
    // The master's wrong next hop goes out at once (master/slave outputs before checking)…
    const wrong = about.find((s) => nextHopOf(s.u) === b.nextHop);
    assert.ok(
      wrong,
      `the wrong next hop of ${b.prefix} was not sent to ${b.neighbor}: ${JSON.stringify(about)}`,
    );
    // …and the right one follows within T plus a small bound.
    const right = about.find((s) => s.at >= wrong.at && nextHopOf(s.u) !== b.nextHop);
    assert.ok(right, `${b.prefix} never corrected towards ${b.neighbor}`);
    assert.ok(
      right.at - startWall <= T + BOUND,
      `${b.prefix} towards ${b.neighbor} corrected ${right.at - startWall} ms after the bug (T = ${T})`,
    );
    assert.equal(about.length, 2, 'one wrong UPDATE and one correction, nothing else');
  }

  // The fault names the master, and the slave took over.
  const faults = voteFaults(r.lines(), armedAt);
  for (const b of starts) {
    const on = faults.filter(
      (f) => f.neighbor === b.neighbor && String(f.event.key) === voteKey(b.prefix),
    );
    assert.ok(on.length > 0, `no fault for ${b.prefix} towards ${b.neighbor}`);
    assert.ok(
      on.every((f) => f.event.name === NONSTOP),
      JSON.stringify(on),
    );
  }
  const changes = r
    .lines()
    .flatMap((l) =>
      'event' in l &&
      l.wall >= armedAt &&
      l.event.type === 'vote' &&
      l.event.event.type === 'master-changed'
        ? [{ neighbor: l.event.neighbor, ...l.event.event }]
        : [],
    );
  for (const b of starts) {
    assert.ok(
      changes.some((c) => c.neighbor === b.neighbor && c.from === 0 && c.why === 'fault'),
      `no failover away from the master towards ${b.neighbor}: ${JSON.stringify(changes)}`,
    );
  }

  // The neighbours' RIBs: back to the converged table by T plus the bound (and the time the
  // neighbour and its CLI take), and never wrong again; the episode's end changes nothing.
  const late = startWall + T + BOUND + 1000;
  for (const s of snaps.filter((x) => x.at >= late)) {
    assert.deepEqual(s.bird, base.bird, `BIRD neighbour's RIB at +${s.at - startWall} ms`);
    assert.deepEqual(s.frr, base.frr, `FRR neighbour's RIB at +${s.at - startWall} ms`);
  }
  const wrongSeen = snaps.some((s) =>
    [...s.bird, ...s.frr].some((x) =>
      starts.some((b) => x.prefix === b.prefix && x.nextHops.includes(b.nextHop!)),
    ),
  );
  t.diagnostic(`wrong route seen in a neighbour's RIB by polling: ${wrongSeen}`);

  // The FIB: the master's wrong gateway is installed at once, and corrected within T + bound.
  const fibStart = r
    .lines()
    .find((l) => 'fault' in l && l.fault.type === 'bug-start' && l.fault.neighbor === FIB);
  assert.ok(fibStart && 'fault' in fibStart && fibStart.fault.type === 'bug-start');
  const fb = fibStart.fault as BugStart;
  const installs = installedSince(r, armedAt).filter((c) => c.prefix === fb.prefix);
  const wrongFib = installs.find((c) => c.gateways?.includes(fb.nextHop!));
  assert.ok(
    wrongFib,
    `the wrong gateway of ${fb.prefix} never reached the router's FIB: ${JSON.stringify(installs)}`,
  );
  const rightFib = installs.find(
    (c) => c.wall >= wrongFib.wall && !c.gateways?.includes(fb.nextHop!),
  );
  assert.ok(rightFib, `${fb.prefix} never corrected in the router's FIB`);
  assert.ok(
    rightFib.wall - fibStart.wall <= T + BOUND,
    `${fb.prefix} corrected in the router's FIB ${rightFib.wall - fibStart.wall} ms after the bug (T = ${T})`,
  );
  assert.deepEqual(rightFib.gateways, WANT_FIB.find((x) => x.prefix === fb.prefix)?.gateways);
  for (const s of snaps.filter((x) => x.at >= fibStart.wall + T + BOUND + 500)) {
    assert.deepEqual(s.fib, base.fib, `the router's kernel FIB at +${s.at - fibStart.wall} ms`);
  }
  assert.ok(
    fibFaults(r, armedAt).some((f) => f.name === NONSTOP && String(f.key) === voteKey(fb.prefix)),
    'the FIB voter names the master',
  );
});
