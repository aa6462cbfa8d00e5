// TCPR conformance (spec tcpr-and-tcp-repair §2.9, T1–T11) through real TUN devices: the
// TCPR topology in harness mode (src/lab/tcpr-topology.ts: test-owned TUNs play the app and
// the peer), the middlebox (src/tcpr/middlebox.ts: packet pump + pump-filter) between them,
// crafted packets written as either side and read where they come out. The side channel
// is exercised with real UDP datagrams to 198.18.0.1:7780 (2001:db8::1) through the app
// TUN. Packets are built and parsed by the small helpers here (their own checksum code);
// expected values follow the spec's rules (§2.2–2.5), with its ISNs: peer 0xdeadbeef, app
// 0xcafebabe, recovered 0xfeedbead; peer MSS 0x0640, WS 2.
//
// Addresses: app internal 198.18.1.4, external (peer-visible) 198.18.1.3, peer
// 198.18.2.2:8888 (IPv6: 2001:db8:1::4, ::3, 2001:db8:2::2).

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { labAvailable } from '../src/lab/index.js';
import { HarnessTun, TcprTopology } from '../src/lab/tcpr-topology.js';
import { formatAddr, parseAddr } from '../src/lib/ip.js';
import {
  decodeControl,
  encodeControl,
  savedState,
  type ConnectionSnapshot,
  type ControlMessage,
} from '../src/tcpr/index.js';
import { MiddleboxClient, startMiddlebox, type Middlebox } from '../src/tcpr/middlebox.js';
import type { TcprPumpOptions } from '../src/tcpr/pump-filter.js';

const SKIP = 'lab not available and NONSTOP_SKIP_LAB=1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const PEER_ISN = 0xdeadbeef;
const APP_ISN = 0xcafebabe;
const NEW_ISN = 0xfeedbead;
const SLOW_ISN = 0x0badcafe;
const add = (a: number, n: number): number => (a + n) >>> 0;

const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;
const WIN = 1000;
const CHANNEL_PORT = 7780;

// ---- independent packet crafting ----------------------------------------------------------

function sum16(b: Uint8Array, s = 0): number {
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}
function pseudo(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  return sum16(dst, sum16(src)) + proto + len;
}

/** An IP packet (v4 or v6 by address width) around an upper-layer header + payload. */
function ipPacket(src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array, csumAt: number) {
  const l4c = l4.slice();
  const c = ~fold(sum16(l4c, pseudo(src, dst, proto, l4c.length))) & 0xffff;
  const cs = proto === 17 && c === 0 ? 0xffff : c;
  l4c[csumAt] = cs >> 8;
  l4c[csumAt + 1] = cs & 0xff;
  if (src.length === 4) {
    const p = new Uint8Array(20 + l4c.length);
    p[0] = 0x45;
    p[2] = p.length >> 8;
    p[3] = p.length & 0xff;
    p[6] = 0x40; // DF, as Linux TCP sets it
    p[8] = 64;
    p[9] = proto;
    p.set(src, 12);
    p.set(dst, 16);
    const h = ~fold(sum16(p.subarray(0, 20))) & 0xffff;
    p[10] = h >> 8;
    p[11] = h & 0xff;
    p.set(l4c, 20);
    return p;
  }
  const p = new Uint8Array(40 + l4c.length);
  p[0] = 0x60;
  p[4] = l4c.length >> 8;
  p[5] = l4c.length & 0xff;
  p[6] = proto;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p.set(l4c, 40);
  return p;
}

interface Seg {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win?: number;
  opts?: number[];
  data?: string;
}

function tcp(s: Seg): Uint8Array {
  const opts = s.opts ?? [];
  while (opts.length % 4 !== 0) opts.push(0);
  const data = new TextEncoder().encode(s.data ?? '');
  const h = new Uint8Array(20 + opts.length + data.length);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, s.sport);
  dv.setUint16(2, s.dport);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, s.ack >>> 0);
  h[12] = ((20 + opts.length) / 4) << 4;
  h[13] = s.flags;
  dv.setUint16(14, s.win ?? WIN);
  h.set(opts, 20);
  h.set(data, 20 + opts.length);
  return ipPacket(s.src, s.dst, 6, h, 16);
}

