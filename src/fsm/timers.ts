// The FSM's timers (RFC 4271 §8 "ConnectRetryTimer, HoldTimer, KeepaliveTimer", §8.1.1
// "DelayOpenTimer, IdleHoldTimer") as a pure value: timer name → absolute deadline (ms
// on the injected clock). The I/O layer arms one real timeout for nextDeadline() and, when
// it fires, feeds the events of expired(now) to step(); a timer that is stopped in the
// meantime simply is no longer in the set.

import { TIMER_EVENT, type TimerEventName, type TimerName } from './events.js';

/** Fixed order, so that timers expiring at the same instant fire deterministically. */
export const TIMER_NAMES: readonly TimerName[] = [
  'HoldTimer',
  'KeepaliveTimer',
  'DelayOpenTimer',
  'ConnectRetryTimer',
  'IdleHoldTimer',
];

export type Deadlines = Readonly<Partial<Record<TimerName, number>>>;

export class TimerSet {
  static readonly EMPTY = new TimerSet({});

  private constructor(readonly deadlines: Deadlines) {}

  /** Build from a plain record (e.g. an imported snapshot); rejects bad deadlines. */
  static from(deadlines: Readonly<Record<string, unknown>>): TimerSet {
    const out: Partial<Record<TimerName, number>> = {};
    for (const [name, d] of Object.entries(deadlines)) {
      if (!(TIMER_NAMES as readonly string[]).includes(name)) {
        throw new Error(`unknown timer "${name}" (expected one of ${TIMER_NAMES.join(', ')})`);
      }
      if (typeof d !== 'number' || !Number.isFinite(d)) {
        throw new Error(`timer ${name} has deadline ${String(d)}; expected a finite number`);
      }
      out[name as TimerName] = d;
    }
    return new TimerSet(out);
  }

  has(name: TimerName): boolean {
    return this.deadlines[name] !== undefined;
  }

  get(name: TimerName): number | undefined {
    return this.deadlines[name];
  }

  /** Arm (or re-arm) a timer. */
  start(name: TimerName, deadline: number): TimerSet {
    return new TimerSet({ ...this.deadlines, [name]: deadline });
  }

  stop(name: TimerName): TimerSet {
    if (!this.has(name)) return this;
    const next: Partial<Record<TimerName, number>> = { ...this.deadlines };
    delete next[name];
    return new TimerSet(next);
  }

  /** Names of the armed timers, in TIMER_NAMES order. */
  names(): TimerName[] {
    return TIMER_NAMES.filter((n) => this.has(n));
  }

  get size(): number {
    return this.names().length;
  }

  /** The earliest armed timer, or undefined when none is armed. */
  nextDeadline(): { readonly name: TimerName; readonly deadline: number } | undefined {
    let best: { name: TimerName; deadline: number } | undefined;
    for (const name of TIMER_NAMES) {
      const d = this.deadlines[name];
      if (d !== undefined && (best === undefined || d < best.deadline))
        best = { name, deadline: d };
    }
    return best;
  }

  /** Events of the timers due at `now`, earliest first (ties in TIMER_NAMES order). */
  expired(now: number): { readonly type: TimerEventName }[] {
    return this.names()
      .map((name) => ({ name, deadline: this.deadlines[name]! }))
      .filter((t) => t.deadline <= now)
      .sort((a, b) => a.deadline - b.deadline) // stable: ties keep TIMER_NAMES order
      .map((t) => ({ type: TIMER_EVENT[t.name] }));
  }

  /** Deadlines moved by `deltaMs` (importing a session onto another clock). */
  shift(deltaMs: number): TimerSet {
    const next: Partial<Record<TimerName, number>> = {};
    for (const n of this.names()) next[n] = this.deadlines[n]! + deltaMs;
    return new TimerSet(next);
  }

  toJSON(): Deadlines {
    return this.deadlines;
  }
}
