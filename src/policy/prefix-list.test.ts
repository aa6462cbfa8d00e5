import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrefix } from '../lib/ip.js';
import { Checker } from './check.js';
import {
  compilePrefixList,
  prefixListLookup,
  prefixListPermits,
  type PrefixList,
} from './prefix-list.js';
import type { PrefixListEntryDef } from './types.js';

function list(entries: PrefixListEntryDef[]): PrefixList {
  const c = new Checker();
  const l = compilePrefixList(c, 'prefix-lists.t', 't', entries);
  assert.deepEqual(c.errors, []);
  assert.ok(l);
  return l;
}

const permits = (l: PrefixList, p: string): boolean => prefixListPermits(l, parsePrefix(p)!);

// [entries, prefix, permitted?]
const table: [PrefixListEntryDef[], string, boolean][] = [
  // Exact match when neither ge nor le is given.
  [[{ prefix: '198.18.0.0/15' }], '198.18.0.0/15', true],
  [[{ prefix: '198.18.0.0/15' }], '198.18.0.0/16', false],
  [[{ prefix: '198.18.0.0/15' }], '198.19.0.0/16', false],
  [[{ prefix: '198.18.0.0/15' }], '198.16.0.0/14', false],
  // ge alone: [ge, 32].
  [[{ prefix: '198.18.0.0/15', ge: 24 }], '198.18.5.0/24', true],
  [[{ prefix: '198.18.0.0/15', ge: 24 }], '198.19.5.7/32', true],
  [[{ prefix: '198.18.0.0/15', ge: 24 }], '198.18.4.0/23', false],
  [[{ prefix: '198.18.0.0/15', ge: 24 }], '198.20.5.0/24', false],
  // le alone: [L, le].
  [[{ prefix: '198.18.0.0/15', le: 24 }], '198.18.0.0/15', true],
  [[{ prefix: '198.18.0.0/15', le: 24 }], '198.19.128.0/17', true],
  [[{ prefix: '198.18.0.0/15', le: 24 }], '198.19.1.0/24', true],
  [[{ prefix: '198.18.0.0/15', le: 24 }], '198.19.1.0/25', false],
  [[{ prefix: '198.18.0.0/15', le: 24 }], '198.16.0.0/14', false],
  // ge + le: [ge, le].
  [[{ prefix: '198.18.0.0/15', ge: 20, le: 24 }], '198.18.16.0/20', true],
  [[{ prefix: '198.18.0.0/15', ge: 20, le: 24 }], '198.18.16.0/19', false],
  [[{ prefix: '198.18.0.0/15', ge: 20, le: 24 }], '198.18.16.128/25', false],
  // 0.0.0.0/0 le 32 matches everything IPv4; 0.0.0.0/0 alone only the default route.
  [[{ prefix: '0.0.0.0/0', le: 32 }], '203.0.113.0/24', true],
  [[{ prefix: '0.0.0.0/0' }], '0.0.0.0/0', true],
  [[{ prefix: '0.0.0.0/0' }], '203.0.113.0/24', false],
  // A deny entry carves an exception out of a later permit; first match wins.
  [
    [
      { prefix: '198.18.1.0/24', action: 'deny' },
      { prefix: '198.18.0.0/15', le: 32 },
    ],
    '198.18.1.0/24',
    false,
  ],
  [
    [
      { prefix: '198.18.1.0/24', action: 'deny' },
      { prefix: '198.18.0.0/15', le: 32 },
    ],
    '198.18.2.0/24',
    true,
  ],
  [
    [
      { prefix: '198.18.0.0/15', le: 32 },
      { prefix: '198.18.1.0/24', action: 'deny' },
    ],
    '198.18.1.0/24',
    true,
  ],
  // Implicit deny at the end, and for an empty list.
  [[{ prefix: '198.18.0.0/15' }], '203.0.113.0/24', false],
  [[], '198.18.0.0/15', false],
  // IPv6; entries of the other family never match.
  [[{ prefix: '2001:db8::/32', le: 48 }], '2001:db8:1::/48', true],
  [[{ prefix: '2001:db8::/32', le: 48 }], '2001:db8:1::/64', false],
  [[{ prefix: '2001:db8::/32', ge: 64, le: 64 }], '2001:db8:1:2::/64', true],
  [[{ prefix: '2001:db8::/32' }], '2001:db9::/32', false],
  [[{ prefix: '::/0', le: 128 }], '198.18.0.0/15', false],
  [[{ prefix: '0.0.0.0/0', le: 32 }], '2001:db8::/32', false],
  // Bits beyond a byte boundary.
  [[{ prefix: '198.18.0.0/15', le: 32 }], '198.17.0.0/16', false],
  [[{ prefix: '2001:db8:8000::/33', le: 128 }], '2001:db8:7fff::/48', false],
  [[{ prefix: '2001:db8:8000::/33', le: 128 }], '2001:db8:8001::/48', true],
];

test('prefix list semantics table (FRR/Cisco)', () => {
  for (const [entries, p, want] of table) {
    assert.equal(permits(list(entries), p), want, `${JSON.stringify(entries)} ${p}`);
  }
});

test('lookup reports the deciding entry, -1 for the implicit deny', () => {
  const l = list([
    { prefix: '198.18.1.0/24', action: 'deny' },
    { prefix: '198.18.0.0/15', le: 32 },
  ]);
  assert.equal(prefixListLookup(l, parsePrefix('198.18.1.0/24')!), 0);
  assert.equal(prefixListLookup(l, parsePrefix('198.18.2.0/24')!), 1);
  assert.equal(prefixListLookup(l, parsePrefix('203.0.113.0/24')!), -1);
});

test('prefix list errors name the entry and key', () => {
  const c = new Checker();
  const l = compilePrefixList(c, 'prefix-lists.bad', 'bad', [
    { prefix: '198.18.1.0/15' },
    { prefix: '198.18.0.0/15', ge: 8 },
    { prefix: '198.18.0.0/15', ge: 24, le: 20 },
    { prefix: '198.18.0.0/15', le: 33 },
    { prefix: 'nonsense' },
    { prefix: '198.18.0.0/15', action: 'allow' },
    { prefix: '198.18.0.0/15', gt: 3 },
    '198.18.0.0/15',
  ]);
  assert.equal(l, undefined);
  assert.deepEqual(
    c.errors.map((e) => e.path),
    [
      'prefix-lists.bad[0].prefix',
      'prefix-lists.bad[1].ge',
      'prefix-lists.bad[2].le',
      'prefix-lists.bad[3].le',
      'prefix-lists.bad[4].prefix',
      'prefix-lists.bad[5].action',
      'prefix-lists.bad[6].gt',
      'prefix-lists.bad[7]',
    ],
  );
  assert.match(c.errors[0]!.message, /host bits/);
  assert.match(c.errors[1]!.message, /from 15 to 32/);
  assert.match(c.errors[2]!.message, /from 24 to 32.*got 20/);
  assert.match(c.errors[5]!.message, /one of permit, deny, got "allow"/);
});
