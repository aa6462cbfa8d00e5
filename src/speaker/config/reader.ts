// Reading a YAML node tree with positions: every value is read through a Slot (the node,
// where to point in the file, and its key path), and every mistake becomes a ConfigError
// there. Readers return undefined after recording an error, so validation carries on and
// one run reports everything.

import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { err, ok, type Result } from '../../lib/result.js';
import { sortErrors, suggestion, type ConfigError } from './errors.js';

export class Reader {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigError[] = [];

  constructor(
    readonly file: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line and column (1-based) where `node` starts; 1:1 for a node without a range. */
  position(node: unknown): { line: number; column: number } {
    const range = (node as { range?: readonly number[] } | null | undefined)?.range;
    if (!range || range[0] === undefined) return { line: 1, column: 1 };
    const p = this.lines.linePos(range[0]);
    return { line: p.line, column: p.col };
  }

  error(at: unknown, key: string, message: string): undefined {
    this.errors.push({ file: this.file, ...this.position(at), key, message });
    return undefined;
  }

  warn(at: unknown, key: string, message: string): void {
    this.warnings.push({ file: this.file, ...this.position(at), key, message });
  }

  /** Report `expected …, got …` for the value in `s`. */
  expected(s: Slot, what: string, extra = ''): undefined {
    return this.error(s.at, s.path, `expected ${what}, got ${show(s.value)}${extra}`);
  }

  /** Follow YAML aliases (`*name`) to the node they stand for. */
  deref(node: unknown): Node | null {
    let n = node as Node | null | undefined;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc) as Node | undefined;
    return n ?? null;
  }
}

/** One value to read: the node, where errors point, and the key path. */
export interface Slot {
  readonly value: Node | null;
  /** The key node for a mapping entry, the item itself for a list item. */
  readonly at: Node | null;
  readonly path: string;
}

/** A short rendering of a YAML value for messages: scalars as written, strings quoted. */
export function show(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'nothing';
    if (typeof node.value === 'string') return JSON.stringify(node.value);
    return sourceText(node);
  }
  return 'an alias';
}

/** A scalar as written in the file (`1.10` stays `1.10`, not the number 1.1). */
export function sourceText(node: Node | null): string {
  if (!isScalar(node)) return '';
  const src = (node as { source?: unknown }).source;
  return typeof src === 'string' ? src : String(node.value);
}

/** The value of a scalar node; undefined for anything else. */
export function scalar(node: Node | null): unknown {
  return isScalar(node) ? node.value : undefined;
}

export function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A mapping whose keys have been checked against the ones a section allows. */
export class MapView {
  private constructor(
    readonly r: Reader,
    readonly node: Node,
    readonly path: string,
    private readonly pairs: ReadonlyMap<string, Pair>,
  ) {}

  /**
   * Open the mapping in `s`, reporting a non-mapping and every key not in `keys` (with
   * the closest allowed key as a suggestion). Undefined when `s` is not a mapping.
   */
  static open(
    r: Reader,
    s: Slot,
    keys: readonly string[],
    what = 'a mapping',
  ): MapView | undefined {
    const node = r.deref(s.value);
    if (!isMap(node)) {
      r.expected(s, `${what} (keys: ${keys.join(', ')})`);
      return undefined;
    }
    const pairs = new Map<string, Pair>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const name = String(scalar(keyNode) ?? sourceText(keyNode));
      pairs.set(name, pair);
      if (!keys.includes(name)) {
        r.error(
          keyNode,
          joinPath(s.path, name),
          `unknown key${suggestion(name, keys) || `; expected one of ${keys.join(', ')}`}`,
        );
      }
    }
    return new MapView(r, node, s.path, pairs);
  }

  has(key: string): boolean {
    return this.value(key) !== null;
  }

  /** The slot of `key`; its value is null when the key is absent or has an empty value. */
  slot(key: string): Slot {
    const pair = this.pairs.get(key);
    const value = pair ? this.r.deref(pair.value) : null;
    const empty = value === null || (isScalar(value) && value.value === null);
    return {
      value: empty ? null : value,
      at: (pair?.key as Node | undefined) ?? this.node,
      path: joinPath(this.path, key),
    };
  }

  value(key: string): Node | null {
    return this.slot(key).value;
  }

  /** Read `key` with `read`; `dflt` when absent or wrong (the error is recorded). */
  get<T>(key: string, dflt: T, read: (r: Reader, s: Slot) => T | undefined): T {
    const s = this.slot(key);
    if (s.value === null) return dflt;
    return read(this.r, s) ?? dflt;
  }

  /** Read `key` if present. */
  opt<T>(key: string, read: (r: Reader, s: Slot) => T | undefined): T | undefined {
    const s = this.slot(key);
    return s.value === null ? undefined : read(this.r, s);
  }

  /** Read a key that must be present; `what` says what belongs there. */
  req<T>(key: string, what: string, read: (r: Reader, s: Slot) => T | undefined): T | undefined {
    const s = this.slot(key);
    if (s.value === null) {
      const path = joinPath(this.path, key);
      return this.pairs.has(key)
        ? this.r.error(s.at, path, `required key has no value; expected ${what}`)
        : this.r.error(this.node, path, `required key is missing; expected ${what}`);
    }
    return read(this.r, s);
  }
}

