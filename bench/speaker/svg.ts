// A tiny grouped horizontal bar chart in SVG: one group per category (workload), one bar
// per series (DUT), each bar with its value and an optional min–max whisker. No
// dependencies; the output is static text that renders on GitHub and in browsers.

export interface Bar {
  series: string;
  value: number;
  min?: number;
  max?: number;
  /** Text after the bar (default: the value). */
  label?: string;
}

export interface Group {
  title: string;
  bars: Bar[];
}

const COLORS = ['#2f6fb0', '#d08a1e', '#3f9a4f', '#b03a48', '#7a5cb0', '#5a5a5a'];

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(opts: {
  title: string;
  unit: string;
  groups: Group[];
  width?: number;
}): string {
  const width = opts.width ?? 760;
  const left = 150;
  const right = 110;
  const barH = 16;
  const gap = 4;
  const groupGap = 22;
  const series = [...new Set(opts.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const color = (s: string): string => COLORS[series.indexOf(s) % COLORS.length]!;
  const plotW = width - left - right;
  let y = 48;
  const parts: string[] = [];
  for (const g of opts.groups) {
    const max = Math.max(...g.bars.map((b) => b.max ?? b.value), 1e-9);
    parts.push(`<text x="8" y="${y + 12}" font-weight="bold">${esc(g.title)}</text>`);
    y += 20;
    for (const b of g.bars) {
      const w = Math.max(1, (b.value / max) * plotW);
      parts.push(
        `<text x="${left - 6}" y="${y + barH - 4}" text-anchor="end">${esc(b.series)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color(b.series)}"/>`,
      );
      if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
        const x1 = left + (b.min / max) * plotW;
        const x2 = left + (b.max / max) * plotW;
        const cy = y + barH / 2;
        parts.push(
          `<path d="M${x1.toFixed(1)} ${cy}H${x2.toFixed(1)}M${x1.toFixed(1)} ${cy - 4}v8M${x2.toFixed(1)} ${cy - 4}v8" stroke="#222" fill="none"/>`,
        );
      }
      const labelX = left + Math.max(w, ((b.max ?? 0) / max) * plotW) + 6;
      parts.push(
        `<text x="${labelX.toFixed(1)}" y="${y + barH - 4}">${esc(b.label ?? String(b.value))}</text>`,
      );
      y += barH + gap;
    }
    y += groupGap;
  }
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
    `<text x="8" y="36" fill="#555">${esc(opts.unit)}</text>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}
