// Connection collision detection (RFC 4271 §6.8).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bgpIdToNumber, resolveCollision, type CollisionInput } from './collision.js';

const base = {
  localAs: 65001,
  remoteAs: 65002,
  existing: { state: 'OpenConfirm', initiator: 'local' },
  incoming: { state: 'OpenSent', initiator: 'remote' },
} as const;

test('local Identifier higher: keep the connection we initiated', () => {
  const d = resolveCollision({ ...base, localId: '192.0.2.9', remoteId: '192.0.2.1' });
  assert.ok(d.collision);
  assert.equal(d.keep, 'existing');
  assert.equal(d.dump, 'incoming');
  assert.deepEqual(d.notification, { code: 6, subcode: 7, data: new Uint8Array(0) });
});

test('local Identifier lower: keep the connection the peer initiated', () => {
  const d = resolveCollision({ ...base, localId: '192.0.2.1', remoteId: '192.0.2.9' });
  assert.ok(d.collision);
  assert.equal(d.keep, 'incoming');
  assert.equal(d.dump, 'existing');
  const swapped = resolveCollision({
    ...base,
    existing: { state: 'OpenConfirm', initiator: 'remote' },
    incoming: { state: 'OpenSent', initiator: 'local' },
    localId: '192.0.2.1',
    remoteId: '192.0.2.9',
  });
  assert.ok(swapped.collision);
  assert.equal(swapped.keep, 'existing');
});

test('Identifiers compare as unsigned integers in host byte order', () => {
  assert.equal(bgpIdToNumber('255.0.0.1'), 0xff000001);
  const d = resolveCollision({ ...base, localId: '128.0.0.0', remoteId: '127.255.255.255' });
  assert.ok(d.collision && d.keep === 'existing');
});

test('equal Identifiers: the larger AS number wins (RFC 6286)', () => {
  const d = resolveCollision({ ...base, localId: '10.0.0.1', remoteId: '10.0.0.1' });
  assert.ok(d.collision && d.keep === 'incoming'); // remote AS 65002 is larger
});

test('Established wins unless CollisionDetectEstablishedState', () => {
  const est = {
    ...base,
    existing: { state: 'Established', initiator: 'remote' },
    incoming: { state: 'OpenSent', initiator: 'local' },
  } as const;
  const d = resolveCollision({ ...est, localId: '192.0.2.9', remoteId: '192.0.2.1' });
  assert.ok(d.collision && d.keep === 'existing');
  const e = resolveCollision({
    ...est,
    localId: '192.0.2.9',
    remoteId: '192.0.2.1',
    collisionDetectEstablishedState: true,
  });
  assert.ok(e.collision && e.keep === 'incoming');
});

test('no collision with Idle/Connect/Active, nor with OpenSent unless examined', () => {
  for (const state of ['Idle', 'Connect', 'Active', 'OpenSent'] as const) {
    const d = resolveCollision({
      ...base,
      existing: { state, initiator: 'local' },
      localId: 1,
      remoteId: 2,
    });
    assert.equal(d.collision, false);
  }
  const d = resolveCollision({
    ...base,
    existing: { state: 'OpenSent', initiator: 'local' },
    localId: 1,
    remoteId: 2,
    examineOpenSent: true,
  });
  assert.ok(d.collision && d.keep === 'incoming');
});

test('both speakers keep the same TCP connection (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.boolean(),
      (idA, idB, asA, asB, aInitiatedFirst) => {
        fc.pre(idA !== idB || asA !== asB);
        // Connection X was initiated by A, Y by B. A saw X first iff aInitiatedFirst;
        // B sees them in either order, so try both.
        const viewA: CollisionInput = {
          localId: idA,
          remoteId: idB,
          localAs: asA,
          remoteAs: asB,
          existing: { state: 'OpenConfirm', initiator: aInitiatedFirst ? 'local' : 'remote' },
          incoming: { state: 'OpenSent', initiator: aInitiatedFirst ? 'remote' : 'local' },
        };
        const a = resolveCollision(viewA);
        const keptByA = a.collision && (a.keep === 'existing') === aInitiatedFirst ? 'X' : 'Y';
        for (const bFirstX of [true, false]) {
          const b = resolveCollision({
            localId: idB,
            remoteId: idA,
            localAs: asB,
            remoteAs: asA,
            existing: { state: 'OpenConfirm', initiator: bFirstX ? 'remote' : 'local' },
            incoming: { state: 'OpenSent', initiator: bFirstX ? 'local' : 'remote' },
          });
          const keptByB = b.collision && (b.keep === 'existing') === bFirstX ? 'X' : 'Y';
          assert.equal(keptByA, keptByB);
        }
      },
    ),
  );
});
