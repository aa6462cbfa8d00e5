// `nonstop demo` with real daemons (src/cli/demo.ts picks this mode when it runs as root,
// network namespaces work and BIRD 2, FRR, GoBGP and nftables are installed; docs/btr.md
// "The demo"). A bug-tolerant router (BTR paper §3–4) of real, unmodified daemons, each in a
// network namespace of its own (src/lab/btr-lab.ts): the hypervisor runs in the router's
// namespace (src/lab/btr-router-runner.ts, a process of its own: Node cannot open sockets in
// another namespace); three diverse replicas — nonstop, BIRD 2 and GoBGP, which agree on
// every route (docs/btr.md "Replica diversity") — behind the transparent proxy; two external
// neighbours, a real BIRD 2 and a real FRR, each announcing two prefixes.
//
// Once the router has converged, the BIRD replica is made buggy on the hypervisor's side of
// its sessions (src/btr/fault-inject.ts, armed by SIGUSR1): towards each neighbour it
// announces a bogus prefix, then gives a route a wrong next hop, and keeps doing so until it
// is restarted (sessions that come up during an episode are left alone by it). The replica
// supervisor (src/lab/btr-supervise.ts) runs here, fed the voters' fault reports, and kills
// and restarts it at its fault threshold.
//
// Printed: what the neighbours have in their RIBs, read from the daemons themselves (birdc,
// vtysh) and polled all the while the bug runs; what left the router (the runner's record of
// every UPDATE it sent); the voters' fault reports naming the buggy replica; the supervisor's
// decision; the hypervisor's status; a summary. Every claim is computed from that data, and
// the demo fails (result `ok` false, exit 1) if one does not hold. The lab goes with
// `Lab.destroy()` at the end and on error; on SIGINT/SIGTERM (and at exit) it is torn down
// synchronously (`Lab.destroySync`, also the lab's own handlers: src/lab/lab.ts) before the
// process exits.

import { describeKey } from '../btr/canonical-key.js';
import { describeValue } from '../btr/canonical.js';
import type { BugModel, FaultEvent } from '../btr/fault-inject.js';
import type { NeighborStatus } from '../btr/hypervisor.js';
import type { SupervisorEvent } from '../btr/supervisor.js';
import { formatAddr, formatPrefix } from '../lib/ip.js';
import { netnsList } from '../net/netns.js';
import { sleep } from '../net/wait.js';
import {
  BIRD_ROUTES,
  FRR_ROUTES,
  ROUTER,
  WANT,
  btrLabRouter,
  table,
  voteFaults,
} from '../lab/btr-lab.js';
import type { BtrLabRouter } from '../lab/btr-lab.js';
import { supervise, type SupervisedRouter } from '../lab/btr-supervise.js';
import { Lab, established, waitFor, type RouteView } from '../lab/index.js';
import { AS4_CONTEXT, MSG, decodeMessage } from '../wire/index.js';

const T = 1000;
const FAULT_THRESHOLD = 3;
/** Diverse replicas that agree on every route here: [name, lab daemon kind, proxy mode]. */
const REPLICAS = [
  ['rnon', 'nonstop', 'accept'],
  ['rbird', 'bird', 'accept'],
  ['rgobgp', 'gobgp', 'accept'],
] as const;
const KIND_NAMES: Readonly<Record<string, string>> = {
  nonstop: 'nonstop',
  bird: 'BIRD 2',
  gobgp: 'GoBGP',
};
export const LAB_DEMO_BUGGY = 'rbird';
/**
 * Two episodes on each of its sessions, 300 ms apart, each lasting past the end of the demo
 * (only a restart clears them); seed 8 makes the first `add` and the second `next-hop`.
 */
const BUGS: BugModel = {
  interArrivalMs: 300,
  durationMs: 120_000,
  distribution: 'fixed',
  kinds: ['add', 'next-hop'],
  maxEpisodes: 2,
};
const SEED = 8;

