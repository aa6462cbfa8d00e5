// Public API of the BGP finite state machine (RFC 4271 §8, §6.8, §10): pure and
// deterministic; the I/O layer feeds events and performs the returned actions.

export { BGP_STATES, isBgpState, type BgpState } from './states.js';
export {
  RFC_EVENT_NUMBER,
  TIMER_EVENT,
  TIMER_OF_EVENT,
  eventFromMessage,
  eventFromDecodeError,
  isTimerEvent,
  type FsmEvent,
  type FsmEventName,
  type RfcEventName,
  type TimerName,
  type TimerEventName,
} from './events.js';
export type { Action, ActionType } from './actions.js';
export { TimerSet, TIMER_NAMES, type Deadlines } from './timers.js';
export { mulberry32, jitterFactor, type Rng } from './random.js';
export { resolveConfig, localOpen, type PeerConfig, type ResolvedConfig } from './config.js';
export { acceptOpen, negotiate, type Negotiated, type Family } from './negotiate.js';
export { createSession, type Session, type Transition } from './session.js';
export { step } from './fsm.js';
export { importEstablished } from './inactive.js';
export {
  resolveCollision,
  bgpIdToNumber,
  type BgpIdentifier,
  type CollisionConnection,
  type CollisionInput,
  type CollisionDecision,
} from './collision.js';
export {
  exportState,
  importState,
  toJson,
  fromJson,
  SNAPSHOT_FORMAT,
  type SessionSnapshot,
  type Json,
} from './persist.js';
