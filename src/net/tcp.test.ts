import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnector, normalizeAddress } from './tcp.js';
import type { Transport } from './transport.js';

const until = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('normalizeAddress strips the IPv4-mapped prefix', () => {
  assert.equal(normalizeAddress('::ffff:198.18.0.2'), '198.18.0.2');
  assert.equal(normalizeAddress('::FFFF:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('2001:DB8::1'), '2001:db8::1');
  assert.equal(normalizeAddress(undefined), '');
});

test('connect from a chosen local address; endpoints, data both ways, stats, clean end', async () => {
  const c = new TcpConnector();
  const accepted: Transport[] = [];
  const l = await c.listen({ address: '127.0.0.1', port: 0 }, (t) => accepted.push(t));
  assert.ok(l.local.port > 0);
  const t = await c.connect(l.local, { address: '127.0.0.2' });
  await until(() => accepted.length === 1, 'accept');
  const s = accepted[0]!;
  assert.equal(t.kind, 'tcp');
  assert.equal(t.local.address, '127.0.0.2');
  assert.deepEqual(t.remote, l.local);
  assert.equal(s.remote.address, '127.0.0.2');
  assert.equal(s.remote.port, t.local.port);
  const got: number[] = [];
  const back: number[] = [];
  s.onData((b) => got.push(...b));
  t.onData((b) => back.push(...b));
  const closed: (Error | undefined)[] = [];
  t.onClose((e) => closed.push(e));
  s.onClose((e) => closed.push(e));
  assert.equal(t.write(Uint8Array.of(1, 2, 3)), true);
  s.write(Uint8Array.of(9));
  await until(() => got.length === 3 && back.length === 1, 'data');
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(t.stats().bytesOut, 3);
  assert.equal(s.stats().bytesIn, 3);
  t.end();
  await until(() => closed.length === 2, 'both sides closed');
  assert.deepEqual(closed, [undefined, undefined]);
  await l.close();
});

test('a refused connection rejects with a readable message', async () => {
  const c = new TcpConnector();
  const l = await c.listen({ address: '127.0.0.1', port: 0 }, () => undefined);
  const port = l.local.port;
  await l.close();
  await assert.rejects(
    c.connect({ address: '127.0.0.1', port }),
    new RegExp(`^Error: connect to 127\\.0\\.0\\.1:${port} failed: ECONNREFUSED$`),
  );
});

test('backpressure: write() says false past the high-water mark, then drain', async () => {
  const c = new TcpConnector({ highWaterMark: 64 * 1024 });
  const accepted: Transport[] = [];
  const l = await c.listen({ address: '127.0.0.1', port: 0 }, (t) => accepted.push(t));
  const t = await c.connect(l.local);
  await until(() => accepted.length === 1, 'accept');
  const s = accepted[0]!;
  let received = 0;
  s.onData((b) => (received += b.length));
  s.pause();
  let drained = 0;
  t.onDrain(() => drained++);
  const chunk = new Uint8Array(64 * 1024);
  let writes = 0;
  while (t.write(chunk) && writes < 10_000) writes++;
  assert.ok(writes < 10_000, 'write() eventually reports backpressure');
  s.resume();
  await until(() => drained === 1, 'drain');
  await until(() => received === (writes + 1) * chunk.length, 'all data');
  t.destroy();
  s.destroy();
  await l.close();
});

test('destroy() on one side: the other sees the connection close', async () => {
  const c = new TcpConnector();
  const accepted: Transport[] = [];
  const l = await c.listen({ address: '127.0.0.1', port: 0 }, (t) => accepted.push(t));
  const t = await c.connect(l.local);
  await until(() => accepted.length === 1, 'accept');
  let closed = false;
  accepted[0]!.onClose(() => (closed = true));
  t.destroy();
  await until(() => closed, 'close');
  await l.close();
});
