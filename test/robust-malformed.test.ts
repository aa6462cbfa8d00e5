// Malformed input from the wire against a running `nonstop speaker` process, over real
// sessions on loopback: GoBGP's fuzzer-found messages (../shared/data/gobgp/bad-len) and
// hand-made RFC 7606 cases, each sent by a scripted peer in Established. For every case the
// speaker must answer as RFC 4271 §6 / RFC 7606 prescribe — the NOTIFICATION and close for
// session-reset errors, treat-as-withdraw or attribute-discard without one otherwise — and
// must stay alive: a second, well-behaved session stays Established with its routes.
//
// Every misbehaving peer has its own neighbor address (127.1.1.x, 127.1.2.x), so no case
// waits out the IdleHoldTimer of the one before it.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { toHex } from '../src/lib/bytes.js';
import { formatPrefix } from '../src/lib/ip.js';
import type { NeighborsResponse, RibResponse, StatusResponse } from '../src/control/api-types.js';
import { ERR, ERR_FSM, ERR_HEADER, ERR_UPDATE, MSG } from '../src/wire/index.js';
import { BgpClient, startSpeaker, type SpeakerProcess } from './support/bgp-client.js';
import { requireData } from './support/data.js';
import { MARKER, withHeader } from './support/exabgp.js';

const HOST = '127.0.0.1';
const LOCAL_AS = 65001;
const GOOD = { address: '127.1.0.2', asn: 65002 };
const GOOD_PREFIXES = ['10.0.0.0/24', '10.0.1.0/24'];
const BAD_LEN_DIR = 'gobgp/bad-len';

// ---------------------------------------------------------------------------------------
// What each bad-len file must produce in Established. As captured, no file starts with the
// all-ones marker: 1/1 (RFC 4271 §6.1), as test/wire-gobgp-bad-len.test.ts expects. With
// the marker repaired, the UPDATE files must give the UPDATE Message Error that unit test
// expects (same octets, same 4-octet-AS context). The repaired OPEN files are a different
// matter in a session: an OPEN — malformed (Event 22) or not (Event 19) — in Established
// is an FSM error (RFC 4271 §8.2.2), with RFC 6608's subcode 3 for Established.

interface Want {
  readonly code: number;
  readonly subcodes: readonly number[];
  readonly data?: string;
}
const notSync: Want = {
  code: ERR.MESSAGE_HEADER,
  subcodes: [ERR_HEADER.CONNECTION_NOT_SYNCHRONIZED],
};
const openInEstablished: Want = {
  code: ERR.FSM,
  subcodes: [ERR_FSM.UNEXPECTED_MESSAGE_IN_ESTABLISHED],
};
const badNlri: Want = { code: ERR.UPDATE_MESSAGE, subcodes: [ERR_UPDATE.INVALID_NETWORK_FIELD] };
const unreachOverrun: Want = {
  code: ERR.UPDATE_MESSAGE,
  subcodes: [
    ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
    ERR_UPDATE.ATTRIBUTE_LENGTH_ERROR,
    ERR_UPDATE.OPTIONAL_ATTRIBUTE_ERROR,
    ERR_UPDATE.INVALID_NETWORK_FIELD,
  ],
};
const BAD_LEN: Readonly<Record<string, Want>> = {
  '000852858287eb2ece5cd12aabef453f87b77adb': openInEstablished,
  '0b229debaa2fc1e8b997c9894ad3184cce8c7bb4': openInEstablished,
  '1d1fb484828b4f23af3ff0ab71b67682d5876fd6': openInEstablished,
  '27f19d6959e9cbecfcd09b28c3aec493a4b6f18d': badNlri,
  '3765bb2392d48ca8edaf0b5e39209eb2d1b87c53': badNlri,
  '147a924d9a4a4d9960f8bb49e3ec782ee93f82a7': unreachOverrun,
  '3dce7e046d709b142092e15b78e9ad20ee5144fa': unreachOverrun,
  '66e6aab4f34c9c5783c18f90b2d987e5dad241e0': unreachOverrun,
  a8ecedce17e2e28a466cf9fb3bfaf2d8554fef42: unreachOverrun,
  b7ed0646a97127bf424da480a53a84a0cb9c9565: unreachOverrun,
  '4d4dc736bc89bf41363774d282b8a7641c3e7a98': badNlri,
};
const BAD_LEN_FILES = Object.keys(BAD_LEN).sort();

