// `nonstop tcpr`'s --nfqueue flag: its parser, and where it is refused (other subcommands;
// a config naming TUNs). Nothing here starts a middlebox.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNfqueueFlag, tcprCommand } from './tcpr.js';

/** Runs the command with process.stderr captured; its exit code and what it wrote. */
async function runTcpr(argv: string[]): Promise<{ code: number; err: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await tcprCommand.run(argv), err: chunks.join('') };
  } finally {
    process.stderr.write = write;
  }
}

test('parseNfqueueFlag: APPQ:PEERQ, both 0..65535 and different', () => {
  assert.deepEqual(parseNfqueueFlag('101:102'), { appQueue: 101, peerQueue: 102 });
  assert.deepEqual(parseNfqueueFlag('0:65535'), { appQueue: 0, peerQueue: 65535 });
  for (const bad of [
    undefined,
    '',
    '101',
    '101:',
    ':102',
    '65536:1',
    '1:2:3',
    'a:b',
    '-1:2',
    '1 :2',
  ]) {
    assert.match(String(parseNfqueueFlag(bad)), /expected APPQ:PEERQ/, `"${bad}"`);
  }
  assert.match(String(parseNfqueueFlag('7:7')), /must differ/);
});

test('--nfqueue is refused on subcommands other than run', async () => {
  for (const sub of [['list'], ['query', '9999-198.18.2.2:179'], ['stats']]) {
    const r = await runTcpr([...sub, '--nfqueue', '1:2', '-s', '/nonexistent.sock']);
    assert.equal(r.code, 2, sub[0]);
    assert.match(r.err, new RegExp(`nonstop tcpr ${sub[0]}: --nfqueue is an option of run only`));
  }
});

test('run --nfqueue with a config naming app-tun: refused at its file:line, nothing started', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-tcpr-cli-'));
  try {
    const file = join(dir, 'tcpr.yaml');
    writeFileSync(file, 'app-tun: a0\naddresses:\n  - { internal: 198.18.1.2 }\n');
    const r = await runTcpr(['run', '-c', file, '--nfqueue', '101:102']);
    assert.equal(r.code, 2);
    assert.equal(r.err, `${file}:1:1: app-tun: not used with --nfqueue; remove it\n`);
    const flag = await runTcpr(['run', '-c', file, '--nfqueue', '5:5']);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /^nonstop tcpr run: --nfqueue 5:5: the two queues must differ\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
