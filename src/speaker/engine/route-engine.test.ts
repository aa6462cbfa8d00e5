// Route engine scenarios. Expected values follow from the RFC rules named in each test
// (RFC 4271 §5, §9; RFC 4456; RFC 4486; RFC 4724; RFC 7606; RFC 8212), not from our output:
// the UPDATEs a fake session "sends" are decoded with wire/ and checked field by field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { formatAddr, formatPrefix, parseAddr, parsePrefix } from '../../lib/ip.js';
import {
  AS_SEG,
  makeContext,
  ATTR_DEFAULT_FLAGS,
  AS4_CONTEXT,
  decodeMessage,
  type Nlri,
  type PathAttribute,
  type UpdateMessage,
} from '../../wire/index.js';
import { compilePolicy, type CompiledPolicy } from '../../policy/index.js';
import { prefixKey } from '../../rib/index.js';
import {
  RouteEngine,
  type EngineOptions,
  type FibChange,
  type NeighborSpec,
  type SessionInfo,
} from './route-engine.js';

const LOCAL_AS = 65001;

function acceptAll(): CompiledPolicy {
  const r = compilePolicy({ default: 'accept' }, 'all');
  if (!r.ok) throw new Error('policy');
  return r.value;
}

interface FakePeer {
  id: number;
  sent: UpdateMessage[];
  /** Every message sent, in order: 'update', or 'refresh/<subtype>' for a ROUTE-REFRESH. */
  kinds: string[];
  stopped?: { code: number; subcode: number; data: Uint8Array };
}

/** A neighbour with accept-all policies unless `o` says otherwise. */
function neighborSpec(name: string, asn: number, o?: Partial<NeighborSpec>): NeighborSpec {
  return {
    name,
    address: parseAddr(name)!,
    asn,
    rrClient: false,
    nextHopSelf: false,
    importPolicy: [acceptAll()],
    exportPolicy: [acceptAll()],
    gracefulRestart: true,
    staleRoutesTime: 360,
    mrai: 0,
    addPathSendMax: 1,
    ...o,
  };
}

type EngineExtras = Omit<Partial<EngineOptions>, 'clock' | 'localAsn' | 'routerId' | 'schedule'>;

function setup(opts?: { maxPrefix?: NeighborSpec['maxPrefix']; engine?: EngineExtras }) {
  const clock = new ManualClock(0);
  const fib: FibChange[] = [];
  const engine = new RouteEngine({
    localAsn: LOCAL_AS,
    routerId: parseAddr('198.18.0.1')!,
    clock,
    schedule: (fn) => fn(),
    onFib: (c) => fib.push(...c),
    ...opts?.engine,
  });
  const peers = new Map<string, FakePeer>();
  function peer(
    name: string,
    asn: number,
    o?: {
      rrClient?: boolean;
      policies?: boolean;
      maxPrefix?: NeighborSpec['maxPrefix'];
      gr?: boolean;
      mrai?: number;
      addPathSendMax?: number;
    },
  ): FakePeer {
    const spec = neighborSpec(name, asn, {
      rrClient: o?.rrClient ?? false,
      importPolicy: o?.policies === false ? undefined : [acceptAll()],
      exportPolicy: o?.policies === false ? undefined : [acceptAll()],
      maxPrefix: o?.maxPrefix ?? opts?.maxPrefix,
      gracefulRestart: o?.gr ?? true,
      mrai: o?.mrai ?? 0,
      addPathSendMax: o?.addPathSendMax ?? 1,
    });
    const p: FakePeer = { id: engine.addNeighbor(spec), sent: [], kinds: [] };
    peers.set(name, p);
    return p;
  }
  function up(
    p: FakePeer,
    asn: number,
    localAddress: string,
    families: [number, number][] = [[1, 1]],
    /** The peer's GR capability: true, with every family's forwarding state preserved;
     * a list, with only those; false, none. */
    gr: boolean | [number, number][] = true,
    ctx = AS4_CONTEXT,
    enhancedRouteRefresh = false,
  ) {
    const info: SessionInfo = {
      internal: asn === LOCAL_AS,
      peerBgpId: `10.0.0.${p.id}`,
      families,
      gracefulRestart: gr
        ? {
            restartTime: 120,
            families: (gr === true ? families : gr).map(([afi, safi]) => ({
              afi,
              safi,
              flags: 0x80, // forwarding state preserved
            })),
          }
        : null,
      enhancedRouteRefresh,
      receive: AS4_CONTEXT,
      send: ctx,
    };
    engine.sessionUp(
      p.id,
      info,
      {
        send: (msgs) => {
          for (const m of msgs) {
            const r = decodeMessage(m, ctx);
            assert.ok(r.ok, 'engine sent an undecodable message');
            assert.ok(m.length <= 4096, 'UPDATE longer than 4096 octets');
            // (The Peer's sendUpdates refuses anything else.)
            assert.equal(r.message.type, 2, 'send() carries UPDATEs only');
            if (r.message.type === 2) p.sent.push(r.message);
            p.kinds.push('update');
          }
        },
        sendRouteRefresh: (_afi, _safi, subtype) => {
          p.kinds.push(`refresh/${subtype}`);
        },
        stop: (_reason, n) => {
          p.stopped = n;
        },
      },
      parseAddr(localAddress)!,
    );
  }
  return { engine, clock, fib, peer, up };
}

