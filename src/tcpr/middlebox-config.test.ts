// The `nonstop tcpr run` config's NFQUEUE keys (docs/tcpr-nfqueue.md): what is accepted,
// and the errors, each at its file:line and key, for what NFQUEUE mode cannot do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMiddleboxConfig, TCPR_DEFAULTS } from './middlebox-config.js';

const FILE = 'tcpr.yaml';

/** Errors as `line: key: message` (the file name is always FILE). */
function errors(yaml: string, overrides = {}): string[] {
  const r = parseMiddleboxConfig(yaml, FILE, overrides);
  assert.equal(r.ok, false, 'expected errors');
  if (r.ok) return [];
  for (const e of r.error) assert.equal(e.file, FILE);
  return r.error.map((e) => `${e.line}: ${e.key}: ${e.message}`);
}

test('nfqueue: queues and the default mark; no TUN keys needed', () => {
  const r = parseMiddleboxConfig(
    [
      'nfqueue:',
      '  app-queue: 101',
      '  peer-queue: 102',
      'addresses:',
      '  - { internal: 198.18.1.2 }',
    ].join('\n'),
    FILE,
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.nfqueue, {
    appQueue: 101,
    peerQueue: 102,
    mark: TCPR_DEFAULTS.nfqueueMark,
  });
});

test('nfqueue: equal queues, missing queues, mark 0 and a too-large queue are refused', () => {
  assert.deepEqual(
    errors('nfqueue:\n  app-queue: 5\n  peer-queue: 5\naddresses:\n  - { internal: 198.18.1.2 }\n'),
    ['1: nfqueue: app-queue and peer-queue must differ (both 5)'],
  );
  const missing = errors('nfqueue:\n  mark: 7\naddresses:\n  - { internal: 198.18.1.2 }\n');
  assert.equal(missing.length, 2);
  assert.match(missing[0]!, /^2: nfqueue\.app-queue: required key is missing/);
  const bad = errors(
    'nfqueue:\n  app-queue: 70000\n  peer-queue: 2\n  mark: 0\naddresses:\n  - { internal: 198.18.1.2 }\n',
  );
  assert.equal(bad.length, 2);
  assert.match(bad[0]!, /^2: nfqueue\.app-queue: .*0 to 65535/);
  assert.match(bad[1]!, /^4: nfqueue\.mark: .*1 to 0xffffffff/);
});

test('nfqueue next to app-tun / peer-tun: both refused at their lines', () => {
  const e = errors(
    [
      'app-tun: a0',
      'peer-tun: p0',
      'nfqueue: { app-queue: 1, peer-queue: 2 }',
      'addresses:',
      '  - { internal: 198.18.1.2 }',
    ].join('\n'),
  );
  assert.deepEqual(e, [
    '1: app-tun: not used in NFQUEUE mode (nfqueue is set); remove it',
    '2: peer-tun: not used in NFQUEUE mode (nfqueue is set); remove it',
  ]);
});

test('nfqueue with an internal → external mapping: refused at the mapping', () => {
  const e = errors(
    [
      'nfqueue: { app-queue: 1, peer-queue: 2 }',
      'addresses:',
      '  - { internal: 198.18.1.2 }',
      '  - { internal: 198.18.1.3, external: 198.18.9.3 }',
    ].join('\n'),
  );
  assert.equal(e.length, 1);
  assert.match(
    e[0]!,
    /^4: addresses\[1\]\.external: differs from internal, in NFQUEUE mode .*cannot map addresses/,
  );
  // The same mapping is fine in TUN mode.
  const tun = parseMiddleboxConfig(
    'addresses:\n  - { internal: 198.18.1.3, external: 198.18.9.3 }\n',
    FILE,
  );
  assert.ok(tun.ok);
});

test('--nfqueue (overrides): NFQUEUE mode without the nfqueue key; same refusals', () => {
  const r = parseMiddleboxConfig(
    'nfqueue: { mark: 9 }\naddresses:\n  - { internal: 198.18.1.2 }\n',
    FILE,
    {
      nfqueue: { appQueue: 7, peerQueue: 8 },
    },
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.nfqueue, { appQueue: 7, peerQueue: 8, mark: 9 });
  const e = errors(
    'app-tun: a0\naddresses:\n  - { internal: 198.18.1.2, external: 198.18.9.2 }\n',
    {
      nfqueue: { appQueue: 7, peerQueue: 8 },
    },
  );
  assert.equal(e.length, 2);
  assert.equal(e[0], '1: app-tun: not used with --nfqueue; remove it');
  assert.match(e[1]!, /^3: addresses\[0\]\.external: differs from internal, with --nfqueue/);
});
