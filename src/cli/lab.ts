// `nonstop lab <experiment>` — experiments run by the lab. Each subcommand is registered by
// name below and loaded only when it runs; today: `btr-eval`, the bug-tolerant router's
// evaluation against its paper (§5.1 on virtual time; docs/evaluation/btr.md).

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';

const LAB_USAGE = `usage: nonstop lab <experiment> [options]

experiments:
  btr-eval   the bug-tolerant router's evaluation (paper §5): voting under churn on
             virtual time (fault rate, waiting time, update overhead, the threshold T) and
             processing overhead with real processes; writes docs/evaluation/btr.md and
             its SVG charts

Run 'nonstop lab <experiment> --help' for its options.
`;

const BTR_EVAL_USAGE = `usage: nonstop lab btr-eval [--quick] [--out DIR] [--doc DIR] [--fresh]
                             [--only GROUPS] [--jobs N] [--trace FILE]

Reproduces §5.1 of "Virtually Eliminating Router Bugs" (CoNEXT 2009) with the real voter
(src/btr/voter.ts) on virtual time: a RIS update trace extended to 100 hours, replicas with
measured processing delays and the paper's bug model, the strategies wait-for-consensus
(K=R), master/slave and continuous-majority with R = 3, 4, 5 and 3 + 1 standby. And §5.2
with real processes (as root): FIB pass-through with 1 to 31 replicas against a standard
router, at trace speed and as fast as the feeder sends (bench/btr.ts --overhead).

  --quick         a smoke test (about a minute): short runs, few samples; the report goes to
                  the --out directory unless --doc is given
  --out DIR       work directory (default bench/results/btr-eval); every finished point is
                  kept in DIR/results.json and not run again
  --doc DIR       where btr.md and the charts go (default docs/evaluation; --quick: DIR of --out)
  --fresh         forget the results in the work directory and start over
  --only GROUPS   comma-separated: fig3, fig4, fig5, fig6, waiting, validate, table,
                  overhead (§5.2: real daemons, needs root; run when DIR/overhead.json is
                  missing or with --fresh; skipped with --quick)
  --jobs N        worker threads (default 2, or the number of CPUs if fewer)
  --trace FILE    the MRT update trace (default ../shared/data/hdb3-MRT/latest-update.gz)
  -h, --help      this help

Progress (what runs, how far, ETA) goes to stderr. Run it niced on a shared machine:
  nice -n 10 node bin/nonstop.js lab btr-eval
`;

/** The project root: the nearest ancestor of this module holding package.json. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

interface BtrEvalArgs {
  quick: boolean;
  out?: string;
  doc?: string;
  fresh: boolean;
  only?: string[];
  jobs?: number;
  trace?: string;
}

function parseBtrEval(args: string[], groups: readonly string[]): BtrEvalArgs | string {
  const r: BtrEvalArgs = { quick: false, fresh: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string | undefined => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) return undefined;
      i++;
      return v;
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--quick':
        r.quick = true;
        break;
      case '--fresh':
        r.fresh = true;
        break;
      case '--out':
      case '--doc':
      case '--trace': {
        const v = value();
        if (!v) return `${name} needs a path`;
        r[name.slice(2) as 'out' | 'doc' | 'trace'] = v;
        break;
      }
      case '--only': {
        const v = value();
        if (!v) return `--only needs a list of groups (${groups.join(', ')})`;
        const list = v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const bad = list.find((g) => !groups.includes(g));
        if (bad !== undefined)
          return `--only: unknown group '${bad}' (groups: ${groups.join(', ')})`;
        r.only = list;
        break;
      }
      case '--jobs': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          return `--jobs takes a positive integer, not '${v ?? ''}'`;
        r.jobs = n;
        break;
      }
      default:
        return `unknown option '${a}'`;
    }
  }
  return r;
}

async function btrEval(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(BTR_EVAL_USAGE);
    return 0;
  }
  const { runEval, DataMissingError } = await import('../lab/btr-eval/run.js');
  const { FULL, QUICK, ONLY_CHOICES } = await import('../lab/btr-eval/plan.js');
  const parsed = parseBtrEval(args, ONLY_CHOICES);
  if (typeof parsed === 'string') {
    process.stderr.write(`nonstop lab btr-eval: ${parsed}\n\n${BTR_EVAL_USAGE}`);
    return 2;
  }
  const root = projectRoot();
  const outDir = resolve(parsed.out ?? join(root, 'bench/results/btr-eval'));
  const docDir = resolve(parsed.doc ?? (parsed.quick ? outDir : join(root, 'docs/evaluation')));
  const tracePath = resolve(parsed.trace ?? join(root, '../shared/data/hdb3-MRT/latest-update.gz'));
  try {
    await runEval({
      preset: parsed.quick ? QUICK : FULL,
      outDir,
      docDir,
      tracePath,
      fresh: parsed.fresh,
      ...(parsed.only ? { only: parsed.only as (typeof ONLY_CHOICES)[number][] } : {}),
      jobs: parsed.jobs ?? Math.min(2, availableParallelism()),
      log: (line) => process.stderr.write(`${line}\n`),
      tty: process.stderr.isTTY === true,
      overheadScript: join(root, 'dist/bench/btr.js'),
    });
    return 0;
  } catch (e) {
    if (e instanceof DataMissingError) {
      process.stderr.write(`nonstop lab btr-eval: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

const EXPERIMENTS: Record<string, (args: string[]) => Promise<number>> = {
  'btr-eval': btrEval,
};

export const labCommand: Command = {
  name: 'lab',
  summary: "lab experiments: btr-eval (the bug-tolerant router's paper §5)",
  async run(args: string[]): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      process.stdout.write(LAB_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const run = EXPERIMENTS[sub];
    if (!run) {
      process.stderr.write(`nonstop lab: unknown experiment '${sub}'\n\n${LAB_USAGE}`);
      return 2;
    }
    return run(rest);
  },
};
