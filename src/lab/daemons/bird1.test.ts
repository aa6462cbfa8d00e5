// BIRD 1.6 config generation: one config per family, no channels, and every option the
// adapter can emit accepted by BIRD 1.6's own parser (`bird -p`, `bird6 -p`) when
// scripts/setup.sh has unpacked it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Bird1Daemon, bird1Binary, bird1Config, bird1Families } from './bird1.js';
import type { DaemonHost, DaemonSpec, RouteSpec } from './types.js';

const SPEC: DaemonSpec = {
  name: 'b1',
  ns: 'nst-unused',
  routerId: '198.18.0.2',
  asn: 65002,
  kernelFib: true,
  neighbors: [
    { address: '198.18.0.1', asn: 65002, routeReflectorClient: true, addPath: true },
    { address: '198.18.0.9', asn: 65009, passive: true, receiveOnly: true, holdTime: 30 },
    { address: '2001:db8::1', asn: 65001, localAddress: '2001:db8::2', gracefulRestart: true },
  ],
};
const ROUTES: RouteSpec[] = [
  { prefix: '198.19.0.0/24', nextHop: '198.18.0.1', localPref: 200, med: 1, communities: ['1:2'] },
  { prefix: '2001:db8:5::/48', communities: ['65002:3'] },
];

test('one config per family: its own neighbours, statics and filter, no channels', () => {
  const c4 = bird1Config(SPEC, 'ipv4', ROUTES);
  const c6 = bird1Config(SPEC, 'ipv6', ROUTES);
  // Protocol names keep the neighbour's index in the spec across both daemons.
  assert.deepEqual(
    [...c4.matchAll(/protocol bgp (\S+)/g)].map((m) => m[1]),
    ['nst_n0', 'nst_n1'],
  );
  assert.deepEqual(
    [...c6.matchAll(/protocol bgp (\S+)/g)].map((m) => m[1]),
    ['nst_n2'],
  );
  assert.match(c4, /route 198\.19\.0\.0\/24 via 198\.18\.0\.1;/);
  assert.doesNotMatch(c4, /2001:db8:5::/);
  assert.match(c6, /route 2001:db8:5::\/48 blackhole;/);
  assert.doesNotMatch(c4 + c6, /\bipv[46] \{/);
  assert.match(c4, /neighbor 198\.18\.0\.9 as 65009;[^}]*passive on;[^}]*export none;/);
  assert.match(c4, /neighbor 198\.18\.0\.1 as 65002;[^}]*rr client;[^}]*add paths on;/);
  assert.match(c6, /local 2001:db8::2 as 65002;[^}]*graceful restart on;/);
  assert.match(c4, /export where source = RTS_BGP;/);
  assert.match(bird1Config({ ...SPEC, kernelFib: false }, 'ipv4', []), /import none; export none;/);
});

test('bird6 only with IPv6 neighbours; bird with IPv4 neighbours or none', () => {
  const v4 = SPEC.neighbors.slice(0, 1);
  const v6 = SPEC.neighbors.slice(2);
  assert.deepEqual(bird1Families(SPEC), ['ipv4', 'ipv6']);
  assert.deepEqual(bird1Families({ ...SPEC, neighbors: v4 }), ['ipv4']);
  assert.deepEqual(bird1Families({ ...SPEC, neighbors: v6 }), ['ipv6']);
  assert.deepEqual(bird1Families({ ...SPEC, neighbors: [] }), ['ipv4']);
});

test('a neighbour asking for another family than its session is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-bird1-test-'));
  try {
    const host = { dir, ns: 'nst-unused' } as DaemonHost;
    const spec = {
      ...SPEC,
      neighbors: [
        { address: '198.18.0.1', asn: 65001, families: ['ipv4' as const, 'ipv6' as const] },
      ],
    };
    assert.throws(() => new Bird1Daemon(spec, host), /carries only the session's own family/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BIRD 1.6 parses the generated configs (bird -p, bird6 -p)', (t) => {
  if (!existsSync(bird1Binary('bird')) || !existsSync(bird1Binary('bird6'))) {
    return t.skip(`BIRD 1.6 not unpacked at ${bird1Binary('bird')} (scripts/setup.sh)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-bird1-test-'));
  try {
    for (const [family, daemon] of [
      ['ipv4', 'bird'],
      ['ipv6', 'bird6'],
    ] as const) {
      const conf = join(dir, `${daemon}.conf`);
      writeFileSync(conf, bird1Config(SPEC, family, ROUTES));
      const r = spawnSync(bird1Binary(daemon), ['-p', '-c', conf], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${daemon} -p: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
