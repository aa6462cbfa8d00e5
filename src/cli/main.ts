// The one CLI: `nonstop <command> [subcommand] [options]`. Composition root only — each
// command module parses its own options and wires the layers below it.

import { mrtCommand } from './mrt.js';
import { demoCommand } from './demo.js';
import { neighborCommand, showCommand } from './show.js';
import { speakerCommand } from './speaker.js';
import type { Command } from './command.js';

const commands: readonly Command[] = [
  demoCommand,
  speakerCommand,
  showCommand,
  neighborCommand,
  mrtCommand,
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
  return cmd.run(rest);
}
