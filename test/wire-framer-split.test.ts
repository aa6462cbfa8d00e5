// Framer split property: the ExaBGP vectors (decoding and encoding, all as whole messages)
// concatenated into one stream must come out as the same message sequence however the
// stream is cut into chunks — at every single offset, at every offset one octet at a
// time, and at random sets of offsets (fast-check).

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { bytesEqual, toHex } from '../src/lib/bytes.js';
import { Framer } from '../src/wire/framer.js';
import { frame } from './support/codec.js';
import { dataPath, requireData } from './support/data.js';
import { messageOf, readCiFile, readDecodingVectors } from './support/exabgp.js';

const DEC = 'exabgp/qa/decoding';
const ENC = 'exabgp/qa/encoding';
// 22 decoding vectors + 166 encoding raw messages (see the two ExaBGP suites).
const EXPECTED_MESSAGES = 22 + 166;

function fixtures(): Uint8Array[] {
  const out = readDecodingVectors(dataPath(DEC)).map(messageOf);
  for (const f of readdirSync(dataPath(ENC))
    .filter((n) => n.endsWith('.ci'))
    .sort()) {
    for (const v of readCiFile(join(dataPath(ENC), f)).vectors) out.push(v.raw);
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function cut(stream: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets)]
    .filter((x) => x > 0 && x < stream.length)
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    chunks.push(stream.subarray(prev, c));
    prev = c;
  }
  chunks.push(stream.subarray(prev));
  return chunks;
}

function sameSequence(got: readonly Uint8Array[], want: readonly Uint8Array[]): string | undefined {
  if (got.length !== want.length) return `${got.length} messages instead of ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (!bytesEqual(got[i]!, want[i]!))
      return `message ${i}: ${toHex(got[i]!)} instead of ${toHex(want[i]!)}`;
  }
  return undefined;
}

describe('framer split property over the ExaBGP vectors', () => {
  const present = existsSync(dataPath(DEC)) && existsSync(dataPath(ENC));
  const msgs = present ? fixtures() : [];
  const stream = concat(msgs);

  test('fixture count', (t) => {
    if (!requireData(t, DEC) || !requireData(t, ENC)) return;
    assert.equal(msgs.length, EXPECTED_MESSAGES);
  });

  test('whole stream in one push', (t) => {
    if (!requireData(t, DEC) || !requireData(t, ENC)) return;
    const r = frame([stream]);
    assert.equal(r.error, undefined);
    assert.equal(r.leftover, 0);
    assert.equal(sameSequence(r.messages, msgs), undefined);
  });

  test('split in two at every offset', { timeout: 60_000 }, (t) => {
    if (!requireData(t, DEC) || !requireData(t, ENC)) return;
    for (let i = 1; i < stream.length; i++) {
      const r = frame([stream.subarray(0, i), stream.subarray(i)]);
      assert.equal(r.error, undefined, `split at ${i}: framer error`);
      assert.equal(r.leftover, 0, `split at ${i}: octets left over`);
      const diff = sameSequence(r.messages, msgs);
      assert.equal(diff, undefined, `split at ${i}: ${diff}`);
    }
  });

  test('one octet per push', (t) => {
    if (!requireData(t, DEC) || !requireData(t, ENC)) return;
    const r = frame(Array.from(stream, (x) => Uint8Array.of(x)));
    assert.equal(r.error, undefined);
    assert.equal(sameSequence(r.messages, msgs), undefined);
  });

  test('random multi-way splits (fast-check)', { timeout: 60_000 }, (t) => {
    if (!requireData(t, DEC) || !requireData(t, ENC)) return;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 64 }),
        (offsets) => {
          const r = frame(cut(stream, offsets));
          return (
            r.error === undefined &&
            r.leftover === 0 &&
            sameSequence(r.messages, msgs) === undefined
          );
        },
      ),
      { numRuns: 300, seed: 20240601 },
    );
  });

  test('views handed out stay valid while the framer keeps receiving', (t) => {
    if (!requireData(t, DEC) || !requireData(t, ENC)) return;
    // frame() copies; here we keep the framer's own views and check them at the end.
    const chunks = cut(
      stream,
      Array.from({ length: 97 }, (_, i) => Math.floor(((i + 1) * stream.length) / 98)),
    );
    const views: Uint8Array[] = [];
    const f = new Framer({ initialCapacity: 64 });
    for (const c of chunks) {
      f.push(c);
      for (let r = f.next(); r !== undefined; r = f.next()) {
        assert.ok(r instanceof Uint8Array, 'framer error');
        views.push(r);
      }
    }
    assert.equal(sameSequence(views, msgs), undefined);
  });
});
