// A lab run that dies half-way — an uncaught exception, or SIGTERM/SIGINT — still removes
// its namespaces, daemons and temp dir. The run happens in a child process, checked after.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labAvailable } from '../src/lab/index.js';
import { netnsList } from '../src/net/netns.js';
import { pidAlive } from '../src/net/process.js';

const LAB_MODULE = fileURLToPath(new URL('../src/lab/index.js', import.meta.url));

// Builds a two-node lab with BIRD running, reports what exists, then fails as told.
const CHILD = `
import { Lab } from ${JSON.stringify(LAB_MODULE)};
import { execFileSync } from 'node:child_process';
const lab = Lab.create();
const a = await lab.node('a');
const b = await lab.node('b');
await lab.link({ node: a, addresses: ['198.18.2.1/30'] }, { node: b, addresses: ['198.18.2.2/30'] });
await lab.startDaemon('bird', { name: 'bird1', ns: a.ns, routerId: '198.18.2.1', asn: 65001,
  neighbors: [{ address: '198.18.2.2', asn: 65002 }] });
const pids = execFileSync('ip', ['netns', 'pids', a.ns], { encoding: 'utf8' }).split('\\n').filter(Boolean).map(Number);
console.log(JSON.stringify({ prefix: lab.prefix, dir: lab.dir, pids }));
if (process.argv[1] === 'throw') throw new Error('boom: test body failed half-way');
setInterval(() => undefined, 1000);
`;

interface Report {
  prefix: string;
  dir: string;
  pids: number[];
}

function runChild(
  mode: 'throw' | 'SIGTERM' | 'SIGINT',
): Promise<{ report: Report; code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let report: Report | undefined;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line && !report) {
        report = JSON.parse(line) as Report;
        if (mode !== 'throw') child.kill(mode);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!report) reject(new Error(`child never reported (code ${code}):\n${stdout}\n${stderr}`));
      else resolve({ report, code, signal, stderr });
    });
  });
}

for (const mode of ['throw', 'SIGTERM', 'SIGINT'] as const) {
  test(`a lab run ended by ${mode === 'throw' ? 'an uncaught exception' : mode} leaves nothing behind`, async (t) => {
    if (!labAvailable(['bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
    const { report, code, signal, stderr } = await runChild(mode);
    if (mode === 'throw') {
      assert.equal(code, 1);
      assert.match(stderr, /boom/);
    } else {
      assert.equal(signal, mode, `child should die of ${mode}; stderr: ${stderr}`);
    }
    assert.ok(report.pids.length >= 1, 'bird was running in the lab');
    assert.deepEqual(
      (await netnsList()).filter((n) => n.startsWith(report.prefix)),
      [],
    );
    assert.deepEqual(
      report.pids.filter((p) => pidAlive(p)),
      [],
      'no lab process survives',
    );
    assert.equal(existsSync(report.dir), false, 'temp dir removed');
  });
}
