// `nonstop btr --check` on good and bad configs, `nonstop btr status` against a fake running
// instance (a control server on a temp Unix socket), and the status table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../control/server.js';
import { parseSpeakerConfig } from '../speaker/config/index.js';
import { parseBtrConfig } from '../btr/config.js';
import { EXAMPLE_BTR_CONFIG } from '../btr/testing.js';
import { formatBtrStatus, nonstopReplicaYaml, runBtr, type BtrStatusResponse } from './btr.js';

const GOOD = EXAMPLE_BTR_CONFIG;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

function tempFile(name: string, text: string): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-btr-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('btr --check: a good config is valid (with a summary), a bad one lists every error', async () => {
  const good = tempFile('btr.yaml', GOOD);
  const c = capture();
  assert.equal(await runBtr(['-c', good.path, '--check'], { io: c.io }), 0);
  assert.equal(
    c.out(),
    `${good.path}: configuration is valid (2 neighbors, 3 replicas + 1 standbys, wait-for-consensus)\n`,
  );
  assert.equal(c.err(), '');
  good.done();

  const bad = tempFile(
    'bad.yaml',
    GOOD.replace('implementation: frr', 'implementation: quagga').replace('k: 3', 'k: 7'),
  );
  const b = capture();
  assert.equal(await runBtr(['-c', bad.path, '--check'], { io: b.io }), 1);
  assert.equal(b.out(), '');
  const lines = b.err().trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /bad\.yaml:24:20: replicas\[2\]\.implementation: expected one of .*"quagga"/,
  );
  assert.match(lines[1]!, /bad\.yaml:28:3: voting\.k: expected an integer from 2 .*, got 7/);
  bad.done();

  const m = capture();
  assert.equal(await runBtr(['-c', '/nonexistent/btr.yaml', '--check'], { io: m.io }), 1);
  assert.equal(m.err(), '/nonexistent/btr.yaml: cannot read the file (ENOENT)\n');
  const u = capture();
  assert.equal(await runBtr(['--check'], { io: u.io }), 2);
  assert.match(u.err(), /a configuration file is required/);
  const h = capture();
  assert.equal(await runBtr(['--help'], { io: h.io }), 0);
  assert.match(h.out(), /^usage: nonstop btr -c FILE \[--check\]/);
});

test('the generated config of a nonstop replica is a valid speaker config', () => {
  const r = parseBtrConfig(GOOD, 'btr.yaml');
  assert.ok(r.ok);
  const s = parseSpeakerConfig(nonstopReplicaYaml(r.value), 'replica');
  assert.ok(s.ok, s.ok ? '' : JSON.stringify(s.error));
  assert.equal(s.value.neighbors.length, 2);
  assert.equal(s.value.asn, 65001);
});

const STATUS: BtrStatusResponse = {
  router: { asn: 65001, routerId: '198.18.0.1', strategy: 'continuous-majority' },
  now: 100000,
  supervisor: {
    seats: 3,
    quorum: 2,
    voting: 2,
    restarts: 1,
    faults: 4,
    decisions: 1,
    replicas: [
      {
        name: 'nonstop-a',
        kind: 'nonstop',
        seat: 'nonstop-a',
        state: 'voting',
        since: 40000,
        restarts: 0,
        faults: 0,
        score: 0,
        flaggedKeys: 0,
        votingOn: ['upstream'],
        lastFault: null,
        restartAt: null,
      },
      {
        name: 'bird-a',
        kind: 'bird',
        seat: 'bird-a',
        state: 'restarting',
        since: 95000,
        restarts: 1,
        faults: 4,
        score: 3,
        flaggedKeys: 0,
        votingOn: [],
        lastFault: {
          kind: 'disagreement',
          at: 94000,
          neighbor: 'upstream',
          key: '198.18.1.0/24',
          since: 90000,
          reason:
            'to upstream, 198.18.1.0/24: announced where the steady majority has it withdrawn',
        },
        restartAt: 101000,
      },
      {
        name: 'gobgp-s',
        kind: 'gobgp',
        seat: null,
        state: 'standby',
        since: 0,
        restarts: 0,
        faults: 0,
        score: 0,
        flaggedKeys: 0,
        votingOn: [],
        lastFault: null,
        restartAt: null,
      },
    ],
  },
  neighbors: [
    {
      neighbor: 'upstream',
      state: 'Established',
      routes: 1200,
      attributeSets: 30,
      output: 1199,
      disagreements: 1,
      sentUpdates: 40,
      replicas: [
        { replica: 'nonstop-a', state: 'Established', voting: true },
        { replica: 'bird-a', state: 'disabled', voting: false },
      ],
    },
  ],
  disagreements: [
    {
      neighbor: 'upstream',
      key: '198.18.7.0/24',
      sinceMs: 99000,
      output: 'next-hop 198.18.0.2 origin IGP as-path 65002',
      replicas: [
        {
          replica: 'nonstop-a',
          value: 'next-hop 198.18.0.2 origin IGP as-path 65002',
          steady: true,
          faulty: false,
        },
        { replica: 'frr-a', value: 'withdrawn', steady: false, faulty: false },
      ],
    },
  ],
};

test('btr status: replicas with state, restarts and last fault; neighbours; disagreements', () => {
  const text = formatBtrStatus(STATUS);
  const lines = text.split('\n');
  assert.equal(
    lines[0],
    'BTR router 198.18.0.1 AS 65001: continuous-majority, 2 of 3 replicas voting (majority 2), 1 restarts, 4 faults',
  );
  const row = (name: string) => lines.find((l) => l.startsWith(name)) ?? '';
  assert.match(
    row('bird-a'),
    /bird-a\s+bird\s+bird-a\s+restarting \(in 1000 ms\)\s+00:00:05 ago\s+1\s+4 \(3 in window\)\s+0\s+00:00:06 ago: disagreement: to upstream, 198\.18\.1\.0\/24/,
  );
  assert.match(row('gobgp-s'), /gobgp-s\s+gobgp\s+-\s+standby/);
  assert.match(row('upstream'), /upstream\s+Established\s+1200\s+1199\s+1\s+nonstop-a$/);
  assert.ok(lines.includes('Disagreements (oldest first):'));
  assert.ok(
    lines.includes(
      '  upstream 198.18.7.0/24: since 00:00:01 ago, output next-hop 198.18.0.2 origin IGP as-path 65002',
    ),
  );
  assert.ok(lines.includes('    frr-a: withdrawn (changing)'));
});

test('btr status asks a running instance over its control socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-btr-status-'));
  const socket = join(dir, 'btr.sock');
  const server = new ControlServer({ socket });
  server.get('/btr/status', () => STATUS);
  await server.listen();
  try {
    const c = capture();
    assert.equal(await runBtr(['status', '--socket', socket], { io: c.io }), 0);
    assert.equal(c.out(), formatBtrStatus(STATUS));
    const j = capture();
    assert.equal(await runBtr(['status', '--socket', socket, '--json'], { io: j.io }), 0);
    assert.deepEqual(JSON.parse(j.out()), STATUS);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const e = capture();
  assert.equal(await runBtr(['status', '--socket', socket], { io: e.io }), 1);
  assert.match(e.err(), /^nonstop btr status: /);
});