function route(
  prefixes: string[],
  path: number[],
  nextHop: string,
  extra: PathAttribute[] = [],
): UpdateMessage {
  return {
    type: 2,
    withdrawn: [],
    nlri: prefixes.map((p) => ({ prefix: parsePrefix(p)! })),
    attributes: (
      [
        { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
        {
          kind: 'as-path',
          code: 2,
          flags: ATTR_DEFAULT_FLAGS[2]!,
          asnWidth: 4,
          segments: path.length ? [{ type: AS_SEG.AS_SEQUENCE, asns: path }] : [],
        },
        { kind: 'next-hop', code: 3, flags: ATTR_DEFAULT_FLAGS[3]!, nextHop: parseAddr(nextHop)! },
        ...extra,
      ] as PathAttribute[]
    ).sort((a, b) => a.code - b.code),
  };
}

/** IPv6 announcements in MP_REACH_NLRI from AS 65002, next hop 2001:db8:1::2. */
function route6(prefixes: string[]): UpdateMessage {
  return {
    type: 2,
    withdrawn: [],
    nlri: [],
    attributes: [
      { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
      {
        kind: 'as-path',
        code: 2,
        flags: ATTR_DEFAULT_FLAGS[2]!,
        asnWidth: 4,
        segments: [{ type: 2, asns: [65002] }],
      },
      {
        kind: 'mp-reach',
        code: 14,
        flags: ATTR_DEFAULT_FLAGS[14]!,
        afi: 2,
        safi: 1,
        nextHop: parseAddr('2001:db8:1::2')!,
        reserved: 0,
        nlri: prefixes.map((p) => ({ prefix: parsePrefix(p)! })),
      },
    ],
  };
}

/** IPv6 unicast withdrawals in MP_UNREACH_NLRI; none: the family's End-of-RIB (RFC 4724 §2). */
function unreach6(prefixes: string[]): UpdateMessage {
  return {
    type: 2,
    withdrawn: [],
    nlri: [],
    attributes: [
      {
        kind: 'mp-unreach',
        code: 15,
        flags: ATTR_DEFAULT_FLAGS[15]!,
        afi: 2,
        safi: 1,
        withdrawn: prefixes.map((p) => ({ prefix: parsePrefix(p)! })),
      },
    ],
  };
}

function withdraw(prefixes: string[]): UpdateMessage {
  return {
    type: 2,
    withdrawn: prefixes.map((p) => ({ prefix: parsePrefix(p)! })),
    nlri: [],
    attributes: [],
  };
}

/** Announced and withdrawn prefixes in what a peer received, in order, with attributes. */
function received(p: FakePeer): {
  announced: Map<string, PathAttribute[]>;
  withdrawn: string[];
  eor: number;
} {
  const announced = new Map<string, PathAttribute[]>();
  const withdrawn: string[] = [];
  let eor = 0;
  for (const u of p.sent) {
    const mpR = u.attributes.find((a) => a.kind === 'mp-reach');
    const mpU = u.attributes.find((a) => a.kind === 'mp-unreach');
    const nl: Nlri[] = [...u.nlri, ...(mpR?.kind === 'mp-reach' ? (mpR.nlri ?? []) : [])];
    const wd: Nlri[] = [
      ...u.withdrawn,
      ...(mpU?.kind === 'mp-unreach' ? (mpU.withdrawn ?? []) : []),
    ];
    if (nl.length === 0 && wd.length === 0) eor++;
    for (const w of wd) {
      withdrawn.push(formatPrefix(w.prefix));
      announced.delete(formatPrefix(w.prefix));
    }
    for (const n of nl) announced.set(formatPrefix(n.prefix), [...u.attributes]);
  }
  return { announced, withdrawn, eor };
}

const asPathOf = (attrs: PathAttribute[]): number[] =>
  attrs.flatMap((a) => (a.kind === 'as-path' ? a.segments.flatMap((s) => s.asns) : []));
const nextHopOf = (attrs: PathAttribute[]): string | undefined => {
  for (const a of attrs) {
    if (a.kind === 'next-hop') return formatAddr(a.nextHop);
    if (a.kind === 'mp-reach') return formatAddr(a.nextHop.subarray(0, 16));
  }
  return undefined;
};
const has = (attrs: PathAttribute[], kind: PathAttribute['kind']): boolean =>
  attrs.some((a) => a.kind === kind);

test('eBGP → eBGP: our AS prepended, next hop self, LOCAL_PREF and received MED not passed on (RFC 4271 §5.1)', () => {
  const { a, b, engine, fib } = twoPeers();
  engine.receiveUpdate(
    a.id,
    route(['198.18.100.0/24'], [65002, 64500], '198.18.1.2', [
      { kind: 'med', code: 4, flags: ATTR_DEFAULT_FLAGS[4]!, med: 50 },
    ]),
  );
  const got = received(b).announced.get('198.18.100.0/24');
  assert.ok(got, 'route not exported');
  assert.deepEqual(asPathOf(got), [65001, 65002, 64500]);
  assert.equal(nextHopOf(got), '198.18.2.1');
  assert.ok(!has(got, 'local-pref'));
  assert.ok(!has(got, 'med'));
  // The route goes to the FIB with the eBGP next hop.
  assert.deepEqual(
    fib.map((c) => [c.op, formatPrefix(c.prefix), c.nextHop && formatAddr(c.nextHop)]),
    [['replace', '198.18.100.0/24', '198.18.1.2']],
  );
  // Never back to the peer it came from.
  assert.equal(received(a).announced.size, 0);
});

test('eBGP → iBGP: AS path and next hop unchanged, LOCAL_PREF 100 added', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const c = peer('198.18.3.2', LOCAL_AS);
  up(a, 65002, '198.18.1.1');
  up(c, LOCAL_AS, '198.18.3.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  const got = received(c).announced.get('198.18.100.0/24')!;
  assert.deepEqual(asPathOf(got), [65002]);
  assert.equal(nextHopOf(got), '198.18.1.2');
  const lp = got.find((x) => x.kind === 'local-pref');
  assert.ok(lp?.kind === 'local-pref' && lp.localPref === 100);
});

test('iBGP split horizon and route reflection (RFC 4456 §6, §8)', () => {
  const { engine, peer, up } = setup();
  const nonClient1 = peer('198.18.3.2', LOCAL_AS);
  const nonClient2 = peer('198.18.4.2', LOCAL_AS);
  const client = peer('198.18.5.2', LOCAL_AS, { rrClient: true });
  up(nonClient1, LOCAL_AS, '198.18.3.1');
  up(nonClient2, LOCAL_AS, '198.18.4.1');
  up(client, LOCAL_AS, '198.18.5.1');
  engine.receiveUpdate(nonClient1.id, route(['198.18.100.0/24'], [65010], '198.18.9.9'));
  // From a non-client: to clients only.
  assert.equal(received(nonClient2).announced.size, 0);
  const got = received(client).announced.get('198.18.100.0/24')!;
  const orig = got.find((x) => x.kind === 'originator-id');
  assert.ok(orig?.kind === 'originator-id');
  assert.equal(formatAddr(orig.originatorId), `10.0.0.${nonClient1.id}`); // the originator's BGP Identifier
  const cl = got.find((x) => x.kind === 'cluster-list');
  assert.ok(cl?.kind === 'cluster-list');
  assert.deepEqual(cl.clusterIds.map(formatAddr), ['198.18.0.1']); // our cluster ID = router ID
  // From a client: to everyone else.
  engine.receiveUpdate(client.id, route(['198.18.101.0/24'], [65011], '198.18.9.8'));
  assert.ok(received(nonClient1).announced.has('198.18.101.0/24'));
  assert.ok(received(nonClient2).announced.has('198.18.101.0/24'));
});

test('loops are not accepted: our AS in an eBGP path, our router ID as ORIGINATOR_ID', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003);
  const c = peer('198.18.3.2', LOCAL_AS);
  up(a, 65002, '198.18.1.1');
  up(b, 65003, '198.18.2.1');
  up(c, LOCAL_AS, '198.18.3.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002, LOCAL_AS, 64500], '198.18.1.2'));
  engine.receiveUpdate(
    c.id,
    route(['198.18.101.0/24'], [], '198.18.3.2', [
      {
        kind: 'originator-id',
        code: 9,
        flags: ATTR_DEFAULT_FLAGS[9]!,
        originatorId: parseAddr('198.18.0.1')!,
      },
    ]),
  );
  // Looped routes stay in the pre-policy Adj-RIB-In only: they are not candidates.
  assert.equal(engine.locRib.size, 0);
  assert.equal(received(b).announced.size, 0);
  assert.equal(engine.ribEntry(parsePrefix('198.18.100.0/24')!), undefined);
});

test('RFC 8212: an eBGP peer without policy neither imports nor exports', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002, { policies: false });
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1');
  up(b, 65003, '198.18.2.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  assert.equal(received(b).announced.size, 0);
  assert.equal(engine.neighborState(a.id)!.received, 0); // rejected by import: not in post-policy
});