/** The items of a list as slots; a single value where a list belongs is reported. */
export function items(r: Reader, s: Slot, what: string): Slot[] | undefined {
  const node = r.deref(s.value);
  if (!isSeq(node)) return r.expected(s, `a list of ${what}`);
  return node.items.map((item, i) => {
    const value = r.deref(item);
    return { value, at: (item as Node | null) ?? s.at, path: `${s.path}[${i}]` };
  });
}

/** Read every item with `read`; items that fail are left out (their errors recorded). */
export function listOf<T>(
  what: string,
  read: (r: Reader, s: Slot) => T | undefined,
): (r: Reader, s: Slot) => T[] | undefined {
  return (r, s) => {
    const slots = items(r, s, what);
    if (!slots) return undefined;
    const out: T[] = [];
    for (const item of slots) {
      const v = read(r, item);
      if (v !== undefined) out.push(v);
    }
    return out;
  };
}

/** The entries of a mapping whose keys are names chosen by the user (lists, policies). */
export function namedEntries(r: Reader, s: Slot, what: string): [string, Slot][] | undefined {
  const node = r.deref(s.value);
  if (!isMap(node)) return r.expected(s, `a mapping from names to ${what}`);
  return node.items.map((pair) => {
    const keyNode = pair.key as Node | null;
    const name = String(scalar(keyNode) ?? sourceText(keyNode));
    const value = r.deref(pair.value);
    const empty = value === null || (isScalar(value) && value.value === null);
    return [name, { value: empty ? null : value, at: keyNode, path: joinPath(s.path, name) }];
  });
}

/**
 * The node a key path (`policies.customer-in.terms[1].match`) points at: the key of a
 * mapping entry, or a list item; as deep as the path can be followed in the tree. Keys may
 * themselves contain dots, so the longest key that fits is taken.
 */
export function locate(r: Reader, root: Node | null, path: string): Node | null {
  let node = r.deref(root);
  let at: Node | null = node;
  let rest = path;
  while (rest !== '' && node !== null) {
    if (rest.startsWith('.')) rest = rest.slice(1);
    const index = /^\[(\d+)\]/.exec(rest);
    if (index) {
      if (!isSeq(node)) break;
      const item = node.items[Number(index[1])] as Node | undefined;
      if (item === undefined) break;
      at = item;
      node = r.deref(item);
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!isMap(node)) break;
    let best: Pair | undefined;
    let bestLen = -1;
    for (const pair of node.items) {
      const k = String(scalar(pair.key as Node | null) ?? sourceText(pair.key as Node | null));
      const next = rest[k.length];
      if (
        k.length > bestLen &&
        rest.startsWith(k) &&
        (next === undefined || next === '.' || next === '[')
      ) {
        best = pair;
        bestLen = k.length;
      }
    }
    if (!best) break;
    at = best.key as Node;
    node = r.deref(best.value);
    rest = rest.slice(bestLen);
  }
  return at;
}

/**
 * Parses `text` (file `file`) and opens its top-level mapping with `keys`: the reader and
 * the root, or the errors — the first YAML syntax error alone (the later ones follow from
 * it), or the root's; YAML warnings go to the reader's warnings. For configs whose top level is one mapping (btr, tcpr).
 */
export function openTopLevel(
  text: string,
  file: string,
  keys: readonly string[],
  expected: string,
): Result<{ r: Reader; root: MapView }, ConfigError[]> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const p = lines.linePos(e.pos[0]);
    return err([{ file, line: p.line, column: p.col, key: '', message: `YAML: ${e.message}` }]);
  }
  const r = new Reader(file, doc, lines);
  for (const w of doc.warnings) {
    const p = lines.linePos(w.pos[0]);
    r.warnings.push({ file, line: p.line, column: p.col, key: '', message: `YAML: ${w.message}` });
  }
  const contents = doc.contents as Node | null;
  const root = MapView.open(r, { value: contents, at: contents, path: '' }, keys, expected);
  return root ? ok({ r, root }) : err(sortErrors(r.errors));
}
