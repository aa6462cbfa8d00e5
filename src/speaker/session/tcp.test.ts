// The session engine over real kernel TCP on loopback: two speakers on 127.0.0.2 and
// 127.0.0.3 (Linux routes all of 127/8 to lo), the system clock, ephemeral ports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import { TcpConnector } from '../../net/tcp.js';
import { GOOD_UPDATE, fsmConfig, speaker, type Speaker } from './testing.js';

const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('two Peers over kernel TCP reach Established, exchange an UPDATE, refuse strangers', async () => {
  const tcp = new TcpConnector();
  // B is passive and listens on an ephemeral port; A connects to it from 127.0.0.2.
  const b0 = await speaker({
    connector: tcp,
    clock: systemClock,
    listen: { address: '127.0.0.3', port: 0 },
    neighbor: { address: '127.0.0.2', port: 179 }, // passive: only the address matters
    localAddress: '127.0.0.3',
    fsm: fsmConfig(65002, '10.0.0.3', 65001, { passive: true }),
    name: 'B',
  });
  const a: Speaker = await speaker({
    connector: tcp,
    clock: systemClock,
    listen: { address: '127.0.0.2', port: 0 },
    neighbor: b0.bound[0]!,
    localAddress: '127.0.0.2',
    fsm: fsmConfig(65001, '10.0.0.2', 65002),
    name: 'A',
  });
  try {
    a.peer.start();
    b0.peer.start();
    await until(
      () => a.peer.state === 'Established' && b0.peer.state === 'Established',
      'Established on both sides',
    );
    const conn = a.peer.connections[0]!;
    assert.equal(conn.local?.address, '127.0.0.2');
    assert.equal(conn.remote?.address, '127.0.0.3');
    assert.equal(b0.peer.connections[0]!.remote?.address, '127.0.0.2');

    assert.equal(a.peer.sendUpdates([GOOD_UPDATE]), true);
    await until(() => b0.rec.updates.length === 1, 'the UPDATE at B');
    assert.equal(b0.rec.updates[0]!.nlri.length, 1);
    assert.ok((a.peer.stats.transport?.bytesOut ?? 0) > 0);

    // A stranger on 127.0.0.4 connecting to B's listener is refused.
    const stranger = await tcp.connect(b0.bound[0]!, { address: '127.0.0.4' });
    let closed = false;
    stranger.onClose(() => (closed = true));
    await until(() => closed, 'the stranger closed');
    assert.equal(b0.listener.refused, 1);
    assert.equal(b0.peer.state, 'Established');

    a.peer.stop('test over');
    await until(() => b0.rec.downs.length === 1, 'down at B');
    assert.deepEqual(b0.rec.downs[0]!.notification, { code: 6, subcode: 2, sent: false });
  } finally {
    a.peer.stop();
    b0.peer.stop();
    await a.listener.close();
    await b0.listener.close();
  }
});
