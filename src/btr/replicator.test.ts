// The replicator and its feeds (BTR paper §3.1, §4.1), on a fake session port, a manual
// clock and a hand-driven event loop: live forwarding in order and batched, update-timing
// diversity that keeps the order, the bootstrap with messages arriving during the replay
// (property: the replica sees the snapshot then exactly the later messages, and ends with
// the live table), congestion and overflow, ROUTE-REFRESH answered from the history, and
// the session checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../lib/clock.js';
import { AS4_CONTEXT, makeContext, type CodecContext } from '../wire/index.js';
import { Replicator, sessionMismatch, type FeedEvents, type FeedPort } from './replicator.js';
import { RouteTable, arbitraryUpdate, streamContext, wireUpdate } from './testing.js';
import { endOfRib } from './update-writer.js';
import { parsePrefix } from '../lib/ip.js';

const V4 = 0x0101;
const V6 = 0x0201;

/** Lets queued microtasks run. */
const microtasks = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

class FakePort implements FeedPort, FeedEvents {
  /** Each send() call's messages. */
  readonly sends: Uint8Array[][] = [];
  /** Everything, in order, with ROUTE-REFRESH as markers. */
  readonly seq: (Uint8Array | string)[] = [];
  accept = true;
  caught = 0;
  overflows = 0;
  send(messages: readonly Uint8Array[]): boolean {
    this.sends.push([...messages]);
    this.seq.push(...messages);
    return this.accept;
  }
  routeRefresh(afi: number, safi: number, subtype: number): void {
    this.seq.push(`RR ${afi}/${safi} ${subtype}`);
  }
  caughtUp(): void {
    this.caught++;
  }
  overflow(): void {
    this.overflows++;
  }
  messages(): Uint8Array[] {
    return this.seq.filter((x): x is Uint8Array => x instanceof Uint8Array);
  }
}

/** A replicator whose replay steps wait in `steps` until the test runs them. */
function setup(
  ctx: CodecContext = AS4_CONTEXT,
  opts: { random?: () => number; maxQueued?: number; chunk?: number } = {},
) {
  const clock = new ManualClock(0);
  const steps: (() => void)[] = [];
  const rep = new Replicator(ctx, [V4, V6], {
    clock,
    yieldTo: (fn) => void steps.push(fn),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.maxQueued !== undefined ? { maxQueued: opts.maxQueued } : {}),
    replayChunk: opts.chunk ?? 2,
  });
  const runSteps = (): void => {
    while (steps.length > 0) steps.shift()!();
  };
  return { clock, steps, rep, runSteps };
}

const announce = (ctx: CodecContext, p: string, asn = 65002) =>
  wireUpdate(
    {
      type: 2,
      withdrawn: [],
      attributes: [
        { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
        {
          kind: 'as-path',
          code: 2,
          flags: 0x40,
          asnWidth: 4,
          segments: [{ type: 2, asns: [asn] }],
        },
        { kind: 'next-hop', code: 3, flags: 0x40, nextHop: Uint8Array.of(198, 18, 0, 2) },
      ],
      nlri: [{ prefix: parsePrefix(p)! }],
    },
    ctx,
  );

test('live: the neighbour’s octets go to every feed unchanged, in order, one send per turn', async () => {
  const { rep, runSteps } = setup();
  const a = new FakePort();
  const b = new FakePort();
  const fa = rep.addFeed('a', a, a);
  const fb = rep.addFeed('b', b, b);
  fa.begin([V4, V6]);
  fb.begin([V4, V6]);
  runSteps();
  await microtasks();
  assert.equal(fa.state, 'live');
  assert.equal(a.caught, 1);
  const ms = ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24'].map((p) =>
    announce(AS4_CONTEXT, p),
  );
  for (const m of ms) rep.update(m.raw, m.u);
  await microtasks();
  for (const port of [a, b]) {
    assert.equal(port.sends.length, 1, 'one send for the burst');
    assert.deepEqual(
      port.sends[0],
      ms.map((m) => m.raw),
      'the same octets, in order',
    );
  }
  assert.equal(rep.history.size, 3);
});

test('a feed that is down gets nothing; a replica that comes up is caught up from the history', async () => {
  const { rep, runSteps } = setup();
  const p = new FakePort();
  const f = rep.addFeed('a', p, p);
  const m1 = announce(AS4_CONTEXT, '198.18.1.0/24');
  rep.update(m1.raw, m1.u);
  await microtasks();
  assert.equal(p.seq.length, 0);
  f.begin([V4, V6]);
  runSteps();
  await microtasks();
  const t = new RouteTable();
  for (const m of p.messages()) t.apply(m);
  assert.equal(t.routes.size, 1);
  assert.equal(p.caught, 1);
});

