// Fault injection (fault-inject.ts): the bug schedule follows its parameters (statistics
// over a fixed seed), and a replica's session rewrites exactly what each episode says —
// at its start, for the replica's UPDATEs while it lasts — and sends the true state back
// at its end. Slowness delays in range and keeps order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { formatAddr, formatPrefix, parsePrefix, type Prefix } from '../lib/ip.js';
import type { Endpoint, Transport, TransportStats } from '../net/transport.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  ATTR_DEFAULT_FLAGS,
  KEEPALIVE_BYTES,
  MSG,
  decodeMessage,
  encodeMessage,
  type PathAttribute,
} from '../wire/index.js';
import {
  BugSchedule,
  FaultInjector,
  seededRandom,
  type BugKind,
  type BugModel,
  type FaultEvent,
  type FaultSpec,
} from './fault-inject.js';

// --- the schedule -------------------------------------------------------------------------

function episodes(model: BugModel, seed: number, n: number): ReturnType<BugSchedule['next']>[] {
  const s = new BugSchedule(model, seededRandom(seed), 0);
  return Array.from({ length: n }, () => s.next());
}

test('schedule: exponential inter-arrival and duration with the given means; kinds uniform', () => {
  const n = 20_000;
  const eps = episodes({ interArrivalMs: 1000, durationMs: 300 }, 42, n).map((e) => e!);
  const gaps = eps.map((e, i) => e.start - (i === 0 ? 0 : eps[i - 1]!.start));
  const durs = eps.map((e) => e.end - e.start);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean(gaps) / 1000 - 1) < 0.03, `mean inter-arrival ${mean(gaps)}`);
  assert.ok(Math.abs(mean(durs) / 300 - 1) < 0.03, `mean duration ${mean(durs)}`);
  // Exponential: P(X > mean) = 1/e, and memoryless: P(X > 2 mean | X > mean) = 1/e.
  const over = gaps.filter((g) => g > 1000);
  assert.ok(Math.abs(over.length / n - Math.exp(-1)) < 0.015, `P(gap > mean) ${over.length / n}`);
  const over2 = over.filter((g) => g > 2000).length / over.length;
  assert.ok(Math.abs(over2 - Math.exp(-1)) < 0.025, `P(gap > 2m | gap > m) ${over2}`);
  assert.ok(gaps.every((g) => g >= 0) && durs.every((d) => d >= 0));
  for (const k of ['add', 'suppress', 'next-hop'] as BugKind[]) {
    const f = eps.filter((e) => e.kind === k).length / n;
    assert.ok(Math.abs(f - 1 / 3) < 0.015, `${k}: ${f}`);
  }
  assert.deepEqual(
    eps.map((e) => e.id),
    eps.map((_, i) => i + 1),
  );
});

test('schedule: fixed times, chosen kinds, a bound on episodes, reproducible per seed', () => {
  const model: BugModel = {
    interArrivalMs: 500,
    durationMs: 200,
    distribution: 'fixed',
    kinds: ['next-hop'],
    maxEpisodes: 3,
  };
  assert.deepEqual(episodes(model, 1, 4), [
    { id: 1, kind: 'next-hop', start: 500, end: 700 },
    { id: 2, kind: 'next-hop', start: 1000, end: 1200 },
    { id: 3, kind: 'next-hop', start: 1500, end: 1700 },
    undefined,
  ]);
  const m: BugModel = { interArrivalMs: 100, durationMs: 10 };
  assert.deepEqual(episodes(m, 7, 50), episodes(m, 7, 50));
  assert.notDeepEqual(episodes(m, 7, 50), episodes(m, 8, 50));
  assert.throws(() => new BugSchedule({ interArrivalMs: 0, durationMs: 1 }, Math.random, 0));
});

// --- the session ----------------------------------------------------------------------------

