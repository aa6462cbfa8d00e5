// The TCPR packet pump on real kernel TCP (docs/tcpr-interposition.md): namespaces app,
// tcpr and peer (src/lab/tcpr-topology.ts), a pass-through filter in the pump's worker,
// and Node TCP endpoints in app and peer exchanging random data both ways.
// - (a) the pump carries a connection, 12 MB each way, IPv4 and IPv6, digests equal;
// - (b) fail closed: the pump stops mid-connection; nothing reaches the peer (no data, no
//   RST captured on its link, no FIN, no socket error), and the same connection completes
//   once a new pump re-attaches the persistent TUNs;
// - (c) harness mode: crafted packets written as "the app" come out unchanged (but for the
//   two forwarding hops) at "the peer", and the reverse.
// NONSTOP_TCPR_BENCH=1 also runs a throughput measurement (printed, never asserted).

import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { labAvailable, waitFor } from '../src/lab/index.js';
import {
  forwardedCopy,
  HarnessTun,
  ipv4HeaderChecksum,
  TCPR_ADDRESSES as A,
  TCPR_IFNAMES,
  TCPR_ROUTING,
  TcprTopology,
} from '../src/lab/tcpr-topology.js';
import { ip } from '../src/net/netns.js';
import type { Pump } from '../src/net/packet-pump.js';
import type { ManagedProcess } from '../src/net/process.js';
import { tunExists } from '../src/net/tun.js';
import { readCapture } from './support/pcap.js';

const SKIP = 'lab not available and NONSTOP_SKIP_LAB=1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// One TCP endpoint: `server HOST PORT SEND RATE` or `client HOST PORT SEND RATE`. Sends SEND
// random bytes (at RATE bytes/s, 0 = as fast as it can), then FIN; reads until the other
// side's FIN. Prints one JSON event per line; `done` carries both SHA-256 digests.
const ENDPOINT = `
const net = require('node:net');
const crypto = require('node:crypto');
const [role, host, port, sendBytes, rate] = process.argv.slice(1);
const total = Number(sendBytes);
const bps = Number(rate);
const log = (o) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\\n');
const fail = (e) => { log({ event: 'error', code: e.code, message: e.message }); process.exit(2); };
function session(sock) {
  const sentHash = crypto.createHash('sha256');
  const recvHash = crypto.createHash('sha256');
  let sent = 0, recv = 0, mark = 1 << 18;
  sock.on('data', (d) => {
    recvHash.update(d);
    recv += d.length;
    if (recv >= mark) { log({ event: 'progress', recv }); mark += 1 << 18; }
  });
  sock.on('end', () => log({ event: 'end', recv }));
  sock.on('close', () => {
    log({ event: 'done', sent, recv, sentHash: sentHash.digest('hex'), recvHash: recvHash.digest('hex') });
    process.exit(0);
  });
  const start = Date.now();
  const push = () => {
    while (sent < total) {
      if (bps > 0 && sent > ((Date.now() - start) / 1000) * bps) return void setTimeout(push, 5);
      const chunk = crypto.randomBytes(Math.min(65536, total - sent));
      sentHash.update(chunk);
      sent += chunk.length;
      if (!sock.write(chunk)) return void sock.once('drain', push);
    }
    sock.end();
  };
  push();
}
if (role === 'server') {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => { srv.close(); s.on('error', fail); session(s); });
  srv.on('error', fail);
  srv.listen(Number(port), host, () => log({ event: 'listening' }));
} else {
  const s = net.connect({ host, port: Number(port), allowHalfOpen: true });
  s.on('error', fail);
  s.on('connect', () => { log({ event: 'connected' }); session(s); });
}
`;

interface EndpointEvent {
  t: number;
  event: 'listening' | 'connected' | 'progress' | 'end' | 'done' | 'error';
  recv?: number;
  sent?: number;
  sentHash?: string;
  recvHash?: string;
  code?: string;
}

function events(p: ManagedProcess): EndpointEvent[] {
  return p
    .logTail(1 << 20)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as EndpointEvent);
}

