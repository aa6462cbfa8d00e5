// Micro-benchmark of the BTR voter (src/btr/voter.ts): nanoseconds per replica output at a
// full table, for R = 3 and R = 5 replicas and each voting strategy. Target (issue 5):
// <= 5 µs per replica output at 1,000,000 keys. Not a test; numbers depend on the machine.
//
//   npx tsc -p . && node --expose-gc dist/bench/btr-voter.js [keys=1000000] [T=1000]
//
// Phases, on a ManualClock (virtual time; the voter's check timer fires inside advance()):
// - load:   every replica announces every key (IPv4 /24 keys, as routeKey makes them),
//           replicas taking turns in blocks of 1000 keys, 1 ms of virtual time per block;
// - settle: T passes, the steady-state checks queued by the load run;
// - churn:  keys/2 updates to random keys, each output by every replica in turn; one replica
//           outputs a wrong value for 1% of them (a slave under master/slave);
// - detect: T passes, the checks flag the faulty replica;
// - remove / failover: one replica is removed (every key re-voted); under master/slave the
//           master is replaced (every key compared with the new master).
// Values are canonical-length strings (70 octets), distinct objects per replica with equal
// contents, so comparisons go by content as they do in the hypervisor.

import { ManualClock } from '../src/lib/clock.js';
import { Voter, type Strategy, type VoteKey, type VoteValue } from '../src/btr/index.js';

const nKeys = Number(process.argv[2] ?? 1_000_000);
const T = Number(process.argv[3] ?? 1000);
const POOL = 4096;

const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = (): number => {
  gc?.();
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
};

// Deterministic pseudo-random numbers (runs are comparable).
let seed = 12345;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};

const keys: number[] = [];
for (let i = 0; i < nKeys; i++) keys.push((((0x0b000000 + i * 256) >>> 0) >>> 8) * 32 + 24);

/** Per replica, its own string objects for the same contents. */
function pools(r: number): string[][] {
  const out: string[][] = [];
  for (let p = 0; p < r; p++) {
    const pool: string[] = [];
    for (let i = 0; i < POOL; i++) {
      // Built by concatenation and flattened, so each replica holds its own copy.
      const s = ('\x01\x04' + 'route-attributes-'.repeat(4) + String(i).padStart(6, '0')).split('');
      pool.push(s.join(''));
    }
    out.push(pool);
  }
  return out;
}

const nsPer = (t0: bigint, n: number): number =>
  Math.round(Number(process.hrtime.bigint() - t0) / n);
const msSince = (t0: bigint): number =>
  Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;

interface Result {
  strategy: string;
  replicas: number;
  loadNsPerOutput: number;
  churnNsPerOutput: number;
  settleMs: number;
  detectMs: number;
  faultsFlagged: number;
  removeReplicaMs: number;
  failoverMs?: number;
  decisions: number;
  heapMB: number;
}

function bench(strategy: Strategy, r: number): Result {
  const clock = new ManualClock(0);
  let decisions = 0;
  let faults = 0;
  const sink = {
    decision(_k: VoteKey, _v: VoteValue | undefined): void {
      decisions++;
    },
    event(e: { type: string }): void {
      if (e.type === 'fault') faults++;
    },
  };
  const voter = new Voter({ strategy, clock, steadyMs: T, sink, initialKeys: nKeys });
  for (let i = 0; i < r; i++) voter.addReplica(`r${i}`);
  const vals = pools(r);
  const valueOf = (k: number): number => ((k * 2654435761) % POOL) >>> 0;

  // load
  const block = 1000;
  let t0 = process.hrtime.bigint();
  for (let b = 0; b < nKeys; b += block) {
    const end = Math.min(nKeys, b + block);
    for (let p = 0; p < r; p++) {
      const pool = vals[p]!;
      for (let i = b; i < end; i++) voter.replicaOutput(p, keys[i]!, pool[valueOf(i)]);
    }
    clock.advance(1);
  }
  const loadNs = nsPer(t0, nKeys * r);

  t0 = process.hrtime.bigint();
  clock.advance(T);
  const settleMs = msSince(t0);

  // churn, replica `bad` wrong on 1% of updates
  const bad = r - 1;
  const updates = nKeys >>> 1;
  t0 = process.hrtime.bigint();
  for (let u = 0; u < updates; u++) {
    const k = rnd(nKeys);
    const v = rnd(POOL);
    const wrong = u % 100 === 0;
    for (let p = 0; p < r; p++) {
      voter.replicaOutput(p, keys[k]!, vals[p]![p === bad && wrong ? (v + 1) % POOL : v]);
    }
    if (u % 1000 === 999) clock.advance(1);
  }
  const churnNs = nsPer(t0, updates * r);

  t0 = process.hrtime.bigint();
  clock.advance(T);
  const detectMs = msSince(t0);
  const faultsFlagged = faults;
  const heap = heapMB();

  let failoverMs: number | undefined;
  if (strategy.kind === 'master-slave') {
    t0 = process.hrtime.bigint();
    voter.setMaster(1);
    failoverMs = msSince(t0);
  }
  t0 = process.hrtime.bigint();
  voter.removeReplica(bad);
  const removeReplicaMs = msSince(t0);
  voter.dispose();

  return {
    strategy: strategy.kind + (strategy.kind === 'wait-for-consensus' ? `(K=${r})` : ''),
    replicas: r,
    loadNsPerOutput: loadNs,
    churnNsPerOutput: churnNs,
    settleMs,
    detectMs,
    faultsFlagged,
    removeReplicaMs,
    ...(failoverMs !== undefined ? { failoverMs } : {}),
    decisions,
    heapMB: heap,
  };
}

const strategies: Strategy[] = [
  { kind: 'continuous-majority' },
  { kind: 'wait-for-consensus' },
  { kind: 'master-slave' },
];
const results: Result[] = [];
for (const r of [3, 5]) {
  for (const s of strategies) results.push(bench(s, r));
}
console.log(
  JSON.stringify(
    {
      bench: 'btr-voter',
      keys: nKeys,
      steadyMs: T,
      node: process.version,
      targetNsPerOutput: 5000,
      results,
    },
    null,
    2,
  ),
);
