// `nonstop demo` with real daemons (issue 5: "with them it uses the real diverse daemons";
// src/cli/demo-btr-lab.ts), end to end, as root: `node bin/nonstop.js demo` exits 0, says it
// used real daemons, and what it printed is checked — the neighbours' RIBs (read by the demo
// from BIRD and FRR) hold exactly the other neighbour's routes through the router, and none
// of the bogus prefixes or next hops its bug section says the buggy replica sent; the voters
// named that replica alone and the supervisor restarted it. Afterwards no namespace or temp
// directory of its lab is left.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { labAvailable } from '../src/lab/index.js';
import { netnsList } from '../src/net/netns.js';

/** The lines of one `== title` section of the demo's output. */
function section(out: string, title: string): string[] {
  const start = out.indexOf(`\n== ${title}`);
  assert.ok(start >= 0, `no section "${title}" in:\n${out}`);
  const body = out.slice(out.indexOf('\n', start + 1) + 1);
  const end = body.indexOf('\n== ');
  return (end < 0 ? body : body.slice(0, end)).split('\n').filter((l) => l.trim() !== '');
}

test('`nonstop demo` as root runs real diverse daemons, masks the buggy replica, and removes its lab', async (t) => {
  if (!labAvailable(['bird', 'frr', 'gobgp', 'btr'])) {
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  }
  const t0 = Date.now();
  const run = spawnSync(process.execPath, ['bin/nonstop.js', 'demo'], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  const out = run.stdout;
  t.diagnostic(`the demo took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(run.status, 0, out + run.stderr);
  assert.match(out, /\nroot, network namespaces, .* available: using real daemons\n/);
  assert.match(out, /== summary\n {2}OK in [\d.]+ s, real daemons: /);

  // The bug happened: what the buggy replica sent instead of the truth.
  const bug = section(out, 'the bug');
  const bogusPrefixes = bug.flatMap((l) => /announces (\S+), which nobody sent/.exec(l)?.[1] ?? []);
  const bogusNextHops = bug.flatMap((l) => /gives \S+ the next hop (\S+)$/.exec(l)?.[1] ?? []);
  assert.equal(bogusPrefixes.length, 2, bug.join('\n'));
  assert.equal(bogusNextHops.length, 2, bug.join('\n'));
  assert.ok(
    bug.every((l) => l.startsWith('  rbird towards ')),
    bug.join('\n'),
  );

  // The neighbours' RIBs as the demo read them from the daemons: exactly the other
  // neighbour's routes, through the router, and nothing the bug sent.
  const ribs = section(out, 'what the neighbours have in their RIBs');
  const routes = ribs.flatMap((l) => {
    const m = /^ {2}(n[12]) \([^)]+\) has (\S+) +next hop (\S+) +AS path ([\d ]+?)( {2}|$)/.exec(l);
    return m ? [`${m[1]} ${m[2]} ${m[3]} ${m[4]}`] : [];
  });
  assert.deepEqual(
    routes,
    [
      'n1 198.19.3.0/24 198.18.1.1 65001 65003',
      'n1 198.19.33.0/24 198.18.1.1 65001 65003',
      'n2 198.19.2.0/24 198.18.2.1 65001 65002',
      'n2 198.19.22.0/24 198.18.2.1 65001 65002',
    ],
    ribs.join('\n'),
  );
  for (const bad of [...bogusPrefixes, ...bogusNextHops]) {
    assert.ok(!ribs.some((l) => l.includes(` ${bad} `)), `${bad} in:\n${ribs.join('\n')}`);
  }
  assert.ok(
    ribs.some((l) => /read \d+ times .*identical to the converged table every time/.test(l)),
    ribs.join('\n'),
  );
  assert.ok(
    ribs.some((l) => /carrying a corrupted route: 0: /.test(l)),
    ribs.join('\n'),
  );

  // Named and restarted.
  assert.match(out, /\n {2}faulty replicas named: rbird\n/);
  assert.match(out, /\n {2}rbird \(bird\) reached its fault threshold: .*killed and restarted\n/);
  assert.match(out, /neighbour sessions reset meanwhile: 0\./);

  // Nothing of its lab is left.
  const prefix = /network namespaces (nst-[0-9a-z]+_[0-9a-z]{2}-)\*/.exec(out)?.[1];
  assert.ok(prefix, 'the demo names its namespaces');
  assert.deepEqual(
    (await netnsList()).filter((n) => n.startsWith(prefix)),
    [],
  );
  assert.deepEqual(
    readdirSync(tmpdir()).filter((n) => n.startsWith(prefix)),
    [],
  );
});
