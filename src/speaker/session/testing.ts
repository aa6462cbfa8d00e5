// Helpers for the session engine's tests: speakers (a Peer plus a listener) wired over a
// MemoryNetwork or kernel TCP, an event recorder, and a transport tap that can mute a side.

import type { Clock } from '../../lib/clock.js';
import type { PeerConfig, Negotiated } from '../../fsm/index.js';
import {
  ForwardingTransport,
  type Connector,
  type Endpoint,
  type Listener,
  type Transport,
} from '../../net/transport.js';
import { Framer, type RouteRefreshMessage, type UpdateMessage } from '../../wire/index.js';
import { frame, hex } from '../../wire/testing.js';
import { SessionListener } from './listener.js';
import { Peer, type PeerEvents } from './peer.js';
import type { DownNotification } from './types.js';

/** Lets every queued microtask and immediate run (memory transports deliver on those). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Advance a manual clock in steps, letting deliveries happen between steps. */
export async function advance(
  clock: { advance(ms: number): void },
  ms: number,
  stepMs = 500,
): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(Math.min(stepMs, ms - t));
    await flush();
  }
}

export interface Recorded {
  established: Negotiated[];
  updates: UpdateMessage[];
  refreshes: RouteRefreshMessage[];
  downs: { reason: string; notification: DownNotification | undefined }[];
  logs: { level: string; msg: string }[];
}

export function recorder(): { rec: Recorded; events: Partial<PeerEvents> } {
  const rec: Recorded = { established: [], updates: [], refreshes: [], downs: [], logs: [] };
  return {
    rec,
    events: {
      established: (_p, n) => void rec.established.push(n),
      update: (_p, u) => void rec.updates.push(u),
      routeRefresh: (_p, m) => void rec.refreshes.push(m),
      down: (_p, reason, notification) => void rec.downs.push({ reason, notification }),
      log: (_p, level, msg) => {
        rec.logs.push({ level, msg });
        if (process.env['NONSTOP_TEST_LOG']) console.error(`[${_p.name}] ${level} ${msg}`);
      },
    },
  };
}

/** A transport whose writes can be dropped (to silence a side) and whose input is kept. */
export class TapTransport extends ForwardingTransport {
  muted = false;
  readonly received: Uint8Array[] = [];

  constructor(inner: Transport) {
    super(inner);
  }
  override write(bytes: Uint8Array): boolean {
    return this.muted ? true : this.inner.write(bytes);
  }
  override onData(cb: (chunk: Uint8Array) => void): void {
    this.inner.onData((c) => {
      this.received.push(c.slice());
      cb(c);
    });
  }

  /** The messages received so far, framed. */
  messages(): Uint8Array[] {
    const f = new Framer({ extendedMessage: true });
    for (const c of this.received) f.push(c);
    const out: Uint8Array[] = [];
    for (let m = f.next(); m instanceof Uint8Array; m = f.next()) out.push(m.slice());
    return out;
  }
}

/** A connector whose transports (outgoing and accepted) are all tapped. */
export class TapConnector implements Connector {
  readonly taps: TapTransport[] = [];
  constructor(private readonly inner: Connector) {}
  async connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    const t = new TapTransport(await this.inner.connect(remote, local));
    this.taps.push(t);
    return t;
  }
  listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    return this.inner.listen(local, (t) => {
      const tap = new TapTransport(t);
      this.taps.push(tap);
      onAccept(tap);
    });
  }
  mute(on = true): void {
    for (const t of this.taps) t.muted = on;
  }
}

export interface Speaker {
  readonly peer: Peer;
  readonly listener: SessionListener;
  readonly rec: Recorded;
  readonly tap: TapConnector;
  readonly bound: Endpoint[];
}

export interface SpeakerSpec {
  /** Connector for this host (e.g. network.host(address), or a TcpConnector). */
  readonly connector: Connector;
  readonly clock: Clock;
  /** Listen here (port 0: any). */
  readonly listen: Endpoint;
  readonly neighbor: Endpoint;
  readonly localAddress?: string;
  readonly fsm: PeerConfig;
  readonly inactive?: boolean;
  readonly name?: string;
}

export async function speaker(s: SpeakerSpec): Promise<Speaker> {
  const tap = new TapConnector(s.connector);
  const { rec, events } = recorder();
  const peer = new Peer(
    {
      name: s.name ?? `${s.listen.address}→${s.neighbor.address}`,
      remote: s.neighbor,
      ...(s.localAddress ? { local: { address: s.localAddress } } : {}),
      fsm: s.fsm,
    },
    { connector: tap, clock: s.clock, events },
    { inactive: s.inactive ?? false },
  );
  const listener = new SessionListener({ connector: tap });
  listener.addPeer(peer);
  const bound = await listener.listen([s.listen]);
  return { peer, listener, rec, tap, bound };
}

/** FSM settings of test speakers: deterministic timers, short hold time. */
export function fsmConfig(
  asn: number,
  bgpId: string,
  peerAs: number,
  extra?: Partial<PeerConfig>,
): PeerConfig {
  return {
    localAs: asn,
    peerAs,
    bgpId,
    holdTime: 9,
    connectRetryTime: 5,
    idleHoldTime: 1,
    jitter: false,
    ...extra,
  };
}

// UPDATE bodies for a session with 4-octet AS (the default capabilities).
const ORIGIN_IGP = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde9'; // AS_SEQUENCE 65001
const NEXT_HOP = '40 03 04 c6120001'; // 198.18.0.1

/** UPDATE announcing 198.51.100.0/24 (ORIGIN IGP, AS_PATH 65001, NEXT_HOP 198.18.0.1). */
export const GOOD_UPDATE = frame(
  2,
  hex(`0000 0014 ${ORIGIN_IGP} ${AS_PATH} ${NEXT_HOP} 18 c63364`),
);
/** The same with ORIGIN 7: RFC 7606 §7.1 treat-as-withdraw. */
export const BAD_ORIGIN_UPDATE = frame(
  2,
  hex(`0000 0014 40 01 01 07 ${AS_PATH} ${NEXT_HOP} 18 c63364`),
);
/** NLRI with prefix length 33: RFC 7606 §5.3 session reset, 3/10. */
export const BAD_NLRI_UPDATE = frame(
  2,
  hex(`0000 0014 ${ORIGIN_IGP} ${AS_PATH} ${NEXT_HOP} 21 c6336400 00`),
);