function udp(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload: Uint8Array) {
  const h = new Uint8Array(8 + payload.length);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, h.length);
  h.set(payload, 8);
  return ipPacket(src, dst, 17, h, 6);
}

interface Parsed {
  v: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  /** TCP */
  seq: number;
  ack: number;
  flags: number;
  win: number;
  opts: number[];
  /** TCP data or UDP payload */
  payload: Uint8Array;
  checksumOk: boolean;
}

function parse(p: Uint8Array): Parsed {
  const v = (p[0]! >> 4) as 4 | 6;
  const hl = v === 4 ? (p[0]! & 15) * 4 : 40;
  const src = v === 4 ? p.subarray(12, 16) : p.subarray(8, 24);
  const dst = v === 4 ? p.subarray(16, 20) : p.subarray(24, 40);
  const proto = v === 4 ? p[9]! : p[6]!;
  const end = v === 4 ? (p[2]! << 8) | p[3]! : 40 + ((p[4]! << 8) | p[5]!);
  const l4 = p.subarray(hl, end);
  const dv = new DataView(l4.buffer, l4.byteOffset, l4.length);
  let ok = fold(sum16(l4, pseudo(src, dst, proto, l4.length))) === 0xffff;
  if (v === 4) ok &&= fold(sum16(p.subarray(0, hl))) === 0xffff;
  const base = {
    v,
    src: formatAddr(src),
    dst: formatAddr(dst),
    proto,
    sport: dv.getUint16(0),
    dport: dv.getUint16(2),
    checksumOk: ok,
  };
  if (proto !== 6) {
    return { ...base, seq: 0, ack: 0, flags: 0, win: 0, opts: [], payload: l4.subarray(8) };
  }
  const doff = (l4[12]! >> 4) * 4;
  return {
    ...base,
    seq: dv.getUint32(4),
    ack: dv.getUint32(8),
    flags: l4[13]!,
    win: dv.getUint16(14),
    opts: [...l4.subarray(20, doff)],
    payload: l4.subarray(doff),
  };
}

/** Kind → option bytes, from a raw option list (NOP/EOL skipped). */
function options(opts: number[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let i = 0; i < opts.length;) {
    const k = opts[i]!;
    if (k === 0) break;
    if (k === 1) {
      i++;
      continue;
    }
    const len = opts[i + 1]!;
    m.set(k, opts.slice(i + 2, i + len));
    i += len;
  }
  return m;
}

// ---- the harness ----------------------------------------------------------------------------

interface Family {
  internal: string;
  external: string;
  peer: string;
  channel: string;
}
const V4: Family = {
  internal: '198.18.1.4',
  external: '198.18.1.3',
  peer: '198.18.2.2',
  channel: '198.18.0.1',
};
const V6: Family = {
  internal: '2001:db8:1::4',
  external: '2001:db8:1::3',
  peer: '2001:db8:2::2',
  channel: '2001:db8::1',
};

const PUMP_OPTIONS: TcprPumpOptions = {
  addresses: [
    { internal: V4.internal, external: V4.external },
    { internal: V6.internal, external: V6.external },
  ],
  channel: { addresses: [V4.channel, V6.channel], port: CHANNEL_PORT },
};

class Side {
  private readonly backlog: Uint8Array[] = [];
  constructor(
    readonly tun: HarnessTun,
    readonly name: string,
  ) {}

  /** The next packet matching `pred` (others are skipped), or fail after `ms`. */
  async expect(what: string, pred: (p: Parsed) => boolean, ms = 2000): Promise<Parsed> {
    const deadline = Date.now() + ms;
    const skipped: string[] = [];
    for (;;) {
      const left = deadline - Date.now();
      const raw = this.backlog.shift() ?? (left > 0 ? await this.tun.read(left) : undefined);
      if (!raw) {
        assert.fail(
          `${what}: nothing arrived at the ${this.name} (skipped: ${skipped.join('; ')})`,
        );
      }
      const p = parse(raw);
      if (pred(p)) {
        assert.ok(p.checksumOk, `${what}: bad checksum`);
        return p;
      }
      skipped.push(describe(p));
    }
  }

