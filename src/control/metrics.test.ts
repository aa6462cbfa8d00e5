// The exposition is checked by parsing it back with a small parser written from the text
// format 0.0.4 description, independent of the writer: HELP/TYPE once per family and before
// its samples, each family's samples grouped, label values unescaped, histogram buckets
// cumulative with +Inf equal to _count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, METRICS_CONTENT_TYPE, escapeLabelValue, formatNumber } from './metrics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface MetricFamily {
  name: string;
  help?: string;
  type?: string;
  samples: Sample[];
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  assert.match(s, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `bad value '${s}'`);
  return Number(s);
}

/** Minimal parser of the Prometheus text format (version 0.0.4). */
function parseExposition(text: string): Map<string, MetricFamily> {
  assert.ok(text === '' || text.endsWith('\n'), 'must end with a line feed');
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  let current: string | undefined;
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const enter = (name: string): void => {
    if (current !== name) {
      assert.ok(!closed.has(name), `samples of ${name} are not grouped`);
      if (current !== undefined) closed.add(current);
      current = name;
    }
  };
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$/.exec(line);
      if (!m) continue; // ordinary comment
      const [, kind, name, rest = ''] = m;
      enter(name!);
      const f = family(name!);
      if (kind === 'HELP') {
        assert.equal(f.help, undefined, `second HELP for ${name}`);
        f.help = rest.replace(/\\(\\|n)/g, (_x, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        assert.equal(f.type, undefined, `second TYPE for ${name}`);
        assert.equal(f.samples.length, 0, `TYPE after samples for ${name}`);
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest), rest);
        f.type = rest;
      }
      continue;
    }
    // sample: name [ { label="value", ... } ] value [ timestamp ]
    let i = 0;
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    assert.ok(nm, `bad sample line '${line}'`);
    const name = nm[0];
    i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
        assert.ok(ln, `bad label name at ${i} in '${line}'`);
        i += ln[0].length;
        assert.equal(line.slice(i, i + 2), '="', `expected =" in '${line}'`);
        i += 2;
        let v = '';
        for (;;) {
          const c = line[i++];
          assert.ok(c !== undefined, `unterminated label value in '${line}'`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i++];
            if (e === 'n') v += '\n';
            else if (e === '\\' || e === '"') v += e;
            else assert.fail(`bad escape \\${e} in '${line}'`);
          } else v += c;
        }
        assert.ok(!(ln[0] in labels), `duplicate label ${ln[0]}`);
        labels[ln[0]] = v;
        if (line[i] === ',') i++;
      }
      i++;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    assert.ok(rest.length === 1 || rest.length === 2, `bad value part in '${line}'`);
    const value = parseValue(rest[0]!);
    // histogram samples belong to the family without the suffix
    const base =
      /_(bucket|sum|count)$/.test(name) &&
      families.get(name.replace(/_(bucket|sum|count)$/, ''))?.type === 'histogram'
        ? name.replace(/_(bucket|sum|count)$/, '')
        : name;
    enter(base);
    family(base).samples.push({ name, labels, value });
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of f.samples) {
      const key = JSON.stringify(
        Object.entries(s.labels)
          .filter(([k]) => k !== 'le')
          .sort(),
      );
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const ss of series.values()) {
      const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
      let prevLe = -Infinity;
      let prev = 0;
      for (const b of buckets) {
        const le = parseValue(b.labels['le']!);
        assert.ok(le > prevLe, 'le increasing');
        assert.ok(b.value >= prev, 'buckets cumulative');
        prevLe = le;
        prev = b.value;
      }
      assert.equal(buckets.at(-1)?.labels['le'], '+Inf');
      const count = ss.find((s) => s.name === `${f.name}_count`);
      assert.ok(
        ss.some((s) => s.name === `${f.name}_sum`),
        '_sum present',
      );
      assert.equal(count?.value, prev, '+Inf bucket equals _count');
    }
  }
  return families;
}