/** The replica's end of a session as the hypervisor holds it: data is pushed in by hand. */
class FakeTransport implements Transport {
  readonly kind = 'fake';
  readonly local: Endpoint = { address: '198.18.1.2', port: 179 };
  readonly remote: Endpoint = { address: '198.18.255.2', port: 40000 };
  written: Uint8Array[] = [];
  private data: ((c: Uint8Array) => void) | undefined;
  private close: (() => void) | undefined;
  write(b: Uint8Array): boolean {
    this.written.push(b);
    return true;
  }
  onData(cb: (c: Uint8Array) => void): void {
    this.data = cb;
  }
  onDrain(): void {}
  onClose(cb: () => void): void {
    this.close = cb;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {
    this.close?.();
  }
  stats(): TransportStats {
    return { bytesIn: 0, bytesOut: 0 };
  }
  /** The replica sends these octets. */
  push(b: Uint8Array): void {
    this.data?.(b);
  }
}

const P = (s: string): Prefix => parsePrefix(s)!;
const TRUE_NH = '198.18.1.1';

function attrs(med: number, nh = TRUE_NH): PathAttribute[] {
  return [
    { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: ATTR_DEFAULT_FLAGS[2]!,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [65001, 65003] }],
      asnWidth: 4,
    },
    {
      kind: 'next-hop',
      code: 3,
      flags: ATTR_DEFAULT_FLAGS[3]!,
      nextHop: Uint8Array.from(nh.split('.').map(Number)),
    },
    { kind: 'med', code: 4, flags: ATTR_DEFAULT_FLAGS[4]!, med },
  ];
}

const announce = (prefixes: string[], med: number): Uint8Array =>
  encodeMessage(
    {
      type: MSG.UPDATE,
      withdrawn: [],
      attributes: attrs(med),
      nlri: prefixes.map((p) => ({ prefix: P(p) })),
    },
    AS4_CONTEXT,
  );
const withdraw = (prefixes: string[]): Uint8Array =>
  encodeMessage(
    {
      type: MSG.UPDATE,
      withdrawn: prefixes.map((p) => ({ prefix: P(p) })),
      attributes: [],
      nlri: [],
    },
    AS4_CONTEXT,
  );

interface RouteSeen {
  nextHop: string;
  med: number | undefined;
}

/** What the hypervisor's side received, folded into a table (prefix → next hop, MED). */
function view(msgs: Uint8Array[]): Map<string, RouteSeen> {
  const t = new Map<string, RouteSeen>();
  for (const m of msgs) {
    const d = decodeMessage(m, AS4_CONTEXT);
    assert.ok(d.ok);
    if (d.message.type !== MSG.UPDATE) continue;
    const u = d.message;
    for (const n of u.withdrawn) t.delete(formatPrefix(n.prefix));
    const nh = u.attributes.find((a) => a.kind === 'next-hop');
    const med = u.attributes.find((a) => a.kind === 'med');
    for (const n of u.nlri) {
      t.set(formatPrefix(n.prefix), {
        nextHop: nh?.kind === 'next-hop' ? formatAddr(nh.nextHop) : '?',
        med: med?.kind === 'med' ? med.med : undefined,
      });
    }
  }
  return t;
}

const sorted = (t: Map<string, RouteSeen>): [string, RouteSeen][] =>
  [...t].sort((a, b) => (a[0] < b[0] ? -1 : 1));

function session(
  spec: Partial<FaultSpec> & { kinds?: BugKind[] },
  seed = 3,
): {
  clock: ManualClock;
  inj: FaultInjector;
  t: FakeTransport;
  seen: Uint8Array[];
  events: FaultEvent[];
} {
  const clock = new ManualClock(0);
  const events: FaultEvent[] = [];
  const { kinds, ...rest } = spec;
  const inj = new FaultInjector(
    'rnon',
    {
      seed,
      bugs: {
        interArrivalMs: 1000,
        durationMs: 500,
        distribution: 'fixed',
        maxEpisodes: 1,
        ...(kinds ? { kinds } : {}),
      },
      ...rest,
    },
    { clock, onEvent: (e) => events.push(e) },
  );
  const t = new FakeTransport();
  const w = inj.wrap(t, '198.18.1.2');
  const seen: Uint8Array[] = [];
  w.onData((c) => seen.push(c.slice()));
  return { clock, inj, t, seen, events };
}

const ROUTES = ['198.19.3.0/24', '198.19.33.0/24', '198.19.34.0/24'];
const truth = (med: number, prefixes = ROUTES): [string, RouteSeen][] =>
  prefixes.map((p): [string, RouteSeen] => [p, { nextHop: TRUE_NH, med }]).sort();

