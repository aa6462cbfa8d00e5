// TCPR through NFQUEUE (docs/tcpr-nfqueue.md): the tcpr namespace is a plain router whose
// forward hook queues both veths' packets to the pump (TcprTopology `interposition:
// 'nfqueue'`). Real kernel TCP on both ends (test/support/tcpr-app.ts on the client
// library, test/support/tcpr-peer.ts on plain `net`), as in test/tcpr-stream.test.ts:
// - the app is SIGKILLed and restarted at seeded random points while data flows both ways,
//   and every byte arrives exactly once, in order, on both sides (SHA-256 of each stream);
// - fail closed: with the pump stopped, the killed app's FIN/RST is queued and dropped, the
//   peer's socket stays ESTABLISHED without error, and a new pump plus recovery finish the
//   streams exactly;
// - the side channel is answered through the queues (and not at all without a pump).
// Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TcprTopology, TCPR_ADDRESSES } from '../src/lab/tcpr-topology.js';
import type { LabNode } from '../src/lab/lab.js';
import type { ManagedProcess } from '../src/net/process.js';
import type { Pump } from '../src/net/packet-pump.js';
import { seededRandom } from '../src/lib/random.js';
import type { PeerConnResult } from './support/tcpr-peer.js';
import { appFilterSpec, streamDigest, type StreamConfig } from './support/tcpr-stream.js';

const here = dirname(fileURLToPath(import.meta.url));
const APP = join(here, 'support', 'tcpr-app.js');
const PEER = join(here, 'support', 'tcpr-peer.js');
const QUERY = join(here, 'support', 'tcpr-query.js');
const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root (network namespaces, NFQUEUE)';
const A = TCPR_ADDRESSES;
const filter = appFilterSpec();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** One client-side stream (app → peer port 9000 from port 40000) through NFQUEUE. */
class NfqStream {
  readonly procs: ManagedProcess[] = [];
  app!: ManagedProcess;
  pump!: Pump;
  private n = 0;

  private constructor(
    readonly topo: TcprTopology,
    readonly cfg: StreamConfig,
    readonly cfgPath: string,
  ) {}

