// The session engine's contract with the route engine (OpenBGPD's split of session and
// route decision engines): configuration of one neighbour's sessions, the events a Peer
// raises, its counters, and what stopping a session sends (RFC 4486 Cease subcodes,
// RFC 9003 Shutdown Communication).

import type { BgpState, PeerConfig } from '../../fsm/index.js';
import type { Endpoint, TransportStats } from '../../net/transport.js';

export interface PeerSessionConfig {
  /** Name in logs and events; default "address:port" of the neighbour. */
  readonly name?: string;
  /** Where the neighbour listens (port 179 in production). */
  readonly remote: Endpoint;
  /** Source address / port of our outgoing connections; default: chosen by the kernel. */
  readonly local?: { readonly address?: string; readonly port?: number };
  /** FSM settings: our AS and Identifier, expected peer AS, capabilities, timers, passive… */
  readonly fsm: PeerConfig;
}

/** The NOTIFICATION that ended a session, and who sent it. */
export interface DownNotification {
  readonly code: number;
  readonly subcode: number;
  /** True: we sent it; false: the peer did. */
  readonly sent: boolean;
}

export interface MessageCounts {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

export interface LastErrorInfo {
  readonly direction: 'sent' | 'received' | 'local';
  /** NOTIFICATION code and subcode, when there was one. */
  readonly code?: number;
  readonly subcode?: number;
  /** ms on the injected clock. */
  readonly at: number;
}

export interface PeerStats {
  readonly state: BgpState;
  readonly messagesIn: Readonly<MessageCounts>;
  readonly messagesOut: Readonly<MessageCounts>;
  /** When the session became Established (ms on the injected clock), else null. */
  readonly establishedAt: number | null;
  /** Time in Established so far (ms), 0 when not Established. */
  readonly uptimeMs: number;
  /** Times the session went down from Established. */
  readonly flaps: number;
  readonly lastError: string | null;
  /** Where the last error came from (a NOTIFICATION sent or received, or local) and when. */
  readonly lastErrorInfo: LastErrorInfo | null;
  readonly lastDownReason: string | null;
  /** Encoded UPDATE / ROUTE-REFRESH messages waiting for the transport to drain. */
  readonly queuedMessages: number;
  readonly transport: TransportStats | null;
}

export interface StopOptions {
  /** Must be 6 (Cease) if given: stopping a session always sends a Cease. */
  readonly code?: number;
  /** Cease subcode (RFC 4486); default 2, Administrative Shutdown. */
  readonly subcode?: number;
  /** NOTIFICATION data as is (overrides the two below). */
  readonly data?: Uint8Array;
  /** RFC 9003 Shutdown Communication (subcodes 2 and 4). */
  readonly shutdownMessage?: string;
  /** RFC 4486 §4 data of Cease 6/1: the family and the limit that was exceeded. */
  readonly maxPrefix?: { readonly afi: number; readonly safi: number; readonly limit: number };
  /**
   * AutomaticStop (RFC 4271 Event 8) instead of ManualStop: the FSM restarts the session
   * by itself after the IdleHoldTime (with damping if configured).
   */
  readonly automatic?: boolean;
}