  drain(): void {
    this.backlog.length = 0;
    this.tun.drain();
  }

  /** Nothing matching `pred` arrives within `ms`. */
  async none(what: string, pred: (p: Parsed) => boolean = () => true, ms = 300): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      const raw = await this.tun.read(left);
      if (!raw) return;
      const p = parse(raw);
      assert.ok(!pred(p), `${what}: the ${this.name} got ${describe(p)}`);
      // Not what we are watching for: keep it for the next expect().
      this.backlog.push(raw);
    }
  }
}

function describe(p: Parsed): string {
  const f = ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => p.flags & (1 << i)).join('|');
  return p.proto === 6
    ? `TCP ${p.src}:${p.sport}>${p.dst}:${p.dport} ${f} seq ${p.seq.toString(16)} ack ${p.ack.toString(16)} len ${p.payload.length}`
    : `proto ${p.proto} ${p.src}:${p.sport}>${p.dst}:${p.dport}`;
}

interface Harness {
  topo: TcprTopology;
  app: Side;
  peer: Side;
  mb: Middlebox;
}

async function harness(t: { after: (fn: () => unknown) => void }): Promise<Harness> {
  const topo = await TcprTopology.build({ mode: 'harness' });
  const h = { topo } as Harness;
  t.after(async () => {
    await h.mb?.stop().catch(() => undefined);
    h.app?.tun.close();
    h.peer?.tun.close();
    await topo.destroy();
  });
  h.app = new Side(HarnessTun.open(topo.testAppTun), 'app');
  h.peer = new Side(HarnessTun.open(topo.testPeerTun), 'peer');
  h.mb = await startMiddlebox({
    appTun: topo.appTun,
    peerTun: topo.peerTun,
    options: PUMP_OPTIONS,
    controlSocket: join(topo.lab.dir, 'tcpr.sock'),
  });
  await warmUp(h);
  return h;
}

/**
 * Waits until both directions carry packets: a UDP datagram peer → app (not TCP, so the
 * filter passes it through), repeated until one arrives. Fresh TUNs occasionally lose the
 * very first packet; the checklist must not depend on that.
 */
async function warmUp(h: Harness): Promise<void> {
  const from = parseAddr(V4.peer)!;
  const to = parseAddr(V4.internal)!;
  for (let i = 0; i < 20; i++) {
    h.peer.tun.write(udp(from, to, 9, 9, new Uint8Array(1)));
    const got = await h.app.tun.read(250);
    if (got) {
      h.app.drain();
      h.peer.drain();
      return;
    }
  }
  assert.fail('the harness carries no packets peer → app');
}

/** One TCP connection between the test's app and peer, in one family. */
class Conn {
  readonly in: Uint8Array;
  readonly ex: Uint8Array;
  readonly pe: Uint8Array;
  readonly ch: Uint8Array;
  private chanSeq = 0;
  constructor(
    readonly h: Harness,
    readonly fam: Family,
    readonly port: number,
    readonly peerPort = 8888,
    readonly chanPort = 40000 + port,
  ) {
    this.in = parseAddr(fam.internal)!;
    this.ex = parseAddr(fam.external)!;
    this.pe = parseAddr(fam.peer)!;
    this.ch = parseAddr(fam.channel)!;
  }

  /** A segment as the app sends it (internal address). */
  appSeg(s: Omit<Seg, 'src' | 'dst' | 'sport' | 'dport'>, sport = this.port): Uint8Array {
    return tcp({ ...s, src: this.in, dst: this.pe, sport, dport: this.peerPort });
  }
  /** A segment as the peer sends it (to the external address). */
  peerSeg(s: Omit<Seg, 'src' | 'dst' | 'sport' | 'dport'>): Uint8Array {
    return tcp({ ...s, src: this.pe, dst: this.ex, sport: this.peerPort, dport: this.port });
  }

  /** At the peer: from the external address and port. */
  atPeer = (p: Parsed): boolean =>
    p.proto === 6 &&
    p.src === this.fam.external &&
    p.sport === this.port &&
    p.dport === this.peerPort;
  /** At the app: to the internal address and port, from the peer. */
  atApp = (p: Parsed): boolean =>
    p.proto === 6 &&
    p.dst === this.fam.internal &&
    p.dport === this.port &&
    p.src === this.fam.peer;

