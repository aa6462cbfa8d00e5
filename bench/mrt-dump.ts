// Benchmark: `nonstop mrt dump -m` against `bgpdump -m` (wall time, process start included,
// output to /dev/null, runs alternated), plus in-process decode throughput (typed reader +
// wire/ decoding, no text output). Usage: node dist/bench/mrt-dump.js [runs=5]
// Writes bench/results/mrt-dump-<timestamp>.json and prints a Markdown table.

import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readMrtBatches } from '../src/mrt/reader.js';
import { decodeBgp4mpMessage, decodeRibAttributes } from '../src/mrt/records.js';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found');
    dir = up;
  }
  return dir;
}

const root = projectRoot();
const data = resolve(root, '../shared/data');
const FILES = [
  'RIPE-NCC-bgpdump/test_data/updates.et-header.2015.gz',
  'RIPE-NCC-bgpdump/test_data/bview.20020722.2337.gz',
  'hdb3-MRT/latest-update.gz',
];
const runs = Number(process.argv[2] ?? process.env['RUNS'] ?? 5);
const BGPDUMP = '/usr/bin/bgpdump';

interface Run {
  /** Wall time (ms), process start included. */
  ms: number;
  /** User + system CPU time (ms) of the process, from GNU time. */
  cpuMs: number;
  /** Peak resident set size (KiB), from GNU time. */
  rssKiB: number;
}

const TIME = '/usr/bin/time';

/** Runs a command with stdout to /dev/null under GNU time (Debian package `time`). */
function timeRun(cmd: string, args: string[]): Run {
  const devnull = openSync('/dev/null', 'w');
  const stats = join(tmpdir(), `nonstop-bench-${process.pid}.time`);
  try {
    const t0 = performance.now();
    const r = spawnSync(TIME, ['-f', '%U %S %M', '-o', stats, cmd, ...args], {
      stdio: ['ignore', devnull, 'ignore'],
    });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    const [u, sy, m] = readFileSync(stats, 'utf8').trim().split(/\s+/).map(Number);
    return { ms, cpuMs: ((u ?? 0) + (sy ?? 0)) * 1000, rssKiB: m ?? 0 };
  } finally {
    closeSync(devnull);
    rmSync(stats, { force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface WallResult {
  file: string;
  nonstop: Run[];
  bgpdump: Run[];
}

interface DecodeResult {
  file: string;
  records: number;
  messages: number;
  prefixes: number;
  ribEntries: number;
  seconds: number;
}

async function decodeThroughput(file: string): Promise<DecodeResult> {
  let records = 0;
  let messages = 0;
  let prefixes = 0;
  let ribEntries = 0;
  const t0 = performance.now();
  for await (const batch of readMrtBatches(file)) {
    for (const r of batch) {
      records++;
      if (r.kind === 'message') {
        messages++;
        const d = decodeBgp4mpMessage(r);
        if (d.ok && d.message.type === 2) {
          const m = d.message;
          prefixes += m.nlri.length + m.withdrawn.length;
          for (const a of m.attributes) {
            if (a.kind === 'mp-reach' && a.nlri) prefixes += a.nlri.length;
            else if (a.kind === 'mp-unreach' && a.withdrawn) prefixes += a.withdrawn.length;
          }
        }
      } else if (r.kind === 'rib') {
        for (const e of r.entries) {
          decodeRibAttributes(e.attributes);
          ribEntries++;
        }
        prefixes++;
      } else if (r.kind === 'table-dump') {
        decodeRibAttributes(r.attributes, r.as4);
        ribEntries++;
        prefixes++;
      }
    }
  }
  return {
    file,
    records,
    messages,
    prefixes,
    ribEntries,
    seconds: (performance.now() - t0) / 1000,
  };
}

async function main(): Promise<void> {
  if (!existsSync(data)) {
    console.error(`bench: shared data not found at ${data}`);
    process.exit(1);
  }
  const haveBgpdump = existsSync(BGPDUMP);
  if (!haveBgpdump) console.error('bench: bgpdump not installed; timing nonstop only');
  const bin = join(root, 'bin/nonstop.js');
  const wall: WallResult[] = [];
  for (const rel of FILES) {
    const file = join(data, rel);
    const res: WallResult = { file: rel, nonstop: [], bgpdump: [] };
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench: ${rel} run ${i + 1}/${runs}\r`);
      res.nonstop.push(timeRun(process.execPath, [bin, 'mrt', 'dump', '-m', file]));
      if (haveBgpdump) res.bgpdump.push(timeRun(BGPDUMP, ['-m', file]));
    }
    process.stderr.write('\n');
    wall.push(res);
  }
  const decode: DecodeResult[] = [];
  for (const rel of FILES) decode.push({ ...(await decodeThroughput(join(data, rel))), file: rel });

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    runs,
    command: 'nonstop mrt dump -m FILE > /dev/null vs bgpdump -m FILE > /dev/null',
    wall,
    decode,
  };
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `mrt-dump-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, JSON.stringify(out, null, 2) + '\n');

  const f = (ms: number): string => (ms / 1000).toFixed(3);
  const span = (xs: number[]): string =>
    `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  const lines = [
    `## nonstop mrt dump -m vs bgpdump -m (${runs} runs each, alternated, output to /dev/null, process start included)`,
    '',
    '| file | nonstop wall s, median (min–max) | bgpdump wall s | wall ratio | nonstop CPU s | bgpdump CPU s | CPU ratio | peak RSS nonstop / bgpdump (MiB) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const w of wall) {
    const nw = w.nonstop.map((r) => r.ms);
    const nc = w.nonstop.map((r) => r.cpuMs);
    const nr = Math.max(...w.nonstop.map((r) => r.rssKiB)) / 1024;
    if (!w.bgpdump.length) {
      lines.push(
        `| ${w.file} | ${span(nw)} | n/a | n/a | ${span(nc)} | n/a | n/a | ${nr.toFixed(0)} / n/a |`,
      );
      continue;
    }
    const bw = w.bgpdump.map((r) => r.ms);
    const bc = w.bgpdump.map((r) => r.cpuMs);
    const br = Math.max(...w.bgpdump.map((r) => r.rssKiB)) / 1024;
    lines.push(
      `| ${w.file} | ${span(nw)} | ${span(bw)} | ${(median(nw) / median(bw)).toFixed(2)} | ` +
        `${span(nc)} | ${span(bc)} | ${(median(nc) / median(bc)).toFixed(2)} | ${nr.toFixed(0)} / ${br.toFixed(1)} |`,
    );
  }
  lines.push('', '## In-process decode (typed reader + wire/ decoding, no text output)', '');
  lines.push(
    '| file | records | BGP messages | prefixes | RIB entries | s | messages/s | prefixes/s |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const d of decode) {
    lines.push(
      `| ${d.file} | ${d.records} | ${d.messages} | ${d.prefixes} | ${d.ribEntries} | ${d.seconds.toFixed(3)} | ` +
        `${Math.round(d.messages / d.seconds)} | ${Math.round(d.prefixes / d.seconds)} |`,
    );
  }
  lines.push('', `results: ${path}`);
  console.log(lines.join('\n'));
}

await main();