const lastEvent = (p: ManagedProcess, kind: EndpointEvent['event']): EndpointEvent | undefined =>
  events(p)
    .filter((e) => e.event === kind)
    .at(-1);

interface Transfer {
  server: ManagedProcess;
  client: ManagedProcess;
}

let port = 5001;

async function startTransfer(
  topo: TcprTopology,
  family: 'v4' | 'v6',
  bytes: { client: number; server: number },
  rate = 0,
  tag: string = family,
): Promise<Transfer> {
  const p = String(port++);
  const node = process.execPath;
  const server = topo.spawn(
    topo.peer!,
    node,
    ['-e', ENDPOINT, 'server', A.peer[family], p, String(bytes.server), String(rate)],
    { name: `server-${tag}-${p}` },
  );
  await waitFor(() => lastEvent(server, 'listening'), {
    what: `test server listening on ${A.peer[family]}:${p}`,
    context: () => server.logTail(),
  });
  const client = topo.spawn(
    topo.app!,
    node,
    ['-e', ENDPOINT, 'client', A.peer[family], p, String(bytes.client), String(rate)],
    { name: `client-${tag}-${p}` },
  );
  return { server, client };
}

async function finish(
  x: Transfer,
  bytes: { client: number; server: number },
  timeoutMs = 60_000,
): Promise<{ c: EndpointEvent; s: EndpointEvent }> {
  const ctx = (): string =>
    `server:\n${x.server.logTail(1500)}\nclient:\n${x.client.logTail(1500)}`;
  await waitFor(() => !x.server.running() && !x.client.running(), {
    what: 'both TCP endpoints to finish',
    timeoutMs,
    context: ctx,
  });
  const c = lastEvent(x.client, 'done');
  const s = lastEvent(x.server, 'done');
  assert.ok(c && s, `both endpoints report done\n${ctx()}`);
  assert.equal(lastEvent(x.client, 'error'), undefined, ctx());
  assert.equal(lastEvent(x.server, 'error'), undefined, ctx());
  assert.equal(c.sent, bytes.client);
  assert.equal(s.sent, bytes.server);
  assert.equal(s.recv, bytes.client);
  assert.equal(c.recv, bytes.server);
  assert.equal(s.recvHash, c.sentHash, 'app → peer digest');
  assert.equal(c.recvHash, s.sentHash, 'peer → app digest');
  return { c, s };
}

function watchErrors(pump: Pump): Error[] {
  const errors: Error[] = [];
  pump.on('error', (e: Error) => errors.push(e));
  return errors;
}

test('pass-through pump carries kernel TCP both ways, IPv4 and IPv6, digests equal', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const topo = await TcprTopology.build();
  t.after(() => topo.destroy());
  const pump = await topo.startPump();
  const errors = watchErrors(pump);
  const bytes = { client: 12 << 20, server: 12 << 20 };
  for (const family of ['v4', 'v6'] as const) {
    const before = pump.stats();
    const started = Date.now();
    await finish(await startTransfer(topo, family, bytes), bytes);
    const secs = (Date.now() - started) / 1000;
    const s = pump.stats();
    const packets =
      s.fromApp.packets - before.fromApp.packets + s.fromPeer.packets - before.fromPeer.packets;
    t.diagnostic(
      `${family}: 2 × 12 MiB in ${secs.toFixed(2)} s through the pump, ${packets} packets`,
    );
    // Every byte went through the pump, none around it.
    assert.ok(s.fromApp.bytes - before.fromApp.bytes > bytes.client);
    assert.ok(s.fromPeer.bytes - before.fromPeer.bytes > bytes.server);
  }
  const s = pump.stats();
  assert.equal(s.toPeer.packets, s.fromApp.packets);
  assert.equal(s.toApp.packets, s.fromPeer.packets);
  assert.equal(s.fromApp.drops + s.fromPeer.drops + s.writeErrors + s.filterErrors, 0);
  assert.deepEqual(errors, []);
});