test('withdrawals propagate and a better path replaces the best', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const c = peer('198.18.3.2', 65004);
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1');
  up(c, 65004, '198.18.3.1');
  up(b, 65003, '198.18.2.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002, 64500, 64501], '198.18.1.2'));
  engine.receiveUpdate(c.id, route(['198.18.100.0/24'], [65004, 64501], '198.18.3.2')); // shorter AS path
  assert.deepEqual(asPathOf(received(b).announced.get('198.18.100.0/24')!), [65001, 65004, 64501]);
  const entry = engine.ribEntry(parsePrefix('198.18.100.0/24')!)!;
  assert.equal(entry.paths.length, 2);
  assert.match(entry.reason, /AS.?path/i);
  engine.receiveUpdate(c.id, withdraw(['198.18.100.0/24']));
  assert.deepEqual(
    asPathOf(received(b).announced.get('198.18.100.0/24')!),
    [65001, 65002, 64500, 64501],
  );
  engine.receiveUpdate(a.id, withdraw(['198.18.100.0/24']));
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
  assert.equal(received(b).announced.size, 0);
});

test('RFC 7606 treat-as-withdraw removes the route', () => {
  const { a, b, engine } = twoPeers();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  engine.receiveUpdate(a.id, {
    ...route(['198.18.100.0/24'], [65002], '198.18.1.2'),
    treatAsWithdraw: true,
  });
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
});

