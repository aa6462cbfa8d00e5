// The speaker's MRT output is checked with bgpdump, an independent reader: a RIB dump of
// a small engine and a message log must print the lines bgpdump's format predicts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../lib/clock.js';
import { parseAddr, parsePrefix } from '../lib/ip.js';
import {
  AS4_CONTEXT,
  ATTR_DEFAULT_FLAGS,
  encodeMessage,
  KEEPALIVE_BYTES,
  type UpdateMessage,
} from '../wire/index.js';
import { compilePolicy } from '../policy/index.js';
import { RouteEngine } from './engine/route-engine.js';
import { MrtRecorder } from './mrt-recorder.js';

function bgpdump(bytes: Uint8Array): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-mrt-rec-'));
  try {
    const f = join(dir, 'x.mrt');
    writeFileSync(f, bytes);
    const r = spawnSync('bgpdump', ['-m', f], { encoding: 'latin1' });
    assert.equal(r.status, 0, `bgpdump failed: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const update: UpdateMessage = {
  type: 2,
  withdrawn: [],
  nlri: [{ prefix: parsePrefix('198.18.100.0/24')! }],
  attributes: [
    { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: ATTR_DEFAULT_FLAGS[2]!,
      asnWidth: 4,
      segments: [{ type: 2, asns: [65002, 64500] }],
    },
    { kind: 'next-hop', code: 3, flags: ATTR_DEFAULT_FLAGS[3]!, nextHop: parseAddr('198.18.1.2')! },
    {
      kind: 'communities',
      code: 8,
      flags: ATTR_DEFAULT_FLAGS[8]!,
      communities: [(65002 << 16) | 7],
    },
  ],
};

test('a RIB dump of the Loc-RIB reads back in bgpdump as TABLE_DUMP2 lines', () => {
  const all = compilePolicy({ default: 'accept' }, 'all');
  assert.ok(all.ok);
  const engine = new RouteEngine({
    localAsn: 65001,
    routerId: parseAddr('198.18.0.1')!,
    clock: new ManualClock(),
    schedule: (fn) => fn(),
  });
  const id = engine.addNeighbor({
    name: 'a',
    address: parseAddr('198.18.1.2')!,
    asn: 65002,
    rrClient: false,
    nextHopSelf: false,
    importPolicy: [all.value],
    exportPolicy: [all.value],
    gracefulRestart: false,
    staleRoutesTime: 0,
  });
  engine.sessionUp(
    id,
    {
      internal: false,
      peerBgpId: '198.18.1.2',
      families: [[1, 1]],
      gracefulRestart: null,
      receive: AS4_CONTEXT,
      send: AS4_CONTEXT,
    },
    { send: () => {}, stop: () => {} },
    parseAddr('198.18.1.1')!,
  );
  engine.receiveUpdate(id, update);
  const rec = new MrtRecorder(() => 1763683200.25);
  const lines = bgpdump(rec.ribDump(engine, parseAddr('198.18.0.1')!, 65001));
  assert.deepEqual(lines, [
    'TABLE_DUMP2|1763683200|B|198.18.1.2|65002|198.18.100.0/24|65002 64500|IGP|198.18.1.2|0|0|65002:7|NAG||',
  ]);
});

test('the message log reads back in bgpdump as BGP4MP_ET lines with microseconds', () => {
  const rec = new MrtRecorder(() => 1763683200.5);
  const s = {
    peerAs: 65002,
    localAs: 65001,
    peerAddress: parseAddr('198.18.1.2')!,
    localAddress: parseAddr('198.18.1.1')!,
  };
  rec.stateChange(s, 'OpenConfirm', 'Established');
  rec.message(s, encodeMessage(update, AS4_CONTEXT), false);
  rec.message(s, KEEPALIVE_BYTES, true);
  assert.deepEqual(bgpdump(rec.takeLog()), [
    'BGP4MP_ET|1763683200.500000|STATE|198.18.1.2|65002|5|6',
    'BGP4MP_ET|1763683200.500000|A|198.18.1.2|65002|198.18.100.0/24|65002 64500|IGP|198.18.1.2|0|0|65002:7|NAG||',
  ]);
});
