// Property tests: for random configurations and event sequences the FSM never throws,
// always lands in a valid state, never gets stuck (outside Idle a HoldTimer,
// ConnectRetryTimer or DelayOpenTimer is armed, unless the negotiated hold time is 0),
// and is deterministic (same seed and events → same transitions).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bgpError } from '../wire/index.js';
import { createSession, type Session, type Transition } from './session.js';
import { step } from './fsm.js';
import { isBgpState } from './states.js';
import type { FsmEvent } from './events.js';
import type { PeerConfig } from './config.js';
import { peerOpen } from './testing.js';

/** An event, a clock tick to the next deadline, or the event a well-behaved peer sends next. */
type Op =
  | { readonly kind: 'event'; readonly e: FsmEvent; readonly dt: number }
  | { readonly kind: 'tick' }
  | { readonly kind: 'good'; readonly dt: number };

const simple: FsmEvent['type'][] = [
  'ManualStart',
  'ManualStop',
  'AutomaticStart',
  'ManualStart_with_PassiveTcpEstablishment',
  'AutomaticStart_with_PassiveTcpEstablishment',
  'AutomaticStart_with_DampPeerOscillations',
  'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment',
  'AutomaticStop',
  'ConnectRetryTimer_Expires',
  'HoldTimer_Expires',
  'KeepaliveTimer_Expires',
  'DelayOpenTimer_Expires',
  'IdleHoldTimer_Expires',
  'TcpConnection_Valid',
  'Tcp_CR_Invalid',
  'Tcp_CR_Acked',
  'TcpConnectionConfirmed',
  'TcpConnectionFails',
  'OpenCollisionDump',
  'NotifMsgVerErr',
  'NotifMsg',
  'KeepAliveMsg',
  'UpdateMsg',
  'RouteRefreshMsg',
  'UpdateSent',
  'Activate',
];

const event: fc.Arbitrary<FsmEvent> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...simple).map((type) => ({ type }) as FsmEvent) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        holdTime: fc.constantFrom(0, 1, 3, 9, 90, 240),
        asn: fc.constantFrom(65002, 65003),
        version: fc.constantFrom(4, 4, 4, 3),
        bgpId: fc.constantFrom('192.0.2.2', '0.0.0.0', '198.51.100.7'),
        delay: fc.boolean(),
      })
      .map(({ delay, ...o }): FsmEvent => ({
        type: delay ? 'BGPOpen_with_DelayOpenTimer_running' : 'BGPOpen',
        open: peerOpen(o),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        type: fc.constantFrom('BGPHeaderErr', 'BGPOpenMsgErr', 'UpdateMsgErr') as fc.Arbitrary<
          'BGPHeaderErr' | 'BGPOpenMsgErr' | 'UpdateMsgErr'
        >,
        code: fc.integer({ min: 1, max: 3 }),
        subcode: fc.integer({ min: 0, max: 11 }),
      })
      .map(({ type, code, subcode }) => ({
        type,
        error: bgpError('session-reset', code, subcode, 'random error'),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ code: fc.integer({ min: 1, max: 6 }), subcode: fc.integer({ min: 0, max: 3 }) })
      .map(({ code, subcode }): FsmEvent => ({
        type: 'NotifMsg',
        notification: { type: 3, code, subcode, data: new Uint8Array(0) },
      })),
  },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('event' as const), e: event, dt: fc.nat(5000) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('good' as const), dt: fc.nat(2000) }) },
);

const GOOD: Record<Session['state'], FsmEvent> = {
  Idle: { type: 'ManualStart' },
  Connect: { type: 'Tcp_CR_Acked' },
  Active: { type: 'TcpConnectionConfirmed' },
  OpenSent: { type: 'BGPOpen', open: peerOpen() },
  OpenConfirm: { type: 'KeepAliveMsg' },
  Established: { type: 'UpdateMsg' },
};

