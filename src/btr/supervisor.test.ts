// Unit tests of the replica supervisor, with fake daemons and a ManualClock. Expected values
// come from the rules in supervisor.ts's header (threshold within a window, quorum =
// floor(R/2) + 1, backoff 0, initial, initial × factor, …), worked out in the comments.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { parsePrefix } from '../lib/ip.js';
import { routeKey } from './canonical-key.js';
import type { InstanceExit, InstanceSignal } from './instance.js';
import {
  Supervisor,
  type SupervisedInstance,
  type SupervisorEvent,
  type SupervisorOptions,
  type SupervisorReplica,
} from './supervisor.js';

class FakeInstance implements SupervisedInstance {
  starts = 0;
  kills = 0;
  stops = 0;
  alive = false;
  failNextStart = false;
  private readonly exits: ((exit: InstanceExit) => void)[] = [];

  constructor(
    readonly name: string,
    readonly kind: string,
  ) {}

  start(): Promise<void> {
    this.starts++;
    if (this.failNextStart) {
      this.failNextStart = false;
      return Promise.reject(new Error('binary not found'));
    }
    this.alive = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.stops++;
    this.die({ code: 0, signal: null, expected: true });
    return Promise.resolve();
  }
  kill(signal: InstanceSignal): void {
    this.kills++;
    this.die({ code: null, signal, expected: false });
  }
  running(): boolean {
    return this.alive;
  }
  onExit(cb: (exit: InstanceExit) => void): () => void {
    this.exits.push(cb);
    return () => void this.exits.splice(this.exits.indexOf(cb), 1);
  }
  /** The daemon dies on its own. */
  crash(code = 139): void {
    this.die({ code, signal: null, expected: false });
  }
  private die(info: InstanceExit): void {
    if (!this.alive) return;
    this.alive = false;
    for (const cb of this.exits) cb(info);
  }
}

const N = 'upstream';
const key = (p: string) => routeKey(1, 1, parsePrefix(p)!);

function setup(names: string[], standbys: string[] = [], opts: Partial<SupervisorOptions> = {}) {
  const clock = new ManualClock(0);
  const inst = new Map<string, FakeInstance>();
  const events: SupervisorEvent[] = [];
  const replicas: SupervisorReplica[] = [
    ...names.map((name) => ({ name, kind: 'nonstop' })),
    ...standbys.map((name) => ({ name, kind: 'bird', standby: true })),
  ];
  const sup = new Supervisor({
    clock,
    replicas,
    instance: (r) => {
      const f = new FakeInstance(r.name, r.kind);
      inst.set(r.name, f);
      return f;
    },
    faultThreshold: 3,
    windowMs: 10000,
    pollMs: 0,
    startTimeoutMs: 0,
    ...opts,
    onEvent: (e) => {
      events.push(e);
      opts.onEvent?.(e);
    },
  });
  sup.start();
  const I = (n: string) => inst.get(n)!;
  /** The neighbour session comes up: every running replica joins its vote, and its session comes up. */
  const neighborUp = () => {
    sup.observe({ type: 'neighbor-up', neighbor: N, at: clock.now() });
    for (const seat of names) {
      const at = clock.now();
      sup.observe({ type: 'replica-up', replica: seat, neighbor: N, history: 0, at });
    }
  };
  /** The hypervisor made the replica in `seat` voting again after its catch-up. */
  const voting = (seat: string) => {
    sup.observe({ type: 'replica-up', replica: seat, neighbor: N, history: 10, at: clock.now() });
    sup.observe({
      type: 'replica-voting',
      replica: seat,
      neighbor: N,
      why: 'quiet',
      at: clock.now(),
    });
  };
  /** The voter flags the replica in `seat` on `prefix`. */
  const flag = (seat: string, prefix: string, since = 0) =>
    sup.observe({
      type: 'vote',
      neighbor: N,
      event: {
        type: 'fault',
        replica: 0,
        name: seat,
        key: key(prefix),
        value: 'x',
        majority: undefined,
        since,
        at: clock.now(),
      },
    });
  const decisions = () => events.filter((e) => e.type === 'decision');
  const state = (n: string) => sup.status().replicas.find((r) => r.name === n)!;
  return { clock, sup, I, events, neighborUp, voting, flag, decisions, state };
}

