// One test per class of mistake. Each YAML text is a list of lines, numbered in the
// comments; the expected positions are the line and column of the key (or list item) the
// error is about, counted from those texts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, editDistance } from './errors.js';
import { formatConfigError, parseSpeakerConfig } from './index.js';

function errors(lines: readonly string[]): string[] {
  const r = parseSpeakerConfig(lines.join('\n') + '\n', 'speaker.yaml');
  if (r.ok) assert.fail('expected errors, but the config was accepted');
  return r.error.map((e) => formatConfigError(e));
}

const HEAD = ['router-id: 198.18.0.1', 'asn: 65001']; // lines 1-2
const ALL = 'policies: { all: { default: accept } }';

test('YAML syntax error: reported alone, at the parser position', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'log: level: info', // 3: a mapping cannot start on the line of its key
      'hold-tme: 3', // 4: never checked, the tree is not trusted
    ]),
    ['speaker.yaml:3:6: YAML: Nested mappings are not allowed in compact mappings'],
  );
  assert.deepEqual(
    errors([
      ...HEAD,
      'asn: 65002', // 3
    ]),
    ['speaker.yaml:3:1: YAML: Map keys must be unique'],
  );
  assert.deepEqual(
    errors([
      ...HEAD,
      'listen:', // 3
      '  - address: 2001:db8::', // 4
    ]),
    [
      'speaker.yaml:4:14: YAML: Nested mappings are not allowed in compact mappings (quote an IPv6 address that starts or ends with a colon: "2001:db8::")',
    ],
  );
});

test('unknown key, with a suggestion when one is close', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'neighbors:', // 4
      '  - address: 198.18.0.2', // 5
      '    asn: 65002', // 6
      '    hold-tme: 30', // 7
      '    import: all', // 8
      '    export: all', // 9
      'colour: blue', // 10
      'fib: { mode: kernel, tabel: 100 }', // 11
    ]),
    [
      'speaker.yaml:7:5: neighbors[0].hold-tme: unknown key; did you mean hold-time?',
      'speaker.yaml:10:1: colour: unknown key; expected one of router-id, asn, listen, control, log, decision, fib, mrt, graceful-restart, route-reflector, static, prefix-lists, as-path-lists, community-lists, policies, neighbors',
      'speaker.yaml:11:22: fib.tabel: unknown key; did you mean table?',
    ],
  );
});

test('unknown key inside a policy (checked by the policy engine)', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'policies:', // 3
      '  p:', // 4
      '    terms:', // 5
      '      - matches: { family: ipv4 }', // 6
      '        final: accept', // 7
    ]),
    ['speaker.yaml:6:9: policies.p.terms[0].matches: unknown key; did you mean match?'],
  );
});

test('missing required key: points at the mapping that lacks it', () => {
  assert.deepEqual(
    errors([
      'asn: 65001', // 1
      'neighbors:', // 2
      '  - address: 198.18.0.2', // 3
      '    description: no asn here', // 4
      'static:', // 5
      '  - next-hop: 198.18.0.1', // 6
    ]),
    [
      'speaker.yaml:1:1: router-id: required key is missing; expected the BGP Identifier, a dotted quad like 198.18.0.1',
      'speaker.yaml:3:5: neighbors[0].asn: required key is missing; expected the peer AS number (equal to the local asn for iBGP)',
      'speaker.yaml:6:5: static[0].prefix: required key is missing; expected a prefix like 198.18.100.0/24',
    ],
  );
});

test('wrong type', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'decision: { prefer-older: yes }', // 4: YAML 1.2: `yes` is a string
      'neighbors:', // 5
      '  - address: 198.18.0.2', // 6
      '    asn: 65002', // 7
      '    hold-time: ninety', // 8
      '    families: ipv4-unicast', // 9
      '    import: [all]', // 10
      '    export: { name: all }', // 11
      'static: 198.18.100.0/24', // 12
    ]),
    [
      'speaker.yaml:4:13: decision.prefer-older: expected true or false, got "yes"',
      'speaker.yaml:8:5: neighbors[0].hold-time: expected 0 or an integer from 3 to 65535, got "ninety"',
      'speaker.yaml:9:5: neighbors[0].families: expected a list of families (ipv4-unicast, ipv6-unicast), got "ipv4-unicast"',
      'speaker.yaml:11:5: neighbors[0].export: expected a list of policy names, got a mapping',
      'speaker.yaml:12:1: static: expected a list of routes ({ prefix, next-hop, … }), got "198.18.100.0/24"',
    ],
  );
});

