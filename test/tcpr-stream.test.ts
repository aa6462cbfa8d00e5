// TCPR stream tests (issue 7): application ⇄ TCPR pump filter ⇄ kernel-TCP peer in the
// TcprTopology namespaces. The app (test/support/tcpr-app.ts, on the client library) and
// the peer (test/support/tcpr-peer.ts, plain `net`) exchange deterministic streams both
// ways while the app is SIGKILLed and restarted at seeded random points, the middlebox
// pump is stopped and restarted, or both; at the end both full streams' SHA-256 digests
// match and the peer saw no error, RST or FIN. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TcprTopology, TCPR_ADDRESSES } from '../src/lab/tcpr-topology.js';
import type { ManagedProcess } from '../src/net/process.js';
import type { Pump } from '../src/net/packet-pump.js';
import type { ConnectionSnapshot } from '../src/tcpr/connection.js';
import type { PeerConnResult } from './support/tcpr-peer.js';
import { appFilterSpec, streamDigest, type StreamConfig } from './support/tcpr-stream.js';
import { seededRandom } from '../src/lib/random.js';

const here = dirname(fileURLToPath(import.meta.url));
const APP = join(here, 'support', 'tcpr-app.js');
const PEER = join(here, 'support', 'tcpr-peer.js');
const root = process.getuid?.() === 0;

const rng = seededRandom;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run {
  kills: number;
  pumpRestarts: number;
  /** Dead app sockets the pumps probed (filter stats, summed over the pumps). */
  probes: number;
  ms: number;
  bytes: number;
}

