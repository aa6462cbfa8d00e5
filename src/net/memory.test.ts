import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork, memoryPair } from './memory.js';
import type { Transport } from './transport.js';

const A = { address: '198.18.0.1', port: 50000 };
const B = { address: '198.18.0.2', port: 179 };
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function collect(t: Transport): { bytes: number[]; chunks: number; closed: (Error | undefined)[] } {
  const out = { bytes: [] as number[], chunks: 0, closed: [] as (Error | undefined)[] };
  t.onData((c) => {
    out.chunks++;
    out.bytes.push(...c);
  });
  t.onClose((e) => void out.closed.push(e));
  return out;
}

test('memoryPair delivers every octet in order for random splits, both ways', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const [a, b] = memoryPair(A, B, { split: { seed, maxChunk: 1 + (seed % 7) } });
    const atB = collect(b);
    const atA = collect(a);
    const sent: number[] = [];
    let back = 0;
    for (let i = 0; i < 50; i++) {
      const n = (seed * 31 + i * 17) % 97;
      const chunk = Uint8Array.from({ length: n }, (_, k) => (i * 7 + k) & 0xff);
      sent.push(...chunk);
      a.write(chunk);
      back += chunk.subarray(0, 3).length;
      b.write(chunk.subarray(0, 3));
    }
    await settle();
    assert.deepEqual(atB.bytes, sent, `seed ${seed}`);
    assert.equal(atA.bytes.length, back);
    if (seed % 7 !== 0) assert.ok(atB.chunks > 50, 'writes were split');
    assert.equal(a.stats().bytesOut, sent.length);
    assert.equal(b.stats().bytesIn, sent.length);
  }
});

test('delivery is asynchronous and a writer may reuse its buffer', async () => {
  const [a, b] = memoryPair(A, B);
  const got = collect(b);
  const buf = Uint8Array.of(1, 2, 3);
  a.write(buf);
  buf.fill(9);
  assert.equal(got.bytes.length, 0, 'nothing delivered synchronously');
  await settle();
  assert.deepEqual(got.bytes, [1, 2, 3]);
});

test('end() delivers what is queued, then both sides close cleanly', async () => {
  const [a, b] = memoryPair(A, B, { split: { seed: 3, maxChunk: 2 } });
  const atB = collect(b);
  const atA = collect(a);
  a.write(new Uint8Array(10).fill(5));
  a.end();
  assert.equal(a.write(Uint8Array.of(1)), false, 'no writes after end()');
  await settle();
  assert.equal(atB.bytes.length, 10);
  assert.deepEqual(atB.closed, [undefined]);
  assert.deepEqual(atA.closed, [undefined]);
});

test('destroy() drops queued octets and the peer sees a reset', async () => {
  const [a, b] = memoryPair(A, B);
  const atB = collect(b);
  const atA = collect(a);
  a.write(Uint8Array.of(1, 2, 3));
  a.destroy();
  await settle();
  assert.equal(atB.bytes.length, 0);
  assert.match(String(atB.closed[0]?.message), /ECONNRESET/);
  assert.deepEqual(atA.closed, [undefined]);
});

test('backpressure: write() says false above the high-water mark; drain follows reading', async () => {
  const [a, b] = memoryPair(A, B, { highWaterMark: 100 });
  b.pause();
  const got = collect(b);
  let drained = 0;
  a.onDrain(() => drained++);
  assert.equal(a.write(new Uint8Array(60)), true);
  assert.equal(a.write(new Uint8Array(60)), false);
  await settle();
  assert.equal(got.bytes.length, 0, 'paused: nothing delivered');
  assert.equal(drained, 0);
  b.resume();
  await settle();
  assert.equal(got.bytes.length, 120);
  assert.equal(drained, 1);
});

test('MemoryNetwork: connect reaches the listener by address; refused otherwise', async () => {
  const net = new MemoryNetwork();
  const accepted: Transport[] = [];
  const l = await net
    .host('198.18.0.2')
    .listen({ address: '198.18.0.2', port: 179 }, (t) => accepted.push(t));
  const t = await net.host('198.18.0.1').connect(B);
  assert.equal(accepted.length, 1);
  assert.equal(t.local.address, '198.18.0.1');
  assert.deepEqual(t.remote, B);
  assert.equal(accepted[0]!.remote.address, '198.18.0.1');
  assert.equal(accepted[0]!.remote.port, t.local.port);
  const got = collect(accepted[0]!);
  t.write(Uint8Array.of(7));
  await settle();
  assert.deepEqual(got.bytes, [7]);
  await l.close();
  await assert.rejects(net.connect(B), /connect to 198\.18\.0\.2:179 failed: ECONNREFUSED/);
  await assert.rejects(net.connect({ address: '198.18.0.9', port: 179 }), /ECONNREFUSED/);
});

test('MemoryNetwork: a wildcard listener takes any address on its port', async () => {
  const net = new MemoryNetwork();
  let n = 0;
  await net.listen({ address: '0.0.0.0', port: 179 }, () => n++);
  await net.connect({ address: '198.18.0.7', port: 179 });
  assert.equal(n, 1);
  await assert.rejects(
    net.listen({ address: '0.0.0.0', port: 179 }, () => undefined),
    /EADDRINUSE/,
  );
});
