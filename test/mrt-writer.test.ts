// MRT writer round trip: what MrtWriter writes is read back identically by our reader and
// printed by bgpdump (when installed) as the expected -m lines.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAddr, parsePrefix, type Prefix } from '../src/lib/ip.js';
import { dumpMrtBytes } from '../src/mrt/dump.js';
import { parseMrt } from '../src/mrt/reader.js';
import { decodeBgp4mpMessage, decodeRibAttributes } from '../src/mrt/records.js';
import { MrtWriter } from '../src/mrt/writer.js';
import type { PathAttribute, UpdateMessage } from '../src/wire/types.js';

const ip = (s: string): Uint8Array => parseAddr(s)!;
const pfx = (s: string): Prefix => parsePrefix(s)!;

const v4Attrs: PathAttribute[] = [
  { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
  {
    kind: 'as-path',
    code: 2,
    flags: 0x40,
    segments: [{ type: 2, asns: [65001, 4200000000] }],
    asnWidth: 4,
  },
  { kind: 'next-hop', code: 3, flags: 0x40, nextHop: ip('198.18.0.10') },
  { kind: 'med', code: 4, flags: 0x80, med: 10 },
  { kind: 'local-pref', code: 5, flags: 0x40, localPref: 100 },
  { kind: 'communities', code: 8, flags: 0xc0, communities: [65001 * 65536 + 1, 0xffffff01] },
];

const v6Attrs: PathAttribute[] = [
  { kind: 'origin', code: 1, flags: 0x40, origin: 2 },
  {
    kind: 'as-path',
    code: 2,
    flags: 0x40,
    segments: [{ type: 2, asns: [4200000000, 64512] }],
    asnWidth: 4,
  },
  {
    kind: 'mp-reach',
    code: 14,
    flags: 0x80,
    afi: 2,
    safi: 1,
    nextHop: ip('2001:db8::1'),
    reserved: 0,
    nlri: [{ prefix: pfx('2001:db8:1::/48') }],
  },
];

const update: UpdateMessage = {
  type: 2,
  withdrawn: [{ prefix: pfx('198.19.0.0/16') }],
  attributes: [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: 0x40,
      segments: [{ type: 2, asns: [65002, 65003] }],
      asnWidth: 4,
    },
    { kind: 'next-hop', code: 3, flags: 0x40, nextHop: ip('198.18.0.2') },
  ],
  nlri: [{ prefix: pfx('198.18.1.0/24') }, { prefix: pfx('198.18.2.0/23') }],
};

function build(): Uint8Array {
  const w = new MrtWriter();
  w.peerIndexTable(1700000000, {
    collectorId: ip('198.18.0.1'),
    viewName: 'lab',
    peers: [
      { bgpId: ip('198.18.0.10'), address: ip('198.18.0.10'), asn: 65001 },
      { bgpId: ip('198.18.0.11'), address: ip('2001:db8::11'), asn: 4200000000 },
    ],
  });
  w.rib(1700000000, {
    sequence: 0,
    prefix: pfx('198.18.0.0/15'),
    entries: [{ peerIndex: 0, originated: 1699999000, attributes: v4Attrs }],
  });
  w.rib(1700000000, {
    sequence: 1,
    prefix: pfx('2001:db8:1::/48'),
    entries: [{ peerIndex: 1, originated: 1699999001, attributes: v6Attrs }],
  });
  w.rib(1700000000, {
    sequence: 2,
    prefix: pfx('198.18.4.0/24'),
    addPath: true,
    entries: [
      { peerIndex: 0, originated: 1699999002, pathId: 7, attributes: v4Attrs },
      { peerIndex: 0, originated: 1699999003, pathId: 8, attributes: v4Attrs },
    ],
  });
  const session = {
    peerAs: 65002,
    localAs: 65000,
    peerAddress: ip('198.18.0.2'),
    localAddress: ip('198.18.0.1'),
  };
  w.stateChange(1700000001, 5, { ...session, oldState: 5, newState: 6 });
  w.message(1700000002, 123456, { ...session, message: update });
  return w.take();
}