test('no episode: every message passes unchanged, in order', () => {
  const s = session({});
  const msgs = [announce(ROUTES, 1), KEEPALIVE_BYTES.slice(), withdraw([ROUTES[0]!])];
  const all = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
  let o = 0;
  for (const m of msgs) {
    all.set(m, o);
    o += m.length;
  }
  s.t.push(all.subarray(0, 30)); // split anywhere
  s.t.push(all.subarray(30));
  assert.deepEqual(s.seen, msgs);
});

test('next-hop: the victim gets a bogus next hop at the start, keeps it in re-announcements, and is repaired at the end', () => {
  const s = session({ kinds: ['next-hop'] });
  s.t.push(announce(ROUTES, 1));
  s.inj.arm();
  s.clock.advance(999);
  assert.equal(s.seen.length, 1);
  s.clock.advance(1);
  const start = s.events[0];
  assert.ok(start?.type === 'bug-start' && start.kind === 'next-hop', JSON.stringify(s.events));
  assert.equal(start.neighbor, '198.18.1.2');
  assert.equal(start.replica, 'rnon');
  assert.equal(start.until, 1500);
  const victim = start.prefix;
  const bogus = start.nextHop!;
  assert.match(bogus, /^198\.19\.253\.\d+$/);
  assert.equal(s.seen.length, 2, 'one UPDATE for the victim');
  const want = new Map(truth(1));
  want.set(victim, { nextHop: bogus, med: 1 });
  assert.deepEqual(sorted(view(s.seen)), sorted(want));

  // The replica re-announces everything with a new MED: the victim keeps the bogus next hop.
  s.t.push(announce(ROUTES, 2));
  const want2 = new Map(truth(2));
  want2.set(victim, { nextHop: bogus, med: 2 });
  assert.deepEqual(sorted(view(s.seen)), sorted(want2));

  s.clock.advance(500);
  assert.deepEqual(
    s.events.map((e) => e.type),
    ['bug-start', 'bug-end'],
  );
  assert.deepEqual(sorted(view(s.seen)), truth(2), 'the true state is back');
  const n = s.seen.length;
  const m = announce(ROUTES, 3);
  s.t.push(m);
  assert.deepEqual(s.seen.slice(n), [m], 'after the episode: unchanged again');
});

test('suppress: the victim is withdrawn, its re-announcements dropped, and it comes back at the end', () => {
  const s = session({ kinds: ['suppress'] });
  s.t.push(announce(ROUTES, 1));
  s.inj.arm();
  s.clock.advance(1000);
  const start = s.events[0];
  assert.ok(start?.type === 'bug-start' && start.kind === 'suppress');
  const victim = start.prefix;
  assert.deepEqual(
    sorted(view(s.seen)),
    truth(
      1,
      ROUTES.filter((p) => p !== victim),
    ),
  );
  const n = s.seen.length;
  s.t.push(announce([victim], 5)); // alone: nothing reaches the hypervisor
  assert.equal(s.seen.length, n);
  s.t.push(announce(ROUTES, 6)); // the others go on
  assert.deepEqual(
    sorted(view(s.seen)),
    truth(
      6,
      ROUTES.filter((p) => p !== victim),
    ),
  );
  s.clock.advance(500);
  assert.deepEqual(sorted(view(s.seen)), truth(6));
});

test('suppress: a route the replica withdraws meanwhile stays withdrawn at the end', () => {
  const s = session({ kinds: ['suppress'] });
  s.t.push(announce(ROUTES, 1));
  s.inj.arm();
  s.clock.advance(1000);
  const start = s.events[0];
  assert.ok(start?.type === 'bug-start');
  const n = s.seen.length;
  s.t.push(withdraw([start.prefix]));
  assert.equal(s.seen.length, n, 'already withdrawn as far as the hypervisor knows');
  s.clock.advance(500);
  assert.equal(s.seen.length, n, 'nothing to repair');
  assert.deepEqual(
    sorted(view(s.seen)),
    truth(
      1,
      ROUTES.filter((p) => p !== start.prefix),
    ),
  );
});

