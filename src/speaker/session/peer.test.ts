import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { toHex } from '../../lib/bytes.js';
import { negotiate, resolveConfig, localOpen, type PeerConfig } from '../../fsm/index.js';
import { MemoryNetwork, memoryPair } from '../../net/memory.js';
import { decodeMessage, DEFAULT_CONTEXT, type NotificationMessage } from '../../wire/index.js';
import { Peer } from './peer.js';
import {
  BAD_NLRI_UPDATE,
  BAD_ORIGIN_UPDATE,
  GOOD_UPDATE,
  advance,
  flush,
  fsmConfig,
  recorder,
  speaker,
  type Speaker,
} from './testing.js';

const ADDR_A = '198.18.0.1';
const ADDR_B = '198.18.0.2';

interface Pair {
  clock: ManualClock;
  net: MemoryNetwork;
  a: Speaker;
  b: Speaker;
}

/** Two speakers on one MemoryNetwork: A (AS65001, id 10.0.0.1) and B (AS65002, id 10.0.0.2). */
async function pair(opts?: {
  a?: Partial<PeerConfig>;
  b?: Partial<PeerConfig>;
  ids?: [string, string];
  split?: number;
}): Promise<Pair> {
  const clock = new ManualClock(1_000_000);
  const net = new MemoryNetwork(
    opts?.split === undefined ? {} : { split: { seed: opts.split, maxChunk: 7 } },
  );
  const [idA, idB] = opts?.ids ?? ['10.0.0.1', '10.0.0.2'];
  const a = await speaker({
    connector: net.host(ADDR_A),
    clock,
    listen: { address: ADDR_A, port: 179 },
    neighbor: { address: ADDR_B, port: 179 },
    fsm: fsmConfig(65001, idA, 65002, opts?.a),
    name: 'A',
  });
  const b = await speaker({
    connector: net.host(ADDR_B),
    clock,
    listen: { address: ADDR_B, port: 179 },
    neighbor: { address: ADDR_A, port: 179 },
    fsm: fsmConfig(65002, idB, 65001, opts?.b),
    name: 'B',
  });
  return { clock, net, a, b };
}

async function established(opts?: Parameters<typeof pair>[0]): Promise<Pair> {
  const p = await pair({ ...opts, b: { passive: true, ...opts?.b } });
  p.b.peer.start();
  p.a.peer.start();
  await flush();
  assert.equal(p.a.peer.state, 'Established');
  assert.equal(p.b.peer.state, 'Established');
  return p;
}

async function shutdown(p: Pair): Promise<void> {
  p.a.peer.stop();
  p.b.peer.stop();
  await flush();
  await p.a.listener.close();
  await p.b.listener.close();
  assert.equal(p.clock.pending, 0, 'no timers left');
}

/** NOTIFICATIONs a speaker received, from its taps. */
function notificationsAt(s: Speaker): NotificationMessage[] {
  return s.tap.taps
    .flatMap((t) => t.messages())
    .filter((m) => m[18] === 3)
    .map((m) => {
      const r = decodeMessage(m, DEFAULT_CONTEXT);
      assert.ok(r.ok && r.message.type === 3);
      return r.message;
    });
}

test('two peers reach Established over a MemoryNetwork (byte stream split at random)', async () => {
  const p = await established({ split: 11 });
  assert.equal(p.a.rec.established.length, 1);
  assert.equal(p.b.rec.established.length, 1);
  const n = p.a.peer.negotiated!;
  assert.equal(n.holdTime, 9);
  assert.equal(n.keepaliveTime, 3);
  assert.equal(n.peerBgpId, '10.0.0.2');
  assert.equal(n.as4, true);
  assert.equal(p.a.peer.connections.length, 1);
  assert.equal(p.a.peer.connections[0]!.initiator, 'local');
  assert.equal(p.b.peer.connections[0]!.initiator, 'remote');
  const s = p.a.peer.stats;
  assert.equal(s.messagesOut.open, 1);
  assert.equal(s.messagesIn.open, 1);
  assert.ok(s.messagesIn.keepalive >= 1);
  assert.equal(s.uptimeMs, 0);
  p.clock.advance(1234);
  assert.equal(p.a.peer.stats.uptimeMs, 1234);
  assert.ok(
    p.a.rec.logs.some((l) => /→ Established/.test(l.msg)),
    'transitions are logged',
  );
  await shutdown(p);
});