test('max-prefix: past the limit, Cease 6/1 with AFI, SAFI and the limit (RFC 4486 §4)', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002, { maxPrefix: { limit: 2, action: 'shutdown' } });
  up(a, 65002, '198.18.1.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24', '198.18.101.0/24'], [65002], '198.18.1.2'));
  assert.equal(a.stopped, undefined);
  engine.receiveUpdate(a.id, route(['198.18.102.0/24'], [65002], '198.18.1.2'));
  const stopped = a.stopped as FakePeer['stopped'];
  assert.ok(stopped);
  assert.equal(stopped.code, 6);
  assert.equal(stopped.subcode, 1);
  assert.deepEqual([...stopped.data], [0, 1, 1, 0, 0, 0, 2]);
  assert.equal(engine.locRib.size, 0); // the session's routes are gone
});

const BOTH: [number, number][] = [
  [1, 1],
  [2, 1],
];

/** Two peers, a (AS 65002) and b (AS 65003), with sessions up for `families`. */
function twoPeers(families: [number, number][] = [[1, 1]]) {
  const s = setup();
  const a = s.peer('198.18.1.2', 65002);
  const b = s.peer('198.18.2.2', 65003);
  s.up(a, 65002, '198.18.1.1', families);
  s.up(b, 65003, '198.18.2.1', families);
  return { ...s, a, b };
}

/** The same with IPv4 and IPv6 unicast. */
const dualStack = () => twoPeers(BOTH);

test('graceful restart helper: stale routes keep forwarding, End-of-RIB flushes the unrefreshed', () => {
  const { a, b, engine, up, fib, clock } = twoPeers();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24', '198.18.101.0/24'], [65002], '198.18.1.2'));
  engine.sessionDown(a.id, 'peer restarting', true);
  assert.equal(received(b).withdrawn.length, 0, 'stale routes must not be withdrawn');
  assert.ok(!fib.some((c) => c.op === 'delete'), 'forwarding must be kept');
  clock.advance(60_000);
  up(a, 65002, '198.18.1.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2')); // refreshed
  engine.receiveUpdate(a.id, { type: 2, withdrawn: [], nlri: [], attributes: [] }); // End-of-RIB
  assert.deepEqual(received(b).withdrawn, ['198.18.101.0/24']);
  assert.deepEqual(
    fib.filter((c) => c.op === 'delete').map((c) => formatPrefix(c.prefix)),
    ['198.18.101.0/24'],
  );
});

test("graceful restart helper: one family's End-of-RIB sweeps that family only (RFC 4724 §4.2)", () => {
  const { engine, a, b, up, clock } = dualStack();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24', '198.18.101.0/24'], [65002], '198.18.1.2'));
  engine.receiveUpdate(a.id, route6(['2001:db8:100::/48', '2001:db8:101::/48']));
  engine.sessionDown(a.id, 'peer restarting', true);
  clock.advance(10_000);
  up(a, 65002, '198.18.1.1', BOTH);
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  engine.receiveUpdate(a.id, { type: 2, withdrawn: [], nlri: [], attributes: [] }); // IPv4 EoR
  assert.deepEqual(received(b).withdrawn, ['198.18.101.0/24'], 'the IPv6 routes wait');
  engine.receiveUpdate(a.id, route6(['2001:db8:100::/48']));
  engine.receiveUpdate(a.id, unreach6([])); // IPv6 End-of-RIB
  assert.deepEqual(received(b).withdrawn, ['198.18.101.0/24', '2001:db8:101::/48']);
});