  static async start(bytes: number, seed: number, v: 'v4' | 'v6' = 'v4'): Promise<NfqStream> {
    const dir = mkdtempSync(join(tmpdir(), 'tcpr-nfq-'));
    const cfg: StreamConfig = {
      appBytes: bytes,
      appSeed: seed * 1000 + 1,
      peerBytes: bytes,
      peerSeed: seed * 1000 + 500,
      chunk: 4096,
      tickMs: 5,
      peerAddress: A.peer[v],
      peerPort: 9000,
      appAddress: A.app[v],
      appBasePort: 40000,
      connections: 1,
      dir,
    };
    const cfgPath = join(dir, 'config.json');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    let topo: TcprTopology;
    try {
      topo = await TcprTopology.build({ interposition: 'nfqueue' });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const s = new NfqStream(topo, cfg, cfgPath);
    try {
      s.pump = await topo.startPump({ filter });
      const peer = topo.spawn(topo.peer!, process.execPath, [PEER, cfgPath], { name: 'tcpr-peer' });
      s.procs.push(peer);
      await waitFor(() => peer.logTail().includes('listening'), 10_000, 'peer listening');
      s.spawnApp();
      await waitFor(() => existsSync(join(dir, 'app-0.json')), 15_000, 'connection set up');
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  spawnApp(): void {
    this.app = this.topo.spawn(this.topo.app!, process.execPath, [APP, this.cfgPath], {
      name: `tcpr-app-${this.n++}`,
    });
    this.procs.push(this.app);
  }

  async killApp(): Promise<void> {
    this.app.kill('SIGKILL');
    await this.app.exited;
  }

  /** `times` kill -9s of the app at random points (300 ms + up to `spreadMs` apart, the
   * random sequence from `seed`), each followed by a new app within 200 ms. */
  async killAppRepeatedly(seed: number, times: number, spreadMs: number): Promise<void> {
    const r = seededRandom(seed);
    for (let k = 0; k < times; k++) {
      await sleep(300 + r() * spreadMs);
      assert.ok(!this.finished(), `streams finished after only ${k} kills: make them longer`);
      await this.killApp();
      await sleep(r() * 200);
      this.spawnApp();
    }
  }

  peerResult(): { complete: number; results: PeerConnResult[] } | undefined {
    try {
      return JSON.parse(readFileSync(join(this.cfg.dir, 'peer-result.json'), 'utf8')) as never;
    } catch {
      return undefined;
    }
  }

  finished(): boolean {
    return existsSync(join(this.cfg.dir, 'app-0.done')) && this.peerResult()?.complete === 1;
  }

  /** Both streams complete, exactly, and the peer saw no error, RST or FIN. */
  async checkExact(): Promise<void> {
    try {
      await waitFor(() => this.finished(), 45_000, 'streams to finish');
    } catch (e) {
      const ss = await this.topo.exec(this.topo.app!, 'ss', ['-tanoi']);
      throw new Error(
        `${(e as Error).message}\napp log:\n${this.app.logTail(3000)}\nss (app):\n${ss.stdout}`,
      );
    }
    const p = this.peerResult()!.results[0]!;
    assert.deepEqual(
      { errors: p.errors, earlyEnd: p.earlyEnd, closed: p.closed },
      { errors: [], earlyEnd: false, closed: false },
      'the peer saw no error, RST or FIN',
    );
    assert.equal(p.received, this.cfg.appBytes, 'peer received');
    assert.equal(p.sha256, streamDigest(this.cfg.appSeed, this.cfg.appBytes), 'app→peer digest');
    const data = readFileSync(join(this.cfg.dir, 'app-0.data'));
    assert.equal(data.length, this.cfg.peerBytes, 'app received');
    assert.equal(
      createHash('sha256').update(data).digest('hex'),
      streamDigest(this.cfg.peerSeed, this.cfg.peerBytes),
      'peer→app digest',
    );
  }

  /** The peer's kernel TCP states of the stream's connection (ss in the peer namespace). */
  peerSocketStates(): Promise<string[]> {
    return this.socketStates(this.topo.peer!, this.cfg.peerPort, this.cfg.appBasePort);
  }

  /** The app namespace's TCP states of the stream's 4-tuple. */
  appSocketStates(): Promise<string[]> {
    return this.socketStates(this.topo.app!, this.cfg.appBasePort, this.cfg.peerPort);
  }

  private async socketStates(node: LabNode, sport: number, dport: number): Promise<string[]> {
    const r = await this.topo.exec(node, 'ss', [
      '-tanH',
      `( sport = :${sport} and dport = :${dport} )`,
    ]);
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.trim().split(/\s+/)[0]!);
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(500).catch(() => undefined)));
    await this.topo.destroy();
    rmSync(this.cfg.dir, { recursive: true, force: true });
  }
}

/** One NFQUEUE stream test: the streams started, `body` run, everything torn down after. */
function streamTest(
  name: string,
  o: { bytes: number; seed: number; timeoutMs: number; v?: 'v4' | 'v6' },
  body: (s: NfqStream, t: TestContext) => Promise<void>,
): void {
  test(name, { skip, timeout: o.timeoutMs }, async (t) => {
    const s = await NfqStream.start(o.bytes, o.seed, o.v);
    try {
      await body(s, t);
    } finally {
      await s.close();
    }
  });
}

streamTest(
  'NFQUEUE: app kill -9 at random points, 5 times, data both ways, exact streams',
  { bytes: 6 << 20, seed: 31, timeoutMs: 90_000 },
  async (s, t) => {
    await s.killAppRepeatedly(31, 5, 900);
    await s.checkExact();
    const st = s.pump.stats();
    t.diagnostic(`pump: ${JSON.stringify(st)}`);
    // The pump really was in the path, both ways, and ACCEPTed or injected every packet.
    assert.ok(st.toPeer.bytes > s.cfg.appBytes, 'app→peer bytes went through the pump');
    assert.ok(st.toApp.bytes > s.cfg.peerBytes, 'peer→app bytes went through the pump');
    // Data rides on ACCEPT verdicts, both ways: with the rewritten packet, or without a
    // copy when TCPR left it as it was (peer → app before the first recovery: the lab's
    // internal and external addresses are the same, and there is no delta yet)...
    assert.ok(st.accepted.toPeer > 0, 'app→peer packets were ACCEPTed');
    assert.ok(st.accepted.toApp > 0, 'peer→app packets were ACCEPTed');
    assert.ok(st.accepted.unchanged > 0, 'some were ACCEPTed without a copy');
    assert.ok(
      st.accepted.unchanged < st.accepted.toApp + st.accepted.toPeer,
      'and some with their rewritten bytes',
    );
    // ...while what TCPR makes up is injected: the SYN-ACK that answers each restarted
    // app's SYN (recovery) goes back to the app side.
    assert.ok(st.injected.toApp >= 5, `recovery SYN-ACKs injected towards the app (5 restarts)`);
    assert.equal(
      st.toApp.packets + st.toPeer.packets,
      st.accepted.toApp + st.accepted.toPeer + st.injected.toApp + st.injected.toPeer,
      'every packet out was either accepted or injected',
    );
    assert.equal(st.writeErrors, 0, 'no failed verdicts or injections');
    assert.equal(st.verdictFallbacks, 0, 'no verdict fell back to DROP');
  },
);

