import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError, loadSpeakerConfig } from './index.js';

test('loadSpeakerConfig reads the file and names it in errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'router-id: 198.18.0.1\nasn: 65001\n');
  const ok = await loadSpeakerConfig(good);
  assert.ok(ok.ok);
  assert.equal(ok.value.file, good);

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'router-id: 198.18.0.1\nasn: 0\n');
  const r = await loadSpeakerConfig(bad);
  assert.ok(!r.ok);
  assert.deepEqual(
    r.error.map((e) => formatConfigError(e)),
    [`${bad}:2:1: asn: expected an ASN from 1 to 4294967295 (or asdot like 1.10), got 0`],
  );

  const missing = join(dir, 'missing.yaml');
  const m = await loadSpeakerConfig(missing);
  assert.ok(!m.ok);
  assert.deepEqual(
    m.error.map((e) => formatConfigError(e)),
    [`${missing}: cannot read the file (ENOENT)`],
  );
});