const EXPECTED =
  [
    'TABLE_DUMP2|1700000000|B|198.18.0.10|65001|198.18.0.0/15|65001 4200000000|IGP|198.18.0.10|100|10|65001:1 no-export|NAG||',
    'TABLE_DUMP2|1700000000|B|2001:db8::11|4200000000|2001:db8:1::/48|4200000000 64512|INCOMPLETE|2001:db8::1|0|0||NAG||',
    'TABLE_DUMP2_AP|1700000000|B|198.18.0.10|65001|198.18.4.0/24|7|65001 4200000000|IGP|198.18.0.10|100|10|65001:1 no-export|NAG||',
    'TABLE_DUMP2_AP|1700000000|B|198.18.0.10|65001|198.18.4.0/24|8|65001 4200000000|IGP|198.18.0.10|100|10|65001:1 no-export|NAG||',
    'BGP4MP_ET|1700000001.000005|STATE|198.18.0.2|65002|5|6',
    'BGP4MP_ET|1700000002.123456|W|198.18.0.2|65002|198.19.0.0/16',
    'BGP4MP_ET|1700000002.123456|A|198.18.0.2|65002|198.18.1.0/24|65002 65003|IGP|198.18.0.2|0|0||NAG||',
    'BGP4MP_ET|1700000002.123456|A|198.18.0.2|65002|198.18.2.0/23|65002 65003|IGP|198.18.0.2|0|0||NAG||',
  ].join('\n') + '\n';

test('writer output reads back identically with our reader', () => {
  const recs = parseMrt(build());
  assert.deepEqual(
    recs.map((r) => r.kind),
    ['peer-index-table', 'rib', 'rib', 'rib', 'state-change', 'message'],
  );
  const [pit, rib4, rib6, ribAp, sc, msg] = recs;
  assert.ok(pit?.kind === 'peer-index-table');
  assert.equal(pit.viewName, 'lab');
  assert.deepEqual(
    pit.peers.map((p) => p.asn),
    [65001, 4200000000],
  );
  assert.ok(rib4?.kind === 'rib' && rib6?.kind === 'rib' && ribAp?.kind === 'rib');
  assert.deepEqual(rib4.prefix, pfx('198.18.0.0/15'));
  const d4 = decodeRibAttributes(rib4.entries[0]!.attributes);
  assert.deepEqual(d4.errors, []);
  assert.deepEqual(d4.attributes, v4Attrs);
  const d6 = decodeRibAttributes(rib6.entries[0]!.attributes);
  assert.deepEqual(d6.errors, []);
  const mp = d6.attributes.find((a) => a.kind === 'mp-reach');
  assert.ok(mp?.kind === 'mp-reach' && mp.abbreviated === true);
  assert.deepEqual(mp.nextHop, ip('2001:db8::1'));
  assert.equal(ribAp.addPath, true);
  assert.deepEqual(
    ribAp.entries.map((e) => e.pathId),
    [7, 8],
  );
  assert.ok(sc?.kind === 'state-change');
  assert.equal(sc.microseconds, 5);
  assert.equal(sc.newState, 6);
  assert.ok(msg?.kind === 'message');
  assert.equal(msg.microseconds, 123456);
  assert.equal(msg.as4, true);
  const dm = decodeBgp4mpMessage(msg);
  assert.ok(dm.ok);
  assert.deepEqual(dm.message, update);
});

test('writer output dumps as the expected bgpdump -m lines (ours)', () => {
  assert.equal(dumpMrtBytes(build(), { mode: 'm' }), EXPECTED);
});

test('writer output is read by bgpdump as the expected -m lines', (t) => {
  if (!existsSync('/usr/bin/bgpdump')) {
    t.skip('bgpdump is not installed (apt-get install bgpdump)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-mrt-'));
  try {
    const file = join(dir, 'written.mrt');
    writeFileSync(file, build());
    const r = spawnSync('/usr/bin/bgpdump', ['-m', file]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.toString(), EXPECTED);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
