// Public API of the bug-tolerant router's pure core (BTR paper §3–4): the voter shared by
// the update voters and the FIB voter, canonical route values, and vote keys; the
// hypervisor's history, replicator and update vote. The hypervisor itself, which does
// the I/O, is `./hypervisor.js`.

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
export {
  HistoryReplay,
  REPLAY_CHUNK,
  UpdateHistory,
  attributeBlock,
  type HistoryRoute,
  type HistorySnapshot,
  type HistoryStats,
} from './history.js';
export {
  ReplicaFeed,
  Replicator,
  sessionMismatch,
  type DelayRange,
  type FeedEvents,
  type FeedPort,
  type FeedState,
  type FeedStats,
  type ReplicatorOptions,
  type SessionContexts,
} from './replicator.js';
export { UpdateVote, type ReplicaUpdateResult, type UpdateVoteOptions } from './update-vote.js';
export {
  decodeCanonicalRoute,
  routeFormOf,
  withAs4Attributes,
  type CanonicalRoute,
} from './canonical-attributes.js';
export {
  IPV4_UNICAST,
  endOfRib,
  endOfRibFamily,
  familyOfKey,
  pathIdOfKey,
  writeAnnouncements,
  writeWithdrawals,
  type FamilyKey,
  type RouteForm,
} from './update-writer.js';
export type {
  InstanceExit,
  InstanceFibRoute,
  InstanceSignal,
  ProxiedNeighbor,
  ReplicaProxy,
  RouterInstance,
} from './instance.js';
export { ProxyConnector, proxiedReplicaSpec } from './transparent-proxy.js';
export {
  FibPoller,
  FibVote,
  ObservedFib,
  fibGateways,
  type FibVoteEvent,
  type FibVoteOptions,
  type FibVoteStatus,
  type PolledReplica,
} from './fib-vote.js';
export { BuggyFib, BuggyTransport, type Bug } from './buggy-replica.js';
