// Test helpers for the FSM: a peer's OPEN, and running a list of events through step().

import {
  capAddPath,
  capFourOctetAs,
  capGracefulRestart,
  capMultiprotocol,
  capRouteRefresh,
  makeOpen,
  type Capability,
  type OpenMessage,
} from '../wire/index.js';
import { parseIPv4 } from '../lib/ip.js';
import type { FsmEvent } from './events.js';
import { step } from './fsm.js';
import type { Session, Transition } from './session.js';

export const LOCAL = { localAs: 65001, peerAs: 65002, bgpId: '192.0.2.1', jitter: false } as const;

export function peerOpen(opts?: {
  asn?: number;
  holdTime?: number;
  bgpId?: string;
  version?: number;
  capabilities?: readonly Capability[];
}): OpenMessage {
  const asn = opts?.asn ?? 65002;
  const m = makeOpen({
    asn,
    holdTime: opts?.holdTime ?? 90,
    bgpId: parseIPv4(opts?.bgpId ?? '192.0.2.2')!,
    capabilities: opts?.capabilities ?? [
      capMultiprotocol(1, 1),
      capRouteRefresh(),
      capFourOctetAs(asn),
    ],
  });
  return opts?.version === undefined ? m : { ...m, version: opts.version };
}

export const RICH_CAPS = (asn: number): Capability[] => [
  capMultiprotocol(1, 1),
  capMultiprotocol(2, 1),
  capRouteRefresh(),
  capFourOctetAs(asn),
  capAddPath([{ afi: 1, safi: 1, sendReceive: 3 }]),
  capGracefulRestart(120, [{ afi: 1, safi: 1, flags: 0x80 }]),
];

/** Apply events at the given times; returns every transition. */
export function run(s: Session, events: readonly (readonly [number, FsmEvent])[]): Transition[] {
  const out: Transition[] = [];
  let cur = s;
  for (const [t, e] of events) {
    const tr = step(cur, e, t);
    out.push(tr);
    cur = tr.state;
  }
  return out;
}

export function last(trs: readonly Transition[]): Transition {
  const t = trs[trs.length - 1];
  if (!t) throw new Error('no transitions');
  return t;
}
