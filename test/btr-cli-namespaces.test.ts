// `nonstop btr -c FILE` with real daemons as replicas (issue 5; docs/btr.md "Replicas of
// `nonstop btr` in namespaces"): the command itself, spawned with `ip netns exec` in a
// router namespace made by the test (never the host's), between a real BIRD 2 and a real
// FRR neighbour, with replicas nonstop, BIRD 2 and FRR from its YAML. The factory creates
// their namespaces and links from the router's namespace.
//
// Checked: both neighbours learn each other's routes through it, each with exactly one
// BGP connection in its namespace; `nonstop btr status --json` (its control socket) shows
// every replica voting, every replica voting on both neighbours and on the FIB, no
// disagreement; the voted routes are in the router namespace's kernel table. After SIGTERM
// it exits 0, every replica namespace is gone, and the router namespace still exists with
// exactly the links, addresses and routes it had before. Before that run, another was
// killed with SIGKILL: its namespaces (and their links into the router namespace) stay until
// the next `nonstop btr` start removes them, as its owner is gone.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BtrStatusResponse } from '../src/cli/btr-router.js';
import { netnsExists, netnsList } from '../src/net/netns.js';
import { cleanupStale, established, Lab, labAvailable, waitFor } from '../src/lab/index.js';
import { WANT, hasAll, neighbours, table, tcpSessions } from './support/btr-lab.js';

const NONSTOP = fileURLToPath(new URL('../../bin/nonstop.js', import.meta.url));

const yaml = (socket: string): string => `
asn: 65001
router-id: 198.18.0.1
neighbors:
  - { name: bird, address: 198.18.1.2, asn: 65002, local-address: 198.18.1.1, import: accept-all, export: accept-all }
  - { name: frr, address: 198.18.2.2, asn: 65003, local-address: 198.18.2.1, import: accept-all, export: accept-all }
replicas:
  - { name: nonstop-a, implementation: nonstop }
  - { name: bird-a, implementation: bird }
  - { name: frr-a, implementation: frr }
voting: { steady-ms: 1000 }
fib: { mode: kernel, poll-ms: 200 }
control: { socket: ${JSON.stringify(socket)} }
log: { level: info, format: text }
`;

/** Links, addresses and routes of a namespace, as `ip` prints them (stable fields only). */
function snapshot(ns: string): string {
  const ip = (...args: string[]): string =>
    spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' }).stdout;
  return [
    ip('-br', 'link', 'show'),
    ip('-br', 'addr', 'show'),
    ip('-4', 'route', 'show', 'table', 'all'),
    ip('-6', 'route', 'show', 'table', 'all'),
  ]
    .join('\n---\n')
    .replace(/ +/g, ' ');
}