test('counters, gauges and histograms round-trip through the text format', () => {
  const r = new Registry();
  const updates = r.counter('nonstop_updates_received_total', 'UPDATE messages received.', [
    'peer',
  ]);
  const up = r.gauge('nonstop_up', 'Always 1.');
  const prefixes = r.gauge('nonstop_prefixes', 'Prefixes per peer\nand state \\ family.', [
    'peer',
    'state',
  ]);
  const lat = r.histogram(
    'nonstop_decision_seconds',
    'Decision time.',
    ['family'],
    [0.001, 0.01, 0.1],
  );
  r.counter('nonstop_idle_total', 'Never incremented.');
  up.set(undefined, 1);
  updates.inc({ peer: '198.18.0.2' });
  updates.inc({ peer: '198.18.0.2' }, 4);
  const hot = updates.labels({ peer: '2001:db8::2' });
  hot.inc();
  prefixes.set({ peer: 'a"b\\c\nd', state: 'accepted' }, 12.5);
  prefixes.set({ peer: '198.18.0.2', state: 'received' }, -Infinity);
  lat.observe({ family: 'ipv4' }, 0.0005);
  lat.observe({ family: 'ipv4' }, 0.001); // le is inclusive
  lat.observe({ family: 'ipv4' }, 0.05);
  lat.observe({ family: 'ipv4' }, 3);
  lat.observe({ family: 'ipv6' }, 0.02);

  const text = r.expose();
  const fams = parseExposition(text);
  assert.equal(fams.get('nonstop_updates_received_total')?.type, 'counter');
  assert.deepEqual(
    fams.get('nonstop_updates_received_total')?.samples.map((s) => [s.labels['peer'], s.value]),
    [
      ['198.18.0.2', 5],
      ['2001:db8::2', 1],
    ],
  );
  assert.equal(fams.get('nonstop_up')?.samples[0]?.value, 1);
  assert.equal(fams.get('nonstop_prefixes')?.help, 'Prefixes per peer\nand state \\ family.');
  const odd = fams.get('nonstop_prefixes')?.samples[0];
  assert.deepEqual(odd?.labels, { peer: 'a"b\\c\nd', state: 'accepted' });
  assert.equal(odd?.value, 12.5);
  assert.equal(fams.get('nonstop_prefixes')?.samples[1]?.value, -Infinity);
  const h = fams.get('nonstop_decision_seconds')!;
  assert.equal(h.type, 'histogram');
  const v4 = h.samples.filter((s) => s.labels['family'] === 'ipv4');
  assert.deepEqual(
    v4.map((s) => [s.name.replace('nonstop_decision_seconds', ''), s.labels['le'], s.value]),
    [
      ['_bucket', '0.001', 2],
      ['_bucket', '0.01', 2],
      ['_bucket', '0.1', 3],
      ['_bucket', '+Inf', 4],
      ['_sum', undefined, 0.0005 + 0.001 + 0.05 + 3],
      ['_count', undefined, 4],
    ],
  );
  assert.deepEqual(fams.get('nonstop_idle_total')?.samples, [
    { name: 'nonstop_idle_total', labels: {}, value: 0 },
  ]);
  assert.match(text, /^nonstop_prefixes\{peer="a\\"b\\\\c\\nd",state="accepted"\} 12\.5$/m);
  assert.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
});

test('collect callbacks compute gauges on each scrape', () => {
  const r = new Registry();
  let n = 0;
  let rib = 0;
  const g = r.gauge('nonstop_scrapes', 'Scrapes so far.', [], {
    collect: () => g.set(undefined, ++n),
  });
  const ribSize = r.gauge('nonstop_rib_prefixes', 'Loc-RIB prefixes.', ['family']);
  r.onCollect(() => {
    ribSize.reset();
    ribSize.set({ family: 'ipv4' }, ++rib * 100);
  });
  parseExposition(r.expose());
  const f = parseExposition(r.expose());
  assert.equal(f.get('nonstop_scrapes')?.samples[0]?.value, 2);
  assert.equal(f.get('nonstop_rib_prefixes')?.samples[0]?.value, 200);
});

test('registration and labels are checked', () => {
  const r = new Registry();
  const c = r.counter('a_total', 'A.', ['peer']);
  assert.throws(() => r.counter('a_total', 'again'), /already registered/);
  assert.throws(() => r.counter('1bad', 'x'), /invalid metric name/);
  assert.throws(() => r.gauge('g', 'x', ['__x']), /invalid label name/);
  assert.throws(() => r.histogram('h', 'x', ['le']), /reserved/);
  assert.throws(() => r.histogram('h2', 'x', [], [1, 1]), /increase/);
  assert.throws(() => c.inc({ peer: 'x' }, -1), /cannot add/);
  assert.throws(() => c.inc({ nope: 'x' }), /labels \{nope\} given, \{peer\} expected/);
  assert.throws(() => c.inc(), /labels \{\} given/);
  c.inc({ peer: 'x' });
  c.remove({ peer: 'x' });
  assert.doesNotMatch(r.expose(), /^a_total\{/m);
  assert.equal(escapeLabelValue('\\"\n'), '\\\\\\"\\n');
  assert.deepEqual([NaN, Infinity, -Infinity, 1e21, 0.1].map(formatNumber), [
    'NaN',
    '+Inf',
    '-Inf',
    '1e+21',
    '0.1',
  ]);
});
