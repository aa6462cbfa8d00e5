// `nonstop demo` — placeholder for the README's main job.
import type { Command } from './command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'show the system working on an embedded example (the README main job)',
  run(): Promise<number> {
    process.stdout.write('nonstop demo: coming\n');
    return Promise.resolve(0);
  },
};