test('graceful restart helper: families not preserved across the restart lose their stale routes at once (RFC 4724 §4.2)', () => {
  const { engine, a, b, up } = dualStack();
  const stale = () => {
    engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
    engine.receiveUpdate(a.id, route6(['2001:db8:100::/48']));
    engine.sessionDown(a.id, 'peer restarting', true);
  };
  // Back with forwarding state preserved for IPv4 only (F bit): IPv6 goes now.
  stale();
  up(a, 65002, '198.18.1.1', BOTH, [[1, 1]]);
  assert.deepEqual(received(b).withdrawn, ['2001:db8:100::/48']);
  // Back with IPv4 only negotiated (and preserved): IPv6 goes, IPv4 waits for End-of-RIB.
  b.sent.length = 0;
  engine.receiveUpdate(a.id, route6(['2001:db8:100::/48']));
  engine.sessionDown(a.id, 'peer restarting', true);
  up(a, 65002, '198.18.1.1', [[1, 1]]);
  assert.deepEqual(received(b).withdrawn, ['2001:db8:100::/48']);
  // Back without the capability at all: every stale route goes.
  b.sent.length = 0;
  engine.sessionDown(a.id, 'peer restarting', true);
  up(a, 65002, '198.18.1.1', BOTH, false);
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
});

test('graceful restart helper: a peer not back within its advertised restart time loses its stale routes (RFC 4724 §4.2)', () => {
  const { engine, peer, up, clock } = setup();
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1'); // its capability: restart time 120 s (stale-routes-time 360 s)
  up(b, 65003, '198.18.2.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  engine.sessionDown(a.id, 'peer restarting', true);
  clock.advance(119_000);
  assert.equal(received(b).withdrawn.length, 0);
  clock.advance(2_000);
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
});

test('graceful restart helper: a peer back in time that never sends End-of-RIB: the stale-routes time bounds its stale routes', () => {
  const { a, b, engine, up, clock } = twoPeers();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  engine.sessionDown(a.id, 'peer restarting', true);
  clock.advance(60_000);
  up(a, 65002, '198.18.1.1'); // back within its restart time: that bound no longer applies
  clock.advance(298_000); // 358 s after the restart, well past 120
  assert.equal(received(b).withdrawn.length, 0);
  clock.advance(3_000);
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
});

test('a session going down without graceful restart withdraws at once', () => {
  const { a, b, engine } = twoPeers();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  engine.sessionDown(a.id, 'NOTIFICATION received', false);
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
});

test('a new session gets the whole table, then End-of-RIB; 10k prefixes pack into ≤4096-octet UPDATEs', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  up(a, 65002, '198.18.1.1');
  const prefixes: string[] = [];
  for (let i = 0; i < 10_000; i++)
    prefixes.push(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
  for (let i = 0; i < prefixes.length; i += 500) {
    engine.receiveUpdate(a.id, route(prefixes.slice(i, i + 500), [65002], '198.18.1.2'));
  }
  const b = peer('198.18.2.2', 65003);
  up(b, 65003, '198.18.2.1');
  const r = received(b);
  assert.equal(r.announced.size, 10_000);
  assert.equal(r.eor, 1);
  // One attribute set: the minimum number of messages is ceil(10000 * 4 / (4096 - 23 - attrs)).
  assert.ok(b.sent.length <= 12, `${b.sent.length} UPDATEs for one attribute set`);
});

test('IPv6 routes travel in MP_REACH_NLRI with our IPv6 address as next hop to eBGP', () => {
  const { engine, peer, up } = setup();
  const a = peer('2001:db8:1::2', 65002);
  const b = peer('2001:db8:2::2', 65003);
  const v6: [number, number][] = [[2, 1]];
  up(a, 65002, '2001:db8:1::1', v6);
  up(b, 65003, '2001:db8:2::1', v6);
  const u = route6(['2001:db8:100::/48']);
  engine.receiveUpdate(a.id, u);
  const got = received(b).announced.get('2001:db8:100::/48')!;
  assert.ok(got);
  assert.equal(nextHopOf(got), '2001:db8:2::1');
  assert.deepEqual(asPathOf(got), [65001, 65002]);
  engine.receiveUpdate(a.id, unreach6(['2001:db8:100::/48']));
  assert.deepEqual(received(b).withdrawn, ['2001:db8:100::/48']);
});

test('static routes are originated with next hop self and an empty AS path to iBGP', () => {
  const { engine, peer, up } = setup();
  const c = peer('198.18.3.2', LOCAL_AS);
  up(c, LOCAL_AS, '198.18.3.1');
  engine.setStaticRoutes([
    {
      prefix: parsePrefix('198.18.200.0/24')!,
      attributes: [
        { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
        { kind: 'as-path', code: 2, flags: ATTR_DEFAULT_FLAGS[2]!, asnWidth: 4, segments: [] },
      ],
    },
  ]);
  const got = received(c).announced.get('198.18.200.0/24')!;
  assert.equal(nextHopOf(got), '198.18.3.1');
  assert.deepEqual(asPathOf(got), []);
});

test('route refresh re-sends the Adj-RIB-Out followed by End-of-RIB', () => {
  const { a, b, engine } = twoPeers();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24', '198.18.101.0/24'], [65002], '198.18.1.2'));
  const before = b.sent.length;
  engine.receiveRouteRefresh(b.id, 1, 1);
  const again = b.sent.slice(before);
  const prefixes = again.flatMap((u) => u.nlri.map((n) => formatPrefix(n.prefix))).sort();
  assert.deepEqual(prefixes, ['198.18.100.0/24', '198.18.101.0/24']);
  const last = again[again.length - 1]!;
  assert.equal(last.nlri.length + last.withdrawn.length + last.attributes.length, 0);
});

test('enhanced route refresh: the answer is framed by BoRR and EoRR (RFC 7313 §4)', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1');
  up(b, 65003, '198.18.2.1', [[1, 1]], true, AS4_CONTEXT, true);
  engine.receiveUpdate(a.id, route(['198.18.100.0/24', '198.18.101.0/24'], [65002], '198.18.1.2'));
  const [before, kindsBefore] = [b.sent.length, b.kinds.length];
  engine.receiveRouteRefresh(b.id, 1, 1, 0);
  const kinds = b.kinds.slice(kindsBefore);
  assert.equal(kinds[0], 'refresh/1', 'BoRR first');
  assert.equal(kinds.at(-1), 'refresh/2', 'EoRR last');
  assert.ok(kinds.slice(1, -1).every((k) => k === 'update'));
  const again = b.sent.slice(before);
  const prefixes = again.flatMap((u) => u.nlri.map((n) => formatPrefix(n.prefix))).sort();
  assert.deepEqual(prefixes, ['198.18.100.0/24', '198.18.101.0/24']);
  assert.ok(
    again.every((u) => u.nlri.length > 0),
    'no End-of-RIB: the EoRR ends the refresh',
  );
});

test("a peer's BoRR and EoRR are not requests; what it did not send again is withdrawn", () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1', [[1, 1]], true, AS4_CONTEXT, true);
  up(b, 65003, '198.18.2.1');
  const p = ['198.18.100.0/24', '198.18.101.0/24', '198.18.102.0/24'];
  engine.receiveUpdate(a.id, route(p, [65002], '198.18.1.2'));
  const toA = a.kinds.length;
  const toB = b.sent.length;
  engine.receiveRouteRefresh(a.id, 1, 1, 1); // BoRR
  assert.equal(a.kinds.length, toA, 'a BoRR is not answered with our routes');
  assert.equal(b.sent.length, toB, 'stale routes stay in use meanwhile');
  engine.receiveUpdate(a.id, route([p[0]!], [65002], '198.18.1.2'));
  engine.receiveUpdate(a.id, route([p[1]!], [65002, 65010], '198.18.1.2'));
  engine.receiveRouteRefresh(a.id, 1, 1, 2); // EoRR
  assert.equal(a.kinds.length, toA, 'an EoRR is not answered either');
  const r = received(b);
  assert.deepEqual(r.withdrawn, [p[2]]);
  assert.deepEqual(asPathOf(r.announced.get(p[1]!)!), [LOCAL_AS, 65002, 65010]);
  assert.ok(r.announced.has(p[0]!));
});

