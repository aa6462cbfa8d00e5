// What `nonstop lab btr-eval` computes: the presets, the experiment points each figure
// needs, and their stable ids (results are stored and resumed by id).

import type { BugKind } from '../../btr/fault-inject.js';
import type { BugParams, StrategyName, VoteConfig } from './simulate.js';

export type DelayProfile = 'measured' | 'paper-scale';

/** A full-table run over hours of virtual time (simulate.ts). */
export interface DirectPoint {
  readonly kind: 'direct';
  readonly vote: VoteConfig;
  readonly delay: DelayProfile;
  readonly hours: number;
  readonly bugs?: BugParams;
  /** Waiting times and updates per 1 s interval. */
  readonly measure: boolean;
  readonly bootstrapMs: number;
  readonly seed: number;
}

/** The cluster-expansion estimator at one bug duration (estimator.ts). */
export interface EstimatePoint {
  readonly kind: 'estimate';
  readonly vote: VoteConfig;
  readonly delay: DelayProfile;
  readonly durationMs: number;
  readonly samples: readonly number[];
  readonly targetPool?: number;
  readonly kinds?: readonly BugKind[];
  readonly bootstrapMs: number;
  readonly seed: number;
}

/** A validation case: a direct run at a high bug rate and the estimator with its parameters. */
export interface ValidationCase {
  readonly strategy: StrategyName;
  readonly replicas: number;
  readonly standby: number;
  readonly durationMs: number;
  readonly interArrivalMs: number;
  /** Targets from this many prefixes (default the whole table). */
  readonly targetPool?: number;
  readonly kinds?: readonly BugKind[];
}

export type PointSpec = DirectPoint | EstimatePoint;

export const GROUPS = ['fig3', 'fig4', 'fig5', 'fig6', 'waiting', 'validate', 'table'] as const;
export type Group = (typeof GROUPS)[number];
/** What `--only` takes: the point groups, and `overhead` (§5.2, real processes: overhead.ts). */
export const ONLY_CHOICES = [...GROUPS, 'overhead'] as const;
export type OnlyChoice = (typeof ONLY_CHOICES)[number];

export interface Preset {
  readonly name: 'full' | 'quick';
  readonly seed: number;
  /** T of every run but the T sweep (ms). */
  readonly steadyMs: number;
  /** The paper's baseline bug model (§5.1): 600 s episodes every 1.2 million s. */
  readonly baseline: { readonly durationMs: number; readonly interArrivalMs: number };
  readonly bootstrapMs: number;
  /** Full-table runs with the baseline bugs: waiting times, updates per second, flags. */
  readonly directHours: number;
  /** The T sweep (false negatives). */
  readonly sweepHours: number;
  readonly paperScaleHours: number;
  readonly validateHours: number;
  /** Validation against direct runs at high bug rates. */
  readonly validate: readonly ValidationCase[];
  /** Figure 3: bug durations (ms). */
  readonly durationsMs: readonly number[];
  /** Figure 4: inter-arrival times (ms). */
  readonly interArrivalsMs: readonly number[];
  /** Figure 6: T (ms). */
  readonly steadyValuesMs: readonly number[];
  /** T values at which the sweep also runs master/slave and wait-for-consensus. */
  readonly steadyCrossCheckMs: readonly number[];
  /** Estimator samples for clusters of 1, 2 and 3 episodes. */
  readonly samples: readonly number[];
}

export const STRATEGIES: readonly StrategyName[] = [
  'wait-for-consensus',
  'master-slave',
  'continuous-majority',
];

/** R = 3, 4, 5 and R = 3 + 1 standby. */
export const REPLICA_SETS: readonly { readonly replicas: number; readonly standby: number }[] = [
  { replicas: 3, standby: 0 },
  { replicas: 4, standby: 0 },
  { replicas: 5, standby: 0 },
  { replicas: 3, standby: 1 },
];

const S = 1000;

