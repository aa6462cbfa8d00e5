// The composed bug-tolerant router (btr-router.ts) in memory, on a ManualClock: in-process
// `nonstop` replicas (the built-in factory), real neighbours that are speakers too, and the
// FIB voter installing into a MemoryFib that checks every change it is given.
// - all healthy: the router's FIB equals each replica's FIB, and holds the neighbours' routes;
// - one replica whose FIB is corrupted (a wrong gateway, a bogus route) is outvoted: the
//   router's FIB never holds the corrupted gateway or the bogus prefix (checked at every
//   change), and the FIB voter's fault names the replica; status and metrics show it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { formatAddr, formatPrefix, parseAddr, parsePrefix } from '../lib/ip.js';
import { MemoryNetwork } from '../net/memory.js';
import { MemoryFib, type ApplyReport, type FibChange } from '../fib/index.js';
import { parseBtrConfig } from '../btr/config.js';
import { BuggyFib, type Bug } from '../btr/buggy-replica.js';
import { makeSpeaker, speakerConfig, until } from '../btr/testing.js';
import { BtrRouter, type BtrRouterEvent } from './btr-router.js';
import { makeInProcessFactory } from './btr-replicas.js';
import { formatBtrStatus } from './btr.js';

const ROUTER = '198.18.0.1';
const N1 = '198.18.0.2';
const N2 = '198.18.0.3';

const BTR_YAML = `
asn: 65001
router-id: ${ROUTER}
neighbors:
  - { name: n1, address: ${N1}, asn: 65002, local-address: ${ROUTER}, import: accept-all, export: accept-all }
  - { name: n2, address: ${N2}, asn: 65003, local-address: ${ROUTER}, import: accept-all, export: accept-all }
replicas:
  - { name: r1, implementation: nonstop }
  - { name: r2, implementation: nonstop, delay: { min-ms: 1, max-ms: 10 } }
  - { name: r3, implementation: nonstop, start-delay-ms: 30 }
voting: { strategy: continuous-majority, steady-ms: 500, fault-threshold: 1000 }
fib: { mode: memory }
control: { socket: /nonexistent/btr.sock }
`;

const neighborYaml = (addr: string, asn: number, statics: string[]): string => `
router-id: ${addr}
asn: ${asn}
listen: [{ address: ${addr}, port: 179 }]
static:
${statics.map((p) => `  - { prefix: ${p} }`).join('\n')}
policies: { all: { default: accept } }
neighbors:
  - { address: ${ROUTER}, asn: 65001, passive: true, import: [all], export: [all] }
`;

const BUG: Bug = {
  bogusPrefix: parsePrefix('198.19.254.0/24')!,
  bogusGateway: parseAddr('198.19.253.66')!,
  victim: parsePrefix('198.18.10.0/24')!,
  wrongNextHop: parseAddr('198.19.253.99')!,
};

/** The router's FIB: a MemoryFib that records every change it is asked to make. */
class CheckedFib extends MemoryFib {
  readonly changes: FibChange[] = [];
  override async apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    this.changes.push(...changes);
    return super.apply(changes);
  }
}

const table = (fib: MemoryFib): Map<string, string[]> =>
  new Map(
    fib
      .listSync()
      .map((r) => [formatPrefix(r.prefix), r.nextHops.map((h) => formatAddr(h.gateway))]),
  );

async function world(buggy: boolean) {
  const clock = new ManualClock(0);
  const net = new MemoryNetwork();
  const n1 = makeSpeaker(
    speakerConfig(neighborYaml(N1, 65002, ['198.18.10.0/24', '198.18.11.0/24', '198.18.12.0/23'])),
    net.host(N1),
    clock,
  );
  const n2 = makeSpeaker(
    speakerConfig(neighborYaml(N2, 65003, ['198.18.30.0/24'])),
    net.host(N2),
    clock,
  );
  const cfg = parseBtrConfig(BTR_YAML, 'btr.yaml');
  if (!cfg.ok) throw new Error(JSON.stringify(cfg.error));
  const fib = new CheckedFib();
  const events: BtrRouterEvent[] = [];
  const router = await BtrRouter.create(cfg.value, {
    log: createLogger({ level: 'error', sink: () => {} }),
    connector: net.host(ROUTER),
    clock,
    random: () => 0.5,
    routerFib: fib,
    catchUp: { quietMs: 200, maxMs: 2000 },
    replicaFactory: makeInProcessFactory({
      wrapFib: (r, _n, f) => (buggy && r.name === 'r3' ? new BuggyFib(f, BUG) : f),
    }),
    onEvent: (e) => events.push(e),
  });
  await n1.start();
  await n2.start();
  await router.start();
  return {
    clock,
    router,
    fib,
    events,
    async stop() {
      await router.stop('test over');
      await n1.stop();
      await n2.stop();
    },
  };
}

