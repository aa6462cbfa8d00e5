// Whole speakers in one process: two `Speaker`s built from YAML text, connected over the
// in-memory network on a manual clock. Shows the composition (config → sessions → route
// engine → FIB) and the reload transaction without namespaces or daemons.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { parseAddr } from '../lib/ip.js';
import { MemoryNetwork } from '../net/memory.js';
import { MemoryFib } from '../fib/index.js';
import { Registry } from '../control/metrics.js';
import { parseSpeakerConfig, type SpeakerConfig } from './config/index.js';
import { Speaker } from './speaker.js';

function config(text: string): SpeakerConfig {
  const r = parseSpeakerConfig(text, 'test.yaml');
  if (!r.ok) throw new Error(r.error.map((e) => `${e.line}: ${e.key}: ${e.message}`).join('\n'));
  return r.value;
}

const A = (extra = '', neighbors = true) => `
router-id: 198.18.0.1
asn: 65001
listen: [{ address: 198.18.0.1, port: 179 }]
static:
  - prefix: 198.18.100.0/24
${extra}
policies:
  all: { default: accept }
neighbors:${
  neighbors
    ? `
  - address: 198.18.0.2
    asn: 65002
    local-address: 198.18.0.1
    import: [all]
    export: [all]`
    : ' []'
}
`;

const B = `
router-id: 198.18.0.2
asn: 65002
listen: [{ address: 198.18.0.2, port: 179 }]
policies:
  all: { default: accept }
neighbors:
  - address: 198.18.0.1
    asn: 65001
    local-address: 198.18.0.2
    passive: true
    import: [all]
    export: [all]
`;

async function settle(clock: ManualClock, ms = 100): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(ms / 20);
  }
}

function pair() {
  const net = new MemoryNetwork();
  const clock = new ManualClock(0);
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (l) => lines.push(l) });
  const fibA = new MemoryFib();
  const fibB = new MemoryFib();
  const a = new Speaker(config(A()), {
    connector: net.host('198.18.0.1'),
    clock,
    logger,
    fib: fibA,
  });
  const b = new Speaker(config(B), { connector: net.host('198.18.0.2'), clock, logger, fib: fibB });
  return { net, clock, a, b, fibA, fibB, lines };
}

test('two speakers from YAML exchange routes; the learned route reaches the FIB', async () => {
  const { clock, a, b, fibB } = pair();
  await b.start();
  await a.start();
  await settle(clock, 2000);
  assert.deepEqual(a.states(), { '198.18.0.2': 'Established' });
  assert.deepEqual(b.states(), { '198.18.0.1': 'Established' });
  const hit = fibB.lookup(parseAddr('198.18.100.7')!);
  assert.ok(hit, 'the route from A is in B’s FIB');
  assert.deepEqual([...hit.nextHops[0]!.gateway], [198, 18, 0, 1]);
  await a.stop();
  await b.stop();
});

test('reload: a new static route is announced without resetting the session; removing the neighbor sends Cease', async () => {
  const { clock, a, b, fibB, lines } = pair();
  await b.start();
  await a.start();
  await settle(clock, 2000);
  const d = a.reload(config(A('  - prefix: 198.18.101.0/24')));
  assert.deepEqual(d.added, []);
  assert.deepEqual(d.removed, []);
  await settle(clock, 500);
  assert.ok(fibB.lookup(parseAddr('198.18.101.1')!), 'the new static route reached B');
  assert.ok(
    !lines.some((l) => l.includes('NOTIFICATION')),
    'no NOTIFICATION: the session was not reset',
  );
  assert.deepEqual(b.states(), { '198.18.0.1': 'Established' });

  const d2 = a.reload(config(A('', false)));
  assert.deepEqual(d2.removed, ['198.18.0.2']);
  await settle(clock, 500);
  assert.ok(
    lines.some((l) => /received NOTIFICATION 6\/3/.test(l)),
    'B was told Cease / Peer De-configured (RFC 4486)',
  );
  assert.equal(fibB.lookup(parseAddr('198.18.100.1')!), undefined, 'B withdrew A’s routes');
  await a.stop();
  await b.stop();
});

test('stop() ends every session with Cease / Administrative Shutdown', async () => {
  const { clock, a, b, lines } = pair();
  await b.start();
  await a.start();
  await settle(clock, 2000);
  await a.stop('maintenance');
  await settle(clock, 200);
  assert.ok(lines.some((l) => /received NOTIFICATION 6\/2/.test(l) && l.includes('maintenance')));
  assert.notEqual(b.states()['198.18.0.1'], 'Established');
  await b.stop();
});

test('Prometheus metrics report sessions, prefixes per peer, updates and the Loc-RIB size', async () => {
  const net = new MemoryNetwork();
  const clock = new ManualClock(0);
  const logger = createLogger({ level: 'error', sink: () => {} });
  const metrics = new Registry();
  const a = new Speaker(config(A()), {
    connector: net.host('198.18.0.1'),
    clock,
    logger,
    fib: new MemoryFib(),
  });
  const b = new Speaker(config(B), {
    connector: net.host('198.18.0.2'),
    clock,
    logger,
    fib: new MemoryFib(),
    metrics,
  });
  await b.start();
  await a.start();
  await settle(clock, 2000);
  const text = metrics.expose();
  const value = (line: string): number | undefined => {
    const m = text.split('\n').find((l) => l.startsWith(line + ' '));
    return m === undefined ? undefined : Number(m.slice(line.length + 1));
  };
  assert.equal(value('nonstop_bgp_session_established{peer="198.18.0.1"}'), 1);
  assert.equal(value('nonstop_bgp_prefixes_received{peer="198.18.0.1"}'), 1); // A's static route
  assert.ok((value('nonstop_bgp_updates_received_total{peer="198.18.0.1"}') ?? 0) >= 1);
  assert.equal(value('nonstop_rib_prefixes'), 1);
  await a.stop();
  await b.stop();
});
