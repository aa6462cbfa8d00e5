// Route comparison for the BGP decision process, RFC 4271 §9.1.2.2 "Breaking Ties
// (Phase 2)", with RFC 4456 §9 (route reflection), RFC 5065 §5.3 (confederations),
// RFC 5004 (optional oldest-route preference) and RFC 7911 (ADD-PATH).
//
// The RFC. Phase 2 first drops routes whose NEXT_HOP cannot be resolved (§9.1.2.1), takes
// the highest degree of preference (LOCAL_PREF for internal routes, a policy value for
// external ones), and among equals runs a tie-breaking *elimination* over the whole set:
//   a) remove routes with longer AS_PATHs (an AS_SET counts as 1);
//   b) remove routes with a higher ORIGIN (IGP < EGP < INCOMPLETE);
//   c) among routes learned from the same neighbouring AS, remove those with a higher
//      MULTI_EXIT_DISC; a missing MED is taken as 0 (the lowest);
//   d) if any route was learned from an external peer, remove those from internal peers;
//   e) remove routes with a higher interior cost to their NEXT_HOP;
//   f) remove routes from a peer with a higher BGP Identifier;
//   g) remove routes from a peer with a higher peer address.
// RFC 4456 §9 adds: use ORIGINATOR_ID instead of the BGP Identifier when present, and
// prefer the shorter CLUSTER_LIST after (f).
//
// Our implementation: a pairwise comparison, numbered by DecisionStep; the first step that
// differs decides, and every answer says which step and why:
//   0  NEXT_HOP      a route whose next hop is unreachable loses (selectBest never picks
//                    one: such routes are not eligible at all, §9.1.2.1)
//   1  LOCAL_PREF    higher wins; a route without one gets `defaultLocalPref` (100), eBGP
//                    or iBGP alike. Import policy sets it on eBGP routes; dropping a
//                    LOCAL_PREF received from an external peer (RFC 4271 §5.1.5) is the
//                    speaker's ingress job, not ours
//   2  AS_PATH       shorter wins (AS_SET 1, confederation segments 0); skipped with
//                    `ignoreAsPathLength`
//   3  ORIGIN        lower wins
//   4  MED           lower wins, only between routes whose neighbour AS (AttrSet.neighbourAs)
//                    is the same, unless `alwaysCompareMed`. Missing MED = 0, or worse than
//                    any MED (2^32) with `medMissingAsWorst`. Routes whose path starts with
//                    an AS_SET have no neighbour AS and compare MEDs only with
//                    `alwaysCompareMed`; routes with an empty path (ours, or from our
//                    confederation) all share neighbour AS "local" and compare
//   5  EBGP          eBGP-learned wins over iBGP-learned (confederation peers are iBGP)
//   6  IGP_COST      lower IGP cost to the next hop wins
//   7  OLDER         only with `preferOlder` and only between two eBGP routes (RFC 5004):
//                    the one received first wins. Off by default: replicas of a
//                    bug-tolerant router must reach identical decisions, and arrival order
//                    is exactly what differs between them
//   8  ROUTER_ID     lower wins: ORIGINATOR_ID if present, else the peer's BGP Identifier
//   9  CLUSTER_LIST  shorter wins
//   10 PEER_ADDRESS  lower peer address wins (IPv4 before IPv6); then the lower internal
//                    peer id, so two distinct peers never tie
//   11 PATH_ID       lower ADD-PATH path ID wins, so two paths from one peer never tie
//   12 EQUAL         same peer and path ID: the same route
// With every step a strict order on its key, the comparison is antisymmetric and returns 0
// only for the same (peer, path ID). It is transitive except through step 4 (MED counts
// only within a neighbour AS); select.ts explains how selection stays independent of
// candidate order despite that.
//
// Deviations: none from the RFC's order. Weight (a Cisco-local pre-step) is not
// implemented; policy expresses it through LOCAL_PREF.

import { formatAddr } from '../lib/ip.js';
import { ORIGIN } from '../wire/index.js';
import type { Route } from '../rib/route.js';
import { compareAddresses } from '../rib/route.js';

export const DecisionStep = {
  NEXT_HOP: 0,
  LOCAL_PREF: 1,
  AS_PATH: 2,
  ORIGIN: 3,
  MED: 4,
  EBGP: 5,
  IGP_COST: 6,
  OLDER: 7,
  ROUTER_ID: 8,
  CLUSTER_LIST: 9,
  PEER_ADDRESS: 10,
  PATH_ID: 11,
  EQUAL: 12,
} as const;
export type DecisionStep = (typeof DecisionStep)[keyof typeof DecisionStep];

const STEP_NAMES: readonly string[] = Object.keys(DecisionStep);

/** Name of a step, e.g. "MED". */
export function stepName(step: DecisionStep): string {
  return STEP_NAMES[step] ?? String(step);
}