const tick = () => new Promise((r) => setImmediate(r));

test('past the fault threshold within the window, the replica is killed and restarted', async () => {
  const h = setup(['a', 'b', 'c']);
  h.neighborUp();
  await tick();
  assert.deepEqual(
    h.sup.status().replicas.map((r) => r.state),
    ['voting', 'voting', 'voting'],
  );
  // Two faults, then the window (10 s) passes: they age out, so a third later fault makes
  // a score of 1, not 3.
  h.flag('b', '198.18.1.0/24');
  await tick();
  h.flag('b', '198.18.2.0/24');
  await tick();
  h.clock.advance(10001);
  await tick();
  h.flag('b', '198.18.3.0/24');
  await tick();
  assert.equal(h.I('b').kills, 0);
  assert.equal(h.state('b').score, 1);
  // Two more within the window: 3 = threshold → kill, restart at once (first restart).
  h.clock.advance(500);
  await tick();
  h.flag('b', '198.18.4.0/24');
  await tick();
  h.clock.advance(500);
  await tick();
  h.flag('b', '198.18.5.0/24');
  await tick();
  assert.equal(h.I('b').kills, 1);
  assert.equal(h.I('b').starts, 2);
  assert.equal(h.I('a').kills + h.I('c').kills, 0);
  const [d] = h.decisions();
  assert.ok(d && d.type === 'decision');
  assert.equal(d.replica, 'b');
  assert.equal(d.action, 'restart');
  // The explanation names the three faults in the window, their keys and since when.
  assert.deepEqual(
    d.faults.map((f) => f.key),
    ['198.18.3.0/24', '198.18.4.0/24', '198.18.5.0/24'],
  );
  assert.equal(d.since, 10001);
  assert.match(d.message, /^b \(nonstop\) reached its fault threshold: 3 faults in 10000 ms/);
  assert.match(d.message, /198\.18\.3\.0\/24, 198\.18\.4\.0\/24, 198\.18\.5\.0\/24/);
  assert.match(d.message, /killed and restarted/);
  const b = h.state('b');
  assert.equal(b.state, 'starting');
  assert.equal(b.restarts, 1);
  assert.equal(b.faults, 5);
  // Back in the vote after its bootstrap.
  h.voting('b');
  await tick();
  assert.equal(h.state('b').state, 'voting');
});

