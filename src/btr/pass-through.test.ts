// The pass-through probe (pass-through.ts): which key an UPDATE stamps, one sample per
// (stamp, output), re-stamping, and the bound on stamps kept.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AFI, parsePrefix } from '../lib/ip.js';
import type { Nlri, PathAttribute, UpdateMessage } from '../wire/index.js';
import { routeKey } from './canonical-key.js';
import { PassThroughProbe, firstKey, type PassThroughOutput } from './pass-through.js';

const nlri = (p: string, pathId?: number): Nlri => ({
  prefix: parsePrefix(p)!,
  ...(pathId !== undefined ? { pathId } : {}),
});
const update = (o: Partial<UpdateMessage>): UpdateMessage => ({
  type: 2,
  withdrawn: [],
  attributes: [],
  nlri: [],
  ...o,
});
const key = (p: string, afi: number = AFI.IPv4, safi = 1, pathId = 0) =>
  routeKey(afi, safi, parsePrefix(p)!, pathId);

function probe(limit?: number) {
  const samples: [PassThroughOutput, number][] = [];
  const p = new PassThroughProbe({
    onSample: (o, ms) => samples.push([o, ms]),
    ...(limit !== undefined ? { limit } : {}),
  });
  return { p, samples };
}

test('firstKey: withdrawn, then MP_UNREACH, then MP_REACH, then NLRI', () => {
  const mpReach = {
    kind: 'mp-reach',
    afi: AFI.IPv6,
    safi: 1,
    nextHop: new Uint8Array(16),
    nlri: [nlri('2001:db8:1::/48')],
  } as unknown as PathAttribute;
  const mpUnreach = {
    kind: 'mp-unreach',
    afi: AFI.IPv6,
    safi: 1,
    withdrawn: [nlri('2001:db8:2::/48')],
  } as unknown as PathAttribute;
  const v4 = [nlri('198.18.7.0/24')];
  assert.equal(
    firstKey(update({ withdrawn: [nlri('198.18.5.0/24')], nlri: v4 })),
    key('198.18.5.0/24'),
  );
  assert.equal(
    firstKey(update({ attributes: [mpReach, mpUnreach], nlri: v4 })),
    key('2001:db8:2::/48', AFI.IPv6),
    'MP_UNREACH before MP_REACH whatever the attribute order',
  );
  assert.equal(
    firstKey(update({ attributes: [mpReach], nlri: v4 })),
    key('2001:db8:1::/48', AFI.IPv6),
  );
  assert.equal(
    firstKey(update({ nlri: [nlri('198.18.7.0/24', 9)] })),
    key('198.18.7.0/24', AFI.IPv4, 1, 9),
  );
  assert.equal(firstKey(update({})), undefined, 'End-of-RIB stamps nothing');
});

test('one sample per stamp and output, measured from the newest arrival', () => {
  const { p, samples } = probe();
  const k = key('198.18.7.0/24');
  p.arrived(update({ nlri: [nlri('198.18.7.0/24'), nlri('198.18.8.0/24')] }), 100);
  p.output('update', key('198.18.8.0/24'), 105); // not the stamped route: no sample
  assert.deepEqual(samples, []);
  p.arrived(update({ nlri: [nlri('198.18.7.0/24')] }), 110); // newer input for the same key
  p.output('update', k, 117);
  p.output('update', k, 130); // already sampled for this output
  p.output('fib', k, 140);
  assert.deepEqual(samples, [
    ['update', 7],
    ['fib', 30],
  ]);
  assert.deepEqual(p.stats(), { update: 0, fib: 0, samples: 2 });
});

test('at most `limit` stamps per output, the oldest dropped first', () => {
  const { p, samples } = probe(2);
  for (const [i, s] of ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24'].entries())
    p.arrived(update({ nlri: [nlri(s)] }), i);
  assert.deepEqual(p.stats(), { update: 2, fib: 2, samples: 0 });
  p.output('update', key('198.18.1.0/24'), 10); // dropped
  p.output('update', key('198.18.3.0/24'), 10);
  assert.deepEqual(samples, [['update', 8]]);
  // Re-stamping an old key makes it the youngest: the next arrival drops 198.18.2.0/24.
  p.arrived(update({ nlri: [nlri('198.18.3.0/24')] }), 20);
  p.arrived(update({ nlri: [nlri('198.18.4.0/24')] }), 21);
  p.output('fib', key('198.18.2.0/24'), 30);
  p.output('fib', key('198.18.3.0/24'), 30);
  assert.deepEqual(samples, [
    ['update', 8],
    ['fib', 10],
  ]);
});
