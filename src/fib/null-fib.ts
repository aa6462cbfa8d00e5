// `fib.mode: none`: the speaker computes routes but installs them nowhere (a route server,
// or a benchmark of the BGP side alone). Every change is accepted and nothing is kept.

import type { ApplyReport, Fib, FibChange, FibRoute } from './fib.js';

export class NullFib implements Fib {
  apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    return Promise.resolve({ applied: changes.length, failed: [] });
  }

  list(): Promise<FibRoute[]> {
    return Promise.resolve([]);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
