// Structured logging: one JSON object per line for machines (the daemon's default), or a
// short `time LEVEL msg key=value` line for humans. Disabled levels are bound to a shared
// no-op, so a filtered call costs one function call and never builds a string. Named
// tracers (`NONSTOP_TRACE=fsm,wire`) are for developers chasing one subsystem: they print
// regardless of the level and are no-ops unless named.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'text';
export type LogFields = Readonly<Record<string, unknown>>;

export function isLogLevel(x: unknown): x is LogLevel {
  return typeof x === 'string' && (LOG_LEVELS as readonly string[]).includes(x);
}

export type LogFn = (msg: string, fields?: LogFields) => void;

/** A tracer: call it like a log function; `enabled` lets callers skip costly arguments. */
export interface Tracer extends LogFn {
  readonly enabled: boolean;
}

export interface Logger {
  readonly level: LogLevel;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** True when `level` would be written (guard expensive field computation with it). */
  enabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every line (e.g. `{ peer: '198.18.0.2' }`). */
  child(fields: LogFields): Logger;
  /** The tracer `name`: a no-op unless `name` (or `all`) is listed in the trace setting. */
  tracer(name: string): Tracer;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Receives each line without its newline. Default: process.stderr. */
  sink?: (line: string) => void;
  /** Wall-clock milliseconds since the epoch. Default: Date.now. */
  clock?: () => number;
  /** Fields added to every line. */
  fields?: LogFields;
  /** Enabled tracer names, comma-separated or a list. Default: env NONSTOP_TRACE. */
  trace?: string | readonly string[];
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
// The line's own keys; a field with one of these names is written as `field.<name>`.
const RESERVED = new Set(['ts', 'level', 'msg']);

const noop: LogFn = () => {};
const noopTracer: Tracer = Object.assign(() => {}, { enabled: false as const });

/** Parses a trace setting ("fsm, wire" or a list) into a set of names. */
export function parseTrace(trace: string | readonly string[] | undefined): ReadonlySet<string> {
  const parts = typeof trace === 'string' ? trace.split(',') : (trace ?? []);
  return new Set(parts.map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
}

interface Shared {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly sink: (line: string) => void;
  readonly clock: () => number;
  readonly trace: ReadonlySet<string>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!isLogLevel(level)) {
    throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}, got '${String(level)}'`);
  }
  const shared: Shared = {
    level,
    format: opts.format ?? 'json',
    sink: opts.sink ?? ((line) => void process.stderr.write(line + '\n')),
    clock: opts.clock ?? Date.now,
    trace: parseTrace(opts.trace ?? process.env['NONSTOP_TRACE']),
  };
  return makeLogger(shared, { ...opts.fields });
}

/** A logger that drops everything (the default for library code given no logger). */
export const nullLogger: Logger = {
  level: 'error',
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  enabled: () => false,
  child: () => nullLogger,
  tracer: () => noopTracer,
};

function makeLogger(shared: Shared, base: LogFields): Logger {
  const min = RANK[shared.level];
  const emitAt =
    (level: string): LogFn =>
    (msg, fields) =>
      shared.sink(formatLine(shared, level, msg, base, fields));
  const at = (level: LogLevel): LogFn => (RANK[level] >= min ? emitAt(level) : noop);
  return {
    level: shared.level,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    enabled: (level) => RANK[level] >= min,
    child: (fields) => makeLogger(shared, { ...base, ...fields }),
    tracer(name) {
      const key = name.toLowerCase();
      if (!shared.trace.has(key) && !shared.trace.has('all')) return noopTracer;
      const emit = emitAt('trace');
      const withName = { trace: key };
      return Object.assign(
        (msg: string, fields?: LogFields) =>
          emit(msg, fields ? { ...withName, ...fields } : withName),
        { enabled: true as const },
      );
    },
  };
}

function formatLine(
  shared: Shared,
  level: string,
  msg: string,
  base: LogFields,
  fields: LogFields | undefined,
): string {
  const ts = isoTime(shared.clock());
  const all = fields ? { ...base, ...fields } : base;
  if (shared.format === 'json') {
    const o: Record<string, unknown> = { ts, level, msg };
    for (const [k, v] of Object.entries(all)) {
      if (v !== undefined) o[RESERVED.has(k) ? `field.${k}` : k] = v;
    }
    return safeStringify(o);
  }
  let line = `${ts} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [k, v] of Object.entries(all)) {
    if (v !== undefined) line += ` ${k}=${textValue(v)}`;
  }
  return line;
}

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** JSON for values that JSON.stringify rejects or mangles: bigint, Error, bytes, Map/Set. */
function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return code === undefined
      ? { name: v.name, message: v.message }
      : { name: v.name, message: v.message, code };
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v instanceof Map) return Object.fromEntries(v);
  if (v instanceof Set) return [...v];
  return v;
}

function safeStringify(o: Record<string, unknown>): string {
  try {
    return JSON.stringify(o, replacer);
  } catch (e) {
    // A circular or throwing field must not lose the message itself.
    return JSON.stringify({
      ts: o['ts'],
      level: o['level'],
      msg: o['msg'],
      logError: `fields not serialisable: ${(e as Error).message}`,
    });
  }
}

function textValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else if (v instanceof Error) s = v.message;
  else {
    try {
      s = JSON.stringify(v, replacer) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s === '' || /[\s"=\\]/.test(s) ? JSON.stringify(s) : s;
}
