// Test helper for input compaction (input-compaction.ts): replays a session's input stream
// through the speaker's own receive path (wire decode with RFC 7606 handling, then the
// route engine's Adj-RIB-In and Loc-RIB) and returns what the RIB holds, so a test can
// compare the RIB built from the full stream with the one built from a compacted one. The
// neighbour is iBGP with accept-all import: no loop check or policy hides a route, so the
// Loc-RIB candidates are exactly the Adj-RIB-In.

import { ManualClock } from '../lib/clock.js';
import { formatPrefix, parseAddr } from '../lib/ip.js';
import { compilePolicy } from '../policy/index.js';
import { keyToPrefix } from '../rib/index.js';
import { RouteEngine } from '../speaker/engine/route-engine.js';
import {
  BGP_HEADER_LEN,
  MSG,
  checkHeader,
  decodeMessage,
  type CodecContext,
} from '../wire/index.js';
import { establishedOffset } from './input-compaction.js';

const LOCAL_AS = 65001;

// BGP messages built by hand from the RFC layouts (RFC 4271 §4, RFC 4760 §3-4, RFC 7911 §3),
// not with our encoder, for tests of compaction.
const marker = new Array<number>(16).fill(0xff);
export const msg = (type: number, body: number[] = []): number[] => {
  const len = 19 + body.length;
  return [...marker, len >> 8, len & 0xff, type, ...body];
};
export const OPEN = msg(1, [4, 0xfd, 0xea, 0, 30, 198, 18, 2, 2, 0]);
export const KEEPALIVE = msg(4);
export const u16 = (n: number): number[] => [n >> 8, n & 0xff];
export const u32 = (n: number): number[] => [
  n >>> 24,
  (n >>> 16) & 0xff,
  (n >>> 8) & 0xff,
  n & 0xff,
];
export const attr = (flags: number, code: number, value: number[]): number[] =>
  flags & 0x10
    ? [flags, code, ...u16(value.length), ...value]
    : [flags, code, value.length, ...value];
export const origin = (o = 0): number[] => attr(0x40, 1, [o]);
export const asPath = (...asns: number[]): number[] =>
  attr(0x40, 2, asns.length ? [2, asns.length, ...asns.flatMap(u32)] : []);
export const nextHop = (...a: number[]): number[] => attr(0x40, 3, a);
export const med = (n: number): number[] => attr(0x80, 4, u32(n));
/** IPv4 prefix "a.b.c.d/len" as NLRI octets (minimal length). */
export const p4 = (text: string, pathId?: number): number[] => {
  const [addr, len] = text.split('/') as [string, string];
  const l = Number(len);
  const octets = addr
    .split('.')
    .map(Number)
    .slice(0, (l + 7) >> 3);
  return [...(pathId === undefined ? [] : u32(pathId)), l, ...octets];
};
/** 2001:db8:X::/48 as NLRI octets. */
export const p6 = (x: number): number[] => [48, 0x20, 0x01, 0x0d, 0xb8, x >> 8, x & 0xff];
export const NH6 = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1];
export const mpReach6 = (...nlri: number[][]): number[] =>
  attr(0x80, 14, [0, 2, 1, 16, ...NH6, 0, ...nlri.flat()]);
export const mpUnreach6 = (...nlri: number[][]): number[] =>
  attr(0x80, 15, [0, 2, 1, ...nlri.flat()]);
export const update = (
  withdrawn: number[][],
  attrs: number[][],
  nlri: number[][] = [],
): number[] => {
  const w = withdrawn.flat();
  const a = attrs.flat();
  return msg(2, [...u16(w.length), ...w, ...u16(a.length), ...a, ...nlri.flat()]);
};

export interface RibView {
  /** Routes in the peer's Adj-RIB-In. */
  readonly received: number;
  /** Prefix → its candidates as "pathId attribute-set" (canonical octets in hex), sorted. */
  readonly routes: Map<string, string[]>;
  /** UPDATEs handed to the engine. */
  readonly updates: number;
  /** Why the replay stopped before the end (the session would have been reset), if it did. */
  readonly ended?: string;
}

/** Replays `stream` (from the OPEN on) into a fresh route engine; see the file header. */
export function replayRib(stream: Uint8Array, ctx: CodecContext): RibView {
  const policy = compilePolicy({ default: 'accept' }, 'all');
  if (!policy.ok) throw new Error('accept-all policy does not compile');
  const engine = new RouteEngine({
    localAsn: LOCAL_AS,
    routerId: parseAddr('198.18.255.254')!,
    clock: new ManualClock(0),
    schedule: (fn) => fn(),
  });
  const id = engine.addNeighbor({
    name: '198.18.255.1',
    address: parseAddr('198.18.255.1')!,
    asn: LOCAL_AS,
    rrClient: false,
    nextHopSelf: false,
    importPolicy: [policy.value],
    exportPolicy: [policy.value],
    gracefulRestart: false,
    staleRoutesTime: 360,
  });
  engine.sessionUp(
    id,
    {
      internal: true,
      peerBgpId: '198.18.255.1',
      families: [
        [1, 1],
        [2, 1],
      ],
      gracefulRestart: null,
      receive: ctx,
      send: ctx,
    },
    { send: () => {}, stop: () => {} },
    parseAddr('198.18.255.254')!,
  );
  let off = establishedOffset(stream) ?? 0;
  let updates = 0;
  let ended: string | undefined;
  while (off + BGP_HEADER_LEN <= stream.length) {
    const len = checkHeader(stream, off, ctx.extendedMessage);
    if (typeof len !== 'number') {
      ended = `header error at ${off}: ${len.reason}`;
      break;
    }
    if (off + len > stream.length) break;
    const r = decodeMessage(stream.subarray(off, off + len), ctx);
    if (!r.ok) {
      ended = `message at ${off}: ${r.error.reason}`;
      break;
    }
    const m = r.message;
    if (m.type === MSG.UPDATE) {
      engine.receiveUpdate(id, m);
      updates++;
    } else if (m.type === MSG.OPEN || m.type === MSG.NOTIFICATION) {
      ended = `${m.type === MSG.OPEN ? 'OPEN' : 'NOTIFICATION'} at ${off}`;
      break;
    }
    off += len;
  }
  const routes = new Map<string, string[]>();
  for (const [key, , cands] of engine.locRib.entries()) {
    if (cands.length === 0) continue;
    routes.set(
      formatPrefix(keyToPrefix(key)),
      cands.map((r) => `${r.pathId} ${Buffer.from(r.attrs.key, 'latin1').toString('hex')}`).sort(),
    );
  }
  return {
    received: engine.neighborState(id)!.received,
    routes,
    updates,
    ...(ended !== undefined ? { ended } : {}),
  };
}
