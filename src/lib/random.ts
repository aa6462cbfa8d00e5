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
