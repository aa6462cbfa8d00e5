import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const nonstop = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/nonstop.js', ...args], { encoding: 'utf8', timeout: 30_000 });

test('`nonstop lab` lists its experiments; help, unknown experiments and bad options', () => {
  const help = nonstop('lab', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /btr-eval/);
  const bare = nonstop('lab');
  assert.equal(bare.status, 2);
  const unknown = nonstop('lab', 'no-such-experiment');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown experiment 'no-such-experiment'/);
  const evalHelp = nonstop('lab', 'btr-eval', '--help');
  assert.equal(evalHelp.status, 0);
  for (const opt of ['--quick', '--out', '--fresh', '--only', '--jobs', '--trace', '--doc']) {
    assert.ok(evalHelp.stdout.includes(opt), opt);
  }
  const bad = nonstop('lab', 'btr-eval', '--only', 'fig9');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown group 'fig9'/);
  const jobs = nonstop('lab', 'btr-eval', '--jobs', '0');
  assert.equal(jobs.status, 2);
  assert.match(nonstop('--help').stdout, /\blab\b/);
});

test('`nonstop lab btr-eval` fails loudly when the trace is missing', () => {
  const r = nonstop(
    'lab',
    'btr-eval',
    '--quick',
    '--out',
    '/tmp/nonstop-lab-test-missing',
    '--trace',
    '/nonexistent/trace.gz',
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the trace \/nonexistent\/trace\.gz is missing/);
});
