// The one CLI: `nonstop <command> [subcommand] [options]`. Composition root only — each
// command module parses its own options and wires the layers below it. Command modules
// are imported only when their command runs: `nonstop mrt dump` must not pay for loading
// the speaker, the YAML parser and the FIB (tens of milliseconds of process start).

import type { Command } from './command.js';

interface Entry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export const commands: readonly Entry[] = [
  {
    name: 'demo',
    summary:
      'a bug-tolerant router masking a buggy replica, live: real daemons as root, else in-process (the README main job); demo speaker',
    load: async () => (await import('./demo.js')).demoCommand,
  },
  {
    name: 'speaker',
    summary: 'run the BGP-4 speaker (daemon) from a YAML config',
    load: async () => (await import('./speaker.js')).speakerCommand,
  },
  {
    name: 'show',
    summary: "show a running speaker's neighbors, RIB and FIB",
    load: async () => (await import('./show.js')).showCommand,
  },
  {
    name: 'neighbor',
    summary: 'reset or refresh a BGP session of a running speaker',
    load: async () => (await import('./show.js')).neighborCommand,
  },
  {
    name: 'btr',
    summary: 'run the bug-tolerant router (replicas, voting, recovery); btr status',
    load: async () => (await import('./btr.js')).btrCommand,
  },
  {
    name: 'mrt',
    summary: 'read MRT files: dump (bgpdump-compatible), stats',
    load: async () => (await import('./mrt.js')).mrtCommand,
  },
  {
    name: 'tcpr',
    summary: 'the TCPR middlebox (application-driven TCP recovery) and its tools',
    load: async () => (await import('./tcpr.js')).tcprCommand,
  },
  {
    name: 'lab',
    summary: "lab experiments: btr-eval (the bug-tolerant router's paper §5)",
    load: async () => (await import('./lab.js')).labCommand,
  },
];

export const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: nonstop <command> [options]',
    '',
    'BGP routing that does not stop.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'nonstop <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`nonstop ${VERSION}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`nonstop: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await cmd.load()).run(rest);
}