/** The neighbours, as the demo names them (the hypervisor names them by address). */
const NEIGHBOURS = [
  { key: 'bird', label: 'n1', kind: 'BIRD 2', neighbor: ROUTER.neighbors[0]!, routes: BIRD_ROUTES },
  { key: 'frr', label: 'n2', kind: 'FRR', neighbor: ROUTER.neighbors[1]!, routes: FRR_ROUTES },
] as const;
const labelOf = (address: string): string =>
  NEIGHBOURS.find((n) => n.neighbor.address === address)?.label ?? address;

export interface BtrLabDemoResult {
  readonly ok: boolean;
  /** The lab's namespace prefix (`nst-<id>-`): none of its namespaces is left afterwards. */
  readonly labPrefix: string;
  /** Each neighbour's best routes learned from the router at the end, as "prefix next-hop". */
  readonly ribs: Readonly<Record<string, readonly string[]>>;
  readonly bugStarts: number;
  /** Polls of the neighbours' RIBs while the bug ran / those that differed from the converged table. */
  readonly polls: number;
  readonly pollsDiffering: number;
  /** UPDATEs the router sent after the bug was armed / those carrying a corrupted route. */
  readonly sentUpdates: number;
  readonly leakedUpdates: number;
  readonly faultReplicas: readonly string[];
  readonly restarts: number;
  readonly elapsedMs: number;
}

type BugStart = Extract<FaultEvent, { type: 'bug-start' }>;
type Decision = Extract<SupervisorEvent, { type: 'decision' }>;
type Tables = { bird: RouteView[]; frr: RouteView[] };

/** The routes a neighbour learned from the router (its AS first), and its own (no AS path). */
const learned = (rs: RouteView[]): RouteView[] => rs.filter((r) => r.asPath[0] === ROUTER.asn);
const own = (rs: RouteView[]): RouteView[] => rs.filter((r) => r.asPath.length === 0);
const same = (a: Tables, b: Tables): boolean =>
  JSON.stringify([a.bird, a.frr]) === JSON.stringify([b.bird, b.frr]);

