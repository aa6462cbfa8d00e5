import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAttribute } from '../wire/index.js';
import {
  compilePolicy,
  compilePolicyConfig,
  defaultPolicy,
  effectiveChain,
  evaluateChain,
  evaluatePolicy,
  resolveChain,
} from './policy.js';
import {
  asPath,
  communities,
  compile,
  compileFrom,
  med,
  nextHop,
  origin,
  route,
  SEQ,
} from './testing.js';

const ctx = { localAsn: 64512 };

test('terms run in order; the first accept/reject decides', () => {
  const p = compile(
    {
      terms: [
        {
          name: 'bogons',
          match: { 'prefix-list': [{ prefix: '198.18.0.0/15', le: 32 }] },
          final: 'reject',
        },
        { name: 'all', then: ['accept'] },
      ],
    },
    'customer-in',
  );
  const r1 = evaluatePolicy(p, route('198.18.1.0/24'), ctx);
  assert.equal(r1.action, 'reject');
  assert.equal(r1.reason, 'customer-in: term "bogons" (terms[0]) rejected the route');
  const r2 = evaluatePolicy(p, route('203.0.113.0/24'), ctx);
  assert.equal(r2.action, 'accept');
  assert.equal(r2.reason, 'customer-in: term "all" (terms[1]) accepted the route');
});

test('final next keeps modifications and continues; later terms see them', () => {
  const p = compile({
    terms: [
      { then: [{ 'set-local-pref': 50 }, { 'add-community': ['65001:1'] }] },
      { match: { community: ['65001:1'] }, then: [{ 'set-med': 9 }], final: 'next' },
      { match: { 'prefix-length': { max: 24 } }, final: 'accept' },
    ],
    default: 'reject',
  });
  const r = evaluatePolicy(p, route('203.0.113.0/24'), ctx);
  assert.equal(r.action, 'accept');
  assert.equal(findAttribute(r.attributes, 'local-pref')?.localPref, 50);
  assert.equal(findAttribute(r.attributes, 'med')?.med, 9);
  assert.equal(r.reason, 'test: term terms[2] accepted the route');
  // Too long: falls to the default; a reject returns the input attributes.
  const input = route('203.0.113.0/25');
  const r2 = evaluatePolicy(p, input, ctx);
  assert.equal(r2.action, 'reject');
  assert.equal(r2.reason, 'test: no term decided; default reject');
  assert.equal(r2.attributes, input.attributes);
});

test('an empty match holds for every route; a term that does not match does nothing', () => {
  const p = compile({
    terms: [
      { match: { 'route-type': 'ibgp' }, then: [{ 'set-local-pref': 1 }, 'reject'] },
      { match: {}, final: 'accept' },
    ],
  });
  const r = evaluatePolicy(p, route('203.0.113.0/24'), ctx);
  assert.equal(r.action, 'accept');
  assert.equal(findAttribute(r.attributes, 'local-pref'), undefined);
  assert.equal(
    evaluatePolicy(p, route('203.0.113.0/24', undefined, { ibgp: true }), ctx).action,
    'reject',
  );
});

