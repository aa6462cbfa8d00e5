// `nonstop demo` in-process — the README's main command where real daemons cannot run (not
// root, no network namespaces, daemons missing) or with `--in-process`: a bug-tolerant
// router (BTR paper §3–4) masking a buggy replica, live, in a few seconds, on any machine (no
// root, no daemons, no network): three in-process `nonstop` replicas with diversity
// (in-memory transports, different update delays and start times, different decision
// knobs), one of which is deliberately buggy (src/btr/buggy-replica.ts: its UPDATEs and its
// FIB get a bogus route and a wrong next hop); two neighbours feed the router routes. It
// prints what the neighbours receive, the voters' fault reports naming the buggy replica,
// the supervisor restarting it, the FIB voter's result, and a summary — every claim computed
// from what the neighbours and the router's FIB actually got. With root, namespaces and the
// daemons, `nonstop demo` runs real diverse daemons instead: src/cli/demo-btr-lab.ts.
import { systemClock, type Clock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { formatAddr, formatPrefix, parseAddr, parsePrefix } from '../lib/ip.js';
import { MemoryNetwork } from '../net/memory.js';
import { MemoryFib, type ApplyReport, type FibChange } from '../fib/index.js';
import { parseSpeakerConfig } from '../speaker/config/index.js';
import { Speaker } from '../speaker/speaker.js';
import { AS4_CONTEXT, MSG, decodeMessage } from '../wire/index.js';
import { parseBtrConfig } from '../btr/config.js';
import { BuggyFib, BuggyTransport, bugCorruption, type Bug } from '../btr/buggy-replica.js';
import { describeKey } from '../btr/canonical-key.js';
import { describeValue } from '../btr/canonical.js';
import { makeInProcessFactory } from './btr-replicas.js';
import { BtrRouter, FIB_NEIGHBOR, type BtrRouterEvent } from './btr-router.js';

const ROUTER_ID = '198.18.0.1';
const N1 = { name: 'n1', address: '198.18.1.2', local: '198.18.1.1', asn: 65002 };
const N2 = { name: 'n2', address: '198.18.2.2', local: '198.18.2.1', asn: 65003 };
const N1_ROUTES = ['198.18.10.0/24', '198.18.11.0/24', '198.18.12.0/23'];
const N2_ROUTES = ['198.18.30.0/24', '198.18.31.0/24'];
const STEADY_MS = 300;

/** The bug of replica nonstop-c (its first incarnation: a restart clears it). */
export const DEMO_BUG = {
  replica: 'nonstop-c',
  bogusPrefix: '198.19.254.0/24',
  bogusGateway: '198.19.253.66',
  victim: '198.18.10.0/24',
  wrongNextHop: '198.19.253.99',
} as const;

const BUG: Bug = {
  bogusPrefix: parsePrefix(DEMO_BUG.bogusPrefix)!,
  bogusGateway: parseAddr(DEMO_BUG.bogusGateway)!,
  victim: parsePrefix(DEMO_BUG.victim)!,
  wrongNextHop: parseAddr(DEMO_BUG.wrongNextHop)!,
};

const BTR_YAML = `
asn: 65001
router-id: ${ROUTER_ID}
neighbors:
  - { name: ${N1.name}, address: ${N1.address}, asn: ${N1.asn}, local-address: ${N1.local}, import: accept-all, export: accept-all }
  - { name: ${N2.name}, address: ${N2.address}, asn: ${N2.asn}, local-address: ${N2.local}, import: accept-all, export: accept-all }
replicas:
  - { name: nonstop-a, implementation: nonstop }
  - { name: nonstop-b, implementation: nonstop, delay: { min-ms: 1, max-ms: 10 } }
  - { name: nonstop-c, implementation: nonstop, delay: { min-ms: 2, max-ms: 6 }, start-delay-ms: 40 }
voting: { strategy: continuous-majority, steady-ms: ${STEADY_MS}, fault-threshold: 5, window-s: 60 }
recovery: { backoff-initial-ms: 100 }
fib: { mode: memory }
`;

/** Decision knobs per replica (diversity that must not change the routes chosen here). */
const KNOBS: Record<string, Record<string, boolean>> = {
  'nonstop-a': {},
  'nonstop-b': { 'deterministic-med': false },
  'nonstop-c': { 'always-compare-med': true, 'prefer-older': true },
};

const neighborYaml = (n: typeof N1, routes: string[]): string => `
router-id: ${n.address}
asn: ${n.asn}
listen: [{ address: ${n.address}, port: 179 }]
static:
${routes.map((p) => `  - { prefix: ${p} }`).join('\n')}
policies: { all: { default: accept } }
neighbors:
  - { address: ${n.local}, asn: 65001, passive: true, import: [all], export: [all] }
`;

/** Hooks for tests: they see the raw data the demo's claims are about. */
export interface BtrDemoObserver {
  /** Every BGP message a neighbour receives from the router, as octets. */
  neighborMessage?(neighbor: string, bytes: Uint8Array): void;
  /** Every change the router's FIB is given. */
  routerFibChange?(change: FibChange): void;
}

export interface BtrDemoResult {
  readonly ok: boolean;
  /** UPDATEs / FIB changes the buggy replica corrupted (the bug happened). */
  readonly corruptedUpdates: number;
  readonly corruptedFibChanges: number;
  /** Corrupted routes that reached a neighbour / the router's FIB (must be 0). */
  readonly leakedToNeighbors: number;
  readonly leakedToFib: number;
  readonly faultReplicas: readonly string[];
  readonly restarts: number;
  readonly routerFib: ReadonlyMap<string, readonly string[]>;
  readonly elapsedMs: number;
}

/** What a neighbour received: prefix → "next hop | AS path", built from the UPDATEs. */
class Received {
  readonly routes = new Map<string, { nextHop: string; path: string }>();
  updates = 0;
  /** Corrupted announcements seen (bogus prefix or wrong next hop). */
  leaked = 0;
  apply(bytes: Uint8Array): void {
    if (bytes[18] !== MSG.UPDATE) return;
    const d = decodeMessage(bytes, AS4_CONTEXT);
    if (!d.ok || d.message.type !== MSG.UPDATE) return;
    const u = d.message;
    this.updates++;
    for (const w of u.withdrawn) this.routes.delete(formatPrefix(w.prefix));
    const nh = u.attributes.find((a) => a.kind === 'next-hop');
    const ap = u.attributes.find((a) => a.kind === 'as-path');
    const nextHop = nh?.kind === 'next-hop' ? formatAddr(nh.nextHop) : '-';
    const path = ap?.kind === 'as-path' ? ap.segments.flatMap((s) => s.asns).join(' ') : '';
    for (const n of u.nlri) {
      const p = formatPrefix(n.prefix);
      if (p === DEMO_BUG.bogusPrefix || nextHop === DEMO_BUG.wrongNextHop) this.leaked++;
      this.routes.set(p, { nextHop, path });
    }
  }
}

/** The router's FIB, checking every change it is given for the bug. */
class WatchedFib extends MemoryFib {
  changes = 0;
  leaked = 0;
  constructor(private readonly observer: BtrDemoObserver | undefined) {
    super();
  }
  override async apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    for (const c of changes) {
      this.changes++;
      this.observer?.routerFibChange?.(c);
      if (c.op === 'delete') continue;
      const bad =
        formatPrefix(c.route.prefix) === DEMO_BUG.bogusPrefix ||
        c.route.nextHops.some((h) =>
          [DEMO_BUG.wrongNextHop, DEMO_BUG.bogusGateway].includes(
            formatAddr(h.gateway) as typeof DEMO_BUG.wrongNextHop,
          ),
        );
      if (bad) this.leaked++;
    }
    return super.apply(changes);
  }
}

