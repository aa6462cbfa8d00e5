// The README's main command, `nonstop demo`: the bug-tolerant router demo. Its claims are
// checked against the raw data it is about — every message the neighbours received and every
// change the router's FIB was given, decoded here independently — not only against its text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { formatAddr, formatPrefix } from '../lib/ip.js';
import { MemoryFib, type FibChange } from '../fib/index.js';
import { keyRoute } from '../btr/canonical-key.js';
import { describeValue } from '../btr/canonical.js';
import { RouteTable } from '../btr/testing.js';
import { DEMO_BUG, runBtrDemo } from './demo-btr.js';
import { btrDemoMode, type BtrDemoProbe } from './demo.js';

test('nonstop demo: the buggy replica is masked (checked on what the neighbours and the FIB got), named, restarted', async () => {
  let text = '';
  const tables = new Map([
    ['n1', new RouteTable()],
    ['n2', new RouteTable()],
  ]);
  const fibChanges: FibChange[] = [];
  const r = await runBtrDemo((s) => (text += s), {
    neighborMessage: (n, bytes) => tables.get(n)!.apply(bytes),
    routerFibChange: (c) => fibChanges.push(c),
  });
  assert.ok(r.ok, text);
  assert.ok(r.elapsedMs < 8000, `took ${r.elapsedMs} ms`);

  // The bug happened: the buggy replica corrupted what it sent and installed.
  assert.ok(r.corruptedUpdates > 0 && r.corruptedFibChanges > 0);

  // Independently: no UPDATE a neighbour received ever carried the bug …
  let updates = 0;
  for (const [n, t] of tables) {
    updates += t.updates;
    for (const key of t.changes.keys()) {
      assert.notEqual(formatPrefix(keyRoute(key).prefix), DEMO_BUG.bogusPrefix, `${n} got it`);
    }
    for (const v of t.routes.values()) assert.ok(!describeValue(v).includes(DEMO_BUG.wrongNextHop));
  }
  assert.ok(updates >= 2);
  const n2 = new Map(
    [...tables.get('n2')!.routes].map(([k, v]) => [formatPrefix(keyRoute(k).prefix), v]),
  );
  for (const p of ['198.18.10.0/24', '198.18.11.0/24', '198.18.12.0/23']) {
    assert.match(describeValue(n2.get(p)), /^next-hop 198\.18\.2\.1 .*as-path 65001 65002/, p);
  }
  // … and no change given to the router's FIB did; replayed, they give the right FIB.
  const fib = new MemoryFib();
  for (const c of fibChanges) {
    if (c.op === 'delete') continue;
    assert.notEqual(formatPrefix(c.route.prefix), DEMO_BUG.bogusPrefix);
    for (const h of c.route.nextHops) {
      assert.ok(
        ![DEMO_BUG.wrongNextHop, DEMO_BUG.bogusGateway].includes(formatAddr(h.gateway) as never),
      );
    }
  }
  fib.applySync(fibChanges);
  assert.deepEqual(
    fib.listSync().map((x) => `${formatPrefix(x.prefix)} ${formatAddr(x.nextHops[0]!.gateway)}`),
    [
      '198.18.10.0/24 198.18.1.2',
      '198.18.11.0/24 198.18.1.2',
      '198.18.12.0/23 198.18.1.2',
      '198.18.30.0/24 198.18.2.2',
      '198.18.31.0/24 198.18.2.2',
    ],
  );

  // What it says matches.
  assert.deepEqual(r.faultReplicas, [DEMO_BUG.replica]);
  assert.ok(r.restarts >= 1);
  assert.match(text, /\n--in-process given: using in-process nonstop replicas\n/);
  assert.match(text, /in-process `nonstop` replicas over in-memory transports/);
  assert.match(text, /`nonstop demo` runs real diverse daemons instead/);
  assert.match(
    text,
    /0 carried 198\.19\.254\.0\/24 or next hop 198\.19\.253\.99: the corrupted routes never reached a neighbour/,
  );
  // Which voter flags first depends on timing; both hold it against nonstop-c.
  assert.match(text, /\n {2}(FIB voter|update voter for n[12]): nonstop-c has /);
  assert.match(
    text,
    /the FIB voter was outvoting nonstop-c on:\n {4}198\.18\.10\.0\/24 via 198\.19\.253\.99 \(majority: via 198\.18\.1\.2\)\n {4}198\.19\.254\.0\/24 via 198\.19\.253\.66 \(majority: withdrawn\)/,
  );
  assert.match(text, /nonstop-c \(nonstop\) reached its fault threshold: .*killed and restarted/);
  assert.match(text, /neighbour sessions reset meanwhile: 0/);
  assert.match(text, /equal to the FIB of: nonstop-a, nonstop-b, nonstop-c/);
  assert.match(text, /\n {2}OK in \d+\.\d s: nonstop-c's bug was masked live/);
});

test('`node bin/nonstop.js demo --in-process` exits 0 with the mode line and the summary; `demo --help` lists the modes', () => {
  // (`nonstop demo` without the flag runs real daemons where it can: test/demo-btr-lab.test.ts.)
  const run = spawnSync(process.execPath, ['bin/nonstop.js', 'demo', '--in-process'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(
    run.stdout,
    /^nonstop demo .*\n--in-process given: using in-process nonstop replicas\n/,
  );
  assert.match(run.stdout, /== summary\n {2}OK in /);
  const help = spawnSync(process.execPath, ['bin/nonstop.js', 'demo', '--help'], {
    encoding: 'utf8',
  });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /nonstop demo speaker/);
  assert.match(help.stdout, /nonstop demo --in-process/);
  const bad = spawnSync(process.execPath, ['bin/nonstop.js', 'demo', '--in-proces'], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown argument '--in-proces'/);
});

test('the demo mode: real daemons only with root, every binary and usable namespaces; the reason is said', () => {
  const probe = (p: Partial<BtrDemoProbe>): BtrDemoProbe => ({
    root: () => true,
    missing: () => [],
    namespaces: () => undefined,
    ...p,
  });
  let probed = false;
  assert.deepEqual(
    btrDemoMode(
      true,
      probe({
        root: () => {
          probed = true;
          return true;
        },
      }),
    ),
    { mode: 'in-process', why: '--in-process given' },
  );
  assert.equal(probed, false, '--in-process probes nothing');
  assert.deepEqual(btrDemoMode(false, probe({ root: () => false })), {
    mode: 'in-process',
    why: 'not root',
  });
  const missing = ['gobgpd not found (gobgp; run scripts/setup.sh)'];
  assert.deepEqual(btrDemoMode(false, probe({ missing: () => missing })), {
    mode: 'in-process',
    why: missing[0],
  });
  const ns = 'network namespaces are not usable (ip netns add: Operation not permitted)';
  assert.deepEqual(btrDemoMode(false, probe({ namespaces: () => ns })), {
    mode: 'in-process',
    why: ns,
  });
  assert.deepEqual(btrDemoMode(false, probe({})), {
    mode: 'lab',
    why: 'root, network namespaces, BIRD 2, FRR, GoBGP and nftables available',
  });
});
