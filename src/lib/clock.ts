// Injected time (ARCHITECTURE.md: pure cores never read the wall clock). A Clock gives the
// current time in milliseconds and one-shot timers; `systemClock` is the real one, and
// `ManualClock` is driven by tests and by lab experiments on virtual time.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on this clock's timeline (monotonic for the system clock). */
  now(): number;
  /** Runs `fn` once when now() >= at (ms on this clock's timeline). */
  at(at: number, fn: () => void): TimerHandle;
}

/** The process's monotonic clock (performance.now()) with setTimeout timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  at(at, fn) {
    const t = setTimeout(fn, Math.max(0, at - performance.now()));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Milliseconds on the machine's monotonic clock (process.hrtime: comparable between
 * processes). Cheap from the start: a process's first use of `performance` loads perf_hooks
 * (0.6 ms measured), which a restarted process's recovery path should not pay.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Wall-clock seconds since the epoch for records that need absolute time (MRT, logs). */
export type WallClock = () => number;

/** A clock that only moves when told to; timers fire in deadline order during advance(). */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  at(at: number, fn: () => void): TimerHandle {
    const id = this.seq++;
    this.timers.set(id, { at, fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /** Moves time forward by `ms`, firing due timers in order (ties in creation order). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && tm.at < nextAt) {
          nextAt = tm.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const tm = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.t = Math.max(this.t, tm.at);
      tm.fn();
    }
    this.t = end;
  }

  /** Number of pending timers (for tests). */
  get pending(): number {
    return this.timers.size;
  }
}
