// `nonstop mrt dump|stats` — MRT tooling. `dump` prints bgpdump 1.6's one-line formats
// (-m, -M) byte for byte so that existing scripts keep working.
import { closeSync, openSync } from 'node:fs';
import type { Command } from './command.js';
import { dumpMrtFile } from '../mrt/dump.js';
import { MrtInputError } from '../mrt/source.js';
import { formatStats, mrtStats } from '../mrt/stats.js';
import { fdSink, TextOut } from '../mrt/text-out.js';

const DUMP_USAGE = `usage: nonstop mrt dump [-m|-M] [-t dump|change] [-O FILE] [-q] FILE...

Print MRT records (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, BGP4MP_ET; gzip, bzip2 or raw,
detected from the content; '-' reads stdin) in bgpdump 1.6's formats:

  -m          one line per entry, Unix timestamps
  -M          one line per entry, human-readable UTC timestamps (shorter lines)
  -t dump     RIB entries carry the time of the dump (default)
  -t change   RIB entries carry the time the route last changed
  -O FILE     write to FILE instead of stdout
  -q          do not report corrupt records on stderr
  -H, --help  this help

Corrupt records are reported on stderr with their offset in the decompressed stream and
skipped; the exit status is 1 if a file cannot be read.
`;

const MRT_USAGE = `usage: nonstop mrt <dump|stats> [options] FILE...

  dump    print MRT records like bgpdump -m / -M
  stats   count records, peers, prefixes and errors (--json for JSON)

Run 'nonstop mrt <subcommand> --help' for details.
`;

interface DumpArgs {
  mode: 'm' | 'M';
  timeType: 'dump' | 'change';
  output?: string;
  quiet: boolean;
  files: string[];
}

function parseDumpArgs(args: string[]): DumpArgs | string {
  const r: DumpArgs = { mode: 'm', timeType: 'dump', quiet: false, files: [] };
  let verbose = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-m') {
      r.mode = 'm';
      verbose = false;
    } else if (a === '-M') {
      r.mode = 'M';
      verbose = false;
    } else if (a === '-t') {
      const v = args[++i];
      if (v !== 'dump' && v !== 'change') return `-t takes 'dump' or 'change', not '${v ?? ''}'`;
      r.timeType = v;
    } else if (a === '-O') {
      const v = args[++i];
      if (!v) return '-O needs a file name';
      r.output = v;
    } else if (a === '-q') r.quiet = true;
    else if (a === '-v' || a === '-s') {
      /* bgpdump logging switches: accepted for compatibility */
    } else if (a === '--') {
      r.files.push(...args.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a !== '-') return `unknown option '${a}'`;
    else r.files.push(a);
  }
  if (verbose) {
    return "the multi-line verbose format (bgpdump's default -H) is not implemented; use -m or -M";
  }
  if (r.files.length === 0) return 'no input file';
  return r;
}

async function dump(args: string[]): Promise<number> {
  if (args.includes('-H') || args.includes('--help') || args.includes('-h')) {
    process.stdout.write(DUMP_USAGE);
    return 0;
  }
  const parsed = parseDumpArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`nonstop mrt dump: ${parsed}\n\n${DUMP_USAGE}`);
    return 2;
  }
  let fd = 1;
  if (parsed.output !== undefined) {
    try {
      fd = openSync(parsed.output, 'w');
    } catch (e) {
      process.stderr.write(
        `nonstop mrt dump: cannot open output file ${parsed.output}: ${(e as Error).message}\n`,
      );
      return 1;
    }
  }
  const out = new TextOut(fdSink(fd));
  let status = 0;
  try {
    for (const file of parsed.files) {
      const onWarning = parsed.quiet
        ? undefined
        : (w: { offset: number; reason: string }): void => {
            process.stderr.write(`nonstop mrt dump: ${file}: offset ${w.offset}: ${w.reason}\n`);
          };
      try {
        const res = await dumpMrtFile(
          file,
          { mode: parsed.mode, timeType: parsed.timeType },
          out,
          onWarning,
        );
        if (res.records === 0 && res.lines === 0 && !res.complete) {
          process.stderr.write(`nonstop mrt dump: ${file}: not an MRT file (no complete record)\n`);
          status = 1;
        }
      } catch (e) {
        out.flush();
        if (e instanceof MrtInputError) {
          process.stderr.write(`nonstop mrt dump: ${e.message}\n`);
          status = 1;
        } else throw e;
      }
    }
  } finally {
    out.flush();
    if (fd !== 1) closeSync(fd);
  }
  return status;
}

const STATS_USAGE = `usage: nonstop mrt stats [--json] FILE...

Count the records of MRT files per type/subtype, list the peers (PEER_INDEX_TABLE and
BGP4MP), count prefix announcements/withdrawals per family and RIB entries, give the time
range and the corrupt records (with their offsets). --json prints one JSON document.
`;

async function stats(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help') || args.includes('-H')) {
    process.stdout.write(STATS_USAGE);
    return 0;
  }
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  const bad = files.find((f) => f.startsWith('-') && f !== '-');
  if (bad !== undefined || files.length === 0) {
    process.stderr.write(
      `nonstop mrt stats: ${bad ? `unknown option '${bad}'` : 'no input file'}\n\n${STATS_USAGE}`,
    );
    return 2;
  }
  let status = 0;
  const all = [];
  for (const f of files) {
    try {
      const s = await mrtStats(f);
      if (s.records === 0 && s.errors.length > 0) {
        process.stderr.write(`nonstop mrt stats: ${f}: not an MRT file (no complete record)\n`);
        status = 1;
      }
      if (json) all.push(s);
      else process.stdout.write(formatStats(s));
    } catch (e) {
      if (!(e instanceof MrtInputError)) throw e;
      process.stderr.write(`nonstop mrt stats: ${e.message}\n`);
      status = 1;
    }
  }
  if (json) process.stdout.write(JSON.stringify(files.length === 1 ? all[0] : all, null, 2) + '\n');
  return status;
}

export const mrtCommand: Command = {
  name: 'mrt',
  summary: 'read MRT files: dump (bgpdump-compatible), stats',
  async run(args: string[]): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'dump') return dump(rest);
    if (sub === 'stats') {
      return stats(rest);
    }
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      process.stdout.write(MRT_USAGE);
      return sub === undefined ? 2 : 0;
    }
    process.stderr.write(`nonstop mrt: unknown subcommand '${sub}'\n\n${MRT_USAGE}`);
    return 2;
  },
};