export interface DecisionOptions {
  /** Compare MED between routes from different neighbour ASes too. Default false. */
  readonly alwaysCompareMed?: boolean;
  /**
   * Select per neighbour AS first, then among the group winners (select.ts). Default
   * true. Either way selection is independent of candidate order.
   */
  readonly deterministicMed?: boolean;
  /** A missing MED is worse than any MED instead of 0. Default false. */
  readonly medMissingAsWorst?: boolean;
  /** Skip step 2 (AS_PATH length). Default false. */
  readonly ignoreAsPathLength?: boolean;
  /** Step 7 (RFC 5004). Default false; see the header. */
  readonly preferOlder?: boolean;
  /** LOCAL_PREF for routes that carry none. Default 100. */
  readonly defaultLocalPref?: number;
}

/** Options with every default filled in (compareFast reads these without `??`). */
export interface ResolvedOptions {
  readonly alwaysCompareMed: boolean;
  readonly deterministicMed: boolean;
  readonly medMissingAsWorst: boolean;
  readonly ignoreAsPathLength: boolean;
  readonly preferOlder: boolean;
  readonly defaultLocalPref: number;
}

export function resolveOptions(o?: DecisionOptions): ResolvedOptions {
  return {
    alwaysCompareMed: o?.alwaysCompareMed ?? false,
    deterministicMed: o?.deterministicMed ?? true,
    medMissingAsWorst: o?.medMissingAsWorst ?? false,
    ignoreAsPathLength: o?.ignoreAsPathLength ?? false,
    preferOlder: o?.preferOlder ?? false,
    defaultLocalPref: o?.defaultLocalPref ?? 100,
  };
}

export const DEFAULT_OPTIONS: ResolvedOptions = resolveOptions();

const MED_MISSING_WORST = 2 ** 32;

/** MED as compared: the attribute, or the missing-MED value. */
export function effectiveMed(r: Route, o: ResolvedOptions): number {
  const m = r.attrs.med;
  return m !== undefined ? m : o.medMissingAsWorst ? MED_MISSING_WORST : 0;
}

/** Whether step 4 applies between two routes. */
export function medComparable(a: Route, b: Route, o: ResolvedOptions): boolean {
  if (o.alwaysCompareMed) return true;
  const na = a.attrs.neighbourAs;
  return na >= 0 && na === b.attrs.neighbourAs;
}

/** ORIGINATOR_ID when present, else the peer's BGP Identifier (RFC 4456 §9). */
function routerId(r: Route): number {
  const o = r.attrs.originatorId;
  return o !== undefined ? o : r.peer.routerId;
}

/**
 * The hot-path comparison: negative when `a` is preferred, positive when `b` is, 0 for
 * the same route. The magnitude is the deciding step + 1.
 */
export function compareFast(a: Route, b: Route, o: ResolvedOptions): number {
  if (a.unreachable !== b.unreachable) return a.unreachable ? 1 : -1;
  const aa = a.attrs;
  const ba = b.attrs;
  if (aa !== ba) {
    const lpA = aa.localPref !== undefined ? aa.localPref : o.defaultLocalPref;
    const lpB = ba.localPref !== undefined ? ba.localPref : o.defaultLocalPref;
    if (lpA !== lpB) return lpA > lpB ? -2 : 2;
    if (!o.ignoreAsPathLength && aa.asPathLength !== ba.asPathLength) {
      return aa.asPathLength < ba.asPathLength ? -3 : 3;
    }
    if (aa.origin !== ba.origin) return aa.origin < ba.origin ? -4 : 4;
    if (medComparable(a, b, o)) {
      const mA = effectiveMed(a, o);
      const mB = effectiveMed(b, o);
      if (mA !== mB) return mA < mB ? -5 : 5;
    }
  }
  if (a.peer.ibgp !== b.peer.ibgp) return a.peer.ibgp ? 6 : -6;
  if (a.igpCost !== b.igpCost) return a.igpCost < b.igpCost ? -7 : 7;
  if (o.preferOlder && !a.peer.ibgp && !b.peer.ibgp && a.since !== b.since) {
    return a.since < b.since ? -8 : 8;
  }
  const idA = routerId(a);
  const idB = routerId(b);
  if (idA !== idB) return idA < idB ? -9 : 9;
  if (aa.clusterListLength !== ba.clusterListLength) {
    return aa.clusterListLength < ba.clusterListLength ? -10 : 10;
  }
  if (a.peer !== b.peer) {
    const d = compareAddresses(a.peer.address, b.peer.address);
    if (d !== 0) return d < 0 ? -11 : 11;
    if (a.peer.id !== b.peer.id) return a.peer.id < b.peer.id ? -11 : 11;
  }
  if (a.pathId !== b.pathId) return a.pathId < b.pathId ? -12 : 12;
  return 0;
}

