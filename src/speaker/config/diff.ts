// diffConfigs: what a reload (SIGHUP) changes, so the speaker can apply it as one
// transaction and touch only what changed. Neighbors are matched by address. What a
// changed field costs:
// - reset: the field is part of the OPEN exchange or the transport (asn, local-address,
//   port, hold-time, families, add-path, graceful-restart), or the local router-id / asn
//   changed, or `inactive` flipped; the session is closed with a Cease (RFC 4486 subcode 6,
//   Other Configuration Change) and starts again.
// - soft: a policy changed (its names, its terms, or a list it refers to): import is
//   re-applied from the Adj-RIB-In or a ROUTE-REFRESH (RFC 2918); export is re-run and
//   the differences advertised. next-hop-self and route-reflector-client change what is
//   sent, so they count as export.
// - update: the rest take effect in place (description, passive, connect-retry,
//   delay-open, max-prefix, mrai).

import { formatAddr } from '../../lib/ip.js';
import type { NeighborConfig, SpeakerConfig } from './schema.js';

export interface NeighborChange {
  readonly key: string;
  /** The YAML keys that changed, in the order of docs/speaker.md. */
  readonly fields: readonly string[];
  /** The session must be reset. */
  readonly reset: boolean;
  /** Inbound soft reconfiguration (import policy). Implied by reset. */
  readonly softIn: boolean;
  /** Outbound soft reconfiguration (export side). Implied by reset. */
  readonly softOut: boolean;
}

export interface ConfigDiff {
  /** Neighbor keys (addresses) only in the new config, in its order. */
  readonly added: readonly string[];
  /** Neighbor keys only in the old config, in its order. */
  readonly removed: readonly string[];
  readonly changed: readonly NeighborChange[];
  readonly unchanged: readonly string[];
  /** Top-level keys whose value changed (e.g. `static`, `decision`, `policies`). */
  readonly global: readonly string[];
}

type Kind = 'reset' | 'in' | 'out' | 'update';
type Get = (n: NeighborConfig, c: SpeakerConfig) => unknown;

const names = (fs: NeighborConfig['families']): string[] => fs.map((f) => f.name);
const chain = (ns: readonly string[], c: SpeakerConfig): unknown =>
  ns.map((name) => [name, c.policyFingerprints.get(name)]);

const NEIGHBOR_FIELDS: readonly (readonly [string, Kind, Get])[] = [
  ['asn', 'reset', (n) => n.asn],
  ['description', 'update', (n) => n.description],
  ['local-address', 'reset', (n) => n.localAddress],
  ['port', 'reset', (n) => n.port],
  ['passive', 'update', (n) => n.passive],
  ['hold-time', 'reset', (n) => n.holdTime],
  ['connect-retry', 'update', (n) => n.connectRetry],
  ['delay-open', 'update', (n) => n.delayOpen],
  ['families', 'reset', (n) => names(n.families)],
  [
    'add-path',
    'reset',
    (n) => [names(n.addPath.receive), names(n.addPath.send), n.addPath.sendMax],
  ],
  ['import', 'in', (n, c) => chain(n.import.names, c)],
  ['export', 'out', (n, c) => chain(n.export.names, c)],
  ['next-hop-self', 'out', (n) => n.nextHopSelf],
  ['soft-reconfiguration-inbound', 'reset', (n) => n.softReconfigurationInbound],
  ['route-reflector-client', 'out', (n) => n.routeReflectorClient],
  ['max-prefix', 'update', (n) => n.maxPrefix],
  ['graceful-restart', 'reset', (n) => n.gracefulRestart],
  ['mrai', 'update', (n) => n.mrai],
  ['inactive', 'reset', (n) => n.inactive],
];

const GLOBAL_FIELDS: readonly (readonly [string, (c: SpeakerConfig) => unknown])[] = [
  ['router-id', (c) => c.routerId],
  ['asn', (c) => c.asn],
  ['listen', (c) => c.listen],
  ['control', (c) => c.control],
  ['log', (c) => c.log],
  ['decision', (c) => c.decision],
  ['fib', (c) => c.fib],
  ['mrt', (c) => c.mrt],
  ['graceful-restart', (c) => c.gracefulRestart],
  ['route-reflector', (c) => c.routeReflector],
  ['static', (c) => c.static],
  ['policies', (c) => [...c.policyFingerprints].sort(([a], [b]) => (a < b ? -1 : 1))],
];

export function diffConfigs(old: SpeakerConfig, next: SpeakerConfig): ConfigDiff {
  const global = GLOBAL_FIELDS.filter(([, get]) => !same(get(old), get(next))).map(([k]) => k);
  // The OPEN carries our identifier and AS: every session has to start again.
  const identity = global.filter((k) => k === 'router-id' || k === 'asn').map((k) => `local ${k}`);
  const before = new Map(old.neighbors.map((n) => [n.key, n]));
  const nextKeys = new Set(next.neighbors.map((n) => n.key));
  const added: string[] = [];
  const changed: NeighborChange[] = [];
  const unchanged: string[] = [];
  for (const n of next.neighbors) {
    const o = before.get(n.key);
    if (!o) {
      added.push(n.key);
      continue;
    }
    const diff = NEIGHBOR_FIELDS.filter(([, , get]) => !same(get(o, old), get(n, next)));
    const fields = [...identity, ...diff.map(([k]) => k)];
    if (fields.length === 0) {
      unchanged.push(n.key);
      continue;
    }
    const reset = identity.length > 0 || diff.some(([, kind]) => kind === 'reset');
    changed.push({
      key: n.key,
      fields,
      reset,
      softIn: reset || diff.some(([, kind]) => kind === 'in'),
      softOut: reset || diff.some(([, kind]) => kind === 'out'),
    });
  }
  const removed = old.neighbors.filter((n) => !nextKeys.has(n.key)).map((n) => n.key);
  return { added, removed, changed, unchanged, global };
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with addresses as text and maps as entry lists, for comparing typed values. */
function canonical(v: unknown): string {
  return (
    JSON.stringify(v, (_k, x: unknown) => {
      if (x instanceof Uint8Array) return formatAddr(x);
      if (x instanceof Map) return [...(x as Map<unknown, unknown>)];
      return x;
    }) ?? 'undefined'
  );
}