test('number out of range', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'graceful-restart: { restart-time: 4096 }', // 4: 12 bits
      'neighbors:', // 5
      '  - address: 198.18.0.1', // 6
      '    asn: 65002', // 7
      '    import: all', // 8
      '    export: all', // 9
      '  - address: 198.18.0.2', // 10
      '    asn: 65002', // 11
      '    hold-time: 2', // 12
      '    port: 70000', // 13
      '    import: all', // 14
      '    export: all', // 15
    ]),
    [
      'speaker.yaml:4:21: graceful-restart.restart-time: expected an integer from 0 to 4095, got 4096',
      'speaker.yaml:12:5: neighbors[1].hold-time: expected 0 or an integer from 3 to 65535, got 2',
      'speaker.yaml:13:5: neighbors[1].port: expected an integer from 1 to 65535, got 70000',
    ],
  );
});

test('bad address, prefix, router-id and ASN', () => {
  assert.deepEqual(
    errors([
      'router-id: 0.0.0.0', // 1
      'asn: 4294967296', // 2
      ALL, // 3
      'static:', // 4
      '  - prefix: 198.18.100.1/24', // 5
      '  - prefix: 198.18.300.0/24', // 6
      'neighbors:', // 7
      '  - address: 198.18.0.256', // 8
      '    asn: 1.65536', // 9
      '  - address: 198.18.0.3', // 10
      '    asn: 23456', // 11
      '  - { address: [::], asn: 65002 }', // 12: YAML reads [::] as a list holding a mapping
    ]),
    [
      'speaker.yaml:1:1: router-id: expected a non-zero IPv4 address (dotted quad) like 198.18.0.1, got "0.0.0.0"',
      'speaker.yaml:2:1: asn: expected an ASN from 1 to 4294967295 (or asdot like 1.10), got 4294967296',
      'speaker.yaml:5:5: static[0].prefix: expected a prefix without host bits set (all bits after /24 zero), got "198.18.100.1/24"',
      'speaker.yaml:6:5: static[1].prefix: expected a prefix like 198.18.100.0/24 or 2001:db8::/32, got "198.18.300.0/24"',
      'speaker.yaml:8:5: neighbors[0].address: expected an IPv4 or IPv6 address, got "198.18.0.256"',
      'speaker.yaml:9:5: neighbors[0].asn: expected an ASN from 1 to 4294967295 (or asdot like 1.10), got 1.65536',
      'speaker.yaml:11:5: neighbors[1].asn: expected an ASN from 1 to 4294967295 (or asdot like 1.10); 23456 is AS_TRANS (RFC 6793), not a real AS, got 23456',
      'speaker.yaml:12:7: neighbors[2].address: expected an IPv4 or IPv6 address, got a list (quote IPv6 addresses that start or end with a colon: "2001:db8::")',
    ],
  );
});

test('duplicate neighbor address, also when written differently', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'neighbors:', // 4
      '  - { address: 2001:db8::1, asn: 65002, import: all, export: all }', // 5
      '  - { address: 198.18.0.2, asn: 65002, import: all, export: all }', // 6
      '  - { address: 2001:DB8:0::1, asn: 65003, import: all, export: all }', // 7
    ]),
    [
      'speaker.yaml:7:7: neighbors[2].address: duplicate neighbor address 2001:db8::1 (already at neighbors[0], line 5)',
    ],
  );
});

