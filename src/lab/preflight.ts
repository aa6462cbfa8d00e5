// Can this host run lab topologies? Root, iproute2, the daemons' binaries, and nftables for
// bug-tolerant-router replicas (kind 'btr').

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bird1Binary } from './daemons/bird1.js';
import { LAB_PREFIX, newLabId } from './names.js';

const BINARIES: Record<string, string[]> = {
  base: ['ip'],
  bird: ['bird', 'birdc'],
  // Unpacked from Debian's `bird` package by scripts/setup.sh, never on the PATH.
  bird1: (['bird', 'bird6', 'birdc', 'birdc6'] as const).map(bird1Binary),
  frr: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh'],
  gobgp: ['gobgpd', 'gobgp'],
  exabgp: ['exabgp', '/usr/bin/python3', 'mkfifo'],
  // Bug-tolerant-router replicas: the transparent proxy (btr-replica.ts).
  btr: ['nft'],
};

const found = (bin: string): boolean =>
  bin.startsWith('/')
    ? existsSync(bin)
    : spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** The binaries missing to run a lab with these daemon kinds (empty when all are found). */
export function labMissingBinaries(kinds: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const kind of ['base', ...kinds]) {
    for (const bin of BINARIES[kind] ?? []) {
      if (!found(bin)) problems.push(`${bin} not found (${kind}; run scripts/setup.sh)`);
    }
  }
  return problems;
}

/** What is missing to run a lab with these daemon kinds (empty when all is well). */
export function labProblems(kinds: readonly string[] = []): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('lab tests need root (network namespaces)');
  return [...problems, ...labMissingBinaries(kinds)];
}

/**
 * Why network namespaces cannot be used here, or undefined when they can: root is not
 * always enough (a container without CAP_SYS_ADMIN, a read-only /run). Creates and deletes
 * one namespace, named like a lab's so that `cleanupStale` removes it if this process dies
 * in between.
 */
export function namespaceProblem(): string | undefined {
  if (!found('ip')) return 'ip (iproute2) not found';
  const name = `${LAB_PREFIX}${newLabId()}-probe`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.status !== 0) {
    const why = (add.stderr ?? '').trim() || add.error?.message || `exit ${String(add.status)}`;
    return `network namespaces are not usable (ip netns add: ${why})`;
  }
  spawnSync('ip', ['netns', 'delete', name]);
  return undefined;
}

/**
 * For tests: true when the lab can run. Otherwise returns false if NONSTOP_SKIP_LAB=1 (the
 * caller skips) and throws a message saying what is missing if not.
 */
export function labAvailable(kinds: readonly string[] = []): boolean {
  const problems = labProblems(kinds);
  if (problems.length === 0) return true;
  if (process.env.NONSTOP_SKIP_LAB === '1') return false;
  throw new Error(
    `cannot run lab tests: ${problems.join('; ')}. Set NONSTOP_SKIP_LAB=1 to skip them.`,
  );
}
