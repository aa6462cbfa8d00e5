// MRT reader: framing is independent of chunking, corrupt records are reported with their
// offset and reading goes on, compression is detected from content.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync, gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { MrtFramer, type RawRecord } from '../src/mrt/framer.js';
import { parseMrt, readMrt } from '../src/mrt/reader.js';
import { detectCompression, MrtInputError } from '../src/mrt/source.js';
import { requireData } from './support/data.js';

function frames(chunks: Uint8Array[]): string[] {
  const f = new MrtFramer();
  const out: string[] = [];
  const on = (r: RawRecord): void => {
    out.push(
      `${r.offset}:${r.type}/${r.subtype}:${Buffer.from(r.buf.subarray(r.start, r.end)).toString('hex')}`,
    );
  };
  for (const c of chunks) f.push(c, on);
  assert.ok(f.finish());
  return out;
}

test('framing does not depend on how the stream is split', (t) => {
  const p = requireData(t, 'mrtparse/samples/bird_bgp');
  if (!p) return;
  const bytes = new Uint8Array(readFileSync(p));
  const whole = frames([bytes]);
  assert.ok(whole.length > 10);
  for (let cut = 1; cut < bytes.length; cut += 7) {
    assert.deepEqual(
      frames([bytes.subarray(0, cut), bytes.subarray(cut)]),
      whole,
      `split at ${cut}`,
    );
  }
  const bytewise = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  assert.deepEqual(frames(bytewise), whole);
});

test('a corrupt record is reported with its offset and reading continues', (t) => {
  const p = requireData(t, 'mrtparse/samples/quagga_bgp');
  if (!p) return;
  const bytes = new Uint8Array(readFileSync(p));
  const good = parseMrt(bytes);
  // Damage the address family of the second record's BGP4MP header.
  const second = good[1]!;
  const broken = bytes.slice();
  broken[second.offset + 12 + 10] = 0x7f;
  const recs = parseMrt(broken);
  assert.equal(recs.length, good.length);
  assert.equal(recs[1]!.kind, 'error');
  assert.equal(recs[1]!.offset, second.offset);
  assert.deepEqual(
    recs.slice(2).map((r) => r.kind),
    good.slice(2).map((r) => r.kind),
  );
  // A truncated last record: reported, earlier records intact.
  const cut = parseMrt(bytes.subarray(0, bytes.length - 3));
  assert.equal(cut.at(-1)!.kind, 'error');
  assert.match((cut.at(-1) as { reason: string }).reason, /truncated/);
  assert.equal(cut.length, good.length);
});

test('compression is detected from content: gzip, bzip2, raw', async (t) => {
  const p = requireData(t, 'RIPE-NCC-bgpdump/test_data/updates.20020722.2238.gz');
  if (!p) return;
  const gz = readFileSync(p);
  const raw = gunzipSync(gz);
  assert.equal(detectCompression(gz), 'gzip');
  assert.equal(detectCompression(raw), 'none');
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-mrt-'));
  try {
    const count = async (f: string): Promise<number> => {
      let n = 0;
      for await (const r of readMrt(f)) if (r.kind !== 'error') n++;
      return n;
    };
    const expected = parseMrt(raw).length;
    writeFileSync(join(dir, 'a.mrt'), raw);
    writeFileSync(join(dir, 'b.data'), gzipSync(raw));
    assert.equal(await count(join(dir, 'a.mrt')), expected);
    assert.equal(await count(join(dir, 'b.data')), expected);
    const bz = spawnSync('bzip2', ['-c'], { input: raw, maxBuffer: 1 << 26 });
    if (bz.status === 0) {
      writeFileSync(join(dir, 'c.bin'), bz.stdout);
      assert.equal(detectCompression(bz.stdout), 'bzip2');
      assert.equal(await count(join(dir, 'c.bin')), expected);
    } else t.diagnostic('bzip2 not available: bzip2 input not tested');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file is a clear MrtInputError naming the file', async () => {
  await assert.rejects(
    async () => {
      for await (const r of readMrt('/nonexistent/x.mrt')) void r;
    },
    (e: unknown) =>
      e instanceof MrtInputError &&
      /\/nonexistent\/x\.mrt: cannot open: no such file/.test(e.message),
  );
});
