// The protected application of the TCPR stream tests (test/tcpr-stream.test.ts), run in
// the app namespace: `node tcpr-app.js <config.json>`. Per connection it sends its own
// deterministic stream, appends what it receives to a data file, makes data and read
// offset durable (fdatasync, then an atomic state-file rename), and only then checkpoints.
// Killed with SIGKILL at any point, a restart recovers every connection from its state
// file (recoverConnection), re-sends its output from TCPR's splice point and goes on. A
// heartbeat query notices a middlebox that lost its state and recovers statelessly.

import {
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  acceptProtected,
  connectProtected,
  listenProtected,
  recoverConnection,
  TcprChannel,
  TcprClientError,
  type TcprConnection,
  type TcprRecord,
} from '../../src/tcpr/client.js';
import { replaceFile } from '../../src/lib/files.js';
import { streamBytes, type StreamConfig } from './tcpr-stream.js';

interface AppState {
  record: TcprRecord;
  readOffset: number;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as StreamConfig;
const channel = new TcprChannel({ timeoutMs: 150, tries: 20 });
const log = (...a: unknown[]): void => console.log(new Date().toISOString(), ...a);

class Stream {
  private conn!: TcprConnection;
  private wOff = 0;
  private readOffset: number;
  private pending: Buffer[] = [];
  private skip = 0;
  private incarnation = 0;
  private recovering = false;
  private readonly dataFd: number;
  private readonly statePath: string;
  private finished = false;

  constructor(
    readonly i: number,
    state: AppState | undefined,
  ) {
    this.statePath = join(cfg.dir, `app-${i}.json`);
    this.dataFd = openSync(
      join(cfg.dir, `app-${i}.data`),
      existsSync(join(cfg.dir, `app-${i}.data`)) ? 'r+' : 'w+',
    );
    this.readOffset = state?.readOffset ?? 0;
    // Bytes appended after the last durable read offset were never checkpointed.
    ftruncateSync(this.dataFd, this.readOffset);
  }

  async fresh(conn: TcprConnection): Promise<void> {
    this.conn = conn;
    replaceFile(this.statePath, JSON.stringify({ record: conn.record(), readOffset: 0 }), true);
    this.attach(0, 0);
  }

  async recover(rec: TcprRecord, old?: Socket): Promise<void> {
    const r = await recoverConnection(channel, rec, this.readOffset, { oldSocket: old });
    this.conn = r.conn;
    log(
      `conn ${this.i}: recovered, write from ${r.writeOffset}, read from ${this.readOffset} (skip ${r.skip})`,
    );
    this.attach(r.writeOffset, r.skip);
  }

  private attach(writeOffset: number, skip: number): void {
    const inc = ++this.incarnation;
    this.wOff = writeOffset;
    this.skip = skip;
    this.pending = [];
    const s = this.conn.socket;
    s.on('data', (b: Buffer) => {
      if (inc !== this.incarnation) return;
      if (this.skip > 0) {
        const n = Math.min(this.skip, b.length);
        this.skip -= n;
        b = b.subarray(n);
      }
      if (b.length > 0) this.pending.push(b);
    });
    s.on('error', (e) => log(`conn ${this.i}: socket error ${e.message}`));
    s.on('close', () => {
      if (inc === this.incarnation && !this.finished) void this.reattach('socket closed');
    });
    void this.writer(inc);
    void this.checkpointer(inc);
    void this.heartbeat(inc);
  }

