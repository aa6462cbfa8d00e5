// Scenario tests walking RFC 4271 §8.2.2's transitions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeContext, type UpdateMessage } from '../wire/index.js';
import { createSession, type Session } from './session.js';
import { step } from './fsm.js';
import { localOpen, resolveConfig, type PeerConfig } from './config.js';
import { LOCAL, last, peerOpen, run } from './testing.js';
import type { FsmEvent } from './events.js';
import type { Action } from './actions.js';

const session = (over?: Partial<PeerConfig>): Session => createSession({ ...LOCAL, ...over });
const types = (as: readonly Action[]): string[] => as.map((a) => a.type);
const notif = (as: readonly Action[]): string | undefined => {
  const n = as.find((a) => a.type === 'send-notification');
  return n && n.type === 'send-notification' ? `${n.code}/${n.subcode}` : undefined;
};

/** Drive a fresh active session to the given state; returns the session at t=30. */
function reach(
  target: 'Connect' | 'OpenSent' | 'OpenConfirm' | 'Established',
  over?: Partial<PeerConfig>,
  peerHold = 90,
): Session {
  const evs: [number, FsmEvent][] = [[0, { type: 'ManualStart' }]];
  if (target !== 'Connect') evs.push([10, { type: 'Tcp_CR_Acked' }]);
  if (target === 'OpenConfirm' || target === 'Established') {
    evs.push([20, { type: 'BGPOpen', open: peerOpen({ holdTime: peerHold }) }]);
  }
  if (target === 'Established') evs.push([30, { type: 'KeepAliveMsg' }]);
  const s = last(run(session(over), evs)).state;
  assert.equal(s.state, target);
  return s;
}

test('active open: Idle → Connect → OpenSent → OpenConfirm → Established, exact actions', () => {
  const s0 = session();
  const open = peerOpen({ holdTime: 30 });
  const [t1, t2, t3, t4] = run(s0, [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [20, { type: 'BGPOpen', open }],
    [30, { type: 'KeepAliveMsg' }],
  ]);
  assert.equal(t1!.to, 'Connect');
  assert.deepEqual(t1!.actions, [
    { type: 'start-timer', name: 'ConnectRetryTimer', deadline: 120_000 },
    { type: 'connect' },
  ]);
  assert.equal(t1!.reason, 'ManualStart in Idle: connecting to the peer; → Connect');
  assert.equal(t2!.to, 'OpenSent');
  assert.deepEqual(t2!.actions, [
    { type: 'stop-timer', name: 'ConnectRetryTimer' },
    { type: 'send-open', open: localOpen(resolveConfig(LOCAL)) },
    { type: 'start-timer', name: 'HoldTimer', deadline: 240_010 },
  ]);
  assert.equal(t3!.to, 'OpenConfirm');
  const neg = t3!.state.negotiated!;
  assert.deepEqual(t3!.actions, [
    { type: 'send-keepalive' },
    { type: 'start-timer', name: 'KeepaliveTimer', deadline: 10_020 },
    { type: 'start-timer', name: 'HoldTimer', deadline: 30_020 },
    { type: 'open-accepted', negotiated: neg },
  ]);
  assert.equal(neg.holdTime, 30);
  assert.equal(neg.keepaliveTime, 10);
  assert.equal(neg.peerAs, 65002);
  assert.equal(neg.peerBgpId, '192.0.2.2');
  assert.equal(neg.internal, false);
  assert.equal(neg.as4, true);
  assert.deepEqual(neg.families, [[1, 1]]);
  assert.deepEqual(neg.receive, makeContext({ as4: true }));
  assert.equal(t4!.to, 'Established');
  assert.deepEqual(t4!.actions, [
    { type: 'start-timer', name: 'HoldTimer', deadline: 30_030 },
    { type: 'session-established', negotiated: neg },
  ]);
  assert.equal(t4!.state.establishedAt, 30);
  assert.equal(t4!.state.connectRetryCounter, 0);
});

