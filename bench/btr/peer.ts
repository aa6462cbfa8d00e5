// A neighbour of the router under test in bench/btr.ts: a child process in its own lab
// namespace with one BGP session to the router (bench/speaker/session.ts). Two roles:
// - feeder: on `{"cmd":"send","file","rate","out","id"}` writes the UPDATEs of `file` (one
//   per prefix, see btr/stream.ts) to the router, `rate` per second evenly spaced (0: as fast
//   as the socket takes them, in 16 KiB writes), and writes to `out` the CLOCK_MONOTONIC ms
//   at which each message was handed to the socket (Float64Array); reports `sent`.
// - receiver: timestamps the first announcement of every prefix of the stream's address
//   space (btr/stream.ts prefixIndex) in the UPDATEs the router sends, on arrival. On
//   `{"cmd":"expect","from","count","id"}` it reports `complete` (with `id`) once every
//   prefix of [from, from+count) arrived; on `{"cmd":"dump","from","count","out","id"}` it
//   writes their arrival times (NaN: not arrived) and reports `dumped`.
// Both clocks are process.hrtime (CLOCK_MONOTONIC), comparable between processes.
//
// Usage (by the harness): node peer.js CONFIG.json
// CONFIG: { role, local, remote, asn, bgpId, holdTime }

import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import { monoMs, openSessionRetrying, report } from '../speaker/session.js';
import { prefixIndex } from './stream.js';
import { arrived, onArrivalCommand } from './arrivals.js';

interface Config {
  role: 'feeder' | 'receiver';
  local: string;
  remote: string;
  asn: number;
  bgpId: string;
  holdTime: number;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Config;

// --- receiver --------------------------------------------------------------------------

function nlri(buf: Buffer, p: number, end: number, t: number): void {
  while (p < end) {
    const len = buf[p]!;
    const n = (len + 7) >> 3;
    let a = 0;
    for (let k = 0; k < 4; k++) a = a * 256 + (k < n ? buf[p + 1 + k]! : 0);
    const i = prefixIndex(a, len);
    if (i >= 0) arrived(i, t);
    p += 1 + n;
  }
}

function onUpdate(buf: Buffer, start: number, len: number): void {
  const t = monoMs();
  let p = start + 19;
  const wlen = buf.readUInt16BE(p);
  p += 2 + wlen;
  const alen = buf.readUInt16BE(p);
  nlri(buf, p + 2 + alen, start + len, t);
}

// --- feeder ----------------------------------------------------------------------------

/** Offsets of the messages in a stream of BGP messages. */
function offsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off < buf.length; off += buf.readUInt16BE(off + 16)) out.push(off);
  return out;
}

const CHUNK = 16 * 1024;

function send(socket: Socket, buf: Buffer, rate: number): Promise<Float64Array> {
  const offs = offsets(buf);
  const n = offs.length;
  const times = new Float64Array(n);
  const end = (i: number): number => (i + 1 < n ? offs[i + 1]! : buf.length);
  return new Promise((resolve, reject) => {
    let i = 0;
    if (rate > 0) {
      // Evenly spaced; late ticks catch up on every message that is due.
      const t0 = monoMs();
      const tick = (): void => {
        const now = monoMs();
        const due = Math.min(n, Math.floor(((now - t0) * rate) / 1000) + 1);
        if (due > i) {
          const from = i;
          for (; i < due; i++) times[i] = now;
          socket.write(buf.subarray(offs[from]!, end(due - 1)));
        }
        if (i >= n) return resolve(times);
        const next = t0 + (i * 1000) / rate;
        setTimeout(tick, Math.max(0, next - monoMs() - 0.5));
      };
      tick();
      return;
    }
    const next = (): void => {
      while (i < n) {
        const from = i;
        while (i < n && end(i) - offs[from]! <= CHUNK) i++;
        if (i === from) i++;
        const now = monoMs();
        for (let k = from; k < i; k++) times[k] = now;
        const last = i >= n;
        const ok = socket.write(
          buf.subarray(offs[from]!, end(i - 1)),
          last ? (e) => (e ? reject(e) : resolve(times)) : undefined,
        );
        if (!ok && !last) {
          socket.once('drain', next);
          return;
        }
      }
    };
    if (n === 0) resolve(times);
    else next();
  });
}

async function main(): Promise<void> {
  const socket = await openSessionRetrying(
    { ...cfg, family: 'ipv4' },
    (buf, start, len) => {
      if (cfg.role === 'receiver' && buf[start + 18] === 2) onUpdate(buf, start, len);
    },
    (why) => report({ event: 'error', why }),
    120_000,
  );
  report({ event: 'established' });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const c = JSON.parse(line) as {
      cmd: string;
      id?: unknown;
      file?: string;
      rate?: number;
      out?: string;
      from?: number;
      count?: number;
    };
    if (c.cmd === 'send') {
      void send(socket, readFileSync(c.file!), c.rate ?? 0).then(
        (times) => {
          writeFileSync(c.out!, times);
          report({ event: 'sent', id: c.id, messages: times.length });
        },
        (e: unknown) => report({ event: 'error', why: String(e) }),
      );
    } else onArrivalCommand(c);
  });
}

main().catch((e: unknown) => {
  report({ event: 'error', why: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