test('nonstop btr -c FILE with nonstop, BIRD 2 and FRR replicas in namespaces', async (t) => {
  if (!labAvailable(['bird', 'frr', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  const spawned: number[] = [];
  t.after(async () => {
    // Whatever happened: the router processes die, and their replica namespaces with them.
    for (const pid of spawned) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of spawned) await cleanupStale(`nst-${pid.toString(36)}_`);
    await lab.destroy();
  });

  const rt = await lab.node('rt');
  const nb = await neighbours(lab, '', rt);
  const before = snapshot(rt.ns);
  const socket = join(lab.dir, 'btr.sock');
  const file = join(lab.dir, 'btr.yaml');
  writeFileSync(file, yaml(socket));

  const start = (name: string) => {
    const p = lab.spawn(rt, process.execPath, [NONSTOP, 'btr', '-c', file], { name });
    spawned.push(p.pid); // `ip netns exec` execs node: the same process
    return p;
  };
  // The replica namespaces of a btr process (lab naming: cleanupStale knows them).
  const owned = async (pid: number): Promise<string[]> =>
    (await netnsList()).filter((n) => n.startsWith(`nst-${pid.toString(36)}_`));
  // Its processes (replica daemons): their command lines name its lab's temp dir.
  const processes = (pid: number): string[] => {
    const tag = `/nst-${pid.toString(36)}_`;
    return readdirSync('/proc').flatMap((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
        return cmd.includes(tag) ? [cmd] : [];
      } catch {
        return [];
      }
    });
  };
  const status = (): BtrStatusResponse | undefined => {
    const r = spawnSync(
      process.execPath,
      [NONSTOP, 'btr', 'status', '--socket', socket, '--json'],
      { encoding: 'utf8' },
    );
    return r.status === 0 ? (JSON.parse(r.stdout) as BtrStatusResponse) : undefined;
  };

  // --- a crash (kill -9) first: it leaves its namespaces, which the next start removes ----
  const crashed = start('btr-crashed');
  const crashedSeats = await waitFor(async () => [await owned(crashed.pid), status()] as const, {
    what: 'the first run to serve its status',
    until: ([ns, st]) => (ns.length === 3 && st !== undefined) || !crashed.running(),
    timeoutMs: 30_000,
    context: () => crashed.logTail(4000),
  });
  assert.equal(crashedSeats[0].length, 3, crashed.logTail(4000));
  crashed.kill('SIGKILL');
  await crashed.exited;
  assert.deepEqual(await owned(crashed.pid), crashedSeats[0], 'a crash leaves its namespaces');
  assert.ok(processes(crashed.pid).length >= 4, 'and its daemons running');
  assert.notEqual(snapshot(rt.ns), before, "and their links' ends in the router namespace");

  const btr = start('btr');
  const context = (): string => `nonstop btr:\n${btr.logTail(6000)}`;
  await Promise.all([nb.bird.start(), nb.frr.start()]);
  const seats = await waitFor(() => owned(btr.pid), {
    what: 'the replica namespaces',
    until: (ns) => ns.length === 3 || !btr.running(),
    timeoutMs: 30_000,
    context,
  });
  assert.equal(seats.length, 3, context());
  assert.deepEqual(await owned(crashed.pid), [], "the crashed run's namespaces are gone");
  assert.deepEqual(processes(crashed.pid), [], "and so are the crashed run's daemons");

  // --- the neighbours see one router -----------------------------------------------------
  const converged = (d: typeof nb.bird, prefixes: string[]) =>
    waitFor(() => table(d), {
      what: `${d.spec.name} to learn ${prefixes.join(', ')}`,
      until: (rs) => hasAll(rs, prefixes) || !btr.running(),
      timeoutMs: 60_000,
      context,
    });
  const [bird, frr] = await Promise.all([
    converged(nb.bird, WANT.bird),
    converged(nb.frr, WANT.frr),
  ]);
  assert.ok(btr.running(), context());
  assert.ok(hasAll(bird, WANT.bird) && hasAll(frr, WANT.frr), context());
  const r3 = bird.find((r) => r.prefix === '198.19.3.0/24');
  assert.deepEqual(r3?.asPath, [65001, 65003]);
  assert.deepEqual(r3?.nextHops, ['198.18.1.1']);
  const r2 = frr.find((r) => r.prefix === '198.19.2.0/24');
  assert.deepEqual(r2?.asPath, [65001, 65002]);
  assert.deepEqual(r2?.nextHops, ['198.18.2.1']);
  await Promise.all([established(nb.bird, 1), established(nb.frr, 1)]);
  assert.equal(await tcpSessions(lab, { name: 'nb', ns: `${lab.prefix}nb` }), 1);
  assert.equal(await tcpSessions(lab, { name: 'nf', ns: `${lab.prefix}nf` }), 1);

  // --- its status: every replica votes, on both neighbours and the FIB; no disagreement ---
  const all = ['nonstop-a', 'bird-a', 'frr-a'];
  const st = await waitFor(async () => status(), {
    what: 'every replica voting with no disagreement',
    until: (s) =>
      !!s &&
      s.supervisor.voting === 3 &&
      s.neighbors.every(
        (n) => n.state === 'Established' && n.replicas.filter((r) => r.voting).length === 3,
      ) &&
      s.disagreements.length === 0 &&
      (s.fib?.installed ?? 0) >= 4 &&
      (s.fib?.replicas ?? []).filter((r) => r.voting).length === 3,
    timeoutMs: 30_000,
    context: () => `${JSON.stringify(status(), null, 1)}\n${context()}`,
  });
  assert.deepEqual(st!.supervisor.replicas.map((r) => [r.name, r.kind, r.state]).sort(), [
    ['bird-a', 'bird', 'voting'],
    ['frr-a', 'frr', 'voting'],
    ['nonstop-a', 'nonstop', 'voting'],
  ]);
  for (const n of st!.neighbors) {
    assert.deepEqual(n.replicas.map((r) => r.replica).sort(), [...all].sort());
  }
  // The voted FIB is in the router namespace's kernel table (protocol 214, fib.mode kernel).
  const voted = spawnSync('ip', ['-n', rt.ns, '-4', 'route', 'show', 'proto', '214'], {
    encoding: 'utf8',
  }).stdout;
  for (const p of [...WANT.bird, ...WANT.frr]) assert.match(voted, new RegExp(`^${p} via `, 'm'));

  // --- SIGTERM: everything the factory made is gone, the router namespace is as before ---
  btr.kill('SIGTERM');
  const exit = await Promise.race([
    btr.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref()),
  ]);
  assert.equal(exit?.code, 0, `exit ${JSON.stringify(exit)}\n${context()}`);
  assert.deepEqual(await owned(btr.pid), [], 'no replica namespace is left');
  assert.deepEqual(processes(btr.pid), [], 'no replica daemon is left');
  for (const ns of seats) assert.ok(!netnsExists(ns), ns);
  assert.ok(netnsExists(rt.ns), 'the router namespace still exists');
  assert.equal(snapshot(rt.ns), before, 'the router namespace is as it was');
  if (process.env.NONSTOP_TEST_VERBOSE === '1') console.log(btr.logTail(3000));
});