  ref() {
    return { port: this.port, peerAddr: this.pe, peerPort: this.peerPort };
  }

  /** Sends a control message over the UDP side channel; the reply, if one is expected. */
  async control(msg: ControlMessage, expectReply = true): Promise<ControlMessage | undefined> {
    const payload = encodeControl(msg, { seq: ++this.chanSeq });
    this.h.app.tun.write(udp(this.in, this.ch, this.chanPort, CHANNEL_PORT, payload));
    if (!expectReply) {
      await this.h.app.none('no reply to an update', (p) => p.proto === 17, 200);
      return undefined;
    }
    return this.reply();
  }

  /** The next datagram from the channel to this app's channel socket. */
  async reply(): Promise<ControlMessage> {
    const p = await this.h.app.expect(
      'side-channel reply',
      (x) => x.proto === 17 && x.dport === this.chanPort,
    );
    assert.equal(p.src, this.fam.channel);
    assert.equal(p.sport, CHANNEL_PORT);
    assert.equal(p.dst, this.fam.internal);
    const d = decodeControl(p.payload);
    assert.ok(d.ok, JSON.stringify(d));
    return d.value.msg;
  }

  async state(): Promise<ConnectionSnapshot> {
    const r = await this.control({ type: 'query', conn: this.ref() });
    assert.equal(r?.type, 'state', `query: ${JSON.stringify(r)}`);
    return (r as { state: ConnectionSnapshot }).state;
  }

  /** T1: the peer opens, the app accepts. The app offers MSS 1460 and WS 7. */
  async setup(): Promise<void> {
    const { app, peer } = this.h;
    // Peer SYN with MSS 0x0640, WS 2 and TCP-MD5 (which must be NOPed out, §2.1).
    const md5 = [19, 18, ...new Array<number>(16).fill(0xaa)];
    peer.tun.write(
      this.peerSeg({
        seq: PEER_ISN,
        ack: 0,
        flags: F.SYN,
        opts: [2, 4, 0x06, 0x40, 1, 3, 3, 2, ...md5],
      }),
    );
    const syn = await app.expect('T1 peer SYN at the app', this.atApp);
    assert.equal(syn.flags, F.SYN);
    assert.equal(syn.seq, PEER_ISN);
    const o = options(syn.opts);
    assert.deepEqual(o.get(2), [0x06, 0x40], 'MSS kept');
    assert.deepEqual(o.get(3), [2], 'WS kept');
    assert.equal(o.has(19), false, 'MD5 stripped');

    app.tun.write(
      this.appSeg({
        seq: APP_ISN,
        ack: add(PEER_ISN, 1),
        flags: F.SYN | F.ACK,
        opts: [2, 4, 5, 0xb4, 1, 3, 3, 7],
      }),
    );
    const sa = await peer.expect('T1 app SYN-ACK at the peer', this.atPeer);
    assert.equal(sa.flags, F.SYN | F.ACK);
    assert.equal(sa.seq, APP_ISN);
    assert.equal(sa.ack, add(PEER_ISN, 1));
    assert.equal(sa.dst, this.fam.peer);

    peer.tun.write(this.peerSeg({ seq: add(PEER_ISN, 1), ack: add(APP_ISN, 1), flags: F.ACK }));
    const a = await app.expect('T1 peer ACK at the app', this.atApp);
    assert.equal(a.ack, add(APP_ISN, 1));

    const s = await this.state();
    assert.equal(s.hard.ack, add(PEER_ISN, 1), 'checkpoint = peer ISN + 1');
    assert.equal(s.peer.ack, add(APP_ISN, 1));
    assert.equal(s.peer.haveAck, true);
    assert.equal(formatAddr(s.internalAddr), this.fam.internal);
    assert.equal(formatAddr(s.externalAddr), this.fam.external);
  }