test('Established: UPDATE and KEEPALIVE restart the HoldTimer; UPDATE is processed', () => {
  const s = reach('Established');
  const update: UpdateMessage = { type: 2, withdrawn: [], attributes: [], nlri: [] };
  const [u, k] = run(s, [
    [1000, { type: 'UpdateMsg', update }],
    [2000, { type: 'KeepAliveMsg' }],
  ]);
  assert.deepEqual(u!.actions, [
    { type: 'process-update', update },
    { type: 'start-timer', name: 'HoldTimer', deadline: 91_000 },
  ]);
  assert.deepEqual(k!.actions, [{ type: 'start-timer', name: 'HoldTimer', deadline: 92_000 }]);
  assert.equal(k!.to, 'Established');
});

test('passive peer: listens in Active and never connects', () => {
  const [t1, t2, t3] = run(session({ passive: true }), [
    [0, { type: 'ManualStart' }],
    [120_000, { type: 'ConnectRetryTimer_Expires' }],
    [130_000, { type: 'TcpConnectionConfirmed' }],
  ]);
  assert.equal(t1!.to, 'Active');
  assert.deepEqual(t1!.actions, [
    { type: 'start-timer', name: 'ConnectRetryTimer', deadline: 120_000 },
  ]);
  assert.equal(t2!.to, 'Active');
  assert.ok(!types(t2!.actions).includes('connect'));
  assert.equal(t2!.state.timers.get('ConnectRetryTimer'), 240_000);
  assert.equal(t3!.to, 'OpenSent');
  assert.ok(types(t3!.actions).includes('send-open'));
});

test('ManualStart_with_PassiveTcpEstablishment: Active first, connects after ConnectRetryTime', () => {
  const [t1, t2] = run(session(), [
    [0, { type: 'ManualStart_with_PassiveTcpEstablishment' }],
    [120_000, { type: 'ConnectRetryTimer_Expires' }],
  ]);
  assert.equal(t1!.to, 'Active');
  assert.equal(t2!.to, 'Connect');
  assert.deepEqual(t2!.actions, [
    { type: 'start-timer', name: 'ConnectRetryTimer', deadline: 240_000 },
    { type: 'connect' },
  ]);
});

test('Connect: ConnectRetryTimer_Expires drops the attempt and connects again', () => {
  const t = step(reach('Connect'), { type: 'ConnectRetryTimer_Expires' }, 120_000);
  assert.equal(t.to, 'Connect');
  assert.deepEqual(types(t.actions), ['drop-connection', 'start-timer', 'connect']);
});

test('Connect: TcpConnectionFails without DelayOpen → Idle, automatic restart armed', () => {
  const t = step(reach('Connect'), { type: 'TcpConnectionFails' }, 50);
  assert.equal(t.to, 'Idle');
  assert.deepEqual(t.actions, [
    { type: 'stop-timer', name: 'ConnectRetryTimer' },
    { type: 'release-resources' },
    { type: 'drop-connection' },
    { type: 'start-timer', name: 'IdleHoldTimer', deadline: 5050 },
  ]);
  assert.equal(t.state.connectRetryCounter, 0); // RFC: not counted in Connect
  const r = step(t.state, { type: 'IdleHoldTimer_Expires' }, 5050);
  assert.equal(r.to, 'Connect');
  assert.ok(types(r.actions).includes('connect'));
});

test('DelayOpen: OPEN after DelayOpenTime', () => {
  const cfg = { delayOpen: true, delayOpenTime: 3 };
  const [, t2, t3] = run(session(cfg), [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [3010, { type: 'DelayOpenTimer_Expires' }],
  ]);
  assert.equal(t2!.to, 'Connect');
  assert.deepEqual(t2!.actions, [
    { type: 'stop-timer', name: 'ConnectRetryTimer' },
    { type: 'start-timer', name: 'DelayOpenTimer', deadline: 3010 },
  ]);
  assert.equal(t3!.to, 'OpenSent');
  assert.deepEqual(types(t3!.actions), ['send-open', 'start-timer']);
  assert.equal(t3!.state.timers.get('HoldTimer'), 3010 + 240_000);
});

