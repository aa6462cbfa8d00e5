// Public API of the bug-tolerant router's pure core (BTR paper §3–4): the voter shared by
// the update voters and the FIB voter, canonical route values, and vote keys.

export {
  Voter,
  RecordingSink,
  type DecisionReason,
  type Disagreement,
  type ReplicaId,
  type ReplicaInfo,
  type Strategy,
  type VoteKey,
  type VoteValue,
  type VoterEvent,
  type VoterOptions,
  type VoterSink,
  type VoterStats,
} from './voter.js';
export {
  CANONICAL_FIB,
  CANONICAL_ROUTE,
  canonicalFibValue,
  canonicalRoute,
  canonicalRouteBytes,
  canonicalSegments,
  canonicalUpdate,
  canonicalUpdateMessage,
  describeValue,
  type CanonicalEntry,
  type CanonicalOptions,
  type CanonicalUpdate,
} from './canonical.js';
export { describeKey, fibKey, keyRoute, routeKey, type KeyedRoute } from './canonical-key.js';
