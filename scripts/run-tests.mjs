#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner.
// NONSTOP_SKIP_DATA=1 tells data-driven suites to skip when ../shared/data is absent;
// without it they fail loudly.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv[2];
const files = ['dist/src', 'dist/test']
  .flatMap((d) => {
    try {
      return walk(d, []);
    } catch {
      return [];
    }
  })
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no compiled tests found under dist/ (did the build run?)');
  process.exit(1);
}
// A test that hangs fails after 10 minutes instead of holding up the whole run.
const r = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-timeout=600000', ...files],
  {
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
