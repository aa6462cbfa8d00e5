// Config validation helpers: every error names the key path it is about and what was
// expected there, and validation carries on so one run reports every mistake.

import type { PolicyError } from './types.js';

export class Checker {
  readonly errors: PolicyError[] = [];

  /** Record that `path` should have been `expected`; `got` (if given) is shown too. */
  fail(path: string, expected: string, ...got: [unknown?]): undefined {
    const shown = got.length > 0 ? `, got ${show(got[0])}` : '';
    this.errors.push({ path, expected, message: `${path}: expected ${expected}${shown}` });
    return undefined;
  }
}

/** A short rendering of a config value for error messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return `a mapping with keys ${Object.keys(v).join(', ') || '(none)'}`;
  return typeof v;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Report keys of `obj` that are not in `allowed`. */
export function checkKeys(
  c: Checker,
  path: string,
  obj: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) c.fail(`${path}.${k}`, `one of the keys ${allowed.join(', ')}`);
  }
}

/** An integer in [min, max], or undefined after recording an error. */
export function intIn(
  c: Checker,
  path: string,
  v: unknown,
  min: number,
  max: number,
  what = 'an integer',
): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return c.fail(path, `${what} from ${min} to ${max}`, v);
  }
  return v;
}

/** A list, or undefined after recording an error. A single item is not accepted as a list
 * here; callers that allow it wrap it first. */
export function list(c: Checker, path: string, v: unknown, what: string): unknown[] | undefined {
  if (!Array.isArray(v)) return c.fail(path, `a list of ${what}`, v);
  return v;
}

/** One of `choices`, or undefined after recording an error. */
export function oneOf<T extends string>(
  c: Checker,
  path: string,
  v: unknown,
  choices: readonly T[],
): T | undefined {
  if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
  return c.fail(path, `one of ${choices.join(', ')}`, v);
}

/** An inclusive [min, max] range from a number or `{ min?, max? }`. */
export function range(
  c: Checker,
  path: string,
  v: unknown,
  lo: number,
  hi: number,
): readonly [number, number] | undefined {
  if (typeof v === 'number') {
    const n = intIn(c, path, v, lo, hi);
    return n === undefined ? undefined : [n, n];
  }
  if (!isRecord(v)) return c.fail(path, `an integer or { min, max } within ${lo} to ${hi}`, v);
  checkKeys(c, path, v, ['min', 'max']);
  const n0 = c.errors.length;
  const min = v.min === undefined ? lo : intIn(c, `${path}.min`, v.min, lo, hi);
  const max = v.max === undefined ? hi : intIn(c, `${path}.max`, v.max, lo, hi);
  if (min === undefined || max === undefined || c.errors.length > n0) return undefined;
  if (min > max) return c.fail(`${path}.max`, `at least min (${min})`, max);
  return [min, max];
}
