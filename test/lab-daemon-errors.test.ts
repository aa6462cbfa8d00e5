// A daemon that cannot start fails fast with a message naming it and showing its log;
// unsupported options and unknown kinds are refused up front.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lab, labAvailable } from '../src/lab/index.js';

test('a daemon dying at start fails fast with its log tail; bad specs are refused', async (t) => {
  if (!labAvailable(['bird'])) return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const lab = Lab.create();
  t.after(() => lab.destroy());
  const n = await lab.node('r1');
  const base = { ns: n.ns, routerId: '198.18.4.1', asn: 65001, neighbors: [] };
  const started = Date.now();
  await assert.rejects(
    lab.startDaemon('bird', { ...base, name: 'broken', extra: 'this is not bird config;' }),
    (e: Error) => {
      assert.match(e.message, /bird "broken": bird exited while starting/);
      assert.match(e.message, /syntax error|parse error/i, 'the log tail explains why');
      return true;
    },
  );
  assert.ok(Date.now() - started < 5000, 'does not wait for the readiness timeout');
  assert.throws(() => lab.daemon('gobgp', { ...base, name: 'g', kernelFib: true }), /kernelFib/);
  assert.throws(() => lab.daemon('quagga', { ...base, name: 'q' }), /unknown daemon kind "quagga"/);
  assert.throws(
    () => lab.daemon('bird', { ...base, name: 'x', ns: 'nst-elsewhere' }),
    /not a node/,
  );
});