test('other matches: origin, next hop, peer ASN/address, path length, family, length', () => {
  const attrs = [origin(2), asPath([SEQ(65001, 65002, 65003)]), nextHop('198.18.5.5'), med(1)];
  const r = route('203.0.113.0/24', attrs, { asn: 65001, address: Uint8Array.of(198, 18, 0, 2) });
  const holds = (match: unknown): boolean =>
    evaluatePolicy(compile({ terms: [{ match, final: 'accept' }], default: 'reject' }), r, ctx)
      .action === 'accept';
  assert.equal(holds({ origin: 'incomplete' }), true);
  assert.equal(holds({ origin: ['igp', 'egp'] }), false);
  assert.equal(holds({ 'next-hop': '198.18.0.0/16' }), true);
  assert.equal(holds({ 'next-hop': ['198.18.5.4', '2001:db8::/32'] }), false);
  assert.equal(holds({ 'next-hop': '198.18.5.5' }), true);
  assert.equal(holds({ 'peer-asn': [65001, 65002] }), true);
  assert.equal(holds({ 'peer-asn': 65002 }), false);
  assert.equal(holds({ 'peer-address': '198.18.0.2' }), true);
  assert.equal(holds({ 'as-path-length': { min: 3, max: 3 } }), true);
  assert.equal(holds({ 'as-path-length': { max: 2 } }), false);
  assert.equal(holds({ family: 'ipv4' }), true);
  assert.equal(holds({ family: 'ipv6' }), false);
  assert.equal(holds({ 'prefix-length': 24 }), true);
  assert.equal(
    holds({ 'route-type': 'ebgp', 'prefix-length': { min: 25 } }),
    false,
    'all must hold',
  );
});

test('chains: default next falls through to the next policy; end of chain rejects', () => {
  const tag = compile({ terms: [{ then: [{ 'add-community': ['65000:1'] }] }] }, 'tag');
  const allow = compile(
    { terms: [{ match: { community: ['65000:1'] }, final: 'accept' }] },
    'allow',
  );
  const r = evaluateChain([tag, allow], route('203.0.113.0/24'), ctx);
  assert.equal(r.action, 'accept');
  assert.equal(r.reason, 'allow: term terms[0] accepted the route');
  const end = evaluateChain([tag], route('203.0.113.0/24'), ctx);
  assert.equal(end.action, 'reject');
  assert.match(end.reason, /end of policy chain \(tag\).*implicit reject/);
  assert.equal(evaluateChain([], route('203.0.113.0/24'), ctx).action, 'reject');
});

test('RFC 8212: no policy rejects eBGP both ways, accepts iBGP', () => {
  const r = route('203.0.113.0/24');
  const imp = evaluatePolicy(defaultPolicy('import', true), r, ctx);
  assert.deepEqual(
    [imp.action, imp.reason],
    ['reject', 'RFC 8212: no import policy configured for eBGP peer'],
  );
  const exp = evaluatePolicy(defaultPolicy('export', true), r, ctx);
  assert.deepEqual(
    [exp.action, exp.reason],
    ['reject', 'RFC 8212: no export policy configured for eBGP peer'],
  );
  const ibgp = evaluatePolicy(defaultPolicy('import', false), r, ctx);
  assert.equal(ibgp.action, 'accept');
  assert.equal(ibgp.attributes, r.attributes);
  assert.equal(effectiveChain(undefined, 'export', true)[0]!.name, 'rfc8212-export');
  assert.equal(effectiveChain([], 'import', false)[0]!.name, 'ibgp-import');
  const mine = compile({ default: 'accept' });
  assert.deepEqual(effectiveChain([mine], 'import', true), [mine]);
});

test('named prefix and AS-path lists, and chain resolution', () => {
  const section = {
    'prefix-lists': {
      bogons: [
        { prefix: '198.18.0.0/15', le: 32 },
        { prefix: '2001:db8::/32', le: 128 },
      ],
    },
    'as-path-lists': { 'from-65001': ['^65001_'] },
    policies: {
      'customer-in': {
        terms: [
          { name: 'bogons', match: { 'prefix-list': 'bogons' }, final: 'reject' },
          {
            name: 'customer',
            match: { 'as-path': 'from-65001' },
            then: [{ 'set-local-pref': 200 }, 'accept'],
          },
        ],
        default: 'reject',
      },
    },
  };
  const p = compileFrom(section, 'customer-in');
  assert.equal(evaluatePolicy(p, route('2001:db8:5::/48', [origin()]), ctx).action, 'reject');
  const ok = evaluatePolicy(p, route('203.0.113.0/24'), ctx);
  assert.equal(ok.action, 'accept');
  assert.equal(findAttribute(ok.attributes, 'local-pref')?.localPref, 200);
  const set = compilePolicyConfig(section);
  assert.ok(set.ok);
  const chain = resolveChain(set.value, ['customer-in'], 'peers[0].import');
  assert.ok(chain.ok);
  assert.deepEqual(
    chain.value.map((x) => x.name),
    ['customer-in'],
  );
  const bad = resolveChain(set.value, ['customer-in', 'nope'], 'peers[0].import');
  assert.ok(!bad.ok);
  assert.equal(
    bad.error[0]!.message,
    'peers[0].import[1]: expected a policy name (customer-in), got "nope"',
  );
});

