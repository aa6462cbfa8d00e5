import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { formatAddr, formatPrefix } from '../../lib/ip.js';
import { formatConfigError, parseSpeakerConfig, type SpeakerConfig } from './index.js';

/** The config example of docs/speaker.md, read from the file so the two cannot drift. */
function docsExample(): string {
  const md = readFileSync(new URL('../../../../docs/speaker.md', import.meta.url), 'utf8');
  const m = /## Configuration \(YAML\)[\s\S]*?```yaml\n([\s\S]*?)```/.exec(md);
  assert.ok(m, 'docs/speaker.md has a yaml block under "Configuration (YAML)"');
  return m[1]!;
}

function parse(text: string): SpeakerConfig {
  const r = parseSpeakerConfig(text, 'speaker.yaml');
  if (!r.ok) assert.fail(r.error.map((e) => formatConfigError(e)).join('\n'));
  return r.value;
}

test('the example of docs/speaker.md parses without errors or warnings', () => {
  const c = parse(docsExample());
  assert.deepEqual(c.warnings, []);
  assert.equal(formatAddr(c.routerId), '198.18.0.1');
  assert.equal(c.asn, 65001);
  assert.deepEqual(
    c.listen.map((l) => [formatAddr(l.address), l.port]),
    [['0.0.0.0', 179]],
  );
  assert.equal(c.control.socket, '/run/nonstop/speaker.sock');
  assert.equal(c.control.http, '127.0.0.1:8179');
  assert.deepEqual(c.mrt, {
    ribDump: { path: '/var/lib/nonstop/rib.%Y%m%d%H%M.mrt', interval: 300 },
    updates: { path: '/var/lib/nonstop/updates.%Y%m%d%H%M.mrt', rotate: 300 },
  });
  assert.equal(c.static.length, 1);
  const s = c.static[0]!;
  assert.equal(formatPrefix(s.prefix), '198.18.100.0/24');
  assert.equal(s.nextHop instanceof Uint8Array && formatAddr(s.nextHop), '198.18.0.1');
  assert.deepEqual(s.communities, [65001 * 65536 + 100]);
  assert.deepEqual(s.largeCommunities, [[65001, 1, 2]]);
  assert.equal(s.localPref, 100);
  assert.equal(s.med, 0);
  assert.deepEqual([...c.policies.keys()], ['customer-in', 'all']);
  assert.deepEqual([...c.policyEnv.prefixLists.keys()], ['bogons', 'customers']);
  assert.deepEqual([...c.policyEnv.asPathLists.keys()], ['from-65002']);

  const n = c.neighbors[0]!;
  assert.equal(n.key, '198.18.0.2');
  assert.equal(n.asn, 65002);
  assert.equal(n.ibgp, false);
  assert.equal(n.description, 'upstream-a');
  assert.equal(n.localAddress && formatAddr(n.localAddress), '198.18.0.1');
  assert.deepEqual(n.families, [
    { name: 'ipv4-unicast', afi: 1, safi: 1 },
    { name: 'ipv6-unicast', afi: 2, safi: 1 },
  ]);
  assert.deepEqual(n.addPath, {
    receive: [{ name: 'ipv4-unicast', afi: 1, safi: 1 }],
    send: [{ name: 'ipv4-unicast', afi: 1, safi: 1 }],
    sendMax: 4,
  });
  assert.deepEqual(n.import.names, ['customer-in']);
  assert.equal(n.import.chain[0], c.policies.get('customer-in'));
  assert.deepEqual(n.export.names, ['all']);
  assert.deepEqual(n.maxPrefix, { limit: 1000, action: 'shutdown', restart: 0 });
});

test('the community-list named in a match is the one used', () => {
  const c = parse(docsExample());
  const terms = c.policies.get('customer-in')!.terms.map((t) => t.label);
  assert.deepEqual(terms, ['"bogons" (terms[0])', '"no-blackhole" (terms[1])', '"tag" (terms[2])']);
  assert.match(c.policyFingerprints.get('customer-in')!, /65535:666/);
});

