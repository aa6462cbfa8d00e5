// The TCPR proxy (issue 7: "a proxy that gives unmodified applications a TCPR-protected
// connection"; src/tcpr/proxy.ts): `nonstop tcpr proxy` in the app namespace of the
// TcprTopology relays connections between two unmodified endpoints in the peer namespace
// (test/support/tcpr-proxy-ends.ts, plain `net`, real kernel TCP). While data flows both
// ways the proxy is SIGKILLed and started again at seeded random points (and, in the second
// test, the middlebox pump is restarted too). At the end both endpoints close in order;
// each must have received the other's whole stream exactly once (SHA-256 of the
// deterministic streams), seen no error or RST, no FIN before the end, and the final FIN.
// Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TcprTopology, TCPR_ADDRESSES } from '../src/lab/tcpr-topology.js';
import type { ManagedProcess } from '../src/net/process.js';
import type { Pump } from '../src/net/packet-pump.js';
import { seededRandom } from '../src/lib/random.js';
import type { EndResult, ProxyEndsConfig } from './support/tcpr-proxy-ends.js';
import { appFilterSpec, streamDigest } from './support/tcpr-stream.js';

const here = dirname(fileURLToPath(import.meta.url));
const ENDS = join(here, 'support', 'tcpr-proxy-ends.js');
const BIN = join(here, '..', '..', 'bin', 'nonstop.js');
const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root (network namespaces, TUN)';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number, what: string, detail?: () => string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${detail ? `\n${detail()}` : ''}`,
      );
    }
    await sleep(50);
  }
}

function results(dir: string, side: 'client' | 'server'): EndResult[] {
  try {
    return JSON.parse(readFileSync(join(dir, `${side}-result.json`), 'utf8')) as EndResult[];
  } catch {
    return [];
  }
}

