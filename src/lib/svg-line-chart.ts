// A small line chart in SVG, without dependencies: several series of (x, y) points on
// linear or logarithmic axes, optional error bars, hollow markers for points that are only
// upper bounds, step lines for CDFs, and a legend. The output is static text that renders
// on GitHub and in browsers (reports under docs/).

export type Scale = 'linear' | 'log';

export interface Point {
  readonly x: number;
  readonly y: number;
  /** Error bar (e.g. a 95 % interval), drawn when both are finite. */
  readonly lo?: number;
  readonly hi?: number;
  /** The value is an upper bound (nothing was seen): drawn hollow, with a down arrow. */
  readonly bound?: boolean;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  /** Default: a colour of the palette by index. */
  readonly color?: string;
  readonly dashed?: boolean;
  /** Draw as a step function (a CDF) instead of straight segments. */
  readonly step?: boolean;
  /** No markers (dense series). */
  readonly noMarkers?: boolean;
}

export interface AxisSpec {
  readonly label: string;
  readonly scale?: Scale;
  /** Range; default from the data (log: whole decades). */
  readonly min?: number;
  readonly max?: number;
  /** Format of tick labels (default: compact numbers). */
  readonly format?: (v: number) => string;
}

export interface LineChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
}

export const PALETTE = [
  '#2f6fb0',
  '#d08a1e',
  '#3f9a4f',
  '#b03a48',
  '#7a5cb0',
  '#5a5a5a',
  '#1fa3a3',
  '#a36b1f',
];

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 0.001 → "0.001", 1e-7 → "1e-7", 25000 → "25k", 1.2e6 → "1.2M". */
export function compactNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e9) return trim(v / 1e9) + 'G';
  if (a >= 1e6) return trim(v / 1e6) + 'M';
  if (a >= 1e4) return trim(v / 1e3) + 'k';
  if (a >= 1e-3) return trim(v);
  const e = Math.floor(Math.log10(a));
  const m = v / 10 ** e;
  return (Math.abs(m - 1) < 1e-9 ? '' : trim(m) + '×') + `1e${e}`;
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

interface Axis {
  readonly scale: Scale;
  readonly min: number;
  readonly max: number;
  readonly ticks: number[];
  readonly format: (v: number) => string;
}

/** The axis range and ticks for the values given. */
export function makeAxis(spec: AxisSpec, values: readonly number[]): Axis {
  const scale = spec.scale ?? 'linear';
  const finite = values.filter((v) => Number.isFinite(v) && (scale === 'linear' || v > 0));
  const format = spec.format ?? compactNumber;
  if (scale === 'log') {
    let lo = spec.min ?? (finite.length ? Math.min(...finite) : 1);
    let hi = spec.max ?? (finite.length ? Math.max(...finite) : 10);
    if (!(lo > 0)) lo = hi > 0 ? hi / 10 : 1;
    if (!(hi > lo)) hi = lo * 10;
    const e0 = Math.floor(Math.log10(lo) + 1e-9);
    const e1 = Math.ceil(Math.log10(hi) - 1e-9);
    const min = spec.min ?? 10 ** e0;
    const max = spec.max ?? 10 ** Math.max(e1, e0 + 1);
    const ticks: number[] = [];
    const span = Math.log10(max) - Math.log10(min);
    const step = Math.max(1, Math.ceil(span / 10));
    for (let e = Math.ceil(Math.log10(min) - 1e-9); e <= Math.log10(max) + 1e-9; e += step) {
      ticks.push(10 ** e);
    }
    return { scale, min, max, ticks, format };
  }
  let lo = spec.min ?? (finite.length ? Math.min(0, ...finite) : 0);
  let hi = spec.max ?? (finite.length ? Math.max(...finite) : 1);
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (spec.min === undefined) lo = Math.floor(lo / step) * step;
  if (spec.max === undefined) hi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return { scale, min: lo, max: hi, ticks, format };
}

/** Position of v on an axis as a fraction 0…1 (clamped slightly outside). */
export function axisFraction(a: Axis, v: number): number {
  const f =
    a.scale === 'log'
      ? (Math.log10(v) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min))
      : (v - a.min) / (a.max - a.min);
  return Math.max(-0.02, Math.min(1.02, f));
}

