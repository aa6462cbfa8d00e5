import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FULL, GROUPS, QUICK, buildPlan, pointId, validationPoints, type Group } from './plan.js';

test('every point of a plan has its own id, and ids do not depend on the preset', () => {
  for (const pr of [FULL, QUICK]) {
    const plan = buildPlan(pr);
    for (const [id, p] of plan.points) assert.equal(pointId(p), id);
    for (const g of GROUPS) assert.ok((plan.groups.get(g) ?? []).length > 0, `${pr.name}: ${g}`);
  }
  // Full and quick share the points they have in common (same id, same spec): their seeds,
  // bootstraps and samples differ only where the presets do.
  const full = buildPlan(FULL);
  const quick = buildPlan(QUICK);
  for (const [id, p] of quick.points) {
    const f = full.points.get(id);
    if (f) assert.deepEqual(f, p);
  }
});

test('--only keeps the points of the groups asked for', () => {
  const all = buildPlan(QUICK);
  for (const g of GROUPS) {
    const only = buildPlan(QUICK, [g as Group]);
    assert.deepEqual([...only.groups.keys()], [g]);
    for (const id of only.points.keys()) assert.ok(all.points.has(id));
    assert.deepEqual(new Set(only.points.keys()), new Set(all.groups.get(g)));
  }
});

test('validation pairs a direct run and an estimate with the same parameters', () => {
  for (const { direct, estimate } of validationPoints(FULL)) {
    assert.deepEqual(direct.vote, estimate.vote);
    assert.equal(direct.bugs!.durationMs, estimate.durationMs);
    assert.equal(direct.bugs!.targetPool, estimate.targetPool);
    assert.deepEqual(direct.bugs!.kinds, estimate.kinds);
    assert.ok(direct.bugs!.interArrivalMs < FULL.baseline.interArrivalMs / 100);
  }
});

test('the full preset is the paper set-up: 100 hours, 600 s bugs every 1.2 million s', () => {
  assert.equal(FULL.directHours, 100);
  assert.equal(FULL.baseline.durationMs, 600_000);
  assert.equal(FULL.baseline.interArrivalMs, 1_200_000_000);
});
