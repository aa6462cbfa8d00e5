// Configuration mistakes as a user meets them: `nonstop speaker --check -c FILE` on a file
// with one class of mistake each must exit 1 and print exactly the
// `file:line:column: key: message` line docs/speaker.md promises, at the key (or list item)
// concerned — or at the mapping that lacks a required key, or where the YAML parser stopped.
// Positions are derived from the YAML text below, never typed in by hand.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { projectRoot } from './support/data.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function nonstop(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(projectRoot(), 'bin', 'nonstop.js'), ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** 1-based line and column where `needle` first occurs in `lines` (after `fromLine`). */
function pos(lines: readonly string[], needle: string, fromLine = 0): string {
  const i = lines.findIndex((l, n) => n >= fromLine && l.includes(needle));
  if (i < 0) throw new Error(`test bug: "${needle}" not in the YAML`);
  return `${i + 1}:${lines[i]!.indexOf(needle) + 1}`;
}
const lineOf = (lines: readonly string[], needle: string): number =>
  Number(pos(lines, needle).split(':')[0]);

/** A valid config the cases start from: one eBGP neighbor with policies both ways. */
const BASE: readonly string[] = [
  'router-id: 198.18.0.1',
  'asn: 65001',
  'control: { socket: /nonexistent/robust-config.sock }',
  'policies:',
  '  customer-in: { default: accept }',
  '  all: { default: accept }',
  'neighbors:',
  '  - address: 198.18.0.2',
  '    asn: 65002',
  '    import: [customer-in]',
  '    export: [all]',
];

interface Case {
  readonly name: string;
  readonly lines: readonly string[];
  /** The expected stderr lines, without the file name prefix. */
  readonly expect: (lines: readonly string[]) => string[];
}

const CASES: readonly Case[] = [
  {
    name: 'YAML syntax error (a tab in the indentation)',
    lines: ['router-id: 198.18.0.1', 'asn: 65001', 'log:', '\tlevel: debug'],
    expect: (l) => [`${pos(l, '\tlevel')}: YAML: Tabs are not allowed as indentation`],
  },
  {
    // The parser finds two things wrong at one place; docs/speaker.md: "A YAML syntax error
    // is reported alone, at the place the YAML parser stopped" — one line.
    name: 'YAML syntax error (an over-indented key): one line, where the parser stopped',
    lines: BASE.map((l) => (l === '    asn: 65002' ? '     asn: 65002' : l)),
    expect: (l) => [
      `${pos(l, '198.18.0.2')}: YAML: Nested mappings are not allowed in compact mappings`,
    ],
  },
  {
    name: 'unknown key, with a suggestion',
    lines: [...BASE, '    hold-tme: 30'],
    expect: (l) => [
      `${pos(l, 'hold-tme')}: neighbors[0].hold-tme: unknown key; did you mean hold-time?`,
    ],
  },
  {
    name: 'missing required key (a neighbor without asn)',
    lines: BASE.filter((l) => !l.includes('asn: 65002')),
    expect: (l) => [
      `${pos(l, 'address: 198.18.0.2')}: neighbors[0].asn: required key is missing; ` +
        'expected the peer AS number (equal to the local asn for iBGP)',
    ],
  },
  {
    name: 'missing required top-level key (asn)',
    lines: BASE.filter((l) => l !== 'asn: 65001'),
    // The root mapping lacks it: its position is that of its first key.
    expect: (l) => [
      `${pos(l, 'router-id')}: asn: required key is missing; expected the local AS number, like 65001`,
    ],
  },
  {
    name: 'wrong type (passive: maybe)',
    lines: [...BASE, '    passive: maybe'],
    expect: (l) => [
      `${pos(l, 'passive')}: neighbors[0].passive: expected true or false, got "maybe"`,
    ],
  },
  {
    name: 'hold time out of range (2)',
    lines: [...BASE, '    hold-time: 2'],
    expect: (l) => [
      `${pos(l, 'hold-time')}: neighbors[0].hold-time: expected 0 or an integer from 3 to 65535, got 2`,
    ],
  },
  {
    name: 'static prefix with host bits set',
    lines: [...BASE, 'static:', '  - prefix: 198.18.100.1/24'],
    expect: (l) => [
      `${pos(l, 'prefix: 198.18.100.1/24')}: static[0].prefix: expected a prefix without host ` +
        'bits set (all bits after /24 zero), got "198.18.100.1/24"',
    ],
  },
  {
    name: 'undefined policy reference',
    lines: BASE.map((l) => l.replace('import: [customer-in]', 'import: [customer-inn]')),
    expect: (l) => [
      `${pos(l, 'customer-inn')}: neighbors[0].import[0]: expected the name of a policy under ` +
        'policies (defined: customer-in, all), got "customer-inn"; did you mean customer-in?',
    ],
  },
  {
    name: 'duplicate neighbor',
    lines: [...BASE, '  - address: 198.18.0.2', '    asn: 65003', '    import: [all]'],
    expect: (l) => [
      `${pos(l, 'address: 198.18.0.2', lineOf(l, 'asn: 65002'))}: neighbors[1].address: ` +
        `duplicate neighbor address 198.18.0.2 (already at neighbors[0], line ${lineOf(l, 'address: 198.18.0.2')})`,
    ],
  },
  {
    name: 'several mistakes: all reported, in file order',
    lines: [...BASE, '    hold-tme: 30', '    hold-time: 70000'].map((l) =>
      l === 'asn: 65001' ? 'asn: 0' : l,
    ),
    expect: (l) => [
      `${pos(l, 'asn: 0')}: asn: expected an ASN from 1 to 4294967295 (or asdot like 1.10), got 0`,
      `${pos(l, 'hold-tme')}: neighbors[0].hold-tme: unknown key; did you mean hold-time?`,
      `${pos(l, 'hold-time')}: neighbors[0].hold-time: expected 0 or an integer from 3 to 65535, got 70000`,
    ],
  },
];

