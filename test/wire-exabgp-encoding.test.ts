// ExaBGP encoding vectors (../shared/data/exabgp/qa/encoding/*.ci with the configurations
// in ../shared/data/exabgp/confs): the messages ExaBGP sends for a configuration, some
// followed by the JSON ExaBGP decodes them to. Every raw message must decode without a
// session-reset error and re-encode byte-exact; where JSON is given, what we decode must
// match it (vocabulary map: support/exabgp-view.ts).
//
// Context per file, from its configuration (support/exabgp.ts readConfFacts): 4-octet AS
// unless `asn4 disable`; ADD-PATH on the families ExaBGP sends path identifiers for.
// Extended messages are off (no vector is longer than 4096 octets).

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { toHex } from '../src/lib/bytes.js';
import type { CodecContext, UpdateMessage } from '../src/wire/types.js';
import { context, decode, describeError, encode } from './support/codec.js';
import { dataPath, requireData } from './support/data.js';
import {
  EXA_FAMILY,
  assertOpaqueFamilies,
  readCiFile,
  readConfFacts,
  scanCiCounts,
  type CiFile,
} from './support/exabgp.js';
import { attributeCodes, expectedOfExaUpdate, viewOfUpdate } from './support/exabgp-view.js';

const DIR = 'exabgp/qa/encoding';
const CONFS = 'exabgp/confs';
// From ../shared/data/README.md: 168 raw messages, 102 with JSON. Two of the 168 raw lines
// are commented out in the .ci files (conf-flow.ci, conf-path-information.ci).
const EXPECTED = { files: 40, raw: 166, commentedRaw: 2, json: 102, versionedJson: 6 };

/**
 * Vectors whose decoding must give an error rather than a message, with why. Keyed by
 * "<file>:<line>": only where the RFCs demand an error that ExaBGP (which sends these
 * messages to test its own encoder) does not raise.
 */
const EXPECTED_ERRORS: Readonly<
  Record<string, { action: string; code: number; subcode: number; data?: string; why: string }>
> = {
  'conf-generic-attribute.ci:6': {
    action: 'session-reset',
    code: 3,
    subcode: 2,
    data: '60990400000064',
    why:
      'attribute type 0x99 with flags 0x60: Optional bit clear, so it claims to be well-known, ' +
      'and 153 is not one we (or anyone) recognise → RFC 4271 §6.3 Unrecognized Well-known ' +
      'Attribute, data = the attribute (RFC 7606 leaves this case a session reset)',
  },
  'conf-generic-attribute.ci:9': {
    action: 'session-reset',
    code: 3,
    subcode: 2,
    data: '7099000400000064',
    why: 'as line 6, with flags 0x70 (Extended Length) → Unrecognized Well-known Attribute',
  },
  'extended-nexthop.ci:6': {
    action: 'session-reset',
    code: 3,
    subcode: 9,
    why:
      'MP_REACH_NLRI for IPv6 unicast with a 4-octet (IPv4) next hop: RFC 2545 §3 allows 16 or ' +
      '32 octets and RFC 8950 only covers IPv6 next hops for IPv4 NLRI, so the next-hop length is ' +
      'inconsistent → RFC 7606 §7.11 session reset (AFI/SAFI disable would also be allowed), ' +
      'subcode Optional Attribute Error per RFC 4760 §7',
  },
};

function contextFor(ci: CiFile): CodecContext {
  if (!ci.conf) return context();
  const facts = readConfFacts(join(dataPath(CONFS), ci.conf));
  const addPath = facts.addPathFamilies.map((f) => {
    const fam = EXA_FAMILY[f];
    if (!fam) throw new Error(`${ci.name}: unknown add-path family ${f}`);
    return fam;
  });
  return context({ as4: facts.asn4, addPath });
}

