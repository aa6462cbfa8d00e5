// The correct-output stream of the RIS trace and its extension to 100 hours (trace.ts),
// checked against the MRT file read independently.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireData } from '../../../test/support/data.js';
import { readMrt } from '../../mrt/reader.js';
import { copiesFor, loadTrace, perKeyChanges, valueAt } from './trace.js';

const TRACE = 'hdb3-MRT/latest-update.gz';

test('the trace: every record kept, in time order, each second keeping its records', async (t) => {
  const path = requireData(t, TRACE);
  if (!path) return;
  const trace = await loadTrace(path);
  // Count independently: BGP4MP messages received from peers, and state changes.
  const perSecond = new Map<number, number>();
  let n = 0;
  let t0 = Infinity;
  for await (const r of readMrt(path)) {
    if ((r.kind === 'message' && !r.local) || r.kind === 'state-change') {
      n++;
      t0 = Math.min(t0, r.timestamp);
      perSecond.set(r.timestamp, (perSecond.get(r.timestamp) ?? 0) + 1);
    }
  }
  assert.equal(trace.records, n);
  assert.equal(trace.recordTime.length, n);
  for (let i = 1; i < n; i++) assert.ok(trace.recordTime[i]! >= trace.recordTime[i - 1]!);
  const seen = new Map<number, number>();
  for (const x of trace.recordTime) {
    const s = t0 + Math.floor(x / 1000);
    seen.set(s, (seen.get(s) ?? 0) + 1);
  }
  assert.deepEqual([...seen].sort(), [...perSecond].sort());
  assert.equal(trace.periodMs % 1000, 0);
  assert.ok(trace.recordTime[n - 1]! < trace.periodMs);
});

test('the extension: at least 100 hours of identical copies of the correct-output stream', async (t) => {
  const path = requireData(t, TRACE);
  if (!path) return;
  const trace = await loadTrace(path);
  const copies = copiesFor(trace, 100);
  assert.ok(copies * trace.periodMs >= 100 * 3_600_000);
  assert.ok((copies - 1) * trace.periodMs < 100 * 3_600_000);
  // A copy, replayed from the state a copy starts in, ends in that same state: so every copy
  // of the file produces the same stream of changes (the file is periodic after the warm-up).
  const perKey = perKeyChanges(trace);
  const ch = trace.changes;
  let changed = 0;
  for (let k = 0; k < trace.keys.length; k++) {
    const list = perKey.changes[k]!;
    if (list.length === 0) continue;
    changed++;
    assert.equal(ch.value[list[list.length - 1]!], trace.initial[k], `key ${k}`);
    // A change is a change: no two consecutive changes of a key give the same value.
    let prev = trace.initial[k];
    for (const i of list) {
      assert.notEqual(ch.value[i], prev);
      prev = ch.value[i]!;
    }
    assert.equal(valueAt(trace, perKey, k, trace.periodMs), trace.initial[k]);
  }
  assert.ok(changed > 1000);
  // Changes are in time order and each belongs to a record at that time.
  for (let i = 0; i < ch.time.length; i++) {
    if (i > 0) assert.ok(ch.time[i]! >= ch.time[i - 1]!);
    assert.equal(ch.time[i], trace.recordTime[ch.record[i]!]);
  }
  // Fewer best-route changes than prefix events: most updates do not change the best route.
  assert.ok(ch.time.length < trace.prefixEvents);
});