test('a standby takes the seat of a faulty replica; R is kept and the faulty one becomes a standby', async () => {
  const h = setup(['a', 'b', 'c'], ['s']);
  assert.equal(h.I('s').starts, 0, 'standbys are not started');
  h.neighborUp();
  await tick();
  for (const p of ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24']) h.flag('c', p);
  await tick();
  assert.equal(h.I('c').kills, 1);
  assert.equal(h.I('c').starts, 1, 'the faulty replica is not started again');
  assert.equal(h.I('s').starts, 1, 'the standby is started');
  const [d] = h.decisions();
  assert.ok(d && d.type === 'decision');
  assert.equal(d.action, 'replace');
  assert.equal(d.standby, 's');
  assert.match(d.message, /replaced by standby s \(bird\) in seat c/);
  assert.equal(h.sup.inSeat('c'), 's');
  assert.equal(h.state('c').state, 'standby');
  assert.equal(h.state('c').seat, null);
  assert.equal(h.state('s').seat, 'c');
  // The hypervisor still calls the seat "c": its events now concern s.
  h.voting('c');
  await tick();
  const st = h.sup.status();
  assert.equal(st.seats, 3);
  assert.equal(st.voting, 3);
  assert.equal(h.state('s').state, 'voting');
  // A later fault of the seat is s's, not c's.
  h.flag('c', '198.18.9.0/24');
  await tick();
  assert.equal(h.state('s').faults, 1);
  assert.equal(h.state('c').faults, 3);
  // s fails in turn: c, now the free standby, takes the seat back.
  h.flag('c', '198.18.10.0/24');
  await tick();
  h.flag('c', '198.18.11.0/24');
  await tick();
  assert.equal(h.sup.inSeat('c'), 'c');
  assert.equal(h.I('c').starts, 2);
  assert.equal(h.state('c').restarts, 1);
  assert.equal(h.state('s').state, 'standby');
});

test('R = 5 tolerates 2 faulty replicas: both are restarted and a majority (3) always votes', async () => {
  let minVoting = Infinity;
  const ref: { sup?: Supervisor } = {};
  const h = setup(['r1', 'r2', 'r3', 'r4', 'r5'], [], {
    onEvent: () => {
      if (ref.sup) minVoting = Math.min(minVoting, ref.sup.status().voting);
    },
  });
  h.neighborUp();
  await tick();
  assert.equal(h.sup.status().voting, 5);
  ref.sup = h.sup; // measured from here on
  assert.equal(h.sup.status().quorum, 3);
  for (const p of ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24']) {
    h.flag('r2', p);
    await tick();
    h.flag('r4', p);
    await tick();
  }
  // 5 voting → kill r2 leaves 4 ≥ 3; kill r4 leaves 3 ≥ 3: both handled.
  assert.equal(h.I('r2').kills, 1);
  assert.equal(h.I('r4').kills, 1);
  assert.equal(h.I('r2').starts, 2);
  assert.equal(h.I('r4').starts, 2);
  assert.equal(h.sup.status().voting, 3);
  assert.ok(minVoting >= 3, `voting fell to ${minVoting}`);
  // A third faulty replica now would leave 2 < 3: it is kept (faulty) until one is back.
  for (const p of ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24']) h.flag('r5', p);
  await tick();
  assert.equal(h.I('r5').kills, 0);
  assert.equal(h.state('r5').state, 'faulty');
  const defer = h.decisions().find((d) => d.type === 'decision' && d.action === 'defer');
  assert.ok(defer && defer.type === 'decision');
  assert.equal(defer.replica, 'r5');
  assert.match(
    defer.message,
    /would leave 2 voting replicas, fewer than the 3 a majority of 5 needs/,
  );
  h.voting('r2'); // 4 voting: killing r5 leaves 3
  await tick();
  assert.equal(h.I('r5').kills, 1);
  assert.equal(h.I('r5').starts, 2);
  assert.ok(minVoting >= 3, `voting fell to ${minVoting}`);
});

test('R = 3: a faulty replica is not killed while another is dead, unless it is dead itself', async () => {
  const h = setup(['a', 'b', 'c'], [], { backoff: { initialMs: 1000 } });
  h.neighborUp();
  await tick();
  // a crashes twice: the second restart waits 1000 ms, so only b and c vote.
  h.I('a').crash();
  await tick();
  h.I('a').crash();
  await tick();
  assert.equal(h.state('a').state, 'restarting');
  assert.equal(h.sup.status().voting, 2);
  for (const p of ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24']) h.flag('b', p);
  await tick();
  assert.equal(h.I('b').kills, 0, '2 voting, quorum 2: b is kept');
  assert.equal(h.state('b').state, 'faulty');
  // b dies on its own: dead already, so it is restarted although the quorum is short.
  h.I('b').crash();
  await tick();
  assert.equal(h.I('b').starts, 2);
});

test('a crash restarts at once, then with exponential backoff; a stable run resets it', async () => {
  const h = setup(['a', 'b', 'c'], [], {
    backoff: { initialMs: 1000, factor: 2, maxMs: 3000, resetAfterMs: 20000 },
  });
  const a = h.I('a');
  a.crash();
  await tick();
  assert.equal(a.starts, 2, 'first restart at once');
  a.crash();
  await tick();
  assert.equal(a.starts, 2);
  h.clock.advance(999);
  await tick();
  assert.equal(a.starts, 2);
  h.clock.advance(1);
  await tick();
  assert.equal(a.starts, 3, 'second restart after 1000 ms');
  a.crash();
  await tick();
  h.clock.advance(1999);
  await tick();
  assert.equal(a.starts, 3);
  h.clock.advance(1);
  await tick();
  assert.equal(a.starts, 4, 'third after 2000 ms');
  a.crash();
  await tick();
  h.clock.advance(2999);
  await tick();
  assert.equal(a.starts, 4);
  h.clock.advance(1);
  await tick();
  assert.equal(a.starts, 5, 'fourth after min(4000, max 3000) ms');
  // Running 20 s without a crash: stable again, so the next restart is at once.
  h.clock.advance(20000);
  await tick();
  a.crash();
  await tick();
  assert.equal(a.starts, 6);
  const crash = h.events.find((e) => e.type === 'fault' && e.fault.kind === 'crash');
  assert.ok(crash && crash.type === 'fault');
  assert.match(crash.fault.reason, /the process exited \(code 139\)/);
  const sched = h
    .decisions()
    .find((d) => d.type === 'decision' && d.action === 'restart-scheduled');
  assert.ok(sched && sched.type === 'decision');
  assert.equal(sched.delayMs, 1000);
  assert.match(sched.message, /^a \(nonstop\) crashed: the process exited \(code 139\)/);
  assert.match(sched.message, /waits 1000 ms \(backoff\)/);
});

test('a flapping replica is restarted no more often than the backoff allows', async () => {
  const initialMs = 500;
  const h = setup(['a', 'b', 'c'], [], {
    backoff: { initialMs, factor: 2, maxMs: 8000, resetAfterMs: 60000 },
  });
  const a = h.I('a');
  // It crashes as soon as it is up, for 60 s of virtual time.
  const horizon = 60000;
  for (let t = 0; t < horizon; t += 10) {
    if (a.alive) a.crash();
    await tick();
    h.clock.advance(10);
    await tick();
  }
  // Allowed restart times, from the rule: restart n (n ≥ 1) waits 0 for n = 1, else
  // min(8000, 500 × 2^(n-2)) after crash n, and each crash follows its start at once
  // (within the 10 ms step).
  let t = 0;
  let allowed = 0;
  for (let n = 1; ; n++) {
    const wait = n === 1 ? 0 : Math.min(8000, initialMs * 2 ** (n - 2));
    t += wait + (n === 1 ? 0 : 10);
    if (t >= horizon) break;
    allowed++;
  }
  assert.ok(a.starts - 1 <= allowed, `${a.starts - 1} restarts, at most ${allowed} allowed`);
  assert.ok(a.starts - 1 >= allowed - 1, `${a.starts - 1} restarts, about ${allowed} expected`);
  assert.ok(allowed < 15, 'the backoff bounds the restarts');
});

test('a crash-looping replica is replaced by a free standby instead of waiting for its backoff', async () => {
  const h = setup(['a', 'b', 'c'], ['s']);
  h.I('a').crash();
  await tick();
  assert.equal(h.I('a').starts, 2, 'first crash: restarted at once, no standby needed');
  assert.equal(h.I('s').starts, 0);
  h.I('a').crash();
  await tick();
  assert.equal(h.I('s').starts, 1);
  assert.equal(h.sup.inSeat('a'), 's');
  assert.equal(h.state('a').state, 'standby');
});

test('session faults from the hypervisor count; those of a killed incarnation do not', async () => {
  const h = setup(['a', 'b', 'c']);
  h.neighborUp();
  await tick();
  const sessionFault = (reason: string) =>
    h.sup.observe({
      type: 'replica-fault',
      replica: 'a',
      neighbor: N,
      reason,
      notification: { code: 6, subcode: 4, sent: false },
      at: h.clock.now(),
    });
  sessionFault('the replica sent NOTIFICATION 6/4');
  const f = h.events.find((e) => e.type === 'fault');
  assert.ok(f && f.type === 'fault');
  assert.equal(f.fault.kind, 'session');
  assert.equal(f.fault.neighbor, N);
  assert.match(f.fault.reason, /NOTIFICATION 6\/4 received/);
  assert.equal(f.score, 1);
  h.voting('a');
  await tick();
  h.clock.advance(100);
  await tick();
  sessionFault('session closed: hold timer expired');
  h.voting('a');
  await tick();
  h.clock.advance(100);
  await tick();
  sessionFault('too slow: the messages queued for it exceed the limit');
  assert.equal(h.I('a').kills, 1);
  // The restarted incarnation's session to N is not up yet: the close of the old one,
  // reported just after the restart, is not held against it.
  h.clock.advance(10);
  await tick();
  sessionFault('session closed: connection reset');
  assert.equal(h.state('a').faults, 3);
});

test('health: a replica that does not vote in time, or fails a health check, is restarted', async () => {
  const h = setup(['a', 'b', 'c'], [], { startTimeoutMs: 30000 });
  await tick();
  h.neighborUp(); // a, b, c vote
  h.I('c').crash(); // restarted at once, but never comes back into the vote
  await tick();
  h.voting('a');
  await tick();
  h.clock.advance(29999);
  await tick();
  assert.equal(h.I('c').kills, 0);
  h.clock.advance(1);
  await tick();
  assert.equal(h.I('c').kills, 1);
  assert.match(h.state('c').lastFault?.reason ?? '', /not voting 30000 ms after its start/);
  // Its second restart within resetAfterMs: after the 1000 ms backoff.
  assert.equal(h.I('c').starts, 2);
  h.clock.advance(1000);
  await tick();
  assert.equal(h.I('c').starts, 3);
  h.voting('c');
  await tick();
  h.sup.healthTimeout('b', 'its API did not answer in 5 s');
  await tick();
  assert.equal(h.I('b').kills, 1);
  const d = h.decisions().at(-1);
  assert.ok(d && d.type === 'decision');
  assert.match(d.message, /b \(nonstop\) failed a health check: its API did not answer in 5 s/);
});

test('a replica that fails to start is retried with backoff; polling finds silent deaths', async () => {
  const h = setup(['a', 'b', 'c'], [], { pollMs: 1000, backoff: { initialMs: 1000 } });
  const a = h.I('a');
  await tick(); // start() resolved
  a.alive = false; // died without an exit report
  h.clock.advance(1000);
  await tick();
  assert.equal(a.starts, 2);
  assert.match(h.state('a').lastFault?.reason ?? '', /health check: the process is not running/);
  await tick();
  a.failNextStart = true;
  a.crash();
  await tick();
  await tick();
  // Restart 2 (at 1000 ms backoff): it fails to start, which is a crash too (restart 3: 2000 ms).
  h.clock.advance(1000);
  await tick();
  await tick();
  assert.equal(a.starts, 3);
  assert.match(h.state('a').lastFault?.reason ?? '', /failed to start: binary not found/);
  h.clock.advance(2000);
  await tick();
  assert.equal(a.starts, 4);
  assert.equal(a.running(), true);
});

test('stop() stops every replica and restarts nothing afterwards', async () => {
  const h = setup(['a', 'b', 'c'], ['s']);
  await h.sup.stop();
  for (const n of ['a', 'b', 'c']) {
    assert.equal(h.I(n).stops, 1);
    assert.equal(h.I(n).running(), false);
    assert.equal(h.state(n).state, 'dead');
  }
  assert.equal(h.I('s').stops, 0);
  h.clock.advance(100000);
  await tick();
  assert.equal(h.I('a').starts, 1);
  assert.equal(h.decisions().length, 0, 'a clean stop is no crash');
});