async function streamRun(
  opts: {
    server?: boolean;
    connections?: number;
    bytes: number;
    chunk?: number;
    tickMs?: number;
    seed: number;
    appKills: number;
    pumpKills: number;
    gapMs: [number, number];
    /** See StreamConfig.crashAfterPersist; the app is restarted once it has died so. */
    crashAfterPersist?: number;
    /** Both die every round (while both counts last): the pump first, so the app dies
     * while nothing forwards its FIN. */
    pumpFirst?: boolean;
  },
  log: (s: string) => void,
): Promise<Run> {
  const A = TCPR_ADDRESSES;
  const dir = mkdtempSync(join(tmpdir(), 'tcpr-stream-'));
  const cfg: StreamConfig = {
    appBytes: opts.bytes,
    appSeed: opts.seed * 1000 + 1,
    peerBytes: opts.bytes,
    peerSeed: opts.seed * 1000 + 500,
    chunk: opts.chunk ?? 4096,
    tickMs: opts.tickMs ?? 5,
    peerAddress: A.peer.v4,
    peerPort: opts.server ? 41000 : 9000,
    appAddress: A.app.v4,
    appBasePort: 40000,
    appListenPort: opts.server ? 8000 : undefined,
    connections: opts.connections ?? 1,
    dir,
    crashAfterPersist: opts.crashAfterPersist,
  };
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const topo = await TcprTopology.build();
  const procs: ManagedProcess[] = [];
  try {
    const filter = appFilterSpec();
    let pump: Pump = await topo.startPump({ filter });
    const spawnApp = (n: number): ManagedProcess => {
      const p = topo.spawn(topo.app!, process.execPath, [APP, cfgPath], { name: `tcpr-app-${n}` });
      procs.push(p);
      return p;
    };
    const spawnPeer = (): ManagedProcess => {
      const p = topo.spawn(topo.peer!, process.execPath, [PEER, cfgPath], { name: 'tcpr-peer' });
      procs.push(p);
      return p;
    };
    const t0 = Date.now();
    let app: ManagedProcess;
    if (opts.server) {
      app = spawnApp(0);
      await waitFor(() => existsSync(join(dir, 'app-listening')), 10_000, 'app listening');
      spawnPeer();
    } else {
      const peer = spawnPeer();
      await waitFor(() => peer.logTail().includes('listening'), 10_000, 'peer listening');
      app = spawnApp(0);
    }
    const allStarted = (): boolean =>
      Array.from({ length: cfg.connections }, (_, i) => i).every((i) =>
        existsSync(join(dir, `app-${i}.json`)),
      );
    await waitFor(allStarted, 15_000, 'connections set up');
    const finished = (): boolean =>
      Array.from({ length: cfg.connections }, (_, i) => i).every((i) =>
        existsSync(join(dir, `app-${i}.done`)),
      ) && peerResult(dir)?.complete === cfg.connections;
    const r = rng(opts.seed);
    let kills = 0;
    let pumpRestarts = 0;
    let probes = 0;
    let n = 0;
    while (kills < opts.appKills || pumpRestarts < opts.pumpKills) {
      await sleep(opts.gapMs[0] + r() * (opts.gapMs[1] - opts.gapMs[0]));
      assert.ok(!finished(), `streams finished after only ${kills} kills: make them longer`);
      const killApp =
        kills < opts.appKills &&
        (opts.pumpFirst === true || pumpRestarts >= opts.pumpKills || r() < 0.5);
      const killPump =
        pumpRestarts < opts.pumpKills && (!killApp || opts.appKills === opts.pumpKills);
      const stopPump = async (): Promise<void> => {
        const st = await pump.call<{ filter: { probes: number } }>('stats');
        probes += st.filter.probes;
        await pump.stop();
      };
      if (killPump && opts.pumpFirst) await stopPump();
      if (killApp) {
        app.kill('SIGKILL');
        await app.exited;
        kills++;
      }
      if (killPump) {
        if (!opts.pumpFirst) await stopPump();
        await sleep(50 + r() * 300);
        pump = await topo.startPump({ filter });
        pumpRestarts++;
      }
      if (killApp) {
        await sleep(r() * 200);
        app = spawnApp(++n);
      }
      log(`t=${Date.now() - t0} ms: app kills ${kills}, pump restarts ${pumpRestarts}`);
    }
    if (opts.crashAfterPersist !== undefined) {
      const crashed = join(dir, 'crashed-after-persist');
      await waitFor(() => existsSync(crashed), 20_000, 'the app to crash after persisting');
      await app.exited;
      kills++;
      app = spawnApp(++n);
      log(
        `t=${Date.now() - t0} ms: app died after persisting offset ${readFileSync(crashed, 'utf8')}`,
      );
    }
    // 256 connections share two CPUs with the rest of the suite (test files run in parallel).
    await waitFor(finished, cfg.connections > 1 ? 100_000 : 45_000, 'streams to finish', () =>
      stallReport(topo, pump, cfg, app.logTail(2000)),
    );
    const ms = Date.now() - t0;
    const res = peerResult(dir)!;
    for (let i = 0; i < cfg.connections; i++) {
      const p = res.results[i]!;
      assert.deepEqual(
        { errors: p.errors, earlyEnd: p.earlyEnd, closed: p.closed },
        { errors: [], earlyEnd: false, closed: false },
        `peer connection ${i}`,
      );
      assert.equal(p.received, cfg.appBytes, `peer received, connection ${i}`);
      assert.equal(p.sha256, streamDigest(cfg.appSeed + i, cfg.appBytes), `app→peer ${i}`);
      const data = readFileSync(join(dir, `app-${i}.data`));
      assert.equal(data.length, cfg.peerBytes, `app received, connection ${i}`);
      assert.equal(
        createHash('sha256').update(data).digest('hex'),
        streamDigest(cfg.peerSeed + i, cfg.peerBytes),
        `peer→app ${i}`,
      );
    }
    log(
      `${cfg.connections} connection(s), ${cfg.appBytes} bytes each way each, ${kills} app kills, ${pumpRestarts} pump restarts, ${ms} ms; pump ${JSON.stringify(pump.stats().toPeer)}`,
    );
    probes += (await pump.call<{ filter: { probes: number } }>('stats')).filter.probes;
    return { kills, pumpRestarts, probes, ms, bytes: cfg.appBytes };
  } finally {
    await Promise.all(procs.map((p) => p.stop(500).catch(() => undefined)));
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What each unfinished connection looks like: both ends' progress and kernel TCP state. */
async function stallReport(
  topo: TcprTopology,
  pump: Pump,
  cfg: StreamConfig,
  appLog: string,
): Promise<string> {
  let progress: ({ received: number; sent: number } | null)[] = [];
  try {
    progress = JSON.parse(readFileSync(join(cfg.dir, 'peer-progress.json'), 'utf8')) as never;
  } catch {
    // none yet
  }
  const lines: string[] = [];
  const ports: number[] = [];
  for (let i = 0; i < cfg.connections; i++) {
    const done = existsSync(join(cfg.dir, `app-${i}.done`));
    const p = progress[i];
    if (done && p?.received === cfg.appBytes) continue;
    ports.push(cfg.appListenPort === undefined ? cfg.appBasePort + i : cfg.peerPort + i);
    let st = '';
    try {
      st = readFileSync(join(cfg.dir, `app-${i}.json`), 'utf8').slice(0, 300);
    } catch {
      // no state file
    }
    lines.push(`conn ${i}: app done ${done}, peer ${JSON.stringify(p)}, app state ${st}`);
  }
  const snaps = await pump.call<ConnectionSnapshot[]>('snapshots').catch((e: unknown) => {
    lines.push(`TCPR state unavailable: ${String(e)}`);
    return [] as ConnectionSnapshot[];
  });
  for (const port of ports.slice(0, 4)) {
    const mine = snaps.filter((c) => c.port === port || c.hard.port === port);
    lines.push(
      `TCPR state for port ${port}: ${JSON.stringify(mine, (_k, v: unknown) => (v instanceof Uint8Array ? [...v].join('.') : v))}`,
    );
    for (const node of [topo.app!, topo.peer!]) {
      const r = await topo
        .exec(node, 'ss', ['-tinoe', `( sport = :${port} or dport = :${port} )`])
        .catch((e: unknown) => ({ stdout: String(e) }));
      lines.push(`ss in ${node.name} for port ${port}:\n${r.stdout}`);
    }
  }
  return `${ports.length} unfinished\n${lines.slice(0, 40).join('\n')}\napp log:\n${appLog}`;
}

function peerResult(dir: string): { complete: number; results: PeerConnResult[] } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'peer-result.json'), 'utf8')) as {
      complete: number;
      results: PeerConnResult[];
    };
  } catch {
    return undefined;
  }
}

