// Router grafting's inactive session (NSDI'10 §3.1, ARCHITECTURE.md "inactive session
// state"): the migrate-to router holds the session's configuration (and RIB) without
// touching the network, then takes over the live TCP connection (through TCPR or
// TCP_REPAIR) and continues in Established with the negotiated state it imported — no
// OPEN exchange, since the peer never saw the session go down (RFC 4271 §8.2.2
// Established is entered directly).

import type { Negotiated } from './negotiate.js';
import type { Session, Transition } from './session.js';
import type { Action } from './actions.js';
import { jitterFactor } from './random.js';

/**
 * Activate an inactive session directly into Established with imported negotiated state
 * (TCP connection takeover). Throws if the session is not an inactive one in Idle: taking
 * over a connection from a session that already uses the network is a caller bug.
 */
export function importEstablished(s: Session, negotiated: Negotiated, now: number): Transition {
  if (!s.inactive || s.state !== 'Idle') {
    throw new Error(
      `importEstablished needs an inactive session in Idle, not ${s.inactive ? '' : 'an active one in '}${s.state}`,
    );
  }
  const actions: Action[] = [];
  let timers = s.timers;
  let rngState = s.rngState;
  if (negotiated.holdTime > 0) {
    const hold = now + negotiated.holdTime * 1000;
    let ka = negotiated.keepaliveTime * 1000;
    if (s.config.jitter) {
      const [v, next] = s.config.rng(rngState);
      rngState = next >>> 0;
      ka = Math.floor(ka * jitterFactor(v));
    }
    timers = timers.start('HoldTimer', hold).start('KeepaliveTimer', now + ka);
    actions.push({ type: 'start-timer', name: 'HoldTimer', deadline: hold });
    actions.push({ type: 'start-timer', name: 'KeepaliveTimer', deadline: now + ka });
  }
  actions.push({ type: 'session-established', negotiated });
  return {
    state: {
      ...s,
      state: 'Established',
      inactive: false,
      started: true,
      timers,
      rngState,
      negotiated,
      establishedAt: now,
    },
    actions,
    reason:
      `Activate in Idle: connection taken over with imported state ` +
      `(AS${negotiated.peerAs} ${negotiated.peerBgpId}, hold time ${negotiated.holdTime} s); → Established`,
    event: 'Activate',
    from: 'Idle',
    to: 'Established',
  };
}