for (const addPath of [false, true]) {
  test(`property: bootstrap under a live stream — the snapshot, then exactly the later messages in order, ending at the live table (ADD-PATH ${addPath ? 'on' : 'off'})`, async () => {
    const o = { addPath };
    const ctx = streamContext(o);
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryUpdate(o), { maxLength: 30 }),
        fc.array(arbitraryUpdate(o), { maxLength: 15 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        async (before, during, schedule, chunk) => {
          const { rep, steps } = setup(ctx, { chunk });
          const p = new FakePort();
          const f = rep.addFeed('r', p, p);
          const live = new RouteTable(ctx);
          for (const x of before) {
            const { raw, u } = wireUpdate(x, ctx);
            rep.update(raw, u);
            live.applyUpdate(u);
          }
          f.begin([V4, V6]);
          const eorAtSnapshot = [V4, V6].filter((fam) => rep.history.endOfRibSeen(fam));
          // Messages from the neighbour interleaved with replay steps, as `schedule` says.
          const later: Uint8Array[] = [];
          let i = 0;
          for (const stepFirst of schedule) {
            if (stepFirst && steps.length > 0) steps.shift()!();
            else if (i < during.length) {
              const { raw, u } = wireUpdate(during[i++]!, ctx);
              rep.update(raw, u);
              live.applyUpdate(u);
              later.push(raw);
            }
            await Promise.resolve();
          }
          for (; i < during.length; i++) {
            const { raw, u } = wireUpdate(during[i]!, ctx);
            rep.update(raw, u);
            live.applyUpdate(u);
            later.push(raw);
          }
          while (steps.length > 0) steps.shift()!();
          await microtasks();
          assert.equal(f.state, 'live');
          const got = p.messages();
          // The later messages are the neighbour's own octets (identity), once each, in
          // order, after the whole replay and its End-of-RIB markers.
          const firstLater = got.findIndex((m) => later.includes(m));
          const tail = firstLater < 0 ? [] : got.slice(firstLater);
          assert.deepEqual(tail, later);
          const replay = firstLater < 0 ? got : got.slice(0, firstLater);
          assert.ok(replay.every((m) => !later.includes(m)));
          const hex = (m: Uint8Array): string => Buffer.from(m).toString('hex');
          const eorHex = [V4, V6].map((fam) => hex(endOfRib(fam)));
          const eors = replay.map(hex).filter((h) => eorHex.includes(h));
          assert.deepEqual(
            eors.sort(),
            eorAtSnapshot.map((fam) => hex(endOfRib(fam))).sort(),
            'End-of-RIB where the neighbour had sent it, after the replayed routes',
          );
          const fresh = new RouteTable(ctx);
          for (const m of got) fresh.apply(m);
          assert.deepEqual(fresh.sorted(), live.sorted());
          assert.equal(p.caught, 1);
        },
      ),
      { numRuns: 200 },
    );
  });
}

test('update-timing diversity: random delays in [min, max], order kept', async () => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 4294967296;
  };
  const { rep, runSteps, clock } = setup(AS4_CONTEXT, { random });
  const p = new FakePort();
  const f = rep.addFeed('slow', p, p, { minMs: 1, maxMs: 10 });
  f.begin([V4, V6]);
  runSteps();
  const sentAt: number[] = [];
  const ms = Array.from({ length: 40 }, (_, i) => announce(AS4_CONTEXT, `198.18.${i}.0/24`));
  const deliveredAt = new Map<Uint8Array, number>();
  let seen = 0;
  for (let i = 0; i < ms.length; i++) {
    rep.update(ms[i]!.raw, ms[i]!.u);
    sentAt.push(clock.now());
    clock.advance(i % 3 === 0 ? 0 : 2);
    await microtasks();
    for (const m of p.messages().slice(seen)) deliveredAt.set(m, clock.now());
    seen = p.messages().length;
  }
  for (let t = 0; t < 20; t++) {
    clock.advance(1);
    await microtasks();
    for (const m of p.messages().slice(seen)) deliveredAt.set(m, clock.now());
    seen = p.messages().length;
  }
  assert.deepEqual(
    p.messages(),
    ms.map((m) => m.raw),
    'all delivered, in order',
  );
  ms.forEach((m, i) => {
    const at = deliveredAt.get(m.raw)!;
    assert.ok(at >= sentAt[i]! + 1, `message ${i} not before its minimum delay`);
  });
  assert.ok(
    new Set(ms.map((m) => deliveredAt.get(m.raw)! - sentAt[ms.indexOf(m)]!)).size > 3,
    'delays vary',
  );
  assert.equal(f.stats().delayed, 0);
});

