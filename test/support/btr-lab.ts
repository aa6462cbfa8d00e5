// Shared set-up of the real-daemon bug-tolerant router tests (test/btr-replicas.test.ts,
// test/btr-masking.test.ts, …; docs/btr.md "Replicas in namespaces"). The scenario — a
// router namespace running the hypervisor between a real BIRD 2 and a real FRR neighbour,
// with replicas nonstop and BIRD 2 (accept mode) and FRR (connect mode) — moved to
// src/lab/btr-lab.ts, where `nonstop demo` uses it too; it is re-exported here under the
// tests' names, with two checks only the tests use.

import assert from 'node:assert/strict';
import type { Daemon, Lab, LabNode } from '../../src/lab/index.js';

export {
  BIRD_ROUTES,
  FRR_ROUTES,
  ROUTER,
  WANT,
  btrLabRouter as btrRouter,
  hasAll,
  hypervisorFor,
  neighbours,
  table,
  voteFaults,
  type BtrLabRouter as BtrRouter,
  type BtrLabRouterOptions as BtrRouterOptions,
  type Neighbours,
} from '../../src/lab/btr-lab.js';

/** Established BGP connections in a namespace (the kernel's view, not the daemon's). */
export async function tcpSessions(lab: Lab, node: LabNode): Promise<number> {
  const r = await lab.exec(node, 'ss', [
    '-Htn',
    'state',
    'established',
    '( sport = :179 or dport = :179 )',
  ]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

export async function uptime(d: Daemon): Promise<number> {
  const [n] = await d.neighbors();
  assert.equal(n?.state, 'established', `${d.spec.name}: ${JSON.stringify(n)}`);
  return n?.uptime ?? -1;
}
