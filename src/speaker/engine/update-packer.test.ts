// packIpv4Keys writes IPv4 NLRI straight from Loc-RIB keys. Checked against the other two
// independent paths: rib/'s keyToPrefix (what each key stands for) and wire/'s decoder
// (what the messages say), at the RFC 4271 §4.3 size limit of 4096 octets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPrefix } from '../../lib/ip.js';
import { ipv4Key, keyToPrefix } from '../../rib/index.js';
import {
  AS4_CONTEXT,
  ATTR_DEFAULT_FLAGS,
  addPathKey,
  decodeMessage,
  makeContext,
  type PathAttribute,
} from '../../wire/index.js';
import { packIpv4Keys } from './update-packer.js';

const ATTRS: PathAttribute[] = [
  { kind: 'origin', code: 1, flags: ATTR_DEFAULT_FLAGS[1]!, origin: 0 },
  {
    kind: 'as-path',
    code: 2,
    flags: ATTR_DEFAULT_FLAGS[2]!,
    asnWidth: 4,
    segments: [{ type: 2, asns: [65001, 65002] }],
  },
  {
    kind: 'next-hop',
    code: 3,
    flags: ATTR_DEFAULT_FLAGS[3]!,
    nextHop: new Uint8Array([198, 18, 0, 1]),
  },
];

/** Keys of every length 0..32, addresses spread over the whole space (host bits zero). */
function sampleKeys(n: number): number[] {
  const keys: number[] = [];
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const len = i % 33;
    const addr = len === 0 ? 0 : (x & (0xffffffff << (32 - len))) >>> 0;
    keys.push(ipv4Key(addr, len));
  }
  return keys;
}

function decodeAll(msgs: Uint8Array[], ctx = AS4_CONTEXT) {
  const announced: string[] = [];
  const withdrawn: string[] = [];
  const ids: number[] = [];
  for (const m of msgs) {
    assert.ok(m.length <= 4096, `message of ${m.length} octets`);
    const r = decodeMessage(m, ctx);
    assert.ok(r.ok && r.message.type === 2, 'an UPDATE that decodes');
    const u = r.message;
    assert.equal(u.errors, undefined);
    for (const x of u.nlri) {
      announced.push(formatPrefix(x.prefix));
      ids.push(x.pathId ?? 0);
    }
    for (const x of u.withdrawn) {
      withdrawn.push(formatPrefix(x.prefix));
      ids.push(x.pathId ?? 0);
    }
    if (u.nlri.length) assert.equal(u.attributes.length, 3);
    else assert.equal(u.attributes.length, 0);
  }
  return { announced, withdrawn, ids };
}

test('announcements: every key once, in order, as the prefix it stands for', () => {
  const keys = sampleKeys(3000);
  const msgs = packIpv4Keys(
    ATTRS,
    keys,
    keys.map(() => 0),
    AS4_CONTEXT,
  );
  const { announced, withdrawn } = decodeAll(msgs);
  assert.deepEqual(
    announced,
    keys.map((k) => formatPrefix(keyToPrefix(k))),
  );
  assert.equal(withdrawn.length, 0);
  assert.ok(msgs.length > 1, 'split over several messages');
  // Full messages: all but the last leave no room for another 5-octet /32.
  for (const m of msgs.slice(0, -1)) assert.ok(m.length > 4096 - 5);
});

test('withdrawals, and ADD-PATH path identifiers (RFC 7911)', () => {
  const keys = sampleKeys(2000);
  const ids = keys.map((_, i) => i * 7 + 1);
  const ctx = makeContext({ as4: true, addPath: new Set([addPathKey(1, 1)]) });
  const msgs = packIpv4Keys(undefined, keys, ids, ctx);
  const out = decodeAll(msgs, ctx);
  assert.deepEqual(
    out.withdrawn,
    keys.map((k) => formatPrefix(keyToPrefix(k))),
  );
  assert.deepEqual(out.ids, ids);
  assert.equal(out.announced.length, 0);
  for (const m of msgs.slice(0, -1)) assert.ok(m.length > 4096 - 9);
});
