// The injector: a child process in the injector namespace that opens one BGP session per
// stream to the DUT and, on "go" from the harness (stdin), writes each stream's
// pre-encoded UPDATEs as fast as the socket takes them — 256 KiB writes at message
// boundaries, the next one as soon as the kernel drains — so that the DUT, not the
// injector, sets the pace. It reads and ignores what the DUT sends (there should be
// nothing but KEEPALIVEs: injector sessions are receive-only on the DUT).
//
// Usage (by the harness): node injector.js CONFIG.json
// CONFIG: { holdTime, dut4, dut6, sessions: [{ local, family, asn, bgpId, file }] }
// Reports JSON lines on stdout: established, started (t0), sent (per session), error.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import { monoMs, openSessionRetrying, report } from './session.js';

interface Config {
  holdTime: number;
  dut4: string;
  dut6: string;
  sessions: { local: string; family: 'ipv4' | 'ipv6'; asn: number; bgpId: string; file: string }[];
}

const CHUNK = 256 * 1024;
/** UPDATEs the DUT sent us: should stay 0, injector sessions are receive-only. */
let received = 0;
const perSession = new Map<string, number>();
/** Of those, UPDATEs that announce (NLRI or MP_REACH_NLRI), not only withdraw. */
let announced = 0;

function announces(buf: Buffer, start: number, len: number): boolean {
  const wlen = buf.readUInt16BE(start + 19);
  let p = start + 21 + wlen;
  const alen = buf.readUInt16BE(p);
  p += 2;
  const end = p + alen;
  if (end < start + len) return true; // NLRI after the attributes
  while (p < end) {
    const flags = buf[p]!;
    if (buf[p + 1] === 14) return true;
    p += flags & 0x10 ? 4 + buf.readUInt16BE(p + 2) : 3 + buf[p + 2]!;
  }
  return false;
}

/** Chunk boundaries of at most CHUNK octets, at BGP message boundaries. */
function chunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  let off = 0;
  while (off < buf.length) {
    const len = buf.readUInt16BE(off + 16);
    if (off + len - start > CHUNK && off > start) {
      out.push(buf.subarray(start, off));
      start = off;
    }
    off += len;
  }
  if (off > start) out.push(buf.subarray(start, off));
  return out;
}

function pump(socket: Socket, parts: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let i = 0;
    const next = (): void => {
      while (i < parts.length) {
        const last = i === parts.length - 1;
        const ok = socket.write(parts[i++]!, last ? (e) => (e ? reject(e) : resolve()) : undefined);
        if (!ok) {
          socket.once('drain', next);
          return;
        }
      }
    };
    if (parts.length === 0) resolve();
    else next();
  });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Config;
  const data = cfg.sessions.map((s) => chunks(readFileSync(s.file)));
  const sockets = await Promise.all(
    cfg.sessions.map((s) =>
      openSessionRetrying(
        {
          local: s.local,
          remote: s.family === 'ipv4' ? cfg.dut4 : cfg.dut6,
          asn: s.asn,
          bgpId: s.bgpId,
          family: s.family,
          holdTime: cfg.holdTime,
        },
        (buf, start, len) => {
          // Not End-of-RIB (an empty UPDATE, or one with only an empty MP_UNREACH_NLRI).
          if (buf[start + 18] === 2 && len !== 23 && !(len === 29 && buf[start + 24] === 15)) {
            received++;
            if (announces(buf, start, len)) announced++;
            perSession.set(s.local, (perSession.get(s.local) ?? 0) + 1);
          }
        },
        (why) => report({ event: 'error', session: s.local, why }),
        30_000,
      ),
    ),
  );
  report({ event: 'established', sessions: sockets.length });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'count')
      report({ event: 'count', received, announced, perSession: Object.fromEntries(perSession) });
    if (cmd !== 'go') return;
    const t0 = monoMs();
    report({ event: 'started', t0 });
    void Promise.all(
      sockets.map(async (s, i) => {
        await pump(s, data[i]!);
        report({ event: 'sent', session: i, t: monoMs() });
      }),
    ).then(() => report({ event: 'all-sent', t: monoMs() }));
  });
}

main().catch((e: unknown) => {
  report({ event: 'error', why: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
