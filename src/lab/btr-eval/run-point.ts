// Runs one experiment point of the BTR evaluation (plan.ts) on a loaded trace.

import { estimate, type Estimate } from './estimator.js';
import type { DelayProfile, PointSpec } from './plan.js';
import { MEASURED_DELAY, PAPER_SCALE_DELAY, type DelayModel } from './replica-model.js';
import { simulate, type SimResult } from './simulate.js';
import type { PerKeyChanges, Trace } from './trace.js';

export type PointResult =
  | { readonly kind: 'direct'; readonly sim: SimResult }
  | { readonly kind: 'estimate'; readonly estimate: Estimate };

export function delayModel(p: DelayProfile): DelayModel {
  return p === 'measured' ? MEASURED_DELAY : PAPER_SCALE_DELAY;
}

export function runPoint(
  trace: Trace,
  perKey: PerKeyChanges,
  spec: PointSpec,
  onProgress?: (fraction: number) => void,
): PointResult {
  // What a direct run and the estimator are both given.
  const common = {
    trace,
    perKey,
    vote: spec.vote,
    delay: delayModel(spec.delay),
    seed: spec.seed,
    bootstrapMs: spec.bootstrapMs,
  };
  if (spec.kind === 'direct') {
    const endMs = spec.hours * 3_600_000;
    const sim = simulate({
      ...common,
      startMs: 0,
      endMs,
      ...(spec.bugs ? { bugs: spec.bugs } : {}),
      measure: { waiting: spec.measure, overhead: spec.measure },
      ...(onProgress ? { onProgress: (at: number) => onProgress(at / endMs) } : {}),
    });
    return { kind: 'direct', sim };
  }
  const e = estimate({
    ...common,
    durationMs: spec.durationMs,
    samples: spec.samples,
    ...(spec.targetPool !== undefined ? { targetPool: spec.targetPool } : {}),
    ...(spec.kinds ? { kinds: spec.kinds } : {}),
    ...(onProgress ? { onProgress: (d: number, t: number) => onProgress(d / t) } : {}),
  });
  return { kind: 'estimate', estimate: e };
}
