// Unit tests of the TCPR client library's side channel against an in-process UDP responder
// built on TcprFilter.control and the codec (no namespaces needed).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import {
  connect as connectTcp,
  createServer,
  type AddressInfo,
  type Socket as NetSocket,
} from 'node:net';
import { test } from 'node:test';
import { parseAddr } from '../lib/ip.js';
import { recoverConnection, TcprChannel, TcprClientError, type TcprRecord } from './client.js';
import {
  decodeControl,
  encodeControl,
  ReplayGuard,
  savedStateToJson,
  type ControlMessage,
} from './control-codec.js';
import { emptyHard } from './connection.js';
import { TcprFilter } from './filter.js';

interface ResponderOptions {
  key?: Uint8Array;
  /** Datagrams to drop (numbered from 0 in arrival order; `types` lists them too). */
  drop?: (n: number, msg: ControlMessage | undefined) => boolean;
  /** Send every reply once more this many ms later (a late duplicate). */
  duplicateAfterMs?: number;
}

async function responder(o: ResponderOptions = {}): Promise<{
  port: number;
  filter: TcprFilter;
  received: () => number;
  types: ControlMessage['type'][];
  close: () => void;
}> {
  const filter = new TcprFilter({ addresses: [{ internal: '127.0.0.1', external: '127.0.0.1' }] });
  const s: Socket = createSocket('udp4');
  const replay = new ReplayGuard();
  const types: ControlMessage['type'][] = [];
  let n = 0;
  let seq = 1;
  let closed = false;
  s.on('message', (data, rinfo) => {
    const sender = `udp:${rinfo.address}:${rinfo.port}`;
    const d = decodeControl(data, { key: o.key, replay, sender });
    if (d.ok) types.push(d.value.msg.type);
    if (o.drop?.(n++, d.ok ? d.value.msg : undefined)) return;
    const reply = d.ok
      ? filter.control(d.value.msg).reply
      : ({ type: 'error', code: d.error.code, message: d.error.message } as const);
    if (!reply) return;
    const send = () => {
      if (!closed)
        s.send(encodeControl(reply, { key: o.key, seq: seq++ }), rinfo.port, rinfo.address);
    };
    send();
    if (o.duplicateAfterMs !== undefined) setTimeout(send, o.duplicateAfterMs);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const close = () => {
    closed = true;
    s.close();
  };
  return { port: s.address().port, filter, received: () => n, types, close };
}

const lo = parseAddr('127.0.0.1')!;
const peer = parseAddr('127.0.0.2')!;
const ref = { port: 4000, peerAddr: peer, peerPort: 179 };
const saved = () => ({
  internalAddr: lo,
  externalAddr: lo,
  peerAddr: peer,
  port: 4000,
  hard: { ...emptyHard(), port: 4000, peerPort: 179, ack: 1000 },
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    assert.ok(e instanceof TcprClientError, String(e));
    return e.remoteCode ? `${e.code}:${e.remoteCode}` : e.code;
  }
}

test('query, restore, checkpoint, done flags, list', async () => {
  const r = await responder();
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  try {
    assert.equal(await code(ch.query(ref)), 'ERR_TCPR_UNKNOWN_CONNECTION');
    await ch.restore(saved());
    const s = await ch.query(ref);
    assert.equal(s.hard.ack, 1000);
    await ch.update(ref, { ack: 1500 });
    assert.equal((await ch.query(ref)).hard.ack, 1500);
    assert.equal(
      await code(ch.update(ref, { ack: 1200 }, 200)),
      'ERR_TCPR_REMOTE:checkpoint-regression',
    );
    await ch.update(ref, { doneReading: true, doneWriting: true });
    const s2 = await ch.query(ref);
    assert.deepEqual([s2.hard.doneReading, s2.hard.doneWriting], [true, true]);
    assert.equal((await ch.list()).total, 1);
    await ch.update(ref, { done: true });
    assert.equal(await code(ch.query(ref)), 'ERR_TCPR_UNKNOWN_CONNECTION');
  } finally {
    ch.close();
    r.close();
  }
});

test('retransmits lost queries, then times out with a typed error', async () => {
  const r = await responder({ drop: (n) => n < 2 });
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 50, tries: 4 });
  try {
    await ch.restore(saved());
    assert.equal(r.received(), 3);
    const dead = new TcprChannel({ address: '127.0.0.1', port: 9, timeoutMs: 30, tries: 2 });
    assert.equal(await code(dead.query(ref)), 'ERR_TCPR_TIMEOUT');
    dead.close();
    assert.equal(
      await code(ch.listen({ internalAddr: parseAddr('10.9.9.9')!, internalPort: 1, port: 1 })),
      'ERR_TCPR_REMOTE:address-not-configured',
    );
  } finally {
    ch.close();
    r.close();
  }
});

