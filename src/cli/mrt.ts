// `nonstop mrt ...` — placeholder wired by the MRT work (dump, stats).
import type { Command } from './command.js';

export const mrtCommand: Command = {
  name: 'mrt',
  summary: 'read MRT files: dump (bgpdump-compatible), stats',
  run(): Promise<number> {
    process.stderr.write('nonstop mrt: not implemented yet\n');
    return Promise.resolve(1);
  },
};