streamTest(
  'NFQUEUE over IPv6 (ip6tables rules): app kill -9 3 times, exact streams',
  { bytes: 4 << 20, seed: 47, timeoutMs: 90_000, v: 'v6' },
  async (s) => {
    await s.killAppRepeatedly(47, 3, 700);
    await s.checkExact();
    const st = s.pump.stats();
    // IPv6 packets went through the queues (the ip6tables rules), not around them.
    assert.ok(st.toPeer.bytes > s.cfg.appBytes && st.toApp.bytes > s.cfg.peerBytes);
    assert.ok(st.injected.toApp >= 3, 'recovery SYN-ACKs (IPv6) injected towards the app');
    assert.equal(st.writeErrors, 0, 'no failed verdicts or injections');
  },
);

streamTest(
  'NFQUEUE: app and pump killed together 3 times: stateless recovery through the queues',
  { bytes: 4 << 20, seed: 37, timeoutMs: 90_000 },
  async (s) => {
    const r = seededRandom(37);
    for (let k = 0; k < 3; k++) {
      await sleep(400 + r() * 800);
      assert.ok(!s.finished(), `streams finished after only ${k} kills: make them longer`);
      await s.killApp();
      await s.pump.stop();
      await sleep(50 + r() * 300);
      s.pump = await s.topo.startPump({ filter });
      s.spawnApp();
    }
    await s.checkExact();
  },
);