test('add: a bogus prefix from the pool is announced with a held route’s attributes, then withdrawn', () => {
  const s = session({ kinds: ['add'], addPool: { prefix: '198.19.224.0/20', length: 24 } });
  s.t.push(announce(ROUTES, 1));
  s.inj.arm();
  s.clock.advance(1000);
  const start = s.events[0];
  assert.ok(start?.type === 'bug-start' && start.kind === 'add');
  assert.match(start.prefix, /^198\.19\.(22[4-9]|23\d)\.0\/24$/);
  assert.equal(start.nextHop, TRUE_NH);
  const want = new Map(truth(1));
  want.set(start.prefix, { nextHop: TRUE_NH, med: 1 });
  assert.deepEqual(sorted(view(s.seen)), sorted(want));
  s.t.push(withdraw([ROUTES[0]!])); // unrelated traffic goes on
  s.clock.advance(500);
  assert.deepEqual(sorted(view(s.seen)), truth(1, ROUTES.slice(1)));
});

test('an episode with nothing to corrupt is skipped and reported', () => {
  const s = session({ kinds: ['next-hop'] });
  s.inj.arm();
  s.clock.advance(1500);
  assert.equal(s.events[0]?.type, 'bug-skipped');
  assert.equal(s.seen.length, 0);
});

test('only the sessions to the chosen neighbours are corrupted; disarm ends active episodes', () => {
  const clock = new ManualClock(0);
  const events: FaultEvent[] = [];
  const inj = new FaultInjector(
    'rfrr',
    {
      seed: 9,
      neighbors: ['198.18.2.2'],
      bugs: { interArrivalMs: 100, durationMs: 1e6, distribution: 'fixed', kinds: ['suppress'] },
    },
    { clock, onEvent: (e) => events.push(e) },
  );
  const a = new FakeTransport();
  const b = new FakeTransport();
  const seenA: Uint8Array[] = [];
  const seenB: Uint8Array[] = [];
  const wa = inj.wrap(a, '198.18.1.2');
  const wb = inj.wrap(b, '198.18.2.2');
  assert.equal(wa, a, 'left alone');
  wa.onData((c) => seenA.push(c));
  wb.onData((c) => seenB.push(c));
  a.push(announce(ROUTES, 1));
  b.push(announce(ROUTES, 1));
  inj.arm();
  clock.advance(250); // two episodes, two victims
  assert.deepEqual(sorted(view(seenA)), truth(1));
  assert.equal(view(seenB).size, 1);
  assert.deepEqual(
    events.map((e) => [e.type, e.neighbor]),
    [
      ['bug-start', '198.18.2.2'],
      ['bug-start', '198.18.2.2'],
    ],
  );
  inj.disarm();
  assert.deepEqual(sorted(view(seenB)), truth(1));
  clock.advance(1000);
  assert.equal(events.length, 4, 'no episode after disarm');
});

test('slow: each message is held within the range, order kept; a close waits for the queue', () => {
  const clock = new ManualClock(0);
  const inj = new FaultInjector('rbird', { seed: 5, slow: { minMs: 10, maxMs: 50 } }, { clock });
  const t = new FakeTransport();
  const w = inj.wrap(t, '198.18.1.2');
  const got: [number, Uint8Array][] = [];
  let closedAt = -1;
  w.onData((c) => got.push([clock.now(), c]));
  w.onClose(() => (closedAt = clock.now()));
  const msgs = Array.from({ length: 20 }, (_, i) => announce([`198.19.${i}.0/24`], i));
  for (const m of msgs) {
    t.push(m);
    clock.advance(3);
  }
  t.destroy();
  assert.ok(got.length < msgs.length);
  assert.equal(closedAt, -1);
  clock.advance(100);
  assert.deepEqual(
    got.map(([, m]) => m),
    msgs,
  );
  for (let i = 0; i < got.length; i++) {
    const sentAt = i * 3;
    const at = got[i]![0];
    assert.ok(at >= sentAt + 10, `message ${i} at ${at}, sent at ${sentAt}`);
    if (i > 0) assert.ok(at >= got[i - 1]![0]);
  }
  assert.ok(closedAt >= got[got.length - 1]![0]);
});

// --- the FIB --------------------------------------------------------------------------------