test('reference to an undefined policy, prefix-list, as-path-list or community-list', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'prefix-lists: { bogons: [{ prefix: 0.0.0.0/8, le: 32 }] }', // 3
      "as-path-lists: { from-65002: ['^65002_'] }", // 4
      'community-lists: { blackhole: [65535:666] }', // 5
      'policies:', // 6
      '  in:', // 7
      '    terms:', // 8
      '      - match: { prefix-list: bogon }', // 9
      '        final: reject', // 10
      '      - match: { as-path: from-65003 }', // 11
      '        final: reject', // 12
      '      - match: { community: { none: black-hole } }', // 13
      '        final: accept', // 14
      'neighbors:', // 15
      '  - address: 198.18.0.2', // 16
      '    asn: 65002', // 17
      '    import: [in, customer-inn]', // 18
      '    export: out', // 19
    ]),
    [
      'speaker.yaml:9:18: policies.in.terms[0].match.prefix-list: expected the name of a list under prefix-lists (defined: bogons), got "bogon"',
      'speaker.yaml:11:18: policies.in.terms[1].match.as-path: expected the name of a list under as-path-lists (defined: from-65002), got "from-65003"',
      'speaker.yaml:13:31: policies.in.terms[2].match.community.none: expected the name of a list under community-lists (defined: blackhole), got "black-hole"; did you mean blackhole?',
      'speaker.yaml:18:18: neighbors[0].import[1]: expected the name of a policy under policies (defined: in), got "customer-inn"',
      'speaker.yaml:19:5: neighbors[0].export: expected the name of a policy under policies (defined: in), got "out"',
    ],
  );
});

test('a bad entry of a community-list is reported where the list is', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'community-lists:', // 3
      '  ours: [65001:100, 65001:99999]', // 4
      'policies: { p: { terms: [{ match: { community: ours }, final: accept }] } }', // 5
    ]),
    [
      'speaker.yaml:4:21: community-lists.ours[1]: expected a community like 65001:100 or no-export, a large community like 65001:1:2, or an extended community like rt:65001:100 (any part may be *), got "65001:99999"',
    ],
  );
});

test('invalid AS-path regex', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'as-path-lists:', // 3
      '  letters:', // 4
      "    - '^65002[a-z]'", // 5
      '  nested:', // 6
      "    - regex: '(.*)*'", // 7
      '      action: deny', // 8
    ]),
    [
      'speaker.yaml:5:7: as-path-lists.letters[0]: expected an AS-path regex: only digits, ^ and - inside [...], not "a", got "^65002[a-z]"',
      'speaker.yaml:7:7: as-path-lists.nested[0].regex: expected an AS-path regex: no repetition of a group that itself repeats something unboundedly (exponential backtracking), e.g. (.*)* or ([0-9]+ ?)*; repeat digits only next to a _ as in (_[0-9]+)*, got "(.*)*"',
    ],
  );
});

test('unknown family name, and ADD-PATH for a family the neighbor does not have', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'neighbors:', // 4
      '  - address: 198.18.0.2', // 5
      '    asn: 65002', // 6
      '    families: [ipv4-unicst, ipv4-flowspec]', // 7
      '    add-path: { send: [ipv6-unicast] }', // 8
      '    import: all', // 9
      '    export: all', // 10
    ]),
    [
      'speaker.yaml:7:16: neighbors[0].families[0]: expected a family (ipv4-unicast, ipv6-unicast), got "ipv4-unicst"; did you mean ipv4-unicast?',
      'speaker.yaml:7:29: neighbors[0].families[1]: expected a family (ipv4-unicast, ipv6-unicast), got "ipv4-flowspec"',
      'speaker.yaml:8:24: neighbors[0].add-path.send[0]: expected one of the neighbor\'s families (ipv4-unicast), got "ipv6-unicast"',
    ],
  );
});

test('next-hop of the wrong family', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'static:', // 4
      '  - prefix: 2001:db8:1::/48', // 5
      '    next-hop: 198.18.0.1', // 6
      '  - { prefix: 198.18.100.0/24, next-hop: "2001:db8::1" }', // 7
      'neighbors:', // 8
      '  - address: 2001:db8::2', // 9
      '    local-address: 198.18.0.1', // 10
      '    asn: 65001', // 11
    ]),
    [
      'speaker.yaml:6:5: static[0].next-hop: expected an IPv6 address (the prefix 2001:db8:1::/48 is IPv6), got "198.18.0.1"',
      'speaker.yaml:7:32: static[1].next-hop: expected an IPv4 address (the prefix 198.18.100.0/24 is IPv4), got "2001:db8::1"',
      'speaker.yaml:10:5: neighbors[0].local-address: expected an IPv6 address (the neighbor address is IPv6), got "198.18.0.1"',
    ],
  );
});