test('a BoRR without EoRR: stale routes go after the stale-routes time; reserved subtypes are ignored', () => {
  const { engine, peer, up, clock } = setup();
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1', [[1, 1]], true, AS4_CONTEXT, true);
  up(b, 65003, '198.18.2.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24', '198.18.101.0/24'], [65002], '198.18.1.2'));
  const toA = a.kinds.length;
  engine.receiveRouteRefresh(a.id, 1, 1, 3);
  engine.receiveRouteRefresh(a.id, 1, 1, 255);
  assert.equal(a.kinds.length, toA, 'reserved subtypes: no answer');
  engine.receiveRouteRefresh(a.id, 1, 1, 2); // an EoRR with no BoRR: nothing to sweep
  assert.deepEqual(received(b).withdrawn, []);
  engine.receiveRouteRefresh(a.id, 1, 1, 1);
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  clock.advance(359_999);
  assert.deepEqual(received(b).withdrawn, [], 'kept until the bound');
  clock.advance(1);
  assert.deepEqual(received(b).withdrawn, ['198.18.101.0/24']);
});

test('MRAI: changes to a peer go out at most once per interval, and a flap inside it is not sent', () => {
  const { engine, peer, up, clock } = setup();
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003, { mrai: 30 });
  up(a, 65002, '198.18.1.1');
  up(b, 65003, '198.18.2.1'); // initial table + End-of-RIB go at once; the interval starts
  const base = b.sent.length;
  clock.advance(1_000);
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  assert.equal(b.sent.length, base, 'held back by MRAI');
  engine.receiveUpdate(a.id, route(['198.18.101.0/24'], [65002], '198.18.1.2'));
  engine.receiveUpdate(a.id, withdraw(['198.18.101.0/24'])); // flaps within the interval
  clock.advance(28_999);
  assert.equal(b.sent.length, base, 'still inside the 30 s interval');
  clock.advance(1);
  const r = received(b);
  assert.ok(r.announced.has('198.18.100.0/24'));
  assert.ok(
    !r.announced.has('198.18.101.0/24') && !r.withdrawn.includes('198.18.101.0/24'),
    'the flap was collapsed',
  );
  assert.equal(b.sent.length, base + 1, 'one UPDATE for the whole burst');
});

