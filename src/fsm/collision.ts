// Connection collision detection (RFC 4271 §6.8, with RFC 6286 §2.3 for equal BGP
// Identifiers): when two TCP connections to the same peer both carry an OPEN exchange,
// exactly one survives, and both speakers must pick the same one. The survivor is the
// connection initiated by the speaker with the higher BGP Identifier (compared as
// 4-octet unsigned integers in host byte order); with equal Identifiers, the one
// initiated by the speaker with the larger AS number. The loser receives the Cease /
// Connection Collision Resolution NOTIFICATION (6/7), which its FSM sends on
// OpenCollisionDump (Event 23).
//
// No collision is possible with a connection in Idle, Connect or Active. An existing
// connection in OpenSent counts only if the peer's Identifier is known by other means
// (§6.8 "MAY"); one in Established wins unless CollisionDetectEstablishedState is set.

import { parseIPv4 } from '../lib/ip.js';
import { ERR, ERR_CEASE } from '../wire/index.js';
import type { BgpState } from './states.js';

export type BgpIdentifier = Uint8Array | string | number;

export interface CollisionConnection {
  readonly state: BgpState;
  /** Who opened the TCP connection: we ('local') or the peer ('remote'). */
  readonly initiator: 'local' | 'remote';
}

export interface CollisionInput {
  readonly localId: BgpIdentifier;
  /** The Identifier in the OPEN just received. */
  readonly remoteId: BgpIdentifier;
  readonly localAs: number;
  readonly remoteAs: number;
  /** The connection that was there first. */
  readonly existing: CollisionConnection;
  /** The connection on which the OPEN was just received. */
  readonly incoming: CollisionConnection;
  readonly collisionDetectEstablishedState?: boolean;
  /** Treat an existing connection in OpenSent as colliding (peer Identifier known). */
  readonly examineOpenSent?: boolean;
}

export type CollisionDecision =
  | { readonly collision: false; readonly reason: string }
  | {
      readonly collision: true;
      readonly keep: 'existing' | 'incoming';
      readonly dump: 'existing' | 'incoming';
      /** The NOTIFICATION for the dumped connection (Cease / Collision Resolution). */
      readonly notification: {
        readonly code: number;
        readonly subcode: number;
        readonly data: Uint8Array;
      };
      readonly reason: string;
    };

/** BGP Identifier as an unsigned 32-bit integer. */
export function bgpIdToNumber(id: BgpIdentifier): number {
  if (typeof id === 'number') {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new RangeError(`BGP Identifier ${id} is not a 32-bit unsigned integer`);
    }
    return id;
  }
  const b = typeof id === 'string' ? parseIPv4(id) : id;
  if (!b || b.length !== 4) throw new RangeError(`BGP Identifier ${String(id)} is not 4 octets`);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

const NOTIFICATION = {
  code: ERR.CEASE,
  subcode: ERR_CEASE.CONNECTION_COLLISION_RESOLUTION,
  data: new Uint8Array(0),
} as const;

export function resolveCollision(i: CollisionInput): CollisionDecision {
  const ex = i.existing.state;
  if (ex === 'Idle' || ex === 'Connect' || ex === 'Active') {
    return { collision: false, reason: `no collision with a connection in ${ex}` };
  }
  if (ex === 'OpenSent' && !i.examineOpenSent) {
    return { collision: false, reason: 'existing connection in OpenSent: peer Identifier unknown' };
  }
  const decided = (keep: 'existing' | 'incoming', why: string): CollisionDecision => ({
    collision: true,
    keep,
    dump: keep === 'existing' ? 'incoming' : 'existing',
    notification: NOTIFICATION,
    reason: `connection collision with a connection in ${ex}: keeping the ${keep} connection (${why})`,
  });
  if (ex === 'Established' && !i.collisionDetectEstablishedState) {
    return decided('existing', 'it is Established');
  }
  const local = bgpIdToNumber(i.localId);
  const remote = bgpIdToNumber(i.remoteId);
  let winner: 'local' | 'remote';
  let why: string;
  if (local !== remote) {
    winner = local > remote ? 'local' : 'remote';
    why = `the ${winner} BGP Identifier is higher`;
  } else {
    winner = i.localAs > i.remoteAs ? 'local' : 'remote';
    why = `equal BGP Identifiers; the ${winner} AS number is larger`;
  }
  if (i.existing.initiator === i.incoming.initiator) {
    // Both opened by the same side: nothing to agree on with the peer; keep the older one.
    return decided('existing', `both connections initiated by the ${i.existing.initiator} side`);
  }
  const keep = i.existing.initiator === winner ? 'existing' : 'incoming';
  return decided(keep, `${why}: keep the connection it initiated`);
}
