// Checking a received OPEN and computing what the session negotiated: RFC 4271 §6.2 (OPEN
// errors) and §4.2/§10 (hold time = the smaller of the two proposals; 0 means no
// KEEPALIVEs and no HoldTimer; KeepaliveTime = one third of it), RFC 6286 §2.2 (BGP
// Identifier uniqueness within an AS), RFC 5492 capabilities: RFC 4760 families, RFC 6793
// 4-octet AS, RFC 7911 ADD-PATH and RFC 8654 extended messages (both through wire's
// negotiateContexts), RFC 2918/7313 route refresh, RFC 4724 graceful restart.

import { bytesEqual } from '../lib/bytes.js';
import { err, ok, type Result } from '../lib/result.js';
import { formatIPv4 } from '../lib/ip.js';
import {
  ADD_PATH_DIR,
  ERR,
  ERR_OPEN,
  bgpError,
  negotiateContexts,
  openAsn,
  openCapabilities,
  validateOpen,
  type BgpError,
  type Capability,
  type CodecContext,
  type OpenMessage,
} from '../wire/index.js';
import { localOpen, type ResolvedConfig } from './config.js';

export type Family = readonly [afi: number, safi: number];

export interface Negotiated {
  /** Negotiated hold time (s); 0 = no HoldTimer and no KEEPALIVEs. */
  readonly holdTime: number;
  /** Interval between our KEEPALIVEs (s) before jitter; 0 when holdTime is 0. */
  readonly keepaliveTime: number;
  readonly localAs: number;
  readonly peerAs: number;
  /** Peer is in our AS (internal BGP). */
  readonly internal: boolean;
  readonly localBgpId: string;
  readonly peerBgpId: string;
  /** Both announced the 4-octet AS capability. */
  readonly as4: boolean;
  readonly extendedMessage: boolean;
  /** The peer accepts ROUTE-REFRESH (it announced the capability). */
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** AFI/SAFIs both sides announced (IPv4 unicast when a side announced none). */
  readonly families: readonly Family[];
  /** ADD-PATH per direction (RFC 7911 §4). */
  readonly addPath: { readonly receive: readonly Family[]; readonly send: readonly Family[] };
  /** The peer's graceful-restart capability when both sides announced it (RFC 4724). */
  readonly gracefulRestart: {
    readonly restartTime: number;
    readonly flags: number;
    readonly families: readonly {
      readonly afi: number;
      readonly safi: number;
      readonly flags: number;
    }[];
  } | null;
  /** Codec context to decode what the peer sends / encode what we send. */
  readonly receive: CodecContext;
  readonly send: CodecContext;
  readonly localOpen: OpenMessage;
  readonly remoteOpen: OpenMessage;
}

/** Check a received OPEN against our configuration; the error is the NOTIFICATION to send. */
export function acceptOpen(c: ResolvedConfig, remote: OpenMessage): Result<Negotiated, BgpError> {
  const invalid = validateOpen(remote, c.peerAs === null ? undefined : { peerAs: c.peerAs });
  if (invalid) return err(invalid);
  if (remote.holdTime !== 0 && remote.holdTime < c.minHoldTime) {
    return err(
      bgpError(
        'session-reset',
        ERR.OPEN_MESSAGE,
        ERR_OPEN.UNACCEPTABLE_HOLD_TIME,
        `hold time ${remote.holdTime} s is below the configured minimum ${c.minHoldTime} s`,
      ),
    );
  }
  const peerAs = openAsn(remote);
  if (peerAs === c.localAs && bytesEqual(remote.bgpId, c.bgpId)) {
    return err(
      bgpError(
        'session-reset',
        ERR.OPEN_MESSAGE,
        ERR_OPEN.BAD_BGP_IDENTIFIER,
        `internal peer uses our own BGP Identifier ${formatIPv4(c.bgpId)}`,
      ),
    );
  }
  return ok(negotiate(c, remote));
}

/** What a session with this peer negotiated (the OPEN is assumed valid). */
export function negotiate(c: ResolvedConfig, remote: OpenMessage): Negotiated {
  const local = localOpen(c);
  const holdTime = Math.min(c.holdTime, remote.holdTime);
  const lc = openCapabilities(local);
  const rc = openCapabilities(remote);
  const ctx = negotiateContexts(local, remote);
  const peerAs = openAsn(remote);
  const has = (caps: Capability[], kind: Capability['kind']): boolean =>
    caps.some((x) => x.kind === kind);
  const rgr = rc.find((x) => x.kind === 'graceful-restart');
  return {
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    localAs: c.localAs,
    peerAs,
    internal: peerAs === c.localAs,
    localBgpId: formatIPv4(c.bgpId),
    peerBgpId: formatIPv4(remote.bgpId),
    as4: ctx.receive.as4,
    extendedMessage: ctx.receive.extendedMessage,
    routeRefresh: has(rc, 'route-refresh'),
    enhancedRouteRefresh: has(rc, 'enhanced-route-refresh'),
    families: commonFamilies(lc, rc),
    addPath: {
      receive: addPathFamilies(lc, rc, ADD_PATH_DIR.RECEIVE, ADD_PATH_DIR.SEND),
      send: addPathFamilies(lc, rc, ADD_PATH_DIR.SEND, ADD_PATH_DIR.RECEIVE),
    },
    gracefulRestart:
      rgr && has(lc, 'graceful-restart')
        ? {
            restartTime: rgr.restartTime,
            flags: rgr.flags,
            families: rgr.families.map((f) => ({ ...f })),
          }
        : null,
    receive: ctx.receive,
    send: ctx.send,
    localOpen: local,
    remoteOpen: remote,
  };
}

function families(caps: Capability[]): Family[] {
  const out: Family[] = [];
  for (const x of caps) if (x.kind === 'multiprotocol') out.push([x.afi, x.safi]);
  // RFC 4760 §8: a speaker announcing no Multiprotocol capability does IPv4 unicast.
  return out.length > 0 ? out : [[1, 1]];
}

function commonFamilies(lc: Capability[], rc: Capability[]): Family[] {
  const r = families(rc);
  return families(lc).filter(([a, s]) => r.some(([ra, rs]) => ra === a && rs === s));
}

function addPathFamilies(
  lc: Capability[],
  rc: Capability[],
  ours: number,
  theirs: number,
): Family[] {
  const dirs = (caps: Capability[]): { afi: number; safi: number; sendReceive: number }[] =>
    caps.flatMap((x) => (x.kind === 'add-path' ? x.families : []));
  const r = dirs(rc);
  const out: Family[] = [];
  for (const l of dirs(lc)) {
    if (!(l.sendReceive & ours)) continue;
    if (r.some((x) => x.afi === l.afi && x.safi === l.safi && x.sendReceive & theirs)) {
      out.push([l.afi, l.safi]);
    }
  }
  return out;
}