test('ADD-PATH send: the best N paths with stable path IDs; one that drops out is withdrawn by its ID', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const c = peer('198.18.3.2', 65004);
  const d = peer('198.18.4.2', 65005);
  const b = peer('198.18.2.2', 65003, { addPathSendMax: 2 });
  up(a, 65002, '198.18.1.1');
  up(c, 65004, '198.18.3.1');
  up(d, 65005, '198.18.4.1');
  const ap = makeContext({ as4: true, addPath: [[1, 1]] });
  up(b, 65003, '198.18.2.1', [[1, 1]], true, ap);
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002, 64500, 64501], '198.18.1.2')); // longest path
  engine.receiveUpdate(c.id, route(['198.18.100.0/24'], [65004], '198.18.3.2')); // best
  engine.receiveUpdate(d.id, route(['198.18.100.0/24'], [65005, 64500], '198.18.4.2')); // second
  // What B holds now, by path ID (RFC 7911: the same prefix under several IDs).
  const held = new Map<number, number[]>();
  for (const u of b.sent) {
    for (const w of u.withdrawn) held.delete(w.pathId ?? -1);
    for (const n of u.nlri) held.set(n.pathId ?? -1, asPathOf([...u.attributes]));
  }
  assert.equal(held.size, 2, 'two paths advertised');
  assert.deepEqual(
    [...held.values()].sort(),
    [
      [65001, 65004],
      [65001, 65005, 64500],
    ].sort(),
  );
  const idOfC = [...held.entries()].find(([, p]) => p[1] === 65004)![0];
  // C's route goes away: A's path moves up into the two; C's path ID is withdrawn.
  engine.receiveUpdate(c.id, withdraw(['198.18.100.0/24']));
  const after = new Map(held);
  const sent2 = b.sent.slice(-3);
  for (const u of sent2) {
    for (const w of u.withdrawn) after.delete(w.pathId ?? -1);
    for (const n of u.nlri) after.set(n.pathId ?? -1, asPathOf([...u.attributes]));
  }
  assert.ok(!after.has(idOfC), 'C’s path ID was withdrawn');
  assert.deepEqual(
    [...after.values()].sort(),
    [
      [65001, 65002, 64500, 64501],
      [65001, 65005, 64500],
    ].sort(),
  );
});

test('next-hop resolution: an unreachable next hop is not eligible; IGP cost breaks ties (RFC 4271 §9.1.2)', () => {
  const reachable = new Map<string, number>([['198.18.9.1', 20]]); // next hop → IGP cost
  const { engine, peer, up } = setup({
    engine: {
      nextHops: {
        resolve: (nh) => {
          const cost = reachable.get(formatAddr(nh));
          return { reachable: cost !== undefined, igpCost: cost ?? 0 };
        },
      },
    },
  });
  // Router IDs 10.0.0.1, 10.0.0.2, 10.0.0.3 in creation order (see up()).
  const c1 = peer('198.18.3.2', LOCAL_AS, { gr: false });
  const c2 = peer('198.18.4.2', LOCAL_AS, { gr: false });
  const e = peer('198.18.2.2', 65003, { gr: false });
  up(c1, LOCAL_AS, '198.18.3.1', [[1, 1]], false);
  up(c2, LOCAL_AS, '198.18.4.1', [[1, 1]], false);
  up(e, 65003, '198.18.2.1', [[1, 1]], false);
  // c1's route (lower router ID, would win the tie) has an unreachable next hop.
  engine.receiveUpdate(c1.id, route(['198.18.100.0/24'], [65010], '198.18.8.1'));
  assert.equal(engine.locRib.best(prefixKey(parsePrefix('198.18.100.0/24')!)), undefined);
  assert.equal(e.sent.filter((u) => u.nlri.length).length, 0, 'nothing exported while unreachable');
  engine.receiveUpdate(c2.id, route(['198.18.100.0/24'], [65010], '198.18.9.1'));
  let best = engine.locRib.best(prefixKey(parsePrefix('198.18.100.0/24')!));
  assert.equal(best?.peer.id, c2.id, 'the reachable route is the only eligible one');
  // The IGP learns a cheaper way to c1's next hop: after re-resolution it wins on cost.
  reachable.set('198.18.8.1', 10);
  engine.nextHopsChanged();
  best = engine.locRib.best(prefixKey(parsePrefix('198.18.100.0/24')!));
  assert.equal(best?.peer.id, c1.id, 'lower IGP cost wins (step e) before the router ID');
  assert.equal(best?.igpCost, 10);
});

