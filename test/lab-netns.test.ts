// Lab namespaces and veth links: addresses in the lab ranges only, reachability across a
// link over IPv4 and IPv6, and nothing left behind by destroy() or by a crashed run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanupStale, Lab, labAvailable } from '../src/lab/index.js';
import { netnsAdd, netnsDelete, netnsList } from '../src/net/netns.js';
import { pidAlive } from '../src/net/process.js';

const SKIP = 'lab not available and NONSTOP_SKIP_LAB=1';

function hostLinks(): string[] {
  const out = spawnSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }).stdout;
  return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname);
}

test('veth link: IPv4 and IPv6 reachable across, destroy leaves nothing', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const a = await lab.node('a');
  const b = await lab.node('b');
  const link = await lab.link(
    { node: a, addresses: ['198.18.0.1/30', '2001:db8:0:1::1/64'] },
    { node: b, addresses: ['198.18.0.2/30', '2001:db8:0:1::2/64'] },
  );
  assert.equal(link.a.ifname, 'nst-b');
  assert.equal(link.b.ifname, 'nst-a');
  assert.ok(a.ns.startsWith('nst-') && a.ns.startsWith(lab.prefix));
  // Nothing of ours in the host namespace: veth ends are created inside the nodes.
  assert.deepEqual(
    hostLinks().filter((n) => n.startsWith('nst-')),
    [],
  );

  for (const [from, to] of [
    [a, '198.18.0.2'],
    [b, '198.18.0.1'],
    [a, '2001:db8:0:1::2'],
    [b, '2001:db8:0:1::1'],
  ] as const) {
    assert.equal(await lab.reachable(from, to), true, `${from.name} -> ${to}`);
  }
  // The probe is not vacuous: an address nobody has is unreachable.
  assert.equal(await lab.reachable(a, '198.18.0.3', 500), false);

  await assert.rejects(
    lab.link({ node: a, addresses: ['10.0.0.1/24'] }, { node: b }),
    /outside the lab ranges/,
  );

  await lab.destroy();
  const left = (await netnsList()).filter((n) => n.startsWith(lab.prefix));
  assert.deepEqual(left, []);
  assert.deepEqual(
    hostLinks().filter((n) => n.startsWith('nst-')),
    [],
  );
  assert.equal(existsSync(lab.dir), false);
});

test('cleanupStale removes a dead run’s namespaces, processes and dirs, keeps live ones', async (t) => {
  if (!labAvailable()) return t.skip(SKIP);
  const live = Lab.create();
  t.after(() => live.destroy());
  await live.node('x');

  // A pid that certainly belongs to no running process: one that has just exited.
  const dead = spawnSync('true').pid;
  assert.ok(dead !== undefined && !pidAlive(dead));
  const staleNs = `nst-${dead.toString(36)}_zz-r1`;
  const staleDir = join(tmpdir(), `nst-${dead.toString(36)}_zz-abc123`);
  // Shaped like nothing a lab makes: another tool's, left alone by default.
  const foreignNs = `nst-other${dead.toString(36)}-x`;
  await netnsAdd(foreignNs);
  t.after(() => netnsDelete(foreignNs));
  await netnsAdd(staleNs);
  mkdirSync(staleDir, { recursive: true });
  const sleeper = spawnSync(
    'sh',
    ['-c', `ip netns exec ${staleNs} sleep 300 >/dev/null 2>&1 & echo $!`],
    { encoding: 'utf8' },
  );
  const sleeperPid = Number(sleeper.stdout.trim());
  assert.ok(pidAlive(sleeperPid));

  const report = await cleanupStale();
  assert.ok(report.namespaces.includes(staleNs), JSON.stringify(report));
  assert.ok(report.dirs.includes(`nst-${dead.toString(36)}_zz-abc123`), JSON.stringify(report));
  assert.ok(!report.namespaces.includes(foreignNs));
  const names = await netnsList();
  assert.ok(!names.includes(staleNs));
  assert.ok(names.includes(`${live.prefix}x`), 'a live lab is left alone');
  assert.ok(names.includes(foreignNs), 'names not shaped like a lab’s are left alone');
  assert.equal(existsSync(staleDir), false);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(pidAlive(sleeperPid), false, 'process inside the stale namespace killed');

  await assert.rejects(cleanupStale(''), /must start with "nst-"/);
});
