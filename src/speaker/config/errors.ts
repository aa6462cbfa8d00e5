// Config diagnostics: where in which file, which key, and what was expected there.
// One run reports every mistake it can find, sorted by position, so a user fixes them all
// at once instead of one per attempt.

export interface ConfigError {
  readonly file: string;
  /** 1-based; 0 when the problem is not at a place in the file (e.g. it cannot be read). */
  readonly line: number;
  /** 1-based; 0 together with line 0. */
  readonly column: number;
  /** The key path, e.g. `neighbors[1].hold-time`; empty for YAML syntax errors. */
  readonly key: string;
  readonly message: string;
}

export type Severity = 'error' | 'warning';

/** `speaker.yaml:14:5: neighbors[1].hold-time: expected …, got 2` */
export function formatConfigError(e: ConfigError, severity: Severity = 'error'): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  const what = severity === 'warning' ? `warning: ${e.message}` : e.message;
  return e.key ? `${where}: ${e.key}: ${what}` : `${where}: ${what}`;
}

/** Sorted by position; an identical error reported twice is kept once. */
export function sortErrors(errors: readonly ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  const out: ConfigError[] = [];
  for (const e of errors) {
    const id = `${e.line}:${e.column}:${e.key}:${e.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(e);
  }
  // Array.prototype.sort is stable: errors at one position keep the order they were found.
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Edit distance counting an insertion, deletion, substitution or swap of two adjacent
 * letters as one typo each (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      row[j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo: at most
 * a third of the word's letters (and at least one) differ.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDist = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

/** `; did you mean x?` or nothing. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `; did you mean ${c}?`;
}
