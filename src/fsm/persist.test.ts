// exportState / importState round trips, inactive sessions and importEstablished.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from './session.js';
import { step } from './fsm.js';
import { exportState, importState } from './persist.js';
import { importEstablished } from './inactive.js';
import { LOCAL, RICH_CAPS, last, peerOpen, run } from './testing.js';
import { addPathKey } from '../wire/index.js';

const rich = { ...LOCAL, capabilities: RICH_CAPS(65001), jitter: true, seed: 42 };

function established() {
  const trs = run(createSession(rich), [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [20, { type: 'BGPOpen', open: peerOpen({ capabilities: RICH_CAPS(65002) }) }],
    [30, { type: 'KeepAliveMsg' }],
  ]);
  return last(trs).state;
}

test('negotiated ADD-PATH, families and graceful restart', () => {
  const n = established().negotiated!;
  assert.deepEqual(n.families, [
    [1, 1],
    [2, 1],
  ]);
  assert.deepEqual(n.addPath, { receive: [[1, 1]], send: [[1, 1]] });
  assert.ok(n.receive.addPath.has(addPathKey(1, 1)));
  assert.ok(n.send.addPath.has(addPathKey(1, 1)));
  assert.deepEqual(n.gracefulRestart, {
    restartTime: 120,
    flags: 0,
    families: [{ afi: 1, safi: 1, flags: 0x80 }],
  });
  assert.equal(n.routeRefresh, true);
});

test('export → JSON text → import gives the same session, which behaves the same', () => {
  for (const s of [createSession(LOCAL), established()]) {
    const text = JSON.stringify(exportState(s));
    const back = importState(JSON.parse(text));
    assert.deepEqual(back, s);
    const a = step(s, { type: 'KeepaliveTimer_Expires' }, 1e9);
    const b = step(back, { type: 'KeepaliveTimer_Expires' }, 1e9);
    assert.deepEqual(b, a);
  }
});

test('importState shifts deadlines onto another clock and rejects garbage', () => {
  const s = established();
  const back = importState(exportState(s), { shiftMs: 1000 });
  assert.equal(back.timers.get('HoldTimer'), s.timers.get('HoldTimer')! + 1000);
  assert.equal(back.establishedAt, 1030);
  assert.throws(() => importState({}), /not a session snapshot/);
  assert.throws(() => importState({ ...exportState(s), state: 'Limbo' }), /unknown state Limbo/);
});

test('inactive session: refuses Start and stays off the network until Activate', () => {
  const s = createSession(LOCAL, { inactive: true });
  const trs = run(s, [
    [0, { type: 'ManualStart' }],
    [1, { type: 'AutomaticStart' }],
    [2, { type: 'TcpConnectionConfirmed' }],
    [3, { type: 'BGPOpen', open: peerOpen() }],
  ]);
  for (const t of trs) {
    assert.equal(t.to, 'Idle');
    assert.deepEqual(t.actions, []);
  }
  assert.match(trs[0]!.reason, /refused: the session is inactive/);
  const act = step(last(trs).state, { type: 'Activate' }, 4);
  assert.equal(act.state.inactive, false);
  assert.equal(step(act.state, { type: 'ManualStart' }, 5).to, 'Connect');
});

test('importEstablished: inactive session takes over a connection in Established', () => {
  const source = established();
  const snap = JSON.parse(JSON.stringify(exportState(source))) as unknown;
  const negotiated = importState(snap).negotiated!;
  const target = createSession(rich, { inactive: true });
  const t = importEstablished(target, negotiated, 5000);
  assert.equal(t.to, 'Established');
  assert.equal(t.state.inactive, false);
  assert.equal(t.state.timers.get('HoldTimer'), 5000 + 90_000);
  const ka = t.state.timers.get('KeepaliveTimer')! - 5000;
  assert.ok(ka >= 22_500 && ka <= 30_000);
  assert.deepEqual(
    t.actions.map((a) => a.type),
    ['start-timer', 'start-timer', 'session-established'],
  );
  // It runs like any Established session from here.
  const u = step(t.state, { type: 'UpdateMsg' }, 6000);
  assert.equal(u.to, 'Established');
  assert.throws(() => importEstablished(source, negotiated, 0), /inactive session in Idle/);
});
