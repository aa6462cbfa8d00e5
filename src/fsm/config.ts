// Per-peer session attributes of the FSM (RFC 4271 §8: mandatory ConnectRetryTime,
// HoldTime, KeepaliveTime; §8.1.1 optional attributes AllowAutomaticStart/Stop,
// DampPeerOscillations, IdleHoldTime, DelayOpen/DelayOpenTime, PassiveTcpEstablishment,
// SendNOTIFICATIONwithoutOPEN, CollisionDetectEstablishedState) and the local OPEN they
// produce (RFC 4271 §4.2). Times are in seconds, as BGP configures them.

import { parseIPv4 } from '../lib/ip.js';
import {
  capFourOctetAs,
  capMultiprotocol,
  capRouteRefresh,
  makeOpen,
  type Capability,
  type OpenMessage,
} from '../wire/index.js';
import { mulberry32, type Rng } from './random.js';

export interface PeerConfig {
  /** Our ASN (4-octet values go in the 4-octet AS capability, RFC 6793). */
  readonly localAs: number;
  /** Expected peer ASN; absent = accept any (e.g. a dynamic neighbour). */
  readonly peerAs?: number;
  /** Our BGP Identifier: 4 octets or dotted quad. */
  readonly bgpId: Uint8Array | string;
  /** Capabilities of our OPEN; default: IPv4 unicast, route refresh, 4-octet AS. */
  readonly capabilities?: readonly Capability[];
  /** Proposed hold time (s): 0, or at least 3. Default 90 (RFC 4271 §10). */
  readonly holdTime?: number;
  /** Refuse a peer's non-zero hold time below this (s) with 2/6 (RFC 4271 §10 "MAY"). */
  readonly minHoldTime?: number;
  /** HoldTimer while waiting for the peer's OPEN (s). Default 240 ("4 minutes", §8.2.2). */
  readonly largeHoldTime?: number;
  /** ConnectRetryTime (s). Default 120 (RFC 4271 §10). */
  readonly connectRetryTime?: number;
  /** Never initiate connections, only accept them. */
  readonly passive?: boolean;
  /** Wait DelayOpenTime after the TCP connection before sending our OPEN (§8.1.1). */
  readonly delayOpen?: boolean;
  /** DelayOpenTime (s). Default 5. */
  readonly delayOpenTime?: number;
  /** Restart by itself (after IdleHoldTime) when the session fails. Default true. */
  readonly allowAutomaticStart?: boolean;
  /** Honour AutomaticStop events (e.g. from a prefix limit). Default true. */
  readonly allowAutomaticStop?: boolean;
  /** Back off automatic restarts exponentially while the session oscillates. Default false. */
  readonly dampPeerOscillations?: boolean;
  /** Delay before an automatic restart (s); the first step of the backoff. Default 5. */
  readonly idleHoldTime?: number;
  /** Ceiling of the backoff (s). Default 300. */
  readonly idleHoldTimeMax?: number;
  /** A session Established at least this long (s) resets the backoff. Default 300. */
  readonly dampResetTime?: number;
  /**
   * Send the NOTIFICATION for an error found before our OPEN went out (DelayOpen), so the
   * peer learns why (§8.1.1 SendNOTIFICATIONwithoutOPEN). Default true.
   */
  readonly sendNotificationWithoutOpen?: boolean;
  /** Let an OPEN colliding with an Established session win by BGP Identifier (§6.8). */
  readonly collisionDetectEstablishedState?: boolean;
  /** Apply the RFC 4271 §10 jitter (×[0.75, 1.0]) to ConnectRetry and Keepalive timers. */
  readonly jitter?: boolean;
  /** Initial state of the jitter generator. Default 1. */
  readonly seed?: number;
  /** The seeded generator; default mulberry32. */
  readonly rng?: Rng;
}

