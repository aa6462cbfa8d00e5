// Every BGP message and every RIB attribute block inside every MRT file of ../shared/data
// must survive decode → encode byte for byte. The only accepted difference is the one
// canonicalisation of the codec: NLRI host bits (RFC 4271 §4.3: bits beyond the prefix
// length are irrelevant) are masked; for those messages the re-encoding must have the same
// length and decode to the same routes, without host bits.
// Messages that carry an RFC 7606 malformation cannot round-trip (the malformed attribute
// is discarded or the UPDATE treated as withdraw by design); each file's malformations are
// asserted from what is independently known about it (comments below).
// BIRD's MRT dumps of ADD-PATH sessions (mrtparse/samples/bird.conf: `add paths on`) use the
// plain BGP4MP_MESSAGE_AS4 subtype instead of RFC 8050's _ADDPATH ones; decoded as the
// subtype says, their NLRI (or MP_REACH NLRI) is malformed. Those messages must decode cleanly with
// ADD-PATH on and round-trip with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writer } from '../src/lib/bytes.js';
import { readMrtBatches } from '../src/mrt/reader.js';
import { decodeBgp4mpMessage, decodeRibAttributes, messageContext } from '../src/mrt/records.js';
import {
  ERR,
  encodeAttributes,
  encodeMessage,
  decodeMessage,
  makeContext,
} from '../src/wire/index.js';
import { dataDir, requireData } from './support/data.js';

/** MRT files in the shared data (everything but configs and docs). */
function mrtFiles(): string[] {
  const dirs = ['RIPE-NCC-bgpdump/test_data', 'hdb3-MRT', 'mrtparse/samples'];
  const out: string[] = [];
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(join(dataDir(), d));
    } catch {
      continue;
    }
    for (const n of names) if (!/\.(conf|rst|md)$/.test(n)) out.push(`${d}/${n}`);
  }
  return out.sort();
}

const files = mrtFiles();

test('the shared data holds the MRT files this suite expects', (t) => {
  if (!requireData(t, 'RIPE-NCC-bgpdump/test_data')) return;
  // 12 bgpdump inputs + 1 RIS trace + 13 daemon-written samples (see data/MANIFEST.tsv).
  assert.equal(files.length, 26, files.join('\n'));
});

for (const rel of files) {
  test(`decode/encode round-trip of every message and RIB entry: ${rel}`, async (t) => {
    const path = requireData(t, rel);
    if (!path) return;
    let messages = 0;
    let hostBitMessages = 0;
    let malformed = 0;
    let addPathWithoutSubtype = 0;
    const resets: string[] = [];
    let ribEntries = 0;
    const w = new Writer(1 << 16);
    for await (const batch of readMrtBatches(path)) {
      for (const rec of batch) {
        if (rec.kind === 'message') {
          messages++;
          let r = decodeBgp4mpMessage(rec);
          let ctx = messageContext(rec);
          if (!r.ok && r.error.code === ERR.UPDATE_MESSAGE) {
            const withAddPath = messageContext({ as4: rec.as4, addPath: true });
            const r2 = decodeMessage(rec.message, withAddPath);
            if (r2.ok && !(r2.message.type === 2 && r2.message.errors)) {
              addPathWithoutSubtype++;
              r = r2;
              ctx = withAddPath;
            }
          }
          if (!r.ok) {
            malformed++;
            resets.push(`${r.error.code}/${r.error.subcode}`);
            continue;
          }
          const m = r.message;
          if (m.type === 2 && m.errors && m.errors.length > 0) {
            malformed++;
            continue;
          }
          const again = encodeMessage(m, ctx);
          if (m.type === 2 && m.hostBits && m.hostBits.length > 0) {
            hostBitMessages++;
            assert.equal(
              again.length,
              rec.message.length,
              `host-bit message at offset ${rec.offset}`,
            );
            const r2 = decodeMessage(again, ctx);
            assert.ok(r2.ok && r2.message.type === 2);
            assert.equal(r2.message.hostBits, undefined);
            assert.deepEqual(r2.message.nlri, m.nlri);
            assert.deepEqual(r2.message.withdrawn, m.withdrawn);
            assert.deepEqual(r2.message.attributes, m.attributes);
            continue;
          }
          assert.deepEqual(
            Buffer.from(again),
            Buffer.from(rec.message),
            `message at offset ${rec.offset} does not re-encode to its bytes`,
          );
        } else if (rec.kind === 'rib' || rec.kind === 'table-dump') {
          const blocks =
            rec.kind === 'rib'
              ? rec.entries.map((e) => ({ bytes: e.attributes, as4: true }))
              : [{ bytes: rec.attributes, as4: rec.as4 }];
          for (const b of blocks) {
            ribEntries++;
            const d = decodeRibAttributes(b.bytes, b.as4);
            if (d.fatal || d.errors.length > 0) {
              malformed++;
              continue;
            }
            const abbreviated = d.attributes.some((a) => a.kind === 'mp-reach' && a.abbreviated);
            w.reset();
            encodeAttributes(
              w,
              d.attributes,
              makeContext({ as4: b.as4, extendedMessage: true, mpReachAbbreviated: abbreviated }),
            );
            assert.deepEqual(
              Buffer.from(w.view()),
              Buffer.from(b.bytes),
              `RIB attributes at offset ${rec.offset} do not re-encode to their bytes`,
            );
          }
        }
      }
    }
    t.diagnostic(
      `${messages} messages, ${ribEntries} RIB entries, ${hostBitMessages} with host bits, ` +
        `${malformed} malformed, ${addPathWithoutSubtype} ADD-PATH without the subtype`,
    );
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (name === 'openbgpd_rib_table-mp') {
      // Only BGP4MP_ENTRY records (subtype 2 of the pre-RFC 6396 draft, which RFC 6396
      // dropped); the reader keeps them opaque and bgpdump prints nothing for them either.
      assert.equal(messages + ribEntries, 0);
      return;
    }
    assert.ok(messages + ribEntries > 0, 'the file held no BGP content');
    if (name === 'updates.nlri_mask_trailing_bits.gz') {
      // Its one UPDATE's NLRI is 0d 0b 0d 0b: 11.13.0.0/13 (host bits set) followed by a
      // stray octet claiming an /11 with no address octets: a malformed NLRI field, which
      // RFC 7606 §5.3 answers with a session reset (3/10). (bgpdump prints the first prefix.)
      assert.deepEqual(resets, ['3/10']);
    } else if (name === 'openbgpd_rib_table') {
      // OpenBGPD's TABLE_DUMP writes 4-octet AGGREGATOR values into the 2-octet-AS record
      // format: RFC 7606 attribute-discard.
      assert.ok(malformed > 0);
    } else {
      assert.equal(malformed, 0, `${malformed} records of ${rel} did not decode cleanly`);
    }
    if (name === 'bird_bgp' || name === 'bird6_bgp') assert.ok(addPathWithoutSubtype > 0);
    else assert.equal(addPathWithoutSubtype, 0);
  });
}