export const FULL: Preset = {
  name: 'full',
  seed: 20091201,
  steadyMs: 1000,
  baseline: { durationMs: 600 * S, interArrivalMs: 1_200_000 * S },
  bootstrapMs: 1500,
  directHours: 100,
  sweepHours: 20,
  paperScaleHours: 10,
  validateHours: 100,
  validate: [
    // First order, the whole table, global effects included.
    {
      strategy: 'master-slave',
      replicas: 3,
      standby: 0,
      durationMs: 600 * S,
      interArrivalMs: 3600 * S,
    },
    // Pairs of any kinds on a few prefixes (a buggy slave can hide a buggy master).
    {
      strategy: 'master-slave',
      replicas: 3,
      standby: 0,
      durationMs: 600 * S,
      interArrivalMs: 3600 * S,
      targetPool: 4,
    },
    // Pairs of suppressions on a few prefixes: the only way to outvote a majority.
    {
      strategy: 'continuous-majority',
      replicas: 3,
      standby: 0,
      durationMs: 600 * S,
      interArrivalMs: 2400 * S,
      targetPool: 4,
      kinds: ['suppress'],
    },
    {
      strategy: 'wait-for-consensus',
      replicas: 3,
      standby: 0,
      durationMs: 600 * S,
      interArrivalMs: 2400 * S,
      targetPool: 4,
      kinds: ['suppress'],
    },
    // Standby: pairs within the few seconds before a replacement.
    {
      strategy: 'continuous-majority',
      replicas: 3,
      standby: 1,
      durationMs: 600 * S,
      interArrivalMs: 300 * S,
      targetPool: 2,
      kinds: ['suppress'],
    },
  ],
  durationsMs: [1, 10, 60, 600, 6000, 60000].map((s) => s * S),
  interArrivalsMs: [1200, 12_000, 120_000, 1_200_000, 12_000_000].map((s) => s * S),
  steadyValuesMs: [1, 3, 10, 30, 100, 300, 1000, 3000, 10000],
  steadyCrossCheckMs: [10, 100],
  samples: [2000, 4000, 400],
};

/** The validation cases ten times faster (quick preset). */
function scaledCases(cases: readonly ValidationCase[]): ValidationCase[] {
  return cases.map((c) => ({
    ...c,
    durationMs: c.durationMs / 10,
    interArrivalMs: c.interArrivalMs / 10,
  }));
}

export const QUICK: Preset = {
  ...FULL,
  name: 'quick',
  directHours: 0.25,
  sweepHours: 0.25,
  paperScaleHours: 0.1,
  validateHours: 1,
  validate: scaledCases(FULL.validate),
  durationsMs: [1, 60, 600, 6000].map((s) => s * S),
  interArrivalsMs: [1200, 120_000, 12_000_000].map((s) => s * S),
  steadyValuesMs: [1, 10, 100, 1000],
  steadyCrossCheckMs: [10],
  samples: [60, 120, 20],
};

export function voteLabel(v: VoteConfig): string {
  const s =
    v.strategy === 'wait-for-consensus'
      ? 'wait-for-consensus (K=R)'
      : v.strategy === 'master-slave'
        ? 'master/slave'
        : 'continuous-majority';
  return `${s}, R=${v.replicas}${v.standby ? ` + ${v.standby} standby` : ''}`;
}

export function shortStrategy(s: StrategyName): string {
  return s === 'wait-for-consensus' ? 'wait' : s === 'master-slave' ? 'ms' : 'cm';
}

/** A stable, readable id: equal specs have equal ids, whatever the preset that asked. */
export function pointId(p: PointSpec): string {
  const v = p.vote;
  const base = `${shortStrategy(v.strategy)}-R${v.replicas}+${v.standby}-T${v.steadyMs}-${p.delay}-b${p.bootstrapMs}-seed${p.seed}`;
  if (p.kind === 'direct') {
    const b = p.bugs
      ? `bugs-d${p.bugs.durationMs}-i${p.bugs.interArrivalMs}${p.bugs.targetPool !== undefined ? `-pool${p.bugs.targetPool}` : ''}${p.bugs.kinds ? `-k${p.bugs.kinds.join('+')}` : ''}`
      : 'nobugs';
    return `direct-${base}-${p.hours}h-${b}${p.measure ? '-measured' : ''}`;
  }
  return `estimate-${base}-d${p.durationMs}-n${p.samples.join('.')}${p.targetPool !== undefined ? `-pool${p.targetPool}` : ''}${p.kinds ? `-k${p.kinds.join('+')}` : ''}`;
}

export interface Plan {
  readonly preset: Preset;
  readonly points: ReadonlyMap<string, PointSpec>;
  readonly groups: ReadonlyMap<Group, readonly string[]>;
}

export function configs(steadyMs: number): VoteConfig[] {
  const out: VoteConfig[] = [];
  for (const rs of REPLICA_SETS) {
    for (const strategy of STRATEGIES) out.push({ strategy, ...rs, steadyMs });
  }
  return out;
}