test('restarting role: selection deferred until End-of-RIB from every neighbor, then table + End-of-RIB (RFC 4724 §4.1)', () => {
  const ended: string[] = [];
  const { engine, peer, up, fib } = setup({
    engine: { deferSelection: { timeoutMs: 120_000 }, onDeferralEnd: (why) => ended.push(why) },
  });
  const a = peer('198.18.1.2', 65002);
  const b = peer('198.18.2.2', 65003);
  up(a, 65002, '198.18.1.1');
  up(b, 65003, '198.18.2.1');
  const eor: UpdateMessage = { type: 2, withdrawn: [], nlri: [], attributes: [] };
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  engine.receiveUpdate(a.id, eor);
  assert.ok(engine.selectionDeferred, 'B has not sent End-of-RIB yet');
  assert.equal(b.sent.length, 0, 'nothing sent while deferred, not even End-of-RIB');
  assert.equal(fib.length, 0, 'the FIB is not touched while deferred');
  engine.receiveUpdate(b.id, eor);
  assert.ok(!engine.selectionDeferred);
  assert.deepEqual(ended, ['End-of-RIB received from every neighbor']);
  assert.deepEqual(
    b.sent.map((u) => (u.nlri.length ? u.nlri.map((n) => formatPrefix(n.prefix)).join() : 'EoR')),
    ['198.18.100.0/24', 'EoR'],
    'the table, then End-of-RIB',
  );
  assert.deepEqual(
    fib.map((c) => [c.op, formatPrefix(c.prefix)]),
    [['replace', '198.18.100.0/24']],
  );
  assert.ok(engine.fibHas(parsePrefix('198.18.100.0/24')!));
});

test('restarting role: the deferral time ends selection deferral when a neighbor never sends End-of-RIB', () => {
  const ended: string[] = [];
  const { engine, clock } = setup({
    engine: { deferSelection: { timeoutMs: 120_000 }, onDeferralEnd: (why) => ended.push(why) },
  });
  clock.advance(119_999);
  assert.ok(engine.selectionDeferred);
  clock.advance(1);
  assert.deepEqual(ended, ['selection deferral time expired']);
});

test('export policy changed to reject-all and back: routes are withdrawn, then announced again', () => {
  const { a, b, engine } = twoPeers();
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  assert.ok(received(b).announced.has('198.18.100.0/24'));
  const rejectAll = compilePolicy({ default: 'reject' }, 'none');
  assert.ok(rejectAll.ok);
  const spec = (exportPolicy: CompiledPolicy[]) =>
    neighborSpec('198.18.2.2', 65003, { exportPolicy });
  engine.updateNeighbor(b.id, spec([rejectAll.value]));
  engine.refreshExport(b.id);
  assert.deepEqual(received(b).withdrawn, ['198.18.100.0/24']);
  engine.receiveUpdate(a.id, route(['198.18.101.0/24'], [65002], '198.18.1.2'));
  assert.ok(!received(b).announced.has('198.18.101.0/24'), 'nothing new while rejecting');
  engine.updateNeighbor(b.id, spec([acceptAll()]));
  engine.refreshExport(b.id);
  const r = received(b);
  assert.ok(r.announced.has('198.18.100.0/24') && r.announced.has('198.18.101.0/24'));
});

test('IPv6 routes over an IPv4 session go with our IPv4-mapped address as next hop', () => {
  const { engine, b } = dualStack();
  engine.setStaticRoutes([
    {
      prefix: parsePrefix('2001:db8:100::/48')!,
      attributes: [
        { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
        { kind: 'as-path', code: 2, flags: ATTR_DEFAULT_FLAGS[2]!, asnWidth: 4, segments: [] },
      ],
    },
  ]);
  const got = received(b).announced.get('2001:db8:100::/48');
  assert.ok(got, 'the IPv6 route is advertised over the IPv4 session');
  assert.equal(nextHopOf(got), '::ffff:198.18.2.1');
});

test('soft reconfiguration inbound: an import policy change re-runs over the kept pre-policy routes', () => {
  const { engine, peer, up } = setup();
  const a = peer('198.18.1.2', 65002);
  const rejectAll = compilePolicy({ default: 'reject' }, 'none');
  assert.ok(rejectAll.ok);
  const spec = (importPolicy: CompiledPolicy[], keepPrePolicy: boolean) =>
    neighborSpec('198.18.1.2', 65002, { importPolicy, keepPrePolicy });
  // Without the pre-policy view, reimport cannot help (the caller falls back to ROUTE-REFRESH).
  assert.equal(engine.reimport(a.id), false);
  engine.updateNeighbor(a.id, spec([rejectAll.value], true));
  up(a, 65002, '198.18.1.1');
  engine.receiveUpdate(a.id, route(['198.18.100.0/24'], [65002], '198.18.1.2'));
  assert.equal(engine.locRib.size, 0, 'rejected by import policy');
  engine.updateNeighbor(a.id, spec([acceptAll()], true));
  assert.equal(engine.reimport(a.id), true);
  assert.equal(engine.locRib.size, 1, 'accepted now, without a word from the peer');
  engine.updateNeighbor(a.id, spec([rejectAll.value], true));
  engine.reimport(a.id);
  assert.equal(engine.locRib.size, 0, 'and rejected again');
});