streamTest(
  'NFQUEUE fail closed: pump down, app killed: nothing reaches the peer; then recovery is exact',
  { bytes: 3 << 20, seed: 41, timeoutMs: 90_000 },
  async (s, t) => {
    await sleep(800);
    assert.deepEqual(await s.peerSocketStates(), ['ESTAB'], 'connected before the outage');
    await s.pump.stop();
    const before = await s.topo.queueRuleCounters();
    await s.killApp();
    // The app's kernel answers the peer's ongoing data with a RST (unread data) or FIN;
    // the peer retransmits into the queue too. Give any leak time to arrive.
    await sleep(1500);
    const after = await s.topo.queueRuleCounters();
    t.diagnostic(
      `queue rule counters: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
    );
    assert.ok(after.app > before.app, 'the dead app sent something, and it went to the queue');
    assert.ok(after.peer > before.peer, 'the peer kept sending into the queue');
    assert.deepEqual(await s.peerSocketStates(), ['ESTAB'], 'the peer is still ESTABLISHED');
    const mid = s.peerResult()?.results[0];
    assert.deepEqual(mid?.errors ?? [], [], 'no error at the peer during the outage');
    assert.equal(mid?.closed ?? false, false, 'the peer socket is not closed');
    assert.equal(mid?.earlyEnd ?? false, false, 'no FIN reached the peer');
    // A dead app that closed with a FIN leaves an orphan in FIN-WAIT-1 (its FIN is never
    // answered) holding the 4-tuple that recovery needs until the kernel gives up on it
    // (minutes). The new pump does not know where its receive window is; the recovering
    // app's reconnect fails, it marks the connection failed, and TCPR probes the orphan and
    // resets it at the ACK that probe draws (below).
    const orphan = await s.appSocketStates();
    t.diagnostic(`the killed app's socket in the app namespace: ${orphan.join(', ') || 'gone'}`);
    const last = await s.topo.queueRuleCounters();
    assert.ok(last.app >= after.app, 'counters only grow');
    assert.deepEqual(await s.peerSocketStates(), ['ESTAB'], 'still ESTABLISHED after that');
    const mid2 = s.peerResult()?.results[0];
    assert.deepEqual(mid2?.errors ?? [], [], 'still no error at the peer');
    // New pump (empty table) and a new app: state-less recovery, then the exact streams.
    s.pump = await s.topo.startPump({ filter });
    s.spawnApp();
    await s.checkExact();
    const st = (await s.pump.call<{ filter: { probes: number; resets: number } }>('stats')).filter;
    t.diagnostic(`after recovery: ${st.probes} probe(s), ${st.resets} reset(s) of the app`);
    if (orphan.length > 0) {
      assert.ok(st.probes >= 1, 'TCPR probed the orphan it knew nothing of');
      assert.ok(st.resets >= 1, 'and reset it at the ACK that drew');
    }
  },
);

streamTest(
  'NFQUEUE side channel: a query from the app namespace returns the connection state',
  { bytes: 2 << 20, seed: 43, timeoutMs: 60_000 },
  async (s) => {
    const query = () =>
      s.topo.exec(s.topo.app!, process.execPath, [
        QUERY,
        String(s.cfg.appBasePort),
        s.cfg.peerAddress,
        String(s.cfg.peerPort),
      ]);
    const statsBefore = (
      await s.pump.call<{ channel: { received: number; replies: number } }>('stats')
    ).channel;
    const injectedBefore = s.pump.stats().injected.toApp;
    const r = await query();
    assert.equal(r.code, 0, `query failed: ${r.stdout}${r.stderr}`);
    const snap = JSON.parse(r.stdout) as {
      port: number;
      internalAddr: string;
      peerAddr: string;
      hard: { port: number; peerPort: number; ack: number };
      peer: { ack: number };
    };
    assert.equal(snap.hard.port, s.cfg.appBasePort);
    assert.equal(snap.hard.peerPort, s.cfg.peerPort);
    assert.equal(snap.peerAddr, s.cfg.peerAddress);
    assert.equal(snap.internalAddr, s.cfg.appAddress);
    assert.ok(snap.peer.ack !== 0, 'TCPR has seen the peer acknowledge data');
    const statsAfter = (
      await s.pump.call<{ channel: { received: number; replies: number } }>('stats')
    ).channel;
    assert.ok(statsAfter.received > statsBefore.received, 'the datagram reached the filter');
    assert.ok(statsAfter.replies > statsBefore.replies, 'and it answered');
    // The reply is made up by the filter, so it was injected towards the app.
    assert.ok(s.pump.stats().injected.toApp > injectedBefore, 'the reply was injected');
    // Without a pump the channel is closed like everything else: no answer at all.
    await s.pump.stop();
    const off = await query();
    assert.notEqual(off.code, 0, `a query answered without a pump: ${off.stdout}`);
    s.pump = await s.topo.startPump({ filter });
    await s.checkExact();
  },
);

// The pump's wake eventfd in NFQUEUE mode (its poll set is the netlink socket and the
// eventfd): a control call or stop() does not wait for the worker's slice to end.
test(
  'NFQUEUE: control calls and stop() wake the worker, not at the end of its slice',
  { skip, timeout: 60_000 },
  async (t) => {
    const topo = await TcprTopology.build({ interposition: 'nfqueue' });
    try {
      const sliceMs = 4000;
      const pump = await topo.startPump({ filter, sliceMs });
      const took: number[] = [];
      for (let i = 0; i < 5; i++) {
        await sleep(50);
        const t0 = performance.now();
        const st = await pump.call<{ connections: number }>('stats');
        took.push(performance.now() - t0);
        assert.equal(st.connections, 0);
      }
      const t0 = performance.now();
      await pump.stop(sliceMs * 2);
      const stopMs = performance.now() - t0;
      t.diagnostic(
        `calls ${took.map((x) => x.toFixed(1)).join(', ')} ms; stop ${stopMs.toFixed(1)} ms`,
      );
      assert.ok(Math.max(...took) < sliceMs / 2, 'every call answered before the slice ended');
      assert.ok(stopMs < sliceMs / 2, 'stopped before the slice ended');
    } finally {
      await topo.destroy();
    }
  },
);
