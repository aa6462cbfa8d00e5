// Polling with a deadline, for conditions outside our control (a daemon's socket appearing,
// a BGP session reaching Established). The error says what was awaited and what was last seen.

export class WaitTimeoutError extends Error {
  readonly code = 'ERR_LAB_WAIT_TIMEOUT';
  constructor(
    readonly what: string,
    readonly lastObserved: string,
    message: string,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/** Thrown by an `observe` function to stop waiting at once (e.g. the daemon died). */
export class WaitAbortError extends Error {
  readonly code = 'ERR_LAB_WAIT_ABORT';
  constructor(message: string) {
    super(message);
    this.name = 'WaitAbortError';
  }
}

export interface WaitOptions<T> {
  /** What we are waiting for, phrased as the expectation ("bird1 session Established"). */
  what: string;
  /** When the observed value is good enough; default: it is truthy. */
  until?: (value: T) => boolean;
  timeoutMs?: number;
  intervalMs?: number;
  /** Extra text for the timeout message, e.g. a daemon's log tail. */
  context?: () => string;
}

function show(v: unknown): string {
  if (v instanceof Error) return `error: ${v.message}`;
  if (typeof v === 'string') return v.length > 1500 ? `${v.slice(0, 1500)}…` : v;
  try {
    const s = JSON.stringify(v);
    if (s === undefined) return String(v);
    return s.length > 1500 ? `${s.slice(0, 1500)}…` : s;
  } catch {
    return String(v);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `observe` every `intervalMs` until `until(value)` holds, and returns that value.
 * An exception from `observe` counts as an observation (and is retried), except
 * WaitAbortError, which ends the wait at once.
 */
export async function waitFor<T>(observe: () => T | Promise<T>, opts: WaitOptions<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 200;
  const until = opts.until ?? ((v: T) => Boolean(v));
  const deadline = Date.now() + timeoutMs;
  let last: unknown = '(nothing observed yet)';
  for (;;) {
    try {
      const v = await observe();
      if (until(v)) return v;
      last = v;
    } catch (e) {
      if (e instanceof WaitAbortError) throw e;
      last = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const lastText = show(last);
  const ctx = opts.context?.();
  throw new WaitTimeoutError(
    opts.what,
    lastText,
    `timed out after ${timeoutMs} ms waiting for ${opts.what}; last observed: ${lastText}` +
      (ctx ? `\n${ctx}` : ''),
  );
}