test('fail closed: pump stopped mid-connection, peer sees no RST/FIN, resumes on re-attach', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const topo = await TcprTopology.build();
  t.after(() => topo.destroy());
  const pcap = join(topo.lab.dir, 'peer-rst.pcap');
  // Every RST on the peer's only link, IPv4 and IPv6 (TCP right after the fixed header).
  const filter = '(tcp[tcpflags] & tcp-rst != 0) or (ip6 and ip6[6] == 6 and ip6[53] & 4 != 0)';
  const capture = topo.spawn(
    topo.peer!,
    'tcpdump',
    ['-i', 'nst-tcpr', '-n', '-U', '-Z', 'root', '-w', pcap, filter],
    { name: 'tcpdump' },
  );
  await waitFor(() => capture.logTail(), {
    what: 'tcpdump listening in the peer namespace',
    until: (s) => s.includes('listening on'),
  });

  let pump = await topo.startPump();
  let errors = watchErrors(pump);
  // 4 MiB/s each way for 6 MiB: the connection is busy when the pump goes away.
  const bytes = { client: 6 << 20, server: 6 << 20 };
  const rate = 4 << 20;
  for (const family of ['v4', 'v6'] as const) {
    const x = await startTransfer(topo, family, bytes, rate);
    await waitFor(() => lastEvent(x.server, 'progress')?.recv ?? 0, {
      what: 'the server to receive 1 MiB',
      until: (n) => n >= 1 << 20,
      context: () => x.server.logTail(),
    });
    await pump.stop();
    assert.deepEqual(errors, []);
    await sleep(300); // what was already past the TUNs drains
    const stalledServer = lastEvent(x.server, 'progress')?.recv;
    const stalledClient = lastEvent(x.client, 'progress')?.recv;
    await sleep(1500);
    // Nothing went around the middlebox while it was down.
    assert.equal(lastEvent(x.server, 'progress')?.recv, stalledServer, 'server got data');
    assert.equal(lastEvent(x.client, 'progress')?.recv, stalledClient, 'client got data');
    assert.ok(x.server.running() && x.client.running(), 'both endpoints still up');
    for (const p of [x.server, x.client]) {
      assert.equal(lastEvent(p, 'end'), undefined, `${p.name}: no FIN while the pump was down`);
      assert.equal(lastEvent(p, 'error'), undefined, `${p.name}: no socket error`);
    }
    // The devices outlived their fds: a new pump re-attaches them by name.
    assert.ok(tunExists(TCPR_IFNAMES.appTun, topo.tcpr.ns));
    assert.ok(tunExists(TCPR_IFNAMES.peerTun, topo.tcpr.ns));
    pump = await topo.startPump();
    errors = watchErrors(pump);
    await finish(x, bytes);
    // The peer's first FIN is the app's own, after every byte.
    assert.equal(events(x.server).find((e) => e.event === 'end')?.recv, bytes.client);
  }
  await capture.stop();
  assert.ok(existsSync(pcap));
  assert.equal(readCapture(pcap).length, 0, 'no RST on the peer link');
  await pump.stop();
  assert.deepEqual(errors, []);
});

// --- crafted packets (harness mode) ---

function ipv4Udp(src: number[], dst: number[], payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, 0x1234);
  p[8] = 64; // TTL
  p[9] = 17; // UDP
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, ipv4HeaderChecksum(p.subarray(0, 20)));
  dv.setUint16(20, 40000);
  dv.setUint16(22, 9);
  dv.setUint16(24, 8 + payload.length);
  p.set(payload, 28); // UDP checksum 0: none (IPv4 only)
  return p;
}

