// Helpers for the hypervisor's tests: in-process `nonstop speaker` replicas (composed as
// src/cli/demo.ts does, each in its own MemoryNetwork "namespace"), a connector that can be
// killed like a process (kill -9: every connection reset, listeners gone), one that
// corrupts a replica's UPDATEs (the paper's bug model, §5: add an announcement, change a
// next hop), a table built from received UPDATEs, and clock/event-loop settling.

import { samePrefix } from './buggy-replica.js';
import fc from 'fast-check';
import type { ManualClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { parseAddr, parsePrefix } from '../lib/ip.js';
import { type Connector, type Endpoint, type Listener, type Transport } from '../net/transport.js';
import { MemoryFib } from '../fib/index.js';
import { parseSpeakerConfig, type SpeakerConfig } from '../speaker/config/index.js';
import { Speaker, capabilitiesFor } from '../speaker/speaker.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  ATTR_DEFAULT_FLAGS,
  MSG,
  decodeMessage,
  encodeMessage,
  makeContext,
  type Capability,
  type CodecContext,
  type Nlri,
  type PathAttribute,
  type UpdateMessage,
} from '../wire/index.js';
import { canonicalUpdateMessage } from './canonical.js';
import type { VoteKey, VoteValue } from './voter.js';

export function speakerConfig(yaml: string): SpeakerConfig {
  const r = parseSpeakerConfig(yaml, 'replica.yaml');
  if (!r.ok) throw new Error(r.error.map((e) => `${e.line}: ${e.key}: ${e.message}`).join('\n'));
  return r.value;
}

/** The capabilities a speaker with this config announces to the neighbour at `address`. */
export function routerCapabilities(cfg: SpeakerConfig, address: string): Capability[] {
  const n = cfg.neighbors.find((x) => x.key === address);
  if (!n) throw new Error(`no neighbour ${address} in the config`);
  return capabilitiesFor(n, cfg);
}

/** A speaker on `connector` with a quiet logger and an in-memory FIB. */
export function makeSpeaker(
  cfg: SpeakerConfig,
  connector: Connector,
  clock: ManualClock,
  onMessage?: (neighbor: string, bytes: Uint8Array, local: boolean) => void,
): Speaker {
  const logger = createLogger({
    level: process.env['NONSTOP_TEST_LOG'] ? 'debug' : 'error',
    sink: (l) => {
      if (process.env['NONSTOP_TEST_LOG']) console.error(l);
    },
  });
  return new Speaker(cfg, {
    connector,
    clock,
    logger,
    fib: new MemoryFib(),
    ...(onMessage ? { onMessage: (n, b, local) => onMessage(n.key, b, local) } : {}),
  });
}

/** Lets memory transports, microtasks and immediates run, advancing the clock in steps. */
export async function settle(clock: ManualClock, ms = 100, steps = 20): Promise<void> {
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < 3; j++) await new Promise((r) => setImmediate(r));
    clock.advance(ms / steps);
  }
  for (let j = 0; j < 3; j++) await new Promise((r) => setImmediate(r));
}