async function proxyRun(
  o: {
    seed: number;
    connections: number;
    /** Bytes the server sends per connection; the client sends `clientBytes` (default same). */
    bytes: number;
    clientBytes?: number;
    halfClose?: boolean;
    resetAfter?: number;
    /** The state file is lost at every kill: all connections become orphans. */
    loseState?: boolean;
    proxyKills: number;
    pumpKills: number;
    family?: 'v4' | 'v6';
  },
  log: (s: string) => void,
): Promise<{ recovered: number; resyncs: number; orphans: number }> {
  const A = TCPR_ADDRESSES;
  const f = o.family ?? 'v4';
  const hp = (a: string, port: number): string => (f === 'v6' ? `[${a}]:${port}` : `${a}:${port}`);
  const dir = mkdtempSync(join(tmpdir(), 'tcpr-proxy-'));
  const cfg: ProxyEndsConfig = {
    connections: o.connections,
    clientBytes: o.clientBytes ?? o.bytes,
    serverBytes: o.bytes,
    ...(o.halfClose ? { halfClose: true } : {}),
    ...(o.resetAfter !== undefined ? { resetAfter: o.resetAfter } : {}),
    chunk: 4096,
    tickMs: 4,
    clientSeed: o.seed * 1000 + 1,
    serverSeed: o.seed * 1000 + 500,
    proxyAddress: A.app[f],
    proxyPort: 7000,
    clientAddress: A.peer[f],
    clientBasePort: 41000,
    serverAddress: A.peer[f],
    serverPort: 9000,
    dir,
  };
  const cfgPath = join(dir, 'ends.json');
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const topo = await TcprTopology.build();
  const procs: ManagedProcess[] = [];
  const proxyLogs: string[] = [];
  try {
    const filter = appFilterSpec();
    let pump: Pump = await topo.startPump({ filter });
    const stateFile = join(dir, 'proxy-state.json');
    let n = 0;
    const start = (): ManagedProcess => {
      const p = topo.spawn(
        topo.app!,
        process.execPath,
        [
          BIN,
          'tcpr',
          'proxy',
          '--listen',
          hp(A.app[f], 7000),
          '--to',
          hp(A.peer[f], 9000),
          '--state',
          stateFile,
        ],
        { name: `tcpr-proxy-${n++}` },
      );
      procs.push(p);
      return p;
    };
    const server = topo.spawn(topo.peer!, process.execPath, [ENDS, cfgPath, 'server'], {
      name: 'proxy-target',
    });
    procs.push(server);
    await waitFor(() => server.logTail().includes('listening'), 10_000, 'target listening');
    let proxy = start();
    await waitFor(
      () => proxy.logTail().includes('listening'),
      10_000,
      'proxy listening',
      () => proxy.logTail(),
    );
    const client = topo.spawn(topo.peer!, process.execPath, [ENDS, cfgPath, 'client'], {
      name: 'proxy-client',
    });
    procs.push(client);
    await waitFor(
      () => (proxy.logTail(1e9).match(/connection relayed/g) ?? []).length === o.connections,
      10_000,
      'connections relayed',
      () => proxy.logTail(),
    );
    const r = seededRandom(o.seed);
    const t0 = Date.now();
    let kills = 0;
    let pumpRestarts = 0;
    const progress = (): string =>
      `client ${JSON.stringify(results(dir, 'client').map((x) => x?.received))} server ${JSON.stringify(results(dir, 'server').map((x) => x?.received))}`;
    const count = (re: RegExp): number => proxy.logTail(1e9).match(re)?.length ?? 0;
    const LISTENING = /"msg":"listening"/g;
    const NOTICED = /TCPR lost its state/g;
    // Checkpointed input per pair (the state file is replaced atomically).
    const checkpointed = (): Map<number, number> => {
      try {
        const s = JSON.parse(readFileSync(stateFile, 'utf8')) as {
          pairs: { id: number; a: { ckpt: number }; b?: { ckpt: number } }[];
        };
        return new Map(s.pairs.map((p) => [p.id, p.a.ckpt + (p.b?.ckpt ?? 0)]));
      } catch {
        return new Map();
      }
    };
    const moved = (before: Map<number, number>): boolean =>
      [...checkpointed()].some(([id, n]) => n > (before.get(id) ?? -1));
    const clientsDone = (): boolean =>
      results(dir, 'client').every((x) => x?.received === cfg.serverBytes);
    while (kills < o.proxyKills || pumpRestarts < o.pumpKills) {
      // Every kill and middlebox restart lands on a proxy that runs and relays: it has
      // recovered (listening) and checkpoints move. Without this a restart could fall while
      // a new proxy is still starting or recovering, and a kill while a resync runs, and
      // which proxy recovers what (the counts below) would depend on the machine's speed.
      const before = checkpointed();
      await waitFor(
        () => moved(before) || clientsDone(),
        15_000,
        'the proxy to checkpoint (relay) again',
        () => `${progress()}\nproxy log:\n${proxy.logTail(3000)}`,
      );
      await sleep(250 + r() * 600);
      const done = results(dir, 'client').every((x) => x?.received === cfg.serverBytes);
      assert.ok(
        !done || kills + pumpRestarts === 0,
        'streams finished too early: make them longer',
      );
      const killProxy = kills < o.proxyKills && (pumpRestarts >= o.pumpKills || r() < 0.5);
      if (killProxy) {
        proxy.kill('SIGKILL');
        await proxy.exited;
        proxyLogs.push(proxy.logTail(1e9));
        kills++;
        if (o.loseState) rmSync(stateFile);
        await sleep(r() * 200);
        proxy = start();
        await waitFor(
          () => count(LISTENING) > 0,
          15_000,
          'the new proxy to recover and listen',
          () => proxy.logTail(),
        );
      } else {
        const [noticed, listening] = [count(NOTICED), count(LISTENING)];
        await pump.stop();
        await sleep(50 + r() * 300);
        pump = await topo.startPump({ filter });
        pumpRestarts++;
        // The running proxy must notice by itself ("unknown" to its next query: at once for
        // a busy pair, within a second for an idle one) and recover every pair.
        await waitFor(
          () => count(NOTICED) > noticed && count(LISTENING) > listening,
          10_000,
          'the running proxy to notice the middlebox restart and recover',
          () => proxy.logTail(),
        );
      }
      log(
        `t=${Date.now() - t0} ms: proxy kills ${kills}, pump restarts ${pumpRestarts}; ${progress()}`,
      );
    }
    // The server's own reset connection (resetAfter): nothing to check on its side.
    const reset = (side: 'client' | 'server', k: number): boolean =>
      o.resetAfter !== undefined && k === 0 && side === 'server';
    const finished = (side: 'client' | 'server'): boolean => {
      const rs = results(dir, side);
      return (
        rs.length === o.connections &&
        rs.every((x, k) => x?.gotEnd || x?.earlyEnd || x?.errors.length > 0 || reset(side, k))
      );
    };
    await waitFor(
      () => finished('client') && finished('server'),
      60_000,
      'both ends to finish and close',
      () => `${progress()}\nproxy log:\n${proxy.logTail(3000)}`,
    );
    for (const side of ['client', 'server'] as const) {
      const other = side === 'client' ? cfg.serverSeed : cfg.clientSeed;
      const want = side === 'client' ? cfg.serverBytes : cfg.clientBytes;
      results(dir, side).forEach((x, k) => {
        if (reset(side, k)) return;
        if (o.loseState) {
          // Closed in order by the new proxy: a FIN before the end, never a RST or a hang.
          assert.deepEqual(
            { errors: x.errors, earlyEnd: x.earlyEnd },
            { errors: [], earlyEnd: true },
            `${side} connection ${k}, an orphan`,
          );
          return;
        }
        if (o.resetAfter !== undefined && k === 0) {
          // The server reset it: the client sees an orderly FIN, never the RST.
          assert.deepEqual(
            { errors: x.errors, earlyEnd: x.earlyEnd },
            { errors: [], earlyEnd: true },
            `client connection ${k} after the server's reset`,
          );
          return;
        }
        assert.deepEqual(
          { errors: x.errors, earlyEnd: x.earlyEnd, gotEnd: x.gotEnd, received: x.received },
          { errors: [], earlyEnd: false, gotEnd: true, received: want },
          `${side} connection ${k}`,
        );
        assert.equal(x.sha256, streamDigest(other + k, want), `${side} ${k}: stream digest`);
      });
    }
    // The proxy forgets closed connections: nothing left to recover.
    await waitFor(
      () => {
        const s = JSON.parse(readFileSync(stateFile, 'utf8')) as { pairs: unknown[] };
        return s.pairs.length === 0;
      },
      5000,
      'the proxy to forget the closed connections',
      () => readFileSync(stateFile, 'utf8').slice(0, 500),
    );
    proxyLogs.push(proxy.logTail(1e9));
    const all = proxyLogs.join('\n');
    const recovered = all.match(/connection recovered/g)?.length ?? 0;
    const resyncs = all.match(/TCPR lost its state/g)?.length ?? 0;
    const orphans = all.match(/the state file did not: closed in order/g)?.length ?? 0;
    log(
      `${o.connections} connection(s), ${cfg.clientBytes}/${cfg.serverBytes} bytes, ${kills} proxy kills, ${pumpRestarts} pump restarts, ${recovered} pair recoveries (${resyncs} middlebox restarts noticed by a running proxy), ${Date.now() - t0} ms`,
    );
    assert.ok(existsSync(stateFile));
    return { recovered, resyncs, orphans };
  } finally {
    await Promise.all(procs.map((p) => p.stop(500).catch(() => undefined)));
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'proxy between unmodified endpoints: kill -9 of the proxy 5 times, data both ways, orderly close',
  { skip, timeout: 120_000 },
  async (t) => {
    const r = await proxyRun(
      { seed: 31, connections: 2, bytes: 6 << 20, proxyKills: 5, pumpKills: 0 },
      (s) => t.diagnostic(s),
    );
    // Every kill left both connections to recover.
    assert.equal(r.recovered, 5 * 2);
  },
);

test(
  'proxy: middlebox restarted 3 times and the proxy killed twice',
  { skip, timeout: 120_000 },
  async (t) => {
    const r = await proxyRun(
      { seed: 37, connections: 2, bytes: 6 << 20, proxyKills: 2, pumpKills: 3 },
      (s) => t.diagnostic(s),
    );
    // The running proxy notices every middlebox restart by itself and recovers both pairs,
    // and so does each new proxy after a kill (proxyRun waits for each before the next).
    assert.equal(r.resyncs, 3, 'middlebox restarts noticed by the running proxy');
    assert.equal(r.recovered, 2 * (2 + 3), 'pair recoveries');
  },
);

test(
  'proxy over IPv6: kill -9 of the proxy 3 times and one middlebox restart',
  { skip, timeout: 120_000 },
  async (t) => {
    const r = await proxyRun(
      { seed: 41, connections: 1, bytes: 6 << 20, proxyKills: 3, pumpKills: 1, family: 'v6' },
      (s) => t.diagnostic(s),
    );
    assert.ok(r.recovered >= 3 + r.resyncs, `recoveries ${r.recovered}`);
  },
);

// Half-close: the client sends 256 KiB and closes its side while the server still sends
// 3 MiB; the kills land while one direction is closed (done_writing/done_reading must be
// re-applied after each recovery, the FIN taken as consumed).
test(
  'proxy killed 4 times while the client has half-closed: the rest still arrives, then the FIN',
  { skip, timeout: 120_000 },
  async (t) => {
    const r = await proxyRun(
      {
        seed: 43,
        connections: 2,
        bytes: 8 << 20,
        clientBytes: 256 << 10,
        halfClose: true,
        proxyKills: 4,
        pumpKills: 0,
      },
      (s) => t.diagnostic(s),
    );
    assert.equal(r.recovered, 4 * 2);
  },
);

// A remote's RST cannot be recovered: the proxy must close the other side in order (TCPR
// never lets the proxy's RST out) and leave the other pair alone, not recover in a loop.
test(
  'the target resets one connection: the client gets a FIN, the other connection carries on',
  { skip, timeout: 120_000 },
  async (t) => {
    const r = await proxyRun(
      {
        seed: 47,
        connections: 2,
        bytes: 2 << 20,
        resetAfter: 256 << 10,
        proxyKills: 1,
        pumpKills: 0,
      },
      (s) => t.diagnostic(s),
    );
    assert.ok(r.recovered <= 2, `recoveries ${r.recovered}: a reset must not be recovered`);
  },
);

// Connections TCPR holds but the proxy's state file does not (it died before writing it,
// or the file was lost): the next proxy closes them in order instead of leaving them hung.
test(
  'the state file is lost with the proxy: both ends of every connection get a FIN, no RST',
  { skip, timeout: 120_000 },
  async (t) => {
    const r = await proxyRun(
      { seed: 53, connections: 2, bytes: 2 << 20, loseState: true, proxyKills: 1, pumpKills: 0 },
      (s) => t.diagnostic(s),
    );
    // Two pairs: their client and target connections, four in all.
    assert.deepEqual([r.orphans, r.recovered], [4, 0]);
  },
);
