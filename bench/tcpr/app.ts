// The application of the TCPR benchmark's throughput and latency runs (bench/tcpr.ts), in
// the app's namespace. Opens one connection to the peer — a plain socket, or with
// `protected` a TCPR-protected one (src/tcpr/client.ts connectProtected) — and:
// - send: writes bulk data to a sink peer, which measures;
// - recv: sends one byte to start a source peer, then measures what arrives (`result`).
//   Protected, it checkpoints its input every `checkpointBytes`, and 1 ms after a read that
//   left input unchecked (TCPR lets the peer see an ACK only for checkpointed input).
//   Nothing is persisted first: the middlebox is measured, not the disk. The update is not
//   awaited; reading goes on.
// - rtt: `rttSize`-byte requests to an echo peer, one at a time; reports every round-trip
//   time in µs (`rtt`). Protected, it checkpoints each response as it arrives (not awaited),
//   as the paper's netperf TCP_RR did after every recv. Then, protected, times `queryCount`
//   side-channel queries of the connection's state, one at a time (`queryUs`): the unit of
//   work recoverConnection is made of.
//
// Usage (by the harness): node app.js CONFIG.json

import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connectProtected, TcprChannel, type TcprConnection } from '../../src/tcpr/client.js';
import { fail, nowUs, receiveBulk, say, sendBulk, type AppConfig } from './common.js';

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as AppConfig;

async function open(): Promise<{ sock: Socket; conn?: TcprConnection }> {
  if (cfg.protected) {
    const conn = await connectProtected(new TcprChannel(), {
      host: cfg.peer,
      port: cfg.port,
      localAddress: cfg.local,
    });
    return { sock: conn.socket, conn };
  }
  const sock = connect({ host: cfg.peer, port: cfg.port, localAddress: cfg.local, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return { sock };
}

/** Checkpoints `offset` without waiting; a lost update is covered by the next one. */
function checkpointer(conn: TcprConnection | undefined): (offset: number) => void {
  return (offset) => void conn?.checkpoint(offset).catch(fail);
}

/**
 * Checkpoints the input read so far every `every` bytes, and 1 ms after a read that left
 * some unchecked: TCPR lets the peer see no ACK before a checkpoint, so while the peer's
 * congestion window is smaller than `every` (slow start) it stops and waits for one.
 */
function checkpointEvery(conn: TcprConnection, every: number): (total: number) => void {
  const ckpt = checkpointer(conn);
  let last = 0;
  let latest = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (latest === last) return;
    last = latest;
    ckpt(latest);
  };
  return (total) => {
    latest = total;
    if (total - last >= every) flush();
    else timer ??= setTimeout(flush, 1);
  };
}

function rtt(sock: Socket, conn: TcprConnection | undefined): Promise<number[]> {
  const ckpt = checkpointer(conn);
  const req = Buffer.alloc(cfg.rttSize, 0x72);
  const total = cfg.rttWarmup + cfg.rttCount;
  const out: number[] = [];
  return new Promise((resolve, reject) => {
    let i = 0;
    let t0 = 0;
    let pending = 0;
    let read = 0;
    const next = (): void => {
      t0 = nowUs();
      sock.write(req);
    };
    sock.on('data', (b: Buffer) => {
      const t = nowUs();
      pending += b.length;
      read += b.length;
      while (pending >= cfg.rttSize) {
        pending -= cfg.rttSize;
        if (i++ >= cfg.rttWarmup) out.push(Math.round((t - t0) * 10) / 10);
        ckpt(read);
        if (i === total) return resolve(out);
        next();
      }
    });
    sock.on('error', reject);
    next();
  });
}

async function queries(conn: TcprConnection): Promise<number[]> {
  const out: number[] = [];
  const warmup = Math.ceil(cfg.queryCount / 20);
  for (let i = 0; i < warmup + cfg.queryCount; i++) {
    const t0 = nowUs();
    await conn.state();
    if (i >= warmup) out.push(Math.round((nowUs() - t0) * 10) / 10);
  }
  return out;
}

async function main(): Promise<void> {
  const { sock, conn } = await open();
  say({ event: 'connected', port: sock.localPort });
  if (cfg.mode === 'send') {
    sendBulk(sock);
  } else if (cfg.mode === 'recv') {
    const onBytes = conn ? checkpointEvery(conn, cfg.checkpointBytes) : undefined;
    sock.write(Buffer.from([1]));
    const r = await receiveBulk(sock, cfg.window, onBytes);
    say({ event: 'result', ...r });
  } else {
    const us = await rtt(sock, conn);
    say({ event: 'rtt', us, queryUs: conn ? await queries(conn) : undefined });
  }
}

main().catch(fail);
