// The arrival record of the benchmark's observers (bench/btr/peer.ts as receiver: UPDATEs
// from the router; bench/btr/fib-watch.ts: routes in the router's kernel FIB): the first
// CLOCK_MONOTONIC ms at which each prefix of the stream (btr/stream.ts) was seen, and the
// two commands the harness sends on stdin:
// - `{"cmd":"expect","from","count","id"}`: report `complete` (with `id`) once every prefix
//   of [from, from+count) has arrived;
// - `{"cmd":"dump","from","count","out","id"}`: write their arrival times (NaN: not arrived)
//   to `out` as a Float64Array and report `dumped`.

import { writeFileSync } from 'node:fs';
import { monoMs, report } from '../speaker/session.js';

/** Arrival time by prefix index; 0 = not yet. Grown on demand. */
let arrivals = new Float64Array(1 << 16);
let watch: { from: number; count: number; id: unknown; missing: number } | undefined;

/** Prefix `i` seen at `t` (only the first sighting counts). */
export function arrived(i: number, t: number): void {
  if (i >= arrivals.length) {
    const next = new Float64Array(Math.max(arrivals.length * 2, i + 1));
    next.set(arrivals);
    arrivals = next;
  }
  if (arrivals[i] !== 0) return;
  arrivals[i] = t;
  if (watch && i >= watch.from && i < watch.from + watch.count && --watch.missing === 0) {
    report({ event: 'complete', id: watch.id, t });
    watch = undefined;
  }
}

export interface ArrivalCommand {
  cmd: string;
  id?: unknown;
  out?: string;
  from?: number;
  count?: number;
}

/** Handles `expect` and `dump` (see the header); other commands are ignored. */
export function onArrivalCommand(c: ArrivalCommand): void {
  if (c.cmd === 'expect') {
    let missing = 0;
    for (let i = c.from!; i < c.from! + c.count!; i++) if (!(arrivals[i]! > 0)) missing++;
    watch = { from: c.from!, count: c.count!, id: c.id, missing };
    if (missing === 0) {
      report({ event: 'complete', id: c.id, t: monoMs() });
      watch = undefined;
    }
  } else if (c.cmd === 'dump') {
    const out = new Float64Array(c.count!);
    for (let k = 0; k < c.count!; k++) {
      const t = arrivals[c.from! + k] ?? 0;
      out[k] = t > 0 ? t : NaN;
    }
    writeFileSync(c.out!, out);
    report({ event: 'dumped', id: c.id });
  }
}
