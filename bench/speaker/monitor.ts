// The monitor: a child process in the monitor namespace, the DUT's one exporting peer. It
// counts the prefixes announced in the UPDATEs the DUT sends by walking the NLRI octets
// (RFC 4271 §4.3 NLRI field, RFC 4760 §3 MP_REACH_NLRI) — no object per prefix — and
// reports the moment the expected count was reached, or the moment the last sentinel
// route (W3: one per injector session, see workloads.ts) arrived.
//
// Usage (by the harness): node monitor.js CONFIG.json
// CONFIG: { holdTime, sessions: [{ local, remote, family, asn, bgpId }], expect?, sentinels? }
// Reports JSON lines on stdout: established, progress (every second), complete, error.

import { readFileSync } from 'node:fs';
import { monoMs, openSessionRetrying, report, type SessionSpec } from './session.js';

interface Config {
  holdTime: number;
  sessions: Omit<SessionSpec, 'holdTime'>[];
  expect?: number;
  sentinels?: number;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Config;
let announced = 0;
let withdrawn = 0;
let updates = 0;
let firstAt = 0;
let done = false;
const seenSentinel = new Uint8Array(65536);
let sentinels = 0;

function sentinel(buf: Buffer, p: number, len: number): void {
  let id = -1;
  if (len === 24 && buf[p + 1] === 198 && buf[p + 2] === 18 && buf[p + 3]! >= 128) {
    id = buf[p + 3]! - 128;
  } else if (
    len === 64 &&
    buf[p + 1] === 0x20 &&
    buf[p + 2] === 0x01 &&
    buf[p + 3] === 0x0d &&
    buf[p + 4] === 0xb8 &&
    buf[p + 5] === 0xff &&
    buf[p + 6] === 0xff
  ) {
    id = (buf[p + 7]! << 8) | buf[p + 8]!;
  }
  if (id >= 0 && seenSentinel[id] === 0) {
    seenSentinel[id] = 1;
    sentinels++;
  }
}

/** Counts prefixes in buf[p, end); checks each for a sentinel when asked. */
function countNlri(buf: Buffer, p: number, end: number, check: boolean): number {
  let n = 0;
  while (p < end) {
    const len = buf[p]!;
    if (check) sentinel(buf, p, len);
    p += 1 + ((len + 7) >> 3);
    n++;
  }
  return n;
}

function onUpdate(buf: Buffer, start: number, len: number): void {
  updates++;
  const end = start + len;
  const check = cfg.sentinels !== undefined;
  let p = start + 19;
  const wlen = buf.readUInt16BE(p);
  withdrawn += countNlri(buf, p + 2, p + 2 + wlen, false);
  p += 2 + wlen;
  const alen = buf.readUInt16BE(p);
  p += 2;
  const aend = p + alen;
  while (p < aend) {
    const flags = buf[p]!;
    const code = buf[p + 1]!;
    const vlen = flags & 0x10 ? buf.readUInt16BE(p + 2) : buf[p + 2]!;
    const v = p + (flags & 0x10 ? 4 : 3);
    if (code === 14) {
      const nhlen = buf[v + 3]!;
      announced += countNlri(buf, v + 5 + nhlen, v + vlen, check);
    } else if (code === 15) {
      withdrawn += countNlri(buf, v + 3, v + vlen, false);
    }
    p = v + vlen;
  }
  announced += countNlri(buf, aend, end, check);
  if (firstAt === 0 && announced > 0) firstAt = monoMs();
  if (done) return;
  const complete =
    cfg.sentinels !== undefined
      ? sentinels >= cfg.sentinels
      : announced >= (cfg.expect ?? Infinity);
  if (complete) {
    done = true;
    report({ event: 'complete', t: monoMs(), firstAt, announced, withdrawn, updates, sentinels });
  }
}

async function main(): Promise<void> {
  await Promise.all(
    cfg.sessions.map((s) =>
      openSessionRetrying(
        { ...s, holdTime: cfg.holdTime },
        (buf, start, len) => {
          if (buf[start + 18] === 2) onUpdate(buf, start, len);
        },
        (why) => report({ event: 'error', session: s.local, why }),
        60_000,
      ),
    ),
  );
  report({ event: 'established', sessions: cfg.sessions.length });
  setInterval(() => report({ event: 'progress', announced, withdrawn, updates, sentinels }), 1000);
}

main().catch((e: unknown) => {
  report({ event: 'error', why: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
