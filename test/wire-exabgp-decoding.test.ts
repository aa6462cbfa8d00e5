// ExaBGP decoding vectors (../shared/data/exabgp/qa/decoding): raw messages with the JSON
// ExaBGP decodes them to. For every vector we decode, compare what we decode with the JSON
// (through the vocabulary map of support/exabgp-view.ts), and re-encode byte-exact.
//
// Context: ExaBGP's `decode` assumes a 4-octet-AS session without ADD-PATH (ipv4-unicast-2
// carries 4-octet ASNs in AS_PATH and AGGREGATOR), so that is what we decode with; no
// vector here names other capabilities.
// Forms: a vector whose hex starts with the marker is a whole message; an `update`/`open`
// vector without it is the message body (we add the header); an `nlri` vector is bare
// NLRI of the named family, which we wrap in an MP_UNREACH_NLRI attribute of that family
// inside an UPDATE (its only use to us is the opaque round-trip).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { toHex } from '../src/lib/bytes.js';
import { formatIPv4 } from '../src/lib/ip.js';
import { openCapabilities } from '../src/wire/open.js';
import type { OpenMessage, UpdateMessage } from '../src/wire/types.js';
import { context, decode, describeError, encode } from './support/codec.js';
import { dataPath, requireData } from './support/data.js';
import {
  assertOpaqueFamilies,
  messageOf,
  readDecodingVectors,
  type DecodingVector,
} from './support/exabgp.js';
import { attributeCodes, expectedOfExaUpdate, viewOfUpdate } from './support/exabgp-view.js';

const DIR = 'exabgp/qa/decoding';
const EXPECTED_COUNT = 22;

function checkUpdate(v: DecodingVector, u: UpdateMessage): void {
  const exp = expectedOfExaUpdate(v.json);
  assert.deepEqual(exp.unmapped, [], `${v.name}: ExaBGP keys without a mapping`);
  const ours = viewOfUpdate(u, true);
  assert.deepEqual(ours.attribute, exp.view.attribute, `${v.name}: attributes`);
  assert.deepEqual(ours.announce, exp.view.announce, `${v.name}: announced routes`);
  assert.deepEqual(ours.withdraw, exp.view.withdraw, `${v.name}: withdrawn routes`);
  const codes = attributeCodes(u);
  for (const o of exp.opaque) {
    assert.ok(
      codes.has(o.code),
      `${v.name}: ExaBGP decoded ${o.key} (type ${o.code}); we have no such attribute`,
    );
  }
  assertOpaqueFamilies(u, exp.opaqueFamilies, v.name);
  assert.equal(
    u.errors,
    undefined,
    `${v.name}: unexpected RFC 7606 errors ${JSON.stringify(u.errors)}`,
  );
}

const CAP_NAMES: Record<number, string> = { 1: 'multiprotocol', 65: 'asn4' };
const AFI_NAMES: Record<number, string> = { 1: 'ipv4', 2: 'ipv6', 25: 'l2vpn', 16388: 'bgp-ls' };
const SAFI_NAMES: Record<number, string> = {
  1: 'unicast',
  2: 'multicast',
  128: 'mpls-vpn',
  133: 'flow',
};

function checkOpen(v: DecodingVector, o: OpenMessage): void {
  const exp = (v.json as { neighbor: { open: Record<string, unknown> } }).neighbor.open;
  assert.equal(o.version, exp['version'], `${v.name}: version`);
  assert.equal(o.myAs, exp['asn'], `${v.name}: my AS`);
  assert.equal(o.holdTime, exp['hold_time'], `${v.name}: hold time`);
  assert.equal(formatIPv4(o.bgpId), exp['router_id'], `${v.name}: BGP identifier`);
  const caps = openCapabilities(o);
  const expCaps = exp['capabilities'] as Record<string, Record<string, unknown>>;
  assert.deepEqual(
    [...new Set(caps.map((c) => c.code))].sort((a, b) => a - b),
    Object.keys(expCaps)
      .map(Number)
      .sort((a, b) => a - b),
    `${v.name}: capability codes`,
  );
  for (const [code, e] of Object.entries(expCaps)) {
    const n = Number(code);
    if (CAP_NAMES[n] !== undefined)
      assert.equal(e['name'], CAP_NAMES[n], `${v.name}: ExaBGP name of capability ${n}`);
    if (n === 1) {
      const fams = caps.flatMap((c) =>
        c.kind === 'multiprotocol'
          ? [`${AFI_NAMES[c.afi] ?? c.afi}/${SAFI_NAMES[c.safi] ?? c.safi}`]
          : [],
      );
      assert.deepEqual(fams, e['families'], `${v.name}: multiprotocol families`);
    } else if (n === 65) {
      const c = caps.find((x) => x.kind === 'four-octet-as');
      assert.ok(c && c.kind === 'four-octet-as', `${v.name}: 4-octet AS capability not decoded`);
      assert.equal(c.asn, e['asn4'], `${v.name}: 4-octet AS`);
    } else {
      // Capabilities we keep opaque (e.g. 75, software version): presence is what we check.
      assert.ok(
        caps.some((c) => c.code === n),
        `${v.name}: capability ${n}`,
      );
    }
  }
}

describe('exabgp decoding vectors', () => {
  const present = existsSync(dataPath(DIR));
  const vectors = present ? readDecodingVectors(dataPath(DIR)) : [];

  test('vector count', (t) => {
    if (!requireData(t, DIR)) return;
    assert.equal(vectors.length, EXPECTED_COUNT);
  });

  for (const v of vectors) {
    test(`${v.name} (${v.kind}${v.family ? ' ' + v.family : ''}, ${v.form})`, () => {
      const ctx = context({ as4: true });
      const msg = messageOf(v);
      const d = decode(msg, ctx);
      assert.ok(
        d.ok,
        `${v.name}: decode failed: ${d.ok ? '' : describeError(d.error)}\n  message ${toHex(msg)}`,
      );
      const m = d.message;
      if (v.kind === 'open') {
        assert.equal(m.type, 1);
        if (m.type === 1) checkOpen(v, m);
      } else {
        assert.equal(m.type, 2);
        if (m.type === 2 && v.kind === 'update') checkUpdate(v, m);
      }
      assert.equal(
        toHex(encode(m, ctx)),
        toHex(msg),
        `${v.name}: encode(decode(m)) differs from m`,
      );
    });
  }
});