export function lineChart(c: LineChart): string {
  const width = c.width ?? 760;
  const height = c.height ?? 440;
  const left = 78;
  const right = 20;
  const top = c.subtitle ? 58 : 40;
  const legendRows = Math.ceil(c.series.length / 3);
  const bottom = 52 + 18 * legendRows;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const usable = (p: Point, scale: Scale | undefined, v: number): boolean =>
    Number.isFinite(v) && (scale !== 'log' || v > 0) && p !== undefined;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of c.series) {
    for (const p of s.points) {
      if (usable(p, c.x.scale, p.x)) xs.push(p.x);
      if (usable(p, c.y.scale, p.y)) ys.push(p.y);
      if (p.lo !== undefined && usable(p, c.y.scale, p.lo)) ys.push(p.lo);
      if (p.hi !== undefined && usable(p, c.y.scale, p.hi)) ys.push(p.hi);
    }
  }
  const xa = makeAxis(c.x, xs);
  const ya = makeAxis(c.y, ys);
  const X = (v: number): number => left + axisFraction(xa, v) * pw;
  const Y = (v: number): number => top + (1 - axisFraction(ya, v)) * ph;
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [];
  // Grid and ticks.
  for (const t of xa.ticks) {
    const x = X(t);
    parts.push(
      `<line x1="${f(x)}" y1="${top}" x2="${f(x)}" y2="${top + ph}" stroke="#e3e3e3"/>`,
      `<text x="${f(x)}" y="${top + ph + 16}" text-anchor="middle">${esc(xa.format(t))}</text>`,
    );
  }
  for (const t of ya.ticks) {
    const y = Y(t);
    parts.push(
      `<line x1="${left}" y1="${f(y)}" x2="${left + pw}" y2="${f(y)}" stroke="#e3e3e3"/>`,
      `<text x="${left - 6}" y="${f(y + 4)}" text-anchor="end">${esc(ya.format(t))}</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<text x="${left + pw / 2}" y="${top + ph + 36}" text-anchor="middle">${esc(c.x.label)}</text>`,
    `<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.y.label)}</text>`,
  );
  // Series.
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => usable(p, c.x.scale, p.x) && usable(p, c.y.scale, p.y));
    if (pts.length > 1) {
      let d = '';
      pts.forEach((p, j) => {
        if (j === 0) d += `M${f(X(p.x))} ${f(Y(p.y))}`;
        else if (s.step) d += `H${f(X(p.x))}V${f(Y(p.y))}`;
        else d += `L${f(X(p.x))} ${f(Y(p.y))}`;
      });
      parts.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    }
    for (const p of pts) {
      const x = X(p.x);
      const y = Y(p.y);
      if (
        p.lo !== undefined &&
        p.hi !== undefined &&
        usable(p, c.y.scale, p.lo) &&
        usable(p, c.y.scale, p.hi)
      ) {
        parts.push(
          `<path d="M${f(x)} ${f(Y(p.lo))}V${f(Y(p.hi))}M${f(x - 3)} ${f(Y(p.lo))}h6M${f(x - 3)} ${f(Y(p.hi))}h6" stroke="${color}" fill="none"/>`,
        );
      }
      if (s.noMarkers && !p.bound) continue;
      if (p.bound) {
        parts.push(
          `<circle cx="${f(x)}" cy="${f(y)}" r="3.5" fill="#fff" stroke="${color}" stroke-width="1.5"/>`,
          `<path d="M${f(x)} ${f(y + 4)}v9m-3 -3l3 3l3 -3" stroke="${color}" fill="none"/>`,
        );
      } else parts.push(`<circle cx="${f(x)}" cy="${f(y)}" r="3" fill="${color}"/>`);
    }
  });
  // Legend.
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const col = i % 3;
    const row = Math.floor(i / 3);
    const lx = left + col * (pw / 3);
    const ly = height - 18 * legendRows + row * 18 - 4;
    parts.push(
      `<line x1="${f(lx)}" y1="${ly - 4}" x2="${f(lx + 22)}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${f(lx + 28)}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
    ...(c.subtitle ? [`<text x="8" y="38" fill="#555">${esc(c.subtitle)}</text>`] : []),
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}
