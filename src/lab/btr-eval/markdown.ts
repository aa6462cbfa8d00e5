// Markdown helpers of the btr-eval report (report.ts, overhead.ts): numbers and tables.

export const num = (x: number, digits = 2): string =>
  !Number.isFinite(x) ? 'n/a' : Number(x.toPrecision(digits)).toLocaleString('en-US');
export const ms = (x: number): string => (!Number.isFinite(x) ? 'n/a' : `${num(x, 3)} ms`);
export const int = (x: number): string => Math.round(x).toLocaleString('en-US');

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length), 3));
  const line = (r: readonly string[]): string =>
    `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join(
    '\n',
  );
}
