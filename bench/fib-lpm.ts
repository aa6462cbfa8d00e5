// Micro-benchmark: the in-memory FIB's longest-prefix match with a full-table-sized IPv4 set.
// Not a test; numbers depend on the machine.
//
//   npx tsc -p . && node --expose-gc dist/bench/fib-lpm.js [routes=1000000] [lookups=2000000]
//
// Prefixes are "random-ish" like a real table: lengths drawn from a full table's
// distribution (about 60 % /24, the rest /8../23, a few longer), addresses from a seeded
// generator, duplicates kept as replaces. Lookups are random addresses (mostly hitting
// something, as the covering /8../16 prefixes make sure) and addresses inside installed
// prefixes.

import { AFI, type Prefix } from '../src/lib/ip.js';
import type { FibChange, FibRoute } from '../src/fib/index.js';
import { MemoryFib } from '../src/fib/index.js';

const nRoutes = Number(process.argv[2] ?? 1_000_000);
const nLookups = Number(process.argv[3] ?? 2_000_000);

const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

let seed = 0x2545f491;
const rnd32 = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};

function randomLength(): number {
  const x = rnd32() % 1000;
  if (x < 600) return 24;
  if (x < 700) return 23;
  if (x < 780) return 22;
  if (x < 840) return 21;
  if (x < 880) return 20;
  if (x < 960) return 16 + (rnd32() % 4);
  if (x < 990) return 8 + (rnd32() % 8);
  return 25 + (rnd32() % 8);
}

const gateway = new Uint8Array([198, 18, 0, 2]);
const hops = [{ gateway }];
const routes: FibRoute[] = new Array<FibRoute>(nRoutes);
for (let i = 0; i < nRoutes; i++) {
  const len = randomLength();
  const a = len === 0 ? 0 : (rnd32() & (-1 << (32 - len))) >>> 0;
  const prefix: Prefix = {
    afi: AFI.IPv4,
    addr: new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]),
    len,
  };
  routes[i] = { prefix, nextHops: hops };
}
const changes: FibChange[] = routes.map((route) => ({ op: 'replace', route }));

const probes: Uint8Array[] = [];
for (let i = 0; i < nLookups; i++) {
  const a =
    i % 2 === 0
      ? rnd32()
      : ((): number => {
          const p = routes[rnd32() % nRoutes]!.prefix;
          const base =
            ((p.addr[0]! << 24) | (p.addr[1]! << 16) | (p.addr[2]! << 8) | p.addr[3]!) >>> 0;
          return (base | (rnd32() & (p.len === 32 ? 0 : -1 >>> p.len))) >>> 0;
        })();
  probes.push(new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]));
}

const heap0 = heapMB();
const fib = new MemoryFib();
const chunk = 10_000;
let t0 = process.hrtime.bigint();
for (let i = 0; i < changes.length; i += chunk) fib.applySync(changes.slice(i, i + chunk));
const insertNs = Number(process.hrtime.bigint() - t0);
const heap1 = heapMB();

let hits = 0;
t0 = process.hrtime.bigint();
for (let i = 0; i < probes.length; i++) if (fib.lookup(probes[i]!) !== undefined) hits++;
const lookupNs = Number(process.hrtime.bigint() - t0);

t0 = process.hrtime.bigint();
for (let i = 0; i < changes.length; i += chunk) {
  fib.applySync(
    changes
      .slice(i, i + chunk)
      .map((c) => ({ op: 'delete', prefix: (c as { route: FibRoute }).route.prefix })),
  );
}
const deleteNs = Number(process.hrtime.bigint() - t0);

console.log(
  `routes      ${nRoutes} (${fib.size === 0 ? 'all deleted at the end' : `${fib.size} left`})`,
);
console.log(
  `insert      ${(insertNs / nRoutes).toFixed(0)} ns/route (${(insertNs / 1e6).toFixed(0)} ms, via applySync with validation)`,
);
console.log(
  `lookup      ${(lookupNs / nLookups).toFixed(0)} ns/lookup (${nLookups} lookups, ${((100 * hits) / nLookups).toFixed(1)} % matched)`,
);
console.log(`delete      ${(deleteNs / nRoutes).toFixed(0)} ns/route`);
console.log(
  `trie heap   ${(heap1 - heap0).toFixed(0)} MB${gc ? '' : ' (run with --expose-gc for a stable figure)'}`,
);
