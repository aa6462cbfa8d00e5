import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asPathRegex, asPathText, routeAsPath } from './as-path-regex.js';
import { SEQ, SET, as4Path, asPath, compile, route } from './testing.js';
import { evaluatePolicy } from './policy.js';

const re = (p: string): RegExp => {
  const r = asPathRegex(p);
  assert.ok(r instanceof RegExp, `${p}: ${String(r)}`);
  return r;
};

test('text form: sequences, sets, confederation segments', () => {
  assert.equal(asPathText([]), '');
  assert.equal(asPathText([SEQ(65001, 65002), SET(65003, 65004)]), '65001 65002 {65003,65004}');
  assert.equal(
    asPathText([{ type: 3, asns: [65010, 65011] }, { type: 4, asns: [65012, 65013] }, SEQ(1)]),
    '(65010 65011) [65012,65013] 1',
  );
});

// [regex, path text, matches?]
const cases: [string, string, boolean][] = [
  ['_65001_', '65001', true],
  ['_65001_', '65002 65001 65003', true],
  ['_65001_', '165001', false],
  ['_65001_', '650011', false],
  ['_65001_', '65002 165001 650010', false],
  ['_65001_', '65002 {65001,65003}', true],
  ['_65003_', '65002 {65001,65003}', true],
  ['_65001_', '(65001) 2', true],
  ['^65001_', '65001 65002', true],
  ['^65001_', '65002 65001', false],
  ['^65001_', '650012', false],
  ['_65002$', '65001 65002', true],
  ['_65002$', '65002 65001', false],
  ['^$', '', true],
  ['^$', '65001', false],
  ['.*', '', true],
  ['.*', '65001 {1,2}', true],
  ['^65001_65002_', '65001 65002 65003', true],
  ['^65001_65002_', '65001 65003 65002', false],
  ['^65001(_65001)*$', '65001 65001 65001', true],
  ['^65001(_65001)*$', '65001 65001 65002', false],
  ['^[0-9]+$', '65001', true],
  ['^[0-9]+$', '65001 65002', false],
  ['_6500[1-3]_', '65002', true],
  ['_6500[^1-3]_', '65002', false],
  ['\\{65003,65004\\}$', '65001 {65003,65004}', true],
  ['{65003,65004}$', '65001 {65003,65004}', true],
  ['^\\d+_\\d+$', '1 2', true],
  ['^[0-9]{5}$', '65001', true],
  ['^[0-9]{5}$', '6500', false],
  ['^(65001_){2}', '65001 65001 7', true],
  ['_{65003,65004}_', '1 {65003,65004} 2', true],
  ['{65003,', '1 {65003,65004}', true],
  ['_(65001|65002)_', '3 65002 4', true],
];

test('AS-path regex cases', () => {
  for (const [p, text, want] of cases) assert.equal(re(p).test(text), want, `${p} on "${text}"`);
});

test('regexes outside the syntax are refused with the reason', () => {
  assert.match(String(asPathRegex('x'.repeat(257))), /at most 256/);
  assert.match(String(asPathRegex('^AS65001')), /not "A"/);
  assert.match(String(asPathRegex('(?=1)')), /not "="/);
  assert.match(String(asPathRegex('(1)\\1')), /not \\1/);
  for (const bad of [
    '(.*)*,',
    '([0-9]+ ?)*,',
    '(.*_)+',
    '((_1)*)*',
    '(\\d+){2,}',
    '(_.*)*',
    '(1+)*',
  ]) {
    assert.match(String(asPathRegex(bad)), /exponential backtracking/, bad);
  }
  for (const fine of [
    '^65001(_[0-9]+)*$',
    '(_65001)*',
    '([0-9]+_)+$',
    '^(65001_){2}',
    '(.*)?_1',
    '(_1)(.*)',
  ]) {
    assert.ok(asPathRegex(fine) instanceof RegExp, fine);
  }
  assert.match(String(asPathRegex('[a]')), /inside \[/);
  assert.match(String(asPathRegex('[0-9')), /closing \]/);
  assert.match(String(asPathRegex('(1')), /valid regular expression/);
});

test('accepted repeated groups stay fast on a long path', () => {
  const text = Array.from({ length: 400 }, (_, i) => String(65000 + i)).join(' ') + ' {1,2}';
  for (const p of ['^65000(_[0-9]+)*$', '^([0-9]+_)*,', '(_[0-9]+)+_7$', '^(.*_)?,$']) {
    const t0 = process.hrtime.bigint();
    re(p).test(text);
    assert.ok(process.hrtime.bigint() - t0 < 200_000_000n, `${p} took too long`);
  }
});

test('the path matched is the real one: AS4_PATH folded into a 2-octet AS_PATH', () => {
  const attrs = [asPath([SEQ(65001, 23456, 23456)], 2), as4Path([SEQ(4200000001, 4200000002)])];
  assert.equal(asPathText(routeAsPath(attrs)), '65001 4200000001 4200000002');
  // A 4-octet AS_PATH is taken as it is.
  assert.equal(asPathText(routeAsPath([asPath([SEQ(4200000001)])])), '4200000001');
});

test('as-path match in a term, inline and with deny entries', () => {
  const p = compile({
    terms: [
      {
        match: { 'as-path': [{ regex: '_65666_', action: 'deny' }, '^65001_'] },
        final: 'accept',
      },
    ],
    default: 'reject',
  });
  const withPath = (...asns: number[]) => route('198.18.0.0/24', [asPath([SEQ(...asns)])]);
  assert.equal(evaluatePolicy(p, withPath(65001, 2), { localAsn: 1 }).action, 'accept');
  assert.equal(evaluatePolicy(p, withPath(65001, 65666), { localAsn: 1 }).action, 'reject');
  assert.equal(evaluatePolicy(p, withPath(2, 65001), { localAsn: 1 }).action, 'reject');
  // No AS_PATH at all reads as the empty path.
  const empty = compile({ terms: [{ match: { 'as-path': ['^$'] }, final: 'accept' }] });
  assert.equal(evaluatePolicy(empty, route('198.18.0.0/24', []), { localAsn: 1 }).action, 'accept');
});