test('shared key: authenticated round trip; an unauthenticated client gets an error', async () => {
  const key = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
  const r = await responder({ key });
  const ch = new TcprChannel({
    address: '127.0.0.1',
    port: r.port,
    key: '00112233445566778899aabbccddeeff',
    timeoutMs: 100,
    tries: 2,
  });
  const plain = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 2 });
  try {
    await ch.restore(saved());
    assert.equal((await ch.query(ref)).hard.ack, 1000);
    // The error reply is tagged and our keyless client cannot check it: it times out.
    assert.equal(await code(plain.query(ref)), 'ERR_TCPR_TIMEOUT');
  } finally {
    ch.close();
    plain.close();
    r.close();
  }
});

test('closed channel refuses requests', async () => {
  const ch = new TcprChannel({ address: '127.0.0.1', port: 9 });
  ch.close();
  assert.equal(await code(ch.query(ref)), 'ERR_TCPR_CLOSED');
});

// In a process of its own: the warm-up runs at the first prepare() of a process only.
test('prepare() warms up once and leaves nothing open: the process exits by itself', () => {
  const client = new URL('./client.js', import.meta.url).href;
  const script = `
    import { spawnSync } from 'node:child_process';
    const { TcprChannel } = await import(${JSON.stringify(client)});
    // Sockets this process owns, TCP and UDP, as the kernel lists them.
    const owned = () => {
      const r = spawnSync('ss', ['-Htuanp']);
      if (r.status !== 0) throw new Error('ss failed: ' + (r.error ?? r.stderr));
      return String(r.stdout).split('\\n')
        .filter((l) => l.includes('pid=' + process.pid + ',') && !l.includes(':9 '));
    };
    const ch = new TcprChannel({ address: '127.0.0.1', port: 9 });
    await ch.prepare();
    await new Promise((res) => setTimeout(res, 50));
    console.log(JSON.stringify({ left: owned() }));
    ch.close();
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 0, `exited by itself: ${r.stderr || String(r.error)}`);
  const out = JSON.parse(r.stdout) as { left: string[] };
  assert.deepEqual(out.left, [], 'no warm-up socket, listener or stand-in left open');
});

test("prepare(): the exchanges' and the updates' sockets are bound and connected when it resolves", async () => {
  const r = await responder();
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  // UDP sockets of this process connected to the channel, as the kernel lists them.
  const connected = (): number =>
    String(spawnSync('ss', ['-Hnu', 'state', 'connected', 'dst', `127.0.0.1:${r.port}`]).stdout)
      .split('\n')
      .filter((l) => l.trim() !== '').length;
  try {
    assert.equal(connected(), 0, 'nothing is bound before the event loop turns');
    await ch.prepare();
    assert.equal(connected(), 3, "two spares for exchanges and the updates' socket");
    assert.equal(await code(ch.query(ref)), 'ERR_TCPR_UNKNOWN_CONNECTION');
  } finally {
    ch.close();
    r.close();
  }
});

test('prepare() resolves when a socket cannot be bound; the request then says why', async () => {
  const ch = new TcprChannel({ address: '127.0.0.1', port: 9, localAddress: '198.18.255.254' });
  try {
    await ch.prepare();
    await assert.rejects(ch.query(ref), /EADDRNOTAVAIL/);
  } finally {
    ch.close();
  }
  await ch.prepare(); // closed: nothing to bind, nothing thrown
});

test('updateAndQuery: the state after the update in one exchange; refusals and unknown', async () => {
  const r = await responder();
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  try {
    assert.equal(await code(ch.updateAndQuery(ref, { ack: 5 })), 'ERR_TCPR_UNKNOWN_CONNECTION');
    await ch.restore(saved());
    const s = await ch.updateAndQuery(ref, { failed: true, ack: 1500 });
    assert.deepEqual([s.failed, s.hard.ack], [true, 1500]);
    assert.equal(
      await code(ch.updateAndQuery(ref, { ack: 1200 })),
      'ERR_TCPR_REMOTE:checkpoint-regression',
    );
    // update, query; restore, update, query, update (refused), query: one datagram each.
    assert.deepEqual(r.types.slice(-5), ['restore', 'update', 'query', 'update', 'query']);
  } finally {
    ch.close();
    r.close();
  }
});

test('updateAndQuery: a lost update is noticed and both are sent again', async () => {
  // The first update is lost; its query still answers (with the state before the update).
  const r = await responder({ drop: (_n, m) => m?.type === 'update' && !dropped++ });
  let dropped = 0;
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 50, tries: 3 });
  try {
    await ch.restore(saved());
    const s1 = await ch.updateAndQuery(ref, { ack: 1500 });
    assert.equal(s1.hard.ack, 1000, 'the query answered, the update was lost');
    const s2 = await ch.updateAndQuery(ref, { ack: 1500 });
    assert.equal(s2.hard.ack, 1500);
    // A lost state reply: the pair is sent again after the timeout, the update idempotent.
    const r2 = await responder({ drop: (_n, m) => m?.type === 'query' && !lostQuery++ });
    let lostQuery = 0;
    const ch2 = new TcprChannel({ address: '127.0.0.1', port: r2.port, timeoutMs: 50, tries: 3 });
    await ch2.restore(saved());
    assert.equal((await ch2.updateAndQuery(ref, { ack: 1700 })).hard.ack, 1700);
    assert.deepEqual(r2.types, ['restore', 'update', 'query', 'update', 'query']);
    ch2.close();
    r2.close();
  } finally {
    ch.close();
    r.close();
  }
});

test('a late duplicate reply never answers a later request', async () => {
  // Every reply comes again 40 ms later; the second query must see the update, not the
  // first query's duplicate.
  const r = await responder({ duplicateAfterMs: 40 });
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 200, tries: 2 });
  try {
    await ch.restore(saved());
    assert.equal((await ch.query(ref)).hard.ack, 1000);
    r.filter.control({ type: 'update', conn: ref, fields: { ack: 1800 } });
    for (let i = 0; i < 5; i++) {
      assert.equal((await ch.query(ref)).hard.ack, 1800);
      await new Promise((res) => setTimeout(res, 15));
    }
  } finally {
    ch.close();
    r.close();
  }
});

test('close() ends requests under way with ERR_TCPR_CLOSED', async () => {
  const ch = new TcprChannel({ address: '127.0.0.1', port: 9, timeoutMs: 20, tries: 50 });
  const pending = code(ch.query(ref));
  await new Promise((res) => setTimeout(res, 30));
  ch.close();
  assert.equal(await pending, 'ERR_TCPR_CLOSED');
  assert.equal(await code(ch.update(ref, { ack: 1 })), 'ERR_TCPR_CLOSED');
});

test('an idle channel does not keep the process alive', () => {
  const url = new URL('./client.js', import.meta.url).href;
  const script = `import { TcprChannel } from '${url}';
    const ch = new TcprChannel({ address: '127.0.0.1', port: 9, timeoutMs: 20, tries: 1 });
    await ch.update({ port: 1, peerAddr: new Uint8Array([127, 0, 0, 2]), peerPort: 2 }, { ack: 1 });
    await ch.query({ port: 1, peerAddr: new Uint8Array([127, 0, 0, 2]), peerPort: 2 }).catch(() => {});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    timeout: 5000,
  });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''} ${String(r.stderr)}`);
});

/** A TCP listener standing in for the peer, and a record of a connection to it. */
async function recoverySetup(r: { filter: TcprFilter }, known: boolean) {
  const accepted = new Set<NetSocket>();
  const server = createServer((sock) => {
    accepted.add(sock);
    sock.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const peerPort = (server.address() as AddressInfo).port;
  const localPort = 20000 + Math.floor(Math.random() * 20000);
  const st = {
    internalAddr: lo,
    externalAddr: lo,
    peerAddr: lo,
    port: localPort,
    hard: { ...emptyHard(), port: localPort, peerPort, ack: 5000 },
  };
  const cref = { port: localPort, peerAddr: lo, peerPort, externalAddr: lo };
  if (known) r.filter.control({ type: 'restore', state: st });
  const rec: TcprRecord = {
    format: 'nonstop-tcpr-client',
    version: 1,
    saved: savedStateToJson(st),
    localAddress: '127.0.0.1',
    localPort,
    peerAddress: '127.0.0.1',
    peerPort,
    inBase: 4000,
    outBase: 0,
  };
  const peer = {
    close: () => {
      for (const sock of accepted) sock.destroy();
      server.close();
    },
  };
  return { peer, rec, cref };
}

test('recoverConnection: TCPR keeps its checkpoint, the app skips to its own; a lost recover is re-sent', async () => {
  let dropped = 0;
  const r = await responder({ drop: (_n, m) => m?.type === 'recover' && !dropped++ });
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  const { peer, rec, cref } = await recoverySetup(r, true);
  try {
    // TCPR's checkpoint (offset 1000) is behind the durable read offset 1500: the new
    // socket's input starts at 1000 and the app discards 500 bytes.
    const out = await recoverConnection(ch, rec, 1500);
    out.conn.socket.destroy();
    const s = await ch.query(cref);
    assert.deepEqual([s.failed, s.hard.ack], [false, 5000]);
    assert.deepEqual([out.skip, out.conn.readBase], [500, 1000]);
    // recover behind the SYN (lost), again after 100 ms; TCPR had no peer ACK here (no
    // splice it could have made), so the state is read once more at the end.
    assert.deepEqual(r.types.slice(0, 3), ['recover', 'recover', 'query']);
    // TCPR ahead of the record: the app acknowledged input it did not persist.
    assert.equal(await code(recoverConnection(ch, rec, 800)), 'ERR_TCPR_RECORD');
  } finally {
    ch.close();
    r.close();
    peer.close();
  }
});

test('recoverConnection: TCPR without state gets the record restored first', async () => {
  const r = await responder();
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  const { peer, rec, cref } = await recoverySetup(r, false);
  try {
    const out = await recoverConnection(ch, rec, 1500);
    out.conn.socket.destroy();
    const s = await ch.query(cref);
    assert.deepEqual([s.failed, s.hard.ack], [true, 5500]);
    assert.equal(out.conn.readBase, 1500);
    // One datagram restores it (no unknown, restore, query round trips first).
    assert.deepEqual(r.types.slice(0, 2), ['recover', 'query']);
  } finally {
    ch.close();
    r.close();
    peer.close();
  }
});

test('recoverConnection: the dead socket still holds the 4-tuple: marked failed, connected at once', async () => {
  // A socket of "the dead incarnation" (TCPR never saw it die) keeps the local port and
  // peer: the reconnect fails with EADDRNOTAVAIL until TCPR resets it, which the failed
  // mark makes it do (here: the responder closes it when that update arrives).
  let holder: NetSocket | undefined;
  const r = await responder({
    drop: (_n, m) => {
      if (m?.type === 'update' && m.fields.failed) holder?.resetAndDestroy();
      return false;
    },
  });
  const ch = new TcprChannel({ address: '127.0.0.1', port: r.port, timeoutMs: 100, tries: 3 });
  const { peer, rec } = await recoverySetup(r, true);
  try {
    holder = await new Promise<NetSocket>((resolve, reject) => {
      const s = connectTcp({
        host: '127.0.0.1',
        port: rec.peerPort,
        localAddress: '127.0.0.1',
        localPort: rec.localPort,
      });
      s.once('connect', () => resolve(s)).once('error', reject);
    });
    const out = await recoverConnection(ch, rec, 1000);
    out.conn.socket.destroy();
    assert.equal(holder.destroyed, true);
    // The failed connect (EADDRNOTAVAIL) is what sent the mark.
    assert.deepEqual(r.types.slice(0, 3), ['recover', 'update', 'query']);
  } finally {
    holder?.destroy();
    ch.close();
    r.close();
    peer.close();
  }
});
