// The per-connection session record of the FSM (RFC 4271 §8: "Session attributes required
// for each connection": State, ConnectRetryCounter, the timers, the configured times and
// the optional attributes of §8.1.1), as an immutable value that step() maps to the next.
// `inactive` is router grafting's inactive session (NSDI'10 §3.1): it holds configuration
// (and, above this layer, a RIB) without touching the network until Activate.

import { resolveConfig, type PeerConfig, type ResolvedConfig } from './config.js';
import type { FsmEventName } from './events.js';
import type { Action } from './actions.js';
import type { Negotiated } from './negotiate.js';
import type { BgpState } from './states.js';
import { TimerSet } from './timers.js';

export interface Session {
  readonly config: ResolvedConfig;
  readonly state: BgpState;
  /** Router grafting's inactive mode: Start events are refused until Activate. */
  readonly inactive: boolean;
  /** A Start was accepted and no ManualStop since: failures restart automatically. */
  readonly started: boolean;
  /** Started with a *_PassiveTcpEstablishment event: automatic restarts listen first. */
  readonly passiveStart: boolean;
  readonly timers: TimerSet;
  readonly connectRetryCounter: number;
  /** Backoff step of DampPeerOscillations: the next restart waits idleHoldTime × 2^level. */
  readonly dampLevel: number;
  /** State of the seeded jitter generator. */
  readonly rngState: number;
  /** What the OPEN exchange negotiated (OpenConfirm and Established), else null. */
  readonly negotiated: Negotiated | null;
  /** When the session entered Established (ms on the injected clock), else null. */
  readonly establishedAt: number | null;
}

/** One step of the FSM: the next session, what to do, and why. */
export interface Transition {
  readonly state: Session;
  readonly actions: readonly Action[];
  /** "<event> in <state>: <what happened>", for tracers and logs. */
  readonly reason: string;
  readonly event: FsmEventName;
  readonly from: BgpState;
  readonly to: BgpState;
}

/** A new session in Idle; `inactive` makes it a grafting target that stays off the network. */
export function createSession(config: PeerConfig, opts?: { inactive?: boolean }): Session {
  const c = resolveConfig(config);
  return {
    config: c,
    state: 'Idle',
    inactive: opts?.inactive ?? false,
    started: false,
    passiveStart: false,
    timers: TimerSet.EMPTY,
    connectRetryCounter: 0,
    dampLevel: 0,
    rngState: c.seed,
    negotiated: null,
    establishedAt: null,
  };
}
