// What the harness reads about the DUT's processes from /proc: peak and current resident
// set (VmHWM, VmRSS in /proc/<pid>/status) and CPU time (utime + stime in /proc/<pid>/stat).
// The DUT's processes are found as the processes of its namespace, so FRR counts as
// bgpd + zebra and nothing else in the lab is included.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times. */
export const CLK_TCK =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/** Control clients run in the namespace now and then; they are not the DUT. */
const CLIENTS = new Set(['birdc', 'vtysh', 'gobgp', 'ip']);

export interface ProcInfo {
  pid: number;
  comm: string;
}

export function namespacePids(ns: string): ProcInfo[] {
  const out = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .map(Number)
    .filter((p) => p > 0)
    .flatMap((pid) => {
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        return CLIENTS.has(comm) ? [] : [{ pid, comm }];
      } catch {
        return [];
      }
    });
}

export interface ProcSample {
  /** Sum over the processes, KiB. */
  hwmKiB: number;
  rssKiB: number;
  /** Sum of user + system CPU seconds. */
  cpuS: number;
}

function statusKiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : 0;
}

export function sample(procs: readonly ProcInfo[]): ProcSample {
  let hwmKiB = 0;
  let rssKiB = 0;
  let ticks = 0;
  for (const p of procs) {
    try {
      const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
      hwmKiB += statusKiB(status, 'VmHWM');
      rssKiB += statusKiB(status, 'VmRSS');
      const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited: its figures are lost, which the caller notices as a dead DUT
    }
  }
  return { hwmKiB, rssKiB, cpuS: ticks / CLK_TCK };
}
