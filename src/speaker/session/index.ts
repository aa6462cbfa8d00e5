// Public API of the session engine: Peer (one per neighbour), the listener that dispatches
// incoming connections to peers, and the types the route engine sees.

export {
  Peer,
  PEER_SNAPSHOT_FORMAT,
  type PeerSnapshot,
  type ConnectionInfo,
  type PeerDeps,
  type PeerEvents,
} from './peer.js';
export { SessionListener, addressKey, type SessionListenerDeps } from './listener.js';
export { maxPrefixData, ceaseFor, notificationText } from './cease.js';
export type {
  PeerSessionConfig,
  PeerStats,
  LastErrorInfo,
  MessageCounts,
  DownNotification,
  StopOptions,
} from './types.js';
