// What the benchmarks (bench/speaker.ts, bench/btr.ts) say about where they ran, and how
// they write their generated block of docs/performance.md (between `<!-- bench:NAME:begin -->`
// and `<!-- bench:NAME:end -->`; appended at the end when the markers are missing).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding package.json, above the running (compiled) script. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** The first group of `re` in the output of `cmd args`, or '?'. */
export function version(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return re.exec(`${r.stdout}${r.stderr}`)?.[1] ?? '?';
}

/** CPU, memory, OS, kernel and Node.js, e.g. "2 vCPU AMD EPYC, 24 GiB, Debian 12.11 (…)". */
export function machineBase(): string {
  const cpu = cpus()[0]?.model.trim() ?? '?';
  const os = existsSync('/etc/debian_version')
    ? `Debian ${readFileSync('/etc/debian_version', 'utf8').trim()}`
    : 'Linux';
  return (
    `${cpus().length} vCPU ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${os} (kernel ${release()}), ` +
    `Node.js ${process.version}`
  );
}

export const birdVersion = (): string => version('bird', ['--version'], /version (\S+)/);
export const gobgpVersion = (): string => version('gobgpd', ['--version'], /version (\S+)/);
export const frrVersion = (): string =>
  version('/usr/lib/frr/bgpd', ['--version'], /version (\S+)/);

/** `git describe --always --dirty` of the tree. */
export function gitDescribe(root: string): string {
  return spawnSync('git', ['-C', root, 'describe', '--always', '--dirty'], {
    encoding: 'utf8',
  }).stdout.trim();
}

/** Replaces the block between the markers of `name` in `docPath` by `gen`. */
export function replaceDocBlock(docPath: string, name: string, gen: string): void {
  const doc = readFileSync(docPath, 'utf8');
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  const next =
    i >= 0 && j > i
      ? `${doc.slice(0, i + begin.length)}\n${gen}${doc.slice(j)}`
      : `${doc.trimEnd()}\n\n${begin}\n${gen}${end}\n`;
  writeFileSync(docPath, next);
}