test('DelayOpen: peer OPEN while DelayOpenTimer runs → OPEN + KEEPALIVE, OpenConfirm', () => {
  const cfg = { delayOpen: true, delayOpenTime: 3 };
  const trs = run(session(cfg), [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [500, { type: 'BGPOpen', open: peerOpen() }],
  ]);
  const t = last(trs);
  assert.equal(t.event, 'BGPOpen_with_DelayOpenTimer_running');
  assert.equal(t.to, 'OpenConfirm');
  assert.deepEqual(types(t.actions), [
    'stop-timer',
    'send-open',
    'send-keepalive',
    'start-timer',
    'start-timer',
    'open-accepted',
  ]);
  assert.equal(t.state.timers.has('DelayOpenTimer'), false);
  assert.equal(t.state.timers.get('HoldTimer'), 500 + 90_000);
});

test('DelayOpen: TCP failure while DelayOpenTimer runs → Active', () => {
  const trs = run(session({ delayOpen: true }), [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [20, { type: 'TcpConnectionFails' }],
  ]);
  const t = last(trs);
  assert.equal(t.to, 'Active');
  assert.deepEqual(types(t.actions), ['stop-timer', 'start-timer']);
  assert.equal(t.state.timers.get('ConnectRetryTimer'), 120_020);
});

test('DelayOpen: bad OPEN before ours is answered with its NOTIFICATION', () => {
  const trs = run(session({ delayOpen: true }), [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [20, { type: 'BGPOpen', open: peerOpen({ asn: 65009 }) }],
  ]);
  assert.equal(last(trs).to, 'Idle');
  assert.equal(notif(last(trs).actions), '2/2');
  const quiet = run(session({ delayOpen: true, sendNotificationWithoutOpen: false }), [
    [0, { type: 'ManualStart' }],
    [10, { type: 'Tcp_CR_Acked' }],
    [20, { type: 'BGPOpen', open: peerOpen({ asn: 65009 }) }],
  ]);
  assert.equal(notif(last(quiet).actions), undefined);
});

for (const st of ['OpenSent', 'OpenConfirm', 'Established'] as const) {
  test(`HoldTimer_Expires in ${st}: NOTIFICATION 4/0, → Idle`, () => {
    const s = reach(st);
    const due = s.timers.get('HoldTimer')!;
    const early = step(s, { type: 'HoldTimer_Expires' }, due - 1);
    assert.equal(early.to, st);
    assert.deepEqual(early.actions, []);
    const t = step(s, { type: 'HoldTimer_Expires' }, due);
    assert.equal(t.to, 'Idle');
    assert.equal(notif(t.actions), '4/0');
    assert.ok(t.reason.startsWith(`HoldTimer_Expires in ${st}: sending NOTIFICATION 4/0`));
    assert.equal(t.actions[0]!.type, 'send-notification');
    assert.ok(types(t.actions).includes('drop-connection'));
    assert.ok(types(t.actions).includes('release-resources'));
    assert.equal(types(t.actions).includes('delete-routes'), st === 'Established');
    assert.equal(types(t.actions).includes('session-down'), st === 'Established');
    assert.equal(t.state.connectRetryCounter, 1);
    assert.deepEqual(t.state.timers.names(), ['IdleHoldTimer']);
    assert.equal(t.state.negotiated, null);
  });
}

test('HoldTimer_Expires with no HoldTimer running is stale and ignored', () => {
  const t = step(reach('Connect'), { type: 'HoldTimer_Expires' }, 1_000_000);
  assert.equal(t.to, 'Connect');
  assert.deepEqual(t.actions, []);
  assert.match(t.reason, /not running/);
});

const badOpens: [string, Parameters<typeof peerOpen>[0], string, Partial<PeerConfig>?][] = [
  ['unsupported version', { version: 3 }, '2/1'],
  ['wrong peer AS', { asn: 65003 }, '2/2'],
  ['BGP Identifier 0.0.0.0', { bgpId: '0.0.0.0' }, '2/3'],
  ['hold time 1', { holdTime: 1 }, '2/6'],
  ['hold time 2', { holdTime: 2 }, '2/6'],
  ['hold time below minHoldTime', { holdTime: 9 }, '2/6', { minHoldTime: 10 }],
  [
    'internal peer with our own Identifier',
    { asn: 65001, bgpId: '192.0.2.1' },
    '2/3',
    { peerAs: 65001 },
  ],
];
for (const [name, o, code, cfg] of badOpens) {
  test(`bad OPEN in OpenSent (${name}) → NOTIFICATION ${code}, → Idle`, () => {
    const t = step(reach('OpenSent', cfg), { type: 'BGPOpen', open: peerOpen(o) }, 100);
    assert.equal(t.to, 'Idle');
    assert.equal(notif(t.actions), code);
    assert.equal(t.state.connectRetryCounter, 1);
  });
}