function ipv6Udp(src: Uint8Array, dst: Uint8Array, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(48 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, 8 + payload.length);
  p[6] = 17;
  p[7] = 64; // hop limit
  p.set(src, 8);
  p.set(dst, 24);
  dv.setUint16(40, 40000);
  dv.setUint16(42, 9);
  dv.setUint16(44, 8 + payload.length);
  p.set(payload, 48);
  // Checksum over the pseudo-header (addresses, length, next header) and the datagram.
  let s = 8 + payload.length + 17;
  const words = (b: Uint8Array): void => {
    for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  };
  words(p.subarray(8, 40));
  words(p.subarray(40));
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  dv.setUint16(46, ~s & 0xffff || 0xffff);
  return p;
}

const v6 = (last: number, net: number): Uint8Array =>
  Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, net, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);

/** A harness-mode topology and its two test TUNs, all removed after the test. */
async function harness(
  t: TestContext,
): Promise<{ topo: TcprTopology; app: HarnessTun; peer: HarnessTun }> {
  const topo = await TcprTopology.build({ mode: 'harness' });
  t.after(() => topo.destroy());
  const app = HarnessTun.open(topo.testAppTun);
  const peer = HarnessTun.open(topo.testPeerTun);
  t.after(() => {
    app.close();
    peer.close();
  });
  return { topo, app, peer };
}

test('harness mode: crafted packets cross the pump unchanged, both ways, IPv4 and IPv6', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const { topo, app, peer } = await harness(t);
  let pump = await topo.startPump();
  const payload = new TextEncoder().encode('nonstop tcpr harness');
  const cases = [
    ['app → peer v4', app, peer, ipv4Udp([198, 18, 1, 2], [198, 18, 2, 2], payload)],
    ['peer → app v4', peer, app, ipv4Udp([198, 18, 2, 2], [198, 18, 1, 2], payload)],
    ['app → peer v6', app, peer, ipv6Udp(v6(2, 1), v6(2, 2), payload)],
    ['peer → app v6', peer, app, ipv6Udp(v6(2, 2), v6(2, 1), payload)],
  ] as const;
  for (const [what, from, to, packet] of cases) {
    to.drain();
    from.write(packet);
    const got = await to.read(2000);
    assert.ok(got, `${what}: nothing arrived`);
    assert.deepEqual(got, forwardedCopy(packet), what);
  }
  const s = pump.stats();
  assert.equal(s.fromApp.packets, 2);
  assert.equal(s.fromPeer.packets, 2);

  // Fail closed here too: no pump, nothing crosses; a new pump carries on.
  await pump.stop();
  const [, from, to, packet] = cases[0];
  from.write(packet);
  assert.equal(await to.read(300), undefined, 'a packet crossed without a pump');
  pump = await topo.startPump();
  from.write(packet);
  assert.deepEqual(await to.read(2000), forwardedCopy(packet));
  assert.ok(A.sideChannel.v4);
});

// A filter module as the TCPR filter will be one: loaded by path in the worker, with
// control methods the main thread calls over the pump's channel.
const FILTER_MODULE = `
export function createFilter(options, ctx) {
  let seen = 0;
  let broken = false;
  return {
    fromApp(p) { seen++; if (broken) throw new Error('broken on purpose'); return [{ to: 'peer', packet: p }]; },
    fromPeer(p) { seen++; return [{ to: 'app', packet: p }]; },
    status() { return { seen, tag: options.tag, ctx: typeof ctx.emit }; },
    inject(arg) { return { emits: [{ to: arg.to, packet: Uint8Array.from(arg.bytes) }], injected: 1 }; },
    async breakIt(on) { broken = on; return on; },
  };
}
`;

