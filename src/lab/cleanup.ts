// Removes what crashed lab runs left behind: namespaces (with their processes), stray
// interfaces and temp directories named with our prefix whose owning process is gone.

import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, netnsDelete, netnsList } from '../net/netns.js';
import { pidAlive } from '../net/process.js';
import { LAB_PREFIX, ownerPid } from './names.js';

export interface CleanupReport {
  namespaces: string[];
  links: string[];
  dirs: string[];
  /** Processes killed because their command line names a stale temp dir (see below). */
  processes?: number[];
}

/**
 * Pids (not this process) whose command line names one of `dirs` (absolute paths). Every
 * lab daemon is started with its config (and sockets) in its lab's temp dir, so this finds
 * them even where `ip netns pids` cannot: a lab made by a process in a private mount
 * namespace (one started by `ip netns exec`) has namespace bind mounts only that process
 * saw, and when it dies its daemons keep running in namespaces no name reaches.
 */
function pidsUsing(dirs: readonly string[]): number[] {
  if (dirs.length === 0) return [];
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // gone, or not ours to read
    }
    if (dirs.some((d) => cmd.includes(`${d}/`))) out.push(pid);
  }
  return out;
}

/**
 * Deletes leftovers of lab runs whose owning process is gone: namespaces (killing what runs
 * in them) and temp dirs named `<prefix><pid>_<xx>-...`. `prefix` must start with "nst-".
 * `includeLive` also deletes those of live processes; `unowned` also deletes names with the
 * prefix that carry no owner (other tools' debris, stray host interfaces).
 */
export async function cleanupStale(
  prefix = LAB_PREFIX,
  opts: { includeLive?: boolean; unowned?: boolean } = {},
): Promise<CleanupReport> {
  if (!prefix.startsWith(LAB_PREFIX)) {
    throw new Error(`cleanupStale: prefix "${prefix}" must start with "${LAB_PREFIX}"`);
  }
  const stale = (name: string): boolean => {
    if (!name.startsWith(prefix)) return false;
    const pid = ownerPid(name);
    if (pid === undefined) return !!opts.unowned;
    return !!opts.includeLive || !pidAlive(pid);
  };
  const report: CleanupReport = { namespaces: [], links: [], dirs: [] };
  for (const ns of await netnsList()) {
    if (!stale(ns)) continue;
    await netnsDelete(ns);
    report.namespaces.push(ns);
  }
  // Labs create veths directly inside their namespaces, never in the host's; interface
  // names are too short to carry an owner, so host ones go only when asked (`unowned`).
  const links = opts.unowned
    ? (JSON.parse((await ip(['-j', 'link', 'show'])) || '[]') as { ifname?: string }[])
    : [];
  for (const l of links) {
    if (!l.ifname?.startsWith(prefix)) continue;
    await ip(['link', 'delete', l.ifname]).catch(() => undefined);
    report.links.push(l.ifname);
  }
  const dirs = readdirSync(tmpdir()).filter(stale);
  const pids = pidsUsing(dirs.map((d) => join(tmpdir(), d)));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (pids.length > 0) report.processes = pids;
  for (const name of dirs) {
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    report.dirs.push(name);
  }
  return report;
}
