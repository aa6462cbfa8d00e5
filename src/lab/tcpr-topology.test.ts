// The NFQUEUE rules the TCPR lab installs (docs/tcpr-nfqueue.md § The rules it needs):
// their text, and the refusal of mark 0, which would let every unmarked packet skip the
// queues (fail open).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nfqueueRules } from './tcpr-topology.js';

const base = { chain: 'nst-tcpr', appIf: 'a0', peerIf: 'p0', appQueue: 101, peerQueue: 102 };

test('nfqueueRules: mark skip first, then one queue per interface, no --queue-bypass', () => {
  assert.equal(
    nfqueueRules({ ...base, mark: 0x6e7374 }),
    [
      '*filter',
      ':nst-tcpr - [0:0]',
      '-A FORWARD -j nst-tcpr',
      '-A nst-tcpr -m mark --mark 0x6e7374 -j ACCEPT',
      '-A nst-tcpr -i a0 -j NFQUEUE --queue-num 101',
      '-A nst-tcpr -i p0 -j NFQUEUE --queue-num 102',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('nfqueueRules: mark 0 (fail open) and out-of-range marks are refused', () => {
  for (const mark of [0, -1, 0x100000000, 0.5]) {
    assert.throws(() => nfqueueRules({ ...base, mark }), /mark .* is not from 1 to 0xffffffff/);
  }
});
