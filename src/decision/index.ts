// Public API of the BGP decision process (RFC 4271 §9.1.2.2): pairwise comparison with
// reasons, and best-path selection independent of candidate order.

export {
  DecisionStep,
  DEFAULT_OPTIONS,
  compare,
  compareFast,
  effectiveMed,
  medComparable,
  resolveOptions,
  stepName,
  type Comparison,
  type DecisionOptions,
  type ResolvedOptions,
} from './compare.js';
export { bestSelector, selectBest, selectBestRoute, type Selection } from './select.js';
