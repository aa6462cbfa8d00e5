// The btr config: a complete good file, defaults, and mistakes reported at their line,
// column and key (the speaker config's conventions: `file:line:column: key: message`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigError } from '../speaker/config/errors.js';
import { parseBtrConfig } from './config.js';
import { EXAMPLE_BTR_CONFIG } from './testing.js';

const GOOD = EXAMPLE_BTR_CONFIG;

test('a complete config parses into the router, its replica set and its parameters', () => {
  const r = parseBtrConfig(GOOD, 'btr.yaml');
  assert.ok(r.ok, r.ok ? '' : r.error.map((e) => formatConfigError(e)).join('\n'));
  const c = r.value;
  assert.equal(c.asn, 65001);
  assert.equal(c.routerId, '198.18.0.1');
  assert.deepEqual(c.interfaces, [
    {
      name: 'eth0',
      addresses: [
        { address: '198.18.0.1', length: 24 },
        { address: '2001:db8::1', length: 64 },
      ],
    },
  ]);
  assert.deepEqual(c.neighbors[0], {
    name: 'upstream',
    address: '198.18.0.2',
    asn: 65002,
    localAddress: '198.18.0.1',
    passive: false,
    families: ['ipv4-unicast'],
    import: { kind: 'accept-all' },
    export: { kind: 'prefix-list', name: 'customers' },
  });
  // iBGP without policies: accept everything; the name defaults to the address.
  assert.deepEqual(c.neighbors[1], {
    name: '2001:db8::3',
    address: '2001:db8::3',
    asn: 65001,
    passive: true,
    families: ['ipv6-unicast'],
    import: { kind: 'accept-all' },
    export: { kind: 'accept-all' },
  });
  assert.equal(c.prefixLists.get('customers')?.length, 2);
  assert.deepEqual(c.prefixLists.get('customers')?.[1]?.action, 'deny');
  assert.deepEqual(
    c.replicas.map((x) => [x.name, x.implementation, x.standby]),
    [
      ['nonstop-a', 'nonstop', false],
      ['bird-a', 'bird', false],
      ['frr-a', 'frr', false],
      ['gobgp-s', 'gobgp', true],
    ],
  );
  assert.deepEqual(c.replicas[1]?.delay, { minMs: 1, maxMs: 10 });
  assert.equal(c.replicas[2]?.startDelayMs, 500);
  assert.deepEqual(c.voting, {
    strategy: 'wait-for-consensus',
    k: 3,
    steadyMs: 2000,
    faultThreshold: 5,
    windowMs: 30000,
  });
  assert.deepEqual(c.recovery, {
    backoffInitialMs: 500,
    backoffMaxMs: 60000,
    maxRestarts: 10,
    startTimeoutMs: 120000,
  });
  assert.deepEqual(c.control, { socket: '/tmp/btr.sock', http: '127.0.0.1:8180' });
  assert.deepEqual(c.log, { level: 'debug', format: 'text' });
  assert.deepEqual(c.warnings, []);
});

test('defaults: continuous-majority, T = 1 s, threshold 3 in 60 s, the btr socket', () => {
  const r = parseBtrConfig(
    `asn: 65001
router-id: 198.18.0.1
neighbors: [{ address: 198.18.0.2, asn: 65002, import: accept-all, export: accept-all }]
replicas:
  - { name: a, implementation: nonstop }
`,
    'min.yaml',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.value.voting, {
    strategy: 'continuous-majority',
    steadyMs: 1000,
    faultThreshold: 3,
    windowMs: 60000,
  });
  assert.equal(r.value.control.socket, '/run/nonstop/btr.sock');
  assert.deepEqual(r.value.fib, { mode: 'memory', table: 254, pollMs: 500 });
});

/** The formatted errors of `yaml`. */
function errors(yaml: string): string[] {
  const r = parseBtrConfig(yaml, 'btr.yaml');
  assert.ok(!r.ok, 'expected errors');
  return r.error.map((e) => formatConfigError(e));
}

const HEAD = `asn: 65001
router-id: 198.18.0.1
`;
const ONE_NEIGHBOR = `neighbors:
  - { address: 198.18.0.2, asn: 65002, import: accept-all, export: accept-all }
`;

test('mistakes in replicas are reported at their line, column and key', () => {
  const e = errors(`${HEAD}${ONE_NEIGHBOR}replicas:
  - name: a
    implementation: brid
  - name: a
    implementation: frr
  - name: c
    implementation: gobgp
    delay: { min-ms: 10, max-ms: 2 }
    colour: blue
`);
  assert.deepEqual(e, [
    'btr.yaml:7:5: replicas[0].implementation: expected one of nonstop, bird, bird1, frr, gobgp, got "brid"; did you mean bird?',
    'btr.yaml:8:5: replicas[1].name: duplicate replica name a (already at replicas[0])',
    'btr.yaml:12:26: replicas[2].delay.max-ms: expected at least min-ms (10), got 2',
    'btr.yaml:13:5: replicas[2].colour: unknown key; expected one of name, implementation, standby, delay, start-delay-ms',
  ]);
});