test('a restarted session drops what was still delayed for the old one (it is in the history)', async () => {
  const { rep, runSteps, clock } = setup(AS4_CONTEXT, { random: () => 0.5 });
  const p = new FakePort();
  const f = rep.addFeed('r', p, p, { minMs: 5, maxMs: 5 });
  f.begin([V4, V6]);
  runSteps();
  const m = announce(AS4_CONTEXT, '198.18.1.0/24');
  rep.update(m.raw, m.u);
  assert.equal(f.stats().delayed, 1);
  f.stop();
  f.begin([V4, V6]);
  runSteps();
  clock.advance(10);
  await microtasks();
  assert.ok(!p.messages().includes(m.raw), 'the delayed copy was dropped');
  const t = new RouteTable();
  for (const x of p.messages()) t.apply(x);
  assert.equal(t.routes.size, 1, 'the route came with the replay');
});

test('congestion: the replay waits for writable(); live messages past maxQueued overflow', async () => {
  const { rep, runSteps, steps } = setup(AS4_CONTEXT, { maxQueued: 3, chunk: 1 });
  for (let i = 0; i < 4; i++) {
    const m = announce(AS4_CONTEXT, `198.18.${i}.0/24`);
    rep.update(m.raw, m.u);
  }
  const p = new FakePort();
  p.accept = false;
  const f = rep.addFeed('r', p, p);
  f.begin([V4, V6]);
  runSteps();
  assert.equal(p.sends.length, 1, 'one chunk, then it waits');
  assert.equal(steps.length, 0);
  p.accept = true;
  f.writable();
  runSteps();
  assert.equal(f.state, 'live');
  assert.equal(p.messages().length, 4);
  p.accept = false;
  for (let i = 0; i < 5; i++) {
    const m = announce(AS4_CONTEXT, `198.18.${10 + i}.0/24`);
    rep.update(m.raw, m.u);
    await microtasks();
  }
  assert.equal(p.overflows, 1);
});

test('ROUTE-REFRESH from a replica: one family from the history, bracketed by BoRR/EoRR, after what was delayed', async () => {
  const { rep, runSteps, clock } = setup(AS4_CONTEXT, { random: () => 0 });
  const p = new FakePort();
  const f = rep.addFeed('r', p, p, { minMs: 50, maxMs: 50 });
  f.begin([V4, V6]);
  runSteps();
  const v4 = announce(AS4_CONTEXT, '198.18.1.0/24');
  const v6 = wireUpdate(
    {
      type: 2,
      withdrawn: [],
      attributes: [
        { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
        { kind: 'as-path', code: 2, flags: 0x40, asnWidth: 4, segments: [] },
        {
          kind: 'mp-reach',
          code: 14,
          flags: 0x80,
          afi: 2,
          safi: 1,
          nextHop: parsePrefix('2001:db8::2/128')!.addr,
          reserved: 0,
          nlri: [{ prefix: parsePrefix('2001:db8:1::/48')! }],
        },
      ],
      nlri: [],
    },
    AS4_CONTEXT,
  );
  rep.update(v4.raw, v4.u);
  rep.update(v6.raw, v6.u);
  assert.equal(f.stats().delayed, 2);
  f.refresh(V6, true);
  runSteps();
  await microtasks();
  const seq = p.seq.map((x) =>
    typeof x === 'string' ? x : x === v4.raw ? 'v4' : x === v6.raw ? 'v6' : 'replay',
  );
  assert.deepEqual(seq, ['v4', 'v6', 'RR 2/1 1', 'replay', 'RR 2/1 2']);
  const t = new RouteTable();
  t.apply(p.seq[3] as Uint8Array);
  assert.deepEqual(
    [...t.routes.keys()].map((k) => typeof k),
    ['string'],
    'only the IPv6 route',
  );
  clock.advance(100);
  await microtasks();
  assert.equal(p.messages().length, 3, 'nothing twice');
});

test('sessionMismatch: 4-octet AS, ADD-PATH both ways and extended messages must fit', () => {
  const s = (receive: CodecContext, send: CodecContext) => ({ receive, send });
  const as4 = makeContext({ as4: true });
  const as2 = makeContext({ as4: false });
  const ap = makeContext({ as4: true, addPath: [[1, 1]] });
  const ext = makeContext({ as4: true, extendedMessage: true });
  assert.equal(sessionMismatch(s(as4, as4), s(as4, as4)), undefined);
  assert.match(sessionMismatch(s(as4, as4), s(as4, as2))!, /4-octet AS/);
  assert.match(sessionMismatch(s(ap, as4), s(as4, as4))!, /ADD-PATH from the neighbour/);
  assert.match(sessionMismatch(s(as4, ap), s(as4, as4))!, /ADD-PATH towards the neighbour/);
  assert.match(sessionMismatch(s(ext, as4), s(as4, as4))!, /extended messages/);
  assert.equal(
    sessionMismatch(s(as4, as4), s(as4, ext)),
    undefined,
    'a replica taking more is fine',
  );
});
