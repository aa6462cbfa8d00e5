// Public API of the route policy engine: pure import/export policy per peer direction.

export * from './types.js';
export {
  compilePolicy,
  compilePolicyConfig,
  resolveChain,
  defaultPolicy,
  effectiveChain,
  evaluateChain,
  evaluatePolicy,
  type CompiledPolicy,
  type CompiledTerm,
  type PolicySet,
  type Direction,
} from './policy.js';
export { EMPTY_ENV, type PolicyEnv } from './match.js';
export {
  prefixListLookup,
  prefixListPermits,
  type PrefixList,
  type PrefixListEntry,
} from './prefix-list.js';
export {
  asPathText,
  asPathRegex,
  asPathListPermits,
  routeAsPath,
  MAX_AS_PATH_REGEX_LENGTH,
  type AsPathList,
} from './as-path-regex.js';
export { COMMUNITY_NAMES } from './communities.js';
export { prependAsn, prependSegments } from './edit.js';
