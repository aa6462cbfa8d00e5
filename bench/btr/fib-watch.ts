// The FIB observer of bench/btr.ts: a child process in the router's namespace that follows
// the namespace's main kernel table (src/fib/route-monitor.ts: rtnetlink notifications read
// in a worker thread) and records when each prefix of the stream (btr/stream.ts) first
// appears there — installed by the daemon itself (a router alone) or by the hypervisor's
// FIB vote (a bug-tolerant router). Timestamps are CLOCK_MONOTONIC ms taken when the
// notification was read, comparable with the feeder's send times. Commands: expect / dump
// (btr/arrivals.ts); reports `established` once it is listening.
//
// Usage (by the harness): node fib-watch.js CONFIG.json (CONFIG is unused: {}).

import { createInterface } from 'node:readline';
import { RouteMonitor } from '../../src/fib/route-monitor.js';
import { report } from '../speaker/session.js';
import { arrived, onArrivalCommand, type ArrivalCommand } from './arrivals.js';
import { prefixIndex } from './stream.js';

function seen(prefix: string, t: number): void {
  const slash = prefix.indexOf('/');
  const parts = prefix.slice(0, slash).split('.');
  if (parts.length !== 4) return;
  const a = parts.reduce((x, p) => x * 256 + Number(p), 0);
  const i = prefixIndex(a, Number(prefix.slice(slash + 1)));
  if (i >= 0) arrived(i, t);
}

async function main(): Promise<void> {
  await RouteMonitor.start(
    { namespaces: [undefined] },
    {
      snapshot: (_n, routes, t) => {
        for (const r of routes) seen(r.prefix, t);
      },
      route: (_n, add, r, t) => {
        if (add) seen(r.prefix, t);
      },
      error: (e) => report({ event: 'error', why: e.message }),
    },
  );
  report({ event: 'established' });
  createInterface({ input: process.stdin }).on('line', (line) =>
    onArrivalCommand(JSON.parse(line) as ArrivalCommand),
  );
}

main().catch((e: unknown) => {
  report({ event: 'error', why: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