// ---------------------------------------------------------------------------------------
// Raw UPDATE building (the codec refuses to encode most of these on purpose).

type Octets = readonly number[];
const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
/** A path attribute with a one-octet length (flags without Extended Length). */
const attr = (flags: number, code: number, value: Octets): number[] => [
  flags,
  code,
  value.length,
  ...value,
];
const ORIGIN_IGP = attr(0x40, 1, [0]);
const asPath = (asn: number): number[] =>
  attr(0x40, 2, [2, 1, (asn >>> 24) & 0xff, (asn >>> 16) & 0xff, (asn >>> 8) & 0xff, asn & 0xff]);
const nextHop = (addr: string): number[] => attr(0x40, 3, addr.split('.').map(Number));
/** NLRI octets of an IPv4 prefix "a.b.c.d/len". */
function nlri(prefix: string): number[] {
  const [a, l] = prefix.split('/');
  const len = Number(l);
  return [
    len,
    ...a!
      .split('.')
      .map(Number)
      .slice(0, Math.ceil(len / 8)),
  ];
}
function update(p: { withdrawn?: Octets; attrs?: Octets; nlri?: Octets }): Uint8Array {
  const w = p.withdrawn ?? [];
  const a = p.attrs ?? [];
  return withHeader(
    MSG.UPDATE,
    Uint8Array.from([...u16(w.length), ...w, ...u16(a.length), ...a, ...(p.nlri ?? [])]),
  );
}
const goodAttrs = (peer: { address: string; asn: number }): number[] => [
  ...ORIGIN_IGP,
  ...asPath(peer.asn),
  ...nextHop(peer.address),
];

// ---------------------------------------------------------------------------------------

const badLenPeer = (i: number) => ({ address: `127.1.1.${i + 1}`, asn: 65100 + i });
const casePeer = (i: number) => ({ address: `127.1.2.${i + 1}`, asn: 65200 + i });
const BAD_LEN_PEERS = BAD_LEN_FILES.length * 2; // as captured, then repaired
const CASE_PEERS = 8;
const EXTRA_PEERS = 11;
const MORE_PEERS = 10;
const morePeer = (i: number) => ({ address: `127.1.4.${i + 1}`, asn: 65400 + i });
const extraPeer = (i: number) => ({ address: `127.1.3.${i + 1}`, asn: 65300 + i });

function speakerYaml(env: { host: string; port: number; socket: string }): string {
  const peers = [
    GOOD,
    ...Array.from({ length: BAD_LEN_PEERS }, (_, i) => badLenPeer(i)),
    ...Array.from({ length: CASE_PEERS }, (_, i) => casePeer(i)),
    ...Array.from({ length: EXTRA_PEERS }, (_, i) => extraPeer(i)),
    ...Array.from({ length: MORE_PEERS }, (_, i) => morePeer(i)),
  ];
  return [
    `router-id: 127.0.0.1`,
    `asn: ${LOCAL_AS}`,
    `listen: [{ address: ${env.host}, port: ${env.port} }]`,
    `control: { socket: ${JSON.stringify(env.socket)} }`,
    `log: { level: debug, format: json }`,
    `fib: { mode: memory }`,
    `policies:`,
    `  all: { default: accept }`,
    `neighbors:`,
    ...peers.map(
      (p) =>
        `  - { address: ${p.address}, asn: ${p.asn}, passive: true, import: [all], export: [all] }`,
    ),
    '',
  ].join('\n');
}