test('le / ge inconsistent with the prefix length', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'prefix-lists:', // 3
      '  l:', // 4
      '    - { prefix: 198.18.0.0/15, le: 8 }', // 5
      '    - { prefix: 198.18.0.0/15, ge: 24, le: 20 }', // 6
      '    - { prefix: 198.18.0.0/15, ge: 33 }', // 7
    ]),
    [
      'speaker.yaml:5:32: prefix-lists.l[0].le: expected an integer (at least the prefix length and ge) from 15 to 32, got 8',
      'speaker.yaml:6:40: prefix-lists.l[1].le: expected an integer (at least the prefix length and ge) from 24 to 32, got 20',
      'speaker.yaml:7:32: prefix-lists.l[2].ge: expected an integer (at least the prefix length) from 15 to 32, got 33',
    ],
  );
});

test('route-reflector-client on an eBGP neighbor', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      ALL, // 3
      'neighbors:', // 4
      '  - { address: 198.18.0.2, asn: 65002, route-reflector-client: true, import: all, export: all }', // 5
    ]),
    [
      'speaker.yaml:5:40: neighbors[0].route-reflector-client: expected false for an eBGP neighbor (route reflection is iBGP only, RFC 4456)',
    ],
  );
});

test('every error is reported at once, in file order', () => {
  const errs = errors([
    'router-id: 198.18.0', // 1
    'asn: 65001', // 2
    'log: { level: verbose }', // 3
    'neighbors:', // 4
    '  - address: 198.18.0.2', // 5
    '    asn: 65002', // 6
    '    hold-time: 1', // 7
    '    import: [missing]', // 8
    '  - address: 198.18.0.2', // 9
    '    asn: 65003', // 10
  ]);
  assert.deepEqual(
    errs.map((e) => e.split(': ').slice(0, 2).join(': ')),
    [
      'speaker.yaml:1:1: router-id',
      'speaker.yaml:3:8: log.level',
      'speaker.yaml:7:5: neighbors[0].hold-time',
      'speaker.yaml:8:14: neighbors[0].import[0]',
      'speaker.yaml:9:5: neighbors[1].address',
    ],
  );
});

test('an empty file and a file that is not a mapping', () => {
  assert.deepEqual(errors([]), [
    'speaker.yaml:1:1: expected a mapping with at least router-id and asn (keys: router-id, asn, listen, control, log, decision, fib, mrt, graceful-restart, route-reflector, static, prefix-lists, as-path-lists, community-lists, policies, neighbors), got nothing',
  ]);
});

test('error formatting without a position', () => {
  assert.equal(
    formatConfigError({ file: 'x.yaml', line: 0, column: 0, key: '', message: 'cannot read' }),
    'x.yaml: cannot read',
  );
});

test('suggestions only for plausible typos', () => {
  assert.equal(editDistance('hold-tme', 'hold-time'), 1);
  assert.equal(editDistance('tabel', 'table'), 1); // a transposition is one typo
  assert.equal(closest('hold-tme', ['hold-time', 'port']), 'hold-time');
  assert.equal(closest('colour', ['router-id', 'asn', 'control']), undefined);
});

test('control.http on a non-loopback address', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'control: { http: 198.18.0.1:8179 }', // 3
    ]),
    [
      'speaker.yaml:3:12: control.http: expected a loopback address (127.0.0.1, ::1 or localhost): the control API has no authentication, got "198.18.0.1:8179"',
    ],
  );
});

test('the same static prefix twice', () => {
  assert.deepEqual(
    errors([
      ...HEAD,
      'static:', // 3
      '  - prefix: 198.18.100.0/24', // 4
      '  - prefix: 198.18.100.0/24', // 5
      '    med: 10', // 6
    ]),
    [
      'speaker.yaml:5:5: static[1].prefix: duplicate static route 198.18.100.0/24 (already at static[0])',
    ],
  );
});
