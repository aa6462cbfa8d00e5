// Removes what crashed lab runs left behind: namespaces (with their processes), stray
// interfaces and temp directories named with our prefix whose owning process is gone.

import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, netnsDelete, netnsList } from '../net/netns.js';
import { pidAlive } from '../net/process.js';
import { LAB_PREFIX, ownerPid } from './names.js';

export interface CleanupReport {
  namespaces: string[];
  links: string[];
  dirs: string[];
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
  for (const name of readdirSync(tmpdir())) {
    if (!stale(name)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    report.dirs.push(name);
  }
  return report;
}