/** PeerConfig with every default filled in; what a session carries. */
export interface ResolvedConfig {
  readonly localAs: number;
  readonly peerAs: number | null;
  readonly bgpId: Uint8Array;
  readonly capabilities: readonly Capability[];
  readonly holdTime: number;
  readonly minHoldTime: number;
  readonly largeHoldTime: number;
  readonly connectRetryTime: number;
  readonly passive: boolean;
  readonly delayOpen: boolean;
  readonly delayOpenTime: number;
  readonly allowAutomaticStart: boolean;
  readonly allowAutomaticStop: boolean;
  readonly dampPeerOscillations: boolean;
  readonly idleHoldTime: number;
  readonly idleHoldTimeMax: number;
  readonly dampResetTime: number;
  readonly sendNotificationWithoutOpen: boolean;
  readonly collisionDetectEstablishedState: boolean;
  readonly jitter: boolean;
  readonly seed: number;
  readonly rng: Rng;
}

/** Fill in defaults and check the values; a bad value throws, naming the key. */
export function resolveConfig(c: PeerConfig): ResolvedConfig {
  const bgpId = typeof c.bgpId === 'string' ? parseIPv4(c.bgpId) : c.bgpId;
  if (!bgpId || bgpId.length !== 4) {
    throw new Error(`bgpId ${String(c.bgpId)} is not an IPv4 address (4 octets)`);
  }
  if (bgpId.every((b) => b === 0)) throw new Error('bgpId 0.0.0.0 is not a valid BGP Identifier');
  asn('localAs', c.localAs);
  if (c.peerAs !== undefined) asn('peerAs', c.peerAs);
  const holdTime = c.holdTime ?? 90;
  seconds('holdTime', holdTime, 0, 65535);
  if (holdTime === 1 || holdTime === 2) {
    throw new Error(`holdTime ${holdTime} is not allowed: use 0 (no keepalives) or at least 3`);
  }
  const r: ResolvedConfig = {
    localAs: c.localAs,
    peerAs: c.peerAs ?? null,
    bgpId,
    capabilities: c.capabilities ?? [
      capMultiprotocol(1, 1),
      capRouteRefresh(),
      capFourOctetAs(c.localAs),
    ],
    holdTime,
    minHoldTime: c.minHoldTime ?? 0,
    largeHoldTime: c.largeHoldTime ?? 240,
    connectRetryTime: c.connectRetryTime ?? 120,
    passive: c.passive ?? false,
    delayOpen: c.delayOpen ?? false,
    delayOpenTime: c.delayOpenTime ?? 5,
    allowAutomaticStart: c.allowAutomaticStart ?? true,
    allowAutomaticStop: c.allowAutomaticStop ?? true,
    dampPeerOscillations: c.dampPeerOscillations ?? false,
    idleHoldTime: c.idleHoldTime ?? 5,
    idleHoldTimeMax: c.idleHoldTimeMax ?? 300,
    dampResetTime: c.dampResetTime ?? 300,
    sendNotificationWithoutOpen: c.sendNotificationWithoutOpen ?? true,
    collisionDetectEstablishedState: c.collisionDetectEstablishedState ?? false,
    jitter: c.jitter ?? true,
    seed: (c.seed ?? 1) >>> 0,
    rng: c.rng ?? mulberry32,
  };
  seconds('minHoldTime', r.minHoldTime, 0, 65535);
  seconds('largeHoldTime', r.largeHoldTime, 1, 65535);
  seconds('connectRetryTime', r.connectRetryTime, 1, 65535);
  seconds('delayOpenTime', r.delayOpenTime, 1, 65535);
  seconds('idleHoldTime', r.idleHoldTime, 0, 65535);
  seconds('idleHoldTimeMax', r.idleHoldTimeMax, r.idleHoldTime, 65535);
  seconds('dampResetTime', r.dampResetTime, 0, 65535);
  return r;
}

function asn(key: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) {
    throw new Error(`${key} ${v} is not an AS number (1 to 4294967295)`);
  }
}

function seconds(key: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new Error(`${key} ${v} s is out of range (${min} to ${max} s)`);
  }
}

/** The OPEN we send (RFC 4271 §4.2): My AS, proposed hold time, BGP Identifier, caps. */
export function localOpen(c: ResolvedConfig): OpenMessage {
  return makeOpen({
    asn: c.localAs,
    holdTime: c.holdTime,
    bgpId: c.bgpId,
    capabilities: c.capabilities,
  });
}