const config: fc.Arbitrary<PeerConfig & { inactive: boolean }> = fc.record({
  localAs: fc.constant(65001),
  peerAs: fc.constant(65002),
  bgpId: fc.constant('192.0.2.1'),
  holdTime: fc.constantFrom(0, 3, 90),
  passive: fc.boolean(),
  delayOpen: fc.boolean(),
  dampPeerOscillations: fc.boolean(),
  allowAutomaticStart: fc.boolean(),
  jitter: fc.constant(true),
  seed: fc.nat(),
  inactive: fc.boolean(),
});

const visited = new Set<string>();

function runOps(cfg: PeerConfig & { inactive: boolean }, ops: readonly Op[]): Transition[] {
  let s: Session = createSession(cfg, { inactive: cfg.inactive });
  let now = 0;
  const out: Transition[] = [];
  const apply = (e: FsmEvent): void => {
    const t = step(s, e, now);
    check(s, t);
    visited.add(t.to);
    out.push(t);
    s = t.state;
  };
  for (const o of ops) {
    if (o.kind === 'event') {
      now += o.dt;
      apply(o.e);
    } else if (o.kind === 'good') {
      now += o.dt;
      apply(
        s.inactive
          ? { type: 'Activate' }
          : s.timers.has('DelayOpenTimer')
            ? GOOD.OpenSent
            : GOOD[s.state],
      );
    } else {
      const next = s.timers.nextDeadline();
      if (!next) continue;
      now = Math.max(now, next.deadline);
      for (const e of s.timers.expired(now)) apply(e);
    }
  }
  return out;
}

function check(prev: Session, t: Transition): void {
  const s = t.state;
  assert.ok(isBgpState(s.state));
  assert.equal(t.from, prev.state);
  assert.equal(t.to, s.state);
  assert.ok(t.reason.startsWith(`${t.event} in ${prev.state}: `), t.reason);
  if (s.state === 'Idle') {
    assert.ok(
      s.timers.names().every((n) => n === 'IdleHoldTimer'),
      t.reason,
    );
    assert.equal(s.negotiated, null);
  } else {
    const armed =
      s.timers.has('HoldTimer') ||
      s.timers.has('ConnectRetryTimer') ||
      s.timers.has('DelayOpenTimer');
    const holdZero = s.negotiated !== null && s.negotiated.holdTime === 0;
    assert.ok(armed || holdZero, `stuck in ${s.state} after "${t.reason}"`);
  }
  if (s.state === 'OpenConfirm' || s.state === 'Established') assert.ok(s.negotiated);
  if (s.inactive) assert.equal(s.state, 'Idle');
  for (const a of t.actions) {
    if (a.type === 'start-timer') assert.equal(s.timers.has(a.name), true);
  }
}

test('random event sequences: no throw, valid states, no stuck state', () => {
  fc.assert(
    fc.property(
      config,
      fc.array(op, { minLength: 20, maxLength: 150, size: 'max' }),
      (cfg, ops) => {
        runOps(cfg, ops);
      },
    ),
    { numRuns: 500 },
  );
  assert.equal(visited.size, 6, `states visited: ${[...visited].join(', ')}`);
});

test('determinism: same seed and events → same transitions', () => {
  fc.assert(
    fc.property(config, fc.array(op, { minLength: 10, maxLength: 100 }), (cfg, ops) => {
      assert.deepEqual(runOps(cfg, ops), runOps(cfg, ops));
    }),
    { numRuns: 200 },
  );
});

test('a session reaches Established under random timing of a well-behaved peer', () => {
  fc.assert(
    fc.property(config, fc.nat(1000), (cfg, dt) => {
      let s = createSession({ ...cfg, peerAs: 65002 });
      let now = 0;
      for (const e of [
        { type: 'ManualStart' },
        { type: 'TcpConnectionConfirmed' },
        { type: 'BGPOpen', open: peerOpen() },
        { type: 'KeepAliveMsg' },
      ] as FsmEvent[]) {
        now += dt;
        // With DelayOpen our OPEN waits in Connect/Active; the peer's OPEN comes first.
        s = step(s, e, now).state;
      }
      assert.equal(s.state, 'Established');
    }),
    { numRuns: 100 },
  );
});