/** Waits (real time, clock advancing by `stepMs` per round) until `cond()` or throws. */
export async function until(
  clock: ManualClock,
  cond: () => boolean,
  what: string,
  opts: { stepMs?: number; timeoutMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${opts.detail ? `: ${opts.detail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setImmediate(r));
    clock.advance(opts.stepMs ?? 10);
  }
}

// ---------------------------------------------------------------------------------------
// Transports.

/**
 * One process's view of a network: `kill()` resets every connection and closes every
 * listener at once, and refuses anything afterwards — what `kill -9` does to a daemon.
 */
export class KillableConnector implements Connector {
  private readonly transports = new Set<Transport>();
  private readonly listeners: Listener[] = [];
  killed = false;

  constructor(
    private readonly inner: Connector,
    private readonly wrap: (t: Transport) => Transport = (t) => t,
  ) {}

  async connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    if (this.killed) throw new Error('process killed');
    const t = this.wrap(await this.inner.connect(remote, local));
    if (this.killed) {
      t.destroy();
      throw new Error('process killed');
    }
    this.transports.add(t);
    return t;
  }

  async listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    if (this.killed) throw new Error('process killed');
    const l = await this.inner.listen(local, (t) => {
      if (this.killed) return t.destroy();
      const w = this.wrap(t);
      this.transports.add(w);
      onAccept(w);
    });
    this.listeners.push(l);
    return l;
  }

  async kill(): Promise<void> {
    this.killed = true;
    for (const t of this.transports) t.destroy();
    this.transports.clear();
    await Promise.all(this.listeners.splice(0).map((l) => l.close()));
  }
}

export { samePrefix };

export const addr = (s: string): Uint8Array => {
  const a = parseAddr(s);
  if (!a) throw new Error(`bad address ${s}`);
  return a;
};

// ---------------------------------------------------------------------------------------
// Tables from UPDATE streams.

/** Routes (vote key → canonical value) built by applying UPDATEs in order. */
export class RouteTable {
  readonly routes = new Map<VoteKey, VoteValue>();
  updates = 0;
  /** Route-level changes (announcement or withdrawal of one key) per key. */
  readonly changes = new Map<VoteKey, number>();

  constructor(private readonly ctx: CodecContext = AS4_CONTEXT) {}

  /** Apply one encoded message (only UPDATEs count). */
  apply(raw: Uint8Array): void {
    if (raw[18] !== MSG.UPDATE) return;
    const d = decodeMessage(raw, this.ctx);
    if (!d.ok || d.message.type !== MSG.UPDATE) throw new Error('undecodable UPDATE');
    this.applyUpdate(d.message);
  }

  applyUpdate(u: UpdateMessage): void {
    this.updates++;
    for (const r of canonicalUpdateMessage(u, this.ctx).routes) {
      this.changes.set(r.key, (this.changes.get(r.key) ?? 0) + 1);
      if (r.value === undefined) this.routes.delete(r.key);
      else this.routes.set(r.key, r.value);
    }
  }

  /** The routes as a sorted list of [key, value] for deepEqual. */
  sorted(): [string, string][] {
    return [...this.routes]
      .map(([k, v]): [string, string] => [String(k), v])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

// ---------------------------------------------------------------------------------------
// Random UPDATE streams (property tests of the history and the replicator).

const V4_PREFIXES = [
  '198.18.0.0/24',
  '198.18.1.0/24',
  '198.18.2.0/25',
  '198.18.2.128/25',
  '198.18.3.1/32',
  '198.19.0.0/16',
  '10.0.0.0/8',
  '0.0.0.0/0',
];
const V6_PREFIXES = [
  '2001:db8::/32',
  '2001:db8:1::/48',
  '2001:db8:2::/64',
  '2001:db8:3::1/128',
  '::/0',
];

function streamAttrs(i: number): PathAttribute[] {
  const f = ATTR_DEFAULT_FLAGS;
  const out: PathAttribute[] = [
    { kind: 'origin', code: 1, flags: f[1]!, origin: i % 3 },
    {
      kind: 'as-path',
      code: 2,
      flags: f[2]!,
      asnWidth: 4,
      segments: [{ type: AS_SEG.AS_SEQUENCE, asns: [65002, 4_200_000_000 + (i % 2), 64512 + i] }],
    },
  ];
  if (i % 2 === 0) out.push({ kind: 'med', code: 4, flags: f[4]!, med: i });
  if (i % 3 !== 1)
    out.push({ kind: 'communities', code: 8, flags: f[8]!, communities: [0xfdea0000 + i] });
  return out;
}

export interface StreamOptions {
  /** ADD-PATH for IPv4 and IPv6 unicast (path ids 0–3). */
  readonly addPath: boolean;
}

/** The codec context of a stream (4-octet AS, ADD-PATH as asked). */
export function streamContext(o: StreamOptions): CodecContext {
  return makeContext({
    as4: true,
    addPath: o.addPath
      ? [
          [1, 1],
          [2, 1],
        ]
      : [],
  });
}

/** One random UPDATE of a stream over a small universe of prefixes and path ids. */
export function arbitraryUpdate(o: StreamOptions): fc.Arbitrary<UpdateMessage> {
  const pid = o.addPath ? fc.integer({ min: 0, max: 3 }) : fc.constant(0);
  const nlri = (prefixes: string[]): fc.Arbitrary<Nlri[]> =>
    fc
      .uniqueArray(fc.tuple(fc.constantFrom(...prefixes), pid), {
        minLength: 1,
        maxLength: 4,
        selector: ([p, id]) => `${p}#${id}`,
      })
      .map((xs) =>
        xs.map(([p, id]) =>
          o.addPath ? { prefix: parsePrefix(p)!, pathId: id } : { prefix: parsePrefix(p)! },
        ),
      );
  const f = ATTR_DEFAULT_FLAGS;
  const nh4 = fc.constantFrom('198.18.0.9', '198.18.0.10').map(addr);
  const nh6 = fc.constantFrom(
    addr('2001:db8::9'),
    Uint8Array.from([...addr('2001:db8::9'), ...addr('fe80::9')]),
  );
  const reach = (afi: number, n: Nlri[], nh: Uint8Array): PathAttribute => ({
    kind: 'mp-reach',
    code: 14,
    flags: f[14]!,
    afi,
    safi: 1,
    nextHop: nh,
    reserved: 0,
    nlri: n,
  });
  const unreach = (afi: number, n: Nlri[]): PathAttribute => ({
    kind: 'mp-unreach',
    code: 15,
    flags: f[15]!,
    afi,
    safi: 1,
    withdrawn: n,
  });
  const sorted = (as: PathAttribute[]): PathAttribute[] => as.sort((a, b) => a.code - b.code);
  const base = fc.integer({ min: 0, max: 5 }).map(streamAttrs);
  return fc.oneof(
    // IPv4 in the body, maybe with withdrawals and IPv6 in MP_REACH alongside.
    fc
      .record({
        a: base,
        nh: nh4,
        nlri: nlri(V4_PREFIXES),
        wd: fc.option(nlri(V4_PREFIXES)),
        v6: fc.option(fc.tuple(nlri(V6_PREFIXES), nh6)),
      })
      .map(({ a, nh, nlri: n, wd, v6 }) => ({
        type: 2 as const,
        withdrawn: wd ?? [],
        attributes: sorted([
          ...a,
          { kind: 'next-hop', code: 3, flags: f[3]!, nextHop: nh },
          ...(v6 ? [reach(2, v6[0], v6[1])] : []),
        ]),
        nlri: n,
      })),
    // A family in MP_REACH only (IPv4 unicast too).
    fc
      .record({ a: base, v4: fc.boolean(), n4: nlri(V4_PREFIXES), n6: nlri(V6_PREFIXES), nh4, nh6 })
      .map(({ a, v4, n4, n6, nh4: x, nh6: y }) => ({
        type: 2 as const,
        withdrawn: [],
        attributes: sorted([...a, v4 ? reach(1, n4, x) : reach(2, n6, y)]),
        nlri: [],
      })),
    // Withdrawals: body, MP_UNREACH.
    nlri(V4_PREFIXES).map((n) => ({ type: 2 as const, withdrawn: n, attributes: [], nlri: [] })),
    fc.tuple(fc.boolean(), nlri(V4_PREFIXES), nlri(V6_PREFIXES)).map(([v4, n4, n6]) => ({
      type: 2 as const,
      withdrawn: [],
      attributes: [v4 ? unreach(1, n4) : unreach(2, n6)],
      nlri: [],
    })),
    // RFC 7606 treat-as-withdraw: ORIGIN 7.
    fc.record({ a: base, nh: nh4, n: nlri(V4_PREFIXES) }).map(({ a, nh, n }) => ({
      type: 2 as const,
      withdrawn: [],
      attributes: sorted([
        ...a.map((x) => (x.kind === 'origin' ? { ...x, origin: 7 } : x)),
        { kind: 'next-hop', code: 3, flags: f[3]!, nextHop: nh },
      ]),
      nlri: n,
    })),
    // End-of-RIB.
    fc.constantFrom<UpdateMessage>(
      { type: 2, withdrawn: [], attributes: [], nlri: [] },
      { type: 2, withdrawn: [], attributes: [unreach(2, [])], nlri: [] },
    ),
  );
}

