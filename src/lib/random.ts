// Seeded randomness (ARCHITECTURE.md: pure cores take time and randomness injected). One
// small, fast generator for every place that needs a reproducible stream: test data,
// benchmark workloads, fault-injection schedules, demo timing.

/** mulberry32: a seeded uniform source in [0, 1); the same seed gives the same stream. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The value the (n + 1)-th call of `seededRandom(seed)` returns, computed directly: mulberry32
 * is counter-based (its state after n calls is seed + n × 0x6d2b79f5), so any position of a
 * stream can be read without generating the ones before it. Simulations use it to give each
 * (replica, input) pair its own fixed draw, whatever order the inputs are visited in.
 */
export function seededRandomAt(seed: number, n: number): number {
  let t = ((seed >>> 0) + Math.imul((n + 1) >>> 0, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
