// The protected application of the TCPR benchmark's recovery runs (bench/tcpr.ts), in the
// app's namespace, on the client library (src/tcpr/client.ts). Every connection carries a
// deterministic stream (common.ts `pattern`) that an echo peer sends back, so after each
// recovery the app can check that the splice is byte-exact: it (re-)sends its output from
// TCPR's `writeOffset` plus 8 new bytes and reads the echo up to there, checking every byte
// from its read offset on.
//
// - fresh: opens `connections` protected connections (local ports basePort + i), exchanges
//   the first 8 bytes on each, then reports `ready`.
// - recover: a new incarnation after the old one was killed with SIGKILL: reads the state
//   file, recovers every connection at once (recoverConnection), reports `recovered`, checks
//   the streams, reports `ready`.
// - On `{"cmd":"recover"}` (stdin) after a middlebox restart: the same for the live
//   connections, the old sockets reset by recoverConnection (stateless: restore + reconnect).
//   With `"reset":true` the app first resets its sockets itself, as a crash would, then
//   recovers them in this (warm) process while TCPR still has their state.
//
// `recovered` carries each connection's recovery time in µs — from the call of
// recoverConnection to its return: the splice is done and writeOffset known — and the wall
// time from the first call to the last return. Before `ready` the records and read offsets
// are written to the state file (not fsynced: the middlebox is measured, not the disk), then
// checkpointed (confirmed by a query).
//
// Usage (by the harness): node recovery-app.js CONFIG.json

import { readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import {
  connectProtected,
  recoverConnection,
  TcprChannel,
  type TcprConnection,
  type TcprRecord,
} from '../../src/tcpr/client.js';
import { fail, nowUs, pattern, patternByte, say, type RecoveryConfig } from './common.js';

const PROBE = 8;

interface Saved {
  record: TcprRecord;
  /** Input consumed (and checkpointed). */
  readOffset: number;
  /** Output written so far (re-sent from TCPR's writeOffset after a recovery). */
  writeEnd: number;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RecoveryConfig;
const channel = new TcprChannel();

class Stream {
  conn!: TcprConnection;

  constructor(public saved: Saved) {}

  /** Re-sends from `writeOffset`, adds a probe, and reads the echo up to its end. */
  exercise(r: { conn: TcprConnection; writeOffset: number; skip: number }): Promise<void> {
    const { conn, writeOffset } = r;
    let skip = r.skip;
    this.conn = conn;
    const s = this.saved;
    const target = Math.max(s.writeEnd, writeOffset) + PROBE;
    const sock = conn.socket;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `port ${s.record.localPort}: echo stuck at ${s.readOffset} of ${target} (write from ${writeOffset})`,
            ),
          ),
        20_000,
      );
      sock.on('data', (b: Buffer) => {
        let k = 0;
        if (skip > 0) {
          k = Math.min(skip, b.length);
          skip -= k;
        }
        for (; k < b.length; k++) {
          if (b[k] !== patternByte(s.readOffset)) {
            clearTimeout(timer);
            return reject(new Error(`port ${s.record.localPort}: wrong byte at ${s.readOffset}`));
          }
          s.readOffset++;
        }
        if (s.readOffset >= target) {
          clearTimeout(timer);
          sock.removeAllListeners('data');
          resolve();
        }
      });
      sock.on('error', (e) => reject(e));
      sock.write(pattern(writeOffset, target));
      s.writeEnd = target;
    });
  }

  /** The record at the read offset (persist this, then checkpoint). */
  persisted(): Saved {
    this.saved = { ...this.saved, record: this.conn.recordAt(this.saved.readOffset) };
    return this.saved;
  }
}

let streams: Stream[] = [];

/** Persists every stream, then checkpoints (confirmed), then reports `ready`. */
async function settle(round: number): Promise<void> {
  const all = streams.map((s) => s.persisted());
  writeFileSync(cfg.stateFile, JSON.stringify(all));
  await Promise.all(streams.map((s) => s.conn.checkpoint(s.saved.readOffset, true)));
  say({ event: 'ready', round });
}

async function fresh(): Promise<void> {
  streams = await Promise.all(
    Array.from({ length: cfg.connections }, async (_, i) => {
      const conn = await connectProtected(channel, {
        host: cfg.peer,
        port: cfg.port,
        localAddress: cfg.local,
        localPort: cfg.basePort + i,
      });
      const s = new Stream({ record: conn.record(), readOffset: 0, writeEnd: 0 });
      await s.exercise({ conn, writeOffset: 0, skip: 0 });
      return s;
    }),
  );
  await settle(cfg.round);
}

/** Recovers every stream at once (old sockets: a middlebox restart), timing each call. */
async function recover(old: (Socket | undefined)[], round: number): Promise<void> {
  const us: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  const recovered = await Promise.all(
    streams.map(async (s, i) => {
      const t0 = nowUs();
      first = Math.min(first, t0);
      const r = await recoverConnection(channel, s.saved.record, s.saved.readOffset, {
        oldSocket: old[i],
      });
      const t1 = nowUs();
      last = Math.max(last, t1);
      us[i] = Math.round((t1 - t0) * 10) / 10;
      return r;
    }),
  );
  say({ event: 'recovered', round, us, wallUs: Math.round((last - first) * 10) / 10 });
  await Promise.all(streams.map((s, i) => s.exercise(recovered[i]!)));
  await settle(round);
}

async function main(): Promise<void> {
  if (cfg.mode === 'fresh') await fresh();
  else {
    // The side channel's sockets are bound while the state is read (a process's first UDP
    // socket costs milliseconds: TcprChannel.prepare), not inside the timed recovery.
    const ready = channel.prepare();
    const saved = JSON.parse(readFileSync(cfg.stateFile, 'utf8')) as Saved[];
    streams = saved.map((s) => new Stream(s));
    await ready;
    await recover([], cfg.round);
  }
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as { cmd?: string; round?: number; reset?: boolean };
    if (m.cmd !== 'recover') return;
    const sockets = streams.map((s) => s.conn.socket);
    // A crash as the app's stack shows it: every connection reset (TCPR drops the RSTs).
    if (m.reset) for (const s of sockets) s.resetAndDestroy();
    recover(m.reset ? [] : sockets, m.round ?? 0).catch(fail);
  });
}

main().catch(fail);
