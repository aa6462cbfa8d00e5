// Seeded pseudo-random numbers for the jitter of RFC 4271 §10 (ConnectRetryTimer and
// KeepaliveTimer are multiplied by a factor uniform in [0.75, 1.0]). The generator is a
// pure function of its state, so the state travels inside the session: replaying the same
// events from the same seed gives the same deadlines, and an exported session resumes the
// same sequence.

/** One step of a seeded generator: a value in [0, 1) and the next state (uint32). */
export type Rng = (state: number) => readonly [value: number, next: number];

/** mulberry32: small, fast, and good enough for timer jitter (not for cryptography). */
export const mulberry32: Rng = (state) => {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const value = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  return [value, next];
};

/** RFC 4271 §10: the base value times a random factor uniform in [0.75, 1.0]. */
export function jitterFactor(value: number): number {
  return 0.75 + 0.25 * value;
}