export interface Comparison {
  /** -1: `a` is preferred; 1: `b` is preferred; 0: the same route. */
  readonly result: -1 | 0 | 1;
  readonly step: DecisionStep;
  /** Why the winner won, in words, winner's value first. */
  readonly reason: string;
}

/** Compare two routes and say why (for logs, the API and tests; compareFast decides). */
export function compare(a: Route, b: Route, opts?: DecisionOptions | ResolvedOptions): Comparison {
  const o = isResolved(opts) ? opts : resolveOptions(opts);
  const c = compareFast(a, b, o);
  if (c === 0) return { result: 0, step: DecisionStep.EQUAL, reason: 'same peer and path ID' };
  const step = (Math.abs(c) - 1) as DecisionStep;
  const [w, l] = c < 0 ? [a, b] : [b, a];
  return { result: c < 0 ? -1 : 1, step, reason: explain(step, w, l, o) };
}

function isResolved(o: DecisionOptions | ResolvedOptions | undefined): o is ResolvedOptions {
  return (
    o !== undefined &&
    typeof o.alwaysCompareMed === 'boolean' &&
    typeof o.deterministicMed === 'boolean' &&
    typeof o.medMissingAsWorst === 'boolean' &&
    typeof o.ignoreAsPathLength === 'boolean' &&
    typeof o.preferOlder === 'boolean' &&
    typeof o.defaultLocalPref === 'number'
  );
}

const ORIGIN_NAMES: Record<number, string> = {
  [ORIGIN.IGP]: 'IGP',
  [ORIGIN.EGP]: 'EGP',
  [ORIGIN.INCOMPLETE]: 'INCOMPLETE',
};

function fmtId(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function fmtMed(r: Route, o: ResolvedOptions): string {
  return r.attrs.med !== undefined
    ? String(r.attrs.med)
    : `missing, taken as ${o.medMissingAsWorst ? 'worst' : '0'}`;
}

function explain(step: DecisionStep, w: Route, l: Route, o: ResolvedOptions): string {
  const wa = w.attrs;
  const la = l.attrs;
  switch (step) {
    case DecisionStep.NEXT_HOP:
      return 'the other route’s next hop is unreachable';
    case DecisionStep.LOCAL_PREF: {
      const lp = (r: Route): string =>
        r.attrs.localPref !== undefined
          ? String(r.attrs.localPref)
          : `${o.defaultLocalPref} by default`;
      return `higher LOCAL_PREF (${lp(w)} > ${lp(l)})`;
    }
    case DecisionStep.AS_PATH:
      return `shorter AS_PATH (${wa.asPathLength} < ${la.asPathLength})`;
    case DecisionStep.ORIGIN:
      return `lower ORIGIN (${ORIGIN_NAMES[wa.origin] ?? wa.origin} < ${ORIGIN_NAMES[la.origin] ?? la.origin})`;
    case DecisionStep.MED: {
      const where =
        wa.neighbourAs >= 0 && wa.neighbourAs === la.neighbourAs
          ? `from the same neighbour AS ${wa.neighbourAs === 0 ? '(local)' : wa.neighbourAs}`
          : 'across neighbour ASes (always-compare-med)';
      return `lower MED (${fmtMed(w, o)} < ${fmtMed(l, o)}) ${where}`;
    }
    case DecisionStep.EBGP:
      return 'learned over eBGP, the other over iBGP';
    case DecisionStep.IGP_COST:
      return `lower IGP cost to the next hop (${w.igpCost} < ${l.igpCost})`;
    case DecisionStep.OLDER:
      return `older eBGP route (received at ${w.since} < ${l.since})`;
    case DecisionStep.ROUTER_ID: {
      const id = (r: Route): string =>
        r.attrs.originatorId !== undefined
          ? `ORIGINATOR_ID ${fmtId(r.attrs.originatorId)}`
          : `router ID ${fmtId(r.peer.routerId)}`;
      return `lower router ID (${id(w)} < ${id(l)})`;
    }
    case DecisionStep.CLUSTER_LIST:
      return `shorter CLUSTER_LIST (${wa.clusterListLength} < ${la.clusterListLength})`;
    case DecisionStep.PEER_ADDRESS: {
      const d = compareAddresses(w.peer.address, l.peer.address);
      return d !== 0
        ? `lower peer address (${formatAddr(w.peer.address)} < ${formatAddr(l.peer.address)})`
        : `same peer address, lower internal peer id (${w.peer.id} < ${l.peer.id})`;
    }
    case DecisionStep.PATH_ID:
      return `lower path ID (${w.pathId} < ${l.pathId}) from the same peer`;
    default:
      return 'same peer and path ID';
  }
}
