// Measures input-log compaction at full-table size (docs/tcpr.md "Non-stop BGP"):
//   node dist/bench/tcpr-compaction.js [prefixes] [churn-rounds]
// (no competitor runs beside it: BIRD, FRR and GoBGP keep no input journal to compact).
// builds a session input of `prefixes` IPv4 routes (default 1,000,000; about 4 per UPDATE,
// a quarter of a million attribute sets) followed by `churn-rounds` (default 1) rounds of
// churn (every fifth route re-announced with other attributes, every twentieth withdrawn),
// writes it as a base-0 input segment, and compacts it as the speaker does: in the worker
// thread (compaction-runner.ts) while the event loop keeps a 1 ms timer going, then the
// install on the event loop. Prints sizes, times and the event loop's worst delay.

import { closeSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writer } from '../src/lib/bytes.js';
import { BGP_HEADER_LEN, MSG, makeContext, writeHeader } from '../src/wire/index.js';
import { installInput, readRange, resetLogs } from '../src/tcpr/compaction-files.js';
import { CompactionRunner } from '../src/tcpr/compaction-runner.js';
import { KEEPALIVE, OPEN } from '../src/tcpr/compaction-testing.js';

const prefixes = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 1);
const ctx = makeContext({ as4: true });

/** UPDATE announcing `n` /24s from index `first`, attributes chosen by `set`; or withdrawing. */
function writeUpdate(w: Writer, first: number, n: number, set: number, withdraw: boolean): void {
  const at = w.pos;
  w.bytes(new Uint8Array(BGP_HEADER_LEN));
  const nlri = (): void => {
    for (let i = first; i < first + n; i++) {
      const a = 0x01000000 + i * 256; // 1.0.0.0/24 onwards
      w.u8(24)
        .u8(a >>> 24)
        .u8((a >>> 16) & 0xff)
        .u8((a >>> 8) & 0xff);
    }
  };
  if (withdraw) {
    w.u16(n * 4);
    nlri();
    w.u16(0);
  } else {
    w.u16(0);
    const aLen = w.reserve(2);
    const a0 = w.pos;
    w.u8(0x40).u8(1).u8(1).u8(0); // ORIGIN IGP
    const hops = 2 + (set % 5);
    w.u8(0x40)
      .u8(2)
      .u8(2 + 4 * hops)
      .u8(2)
      .u8(hops); // AS_PATH, one AS_SEQUENCE
    for (let h = 0; h < hops; h++) w.u32(64512 + ((set * 7 + h * 131) % 60000));
    w.u8(0x40).u8(3).u8(4).u8(198).u8(18).u8(2).u8(2); // NEXT_HOP
    w.u8(0xc0)
      .u8(8)
      .u8(8)
      .u32((65002 << 16) | (set & 0xffff))
      .u32(0xfde80000 | (set >>> 16)); // COMMUNITIES
    w.patch(aLen, 2, w.pos - a0);
    nlri();
  }
  writeHeader(w.buf, at, w.pos - at, MSG.UPDATE);
}

function buildStream(): Uint8Array {
  const w = new Writer(64 << 20);
  w.bytes(Uint8Array.from(OPEN)).bytes(Uint8Array.from(KEEPALIVE));
  const sets = Math.max(1, Math.floor(prefixes / 4));
  for (let i = 0; i < prefixes; i += 4)
    writeUpdate(w, i, Math.min(4, prefixes - i), (i / 4) % sets, false);
  for (let r = 1; r <= rounds; r++) {
    for (let i = 0; i < prefixes; i += 5) writeUpdate(w, i, 1, (i * 13 + r) % sets, false);
    for (let i = 0; i < prefixes; i += 20) writeUpdate(w, i, 1, 0, true);
    for (let i = 0; i < prefixes; i += 40) writeUpdate(w, i, 1, (i + r) % sets, false);
  }
  return w.finish();
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const stream = buildStream();
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-compaction-measure-'));
  try {
    const files = resetLogs(dir);
    writeFileSync(join(dir, files.input.segment), stream);
    const built = performance.now() - t0;
    const runner = new CompactionRunner();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const tick = setInterval(() => {}, 1);
    delay.enable();
    const w0 = performance.now();
    const done = await runner.run({ dir, input: files.input, segmentLength: stream.length, ctx });
    const wall = performance.now() - w0;
    delay.disable();
    clearInterval(tick);
    runner.close();
    if (!done) throw new Error('nothing compacted');
    // The install, with 1 MiB received meanwhile (copied into the new segment).
    const more = new Uint8Array(1 << 20);
    writeFileSync(join(dir, files.input.segment), more, { flag: 'a' });
    const s0 = performance.now();
    const tail = readRange(join(dir, files.input.segment), done.base, stream.length + more.length);
    closeSync(installInput(dir, files.input, done, tail).fd);
    const stall = performance.now() - s0;
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    process.stdout.write(
      [
        `input: ${prefixes} prefixes, ${rounds} churn round(s): ${mib(stream.length)} (built in ${built.toFixed(0)} ms)`,
        `compacted: ${mib(done.after)} (${done.stats.routes} routes, ${done.stats.attributeSets} attribute sets, ${done.stats.messagesOut} messages)`,
        `worker: ${done.ms.toFixed(0)} ms compacting (${wall.toFixed(0)} ms to the result, worker start included)`,
        `event loop during the worker: worst delay ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
        `install on the event loop (1 MiB tail copied, 2 renames, fsyncs): ${stall.toFixed(1)} ms`,
      ].join('\n') + '\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
