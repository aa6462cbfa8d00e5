// Longest-prefix match of the in-memory FIB against a brute-force reference (scan every
// prefix, keep the longest that covers the address), on random prefix sets and random
// add/replace/delete sequences, IPv4 and IPv6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AFI,
  formatPrefix,
  maskAddr,
  parseAddr,
  parsePrefix,
  type Afi,
  type Prefix,
} from '../lib/ip.js';
import type { FibChange, FibRoute } from './fib.js';
import { MemoryFib } from './memory-fib.js';

const width = (afi: Afi): number => (afi === AFI.IPv4 ? 4 : 16);

function covers(p: Prefix, addr: Uint8Array): boolean {
  const m = maskAddr(addr, p.len);
  for (let i = 0; i < m.length; i++) if (m[i] !== p.addr[i]) return false;
  return true;
}

/** Brute force over a model map (prefix text → route). */
function reference(model: Map<string, FibRoute>, addr: Uint8Array): FibRoute | undefined {
  let best: FibRoute | undefined;
  for (const r of model.values()) {
    if (r.prefix.addr.length !== addr.length || !covers(r.prefix, addr)) continue;
    if (!best || r.prefix.len > best.prefix.len) best = r;
  }
  return best;
}

/**
 * Prefixes that nest and collide: addresses drawn from a few random bases with a few bits
 * flipped, lengths anywhere in 0..width (including default and host routes).
 */
function prefixArb(afi: Afi): fc.Arbitrary<Prefix> {
  const w = width(afi);
  const bases = [new Uint8Array(w), new Uint8Array(w).fill(0xff), new Uint8Array(w).fill(0x5a)];
  return fc
    .tuple(
      fc.integer({ min: 0, max: bases.length - 1 }),
      fc.uint8Array({ minLength: w, maxLength: w }),
      fc.array(fc.integer({ min: 0, max: w * 8 - 1 }), { maxLength: 3 }),
      fc.oneof(
        fc.integer({ min: 0, max: w * 8 }),
        fc.constantFrom(0, w * 8),
        fc.integer({ min: w * 4, max: w * 8 }),
      ),
      fc.boolean(),
    )
    .map(([bi, random, flips, len, useRandom]) => {
      const a = useRandom ? random.slice() : bases[bi]!.slice();
      for (const f of flips) a[f >> 3] = a[f >> 3]! ^ (0x80 >> (f & 7));
      return { afi, addr: maskAddr(a, len), len };
    });
}

function route(p: Prefix, tag: number): FibRoute {
  const gw = new Uint8Array(width(p.afi));
  gw[0] = tag & 0xff;
  gw[1] = tag >> 8;
  return { prefix: p, nextHops: [{ gateway: gw }], metric: tag };
}

type Op = { kind: 'add' | 'replace' | 'delete'; prefix: Prefix };

function opArb(afi: Afi): fc.Arbitrary<Op> {
  return fc.record({
    kind: fc.constantFrom<Op['kind']>('add', 'add', 'replace', 'delete'),
    prefix: prefixArb(afi),
  });
}

/** Probe addresses: inside each prefix (random host bits) and fully random. */
function probes(afi: Afi, ops: readonly Op[], seed: number): Uint8Array[] {
  const w = width(afi);
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) & 0xff;
  };
  const out: Uint8Array[] = [];
  for (const op of ops) {
    const a = op.prefix.addr.slice();
    for (let i = 0; i < w; i++) {
      const bit = i * 8;
      if (bit + 8 <= op.prefix.len) continue;
      const keep = Math.max(0, op.prefix.len - bit);
      const hostMask = 0xff >> keep;
      a[i] = (a[i]! & ~hostMask) | (rnd() & hostMask);
    }
    out.push(a, op.prefix.addr);
  }
  for (let k = 0; k < 20; k++) out.push(Uint8Array.from({ length: w }, rnd));
  return out;
}

for (const afi of [AFI.IPv4, AFI.IPv6] as const) {
  const name = afi === AFI.IPv4 ? 'IPv4' : 'IPv6';

  test(`${name}: lookup agrees with brute force after random add/replace/delete`, () => {
    fc.assert(
      fc.property(fc.array(opArb(afi), { maxLength: 120 }), fc.integer(), (ops, seed) => {
        const fib = new MemoryFib();
        const model = new Map<string, FibRoute>();
        ops.forEach((op, i) => {
          const key = formatPrefix(op.prefix);
          const change: FibChange =
            op.kind === 'delete'
              ? { op: 'delete', prefix: op.prefix }
              : { op: op.kind, route: route(op.prefix, i) };
          const report = fib.applySync([change]);
          // Kernel outcomes: add over an existing prefix is EEXIST, delete of none is ESRCH.
          if (op.kind === 'delete') {
            assert.equal(report.failed[0]?.code, model.has(key) ? undefined : 'ESRCH');
            model.delete(key);
          } else if (op.kind === 'add' && model.has(key)) {
            assert.equal(report.failed[0]?.code, 'EEXIST');
          } else {
            assert.equal(report.failed.length, 0);
            model.set(key, (change as { route: FibRoute }).route);
          }
        });
        assert.equal(fib.size, model.size);
        for (const a of probes(afi, ops, seed)) {
          assert.equal(fib.lookup(a), reference(model, a), `lookup ${Array.from(a).join('.')}`);
        }
        // list(): every route once, in address order, shorter before longer.
        const listed = fib.listSync(afi).map((r) => formatPrefix(r.prefix));
        assert.deepEqual(new Set(listed), new Set(model.keys()));
        assert.equal(listed.length, model.size);
      }),
      { numRuns: 300 },
    );
  });
}