test('unsupported version NOTIFICATION carries the version we support', () => {
  const t = step(reach('OpenSent'), { type: 'BGPOpen', open: peerOpen({ version: 5 }) }, 100);
  const n = t.actions.find((a) => a.type === 'send-notification');
  assert.ok(n && n.type === 'send-notification');
  assert.deepEqual([...n.data], [0, 4]);
});

test('BGPOpenMsgErr / BGPHeaderErr in OpenSent send the decoder’s NOTIFICATION', () => {
  const error = {
    action: 'session-reset' as const,
    code: 1,
    subcode: 2,
    data: Uint8Array.of(0, 5),
    reason: 'length 5 < 19',
  };
  const t = step(reach('OpenSent'), { type: 'BGPHeaderErr', error }, 100);
  assert.equal(notif(t.actions), '1/2');
  assert.equal(t.to, 'Idle');
});

for (const st of ['OpenSent', 'OpenConfirm', 'Established'] as const) {
  test(`NOTIFICATION received in ${st} → Idle without answering`, () => {
    const notification = { type: 3 as const, code: 6, subcode: 2, data: new Uint8Array(0) };
    const t = step(reach(st), { type: 'NotifMsg', notification }, 100);
    assert.equal(t.to, 'Idle');
    assert.equal(notif(t.actions), undefined);
    assert.ok(types(t.actions).includes('drop-connection'));
    assert.equal(t.state.connectRetryCounter, 1);
  });
}

test('NOTIFICATION 2/1 is NotifMsgVerErr: not counted in OpenSent', () => {
  const notification = { type: 3 as const, code: 2, subcode: 1, data: Uint8Array.of(0, 4) };
  const t = step(reach('OpenSent'), { type: 'NotifMsg', notification }, 100);
  assert.equal(t.event, 'NotifMsgVerErr');
  assert.equal(t.to, 'Idle');
  assert.equal(t.state.connectRetryCounter, 0);
});

test('unexpected messages: RFC 6608 FSM error subcodes per state', () => {
  const a = step(reach('OpenSent'), { type: 'KeepAliveMsg' }, 100);
  assert.equal(notif(a.actions), '5/1');
  const b = step(reach('OpenConfirm'), { type: 'UpdateMsg' }, 100);
  assert.equal(notif(b.actions), '5/2');
  const c = step(reach('OpenConfirm'), { type: 'BGPOpen', open: peerOpen() }, 100);
  assert.equal(notif(c.actions), '5/2');
  const d = step(reach('Established'), { type: 'BGPOpen', open: peerOpen() }, 100);
  assert.equal(notif(d.actions), '5/3');
  const e = step(reach('OpenSent'), { type: 'UpdateMsg' }, 100);
  assert.equal(notif(e.actions), '5/1');
  for (const t of [a, b, c, d, e]) assert.equal(t.to, 'Idle');
});

test('ManualStop in Established: Cease 6/2 with Shutdown Communication, routes deleted, no restart', () => {
  const data = Uint8Array.of(4, 0x62, 0x79, 0x65, 0x21);
  const t = step(reach('Established'), { type: 'ManualStop', data }, 500);
  assert.equal(t.to, 'Idle');
  assert.deepEqual(t.actions[0], { type: 'send-notification', code: 6, subcode: 2, data });
  assert.deepEqual(types(t.actions), [
    'send-notification',
    'stop-timer',
    'stop-timer',
    'delete-routes',
    'release-resources',
    'drop-connection',
    'session-down',
  ]);
  assert.equal(t.state.started, false);
  assert.equal(t.state.connectRetryCounter, 0);
  assert.equal(t.state.timers.size, 0);
});

test('ManualStop in OpenSent and OpenConfirm sends 6/2; in Connect just closes', () => {
  for (const st of ['OpenSent', 'OpenConfirm'] as const) {
    const t = step(reach(st), { type: 'ManualStop' }, 500);
    assert.equal(notif(t.actions), '6/2');
    assert.equal(t.to, 'Idle');
  }
  const c = step(reach('Connect'), { type: 'ManualStop' }, 500);
  assert.equal(notif(c.actions), undefined);
  assert.equal(c.to, 'Idle');
  assert.equal(c.state.timers.size, 0);
});