test('filter module: control calls, injected packets, filter errors, device loss', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const { topo, app, peer } = await harness(t);
  const module = join(topo.lab.dir, 'filter.mjs');
  writeFileSync(module, FILTER_MODULE);
  await assert.rejects(
    topo.startPump({ filter: { module, export: 'nope' } }),
    /has no function export "nope"/,
  );
  const pump = await topo.startPump({ filter: { module, options: { tag: 'x' } } });
  const errors = watchErrors(pump);
  const warnings: string[] = [];
  pump.on('warning', (w: string) => warnings.push(w));

  const packet = ipv4Udp([198, 18, 1, 2], [198, 18, 2, 2], new Uint8Array(10));
  app.write(packet);
  assert.deepEqual(await peer.read(2000), forwardedCopy(packet));
  assert.deepEqual(await pump.call('status'), { seen: 1, tag: 'x', ctx: 'function' });

  // A packet the filter makes up is written to the peer side: one forwarding hop.
  const made = ipv4Udp([198, 18, 1, 2], [198, 18, 2, 2], new Uint8Array([1, 2, 3]));
  assert.deepEqual(await pump.call('inject', { to: 'peer', bytes: [...made] }), { injected: 1 });
  assert.deepEqual(await peer.read(2000), forwardedCopy(made, 1));
  await assert.rejects(pump.call('missing'), /no method "missing"/);

  // A throwing filter drops the packet and warns; the pump goes on.
  assert.equal(await pump.call('breakIt', true), true);
  app.write(packet);
  assert.equal(await peer.read(300), undefined);
  await waitFor(() => warnings.length, { what: 'a filter warning' });
  assert.match(warnings[0]!, /broken on purpose/);
  assert.equal(pump.stats().filterErrors, 1);
  await pump.call('breakIt', false);
  app.write(packet);
  assert.ok(await peer.read(2000));

  // Losing a device is fatal for the pump ('error'), and still fails closed: the route
  // into the missing TUN is gone, the table's blackhole takes over.
  await ip(['-n', topo.tcpr.ns, 'link', 'del', TCPR_IFNAMES.appTun]);
  const died = await pump.exited;
  assert.ok(died, 'the pump reports why it died');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /nst-tapp/);
  app.write(packet);
  assert.equal(await peer.read(300), undefined, 'a packet crossed without the app TUN');
});

test('control calls and stop() wake the worker: answered at once, not at the end of its slice', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const { topo } = await harness(t);
  const module = join(topo.lab.dir, 'filter.mjs');
  writeFileSync(module, FILTER_MODULE);
  // An idle worker sits in poll(2) for a whole slice; 4 s here, so that a call that waited
  // for the slice's end could not pass for one answered at once.
  const sliceMs = 4000;
  const pump = await topo.startPump({ filter: { module, options: { tag: 'w' } }, sliceMs });
  const took: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(50);
    const t0 = performance.now();
    assert.deepEqual(await pump.call('status'), { seen: 0, tag: 'w', ctx: 'function' });
    took.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await pump.stop(sliceMs * 2);
  const stopMs = performance.now() - t0;
  t.diagnostic(
    `calls ${took.map((x) => x.toFixed(1)).join(', ')} ms; stop ${stopMs.toFixed(1)} ms`,
  );
  assert.ok(Math.max(...took) < sliceMs / 2, `every call answered before the slice ended`);
  assert.ok(stopMs < sliceMs / 2, 'stopped before the slice ended');
});

test('tcpr namespace owns none of the app or peer addresses; rules end in a blackhole', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const topo = await TcprTopology.build();
  t.after(() => topo.destroy());
  const own = await ip(['-n', topo.tcpr.ns, '-o', 'addr', 'show']);
  for (const a of [A.app.v4, A.app.v6, A.peer.v4, A.peer.v6, A.sideChannel.v4]) {
    assert.ok(!own.includes(` ${a}/`), `tcpr namespace has ${a}`);
  }
  for (const flag of ['-4', '-6']) {
    const rules = await ip(['-n', topo.tcpr.ns, flag, 'rule', 'show']);
    for (const [iif, pref] of [
      [TCPR_IFNAMES.appVeth, TCPR_ROUTING.fromAppPref],
      [TCPR_IFNAMES.peerVeth, TCPR_ROUTING.fromPeerPref],
    ] as const) {
      assert.match(rules, new RegExp(`${pref}:\\s+from all iif ${iif} lookup`));
      assert.match(rules, new RegExp(`${pref + 1}:\\s+from all iif ${iif} blackhole`));
    }
  }
});