test('KEEPALIVEs every hold/3 s keep the session up', async () => {
  const p = await established();
  const before = p.a.peer.stats.messagesOut.keepalive;
  const beforeB = p.b.peer.stats.messagesIn.keepalive;
  await advance(p.clock, 30_000);
  assert.equal(p.a.peer.state, 'Established');
  assert.equal(p.b.peer.state, 'Established');
  assert.equal(p.a.peer.stats.messagesOut.keepalive - before, 10, '30 s / 3 s');
  assert.equal(p.b.peer.stats.messagesIn.keepalive - beforeB, 10);
  assert.equal(p.a.rec.downs.length, 0);
  await shutdown(p);
});

test('hold timer expiry: NOTIFICATION 4/0 and down on both sides', async () => {
  const p = await established();
  p.b.tap.mute(); // B's KEEPALIVEs no longer reach A
  await advance(p.clock, 9_500); // hold time 9 s; A restarts 1 s after it expires
  assert.equal(p.a.peer.state, 'Idle');
  assert.equal(p.a.rec.downs.length, 1);
  assert.deepEqual(p.a.rec.downs[0]!.notification, { code: 4, subcode: 0, sent: true });
  assert.match(p.a.rec.downs[0]!.reason, /HoldTimer_Expires/);
  assert.equal(p.b.rec.downs.length, 1);
  assert.deepEqual(p.b.rec.downs[0]!.notification, { code: 4, subcode: 0, sent: false });
  assert.equal(p.a.peer.stats.flaps, 1);
  assert.match(p.a.peer.stats.lastError ?? '', /Hold Timer Expired/);
  await shutdown(p);
});

test('automatic restart after a failure re-establishes the session', async () => {
  const p = await established();
  p.b.tap.mute();
  await advance(p.clock, 10_000);
  p.b.tap.mute(false);
  // A restarts after idleHoldTime (1 s) and connects; B (passive, in Active) accepts.
  await advance(p.clock, 3_000);
  assert.equal(p.a.peer.state, 'Established');
  assert.equal(p.b.peer.state, 'Established');
  assert.equal(p.a.rec.established.length, 2);
  await shutdown(p);
});

test('stop() sends Cease 6/2 with the Shutdown Communication; no restart', async () => {
  const p = await established();
  p.a.peer.stop('maintenance', { shutdownMessage: 'back in 5 min' });
  await flush();
  assert.equal(p.a.peer.state, 'Idle');
  assert.deepEqual(p.a.rec.downs[0]!.notification, { code: 6, subcode: 2, sent: true });
  assert.match(p.a.rec.downs[0]!.reason, /^maintenance \(ManualStop in Established/);
  assert.deepEqual(p.b.rec.downs[0]!.notification, { code: 6, subcode: 2, sent: false });
  assert.match(p.b.peer.stats.lastError ?? '', /Administrative Shutdown\): "back in 5 min"/);
  await advance(p.clock, 20_000);
  assert.equal(p.a.peer.state, 'Idle', 'ManualStop: no automatic restart');
  assert.equal(p.a.rec.established.length, 1);
  await shutdown(p);
});

test('max-prefix stop sends Cease 6/1 with AFI, SAFI and limit (RFC 4486 §4)', async () => {
  const p = await established();
  p.b.peer.stop('max-prefix', { code: 6, subcode: 1, maxPrefix: { afi: 1, safi: 1, limit: 1000 } });
  await flush();
  const got = notificationsAt(p.a);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.code, 6);
  assert.equal(got[0]!.subcode, 1);
  assert.equal(toHex(got[0]!.data), '00010100 0003e8'.replace(/ /g, ''));
  assert.match(p.a.peer.stats.lastError ?? '', /AFI 1 SAFI 1 limit 1000/);
  assert.throws(() => p.b.peer.stop('x', { code: 3 }), /Cease/);
  await shutdown(p);
});

test('reset() sends Cease 6/4 and the session comes back', async () => {
  const p = await established();
  p.a.peer.reset();
  await advance(p.clock, 3_000);
  assert.deepEqual(p.b.rec.downs[0]!.notification, { code: 6, subcode: 4, sent: false });
  assert.equal(p.a.peer.state, 'Established');
  assert.equal(p.b.peer.state, 'Established');
  await shutdown(p);
});