test('ManualStop in Idle cancels a pending automatic restart', () => {
  const down = step(reach('Connect'), { type: 'TcpConnectionFails' }, 10).state;
  assert.ok(down.timers.has('IdleHoldTimer'));
  const t = step(down, { type: 'ManualStop' }, 20);
  assert.deepEqual(t.actions, [{ type: 'stop-timer', name: 'IdleHoldTimer' }]);
  assert.equal(t.state.started, false);
});

test('AutomaticStop sends Cease with the given subcode and restarts later', () => {
  const t = step(reach('Established'), { type: 'AutomaticStop', subcode: 1 }, 500);
  assert.equal(notif(t.actions), '6/1');
  assert.ok(t.state.timers.has('IdleHoldTimer'));
  const off = step(
    reach('Established', { allowAutomaticStop: false }),
    { type: 'AutomaticStop' },
    500,
  );
  assert.equal(off.to, 'Established');
});

test('KeepaliveTimer: hold/3, re-armed on expiry and on UPDATE sent; jitter within [0.75, 1]', () => {
  const s = reach('Established');
  assert.equal(s.timers.get('KeepaliveTimer'), 20 + 30_000);
  const t = step(s, { type: 'KeepaliveTimer_Expires' }, 30_020);
  assert.deepEqual(t.actions, [
    { type: 'send-keepalive' },
    { type: 'start-timer', name: 'KeepaliveTimer', deadline: 60_020 },
  ]);
  const u = step(t.state, { type: 'UpdateSent' }, 40_000);
  assert.equal(u.state.timers.get('KeepaliveTimer'), 70_000);
  const j = reach('Established', { jitter: true, seed: 7 });
  const ka = j.timers.get('KeepaliveTimer')! - 20;
  assert.ok(ka >= 22_500 && ka <= 30_000, `keepalive ${ka}`);
  const cr = step(createSession({ ...LOCAL, jitter: true }), { type: 'ManualStart' }, 0);
  const crt = cr.state.timers.get('ConnectRetryTimer')!;
  assert.ok(crt >= 90_000 && crt <= 120_000, `connect retry ${crt}`);
});

test('KeepaliveTimer in OpenConfirm sends KEEPALIVE and stays', () => {
  const s = reach('OpenConfirm');
  const t = step(s, { type: 'KeepaliveTimer_Expires' }, s.timers.get('KeepaliveTimer')!);
  assert.equal(t.to, 'OpenConfirm');
  assert.deepEqual(types(t.actions), ['send-keepalive', 'start-timer']);
});

test('hold time 0 (from the peer or from us): no HoldTimer, no KeepaliveTimer', () => {
  for (const [cfg, peerHold] of [
    [{}, 0],
    [{ holdTime: 0 }, 90],
  ] as const) {
    const oc = reach('OpenConfirm', cfg, peerHold);
    assert.equal(oc.negotiated!.holdTime, 0);
    assert.equal(oc.negotiated!.keepaliveTime, 0);
    assert.equal(oc.timers.has('HoldTimer'), false);
    assert.equal(oc.timers.has('KeepaliveTimer'), false);
    const est = step(oc, { type: 'KeepAliveMsg' }, 100);
    assert.equal(est.to, 'Established');
    assert.equal(est.state.timers.size, 0);
    const ka = step(est.state, { type: 'KeepAliveMsg' }, 200);
    assert.deepEqual(ka.actions, []);
    const sent = step(est.state, { type: 'UpdateSent' }, 200);
    assert.deepEqual(sent.actions, []);
  }
});

test('hold time negotiation: the smaller of the two proposals', () => {
  assert.equal(reach('OpenConfirm', { holdTime: 30 }, 180).negotiated!.holdTime, 30);
  assert.equal(reach('OpenConfirm', { holdTime: 180 }, 9).negotiated!.holdTime, 9);
  assert.equal(reach('OpenConfirm', { holdTime: 180 }, 9).negotiated!.keepaliveTime, 3);
});