test('compilePolicy errors name the key path and what is expected', () => {
  const r = compilePolicy(
    {
      terms: [
        { name: 'a', final: 'accept' },
        { name: 'a' },
        {
          match: {
            'prefix-list': [{ prefix: '198.18.0.0/15' }, { prefix: '198.18.0.0/33' }],
            community: ['65001:x'],
            'large-community': { all: ['1:2'] },
            'as-path': ['^AS1'],
            origin: 'bgp',
            'next-hop': ['300.1.1.1'],
            'route-type': 'internal',
            'prefix-length': { min: 24, max: 8 },
            colour: 'red',
          },
          then: [
            'accept',
            { 'set-med': '*2' },
            { 'set-local-pref': -1 },
            { 'add-community': ['65001:*'] },
            { prepend: 0 },
            { 'set-next-hop': 'me' },
            { frobnicate: 1 },
            { 'set-med': 1, 'set-local-pref': 2 },
          ],
          final: 'maybe',
        },
        { then: ['reject'], final: 'accept' },
      ],
      default: 'drop',
      extra: true,
    },
    'customer-in',
  );
  assert.ok(!r.ok);
  const byPath = new Map(r.error.map((e) => [e.path, e.message]));
  const t = 'policies.customer-in.terms[2]';
  const expected: [string, RegExp][] = [
    ['policies.customer-in.extra', /expected one of the keys terms, default/],
    ['policies.customer-in.default', /expected one of accept, reject, next, got "drop"/],
    ['policies.customer-in.terms[1].name', /not used by another term/],
    [
      `${t}.match.prefix-list[1].prefix`,
      /expected a prefix like 198\.18\.0\.0\/15.*got "198\.18\.0\.0\/33"/,
    ],
    [`${t}.match.community[0]`, /expected a community like 65001:100.*got "65001:x"/],
    [`${t}.match.large-community.all[0]`, /expected a large community/],
    [`${t}.match.as-path[0]`, /expected an AS-path regex: only digits.*not "A"/],
    [`${t}.match.origin`, /expected one of igp, egp, incomplete, got "bgp"/],
    [`${t}.match.next-hop[0]`, /expected an IPv4\/IPv6 address or prefix/],
    [`${t}.match.route-type`, /one of ibgp, ebgp/],
    [`${t}.match.prefix-length.max`, /at least min \(24\), got 8/],
    [`${t}.match.colour`, /one of the keys prefix-list, /],
    [`${t}.then[0]`, /accept only as the last action/],
    [`${t}.then[1].set-med`, /\+n \/ -n/],
    [`${t}.then[2].set-local-pref`, /integer from 0 to 4294967295, got -1/],
    [`${t}.then[3].add-community[0]`, /a concrete value/],
    [`${t}.then[4].prepend`, /a count from 1 to 255, got 0/],
    [`${t}.then[5].set-next-hop`, /address or self, got "me"/],
    [`${t}.then[6].frobnicate`, /one of the actions accept, reject, set-local-pref/],
    [`${t}.then[7]`, /a mapping with one key/],
    [`${t}.final`, /one of accept, reject, next, got "maybe"/],
    [
      'policies.customer-in.terms[3].final',
      /reject \(the then list already ends with reject\), got "accept"/,
    ],
  ];
  for (const [path, re] of expected) {
    const m = byPath.get(path);
    assert.ok(m, `no error at ${path}; got:\n${r.error.map((e) => e.message).join('\n')}`);
    assert.match(m, re);
    assert.ok(m.startsWith(`${path}: expected `));
  }
  assert.equal(r.error.length, expected.length, r.error.map((e) => e.message).join('\n'));
});