test('mistakes in neighbours, policies and voting', () => {
  const e = errors(`${HEAD}neighbors:
  - address: 198.18.0.2
    asn: 0
    import: accept-some
    export: { prefix-list: nope }
  - address: 198.18.0.3
    asn: 65003
    local-address: "2001:db8::1"
    import: reject-all
    export: reject-all
replicas:
  - { name: a, implementation: nonstop }
  - { name: b, implementation: bird }
  - { name: c, implementation: frr }
voting:
  strategy: master-slave
  k: 2
  window-s: 0
`);
  assert.deepEqual(e, [
    'btr.yaml:5:5: neighbors[0].asn: expected an ASN from 1 to 4294967295 (or asdot like 1.10), got 0',
    'btr.yaml:6:5: neighbors[0].import: expected accept-all, reject-all, or { prefix-list: NAME }, got "accept-some"',
    'btr.yaml:7:15: neighbors[0].export.prefix-list: no prefix list named "nope" (prefix-lists is empty)',
    "btr.yaml:10:5: neighbors[1].local-address: expected an IPv4 address, the family of the neighbour's address",
    'btr.yaml:19:3: voting.k: k applies to wait-for-consensus only, not master-slave',
    'btr.yaml:20:3: voting.window-s: expected an integer from 1 to 86400, got 0',
  ]);
});

test('required sections, K out of range, all standbys, YAML syntax', () => {
  assert.deepEqual(errors(`asn: 65001\n`), [
    'btr.yaml:1:1: router-id: required key is missing; expected the BGP Identifier, a dotted quad like 198.18.0.1',
    'btr.yaml:1:1: neighbors: required key is missing; expected a list of neighbours ({ address, asn, … })',
    'btr.yaml:1:1: replicas: required key is missing; expected a list of replicas ({ name, implementation })',
  ]);
  assert.deepEqual(
    errors(`${HEAD}${ONE_NEIGHBOR}replicas:
  - { name: a, implementation: nonstop }
  - { name: b, implementation: bird }
  - { name: c, implementation: frr }
voting: { strategy: wait-for-consensus, k: 1 }
`),
    [
      'btr.yaml:9:41: voting.k: expected an integer from 2 (a majority of the 3 running replicas) to 3, got 1',
    ],
  );
  assert.deepEqual(
    errors(`${HEAD}${ONE_NEIGHBOR}replicas:
  - { name: a, implementation: nonstop, standby: true }
`),
    ['btr.yaml:5:1: replicas: every replica is a standby: at least one must run'],
  );
  const syntax = errors(`${HEAD}replicas: [\n`);
  assert.equal(syntax.length, 1);
  assert.match(syntax[0]!, /^btr\.yaml:\d+:\d+: YAML: /);
});

test('warnings: RFC 8212 on eBGP without policy, an even replica count, an unknown local address', () => {
  const r = parseBtrConfig(
    `${HEAD}interfaces:
  - { name: eth0, addresses: [198.18.0.1/24] }
neighbors:
  - { address: 198.18.0.2, asn: 65002, local-address: 198.18.9.9 }
replicas:
  - { name: a, implementation: nonstop }
  - { name: b, implementation: bird }
`,
    'btr.yaml',
  );
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.warnings.map((w) => formatConfigError(w, 'warning')),
    [
      'btr.yaml:6:5: neighbors[0].import: warning: no import policy on an eBGP neighbour: RFC 8212 rejects every route (set import: accept-all to pass them)',
      'btr.yaml:6:5: neighbors[0].export: warning: no export policy on an eBGP neighbour: RFC 8212 rejects every route (set export: accept-all to pass them)',
      'btr.yaml:6:40: neighbors[0].local-address: warning: 198.18.9.9 is not an address of any interface under interfaces',
      'btr.yaml:7:1: replicas: warning: 2 running replicas: a majority needs 2, so it tolerates no more faulty ones than 1 would',
    ],
  );
  assert.deepEqual(r.value.neighbors[0]?.import, { kind: 'reject-all' });
});

test('fib: mode, table and poll-ms, with mistakes at their line and column', () => {
  const base = `${HEAD}${ONE_NEIGHBOR}replicas: [{ name: a, implementation: nonstop }]\n`;
  const r = parseBtrConfig(`${base}fib: { mode: kernel, table: 100, poll-ms: 250 }\n`, 'b.yaml');
  assert.ok(r.ok);
  assert.deepEqual(r.value.fib, { mode: 'kernel', table: 100, pollMs: 250 });
  const e = errors(`${base}fib: { mode: netlink, table: 255, poll-ms: 1 }\n`);
  assert.equal(e.length, 3);
  assert.match(e[0]!, /^btr\.yaml:6:8: fib\.mode: expected one of memory, kernel, none/);
  assert.match(e[1]!, /fib\.table: expected a routing table id other than 255/);
  assert.match(e[2]!, /fib\.poll-ms: expected an integer from 50 to 3600000/);
});
