// The speaker's MRT files (docs/speaker.md, "MRT output"), written by a running
// `nonstop speaker` process and read by bgpdump, an independent reader: the periodic
// TABLE_DUMP_V2 snapshot holds the route a neighbor announced, and the BGP4MP_ET log holds
// that announcement and the session's state changes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BgpClient, startSpeaker } from './support/bgp-client.js';

const HOST = '127.0.0.1';
const PEER = { address: '127.2.0.3', asn: 65002 };

function bgpdump(file: string): string[] {
  const r = spawnSync('bgpdump', ['-m', file], { encoding: 'latin1' });
  assert.equal(r.status, 0, `bgpdump ${file}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l);
}

test(
  'RIB snapshots and the update log are written and read back by bgpdump',
  { timeout: 30_000 },
  async (t) => {
    let dir = '';
    const sp = await startSpeaker({
      host: HOST,
      yaml: (e) => {
        dir = e.socket.slice(0, e.socket.lastIndexOf('/'));
        return [
          'router-id: 127.0.0.1',
          'asn: 65001',
          `listen: [{ address: ${e.host}, port: ${e.port} }]`,
          `control: { socket: ${JSON.stringify(e.socket)} }`,
          'mrt:',
          `  rib-dump: { path: ${JSON.stringify(join(dir, 'rib.%H%M%S.mrt'))}, interval: 1 }`,
          `  updates: { path: ${JSON.stringify(join(dir, 'updates.mrt'))}, rotate: 300 }`,
          'policies:',
          '  all: { default: accept }',
          'neighbors:',
          `  - address: ${PEER.address}`,
          `    asn: ${PEER.asn}`,
          '    passive: true',
          '    import: [all]',
          '    export: [all]',
          '',
        ].join('\n');
      },
    });
    t.after(() => sp.stop());
    const client = await BgpClient.connect(
      { host: sp.host, port: sp.port, localAddress: PEER.address },
      { asn: PEER.asn, bgpId: PEER.address },
    );
    t.after(() => client.close());
    await client.handshake();
    client.sendUpdate({
      withdrawn: [],
      attributes: [
        { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
        {
          kind: 'as-path',
          code: 2,
          flags: 0x40,
          asnWidth: 4,
          segments: [{ type: 2, asns: [PEER.asn] }],
        },
        { kind: 'next-hop', code: 3, flags: 0x40, nextHop: Uint8Array.of(127, 2, 0, 3) },
      ],
      nlri: [{ prefix: { afi: 1, addr: Uint8Array.of(10, 9, 0, 0), len: 16 } }],
    });
    // Two snapshot intervals, so at least one snapshot holds the route.
    await new Promise((r) => setTimeout(r, 2500));
    const files = readdirSync(dir);
    const ribs = files.filter((f) => f.startsWith('rib.')).sort();
    assert.ok(ribs.length >= 1, `no RIB dump written: ${files.join(', ')}`);
    const snapshot = bgpdump(join(dir, ribs[ribs.length - 1]!));
    assert.ok(
      snapshot.some((l) =>
        /^TABLE_DUMP2\|\d+\|B\|127\.2\.0\.3\|65002\|10\.9\.0\.0\/16\|65002\|IGP\|127\.2\.0\.3\|0\|0\|\|NAG\|\|$/.test(
          l,
        ),
      ),
      snapshot.join('\n'),
    );
    assert.ok(
      sp.alive(),
      `speaker died:
${sp.logs().slice(-3000)}`,
    );
    // The log goes to its file every second (and at shutdown).
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(
      readdirSync(dir).includes('updates.mrt'),
      `no update log: ${readdirSync(dir).join(', ')}\n${sp.logs().slice(-2000)}`,
    );
    const log = bgpdump(join(dir, 'updates.mrt'));
    assert.ok(
      log.some((l) =>
        /^BGP4MP_ET\|\d+\.\d{6}\|A\|127\.2\.0\.3\|65002\|10\.9\.0\.0\/16\|65002\|IGP\|127\.2\.0\.3\|0\|0\|\|NAG\|\|$/.test(
          l,
        ),
      ),
      log.join('\n'),
    );
    assert.ok(
      log.some((l) => /^BGP4MP_ET\|\d+\.\d{6}\|STATE\|127\.2\.0\.3\|65002\|5\|6$/.test(l)),
      'the state change to Established is logged',
    );
  },
);