test('every default is filled in as docs/speaker.md says', () => {
  const c = parse(
    [
      'router-id: 198.18.0.1',
      'asn: 65001',
      'neighbors:',
      '  - address: 198.18.0.3',
      '    asn: 65001',
      '  - address: 2001:db8::3',
      '    asn: 65003',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    c.listen.map((l) => [formatAddr(l.address), l.port]),
    [
      ['0.0.0.0', 179],
      ['::', 179],
    ],
  );
  assert.deepEqual(c.control, { socket: '/run/nonstop/speaker.sock' });
  assert.deepEqual(c.log, { level: 'info', format: 'json' });
  assert.deepEqual(c.decision, {
    deterministicMed: true,
    alwaysCompareMed: false,
    medMissingAsWorst: false,
    ignoreAsPathLength: false,
    preferOlder: false,
  });
  assert.deepEqual(c.fib, { mode: 'memory', table: 254, keepOnExit: false });
  assert.deepEqual(c.mrt, {});
  assert.deepEqual(c.gracefulRestart, { restartTime: 120, staleRoutesTime: 360 });
  assert.equal(formatAddr(c.routeReflector.clusterId), '198.18.0.1');
  assert.deepEqual(c.static, []);
  assert.equal(c.policies.size, 0);

  const [ibgp, ebgp] = c.neighbors;
  assert.ok(ibgp && ebgp);
  const { address: _a, import: imp, export: exp, ...rest } = ibgp;
  assert.deepEqual(rest, {
    key: '198.18.0.3',
    asn: 65001,
    ibgp: true,
    port: 179,
    passive: false,
    holdTime: 90,
    connectRetry: 120,
    delayOpen: 0,
    families: [{ name: 'ipv4-unicast', afi: 1, safi: 1 }],
    addPath: { receive: [], send: [], sendMax: 4 },
    nextHopSelf: false,
    softReconfigurationInbound: false,
    routeReflectorClient: false,
    gracefulRestart: true,
    mrai: 0,
    inactive: false,
  });
  // No policy: iBGP accepts everything, eBGP rejects everything (RFC 8212).
  assert.deepEqual(imp.names, []);
  assert.deepEqual([imp.chain[0]?.name, exp.chain[0]?.name], ['ibgp-import', 'ibgp-export']);
  assert.equal(ebgp.key, '2001:db8::3');
  assert.deepEqual(ebgp.families, [{ name: 'ipv6-unicast', afi: 2, safi: 1 }]);
  assert.deepEqual(
    [ebgp.import.chain[0]?.name, ebgp.export.chain[0]?.name],
    ['rfc8212-import', 'rfc8212-export'],
  );
});

test('an eBGP neighbor without policies is a warning, not an error', () => {
  const c = parse(
    [
      'router-id: 198.18.0.1', // 1
      'asn: 65001', // 2
      'neighbors:', // 3
      '  - address: 198.18.0.2', // 4: the neighbor mapping starts at column 5
      '    asn: 65002', // 5
      '    export: []', // 6
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    c.warnings.map((w) => formatConfigError(w, 'warning')),
    [
      'speaker.yaml:4:5: neighbors[0].import: warning: no import policy on eBGP neighbor 198.18.0.2 (AS 65002): every route it sends is rejected (RFC 8212)',
      'speaker.yaml:6:5: neighbors[0].export: warning: no export policy on eBGP neighbor 198.18.0.2 (AS 65002): no route is advertised to it (RFC 8212)',
    ],
  );
});

test('ASNs: plain, 4-octet and asdot', () => {
  const text = (asn: string): string =>
    `router-id: 198.18.0.1\nasn: ${asn}\nneighbors: [{ address: 198.18.0.2, asn: 1.0, import: [], export: [] }]\n`;
  assert.equal(parse(text('65001')).asn, 65001);
  assert.equal(parse(text('4200000000')).asn, 4200000000);
  assert.equal(parse(text('1.10')).asn, 65546);
  assert.equal(parse(text('"1.10"')).asn, 65546);
  assert.equal(parse(text('65001')).neighbors[0]!.asn, 65536);
});

test('a policy name alone is a chain of one; null values take the default', () => {
  const c = parse(
    [
      'router-id: 198.18.0.1',
      'asn: 65001',
      'log:',
      'policies: { all: { default: accept } }',
      'neighbors:',
      '  - { address: 198.18.0.2, asn: 65002, import: all, export: all, hold-time: }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(c.log, { level: 'info', format: 'json' });
  const n = c.neighbors[0]!;
  assert.deepEqual([n.import.names, n.export.names, n.holdTime], [['all'], ['all'], 90]);
});

test('YAML anchors and aliases are followed', () => {
  const c = parse(
    [
      'router-id: 198.18.0.1',
      'asn: 65001',
      'policies: { all: { default: accept } }',
      'neighbors:',
      '  - { address: 198.18.0.2, asn: 65002, import: &p [all], export: *p }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(c.neighbors[0]!.export.names, ['all']);
});
