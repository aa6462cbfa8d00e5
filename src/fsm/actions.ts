// What the FSM asks the I/O layer to do (RFC 4271 §8.2.2's "the local system ..." steps),
// as data. The I/O layer performs them in order; the FSM never touches a socket or a clock.

import type { TimerName } from './events.js';
import type { Negotiated } from './negotiate.js';
import type { OpenMessage, RouteRefreshMessage, UpdateMessage } from '../wire/index.js';

export type Action =
  /** Initiate a TCP connection to the peer. */
  | { readonly type: 'connect' }
  /** Close (or abandon the attempt of) this TCP connection. */
  | { readonly type: 'drop-connection' }
  /** Refuse an incoming connection request (Tcp_CR_Invalid). */
  | { readonly type: 'reject-connection' }
  | { readonly type: 'send-open'; readonly open: OpenMessage }
  | { readonly type: 'send-keepalive' }
  | {
      readonly type: 'send-notification';
      readonly code: number;
      readonly subcode: number;
      readonly data: Uint8Array;
    }
  /** The timer is (re)armed; session.timers already holds it. */
  | { readonly type: 'start-timer'; readonly name: TimerName; readonly deadline: number }
  | { readonly type: 'stop-timer'; readonly name: TimerName }
  | { readonly type: 'release-resources' }
  /** "Deletes all routes associated with this connection" (leaving Established). */
  | { readonly type: 'delete-routes' }
  /** A valid OPEN was accepted (→ OpenConfirm): time for collision detection (§6.8). */
  | { readonly type: 'open-accepted'; readonly negotiated: Negotiated }
  | { readonly type: 'session-established'; readonly negotiated: Negotiated }
  | { readonly type: 'session-down'; readonly reason: string }
  | { readonly type: 'process-update'; readonly update?: UpdateMessage }
  | { readonly type: 'process-route-refresh'; readonly message?: RouteRefreshMessage };

export type ActionType = Action['type'];
