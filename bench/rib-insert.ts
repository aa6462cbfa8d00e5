// Micro-benchmark: insert synthetic routes from several peers through the route engine's
// pure cores (intern → Adj-RIB-In → Loc-RIB with best-path selection) and report the time
// per route and the heap. Not a test; numbers depend on the machine.
//
//   npx tsc -p . && node --expose-gc dist/bench/rib-insert.js [prefixes=100000] [peers=10]
//
// Each peer announces every prefix (prefixes × peers routes). Attribute lists are built
// beforehand (as the codec would deliver them), about one distinct set per 3.3 prefixes
// per peer, as in a real full table (~300k sets for 1M prefixes). Interning is done per
// route, the worst case: a real UPDATE shares one attribute list among its prefixes.

import { AFI, type Prefix } from '../src/lib/ip.js';
import { bestSelector } from '../src/decision/index.js';
import {
  AdjRibIn,
  AttrPool,
  LocRib,
  PrefixIndex,
  prefixKey,
  type PeerRef,
} from '../src/rib/index.js';
import { AS4_CONTEXT, ATTR_DEFAULT_FLAGS, AS_SEG, type PathAttribute } from '../src/wire/index.js';

const nPrefixes = Number(process.argv[2] ?? 100_000);
const nPeers = Number(process.argv[3] ?? 10);
const setsPerPeer = Math.max(1, Math.round(nPrefixes / 3.3));

const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

// Deterministic pseudo-random numbers (no Math.random: runs are comparable).
let seed = 12345;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};

const prefixes: Prefix[] = [];
for (let i = 0; i < nPrefixes; i++) {
  const a = (0x0b000000 + i * 256) >>> 0; // 11.0.0.0/24, 11.0.1.0/24, ...
  prefixes.push({
    afi: AFI.IPv4,
    addr: new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, 0]),
    len: 24,
  });
}

const peers: PeerRef[] = [];
const lists: PathAttribute[][][] = [];
for (let p = 0; p < nPeers; p++) {
  peers.push({
    id: p + 1,
    address: new Uint8Array([198, 18, 0, p + 1]),
    asn: 64500 + p,
    localAsn: 65000,
    routerId: (0x0a000000 + p + 1) >>> 0,
    ibgp: p % 3 === 0,
    rrClient: false,
  });
  const per: PathAttribute[][] = [];
  for (let s = 0; s < setsPerPeer; s++) {
    const path = [64500 + p, 1000 + rnd(50), 2000 + rnd(5000)];
    if (rnd(3) === 0) path.push(3000 + rnd(20000));
    const list: PathAttribute[] = [
      { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: rnd(3) === 0 ? 2 : 0 },
      {
        kind: 'as-path',
        code: 2,
        flags: ATTR_DEFAULT_FLAGS[2]!,
        segments: [{ type: AS_SEG.AS_SEQUENCE, asns: path }],
        asnWidth: 4,
      },
      {
        kind: 'next-hop',
        code: 3,
        flags: ATTR_DEFAULT_FLAGS[3]!,
        nextHop: new Uint8Array([198, 18, 0, p + 1]),
      },
    ];
    if (rnd(2) === 0)
      list.push({ kind: 'med', code: 4, flags: ATTR_DEFAULT_FLAGS[4]!, med: rnd(100) });
    if (p % 3 === 0) {
      list.push({ kind: 'local-pref', code: 5, flags: ATTR_DEFAULT_FLAGS[5]!, localPref: 100 });
    }
    list.push({
      kind: 'communities',
      code: 8,
      flags: ATTR_DEFAULT_FLAGS[8]!,
      communities: [((64500 + p) << 16) >>> 0, (((64500 + p) << 16) | rnd(1000)) >>> 0],
    });
    per.push(list);
  }
  lists.push(per);
}

const before = heapMB();
const pool = new AttrPool();
const index = new PrefixIndex();
const loc = new LocRib(bestSelector({ deterministicMed: true }), index);
const ribs = peers.map((p) => new AdjRibIn(p, pool, index));

/** The timed loop, in a function so that V8 optimises it (module top level is not). */
function load(): void {
  for (let p = 0; p < nPeers; p++) {
    const peer = peers[p]!;
    const rib = ribs[p]!;
    const per = lists[p]!;
    for (let i = 0; i < nPrefixes; i++) {
      const slot = index.slot(prefixKey(prefixes[i]!));
      const set = pool.intern(per[i % setsPerPeer]!, AS4_CONTEXT);
      rib.announce(slot, 0, set, set);
      pool.release(set);
      loc.updateSlot(slot, peer, 0, set);
    }
  }
}

const t0 = process.hrtime.bigint();
load();
const t1 = process.hrtime.bigint();
const after = heapMB();
const routes = nPrefixes * nPeers;
const ns = Number(t1 - t0) / routes;
console.log(
  `rib-insert: ${routes} routes (${nPrefixes} prefixes × ${nPeers} peers), ` +
    `${pool.size} attribute sets, ${loc.size} Loc-RIB prefixes`,
);
console.log(
  `  ${ns.toFixed(0)} ns/insert (${((routes / Number(t1 - t0)) * 1e3).toFixed(2)} M routes/s), ` +
    `${(Number(t1 - t0) / 1e6).toFixed(0)} ms total`,
);
console.log(
  `  heap: ${(after - before).toFixed(1)} MB for the RIBs (${(((after - before) * 2 ** 20) / routes).toFixed(0)} B/route)` +
    (gc ? '' : ' (run with --expose-gc for exact figures)'),
);