  /** T2: app data reaches the peer with only the address changed; the peer's ACK passes. */
  async appData(seq: number, ack: number, data: string, peerSeq: number): Promise<void> {
    const { app, peer } = this.h;
    app.tun.write(this.appSeg({ seq, ack, flags: F.ACK | F.PSH, data }));
    const d = await peer.expect(
      'app data at the peer',
      (p) => this.atPeer(p) && p.payload.length > 0,
    );
    assert.equal(d.seq, peerSeq);
    assert.equal(d.ack, ack);
    assert.equal(Buffer.from(d.payload).toString(), data);
  }

  /** T3: peer data passes; the app's ACK is held until the checkpoint, then sent by TCPR. */
  async peerDataCheckpointed(
    seq: number,
    appAck: number,
    data: string,
    appSnd: number,
    peerSnd: number,
  ) {
    const { app, peer } = this.h;
    peer.tun.write(this.peerSeg({ seq, ack: peerSnd, flags: F.ACK | F.PSH, data }));
    const d = await app.expect(
      'peer data at the app',
      (p) => this.atApp(p) && p.payload.length > 0,
    );
    assert.equal(d.seq, seq);
    assert.equal(Buffer.from(d.payload).toString(), data);
    const upTo = add(seq, data.length);
    app.tun.write(this.appSeg({ seq: appSnd, ack: upTo, flags: F.ACK }));
    await peer.none('un-checkpointed pure ACK', this.atPeer);
    await this.control({ type: 'update', conn: this.ref(), fields: { ack: upTo } }, false);
    const ca = await peer.expect('checkpoint ACK', this.atPeer);
    assert.equal(ca.flags, F.ACK);
    assert.equal(ca.ack, upTo);
    assert.equal(ca.seq, peerSnd, 'seq = the app next seq in the peer space');
    assert.equal(ca.payload.length, 0);
    // Now the app's own ACK of the same data passes.
    app.tun.write(this.appSeg({ seq: appSnd, ack: upTo, flags: F.ACK }));
    const again = await peer.expect('checkpointed pure ACK', this.atPeer);
    assert.equal(again.ack, upTo);
    void appAck;
  }
}

// ---- the checklist --------------------------------------------------------------------------