describe('nonstop speaker --check: configuration errors as the user sees them', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nonstop-robust-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const file = join(dir, `case${i}.yaml`);
      writeFileSync(file, c.lines.join('\n') + '\n');
      const r = await nonstop(['speaker', '--check', '-c', file]);
      const want = c
        .expect(c.lines)
        .map((e) => `${file}:${e}\n`)
        .join('');
      assert.equal(r.stderr, want, `stderr for:\n${c.lines.join('\n')}`);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
    });
  });

  test('a valid file: exit 0 and "configuration is valid"', async () => {
    const file = join(dir, 'valid.yaml');
    writeFileSync(file, BASE.join('\n') + '\n');
    const r = await nonstop(['speaker', '--check', '-c', file]);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `${file}: configuration is valid (1 neighbors)\n`);
    assert.equal(r.code, 0);
  });

  test('a missing file: exit 1, one line naming the file and why', async () => {
    const file = join(dir, 'no-such-config.yaml');
    const r = await nonstop(['speaker', '--check', '-c', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l);
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`${file}: `), r.stderr);
    assert.match(lines[0]!, /cannot read the file/);
    assert.match(lines[0]!, /ENOENT|no such file/i);
  });

  test('a missing file without --check: same message, exit 1, nothing started', async () => {
    const file = join(dir, 'no-such-config.yaml');
    const r = await nonstop(['speaker', '-c', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read`),
    );
    assert.doesNotMatch(r.stderr, /speaker started/);
  });

  test('no -c: usage on stderr, exit 2', async () => {
    const r = await nonstop(['speaker']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^nonstop speaker: a configuration file is required \(-c FILE\)\n/);
    assert.match(r.stderr, /usage: nonstop speaker -c FILE \[--check\]/);
  });

  test('-c without a file name: usage, exit 2', async () => {
    const r = await nonstop(['speaker', '--check', '-c']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /usage: nonstop speaker -c FILE/);
  });
});
