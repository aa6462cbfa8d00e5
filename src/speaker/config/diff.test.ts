import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfigs, formatConfigError, parseSpeakerConfig, type SpeakerConfig } from './index.js';

interface Opts {
  routerId?: string;
  holdTime?: number;
  description?: string;
  inTerm?: string;
  customers?: string;
  extraNeighbor?: boolean;
  dropB?: boolean;
  staticMed?: number;
}

/** Three neighbors: A imports `in`, B exports `out`, C (iBGP) has no policy. */
function config(o: Opts = {}): SpeakerConfig {
  const text = [
    `router-id: ${o.routerId ?? '198.18.0.1'}`,
    'asn: 65001',
    'static: [{ prefix: 198.18.100.0/24, med: ' + String(o.staticMed ?? 0) + ' }]',
    `prefix-lists: { customers: [{ prefix: ${o.customers ?? '198.18.0.0/15'}, le: 24 }] }`,
    'policies:',
    '  in:',
    `    terms: [{ match: { prefix-list: customers }, then: [${o.inTerm ?? 'accept'}] }]`,
    '  out: { default: accept }',
    '  all: { default: accept }',
    'neighbors:',
    `  - { address: 198.18.0.2, asn: 65002, import: in, export: all, hold-time: ${o.holdTime ?? 90} }`,
    ...(o.dropB
      ? []
      : [
          `  - { address: 198.18.0.3, asn: 65003, import: all, export: out, description: ${o.description ?? 'b'} }`,
        ]),
    '  - { address: 198.18.0.4, asn: 65001 }',
    ...(o.extraNeighbor ? ['  - { address: 198.18.0.5, asn: 65001 }'] : []),
    '',
  ].join('\n');
  const r = parseSpeakerConfig(text, 'speaker.yaml');
  if (!r.ok) assert.fail(r.error.map((e) => formatConfigError(e)).join('\n'));
  return r.value;
}

const A = '198.18.0.2';
const B = '198.18.0.3';
const C = '198.18.0.4';

test('the same config: nothing changed', () => {
  assert.deepEqual(diffConfigs(config(), config()), {
    added: [],
    removed: [],
    changed: [],
    unchanged: [A, B, C],
    global: [],
  });
});

test('a session parameter resets only that session', () => {
  const d = diffConfigs(config(), config({ holdTime: 30 }));
  assert.deepEqual(d.changed, [
    { key: A, fields: ['hold-time'], reset: true, softIn: true, softOut: true },
  ]);
  assert.deepEqual(d.unchanged, [B, C]);
});

test('a changed policy term: soft reconfiguration of the neighbors importing it', () => {
  const d = diffConfigs(config(), config({ inTerm: '{ set-local-pref: 50 }, accept' }));
  assert.deepEqual(d.changed, [
    { key: A, fields: ['import'], reset: false, softIn: true, softOut: false },
  ]);
  assert.deepEqual(d.global, ['policies']);
});

test('a changed prefix-list counts as a change of the policies using it', () => {
  const d = diffConfigs(config(), config({ customers: '10.0.0.0/8' }));
  assert.deepEqual(
    d.changed.map((c) => [c.key, c.fields, c.softIn]),
    [[A, ['import'], true]],
  );
});

test('description changes in place', () => {
  const d = diffConfigs(config(), config({ description: 'renamed' }));
  assert.deepEqual(d.changed, [
    { key: B, fields: ['description'], reset: false, softIn: false, softOut: false },
  ]);
});

test('added and removed neighbors', () => {
  const d = diffConfigs(config(), config({ dropB: true, extraNeighbor: true }));
  assert.deepEqual(d.added, ['198.18.0.5']);
  assert.deepEqual(d.removed, [B]);
  assert.deepEqual(d.unchanged, [A, C]);
});

test('a new router-id resets every session', () => {
  const d = diffConfigs(config(), config({ routerId: '198.18.0.9' }));
  assert.deepEqual(d.global, ['router-id', 'route-reflector']);
  assert.deepEqual(
    d.changed.map((c) => [c.key, c.fields, c.reset]),
    [
      [A, ['local router-id'], true],
      [B, ['local router-id'], true],
      [C, ['local router-id'], true],
    ],
  );
});

test('a changed static route is a global change only', () => {
  const d = diffConfigs(config(), config({ staticMed: 5 }));
  assert.deepEqual(d.global, ['static']);
  assert.deepEqual(d.unchanged, [A, B, C]);
});
