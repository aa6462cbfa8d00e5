// A small Prometheus metrics registry and its text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE`
// lines, then one sample per line, label values escaped, histograms as cumulative
// `_bucket{le="…"}` series plus `_sum` and `_count`.

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string | number>>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Prometheus client libraries' default buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Appends this metric's sample lines (without HELP/TYPE). */
  samples(out: string[]): void;
  readonly collect?: () => void;
}

/** Base of the labelled metrics: one series per distinct label-value tuple. */
abstract class Family<S> implements Metric {
  abstract readonly type: MetricType;
  protected readonly series = new Map<string, { labels: string; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly collect?: () => void,
  ) {}

  protected abstract fresh(): S;
  abstract samples(out: string[]): void;

  /** The series for `labels`, created on first use. Throws if the label names differ. */
  protected get(labels: Labels | undefined): { labels: string; state: S } {
    const values = this.labelValues(labels);
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: this.labelNames.map((n, i) => labelPair(n, values[i]!)).join(','),
        state: this.fresh(),
      };
      this.series.set(key, s);
    }
    return s;
  }

  private labelValues(labels: Labels | undefined): string[] {
    const given = labels ? Object.keys(labels) : [];
    if (
      given.length !== this.labelNames.length ||
      given.some((k) => !this.labelNames.includes(k))
    ) {
      throw new Error(
        `metric ${this.name}: labels {${given.join(',')}} given, {${this.labelNames.join(',')}} expected`,
      );
    }
    return this.labelNames.map((n) => String(labels![n]));
  }

  /** Removes one series (e.g. when a neighbour is deleted from the config). */
  remove(labels: Labels): void {
    this.series.delete(this.labelValues(labels).join('\u0000'));
  }

  /** Removes every series. */
  reset(): void {
    this.series.clear();
  }
}

export class Counter extends Family<{ v: number }> {
  readonly type = 'counter';
  protected fresh(): { v: number } {
    return { v: 0 };
  }
  /** Adds `n` (default 1; must not be negative: counters only go up). */
  inc(labels?: Labels, n = 1): void {
    if (!(n >= 0)) throw new Error(`counter ${this.name}: cannot add ${n}`);
    this.get(labels).state.v += n;
  }
  /** A handle bound to one label tuple, for hot paths (no key building per call). */
  labels(labels: Labels): { inc(n?: number): void } {
    const s = this.get(labels).state;
    const name = this.name;
    return {
      inc(n = 1) {
        if (!(n >= 0)) throw new Error(`counter ${name}: cannot add ${n}`);
        s.v += n;
      },
    };
  }
  value(labels?: Labels): number {
    return this.get(labels).state.v;
  }
  samples(out: string[]): void {
    if (this.labelNames.length === 0 && this.series.size === 0) this.get(undefined);
    for (const s of this.series.values()) out.push(sample(this.name, s.labels, s.state.v));
  }
}

export class Gauge extends Family<{ v: number }> {
  readonly type = 'gauge';
  protected fresh(): { v: number } {
    return { v: 0 };
  }
  set(labels: Labels | undefined, v: number): void {
    this.get(labels).state.v = v;
  }
  inc(labels?: Labels, n = 1): void {
    this.get(labels).state.v += n;
  }
  dec(labels?: Labels, n = 1): void {
    this.get(labels).state.v -= n;
  }
  value(labels?: Labels): number {
    return this.get(labels).state.v;
  }
  samples(out: string[]): void {
    if (this.labelNames.length === 0 && this.series.size === 0) this.get(undefined);
    for (const s of this.series.values()) out.push(sample(this.name, s.labels, s.state.v));
  }
}

interface HistState {
  counts: number[]; // per bucket, not cumulative; the last one is +Inf
  sum: number;
  count: number;
}

export class Histogram extends Family<HistState> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new Error(`histogram ${name}: 'le' is a reserved label`);
    const b = [...buckets].filter((x) => x !== Infinity);
    for (let i = 1; i < b.length; i++) {
      if (!(b[i]! > b[i - 1]!)) throw new Error(`histogram ${name}: buckets must increase`);
    }
    this.buckets = b;
  }
  protected fresh(): HistState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
  observe(labels: Labels | undefined, v: number): void {
    const s = this.get(labels).state;
    let i = 0;
    while (i < this.buckets.length && v > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  /** Starts a timer; calling the result observes the elapsed seconds. */
  startTimer(labels?: Labels): () => number {
    const t0 = performance.now();
    return () => {
      const secs = (performance.now() - t0) / 1000;
      this.observe(labels, secs);
      return secs;
    };
  }
  samples(out: string[]): void {
    if (this.labelNames.length === 0 && this.series.size === 0) this.get(undefined);
    for (const s of this.series.values()) {
      const sep = s.labels === '' ? '' : ',';
      let cum = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cum += s.state.counts[i]!;
        const le = i < this.buckets.length ? formatNumber(this.buckets[i]!) : '+Inf';
        out.push(sample(`${this.name}_bucket`, `${s.labels}${sep}le="${le}"`, cum));
      }
      out.push(sample(`${this.name}_sum`, s.labels, s.state.sum));
      out.push(sample(`${this.name}_count`, s.labels, s.state.count));
    }
  }
}

export interface MetricOptions {
  /** Called on every scrape before the samples are written (gauges computed on demand). */
  collect?: () => void;
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    this.check(name, labelNames);
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    opts: MetricOptions = {},
  ): Gauge {
    this.check(name, labelNames);
    return this.add(new Gauge(name, help, labelNames, opts.collect));
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    this.check(name, labelNames);
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Runs `fn` on every scrape, before any sample is written (updates several gauges at once). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** The whole registry in the text exposition format 0.0.4. */
  expose(): string {
    for (const fn of this.collectors) fn();
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      m.collect?.();
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
      m.samples(out);
    }
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }

  private add<M extends Metric>(m: M): M {
    this.metrics.set(m.name, m);
    return m;
  }

  private check(name: string, labelNames: readonly string[]): void {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name '${name}'`);
    if (this.metrics.has(name)) throw new Error(`metric ${name} is already registered`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) {
        throw new Error(`metric ${name}: invalid label name '${l}'`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new Error(`metric ${name}: duplicate label name`);
    }
  }
}

function sample(name: string, labels: string, v: number): string {
  return labels === '' ? `${name} ${formatNumber(v)}` : `${name}{${labels}} ${formatNumber(v)}`;
}

function labelPair(name: string, value: string): string {
  return `${name}="${escapeLabelValue(value)}"`;
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text escapes backslash and line feed only. */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** Sample values as Go's ParseFloat reads them; infinities and NaN spelled the Prometheus way. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
