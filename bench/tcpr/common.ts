// What the TCPR benchmark's child processes (bench/tcpr/app.ts, peer.ts, recovery-app.ts)
// share with the harness (bench/tcpr.ts): their configurations, the JSON-lines reports on
// stdout, the bulk sender and receiver of the throughput runs, and the deterministic byte
// stream the recovery runs send and check.

import type { Socket } from 'node:net';

/** One line of JSON on stdout: how the children report to the harness. */
export function say(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Dies with an `error` event the harness turns into a failed run. */
export function fail(e: unknown): never {
  say({ event: 'error', why: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(2);
}

/** CLOCK_MONOTONIC in µs (process.hrtime, ns resolution), comparable between processes. */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A throughput measurement window, as the receiving side sees it. */
export interface Window {
  /** Measure from this long after the first byte (slow start, buffers filling)… */
  warmupMs: number;
  /** …for this long. */
  durationMs: number;
}

/** What a receiver reports: the bytes that arrived between two data events, and when. */
export interface ThroughputResult {
  bytes: number;
  seconds: number;
  gbps: number;
  /** All bytes received, warm-up included. */
  total: number;
}

/**
 * Counts what arrives on `sock`. The window opens at the first data event at least
 * `warmupMs` after the first byte and closes at the first one `durationMs` after that; the
 * rate is the bytes of the data events in between over the time between them. `onBytes`
 * sees the running total (the TCPR app checkpoints from it).
 */
export function receiveBulk(
  sock: Socket,
  w: Window,
  onBytes?: (total: number) => void,
): Promise<ThroughputResult> {
  return new Promise((resolve, reject) => {
    let total = 0;
    let first = -1;
    let open: { t: number; bytes: number } | undefined;
    const timer = setTimeout(
      () => reject(new Error(`receiver: window not complete after ${total} bytes`)),
      w.warmupMs + w.durationMs + 30_000,
    );
    sock.on('data', (b: Buffer) => {
      const t = nowUs();
      total += b.length;
      onBytes?.(total);
      if (first < 0) first = t;
      if (!open) {
        if (t - first >= w.warmupMs * 1000) open = { t, bytes: total };
        return;
      }
      if (t - open.t >= w.durationMs * 1000) {
        clearTimeout(timer);
        const seconds = (t - open.t) / 1e6;
        const bytes = total - open.bytes;
        resolve({ bytes, seconds, gbps: (bytes * 8) / seconds / 1e9, total });
      }
    });
    sock.on('error', (e) => reject(e));
    sock.on('close', () => reject(new Error(`receiver: connection closed after ${total} bytes`)));
  });
}

/** Writes one 256 KiB buffer of random bytes again and again, as fast as `sock` takes it. */
export function sendBulk(sock: Socket): void {
  const chunk = Buffer.alloc(256 << 10);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (Math.random() * 256) | 0;
  const push = (): void => {
    while (sock.write(chunk));
    sock.once('drain', push);
  };
  push();
}

/** Byte `offset` of the recovery runs' stream (period 251 × 256, so a shifted splice shows). */
export function patternByte(offset: number): number {
  return ((offset % 251) + Math.floor(offset / 251) * 7) & 0xff;
}

export function pattern(from: number, to: number): Buffer {
  const b = Buffer.alloc(to - from);
  for (let i = 0; i < b.length; i++) b[i] = patternByte(from + i);
  return b;
}

/** The peer's configuration (bench/tcpr/peer.ts). */
export interface PeerConfig {
  address: string;
  port: number;
  /**
   * sink: count what arrives (app → peer throughput); source: once a byte arrives, send
   * as fast as possible (peer → app); echo: send back everything (latency, recovery).
   */
  mode: 'sink' | 'source' | 'echo';
  window: Window;
}

/** The throughput and latency app's configuration (bench/tcpr/app.ts). */
export interface AppConfig {
  /** send: app → peer bulk; recv: peer → app bulk; rtt: request/response. */
  mode: 'send' | 'recv' | 'rtt';
  /** A TCPR-protected connection (client library) instead of a plain socket. */
  protected: boolean;
  local: string;
  peer: string;
  port: number;
  window: Window;
  /** recv, protected: checkpoint the input every this many bytes. */
  checkpointBytes: number;
  /** rtt: round trips measured (after `rttWarmup` unmeasured ones) of `rttSize` bytes. */
  rttCount: number;
  rttWarmup: number;
  rttSize: number;
  /** rtt, protected: then this many side-channel queries, one at a time, timed. */
  queryCount: number;
}

/** The recovery app's configuration (bench/tcpr/recovery-app.ts). */
export interface RecoveryConfig {
  /** fresh: open the connections; recover: a new incarnation after kill -9. */
  mode: 'fresh' | 'recover';
  local: string;
  peer: string;
  port: number;
  /** Connection i uses local port basePort + i. */
  basePort: number;
  connections: number;
  /** Where the records and offsets live between incarnations (written, not fsynced). */
  stateFile: string;
  /** Echoed in `recovered` and `ready` (a recover command carries its own). */
  round: number;
}