test(
  'measurement: pass-through pump vs plain forwarding (NONSTOP_TCPR_BENCH=1)',
  { skip: process.env.NONSTOP_TCPR_BENCH !== '1' && 'set NONSTOP_TCPR_BENCH=1 to measure' },
  async (t) => {
    const topo = await TcprTopology.build();
    t.after(() => topo.destroy());
    const report = (line: string): void => {
      t.diagnostic(line);
      console.log(line);
    };
    const size = 256 << 20;
    const tcp = async (label: string, pump?: Pump): Promise<void> => {
      const bytes = { client: size, server: 0 };
      const before = pump?.stats();
      const x = await startTransfer(topo, 'v4', bytes, 0, label);
      const { c } = await finish(x, bytes, 300_000);
      const connected = lastEvent(x.client, 'connected')!.t;
      const secs = (c.t - connected) / 1000;
      let pps = '';
      if (pump && before) {
        const s = pump.stats();
        const n =
          s.fromApp.packets - before.fromApp.packets + s.fromPeer.packets - before.fromPeer.packets;
        pps = `, pump ${(n / secs / 1000).toFixed(0)} kpps (both directions, data + ACKs)`;
      }
      report(
        `${label}: TCP 256 MiB app → peer in ${secs.toFixed(2)} s = ` +
          `${((size * 8) / secs / 1e6).toFixed(0)} Mbit/s${pps}`,
      );
    };
    const pump = await topo.startPump();
    await tcp('pump', pump);
    await udpFlood(topo, 'pump', report, pump);
    await pump.stop();
    // Plain forwarding through the same namespace: drop the steering rules.
    for (const flag of ['-4', '-6']) {
      for (const pref of [TCPR_ROUTING.fromAppPref, TCPR_ROUTING.fromPeerPref]) {
        await ip(['-n', topo.tcpr.ns, flag, 'rule', 'del', 'pref', String(pref)]);
        await ip(['-n', topo.tcpr.ns, flag, 'rule', 'del', 'pref', String(pref + 1)]);
      }
    }
    await tcp('direct');
    await udpFlood(topo, 'direct', report);
  },
);

// 64-byte UDP datagrams from app to peer for 3 s (Python: a cheaper sender than Node's
// dgram), and a receiver with a large buffer that stops after 1.5 s of silence.
const UDP_SEND = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9000))
b = bytes(64); n = 0; end = time.time() + float(sys.argv[2])
while time.time() < end:
    for i in range(1000): s.send(b)
    n += 1000
print(n)
`;
const UDP_RECV = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind((sys.argv[1], 9000)); s.settimeout(1.5); n = 0
print('listening', flush=True)
try:
    while True: s.recv(2048); n += 1
except socket.timeout: pass
print(n, flush=True)
`;

async function udpFlood(
  topo: TcprTopology,
  label: string,
  report: (l: string) => void,
  pump?: Pump,
): Promise<void> {
  const secs = 3;
  const recv = topo.spawn(topo.peer!, 'python3', ['-c', UDP_RECV, A.peer.v4], {
    name: `udp-recv-${label}`,
  });
  await waitFor(() => recv.logTail().includes('listening'), { what: 'UDP receiver' });
  const before = pump?.stats();
  const r = await topo.exec(topo.app!, 'python3', ['-c', UDP_SEND, A.peer.v4, String(secs)], {
    timeoutMs: 30_000,
  });
  const sent = Number(r.stdout.trim());
  await recv.exited; // the pump has drained its queue by then
  const through = pump && before ? pump.stats().fromApp.packets - before.fromApp.packets : 0;
  const got = Number(recv.logTail().trim().split('\n').at(-1));
  report(
    `${label}: UDP 64 B: sent ${(sent / secs / 1000).toFixed(0)} kpps, ` +
      (pump ? `pump read ${(through / secs / 1000).toFixed(0)} kpps, ` : '') +
      `received ${(got / secs / 1000).toFixed(0)} kpps (${((100 * got) / sent).toFixed(1)} %)`,
  );
}