export async function runBtrLabDemo(
  out: (s: string) => void,
  why: string,
): Promise<BtrLabDemoResult> {
  const t0 = Date.now();
  const rel = (wall: number): string => `+${((wall - t0) / 1000).toFixed(1)} s`;
  const say = (s = ''): void => out(s + '\n');
  const section = (s: string): void => out(`\n== ${s}\n`);

  say('nonstop demo — a bug-tolerant router masking a buggy replica, live');
  say(`${why}: using real daemons`);
  say();
  say('Here: real, unmodified daemons, each in a network namespace of its own — the');
  say("router's hypervisor, three diverse replicas (nonstop, BIRD 2, GoBGP) behind the");
  say('transparent proxy, and two external neighbours (BIRD 2 and FRR). `nonstop demo');
  say('--in-process` runs the in-memory demo instead (no root, no daemons).');

  const lab = Lab.create();
  // Interrupted: the lab's own handler (installed by Lab.create, so it runs first) has killed
  // its processes and deleted its namespaces synchronously; `destroySync` again in case that
  // handler is gone (a no-op otherwise), say so, and exit as the signal would have.
  const onSignal = (signal: NodeJS.Signals): void => {
    lab.destroySync();
    out(
      `\n${signal}: stopped; the lab's daemons were killed and its namespaces ${lab.prefix}* deleted.\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let sv: SupervisedRouter | undefined;
  /** The checks that failed (or the error that stopped the demo). */
  const failed: string[] = [];
  const result = {
    ribs: {} as Record<string, string[]>,
    bugStarts: 0,
    polls: 0,
    pollsDiffering: 0,
    sentUpdates: 0,
    leakedUpdates: 0,
    faultReplicas: [] as string[],
    restarts: 0,
  };
  try {
    section('the router');
    say(
      `  AS ${ROUTER.asn}, router ID ${ROUTER.routerId}, addresses ${ROUTER.addresses.join(' and ')}; ` +
        `network namespaces ${lab.prefix}*.`,
    );
    for (const n of NEIGHBOURS) {
      say(
        `  ${n.label}: ${n.kind} (AS ${n.neighbor.asn}, ${n.neighbor.address}) announcing ` +
          `${n.routes.map((r) => r.prefix).join(', ')}.`,
      );
    }
    say(
      `  Replicas: ${REPLICAS.map(([name, kind]) => `${name} (${KIND_NAMES[kind]})`).join(', ')}; ` +
        `each carries the router's addresses and configuration and believes it is the router.`,
    );
    say(
      `  Continuous-majority voting, T = ${T} ms; the supervisor restarts a replica at ${FAULT_THRESHOLD} faults.`,
    );
    say(
      `  The bug: once the router has converged, ${LAB_DEMO_BUGGY}'s sessions are corrupted on the hypervisor's side`,
    );
    say(
      '  (src/btr/fault-inject.ts): towards each neighbour it announces a bogus prefix, then gives a route a',
    );
    say('  wrong next hop — until it is restarted.');

    const r = await btrLabRouter(lab, {
      replicas: REPLICAS,
      voting: { strategy: { kind: 'continuous-majority' }, steadyMs: T },
      faults: { [LAB_DEMO_BUGGY]: { seed: SEED, bugs: BUGS } },
      logSent: true,
      catchUp: { quietMs: 1000, maxMs: 10_000 },
    });
    // Replicas slower to start than T are outvoted (and flagged) while the router starts:
    // the voters' faults count from the converged baseline on.
    sv = supervise(r, {
      faultThreshold: FAULT_THRESHOLD,
      windowMs: 60_000,
      votes: false,
      epochMs: t0,
    });
    const { bird, frr } = r.neighbours;
    await Promise.all([bird.start(), frr.start()]);
    await Promise.all([established(bird, 1), established(frr, 1)]);
    await r.converged();
    await waitFor(() => pairs(r, 'replica-caught-up', 0), {
      what: 'every replica to be caught up on both neighbour sessions',
      until: (s) => s.length === REPLICAS.length * NEIGHBOURS.length,
      timeoutMs: 30_000,
      context: r.context,
    });
    // Every replica votes and the output has been steady for T: the baseline.
    await sleep(T + 500);
    const base: Tables = { bird: await table(bird), frr: await table(frr) };
    section(`converged at ${rel(Date.now())}`);
    for (const n of NEIGHBOURS) {
      const mine = own(base[n.key]).map((x) => x.prefix);
      const got = learned(base[n.key]).map((x) => x.prefix);
      say(
        `  ${n.label} (${n.kind}) has its own ${mine.join(', ')} and, from the router, ${got.join(', ')}`,
      );
    }
    say('  every replica votes on both neighbour sessions.');

    // --- the bug
    sv.feedVotes(true);
    const armedAt = Date.now();
    r.hypervisor.kill('SIGUSR1');
    await waitFor(() => r.lines(), {
      what: 'the hypervisor to arm the fault injector',
      until: (ls) => ls.some((l) => 'armed' in l),
      context: r.context,
    });

    // Poll both neighbours' RIBs until the buggy replica has been restarted and has voted
    // again on both sessions for T + 500 ms (or the deadline).
    const snaps: (Tables & { at: number })[] = [];
    const deadline = armedAt + 25_000;
    let backAt: number | undefined;
    while (Date.now() < deadline) {
      const at = Date.now();
      const [b, f] = await Promise.all([table(bird), table(frr)]);
      snaps.push({ at, bird: b, frr: f });
      backAt ??= backVoting(r, sv.events, t0);
      if (backAt !== undefined && Date.now() >= backAt + T + 500) break;
      await sleep(Math.max(0, 150 - (Date.now() - at)));
    }
    const final: Tables = { bird: await table(bird), frr: await table(frr) };

    section(`the bug (armed at ${rel(armedAt)}, once the router had converged)`);
    const starts = r.faultEvents().filter((e): e is BugStart => e.type === 'bug-start');
    const skipped = r.faultEvents().filter((e) => e.type === 'bug-skipped');
    for (const b of starts) {
      say(
        b.kind === 'add'
          ? `  ${b.replica} towards ${labelOf(b.neighbor)}: announces ${b.prefix}, which nobody sent (next hop ${b.nextHop ?? '?'})`
          : `  ${b.replica} towards ${labelOf(b.neighbor)}: gives ${b.prefix} the next hop ${b.nextHop ?? '?'}`,
      );
    }
    if (skipped.length > 0) say(`  (${skipped.length} episodes found nothing to corrupt)`);
    result.bugStarts = starts.length;
    const bogusPrefixes = new Set(starts.filter((b) => b.kind === 'add').map((b) => b.prefix));
    const bogusNextHops = new Set(
      starts.flatMap((b) => (b.kind === 'next-hop' && b.nextHop ? [b.nextHop] : [])),
    );
    const corrupted = (rs: RouteView[]): boolean =>
      rs.some((x) => bogusPrefixes.has(x.prefix) || x.nextHops.some((h) => bogusNextHops.has(h)));

    // --- the neighbours' RIBs, as the daemons have them
    section('what the neighbours have in their RIBs (read from the daemons: birdc, vtysh)');
    for (const n of NEIGHBOURS) {
      const rs = learned(final[n.key]);
      result.ribs[n.label] = rs.map((x) => `${x.prefix} ${x.nextHops.join(',')}`);
      for (const x of rs) {
        say(
          `  ${n.label} (${n.kind}) has ${x.prefix.padEnd(15)} next hop ${(x.nextHops.join(', ') || '-').padEnd(11)} ` +
            `AS path ${x.asPath.join(' ')}${x.communities.length ? `  communities ${x.communities.join(' ')}` : ''}`,
        );
      }
    }
    result.polls = snaps.length;
    result.pollsDiffering = snaps.filter((s) => !same(s, base)).length;
    const pollsCorrupted = snaps.filter((s) => corrupted(s.bird) || corrupted(s.frr)).length;
    say(
      `  read ${snaps.length} times from ${rel(armedAt)} to ${rel(snaps.at(-1)?.at ?? armedAt)} (the bug, the restart, the catch-up): ` +
        (result.pollsDiffering === 0
          ? 'identical to the converged table every time.'
          : `${result.pollsDiffering} times different from the converged table, ${pollsCorrupted} times with a corrupted route!`),
    );
    const sent = sentSince(r, armedAt);
    result.sentUpdates = sent.length;
    result.leakedUpdates = sent.filter(
      (s) =>
        s.undecodable ||
        s.prefixes.some((p) => bogusPrefixes.has(p)) ||
        (s.nextHop !== undefined && bogusNextHops.has(s.nextHop)),
    ).length;
    say(
      `  UPDATEs the router sent to the neighbours meanwhile: ${sent.length}; carrying a corrupted route: ${result.leakedUpdates}` +
        (result.leakedUpdates === 0 && !corrupted(final.bird) && !corrupted(final.frr)
          ? ': the corrupted routes never reached a neighbour.'
          : '!'),
    );

    // --- the voters' fault reports
    section(
      "the voters' fault reports (a replica's steady output differs from the steady majority)",
    );
    const faults = voteFaults(r.lines(), armedAt);
    for (const f of faults.slice(0, 8)) {
      say(
        `  update voter for ${labelOf(f.neighbor)}: ${f.event.name} has ${describeKey(f.event.key)} ` +
          `${describeValue(f.event.value)}; the majority: ${describeValue(f.event.majority)}`,
      );
    }
    if (faults.length > 8) say(`  … and ${faults.length - 8} more`);
    result.faultReplicas = [...new Set(faults.map((f) => f.event.name))];
    say(`  faulty replicas named: ${result.faultReplicas.join(', ') || 'none'}`);

    // --- the supervisor
    section(
      'the supervisor (fault threshold reached: kill and restart; times from the start of the demo)',
    );
    const decisions = sv.events.filter((e): e is Decision => e.type === 'decision');
    for (const d of decisions) say(`  ${d.message}`);
    result.restarts = decisions.filter(
      (d) => d.replica === LAB_DEMO_BUGGY && (d.action === 'restart' || d.action === 'replace'),
    ).length;
    const resets = r.events().filter((e) => e.type === 'neighbor-down').length;
    if (backAt !== undefined) {
      say(
        `  ${LAB_DEMO_BUGGY} is back at ${rel(backAt)}: bootstrapped from the hypervisor's history and voting again ` +
          `on both sessions; neighbour sessions reset meanwhile: ${resets}.`,
      );
    } else {
      say(`  ${LAB_DEMO_BUGGY} is not voting again on both sessions.`);
    }
    const status = await hypervisorStatus(r);
    for (const n of status) {
      const voting = n.replicas.filter((x) => x.voting).map((x) => x.replica);
      say(
        `  hypervisor: ${labelOf(n.neighbor)} ${n.state}, ${n.output} routes voted, ${n.disagreements} disagreements, ` +
          `voting: ${voting.join(', ')}`,
      );
    }
    const sessions = await Promise.all([bird.neighbors(), frr.neighbors()]);
    say(
      `  the neighbours see: ${NEIGHBOURS.map((n, i) => `${n.label} ${sessions[i]!.map((s) => `${s.address} ${s.state}`).join(', ')}`).join('; ')}`,
    );

    const wantRibs = NEIGHBOURS.every((n) =>
      WANT[n.key].every((p) => final[n.key].some((x) => x.prefix === p)),
    );
    const checks: [string, boolean][] = [
      [
        'the bug ran (an add and a next-hop episode on both sessions)',
        starts.length === 4 && skipped.length === 0,
      ],
      ['the neighbours hold the routes', wantRibs],
      [
        'their RIBs never changed',
        result.pollsDiffering === 0 && same(final, base) && snaps.length > 0,
      ],
      ['no corrupted UPDATE left the router', result.leakedUpdates === 0],
      [
        `the voters named ${LAB_DEMO_BUGGY} alone`,
        result.faultReplicas.length === 1 && result.faultReplicas[0] === LAB_DEMO_BUGGY,
      ],
      [`the supervisor restarted ${LAB_DEMO_BUGGY}`, result.restarts >= 1 && backAt !== undefined],
      [
        'no neighbour session reset',
        resets === 0 && sessions.every((s) => s.length === 1 && s[0]!.state === 'established'),
      ],
      [
        'all 3 replicas vote, no disagreement',
        status.length === 2 &&
          status.every(
            (n) =>
              n.state === 'Established' &&
              n.disagreements === 0 &&
              n.replicas.filter((x) => x.voting).length === REPLICAS.length,
          ),
      ],
    ];
    failed.push(...checks.filter(([, c]) => !c).map(([what]) => what));
  } catch (e) {
    // A wait's message ends with the hypervisor's last lines: only with NONSTOP_DEMO_LOG.
    const msg = e instanceof Error ? e.message : String(e);
    failed.push(
      process.env['NONSTOP_DEMO_LOG']
        ? msg
        : `${msg.split('\n')[0]!.slice(0, 400)} (NONSTOP_DEMO_LOG=1 for more)`,
    );
  } finally {
    section('cleaning up');
    await sv?.stop().catch(() => undefined);
    const destroyed = await lab.destroy().then(
      () => true,
      (e: unknown) => {
        say(`  removing the lab: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      },
    );
    const left = (await netnsList().catch(() => [] as string[])).filter((n) =>
      n.startsWith(lab.prefix),
    );
    say(
      left.length === 0 && destroyed
        ? `  daemons stopped, namespaces ${lab.prefix}* deleted.`
        : `  the lab was NOT fully removed: ${left.join(', ') || 'see above'}.`,
    );
    if (left.length > 0 || !destroyed) failed.push('the lab was removed');
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const ok = failed.length === 0;
  section('summary');
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  say(
    ok
      ? `  OK in ${secs} s, real daemons: ${LAB_DEMO_BUGGY}'s bug was masked live — 0 corrupted routes reached the ` +
          `neighbours' RIBs; the voters named ${LAB_DEMO_BUGGY}, the supervisor restarted it ` +
          `${result.restarts === 1 ? 'once' : `${result.restarts} times`}, and all 3 replicas agree again.`
      : `  NOT OK after ${secs} s, real daemons: failed: ${failed.join('; ')}.`,
  );
  say('');
  say(
    'More: `npx nonstop demo --in-process`, `npx nonstop demo speaker`, `node scripts/run-tests.mjs btr-` (docs/btr.md).',
  );
  return { ok, labPrefix: lab.prefix, ...result, elapsedMs: Date.now() - t0 };
}

/**
 * (replica, neighbour) pairs with an event of this type since `sinceWall`: at the start a
 * replica votes once caught up (`replica-caught-up`); after a restart, once it has been
 * quiet for the catch-up time (`replica-voting`).
 */
function pairs(
  r: BtrLabRouter,
  type: 'replica-caught-up' | 'replica-voting',
  sinceWall: number,
): string[] {
  const out = new Set<string>();
  for (const l of r.lines()) {
    if ('event' in l && l.wall >= sinceWall && l.event.type === type) {
      out.add(`${l.event.replica} ${l.event.neighbor}`);
    }
  }
  return [...out].sort();
}

/** When the buggy replica, restarted by the supervisor, votes again on both sessions. */
function backVoting(
  r: BtrLabRouter,
  events: readonly SupervisorEvent[],
  t0: number,
): number | undefined {
  const restart = events.find(
    (e): e is Decision =>
      e.type === 'decision' && e.replica === LAB_DEMO_BUGGY && e.action === 'restart',
  );
  if (!restart) return undefined;
  const voting = pairs(r, 'replica-voting', restart.at + t0);
  const back = NEIGHBOURS.every((n) => voting.includes(`${LAB_DEMO_BUGGY} ${n.neighbor.address}`));
  return back ? Date.now() : undefined;
}

interface SentUpdate {
  readonly prefixes: string[];
  readonly nextHop: string | undefined;
  readonly undecodable: boolean;
}

/**
 * The UPDATEs the router sent from `sinceWall` on: the prefixes announced and their next
 * hop; `undecodable` for one we cannot check (it counts as corrupted).
 */
function sentSince(r: BtrLabRouter, sinceWall: number): SentUpdate[] {
  return r.lines().flatMap((l): SentUpdate[] => {
    if (!('sent' in l) || l.wall < sinceWall) return [];
    const d = decodeMessage(Buffer.from(l.hex, 'hex'), AS4_CONTEXT);
    if (!d.ok || d.message.type !== MSG.UPDATE) {
      return [{ prefixes: [], nextHop: undefined, undecodable: true }];
    }
    const u = d.message;
    const nh = u.attributes.find((a) => a.kind === 'next-hop');
    return [
      {
        prefixes: u.nlri.map((n) => formatPrefix(n.prefix)),
        nextHop: nh?.kind === 'next-hop' ? formatAddr(nh.nextHop) : undefined,
        undecodable: false,
      },
    ];
  });
}

/** The hypervisor's status, asked for with SIGUSR2. */
async function hypervisorStatus(r: BtrLabRouter): Promise<NeighborStatus[]> {
  const since = Date.now();
  r.hypervisor.kill('SIGUSR2');
  const lines = await waitFor(() => r.lines(), {
    what: 'the hypervisor to print its status',
    until: (ls) => ls.some((l) => 'status' in l && l.wall >= since),
    timeoutMs: 5000,
    context: r.context,
  });
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if ('status' in l && l.wall >= since) return l.status;
  }
  return [];
}