for (const [ids, winner] of [
  [['10.0.0.1', '10.0.0.2'], 'B'],
  [['10.0.0.9', '10.0.0.2'], 'A'],
] as const) {
  test(`collision (both connect at once): one connection survives, initiated by ${winner} (higher Identifier)`, async () => {
    const p = await pair({ ids: [...ids] });
    p.a.peer.start();
    p.b.peer.start();
    await flush(5);
    for (const s of [p.a, p.b]) {
      assert.equal(s.peer.state, 'Established');
      assert.equal(s.peer.connections.length, 1, 'exactly one connection left');
      assert.equal(s.rec.established.length, 1);
      assert.equal(s.rec.downs.length, 0);
    }
    const initiatorAtA = winner === 'A' ? 'local' : 'remote';
    assert.equal(p.a.peer.connections[0]!.initiator, initiatorAtA);
    assert.equal(p.b.peer.connections[0]!.initiator, winner === 'B' ? 'local' : 'remote');
    const ceases = [...notificationsAt(p.a), ...notificationsAt(p.b)];
    assert.ok(ceases.length >= 1 && ceases.every((n) => n.code === 6 && n.subcode === 7));
    // And it stays up, with keepalives on the surviving connection.
    await advance(p.clock, 20_000);
    assert.equal(p.a.peer.state, 'Established');
    assert.equal(p.b.peer.state, 'Established');
    assert.equal(p.a.peer.connections.length, 1);
    await shutdown(p);
  });
}

test('an UPDATE sent arrives as update() on the other side', async () => {
  const p = await established({ split: 5 });
  const ka = p.a.peer.stats.messagesOut.keepalive;
  assert.equal(p.a.peer.sendUpdates([GOOD_UPDATE, GOOD_UPDATE]), true);
  await flush();
  assert.equal(p.b.rec.updates.length, 2);
  const u = p.b.rec.updates[0]!;
  assert.equal(u.nlri.length, 1);
  assert.equal(toHex(u.nlri[0]!.prefix.addr), 'c6336400');
  assert.equal(u.treatAsWithdraw, undefined);
  assert.equal(p.a.peer.stats.messagesOut.update, 2);
  assert.equal(p.b.peer.stats.messagesIn.update, 2);
  // UpdateSent restarted A's KeepaliveTimer: no KEEPALIVE 3 s after the start, one at +2 s.
  await advance(p.clock, 2_000);
  assert.equal(p.a.peer.stats.messagesOut.keepalive, ka);
  assert.throws(() => p.a.peer.sendUpdates([Uint8Array.of(1)]), RangeError);
  await shutdown(p);
});

test('ROUTE-REFRESH arrives as routeRefresh() (RFC 2918)', async () => {
  const p = await established();
  assert.equal(p.a.peer.sendRouteRefresh(1, 1), true);
  await flush();
  assert.deepEqual(p.b.rec.refreshes, [{ type: 5, afi: 1, subtype: 0, safi: 1 }]);
  assert.equal(p.a.peer.sendRouteRefresh(1, 1, 1), false, 'enhanced route refresh not negotiated');
  await shutdown(p);
});

test('a malformed UPDATE (bad ORIGIN) is treat-as-withdraw and the session stays up', async () => {
  const p = await established();
  p.a.peer.sendUpdates([BAD_ORIGIN_UPDATE]);
  await flush();
  assert.equal(p.b.rec.updates.length, 1);
  const u = p.b.rec.updates[0]!;
  assert.equal(u.treatAsWithdraw, true);
  assert.equal(u.errors?.[0]?.subcode, 6);
  assert.ok(p.b.rec.logs.some((l) => l.level === 'warn' && /treat-as-withdraw/.test(l.msg)));
  assert.equal(p.b.peer.state, 'Established');
  assert.equal(p.a.peer.state, 'Established');
  assert.equal(p.b.rec.downs.length, 0);
  await shutdown(p);
});

test('a malformed NLRI resets the session with 3/10', async () => {
  const p = await established();
  p.a.peer.sendUpdates([BAD_NLRI_UPDATE]);
  await flush();
  assert.equal(p.b.rec.updates.length, 0);
  assert.deepEqual(p.b.rec.downs[0]!.notification, { code: 3, subcode: 10, sent: true });
  assert.deepEqual(p.a.rec.downs[0]!.notification, { code: 3, subcode: 10, sent: false });
  assert.equal(p.a.peer.state, 'Idle');
  await shutdown(p);
});

test('a connection from an unknown address is refused by the listener', async () => {
  const p = await established();
  const t = await p.net.host('198.18.0.66').connect({ address: ADDR_B, port: 179 });
  let closed = false;
  t.onClose(() => (closed = true));
  await flush();
  assert.equal(closed, true);
  assert.equal(p.b.listener.refused, 1);
  assert.equal(p.b.peer.connections.length, 1);
  await shutdown(p);
});