export function estimatePoint(
  pr: Preset,
  vote: VoteConfig,
  durationMs: number,
  targetPool?: number,
  kinds?: readonly BugKind[],
): EstimatePoint {
  return {
    kind: 'estimate',
    vote,
    delay: 'measured',
    durationMs,
    samples: pr.samples,
    ...(targetPool !== undefined ? { targetPool } : {}),
    ...(kinds ? { kinds } : {}),
    bootstrapMs: pr.bootstrapMs,
    seed: pr.seed,
  };
}

export function directPoint(
  pr: Preset,
  vote: VoteConfig,
  hours: number,
  opts: { bugs?: BugParams; measure?: boolean; delay?: DelayProfile } = {},
): DirectPoint {
  return {
    kind: 'direct',
    vote,
    delay: opts.delay ?? 'measured',
    hours,
    ...(opts.bugs ? { bugs: opts.bugs } : {}),
    measure: opts.measure ?? false,
    bootstrapMs: pr.bootstrapMs,
    seed: pr.seed,
  };
}

/** The baseline direct run of a configuration (waiting, Figure 5, direct fault rate). */
export function baselineDirect(pr: Preset, vote: VoteConfig): DirectPoint {
  return directPoint(pr, vote, pr.directHours, { bugs: pr.baseline, measure: true });
}

export function paperScaleDirect(pr: Preset, vote: VoteConfig): DirectPoint {
  return directPoint(pr, vote, pr.paperScaleHours, { measure: true, delay: 'paper-scale' });
}

export function sweepDirect(pr: Preset, vote: VoteConfig): DirectPoint {
  return directPoint(pr, vote, pr.sweepHours, { bugs: pr.baseline });
}

export function validationPoints(pr: Preset): { direct: DirectPoint; estimate: EstimatePoint }[] {
  return pr.validate.map((c) => {
    const vote: VoteConfig = {
      strategy: c.strategy,
      replicas: c.replicas,
      standby: c.standby,
      steadyMs: pr.steadyMs,
    };
    const bugs: BugParams = {
      durationMs: c.durationMs,
      interArrivalMs: c.interArrivalMs,
      ...(c.targetPool !== undefined ? { targetPool: c.targetPool } : {}),
      ...(c.kinds ? { kinds: c.kinds } : {}),
    };
    return {
      direct: directPoint(pr, vote, pr.validateHours, { bugs }),
      estimate: estimatePoint(pr, vote, c.durationMs, c.targetPool, c.kinds),
    };
  });
}

export function buildPlan(pr: Preset, only?: readonly Group[]): Plan {
  const points = new Map<string, PointSpec>();
  const groups = new Map<Group, string[]>();
  const want = (g: Group): boolean => !only || only.includes(g);
  /** Adds a point to every wanted group of `gs` (nothing when none is wanted). */
  const add = (gs: readonly Group[], p: PointSpec): void => {
    const id = pointId(p);
    for (const g of gs) {
      if (!want(g)) continue;
      points.set(id, p);
      const list = groups.get(g) ?? [];
      if (!list.includes(id)) list.push(id);
      groups.set(g, list);
    }
  };
  const all = configs(pr.steadyMs);
  for (const v of all) for (const d of pr.durationsMs) add(['fig3'], estimatePoint(pr, v, d));
  for (const v of all) add(['fig4', 'table'], estimatePoint(pr, v, pr.baseline.durationMs));
  for (const v of all) add(['fig5', 'waiting', 'table'], baselineDirect(pr, v));
  for (const v of all.filter((x) => x.replicas === 3 && x.standby === 0)) {
    add(['waiting', 'table'], paperScaleDirect(pr, v));
  }
  for (const T of pr.steadyValuesMs) {
    for (const strategy of STRATEGIES) {
      const vote: VoteConfig = { strategy, replicas: 3, standby: 0, steadyMs: T };
      add(['fig6'], estimatePoint(pr, vote, pr.baseline.durationMs));
      if (strategy === 'continuous-majority' || pr.steadyCrossCheckMs.includes(T)) {
        add(['fig6'], sweepDirect(pr, vote));
      }
    }
  }
  for (const { direct, estimate } of validationPoints(pr)) {
    add(['validate'], direct);
    add(['validate'], estimate);
  }
  return { preset: pr, points, groups };
}

/** About how many seconds a point takes on the development machine (for the ETA). */
export function pointCost(p: PointSpec): number {
  const procs = p.vote.replicas + p.vote.standby;
  if (p.kind === 'direct') return p.hours * 0.3 * procs * (p.measure ? 1.1 : 1);
  const perSimMs = (0.011 + 2.3e-5 * (p.durationMs / 1000)) * (procs / 3);
  return p.samples.reduce((a, n, i) => a + (n * (2 ** (i + 1) - 1) * perSimMs) / 1000, 0);
}