test('TCPR §2.9 conformance through the TUNs: T1–T6, T8, T9, T10, T11 (IPv4)', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const h = await harness(t);
  const { app, peer } = h;

  await t.test('T1–T4: setup, data both ways, checkpoint-gated ACKs, graceful close', async () => {
    const c = new Conn(h, V4, 9999);
    await c.setup();
    // T2: "foo\0" from the app.
    await c.appData(add(APP_ISN, 1), add(PEER_ISN, 1), 'foo\0', add(APP_ISN, 1));
    peer.tun.write(c.peerSeg({ seq: add(PEER_ISN, 1), ack: add(APP_ISN, 5), flags: F.ACK }));
    assert.equal((await app.expect('T2 peer ACK', c.atApp)).ack, add(APP_ISN, 5));
    // T3: "bar\0" from the peer, ACK gated by the checkpoint.
    await c.peerDataCheckpointed(add(PEER_ISN, 1), 0, 'bar\0', add(APP_ISN, 5), add(APP_ISN, 5));

    // T4: peer FIN → app; the app's ACK of it is held; done_reading releases it.
    peer.tun.write(
      c.peerSeg({ seq: add(PEER_ISN, 5), ack: add(APP_ISN, 5), flags: F.FIN | F.ACK }),
    );
    const fin = await app.expect('T4 peer FIN at the app', c.atApp);
    assert.equal(fin.flags & F.FIN, F.FIN);
    app.tun.write(c.appSeg({ seq: add(APP_ISN, 5), ack: add(PEER_ISN, 6), flags: F.ACK }));
    await peer.none('T4 un-checkpointed ACK of the FIN', c.atPeer);
    await c.control({ type: 'update', conn: c.ref(), fields: { doneReading: true } }, false);
    const ca = await peer.expect('T4 checkpoint ACK after done_reading', c.atPeer);
    assert.equal(ca.ack, add(PEER_ISN, 6));
    // done_writing, then the app's FIN is forwarded.
    await c.control({ type: 'update', conn: c.ref(), fields: { doneWriting: true } }, false);
    app.tun.write(c.appSeg({ seq: add(APP_ISN, 5), ack: add(PEER_ISN, 6), flags: F.FIN | F.ACK }));
    const afin = await peer.expect('T4 app FIN at the peer', c.atPeer);
    assert.equal(afin.flags & F.FIN, F.FIN);
    assert.equal(afin.seq, add(APP_ISN, 5));
    peer.tun.write(c.peerSeg({ seq: add(PEER_ISN, 6), ack: add(APP_ISN, 6), flags: F.ACK }));
    assert.equal((await app.expect('T4 last ACK', c.atApp)).ack, add(APP_ISN, 6));
    const s = await c.state();
    assert.equal(s.done, true, 'both FINs seen and acknowledged: done (§2.7)');
    // The app forgets it.
    await c.control({ type: 'update', conn: c.ref(), fields: { done: true } }, false);
    assert.equal((await c.control({ type: 'query', conn: c.ref() }))?.type, 'unknown');
  });

  const c = new Conn(h, V4, 9998);
  await t.test(
    'T9 spurious RST, T5 recovery, T6 data after recovery, T8 spurious FIN',
    async () => {
      await c.setup();
      await c.peerDataCheckpointed(add(PEER_ISN, 1), 0, 'bar\0', add(APP_ISN, 1), add(APP_ISN, 1));
      // T9: the dying app's RST never reaches the peer.
      app.tun.write(
        c.appSeg({ seq: add(APP_ISN, 1), ack: add(PEER_ISN, 5), flags: F.RST | F.ACK }),
      );
      await peer.none('T9 app RST', c.atPeer);
      assert.equal((await c.state()).failed, true);
      // While failed, the peer's packets are dropped.
      peer.tun.write(
        c.peerSeg({ seq: add(PEER_ISN, 5), ack: add(APP_ISN, 1), flags: F.ACK | F.PSH, data: 'x' }),
      );
      await app.none('peer data while failed', c.atApp);

      // T5: the new incarnation connects (ISN feedbead) with the same options.
      app.tun.write(
        c.appSeg({ seq: NEW_ISN, ack: 0, flags: F.SYN, opts: [2, 4, 5, 0xb4, 1, 3, 3, 7] }),
      );
      const sa = await app.expect('T5 fake SYN-ACK', c.atApp);
      assert.equal(sa.flags, F.SYN | F.ACK);
      assert.equal(sa.seq, add(PEER_ISN, 4), 'seq = checkpoint − 1');
      assert.equal(sa.ack, add(NEW_ISN, 1));
      const o = options(sa.opts);
      assert.deepEqual(o.get(2), [0x06, 0x40], "the peer's MSS");
      assert.deepEqual(o.get(3), [2], "the peer's window scale");
      assert.equal(o.has(8), false, 'no timestamps (E4)');
      await peer.none('T5 the recovery SYN', c.atPeer);
      app.tun.write(c.appSeg({ seq: add(NEW_ISN, 1), ack: add(PEER_ISN, 5), flags: F.ACK }));
      const hs = await peer.expect('T5 handshake ACK at the peer', c.atPeer);
      assert.equal(hs.seq, add(APP_ISN, 1), 'translated into the peer space');
      assert.equal(hs.ack, add(PEER_ISN, 5));
      const s = await c.state();
      assert.equal(s.delta, (add(NEW_ISN, 1) - add(APP_ISN, 1)) >>> 0);
      assert.equal(s.failed, false);

      // T6: "quux\0" from the recovered app; the peer's ACK is translated back.
      await c.appData(add(NEW_ISN, 1), add(PEER_ISN, 5), 'quux\0', add(APP_ISN, 1));
      peer.tun.write(c.peerSeg({ seq: add(PEER_ISN, 5), ack: add(APP_ISN, 6), flags: F.ACK }));
      const pa = await app.expect(
        'T6 peer ACK at the app',
        (p) => c.atApp(p) && p.ack === add(NEW_ISN, 6),
      );
      assert.equal(pa.seq, add(PEER_ISN, 5));

      // T8: a FIN without done_writing: nothing to the peer, an RST to the app with seq =
      // the app's own last ACK.
      app.tun.write(
        c.appSeg({ seq: add(NEW_ISN, 6), ack: add(PEER_ISN, 5), flags: F.FIN | F.ACK }),
      );
      const rst = await app.expect(
        'T8 RST to the app',
        (p) => c.atApp(p) && (p.flags & F.RST) !== 0,
      );
      assert.equal(rst.flags, F.RST);
      assert.equal(rst.seq, add(PEER_ISN, 5));
      await peer.none('T8 spurious FIN', (p) => c.atPeer(p) && (p.flags & F.FIN) !== 0);
    },
  );

  await t.test('T11/E9 middlebox restart, T10 recovery with no middlebox state', async () => {
    // What the app saved (its last query) is what it restores.
    const saved = savedState(await c.state());
    assert.equal(saved.hard.ack, add(PEER_ISN, 5));
    await h.mb.stop();
    // Fail closed while it is down.
    app.tun.write(c.appSeg({ seq: add(NEW_ISN, 6), ack: add(PEER_ISN, 5), flags: F.ACK }));
    await peer.none('a packet crossed with no middlebox', () => true, 300);
    h.mb = await startMiddlebox({
      appTun: h.topo.appTun,
      peerTun: h.topo.peerTun,
      options: PUMP_OPTIONS,
      controlSocket: join(h.topo.lab.dir, 'tcpr.sock'),
    });
    app.drain();
    peer.drain();
    // The restarted filter is empty.
    assert.equal((await c.control({ type: 'query', conn: c.ref() }))?.type, 'unknown');
    // T11/E9: an app segment of the lost connection is dropped and reported.
    app.tun.write(
      c.appSeg({ seq: add(NEW_ISN, 6), ack: add(PEER_ISN, 5), flags: F.ACK | F.PSH, data: 'y' }),
    );
    const n = await c.reply();
    assert.equal(n.type, 'no-state');
    assert.ok(n.type === 'no-state');
    assert.equal(n.side, 'app');
    assert.equal(formatAddr(n.localAddr), V4.internal);
    assert.equal(n.localPort, 9998);
    assert.equal(formatAddr(n.peerAddr), V4.peer);
    assert.equal(n.peerPort, 8888);
    await peer.none('T11 segment without state', c.atPeer);

    // The app restores its saved state, then reconnects (T10, HEAD flow).
    assert.deepEqual(await c.control({ type: 'restore', state: saved }), { type: 'ok' });
    app.tun.write(
      c.appSeg({ seq: SLOW_ISN, ack: 0, flags: F.SYN, opts: [2, 4, 5, 0xb4, 1, 3, 3, 7] }),
    );
    const syn = await peer.expect('T10 SYN forwarded to the peer', c.atPeer);
    assert.equal(syn.flags, F.SYN);
    assert.equal(syn.seq, SLOW_ISN, 'not translated: delta unknown');
    // The peer answers the SYN on its established connection with an ACK of its state:
    // it has sent up to deadbeef+5 and received up to cafebabe+6 ("quux\0").
    peer.tun.write(c.peerSeg({ seq: add(PEER_ISN, 5), ack: add(APP_ISN, 6), flags: F.ACK }));
    const sa = await app.expect('T10 fake SYN-ACK', c.atApp);
    assert.equal(sa.flags, F.SYN | F.ACK);
    assert.equal(sa.seq, add(PEER_ISN, 4), 'checkpoint − 1');
    assert.equal(sa.ack, add(SLOW_ISN, 1));
    app.tun.write(c.appSeg({ seq: add(SLOW_ISN, 1), ack: add(PEER_ISN, 5), flags: F.ACK }));
    const hs = await peer.expect('T10 handshake ACK', c.atPeer);
    assert.equal(hs.seq, add(APP_ISN, 6), 'the new stream starts at the peer ACK');
    assert.equal(hs.ack, add(PEER_ISN, 5));
    // And data flows on, translated.
    await c.appData(add(SLOW_ISN, 1), add(PEER_ISN, 5), 'more', add(APP_ISN, 6));
  });

  await t.test('side channel: allow list, malformed datagrams, control socket', async () => {
    const c2 = new Conn(h, V4, 9997);
    // From an address not allowed (the peer's side of the lab, routed into the app TUN
    // like any other source): no answer at all.
    const stranger = parseAddr('198.18.1.77')!;
    app.tun.write(
      udp(stranger, c2.ch, 5000, CHANNEL_PORT, encodeControl({ type: 'list', offset: 0 })),
    );
    await app.none('reply to a stranger', (p) => p.proto === 17, 300);
    // Garbage gets an error with the codec's code.
    app.tun.write(udp(c2.in, c2.ch, c2.chanPort, CHANNEL_PORT, new Uint8Array(40).fill(7)));
    const e = await c2.reply();
    assert.equal(e.type === 'error' && e.code, 'ERR_TCPR_CTL_MAGIC');
    // Other ports on the channel address go nowhere.
    app.tun.write(udp(c2.in, c2.ch, c2.chanPort, 53, new Uint8Array(4)));
    await peer.none('channel address, other port', () => true, 200);

    // The Unix control socket: mode 0600, same messages, stats.
    const path = join(h.topo.lab.dir, 'tcpr.sock');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const client = await MiddleboxClient.connect(path);
    t.after(() => client.close());
    const list = await client.control({ type: 'list', offset: 0 });
    assert.equal(list.type, 'list-reply');
    assert.ok(list.type === 'list-reply' && list.conns.some((s) => s.hard.port === 9998));
    const st = await client.admin<{
      tcpr: { channel: { refused: number; malformed: Record<string, number> } };
    }>('stats');
    assert.equal(st.tcpr.channel.refused, 1);
    assert.equal(st.tcpr.channel.malformed['ERR_TCPR_CTL_MAGIC'], 1);
    // kill over the socket: failed → RST to the app (tcpr-kill).
    assert.deepEqual(
      await client.control({ type: 'update', conn: c.ref(), fields: { failed: true } }),
      {
        type: 'ok',
      },
    );
    const rst = await app.expect('RST after kill', (p) => c.atApp(p) && (p.flags & F.RST) !== 0);
    assert.equal(rst.flags, F.RST);
  });
});