  private async reattach(why: string): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    this.incarnation++;
    log(`conn ${this.i}: reattaching (${why})`);
    try {
      const rec = JSON.parse(readFileSync(this.statePath, 'utf8')) as AppState;
      for (;;) {
        try {
          await this.recover(rec.record, this.conn.socket);
          break;
        } catch (e) {
          log(`conn ${this.i}: recovery failed: ${String(e)}; retrying`);
          await sleep(200);
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  private async writer(inc: number): Promise<void> {
    const s = this.conn.socket;
    while (inc === this.incarnation && this.wOff < cfg.appBytes) {
      const n = Math.min(cfg.chunk, cfg.appBytes - this.wOff);
      const ok = s.write(streamBytes(cfg.appSeed + this.i, this.wOff, n));
      this.wOff += n;
      if (!ok) await new Promise((r) => s.once('drain', r));
      await sleep(cfg.tickMs);
    }
  }

  private async checkpointer(inc: number): Promise<void> {
    while (inc === this.incarnation) {
      await sleep(20);
      if (inc !== this.incarnation || this.pending.length === 0) {
        this.checkFinished();
        continue;
      }
      const bufs = this.pending;
      this.pending = [];
      let n = 0;
      for (const b of bufs) n += writeSync(this.dataFd, b, 0, b.length, this.readOffset + n);
      fdatasyncSync(this.dataFd);
      const next = this.readOffset + n;
      replaceFile(
        this.statePath,
        JSON.stringify({ record: this.conn.recordAt(next), readOffset: next }),
        true,
      );
      this.readOffset = next;
      this.crashHere();
      // Durable first, then the checkpoint (the peer may then discard those bytes).
      await this.conn
        .checkpoint(next)
        .catch((e) => log(`conn ${this.i}: checkpoint: ${String(e)}`));
      this.checkFinished();
    }
  }

  private checkpoints = 0;

  /** cfg.crashAfterPersist: die between persisting and checkpointing, once per run. */
  private crashHere(): void {
    if (this.i !== 0 || ++this.checkpoints !== cfg.crashAfterPersist) return;
    const marker = join(cfg.dir, 'crashed-after-persist');
    if (existsSync(marker)) return;
    writeFileSync(marker, String(this.readOffset));
    log(`conn ${this.i}: crashing after persisting offset ${this.readOffset}`);
    process.kill(process.pid, 'SIGKILL');
  }

  private checkFinished(): void {
    if (this.finished || this.readOffset < cfg.peerBytes || this.wOff < cfg.appBytes) return;
    this.finished = true;
    writeFileSync(join(cfg.dir, `app-${this.i}.done`), String(this.readOffset));
    log(`conn ${this.i}: finished`);
  }

  private async heartbeat(inc: number): Promise<void> {
    while (inc === this.incarnation) {
      await sleep(300);
      if (inc !== this.incarnation) return;
      try {
        await this.conn.state();
      } catch (e) {
        if (e instanceof TcprClientError && e.code === 'ERR_TCPR_UNKNOWN_CONNECTION') {
          void this.reattach('TCPR lost its state');
          return;
        }
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function loadState(i: number): AppState | undefined {
  const p = join(cfg.dir, `app-${i}.json`);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as AppState) : undefined;
}

async function main(): Promise<void> {
  const states = Array.from({ length: cfg.connections }, (_, i) => loadState(i));
  const streams = states.map((s, i) => new Stream(i, s));
  // Recover first: a server app reconnects from its listening port before it listens.
  await Promise.all(
    states.map(async (s, i) => {
      if (s) await streams[i]!.recover(s.record);
    }),
  );
  const missing = states.map((s, i) => (s ? -1 : i)).filter((i) => i >= 0);
  if (missing.length > 0 && cfg.appListenPort === undefined) {
    await Promise.all(
      missing.map(async (i) => {
        const conn = await connectProtected(channel, {
          host: cfg.peerAddress,
          port: cfg.peerPort,
          localAddress: cfg.appAddress,
          localPort: cfg.appBasePort + i,
        });
        await streams[i]!.fresh(conn);
      }),
    );
  } else if (missing.length > 0) {
    const server = createServer({ noDelay: true });
    await new Promise<void>((r) => server.listen(cfg.appListenPort, cfg.appAddress, r));
    await listenProtected(channel, server);
    log('listening');
    writeFileSync(join(cfg.dir, 'app-listening'), '1');
    let next = 0;
    server.on('connection', (sock) => {
      // The peer opens connection k with local port peerPort + k: that names its stream.
      const k = sock.remotePort! - cfg.peerPort;
      void (async () => {
        const conn = await acceptProtected(channel, sock);
        await streams[k]!.fresh(conn);
        if (++next === missing.length) server.close();
      })();
    });
  }
  log('running');
}

main().catch((e) => {
  log('fatal', e);
  process.exit(1);
});