test('OpenCollisionDump in OpenConfirm sends Cease 6/7', () => {
  const t = step(reach('OpenConfirm'), { type: 'OpenCollisionDump' }, 100);
  assert.equal(notif(t.actions), '6/7');
  assert.equal(t.to, 'Idle');
});

test('OpenSent: TCP failure → Active with the ConnectRetryTimer', () => {
  const t = step(reach('OpenSent'), { type: 'TcpConnectionFails' }, 100);
  assert.equal(t.to, 'Active');
  assert.deepEqual(types(t.actions), ['stop-timer', 'drop-connection', 'start-timer']);
  assert.deepEqual(t.state.timers.names(), ['ConnectRetryTimer']);
});

test('second connection in OpenSent/Established is tracked, not acted on', () => {
  for (const st of ['OpenSent', 'OpenConfirm', 'Established'] as const) {
    const t = step(reach(st), { type: 'TcpConnectionConfirmed' }, 100);
    assert.equal(t.to, st);
    assert.deepEqual(t.actions, []);
  }
});

test('DampPeerOscillations: restart delay doubles while flapping, capped, reset when stable', () => {
  const cfg = {
    dampPeerOscillations: true,
    idleHoldTime: 10,
    idleHoldTimeMax: 60,
    dampResetTime: 300,
  };
  let s = createSession({ ...LOCAL, ...cfg });
  let now = 0;
  const delays: number[] = [];
  s = step(s, { type: 'ManualStart' }, now).state;
  for (let i = 0; i < 5; i++) {
    s = step(s, { type: 'TcpConnectionConfirmed' }, ++now).state;
    const down = step(s, { type: 'BGPOpen', open: peerOpen({ asn: 1 }) }, ++now); // bad AS
    s = down.state;
    const due = s.timers.get('IdleHoldTimer')!;
    delays.push((due - now) / 1000);
    now = due;
    s = step(s, { type: 'IdleHoldTimer_Expires' }, now).state;
    assert.equal(s.state, 'Connect');
  }
  assert.deepEqual(delays, [10, 20, 40, 60, 60]);
  // A session that stays Established for dampResetTime resets the backoff.
  let t = run(s, [
    [now + 1, { type: 'Tcp_CR_Acked' }],
    [now + 2, { type: 'BGPOpen', open: peerOpen() }],
    [now + 3, { type: 'KeepAliveMsg' }],
  ]);
  s = last(t).state;
  t = run(s, [[now + 3 + 300_000, { type: 'TcpConnectionFails' }]]);
  assert.equal(last(t).state.timers.get('IdleHoldTimer'), now + 3 + 300_000 + 10_000);
});

test('AutomaticStart_with_DampPeerOscillations waits the IdleHoldTimer when damped', () => {
  const s = createSession({ ...LOCAL, dampPeerOscillations: true, allowAutomaticStart: true });
  const now = step(s, { type: 'AutomaticStart_with_DampPeerOscillations' }, 0);
  assert.equal(now.to, 'Connect');
  const damped: Session = { ...s, dampLevel: 2 };
  const later = step(
    damped,
    { type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' },
    0,
  );
  assert.equal(later.to, 'Idle');
  assert.equal(later.state.timers.get('IdleHoldTimer'), 20_000);
  const go = step(later.state, { type: 'IdleHoldTimer_Expires' }, 20_000);
  assert.equal(go.to, 'Active');
});

test('allowAutomaticStart false: AutomaticStart ignored and no restart after failure', () => {
  const s = createSession({ ...LOCAL, allowAutomaticStart: false });
  assert.equal(step(s, { type: 'AutomaticStart' }, 0).to, 'Idle');
  const c = step(s, { type: 'ManualStart' }, 0).state;
  const f = step(c, { type: 'TcpConnectionFails' }, 1);
  assert.equal(f.state.timers.size, 0);
});

test('Idle refuses connections; Start events are ignored outside Idle', () => {
  const s = session();
  assert.deepEqual(step(s, { type: 'TcpConnection_Valid' }, 0).actions, [
    { type: 'reject-connection' },
  ]);
  for (const st of ['Connect', 'OpenSent', 'OpenConfirm', 'Established'] as const) {
    const t = step(reach(st), { type: 'ManualStart' }, 100);
    assert.equal(t.to, st);
    assert.deepEqual(t.actions, []);
  }
});