test('inactive: no connect, no accept, until activate()', async () => {
  const p = await pair({ a: {}, b: {} });
  const clock = p.clock;
  const { rec, events } = recorder();
  const inactive = new Peer(
    { name: 'C', remote: { address: ADDR_A, port: 179 }, fsm: fsmConfig(65002, '10.0.0.3', 65001) },
    { connector: p.net.host(ADDR_B), clock, events },
    { inactive: true },
  );
  p.b.listener.removePeer(p.b.peer);
  p.b.listener.addPeer(inactive);
  inactive.start();
  p.a.peer.start();
  await advance(clock, 3_000);
  assert.equal(inactive.state, 'Idle');
  assert.equal(inactive.inactive, true);
  assert.equal(p.a.peer.state !== 'Established', true);
  assert.ok(rec.logs.some((l) => /refused: the session is inactive/.test(l.msg)));
  inactive.activate();
  await advance(clock, 8_000);
  assert.equal(inactive.state, 'Established');
  assert.equal(p.a.peer.state, 'Established');
  inactive.stop();
  await shutdown(p);
  assert.equal(clock.pending, 0);
});

/** Negotiated parameters of each side, as if they had exchanged OPENs. */
function negotiatedPair(ca: PeerConfig, cb: PeerConfig) {
  const ra = resolveConfig(ca);
  const rb = resolveConfig(cb);
  return [negotiate(ra, localOpen(rb)), negotiate(rb, localOpen(ra))] as const;
}

test('takeOver: inactive peers attach a live stream directly in Established', async () => {
  const clock = new ManualClock(5000);
  const ca = fsmConfig(65001, '10.0.0.1', 65002);
  const cb = fsmConfig(65002, '10.0.0.2', 65001);
  const [na, nb] = negotiatedPair(ca, cb);
  const [ta, tb] = memoryPair({ address: ADDR_A, port: 40000 }, { address: ADDR_B, port: 179 });
  const net = new MemoryNetwork();
  const A = recorder();
  const B = recorder();
  const pa = new Peer(
    { name: 'A', remote: { address: ADDR_B, port: 179 }, fsm: ca },
    { connector: net, clock, events: A.events },
    { inactive: true },
  );
  const pb = new Peer(
    { name: 'B', remote: { address: ADDR_A, port: 179 }, fsm: cb },
    { connector: net, clock, events: B.events },
    { inactive: true },
  );
  pa.takeOver(ta, na);
  pb.takeOver(tb, nb, { initiator: 'remote' });
  assert.equal(pa.state, 'Established');
  assert.equal(A.rec.established.length, 1);
  assert.throws(() => pa.takeOver(ta, na), /inactive session in Idle/);
  pa.sendUpdates([GOOD_UPDATE]);
  await advance(clock, 30_000);
  assert.equal(B.rec.updates.length, 1);
  assert.equal(pa.state, 'Established');
  assert.equal(pb.state, 'Established');
  assert.ok(pb.stats.messagesIn.keepalive >= 9);
  assert.equal(pa.stats.messagesIn.open, 0, 'no OPEN exchange');

  // Export A, hand its stream to a new Peer on another "clock", and carry on.
  const snap = JSON.parse(JSON.stringify(pa.exportState())) as ReturnType<Peer['exportState']>;
  assert.equal(snap.fsm.state, 'Established');
  assert.equal(snap.transport?.stats.bytesOut, ta.stats().bytesOut);
  const released = pa.release();
  assert.equal(released, ta);
  const clock2 = new ManualClock(0);
  const C = recorder();
  const pc = new Peer(
    { name: 'A2', remote: { address: ADDR_B, port: 179 }, fsm: ca },
    { connector: net, clock: clock2, events: C.events },
  );
  pc.importState(snap, { transport: ta, shiftMs: clock2.now() - clock.now() });
  assert.equal(pc.state, 'Established');
  assert.equal(C.rec.established.length, 1);
  pb.sendUpdates([GOOD_UPDATE]);
  for (let i = 0; i < 60; i++) {
    clock.advance(500);
    clock2.advance(500);
    await flush();
  }
  assert.equal(C.rec.updates.length, 1);
  assert.equal(pc.state, 'Established');
  assert.equal(pb.state, 'Established');
  assert.equal(B.rec.downs.length, 0);
  pc.stop();
  await flush();
  assert.deepEqual(B.rec.downs[0]?.notification, { code: 6, subcode: 2, sent: false });
  pb.stop(); // B was waiting to restart automatically
  assert.equal(clock.pending + clock2.pending, 0);
});
