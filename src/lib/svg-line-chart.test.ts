import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisFraction, compactNumber, lineChart, makeAxis } from './svg-line-chart.js';

test('log axes span whole decades around the data, one tick per decade when few', () => {
  const a = makeAxis({ label: 'x', scale: 'log' }, [0.003, 0.2, 45]);
  assert.equal(a.min, 0.001);
  assert.equal(a.max, 100);
  assert.deepEqual(
    a.ticks.map((x) => Math.round(Math.log10(x))),
    [-3, -2, -1, 0, 1, 2],
  );
  assert.equal(axisFraction(a, 0.001), 0);
  assert.equal(axisFraction(a, 100), 1);
  assert.ok(Math.abs(axisFraction(a, 1) - 0.6) < 1e-12);
  // Many decades: at most about ten ticks.
  const wide = makeAxis({ label: 'y', scale: 'log' }, [1e-25, 1e-3]);
  assert.ok(wide.ticks.length <= 12, `${wide.ticks.length} ticks`);
  // Non-positive values cannot sit on a log axis and are ignored.
  assert.equal(makeAxis({ label: 'y', scale: 'log' }, [0, -1, 10, 1000]).min, 10);
});

test('linear axes get round ticks covering the data', () => {
  const a = makeAxis({ label: 'x' }, [0.13, 0.97]);
  assert.equal(a.min, 0);
  assert.ok(a.max >= 0.97);
  for (const t of a.ticks) assert.ok(Number.isFinite(t) && t >= a.min && t <= a.max + 1e-9);
  const fixed = makeAxis({ label: 'y', min: 0, max: 1 }, [0.5]);
  assert.equal(fixed.ticks[0], 0);
  assert.equal(fixed.ticks[fixed.ticks.length - 1], 1);
});

test('numbers are compact', () => {
  assert.equal(compactNumber(0), '0');
  assert.equal(compactNumber(1200), '1200');
  assert.equal(compactNumber(25000), '25k');
  assert.equal(compactNumber(1.2e6), '1.2M');
  assert.equal(compactNumber(0.001), '0.001');
  assert.equal(compactNumber(1e-7), '1e-7');
  assert.equal(compactNumber(3e-9), '3×1e-9');
});

test('a chart: one path per series with points, markers, bounds, escaped text', () => {
  const svg = lineChart({
    title: 'A < B & "C"',
    x: { label: 'x', scale: 'log' },
    y: { label: 'y', scale: 'log' },
    series: [
      {
        name: 's1',
        points: [
          { x: 1, y: 1 },
          { x: 10, y: 100, lo: 50, hi: 150 },
          { x: 100, y: 0 },
        ],
      },
      { name: 's2', dashed: true, step: true, points: [{ x: 1, y: 3, bound: true }] },
    ],
  });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(svg.includes('A &lt; B &amp; &quot;C&quot;'));
  // s1 has two drawable points (y = 0 is not on a log axis): one line, two markers.
  assert.equal(
    (svg.match(/<path d="M[^"]*" fill="none" stroke="#2f6fb0" stroke-width="1.8"/g) ?? []).length,
    1,
  );
  assert.equal((svg.match(/<circle [^>]*fill="#2f6fb0"/g) ?? []).length, 2);
  // The bound is hollow.
  assert.equal((svg.match(/<circle [^>]*fill="#fff"/g) ?? []).length, 1);
  // Every number in the output is finite.
  assert.ok(!/NaN|Infinity/.test(svg));
});