test('unknown named lists and top-level mistakes are reported with their paths', () => {
  const r = compilePolicyConfig({
    'prefix-lists': { pl: [{ prefix: '198.18.0.0/15', le: 8 }] },
    'as-path-lists': { ap: [{ regex: 5 }] },
    policies: {
      p: { terms: [{ match: { 'prefix-list': 'missing', 'as-path': 'gone' } }] },
      q: 'x',
    },
    peers: [],
  });
  assert.ok(!r.ok);
  assert.deepEqual(
    r.error.map((e) => e.path),
    [
      '(top level).peers',
      'prefix-lists.pl[0].le',
      'as-path-lists.ap[0].regex',
      'policies.p.terms[0].match.prefix-list',
      'policies.p.terms[0].match.as-path',
      'policies.q',
    ],
  );
  assert.match(
    r.error[3]!.message,
    /a list under prefix-lists \(none are defined\), got "missing"/,
  );
  assert.ok(!compilePolicy(null, 'n').ok);
});

test('communities attribute from input is reused on accept when unchanged', () => {
  const attrs = [origin(), asPath([SEQ(1)]), communities(5)];
  const r = route('203.0.113.0/24', attrs);
  const p = compile({
    terms: [{ then: [{ 'remove-community': ['9:9'] }, { 'add-community': ['0:5'] }, 'accept'] }],
  });
  assert.equal(evaluatePolicy(p, r, ctx).attributes, attrs);
});

test('the README example compiles and behaves as described', () => {
  const section = {
    'prefix-lists': {
      bogons: [
        { prefix: '198.18.0.0/15', le: 32 },
        { prefix: '2001:db8::/32', le: 128 },
      ],
    },
    'as-path-lists': { 'from-customer': ['^65001(_65001)*$'] },
    policies: {
      'customer-in': {
        terms: [
          { name: 'bogons', match: { 'prefix-list': 'bogons' }, final: 'reject' },
          {
            name: 'customer',
            match: {
              'as-path': 'from-customer',
              'prefix-length': { max: 24 },
              community: { none: ['65535:666'] },
            },
            then: [
              { 'set-local-pref': 200 },
              { 'remove-community': ['65001:*'] },
              { 'add-large-community': ['64512:1:65001'] },
              'accept',
            ],
          },
        ],
        default: 'reject',
      },
      'customer-out': {
        terms: [
          { match: { community: ['no-export'] }, final: 'reject' },
          { then: [{ prepend: 2 }, { 'set-med': '+10' }, { 'set-next-hop': 'self' }, 'accept'] },
        ],
      },
    },
  };
  const pin = compileFrom(section, 'customer-in');
  const r = route('203.0.113.0/24', [
    origin(),
    asPath([SEQ(65001, 65001)]),
    nextHop('198.18.0.1'),
    communities(0xfde90001),
  ]);
  const res = evaluatePolicy(pin, r, ctx);
  assert.equal(res.action, 'accept');
  assert.equal(findAttribute(res.attributes, 'communities'), undefined);
  assert.deepEqual(findAttribute(res.attributes, 'large-communities')?.communities, [
    [64512, 1, 65001],
  ]);
  const out = evaluatePolicy(compileFrom(section, 'customer-out'), r, ctx);
  assert.equal(out.nextHop, 'self');
  assert.deepEqual(findAttribute(out.attributes, 'as-path')?.segments, [
    SEQ(64512, 64512, 65001, 65001),
  ]);
  assert.equal(findAttribute(out.attributes, 'med')?.med, 10);
});