test('default route, host routes and the most specific match', () => {
  const fib = new MemoryFib();
  const r = (p: string, gw: string): FibRoute => ({
    prefix: parsePrefix(p)!,
    nextHops: [{ gateway: parseAddr(gw)! }],
  });
  const def = r('0.0.0.0/0', '198.18.0.1');
  const net = r('198.18.0.0/15', '198.18.0.2');
  const sub = r('198.18.4.0/24', '198.18.0.3');
  const host = r('198.18.4.4/32', '198.18.0.4');
  const def6 = r('::/0', '2001:db8::1');
  const host6 = r('2001:db8::42/128', '2001:db8::2');
  assert.deepEqual(
    fib.applySync([def, net, sub, host, def6, host6].map((route) => ({ op: 'add', route }))),
    { applied: 6, failed: [] },
  );
  const at = (a: string): FibRoute | undefined => fib.lookup(parseAddr(a)!);
  assert.equal(at('203.0.113.1'), def);
  assert.equal(at('198.19.255.255'), net);
  assert.equal(at('198.18.4.5'), sub);
  assert.equal(at('198.18.4.4'), host);
  assert.equal(at('2001:db8::42'), host6);
  assert.equal(at('2001:db8::43'), def6);
  assert.equal(fib.get(parsePrefix('198.18.4.0/24')!), sub);

  // Replace changes the next hop; delete falls back to the covering route.
  const sub2 = r('198.18.4.0/24', '198.18.0.9');
  assert.equal(fib.applySync([{ op: 'replace', route: sub2 }]).failed.length, 0);
  assert.equal(at('198.18.4.5'), sub2);
  assert.equal(fib.applySync([{ op: 'delete', prefix: host.prefix }]).failed.length, 0);
  assert.equal(at('198.18.4.4'), sub2);
  assert.equal(fib.applySync([{ op: 'delete', prefix: def.prefix }]).failed.length, 0);
  assert.equal(at('203.0.113.1'), undefined);
  assert.equal(at('198.18.200.1'), net);

  // Errors are per change, never thrown, and the rest of the batch is applied.
  const report = fib.applySync([
    { op: 'add', route: sub },
    { op: 'delete', prefix: parsePrefix('198.18.99.0/24')! },
    {
      op: 'add',
      route: { prefix: { afi: AFI.IPv4, addr: new Uint8Array(4), len: 33 }, nextHops: [] },
    },
    { op: 'add', route: r('198.18.5.0/24', '198.18.0.5') },
  ]);
  assert.deepEqual(
    report.failed.map((f) => [f.index, f.code]),
    [
      [0, 'EEXIST'],
      [1, 'ESRCH'],
      [2, 'EINVAL'],
    ],
  );
  assert.equal(report.applied, 1);
  assert.match(report.failed[1]!.message, /198\.18\.99\.0\/24/);
});

test('list order, flush and close', async () => {
  const fib = new MemoryFib();
  const ps = ['198.18.1.0/24', '198.18.0.0/16', '0.0.0.0/0', '198.18.1.128/25', '2001:db8::/32'];
  await fib.apply(
    ps.map((p) => ({
      op: 'add',
      route: { prefix: parsePrefix(p)!, nextHops: [{ gateway: new Uint8Array(4) }] },
    })),
  );
  assert.deepEqual(
    (await fib.list()).map((r) => formatPrefix(r.prefix)),
    ['0.0.0.0/0', '198.18.0.0/16', '198.18.1.0/24', '198.18.1.128/25', '2001:db8::/32'],
  );
  assert.deepEqual((await fib.list(AFI.IPv6)).length, 1);
  await fib.flush();
  assert.equal(fib.size, 0);
  assert.equal(fib.lookup(parseAddr('198.18.1.1')!), undefined);
  await fib.apply([
    {
      op: 'add',
      route: { prefix: parsePrefix('198.18.0.0/16')!, nextHops: [{ gateway: new Uint8Array(4) }] },
    },
  ]);
  await fib.close({ keepRoutes: true });
  assert.equal(fib.size, 1);
  await assert.rejects(fib.apply([]));
});