/** An UPDATE encoded and decoded back, as the session engine hands it over. */
export function wireUpdate(
  u: UpdateMessage,
  ctx: CodecContext,
): { raw: Uint8Array; u: UpdateMessage } {
  const raw = encodeMessage(u, ctx);
  const d = decodeMessage(raw, ctx);
  if (!d.ok || d.message.type !== MSG.UPDATE) throw new Error('generated UPDATE does not decode');
  return { raw, u: d.message };
}

/** A complete `nonstop btr` configuration using every section (config and CLI tests). */
export const EXAMPLE_BTR_CONFIG = `asn: 65001
router-id: 198.18.0.1
interfaces:
  - name: eth0
    addresses: [198.18.0.1/24, "2001:db8::1/64"]
prefix-lists:
  customers:
    - { prefix: 198.18.100.0/22, le: 24 }
    - { prefix: 0.0.0.0/0, le: 32, action: deny }
neighbors:
  - name: upstream
    address: 198.18.0.2
    asn: 65002
    local-address: 198.18.0.1
    import: accept-all
    export: { prefix-list: customers }
  - address: "2001:db8::3"
    asn: 65001
    passive: true
    families: [ipv6-unicast]
replicas:
  - { name: nonstop-a, implementation: nonstop }
  - { name: bird-a, implementation: bird, delay: { min-ms: 1, max-ms: 10 } }
  - { name: frr-a, implementation: frr, start-delay-ms: 500 }
  - { name: gobgp-s, implementation: gobgp, standby: true }
voting:
  strategy: wait-for-consensus
  k: 3
  steady-ms: 2000
  fault-threshold: 5
  window-s: 30
recovery:
  backoff-initial-ms: 500
  max-restarts: 10
control:
  socket: /tmp/btr.sock
  http: 127.0.0.1:8180
log: { level: debug, format: text }
`;
