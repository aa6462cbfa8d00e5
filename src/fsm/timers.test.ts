// TimerSet: the pure timer wheel of the FSM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerSet } from './timers.js';

test('start, stop, nextDeadline', () => {
  const t = TimerSet.EMPTY.start('ConnectRetryTimer', 500).start('HoldTimer', 300);
  assert.deepEqual(t.nextDeadline(), { name: 'HoldTimer', deadline: 300 });
  const u = t.stop('HoldTimer');
  assert.deepEqual(u.nextDeadline(), { name: 'ConnectRetryTimer', deadline: 500 });
  assert.equal(t.has('HoldTimer'), true, 'immutable');
  assert.equal(TimerSet.EMPTY.nextDeadline(), undefined);
  assert.equal(u.stop('HoldTimer'), u);
});

test('expired: due timers only, earliest first, ties in a fixed order', () => {
  const t = TimerSet.EMPTY.start('KeepaliveTimer', 100)
    .start('HoldTimer', 100)
    .start('ConnectRetryTimer', 50)
    .start('IdleHoldTimer', 101);
  assert.deepEqual(t.expired(100), [
    { type: 'ConnectRetryTimer_Expires' },
    { type: 'HoldTimer_Expires' },
    { type: 'KeepaliveTimer_Expires' },
  ]);
  assert.deepEqual(t.expired(49), []);
});

test('from / toJSON / shift', () => {
  const t = TimerSet.EMPTY.start('DelayOpenTimer', 7);
  assert.deepEqual(TimerSet.from(JSON.parse(JSON.stringify(t)) as Record<string, unknown>), t);
  assert.equal(t.shift(10).get('DelayOpenTimer'), 17);
  assert.throws(() => TimerSet.from({ Bogus: 1 }), /unknown timer "Bogus"/);
  assert.throws(() => TimerSet.from({ HoldTimer: 'x' }), /finite number/);
});