async function waitFor(
  cond: () => boolean,
  ms: number,
  what: string,
  detail?: () => string | Promise<string>,
): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${detail ? `\n${await detail()}` : ''}`,
      );
    }
    await sleep(50);
  }
}

const skip = root ? false : 'needs root (network namespaces, TUN)';

test(
  'client-side app: kill -9 at random points, 6 times, data both ways',
  { skip, timeout: 90_000 },
  async (t) => {
    const r = await streamRun(
      { bytes: 6 << 20, seed: 7, appKills: 6, pumpKills: 0, gapMs: [300, 1200] },
      (s) => t.diagnostic(s),
    );
    assert.equal(r.kills, 6);
  },
);

// The crash window between persisting input and checkpointing it: TCPR's checkpoint is
// behind the app's durable offset. Recovery must resume the input at the durable offset
// (it failed before: the library checkpointed ahead of the new socket, TCPR acknowledged
// bytes the socket never got, the peer never re-sent them and the stream stalled).
test(
  'client-side app dies between persisting and checkpointing: input resumes at the durable offset',
  { skip, timeout: 90_000 },
  async (t) => {
    const r = await streamRun(
      {
        bytes: 1 << 20,
        seed: 23,
        appKills: 0,
        pumpKills: 0,
        gapMs: [0, 0],
        crashAfterPersist: 20,
      },
      (s) => t.diagnostic(s),
    );
    assert.equal(r.kills, 1);
  },
);

test(
  'middlebox pump stopped and restarted 5 times: stateless recovery from the app',
  { skip, timeout: 90_000 },
  async (t) => {
    const r = await streamRun(
      { bytes: 6 << 20, seed: 11, appKills: 0, pumpKills: 5, gapMs: [500, 1200] },
      (s) => t.diagnostic(s),
    );
    assert.equal(r.pumpRestarts, 5);
  },
);

test('app and middlebox killed together 5 times', { skip, timeout: 90_000 }, async (t) => {
  const r = await streamRun(
    { bytes: 6 << 20, seed: 13, appKills: 5, pumpKills: 5, gapMs: [500, 1200] },
    (s) => t.diagnostic(s),
  );
  assert.equal(r.kills, 5);
});

// The app dies while the pump is down (fail closed): its FIN never gets out and its socket
// stays in FIN-WAIT-1, holding the 4-tuple for minutes. The new pump knows nothing of that
// socket; the new app's reconnect fails on it, marks the connection failed, and TCPR probes
// the socket and resets it at the ACK the probe draws (docs/tcpr.md, "Decisions").
test(
  'app killed while the middlebox is down, 3 times: its orphaned socket is probed and reset',
  { skip, timeout: 90_000 },
  async (t) => {
    const r = await streamRun(
      { bytes: 6 << 20, seed: 19, appKills: 3, pumpKills: 3, gapMs: [500, 1200], pumpFirst: true },
      (s) => t.diagnostic(s),
    );
    t.diagnostic(`${r.probes} probe(s) of a dead app socket`);
    assert.deepEqual([r.kills, r.pumpRestarts], [3, 3], 'each kill while the pump was down');
    assert.ok(
      r.probes >= 1,
      'at least one orphan was probed (a socket with unread input dies by RST)',
    );
    // One probe resets an orphan (its answer reaches TCPR before the next kill): at most
    // two per app. Without the probe the orphan goes only at one of its FIN retransmissions,
    // and the kills before that were counted as probes too (27 for 3 apps, measured).
    assert.ok(r.probes <= 2 * r.kills, `${r.probes} probes: the first did not reset the orphan`);
  },
);

test(
  'server-side app (accepts; recovers by connecting): kill -9 5 times',
  { skip, timeout: 90_000 },
  async (t) => {
    const r = await streamRun(
      { server: true, bytes: 6 << 20, seed: 17, appKills: 5, pumpKills: 0, gapMs: [300, 1200] },
      (s) => t.diagnostic(s),
    );
    assert.equal(r.kills, 5);
  },
);

// 256 connections recovered at once. It used to stall under load (a crash between persisting
// and checkpointing, see the test above, is likelier with 256 connections on a busy CPU).
test('256 connections recovered at once after kill -9', { skip, timeout: 120_000 }, async (t) => {
  const r = await streamRun(
    {
      connections: 256,
      bytes: 96 << 10,
      chunk: 1024,
      tickMs: 40,
      seed: 19,
      appKills: 2,
      pumpKills: 0,
      gapMs: [1000, 1500],
    },
    (s) => t.diagnostic(s),
  );
  assert.equal(r.kills, 2);
});