describe('malformed input over live sessions with nonstop speaker', { timeout: 60_000 }, () => {
  let sp: SpeakerProcess | undefined;
  let good: BgpClient | undefined;
  const clients: BgpClient[] = [];

  const speaker = (): SpeakerProcess => {
    assert.ok(sp, 'speaker not started');
    return sp;
  };

  const session = async (peer: {
    address: string;
    asn: number;
    holdTime?: number;
  }): Promise<BgpClient> => {
    const s = speaker();
    const c = await BgpClient.connect(
      { host: s.host, port: s.port, localAddress: peer.address },
      { asn: peer.asn, bgpId: peer.address, ...(peer.holdTime ? { holdTime: peer.holdTime } : {}) },
    );
    clients.push(c);
    await c.handshake();
    return c;
  };

  const ribPaths = async (prefix: string) => {
    const r = await speaker().api<RibResponse>(`/rib?prefix=${encodeURIComponent(prefix)}`);
    return r.entries.filter((e) => e.prefix === prefix).flatMap((e) => e.paths);
  };

  const pathFrom = async (prefix: string, peer: string) =>
    (await ribPaths(prefix)).find((p) => p.peer === peer);

  const waitUntil = async (what: string, cond: () => Promise<boolean>, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const neighborState = async (address: string) =>
    (await speaker().api<NeighborsResponse>('/neighbors')).neighbors.find(
      (n) => n.address === address,
    )?.state;

  /** The speaker runs, and the well-behaved session is untouched, with its routes. */
  const assertHealthy = async (after: string): Promise<void> => {
    const s = speaker();
    assert.ok(s.alive(), `speaker process died after ${after}; log:\n${s.logs().slice(-3000)}`);
    assert.ok(good, 'no good session');
    assert.equal(good.isClosed, false, `good session closed after ${after}`);
    assert.deepEqual(good.notifications(), [], `good session got a NOTIFICATION after ${after}`);
    assert.equal(await neighborState(GOOD.address), 'Established', `after ${after}`);
    for (const p of GOOD_PREFIXES) {
      assert.ok(await pathFrom(p, GOOD.address), `${p} from the good peer lost after ${after}`);
    }
  };

  /** Sends `bytes` on a fresh session and expects exactly one NOTIFICATION, then close. */
  const expectReset = async (
    peer: { address: string; asn: number },
    bytes: Uint8Array,
    want: Want,
    label: string,
  ): Promise<void> => {
    const c = await session(peer);
    const from = c.mark();
    c.sendRaw(bytes);
    const n = await c.waitForNotification(5000, from);
    const got = `${n.code}/${n.subcode} data=${toHex(n.data)}`;
    assert.equal(n.code, want.code, `${label}: got ${got}, want ${want.code}/${want.subcodes}`);
    assert.ok(
      want.subcodes.includes(n.subcode),
      `${label}: got ${got}, want subcode ${want.subcodes}`,
    );
    if (want.data !== undefined) assert.equal(toHex(n.data), want.data, `${label}: data`);
    await c.closed(5000);
    assert.equal(c.notifications(from).length, 1, `${label}: ${c.describe(from)}`);
    assert.equal(
      c.received.at(-1)?.message?.type,
      MSG.NOTIFICATION,
      `${label}: nothing may follow the NOTIFICATION (${c.describe(from)})`,
    );
    await assertHealthy(label);
  };

  /** A fresh session where the peer first announces `prefix` correctly. */
  const sessionWithRoute = async (
    i: number,
    prefix: string,
    peerOf: (i: number) => { address: string; asn: number } = casePeer,
  ) => {
    const peer = peerOf(i);
    const c = await session(peer);
    c.sendRaw(update({ attrs: goodAttrs(peer), nlri: nlri(prefix) }));
    await waitUntil(`${prefix} from ${peer.address}`, async () =>
      Boolean(await pathFrom(prefix, peer.address)),
    );
    return { c, peer };
  };

  /**
   * No NOTIFICATION, connection open, neighbor Established — and the speaker still acts on
   * this session: a ROUTE-REFRESH (RFC 2918) brings the good peer's routes again.
   */
  const assertSessionUp = async (c: BgpClient, address: string, label: string) => {
    const from = c.mark();
    c.sendRaw(withHeader(MSG.ROUTE_REFRESH, Uint8Array.of(0, 1, 0, 1)));
    await c.waitForUpdate((u) => u.nlri.some((n) => formatPrefix(n.prefix) === GOOD_PREFIXES[0]), {
      since: from,
      timeoutMs: 3000,
    });
    assert.deepEqual(c.notifications(), [], `${label}: ${c.describe()}`);
    assert.equal(c.isClosed, false, `${label}: connection closed (${c.describe(from)})`);
    assert.equal(await neighborState(address), 'Established', label);
  };

  before(async () => {
    sp = await startSpeaker({ host: HOST, yaml: speakerYaml });
    good = await session(GOOD);
    good.sendRaw(update({ attrs: goodAttrs(GOOD), nlri: GOOD_PREFIXES.flatMap((p) => nlri(p)) }));
    for (const p of GOOD_PREFIXES) {
      await waitUntil(`${p} in the RIB`, async () => Boolean(await pathFrom(p, GOOD.address)));
    }
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sp?.stop();
  });

  describe('gobgp bad-len fixtures replayed in Established', () => {
    /** The file's octets, or undefined when the data is absent and NONSTOP_SKIP_DATA=1. */
    const fixture = (t: TestContext, name: string): Uint8Array | undefined => {
      const dir = requireData(t, BAD_LEN_DIR);
      return dir ? new Uint8Array(readFileSync(join(dir, name))) : undefined;
    };
    test('fixture set is the expected one', (t) => {
      const dir = requireData(t, BAD_LEN_DIR);
      if (dir) assert.deepEqual(readdirSync(dir).sort(), BAD_LEN_FILES);
    });
    BAD_LEN_FILES.forEach((name, i) => {
      test(`${name} as captured → 1/1`, async (t) => {
        const bytes = fixture(t, name);
        if (!bytes) return;
        await expectReset(badLenPeer(i), bytes, notSync, name);
      });
    });
    BAD_LEN_FILES.forEach((name, i) => {
      const want = BAD_LEN[name]!;
      test(`${name} marker repaired → ${want.code}/${want.subcodes.join('|')}`, async (t) => {
        const bytes = fixture(t, name);
        if (!bytes) return;
        bytes.set(MARKER, 0);
        await expectReset(badLenPeer(BAD_LEN_FILES.length + i), bytes, want, `${name} (repaired)`);
      });
    });
  });

  describe('RFC 7606 cases over a session', () => {
    test('(a) undefined ORIGIN value → treat-as-withdraw, session up', async () => {
      const prefix = '10.2.0.0/24';
      const { c, peer } = await sessionWithRoute(0, prefix);
      c.sendRaw(
        update({
          attrs: [...attr(0x40, 1, [3]), ...asPath(peer.asn), ...nextHop(peer.address)],
          nlri: nlri(prefix),
        }),
      );
      await waitUntil(`${prefix} withdrawn`, async () => !(await pathFrom(prefix, peer.address)));
      await assertSessionUp(c, peer.address, '(a)');
      await assertHealthy('(a)');
    });

    test('(b) malformed AGGREGATOR (length 5) → attribute discarded, route accepted', async () => {
      const prefix = '10.2.1.0/24';
      const peer = casePeer(1);
      const c = await session(peer);
      c.sendRaw(
        update({
          attrs: [...goodAttrs(peer), ...attr(0xc0, 7, [0, 0, 1, 2, 3])],
          nlri: nlri(prefix),
        }),
      );
      await waitUntil(`${prefix} accepted`, async () =>
        Boolean(await pathFrom(prefix, peer.address)),
      );
      const p = await pathFrom(prefix, peer.address);
      assert.equal(p?.aggregator, undefined, 'the malformed AGGREGATOR must be discarded');
      const logged = speaker()
        .logLines(/attribute-discard/)
        .find((l) => l['peer'] === peer.address);
      assert.equal(logged?.['attribute'], 7, 'the discard is logged, naming AGGREGATOR');
      assert.equal(p?.asPath, String(peer.asn));
      await assertSessionUp(c, peer.address, '(b)');
      await assertHealthy('(b)');
    });

    test('(c) attribute length overrunning the attribute block → treat-as-withdraw', async () => {
      const prefix = '10.2.2.0/24';
      const { c, peer } = await sessionWithRoute(2, prefix);
      // MULTI_EXIT_DISC says 10 octets; the Total Path Attribute Length leaves it 2.
      const attrs = [...goodAttrs(peer), 0x80, 4, 10, 0, 0];
      c.sendRaw(update({ attrs, nlri: nlri(prefix) }));
      await waitUntil(`${prefix} withdrawn`, async () => !(await pathFrom(prefix, peer.address)));
      await assertSessionUp(c, peer.address, '(c)');
      await assertHealthy('(c)');
    });

    test('(d) NLRI prefix length 33 → 3/10 and close', async () => {
      const peer = casePeer(3);
      await expectReset(
        peer,
        update({ attrs: goodAttrs(peer), nlri: [33, 10, 2, 3, 0, 0] }),
        badNlri,
        '(d)',
      );
    });

    test('(e) bad marker → 1/1', async () => {
      const ka = withHeader(MSG.KEEPALIVE, new Uint8Array(0));
      ka[5] = 0xfe;
      await expectReset(casePeer(4), ka, notSync, '(e)');
    });

    test('(f) length 5000 without extended messages → 1/2 with the length as data', async () => {
      const m = new Uint8Array(19 + 100);
      m.set(MARKER, 0);
      m.set(u16(5000), 16);
      m[18] = MSG.UPDATE;
      await expectReset(
        casePeer(5),
        m,
        { code: ERR.MESSAGE_HEADER, subcodes: [ERR_HEADER.BAD_MESSAGE_LENGTH], data: '1388' },
        '(f)',
      );
    });

    test('(g) unknown message type 9 → 1/3 with the type as data', async () => {
      await expectReset(
        casePeer(6),
        withHeader(9, new Uint8Array(0)),
        { code: ERR.MESSAGE_HEADER, subcodes: [ERR_HEADER.BAD_MESSAGE_TYPE], data: '09' },
        '(g)',
      );
    });

    test('(h) UPDATE with NLRI but no AS_PATH → treat-as-withdraw, 3/3 logged', async () => {
      const prefix = '10.2.7.0/24';
      const { c, peer } = await sessionWithRoute(7, prefix);
      const logFrom = speaker().logs().length;
      c.sendRaw(update({ attrs: [...ORIGIN_IGP, ...nextHop(peer.address)], nlri: nlri(prefix) }));
      await waitUntil(`${prefix} withdrawn`, async () => !(await pathFrom(prefix, peer.address)));
      const line = await speaker().waitForLog(/treat-as-withdraw/, 3000, logFrom);
      assert.equal(line['peer'], peer.address);
      assert.equal(line['code'], ERR.UPDATE_MESSAGE);
      assert.equal(line['subcode'], ERR_UPDATE.MISSING_WELL_KNOWN_ATTRIBUTE);
      await assertSessionUp(c, peer.address, '(h)');
      await assertHealthy('(h)');
    });
  });

  describe('more RFC 7606 attribute cases', () => {
    type Peer = { address: string; asn: number };
    /** Announce `prefix` correctly, then again with `bad` attributes: it must go, quietly. */
    const expectWithdraw = async (i: number, bad: (p: Peer) => number[], label: string) => {
      const prefix = `10.4.${i}.0/24`;
      const { c, peer } = await sessionWithRoute(i, prefix, morePeer);
      c.sendRaw(update({ attrs: bad(peer), nlri: nlri(prefix) }));
      await waitUntil(
        `${label}: ${prefix} withdrawn`,
        async () => !(await pathFrom(prefix, peer.address)),
      );
      await assertSessionUp(c, peer.address, label);
    };
    /** A route with `attrs` must be accepted, the session up; returns its RIB path. */
    const expectAccepted = async (i: number, attrs: (p: Peer) => number[], label: string) => {
      const prefix = `10.4.${i}.0/24`;
      const peer = morePeer(i);
      const c = await session(peer);
      c.sendRaw(update({ attrs: attrs(peer), nlri: nlri(prefix) }));
      await waitUntil(`${label}: ${prefix} accepted`, async () =>
        Boolean(await pathFrom(prefix, peer.address)),
      );
      await assertSessionUp(c, peer.address, label);
      return (await pathFrom(prefix, peer.address))!;
    };

    test('ORIGIN flagged optional → treat-as-withdraw (§3(c))', async () => {
      await expectWithdraw(
        0,
        (p) => [...attr(0xc0, 1, [0]), ...asPath(p.asn), ...nextHop(p.address)],
        'ORIGIN flags',
      );
    });

    test('ORIGIN twice → all but the first discarded, route accepted (§3(g))', async () => {
      const path = await expectAccepted(
        1,
        (p) => [...goodAttrs(p), ...attr(0x40, 1, [2])],
        'dup ORIGIN',
      );
      assert.equal(path.origin, 'igp', 'the first ORIGIN counts');
    });

    test('MP_REACH_NLRI twice → 3/1 and close (§3(g))', async () => {
      const peer = morePeer(2);
      const mp = attr(0x80, 14, [0, 1, 1, 4, 127, 1, 4, 3, 0, 24, 10, 4, 2]);
      await expectReset(
        peer,
        update({ attrs: [...ORIGIN_IGP, ...asPath(peer.asn), ...mp, ...mp] }),
        { code: ERR.UPDATE_MESSAGE, subcodes: [ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST] },
        'dup MP_REACH',
      );
    });

    test('NEXT_HOP of 5 octets → treat-as-withdraw (§7.3)', async () => {
      await expectWithdraw(
        3,
        (p) => [...ORIGIN_IGP, ...asPath(p.asn), ...attr(0x40, 3, [127, 1, 4, 4, 0])],
        'NEXT_HOP length',
      );
    });

    test('AS_PATH with a zero-length segment → treat-as-withdraw (§7.2)', async () => {
      await expectWithdraw(
        4,
        (p) => [
          ...ORIGIN_IGP,
          ...attr(0x40, 2, [2, 1, 0, 0, (p.asn >>> 8) & 0xff, p.asn & 0xff, 2, 0]),
          ...nextHop(p.address),
        ],
        'AS_PATH empty segment',
      );
    });

    test('MULTI_EXIT_DISC of 3 octets → treat-as-withdraw (§7.4)', async () => {
      await expectWithdraw(5, (p) => [...goodAttrs(p), ...attr(0x80, 4, [0, 0, 1])], 'MED length');
    });

    test('COMMUNITIES of 5 octets → treat-as-withdraw (§7.8)', async () => {
      await expectWithdraw(
        6,
        (p) => [...goodAttrs(p), ...attr(0xc0, 8, [0xfd, 0xe9, 0, 1, 0])],
        'COMMUNITIES length',
      );
    });

    test('LOCAL_PREF from an eBGP peer → ignored, route accepted (RFC 4271 §5.1.5, §7.5)', async () => {
      const path = await expectAccepted(
        7,
        (p) => [...goodAttrs(p), ...attr(0x40, 5, [0, 0, 0x03, 0x09])],
        'eBGP LOCAL_PREF',
      );
      assert.notEqual(path.localPref, 777, 'LOCAL_PREF from an external peer must not be used');
    });

    test('ATOMIC_AGGREGATE of 1 octet → attribute discarded, route accepted (§7.6)', async () => {
      const path = await expectAccepted(
        8,
        (p) => [...goodAttrs(p), ...attr(0x40, 6, [1])],
        'AA length',
      );
      assert.notEqual(path.atomicAggregate, true, 'the malformed ATOMIC_AGGREGATE is discarded');
    });

    test('an unrecognized well-known attribute → 3/2 with the attribute as data (RFC 4271 §6.3)', async () => {
      const peer = morePeer(9);
      const unknown = attr(0x40, 99, [1, 2]);
      await expectReset(
        peer,
        update({ attrs: [...goodAttrs(peer), ...unknown], nlri: nlri('10.4.9.0/24') }),
        {
          code: ERR.UPDATE_MESSAGE,
          subcodes: [ERR_UPDATE.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE],
          data: toHex(Uint8Array.from(unknown)),
        },
        'unknown well-known',
      );
    });
  });

  describe('more edge cases: header lengths, ROUTE-REFRESH, OPEN, strangers', () => {
    test('KEEPALIVE of 20 octets → 1/2 with the length as data', async () => {
      const m = withHeader(MSG.KEEPALIVE, Uint8Array.of(0));
      await expectReset(
        extraPeer(0),
        m,
        { code: ERR.MESSAGE_HEADER, subcodes: [ERR_HEADER.BAD_MESSAGE_LENGTH], data: '0014' },
        'KEEPALIVE 20',
      );
    });

    test('UPDATE of 21 octets (below the 23-octet minimum) → 1/2', async () => {
      await expectReset(
        extraPeer(1),
        withHeader(MSG.UPDATE, Uint8Array.of(0, 0)),
        { code: ERR.MESSAGE_HEADER, subcodes: [ERR_HEADER.BAD_MESSAGE_LENGTH], data: '0015' },
        'UPDATE 21',
      );
    });

    test('BoRR ROUTE-REFRESH of 24 octets → 7/1 with the message as data (RFC 7313 §5)', async () => {
      // AFI 1, subtype 1 (BoRR), SAFI 1, and one octet too many.
      const m = withHeader(MSG.ROUTE_REFRESH, Uint8Array.of(0, 1, 1, 1, 0));
      await expectReset(
        extraPeer(2),
        m,
        { code: ERR.ROUTE_REFRESH_MESSAGE, subcodes: [1], data: toHex(m) },
        'ROUTE-REFRESH 24',
      );
    });

    test('ROUTE-REFRESH for a family not negotiated → ignored (RFC 2918 §4)', async () => {
      const peer = extraPeer(3);
      const c = await session(peer);
      c.sendRaw(withHeader(MSG.ROUTE_REFRESH, Uint8Array.of(0, 2, 0, 1)));
      c.sendRaw(withHeader(MSG.ROUTE_REFRESH, Uint8Array.of(0x40, 0x04, 0, 0x47)));
      await assertSessionUp(c, peer.address, 'ROUTE-REFRESH afi 2');
      await assertHealthy('ROUTE-REFRESH afi 2');
    });

    test('an UPDATE delivered one octet at a time is framed and accepted', async () => {
      const peer = extraPeer(8);
      const c = await session(peer);
      const prefix = '10.3.8.0/24';
      const m = update({ attrs: goodAttrs(peer), nlri: nlri(prefix) });
      for (const b of m) {
        c.sendRaw(Uint8Array.of(b));
        await new Promise((r) => setTimeout(r, 1));
      }
      await waitUntil(`${prefix} accepted`, async () =>
        Boolean(await pathFrom(prefix, peer.address)),
      );
      await assertSessionUp(c, peer.address, 'bytewise');
    });

    test('the peer closes TCP in the middle of an UPDATE: its routes go, nothing else', async () => {
      const peer = extraPeer(9);
      const c = await session(peer);
      const prefix = '10.3.9.0/24';
      c.sendRaw(update({ attrs: goodAttrs(peer), nlri: nlri(prefix) }));
      await waitUntil(`${prefix} accepted`, async () =>
        Boolean(await pathFrom(prefix, peer.address)),
      );
      const half = update({ attrs: goodAttrs(peer), nlri: nlri('10.3.10.0/24') });
      c.sendRaw(half.subarray(0, 30));
      await new Promise((r) => setTimeout(r, 20));
      await c.close();
      await waitUntil(`${prefix} withdrawn`, async () => !(await pathFrom(prefix, peer.address)));
      await waitUntil(
        'the neighbor to leave Established',
        async () => (await neighborState(peer.address)) !== 'Established',
      );
      await assertHealthy('half an UPDATE, then close');
    });

    test('the peer goes silent: Hold Timer Expired (4/0) after the 3 s hold time', async () => {
      const peer = extraPeer(10);
      const c = await session({ ...peer, holdTime: 3 });
      c.stopKeepalives();
      const t0 = Date.now();
      const n = await c.waitForNotification(6000);
      assert.equal(`${n.code}/${n.subcode}`, `${ERR.HOLD_TIMER_EXPIRED}/0`);
      assert.ok(Date.now() - t0 >= 2000, `hold timer fired after ${Date.now() - t0} ms`);
      await c.closed(5000);
      await assertHealthy('hold timer expiry');
    });

    /** Our OPEN, changed as `opts` says, on a fresh connection: the speaker must refuse it. */
    const badOpen = async (
      peer: { address: string; asn: number },
      opts: { asn?: number; bgpId?: string; holdTime?: number },
      want: Want,
      label: string,
    ) => {
      const s = speaker();
      const c = await BgpClient.connect(
        { host: s.host, port: s.port, localAddress: peer.address },
        {
          asn: opts.asn ?? peer.asn,
          bgpId: opts.bgpId ?? peer.address,
          holdTime: opts.holdTime ?? 90,
        },
      );
      clients.push(c);
      c.sendMessage(c.localOpen);
      const n = await c.waitForNotification(5000);
      const got = `${n.code}/${n.subcode} data=${toHex(n.data)}`;
      assert.equal(n.code, want.code, `${label}: got ${got}`);
      assert.ok(want.subcodes.includes(n.subcode), `${label}: got ${got}`);
      if (want.data !== undefined) assert.equal(toHex(n.data), want.data, `${label}: data`);
      await c.closed(5000);
      assert.equal(c.messages(MSG.KEEPALIVE).length, 0, `${label}: ${c.describe()}`);
      await assertHealthy(label);
    };

    test('OPEN with hold time 2 → 2/6', async () => {
      await badOpen(
        extraPeer(4),
        { holdTime: 2 },
        { code: ERR.OPEN_MESSAGE, subcodes: [6] },
        'hold 2',
      );
    });

    test('OPEN from the wrong AS → 2/2', async () => {
      await badOpen(
        extraPeer(5),
        { asn: 64999 },
        { code: ERR.OPEN_MESSAGE, subcodes: [2] },
        'bad AS',
      );
    });

    test('OPEN with BGP Identifier 0.0.0.0 → 2/3', async () => {
      await badOpen(
        extraPeer(6),
        { bgpId: '0.0.0.0' },
        { code: ERR.OPEN_MESSAGE, subcodes: [3] },
        'id 0',
      );
    });

    test('a connection from an address with no neighbor is closed, nothing sent', async () => {
      const s = speaker();
      const c = await BgpClient.connect(
        { host: s.host, port: s.port, localAddress: '127.1.9.9' },
        { asn: 65999, bgpId: '127.1.9.9' },
      );
      clients.push(c);
      c.sendMessage(c.localOpen);
      await c.closed(5000);
      assert.deepEqual(c.received, []);
      await assertHealthy('stranger');
    });
  });

  test('after everything: the speaker answers and the good session kept its routes', async () => {
    const s = speaker();
    const st = await s.api<StatusResponse>('/status');
    assert.equal(st.pid, s.child.pid);
    assert.equal(st.asn, LOCAL_AS);
    await assertHealthy('all cases');
    // The good peer still receives what the speaker learns: a route from a case peer.
    assert.ok(good);
    await good.waitForUpdate((u) => u.nlri.some((n) => formatPrefix(n.prefix) === '10.2.1.0/24'), {
      timeoutMs: 3000,
    });
    assert.doesNotMatch(s.logs(), /uncaught|unhandled|TypeError|RangeError/i);
  });
});