const EXPECTED = new Map([
  ['198.18.10.0/24', [N1]],
  ['198.18.11.0/24', [N1]],
  ['198.18.12.0/23', [N1]],
  ['198.18.30.0/24', [N2]],
]);

test('FIB voter, all replicas healthy: the router’s FIB equals each replica’s', async () => {
  const w = await world(false);
  try {
    const fv = w.router.fibVote!;
    await until(
      w.clock,
      () => w.fib.size === 4 && ['r1', 'r2', 'r3'].every((r) => fv.observedRoutes(r).size === 4),
      'every FIB to hold the neighbours’ 4 routes',
      { detail: () => JSON.stringify([...table(w.fib)]) },
    );
    await fv.settled();
    assert.deepEqual(table(w.fib), EXPECTED);
    for (const r of ['r1', 'r2', 'r3']) assert.deepEqual(fv.observedRoutes(r), EXPECTED, r);
    const st = w.router.status();
    assert.equal(st.fib?.installed, 4);
    assert.equal(st.fib?.disagreements, 0);
    assert.equal(st.fib?.faults, 0);
    assert.deepEqual(
      st.fib?.replicas.map((r) => [r.replica, r.voting, r.routes]),
      [
        ['r1', true, 4],
        ['r2', true, 4],
        ['r3', true, 4],
      ],
    );
    assert.match(formatBtrStatus(st), /FIB \(memory\): 4 voted routes installed, 0 disagreements/);
    // Pass-through samples: each neighbour's routes went out to the other and into the FIB.
    const text = w.router.metrics.expose();
    for (const output of ['update', 'fib']) {
      const count = Number(
        new RegExp(`nonstop_btr_pass_through_seconds_count\\{output="${output}"\\} (\\d+)`).exec(
          text,
        )?.[1],
      );
      const sum = Number(
        new RegExp(`nonstop_btr_pass_through_seconds_sum\\{output="${output}"\\} ([\\d.e-]+)`).exec(
          text,
        )?.[1],
      );
      assert.ok(count >= 2, `${output}: ${count} samples\n${text}`);
      assert.ok(sum >= 0 && sum <= (w.clock.now() / 1000) * count, `${output}: sum ${sum}`);
    }
  } finally {
    await w.stop();
  }
});

test('FIB voter: a replica whose FIB is corrupted is outvoted and named; the router’s FIB never holds its routes', async () => {
  const w = await world(true);
  try {
    const fv = w.router.fibVote!;
    await until(
      w.clock,
      () => w.fib.size === 4 && w.events.some((e) => isFault(e)),
      'the router’s FIB and a FIB fault',
      { timeoutMs: 15_000 },
    );
    // Both corruptions are flagged after T.
    await until(w.clock, () => fibFaults(w.events).length >= 2, 'two FIB faults');
    await fv.settled();
    // The buggy replica did install them (the bug is real) …
    const r3 = fv.observedRoutes('r3');
    assert.deepEqual(r3.get('198.18.10.0/24'), ['198.19.253.99']);
    assert.deepEqual(r3.get('198.19.254.0/24'), ['198.19.253.66']);
    // … but no change the router's FIB was ever given carried them.
    assert.ok(w.fib.changes.length >= 4);
    for (const c of w.fib.changes) {
      const p = formatPrefix(c.op === 'delete' ? c.prefix : c.route.prefix);
      assert.notEqual(p, '198.19.254.0/24', 'the bogus prefix reached the router’s FIB');
      if (c.op !== 'delete') {
        for (const h of c.route.nextHops) {
          assert.ok(
            !['198.19.253.99', '198.19.253.66'].includes(formatAddr(h.gateway)),
            `corrupted gateway in ${p}`,
          );
        }
      }
    }
    assert.deepEqual(table(w.fib), EXPECTED);
    const faults = fibFaults(w.events);
    assert.deepEqual([...new Set(faults.map((f) => f.name))], ['r3']);
    const st = w.router.status();
    assert.equal(st.fib?.disagreements, 2);
    assert.ok(st.disagreements.some((d) => d.neighbor === 'FIB' && d.key === '198.19.254.0/24'));
    const sup = st.supervisor.replicas.find((r) => r.name === 'r3')!;
    assert.ok(sup.faults >= 2, 'FIB faults count against the replica in the supervisor');
    const text = w.router.metrics.expose();
    assert.match(text, /nonstop_btr_fib_routes 4/);
    assert.match(text, /nonstop_btr_fib_disagreements 2/);
  } finally {
    await w.stop();
  }
});

function isFault(e: BtrRouterEvent): boolean {
  return e.source === 'fib' && e.event.type === 'vote' && e.event.event.type === 'fault';
}

function fibFaults(events: BtrRouterEvent[]) {
  return events.flatMap((e) =>
    e.source === 'fib' && e.event.type === 'vote' && e.event.event.type === 'fault'
      ? [e.event.event]
      : [],
  );
}