/**
 * Runs the in-process demo. `why` says why this mode was chosen; it opens the mode line
 * ("not root: using in-process nonstop replicas").
 */
export async function runBtrDemo(
  out: (s: string) => void,
  observer?: BtrDemoObserver,
  why = '--in-process given',
): Promise<BtrDemoResult> {
  const t0 = systemClock.now();
  // The system clock counted in whole ms from the start, so that reports read "since 516 ms".
  const clock: Clock = {
    now: () => Math.floor(systemClock.now() - t0),
    at: (at, fn) => systemClock.at(at + t0, fn),
  };
  const say = (s = ''): void => out(s + '\n');
  const section = (s: string): void => out(`\n== ${s}\n`);
  const log = createLogger({
    level: process.env['NONSTOP_DEMO_LOG'] ? 'debug' : 'error',
    format: 'text',
    sink: (l) => {
      if (process.env['NONSTOP_DEMO_LOG']) process.stderr.write(l + '\n');
    },
  });

  say('nonstop demo — a bug-tolerant router masking a buggy replica, live');
  say(`${why}: using in-process nonstop replicas`);
  say();
  say('Here: in-process `nonstop` replicas over in-memory transports (no root, no daemons');
  say('needed), with diversity: nonstop-a (defaults), nonstop-b (updates delayed 1–10 ms,');
  say('deterministic-med off), nonstop-c (delayed 2–6 ms, sessions start 40 ms late,');
  say('always-compare-med and prefer-older on). As root, with network namespaces and BIRD 2,');
  say('FRR, GoBGP and nftables installed, `nonstop demo` runs real diverse daemons instead');
  say('(nonstop, BIRD 2 and GoBGP replicas in namespaces).');

  const parsed = parseBtrConfig(BTR_YAML, 'demo-btr.yaml');
  if (!parsed.ok) throw new Error(`demo config: ${parsed.error.map((e) => e.message).join('; ')}`);
  const cfg = parsed.value;
  const net = new MemoryNetwork();
  const received = new Map([
    [N1.name, new Received()],
    [N2.name, new Received()],
  ]);
  const neighbor = (n: typeof N1, routes: string[]): Speaker => {
    const c = parseSpeakerConfig(neighborYaml(n, routes), `${n.name}.yaml`);
    if (!c.ok) throw new Error(`demo config: ${c.error.map((e) => e.message).join('; ')}`);
    return new Speaker(c.value, {
      connector: net.host(n.address),
      clock,
      logger: log.child({ neighbor: n.name }),
      fib: new MemoryFib(),
      onMessage: (_peer, bytes, local) => {
        if (local) return;
        received.get(n.name)!.apply(bytes);
        observer?.neighborMessage?.(n.name, bytes);
      },
    });
  };
  const n1 = neighbor(N1, N1_ROUTES);
  const n2 = neighbor(N2, N2_ROUTES);

  const buggyTransports: BuggyTransport[] = [];
  const buggyFibs: BuggyFib[] = [];
  const events: BtrRouterEvent[] = [];
  const routerFib = new WatchedFib(observer);
  let atRestart: string[] | undefined;
  let killed = false;
  const router = await BtrRouter.create(cfg, {
    log,
    connector: net.host(ROUTER_ID),
    clock,
    routerFib,
    catchUp: { quietMs: 300, maxMs: 3000 },
    replicaFactory: makeInProcessFactory({
      speakerConfig: (r, base) => ({ ...base, decision: KNOBS[r.name] ?? {} }),
      wrapTransport: (r, incarnation, t) => {
        if (r.name !== DEMO_BUG.replica || incarnation !== 1) return t;
        const b = new BuggyTransport(t, bugCorruption(BUG));
        buggyTransports.push(b);
        return b;
      },
      wrapFib: (r, incarnation, f) => {
        if (r.name !== DEMO_BUG.replica || incarnation !== 1) return f;
        const b = new BuggyFib(f, BUG);
        buggyFibs.push(b);
        return b;
      },
    }),
    onEvent: (e) => {
      events.push(e);
      // What the FIB voter held against the buggy replica at its last fault before the kill.
      if (e.source !== 'supervisor' || e.event.replica !== DEMO_BUG.replica) return;
      if (e.event.type === 'decision') killed = true;
      if (e.event.type === 'fault' && !killed) {
        atRestart = [];
        for (const d of router.fibVote?.disagreements() ?? []) {
          const c = d.replicas.find((x) => x.name === DEMO_BUG.replica);
          if (c && c.value !== d.output) {
            atRestart.push(
              `${describeKey(d.key)} ${describeValue(c.value)} (majority: ${describeValue(d.output)})`,
            );
          }
        }
      }
    },
  });

  section('the router');
  say(
    `  AS 65001, router ID ${ROUTER_ID}; neighbours ${N1.name} (AS ${N1.asn}, ${N1.address}) ` +
      `announcing ${N1_ROUTES.join(', ')}`,
  );
  say(`  and ${N2.name} (AS ${N2.asn}, ${N2.address}) announcing ${N2_ROUTES.join(', ')}.`);
  say(
    `  3 replicas, continuous-majority voting, T = ${STEADY_MS} ms, fault threshold 5; the FIB voter installs into the router's FIB.`,
  );
  say(
    `  The bug: ${DEMO_BUG.replica} adds ${DEMO_BUG.bogusPrefix} (via ${DEMO_BUG.bogusGateway}) and gives ` +
      `${DEMO_BUG.victim} the next hop ${DEMO_BUG.wrongNextHop},`,
  );
  say('  in the UPDATEs it sends and in its FIB — until it is restarted (a heisenbug).');

  await n1.start();
  await n2.start();
  await router.start();

  const sup = router.supervisor;
  const restarted = (): boolean =>
    events.some(
      (e) =>
        e.source === 'supervisor' &&
        e.event.type === 'decision' &&
        e.event.replica === DEMO_BUG.replica &&
        e.event.action === 'restart',
    );
  const settledNow = (): boolean => {
    const st = router.status();
    const c = st.supervisor.replicas.find((r) => r.name === DEMO_BUG.replica);
    return (
      restarted() &&
      c?.state === 'voting' &&
      st.supervisor.voting === 3 &&
      st.disagreements.length === 0 &&
      st.neighbors.every((n) => n.state === 'Established' && n.disagreements === 0) &&
      routerFib.size === N1_ROUTES.length + N2_ROUTES.length &&
      received.get(N2.name)!.routes.size >= N1_ROUTES.length &&
      received.get(N1.name)!.routes.size >= N2_ROUTES.length &&
      (router.fibVote?.status().replicas.every((r) => r.voting && r.routes === 5) ?? false)
    );
  };
  const deadline = clock.now() + 10_000;
  let converged = false;
  while (clock.now() < deadline) {
    if (settledNow()) {
      // Stay a little longer: nothing must change any more.
      await new Promise((r) => setTimeout(r, 150));
      if (settledNow()) {
        converged = true;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await router.fibVote?.settled();

  // --- what the neighbours received
  section('what the neighbours receive (the voted output: one session each, to the router)');
  let leakedToNeighbors = 0;
  for (const [name, r] of received) {
    leakedToNeighbors += r.leaked;
    for (const [p, v] of [...r.routes].sort()) {
      say(`  ${name} has ${p.padEnd(16)} next hop ${v.nextHop.padEnd(11)} AS path ${v.path}`);
    }
  }
  const corruptedUpdates = buggyTransports.reduce((n, b) => n + b.corrupted, 0);
  const totalUpdates = [...received.values()].reduce((n, r) => n + r.updates, 0);
  say(
    `  ${DEMO_BUG.replica} sent ${corruptedUpdates} corrupted UPDATEs to the hypervisor; of the ${totalUpdates} UPDATEs ` +
      `the neighbours received, ${leakedToNeighbors} carried ${DEMO_BUG.bogusPrefix} or next hop ${DEMO_BUG.wrongNextHop}` +
      (leakedToNeighbors === 0 ? ': the corrupted routes never reached a neighbour.' : '!'),
  );

  // --- the voters' fault reports
  section("the voters' fault reports (a replica's steady output differs from the steady majority)");
  const faults: { where: string; name: string; key: string; value: string; majority: string }[] =
    [];
  for (const e of events) {
    const v =
      e.source === 'hypervisor' && e.event.type === 'vote'
        ? { where: e.event.neighbor, ev: e.event.event }
        : e.source === 'fib' && e.event.type === 'vote'
          ? { where: FIB_NEIGHBOR, ev: e.event.event }
          : undefined;
    if (v?.ev.type !== 'fault') continue;
    faults.push({
      where: v.where,
      name: sup.inSeat(v.ev.name) ?? v.ev.name,
      key: describeKey(v.ev.key),
      value: describeValue(v.ev.value),
      majority: describeValue(v.ev.majority),
    });
  }
  for (const f of faults.slice(0, 8)) {
    const where = f.where === FIB_NEIGHBOR ? 'FIB voter' : `update voter for ${f.where}`;
    say(`  ${where}: ${f.name} has ${f.key} ${f.value}; the majority: ${f.majority}`);
  }
  if (faults.length > 8) say(`  … and ${faults.length - 8} more`);
  const faultReplicas = [...new Set(faults.map((f) => f.name))];
  say(`  faulty replicas named: ${faultReplicas.join(', ') || 'none'}`);

  // --- the supervisor
  section('the supervisor (fault threshold reached: kill and restart)');
  let restarts = 0;
  for (const e of events) {
    if (e.source !== 'supervisor' || e.event.type !== 'decision') continue;
    if (e.event.action === 'restart' || e.event.action === 'replace') restarts++;
    say(`  ${e.event.message}`);
  }
  const back = events.find(
    (e) =>
      e.source === 'supervisor' &&
      e.event.type === 'state' &&
      e.event.replica === DEMO_BUG.replica &&
      e.event.from === 'bootstrapping' &&
      e.event.to === 'voting',
  );
  const resets = events.filter(
    (e) => e.source === 'hypervisor' && e.event.type === 'neighbor-down',
  ).length;
  if (back) {
    say(
      `  ${DEMO_BUG.replica} is back: bootstrapped from the hypervisor's history and voting again; ` +
        `neighbour sessions reset meanwhile: ${resets}.`,
    );
  }
  const sessions = [n1.states(), n2.states()]
    .map((s, i) => `${i === 0 ? N1.name : N2.name} ${Object.values(s).join(',')}`)
    .join('; ');
  say(`  neighbour sessions now: ${sessions}`);

  // --- the FIB voter
  section("the FIB voter (each replica's FIB observed, voted, installed in the router's FIB)");
  const fv = router.fibVote!;
  const routerTable = fv.installedRoutes();
  const fibNow = new Map(
    routerFib
      .listSync()
      .map((r) => [formatPrefix(r.prefix), r.nextHops.map((h) => formatAddr(h.gateway))]),
  );
  for (const [p, gws] of fibNow) say(`  router FIB: ${p.padEnd(16)} via ${gws.join(', ')}`);
  const same = (a: Map<string, string[]>): boolean =>
    a.size === fibNow.size && [...a].every(([p, g]) => fibNow.get(p)?.join() === g.join());
  const equalTo = ['nonstop-a', 'nonstop-b', 'nonstop-c'].filter((s) => same(fv.observedRoutes(s)));
  const corruptedFibChanges = buggyFibs.reduce((n, b) => n + b.corrupted, 0);
  if (atRestart?.length) {
    say(`  when it was restarted, the FIB voter was outvoting ${DEMO_BUG.replica} on:`);
    for (const l of atRestart) say(`    ${l}`);
  }
  say(
    `  equal to the FIB of: ${equalTo.join(', ') || 'none'}; ${DEMO_BUG.replica} installed ${corruptedFibChanges} ` +
      `corrupted FIB entries before its restart; of the ${routerFib.changes} changes given to the router's FIB, ` +
      `${routerFib.leaked} carried them.`,
  );

  const elapsedMs = clock.now();
  const ok =
    converged &&
    leakedToNeighbors === 0 &&
    routerFib.leaked === 0 &&
    corruptedUpdates > 0 &&
    corruptedFibChanges > 0 &&
    faultReplicas.length === 1 &&
    faultReplicas[0] === DEMO_BUG.replica &&
    restarts >= 1 &&
    resets === 0 &&
    same(routerTable);
  section('summary');
  say(
    ok
      ? `  OK in ${(elapsedMs / 1000).toFixed(1)} s: ${DEMO_BUG.replica}'s bug was masked live — 0 corrupted routes reached ` +
          `the neighbours or the FIB; the voters named ${DEMO_BUG.replica}, the supervisor restarted it ` +
          `${restarts === 1 ? 'once' : `${restarts} times`}, and all 3 replicas agree again.`
      : `  NOT OK after ${(elapsedMs / 1000).toFixed(1)} s: converged ${converged}, leaked to neighbours ` +
          `${leakedToNeighbors}, to the FIB ${routerFib.leaked}, neighbour session resets ${resets}, faulty replicas named [${faultReplicas.join(', ')}], ` +
          `restarts ${restarts} (set NONSTOP_DEMO_LOG=1 for the logs).`,
  );
  say('');
  say(
    'More: `npx nonstop demo speaker` (codec, MRT, two speakers), `npx nonstop btr -c FILE` (docs/btr.md), `npm test`.',
  );

  await router.stop('demo over');
  await n1.stop('demo over');
  await n2.stop('demo over');
  return {
    ok,
    corruptedUpdates,
    corruptedFibChanges,
    leakedToNeighbors,
    leakedToFib: routerFib.leaked,
    faultReplicas,
    restarts,
    routerFib: fibNow,
    elapsedMs,
  };
}