test('TCPR conformance through the TUNs, IPv6: T1–T3, T5, side channel on 2001:db8::1', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const h = await harness(t);
  const { app, peer } = h;
  const c = new Conn(h, V6, 9999);
  await c.setup();
  await c.appData(add(APP_ISN, 1), add(PEER_ISN, 1), 'foo\0', add(APP_ISN, 1));
  peer.tun.write(c.peerSeg({ seq: add(PEER_ISN, 1), ack: add(APP_ISN, 5), flags: F.ACK }));
  assert.equal((await app.expect('T2 peer ACK', c.atApp)).ack, add(APP_ISN, 5));
  await c.peerDataCheckpointed(add(PEER_ISN, 1), 0, 'bar\0', add(APP_ISN, 5), add(APP_ISN, 5));
  // T5 after a kill over the side channel.
  await c.control({ type: 'update', conn: c.ref(), fields: { failed: true } }, false);
  const rst = await app.expect('RST after kill', (p) => c.atApp(p) && (p.flags & F.RST) !== 0);
  assert.equal(rst.seq, add(PEER_ISN, 5));
  app.tun.write(
    c.appSeg({ seq: NEW_ISN, ack: 0, flags: F.SYN, opts: [2, 4, 5, 0xa0, 1, 3, 3, 7] }),
  );
  const sa = await app.expect('T5 fake SYN-ACK', c.atApp);
  assert.equal(sa.flags, F.SYN | F.ACK);
  assert.equal(sa.seq, add(PEER_ISN, 4));
  assert.equal(sa.ack, add(NEW_ISN, 1));
  app.tun.write(c.appSeg({ seq: add(NEW_ISN, 1), ack: add(PEER_ISN, 5), flags: F.ACK }));
  const hs = await peer.expect('T5 handshake ACK', c.atPeer);
  assert.equal(hs.seq, add(APP_ISN, 5));
  await c.appData(add(NEW_ISN, 1), add(PEER_ISN, 5), 'v6!', add(APP_ISN, 5));
  await sleep(0);
});