function checkJson(where: string, u: UpdateMessage, json: unknown, as4: boolean): void {
  const exp = expectedOfExaUpdate(json);
  assert.deepEqual(exp.unmapped, [], `${where}: ExaBGP keys without a mapping`);
  const ours = viewOfUpdate(u, as4);
  assert.deepEqual(ours.attribute, exp.view.attribute, `${where}: attributes`);
  assert.deepEqual(ours.announce, exp.view.announce, `${where}: announced routes`);
  assert.deepEqual(ours.withdraw, exp.view.withdraw, `${where}: withdrawn routes`);
  const codes = attributeCodes(u);
  for (const o of exp.opaque) {
    assert.ok(
      codes.has(o.code),
      `${where}: ExaBGP decoded ${o.key} (type ${o.code}); we have no such attribute`,
    );
  }
  assertOpaqueFamilies(u, exp.opaqueFamilies, where);
}

describe('exabgp encoding vectors', () => {
  const present = existsSync(dataPath(DIR));
  const files = present
    ? readdirSync(dataPath(DIR))
        .filter((f) => f.endsWith('.ci'))
        .sort()
    : [];
  const parsed = files.map((f) => readCiFile(join(dataPath(DIR), f)));

  test('vector counts match the files', (t) => {
    if (!requireData(t, DIR) || !requireData(t, CONFS)) return;
    let raw = 0;
    let commented = 0;
    let json = 0;
    let versionedJson = 0;
    for (const ci of parsed) {
      // The parser must see exactly what a plain line scan sees.
      const scan = scanCiCounts(join(dataPath(DIR), ci.name));
      assert.deepEqual(
        {
          raw: ci.vectors.length,
          commentedRaw: ci.commentedRaw,
          json: ci.jsonLines,
          versionedJson: ci.versionedJsonLines,
        },
        scan,
        `${ci.name}: parser and line scan disagree`,
      );
      raw += ci.vectors.length;
      commented += ci.commentedRaw;
      json += ci.jsonLines;
      versionedJson += ci.versionedJsonLines;
      // Every JSON line was tied to a raw message.
      assert.equal(
        ci.vectors.reduce((n, v) => n + v.json.length, 0),
        ci.jsonLines + ci.versionedJsonLines,
        `${ci.name}: JSON lines not tied to a message`,
      );
    }
    assert.deepEqual(
      { files: parsed.length, raw, commentedRaw: commented, json, versionedJson },
      EXPECTED,
    );
    for (const ci of parsed) {
      if (ci.conf)
        assert.ok(
          existsSync(join(dataPath(CONFS), ci.conf)),
          `${ci.name}: configuration ${ci.conf} missing`,
        );
    }
  });

  for (const ci of parsed) {
    describe(ci.name, () => {
      for (const v of ci.vectors) {
        const where = `${v.file}:${v.line}`;
        test(`${where} ${v.cmd ?? ''}`.trim(), () => {
          const ctx = contextFor(ci);
          const d = decode(v.raw, ctx);
          const expErr = EXPECTED_ERRORS[where];
          if (expErr) {
            assert.ok(
              !d.ok,
              `${where}: expected ${expErr.action} ${expErr.code}/${expErr.subcode} (${expErr.why}), decoded fine`,
            );
            assert.deepEqual(
              { action: d.error.action, code: d.error.code, subcode: d.error.subcode },
              { action: expErr.action, code: expErr.code, subcode: expErr.subcode },
              `${where}: ${describeError(d.error)}`,
            );
            if (expErr.data !== undefined)
              assert.equal(toHex(d.error.data), expErr.data, `${where}: NOTIFICATION data`);
            return;
          }
          assert.ok(
            d.ok,
            `${where}: decode failed: ${d.ok ? '' : describeError(d.error)}\n  message ${toHex(v.raw)}`,
          );
          const m = d.message;
          if (m.type === 2) {
            assert.equal(
              m.errors,
              undefined,
              `${where}: RFC 7606 errors on a message ExaBGP produced: ${(m.errors ?? []).map(describeError).join('; ')}`,
            );
            for (const j of v.json) checkJson(where, m, j, ctx.as4);
          } else {
            assert.equal(v.json.length, 0, `${where}: JSON given for a message of type ${m.type}`);
          }
          assert.equal(
            toHex(encode(m, ctx)),
            toHex(v.raw),
            `${where}: encode(decode(m)) differs from m`,
          );
        });
      }
    });
  }
});
