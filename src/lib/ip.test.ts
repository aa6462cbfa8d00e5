// IPv6 text must match glibc's inet_ntop exactly (bgpdump and the daemons print with it).
// The oracle is glibc itself, reached through python3's socket.inet_ntop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { formatIPv6, formatIPv4, parseIPv6, parsePrefix, maskAddr, formatPrefix } from './ip.js';

/** Addresses biased towards zero groups, so every compression rule gets exercised. */
const addr6 = fc
  .array(
    fc.oneof(
      fc.constant(0),
      fc.constant(0),
      fc.constant(0xffff),
      fc.integer({ min: 0, max: 0xffff }),
    ),
    {
      minLength: 8,
      maxLength: 8,
    },
  )
  .map((words) => {
    const b = new Uint8Array(16);
    words.forEach((w, i) => {
      b[2 * i] = w >> 8;
      b[2 * i + 1] = w & 0xff;
    });
    return b;
  });

test('formatIPv6 equals glibc inet_ntop on 3000 random addresses', () => {
  const samples: Uint8Array[] = fc.sample(addr6, { numRuns: 3000, seed: 42 });
  // Fixed edge cases that random sampling may miss.
  const fixed = [
    '::',
    '::1',
    '::ffff:1.2.3.4',
    '::1.2.3.4',
    '1::',
    '1:0:0:1:0:0:0:1',
    'fe80::',
    '0:0:1::',
  ];
  for (const s of fixed) samples.push(parseIPv6(s)!);
  const py = spawnSync(
    'python3',
    [
      '-c',
      'import socket,sys\nfor l in sys.stdin: print(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(l.strip())))',
    ],
    {
      input: samples.map((b) => Buffer.from(b).toString('hex')).join('\n') + '\n',
      encoding: 'utf8',
    },
  );
  assert.equal(py.status, 0, py.stderr);
  const want = py.stdout.trimEnd().split('\n');
  assert.equal(want.length, samples.length);
  samples.forEach((b, i) => assert.equal(formatIPv6(b), want[i], Buffer.from(b).toString('hex')));
});

test('parseIPv6 inverts formatIPv6', () => {
  fc.assert(
    fc.property(addr6, (b) => {
      assert.deepEqual(parseIPv6(formatIPv6(b)), b);
    }),
  );
});

test('IPv4 text and prefix masking', () => {
  assert.equal(formatIPv4(new Uint8Array([192, 0, 2, 255])), '192.0.2.255');
  assert.deepEqual(maskAddr(new Uint8Array([11, 13, 0, 0]), 13), new Uint8Array([11, 8, 0, 0]));
  assert.equal(formatPrefix(parsePrefix('11.13.0.0/13')!), '11.8.0.0/13');
  assert.equal(formatPrefix(parsePrefix('2001:db8:ffff::/33')!), '2001:db8:8000::/33');
  assert.equal(parsePrefix('10.0.0.0/33'), undefined);
  assert.equal(parsePrefix('10.0.0/8'), undefined);
});
