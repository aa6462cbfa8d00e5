// Linux network namespaces and veth pairs through iproute2 (`ip`). Addresses are confined to
// the benchmarking/documentation ranges ARCHITECTURE.md allows: 198.18.0.0/15 and
// 2001:db8::/32, and only inside namespaces (never on the host's own interfaces).

import { existsSync } from 'node:fs';
import { bytesEqual } from '../lib/bytes.js';
import { maskAddr, parseAddr } from '../lib/ip.js';
import { run, runChecked, type RunOptions, type RunResult } from './process.js';
import { waitFor } from './wait.js';

/** Linux limit on interface names (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;

const LAB_RANGES: readonly { net: string; len: number }[] = [
  { net: '198.18.0.0', len: 15 },
  { net: '2001:db8::', len: 32 },
];

/** Is `addr` (no prefix length) inside 198.18.0.0/15 or 2001:db8::/32? */
export function isLabAddress(addr: string): boolean {
  const a = parseAddr(addr);
  if (!a) return false;
  return LAB_RANGES.some((r) => {
    const net = parseAddr(r.net)!;
    return net.length === a.length && bytesEqual(maskAddr(a, r.len), net);
  });
}

/** Checks "addr/len" and that it lies in a lab range; throws a message saying what is allowed. */
export function checkLabCidr(cidr: string): { addr: string; len: number; family: 4 | 6 } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const addr = m?.[1];
  const bytes = addr === undefined ? undefined : parseAddr(addr);
  const len = Number(m?.[2]);
  if (!m || !addr || !bytes || len > bytes.length * 8) {
    throw new Error(`bad interface address "${cidr}": expected address/length`);
  }
  if (!isLabAddress(addr)) {
    throw new Error(
      `interface address ${cidr} is outside the lab ranges: use 198.18.0.0/15 (IPv4) or 2001:db8::/32 (IPv6)`,
    );
  }
  return { addr, len, family: bytes.length === 4 ? 4 : 6 };
}

export function checkIfName(name: string): string {
  if (name.length === 0 || name.length > MAX_IFNAME || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new Error(
      `bad interface name "${name}": 1-${MAX_IFNAME} characters of letters, digits, '_', '.', '-'`,
    );
  }
  return name;
}

export function checkNsName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name)) throw new Error(`bad namespace name "${name}"`);
  return name;
}

export const ip = (args: readonly string[], opts?: RunOptions): Promise<string> =>
  runChecked('ip', args, opts);

export async function netnsList(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export const netnsExists = (name: string): boolean => existsSync(`/run/netns/${name}`);

/**
 * Creates a namespace with `lo` up. IPv6 duplicate address detection is switched off by
 * default (a fresh, private link has no duplicates, and DAD delays addresses by ~2 s);
 * `router` enables forwarding.
 */
export async function netnsAdd(
  name: string,
  opts: { dad?: boolean; router?: boolean } = {},
): Promise<void> {
  await ip(['netns', 'add', checkNsName(name)]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  const sysctls: [string, string][] = [];
  if (!opts.dad) {
    sysctls.push(['net.ipv6.conf.all.accept_dad', '0'], ['net.ipv6.conf.default.accept_dad', '0']);
  }
  if (opts.router ?? true) {
    sysctls.push(['net.ipv4.ip_forward', '1'], ['net.ipv6.conf.all.forwarding', '1']);
  }
  if (sysctls.length > 0) {
    await nsExecChecked(name, 'sysctl', ['-q', '-w', ...sysctls.map(([k, v]) => `${k}=${v}`)]);
  }
}

/** Process ids of everything running inside the namespace. */
export async function netnsPids(name: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', name]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Kills every process in the namespace, then deletes it (its interfaces go with it). */
export async function netnsDelete(name: string): Promise<void> {
  for (const pid of await netnsPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!netnsExists(name)) return;
  // A namespace with a process still exiting deletes fine; its mount simply goes away.
  await ip(['netns', 'delete', name]);
}

/** Creates a veth pair with each end directly inside its namespace, so nothing touches the host. */
export async function vethAdd(
  a: { ns: string; ifname: string },
  b: { ns: string; ifname: string },
): Promise<void> {
  await ip([
    'link',
    'add',
    checkIfName(a.ifname),
    'netns',
    a.ns,
    'type',
    'veth',
    'peer',
    'name',
    checkIfName(b.ifname),
    'netns',
    b.ns,
  ]);
}

export async function linkSetUp(ns: string, ifname: string): Promise<void> {
  await ip(['-n', ns, 'link', 'set', ifname, 'up']);
}

export async function linkSetDown(ns: string, ifname: string): Promise<void> {
  await ip(['-n', ns, 'link', 'set', ifname, 'down']);
}

/** Adds a lab address (IPv6 with `nodad` unless `dad` is asked for). */
export async function addrAdd(
  ns: string,
  ifname: string,
  cidr: string,
  opts: { dad?: boolean } = {},
): Promise<void> {
  const { family } = checkLabCidr(cidr);
  const extra = family === 6 && !opts.dad ? ['nodad'] : [];
  await ip(['-n', ns, 'addr', 'add', cidr, 'dev', ifname, ...extra]);
}

/** Waits until no IPv6 address in the namespace is tentative (DAD finished). */
export async function waitForDad(ns: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => ip(['-n', ns, '-6', 'addr', 'show', 'tentative']), {
    what: `IPv6 duplicate address detection to finish in namespace ${ns}`,
    until: (out) => out.trim() === '',
    timeoutMs,
    intervalMs: 100,
  });
}

export function nsExec(
  ns: string,
  cmd: string,
  args: readonly string[],
  opts?: RunOptions,
): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs: 15_000, ...opts });
}

export function nsExecChecked(
  ns: string,
  cmd: string,
  args: readonly string[],
  opts?: RunOptions,
): Promise<string> {
  return runChecked('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** `ip -j` output of a command run inside the namespace. */
export async function ipJson<T>(ns: string, args: readonly string[]): Promise<T> {
  return JSON.parse((await ip(['-n', ns, '-j', ...args])) || '[]') as T;
}