const FIB_ROUTES = [
  { prefix: '198.19.3.0/24', gateways: ['198.18.2.2'] },
  { prefix: '198.19.33.0/24', gateways: ['198.18.2.2'] },
  { prefix: '2001:db8:3::/48', gateways: ['2001:db8:2::2'] },
];
const fibMap = (rs: readonly { prefix: string; gateways: readonly string[] }[]) =>
  new Map(rs.map((r) => [r.prefix, [...r.gateways]]));

function fibInjector(kind: BugKind) {
  const clock = new ManualClock(0);
  const events: FaultEvent[] = [];
  const inj = new FaultInjector(
    'rbird',
    {
      seed: 11,
      bugs: {
        interArrivalMs: 1000,
        durationMs: 500,
        distribution: 'fixed',
        maxEpisodes: 1,
        kinds: [kind],
      },
    },
    { clock, onEvent: (e) => events.push(e) },
  );
  inj.arm();
  return { clock, inj, events };
}

test('FIB: no active episode leaves the observed FIB as it is', () => {
  const { inj } = fibInjector('next-hop');
  assert.deepEqual(fibMap(inj.corruptFib(FIB_ROUTES)), fibMap(FIB_ROUTES));
});

test('FIB next-hop: one IPv4 route gets a bogus gateway from the pool for the episode, the same one each poll', () => {
  const { clock, inj, events } = fibInjector('next-hop');
  clock.advance(1000);
  const a = fibMap(inj.corruptFib(FIB_ROUTES));
  const b = fibMap(inj.corruptFib(FIB_ROUTES));
  assert.deepEqual(a, b, 'the target is kept while the episode lasts');
  const changed = [...a].filter(
    ([p, g]) => JSON.stringify(g) !== JSON.stringify(fibMap(FIB_ROUTES).get(p)),
  );
  assert.equal(changed.length, 1);
  const [prefix, gws] = changed[0]!;
  assert.ok(!prefix.includes(':'), 'IPv4 only');
  assert.equal(gws.length, 1);
  assert.ok(gws[0]!.startsWith('198.19.253.'), gws[0]);
  assert.deepEqual(
    events.map((e) => [e.type, e.neighbor, 'prefix' in e ? e.prefix : undefined]),
    [['bug-start', 'FIB', prefix]],
  );
  clock.advance(500);
  assert.deepEqual(fibMap(inj.corruptFib(FIB_ROUTES)), fibMap(FIB_ROUTES), 'repaired at the end');
  assert.deepEqual(events.at(-1)?.type, 'bug-end');
});

test('FIB add: a bogus prefix of the pool via a bogus gateway; suppress: one route missing', () => {
  const add = fibInjector('add');
  add.clock.advance(1000);
  const a = fibMap(add.inj.corruptFib(FIB_ROUTES));
  assert.equal(a.size, FIB_ROUTES.length + 1);
  const bogus = [...a].find(([p]) => !fibMap(FIB_ROUTES).has(p))!;
  const pool = parsePrefix('198.19.224.0/20')!;
  const p = parsePrefix(bogus[0])!;
  assert.equal(p.len, 24);
  assert.ok(
    p.addr[0] === pool.addr[0] && p.addr[1] === pool.addr[1] && (p.addr[2]! & 0xf0) === 224,
    bogus[0],
  );
  assert.ok(bogus[1][0]!.startsWith('198.19.253.'));
  const sup = fibInjector('suppress');
  sup.clock.advance(1000);
  const s = fibMap(sup.inj.corruptFib(FIB_ROUTES));
  assert.equal(s.size, FIB_ROUTES.length - 1);
  assert.ok(s.has('2001:db8:3::/48'), 'IPv6 routes are never targets');
});

test('FIB: an episode with nothing to corrupt is reported once as skipped', () => {
  const { clock, inj, events } = fibInjector('suppress');
  clock.advance(1000);
  const v6 = FIB_ROUTES.filter((r) => r.prefix.includes(':'));
  inj.corruptFib(v6);
  inj.corruptFib(v6);
  assert.deepEqual(
    events.map((e) => [e.type, e.neighbor]),
    [['bug-skipped', 'FIB']],
  );
  assert.deepEqual(fibMap(inj.corruptFib(v6)), fibMap(v6));
});
