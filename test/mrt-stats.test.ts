// `nonstop mrt stats` counts, checked against independent tools on the same files:
// - every `bgpdump -m` line is one RIB entry, one announced or withdrawn prefix, or one state
//   change, so our counts must add up to bgpdump's line count;
// - the record count must equal the number of MRT headers found by walking the raw
//   decompressed file with a separate minimal parser written here (12-octet headers with
//   a 4-octet length; RFC 6396 §2).
// The first/last timestamps must equal those of bgpdump's first and last lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { mrtStats } from '../src/mrt/stats.js';
import { requireData } from './support/data.js';

const FILES = [
  'hdb3-MRT/latest-update.gz',
  'RIPE-NCC-bgpdump/test_data/updates.20070211.0141.gz',
  'RIPE-NCC-bgpdump/test_data/bview.20020722.2337.gz',
  'RIPE-NCC-bgpdump/test_data/bview.ipv6_unicast_add_path.gz',
  'RIPE-NCC-bgpdump/test_data/updates.long_withdrawal.gz',
];

function countHeaders(raw: Uint8Array): number {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let n = 0;
  for (let p = 0; p + 12 <= raw.length; p += 12 + v.getUint32(p + 8)) n++;
  return n;
}

for (const rel of FILES) {
  test(`mrt stats agrees with bgpdump and a raw header walk: ${rel}`, async (t) => {
    const path = requireData(t, rel);
    if (!path) return;
    const bd = spawnSync('bgpdump', ['-m', path], { encoding: 'latin1', maxBuffer: 1 << 30 });
    assert.equal(bd.status, 0, `bgpdump failed: ${bd.stderr}`);
    const lines = bd.stdout.split('\n').filter((l) => l.length > 0);
    const s = await mrtStats(path);
    const p = s.prefixes;
    const total =
      p.announcedIPv4 +
      p.announcedIPv6 +
      p.withdrawnIPv4 +
      p.withdrawnIPv6 +
      p.ribEntriesIPv4 +
      p.ribEntriesIPv6;
    assert.equal(total + s.stateChanges, lines.length);
    assert.equal(s.records, countHeaders(gunzipSync(readFileSync(path))));
    const time = (l: string): number => Math.floor(Number(l.split('|')[1]));
    assert.equal(s.firstTimestamp, time(lines[0]!));
    assert.equal(s.lastTimestamp, time(lines[lines.length - 1]!));
    assert.equal(s.errors.length, 0);
  });
}
