// Property tests: random valid messages round-trip through encode/decode, and random
// bytes only ever produce typed results.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../lib/bytes.js';
import { maskAddr, type Prefix } from '../lib/ip.js';
import { makeContext } from './context.js';
import { Framer } from './framer.js';
import { decodeMessage, encodeMessage } from './message.js';
import type { BgpMessage, Capability, CodecContext, Nlri, PathAttribute } from './types.js';
import { addPathKey } from './types.js';
import { frame } from './testing.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

const prefix = (afi: 1 | 2): fc.Arbitrary<Prefix> => {
  const width = afi === 1 ? 4 : 16;
  return fc
    .tuple(fc.integer({ min: 0, max: width * 8 }), bytes(width, width))
    .map(([len, addr]) => ({ afi, addr: maskAddr(addr, len), len }));
};

const nlriList = (afi: 1 | 2, addPath: boolean, max = 6): fc.Arbitrary<Nlri[]> =>
  fc.array(
    addPath
      ? fc.tuple(prefix(afi), u32).map(([p, id]): Nlri => ({ prefix: p, pathId: id }))
      : prefix(afi).map((p): Nlri => ({ prefix: p })),
    { maxLength: max },
  );

// Flags: the RFC's Optional/Transitive bits, maybe Partial (when optional transitive), maybe
// the Extended Length bit (kept on re-encode).
const flagsFor = (ot: number): fc.Arbitrary<number> =>
  fc
    .tuple(fc.boolean(), fc.boolean())
    .map(([ext, partial]) => ot | (ext ? 0x10 : 0) | (partial && ot === 0xc0 ? 0x20 : 0));

function attributes(ctx: CodecContext): fc.Arbitrary<PathAttribute[]> {
  const asn = ctx.as4 ? u32 : fc.integer({ min: 0, max: 0xffff });
  const w = ctx.as4 ? 4 : 2;
  const segments = (maxType: number, a: fc.Arbitrary<number>) =>
    fc.array(
      fc.record({
        type: fc.integer({ min: 1, max: maxType }),
        asns: fc.array(a, { minLength: 1, maxLength: 8 }),
      }),
      { maxLength: 4 },
    );
  const opt: fc.Arbitrary<PathAttribute>[] = [
    fc
      .record({ flags: flagsFor(0x80), med: u32 })
      .map((r) => ({ kind: 'med', code: 4, ...r }) as const),
    fc
      .record({ flags: flagsFor(0x40), localPref: u32 })
      .map((r) => ({ kind: 'local-pref', code: 5, ...r }) as const),
    flagsFor(0x40).map((flags) => ({ kind: 'atomic-aggregate', code: 6, flags }) as const),
    fc
      .record({ flags: flagsFor(0xc0), asn, address: bytes(4, 4) })
      .map((r) => ({ kind: 'aggregator', code: 7, asnWidth: w, ...r }) as const),
    fc
      .record({ flags: flagsFor(0xc0), communities: fc.array(u32, { minLength: 1, maxLength: 5 }) })
      .map((r) => ({ kind: 'communities', code: 8, ...r }) as const),
    fc
      .record({ flags: flagsFor(0x80), originatorId: bytes(4, 4) })
      .map((r) => ({ kind: 'originator-id', code: 9, ...r }) as const),
    fc
      .record({
        flags: flagsFor(0x80),
        clusterIds: fc.array(bytes(4, 4), { minLength: 1, maxLength: 4 }),
      })
      .map((r) => ({ kind: 'cluster-list', code: 10, ...r }) as const),
    fc.oneof(
      fc
        .constantFrom(1, 2)
        .chain((safi) =>
          fc.record({
            flags: flagsFor(0x80),
            safi: fc.constant(safi),
            nextHop: fc.oneof(bytes(16, 16), bytes(32, 32)),
            reserved: fc.integer({ min: 0, max: 255 }),
            nlri: nlriList(2, ctx.addPath.has(addPathKey(2, safi))),
          }),
        )
        .map((r) => ({ kind: 'mp-reach', code: 14, afi: 2, ...r }) as const),
      fc
        .record({
          flags: flagsFor(0x80),
          afi: fc.constantFrom(25, 16388),
          safi: fc.constantFrom(70, 71, 128, 133),
          nextHop: bytes(0, 24),
          reserved: fc.constant(0),
          opaque: bytes(0, 30),
        })
        .map((r) => ({ kind: 'mp-reach', code: 14, ...r }) as const),
    ),
    fc
      .constantFrom(1, 2)
      .chain((safi) =>
        fc.record({
          flags: flagsFor(0x80),
          safi: fc.constant(safi),
          withdrawn: nlriList(2, ctx.addPath.has(addPathKey(2, safi))),
        }),
      )
      .map((r) => ({ kind: 'mp-unreach', code: 15, afi: 2, ...r }) as const),
    fc
      .record({
        flags: flagsFor(0xc0),
        communities: fc.array(bytes(8, 8), { minLength: 1, maxLength: 4 }),
      })
      .map((r) => ({ kind: 'extended-communities', code: 16, ...r }) as const),
    fc
      .record({ flags: flagsFor(0xc0), segments: segments(2, u32) })
      .map((r) => ({ kind: 'as-path', code: 17, asnWidth: 4, ...r }) as const),
    fc
      .record({ flags: flagsFor(0xc0), asn: u32, address: bytes(4, 4) })
      .map((r) => ({ kind: 'aggregator', code: 18, asnWidth: 4, ...r }) as const),
    fc
      .record({
        flags: flagsFor(0xc0),
        communities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 3 }),
      })
      .map((r) => ({ kind: 'large-communities', code: 32, ...r }) as const),
    fc
      .record({
        code: fc.integer({ min: 33, max: 255 }),
        flags: fc.constantFrom(0x80, 0xc0, 0xe0, 0x90, 0xd0),
        data: bytes(0, 20),
      })
      .map((r) => ({ kind: 'unknown', ...r }) as const),
  ];
  const mandatory = fc.tuple(
    fc
      .record({ flags: flagsFor(0x40), origin: fc.integer({ min: 0, max: 2 }) })
      .map((r) => ({ kind: 'origin', code: 1, ...r }) as const),
    fc
      .record({ flags: flagsFor(0x40), segments: segments(4, asn) })
      .map((r) => ({ kind: 'as-path', code: 2, asnWidth: w, ...r }) as const),
    fc
      .record({ flags: flagsFor(0x40), nextHop: bytes(4, 4) })
      .map((r) => ({ kind: 'next-hop', code: 3, ...r }) as const),
  );
  return fc
    .tuple(mandatory, fc.subarray(opt.map((_, i) => i)), fc.array(fc.constant(0)))
    .chain(([m, picks]) =>
      fc
        .tuple(...picks.map((i) => opt[i]!))
        .chain((extra) =>
          fc.shuffledSubarray([...m, ...extra], { minLength: m.length + extra.length }),
        ),
    )
    .map((attrs) => {
      // One attribute per code (duplicates are discarded on decode).
      const seen = new Set<number>();
      return (attrs as PathAttribute[]).filter(
        (a) => !seen.has(a.code) && (seen.add(a.code), true),
      );
    });
}

const contexts = fc
  .record({ as4: fc.boolean(), ap4: fc.boolean(), ap6: fc.boolean() })
  .map(({ as4, ap4, ap6 }) =>
    makeContext({
      as4,
      extendedMessage: true,
      addPath: [...(ap4 ? [addPathKey(1, 1)] : []), ...(ap6 ? [addPathKey(2, 1)] : [])],
    }),
  );

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc
    .record({
      afi: fc.integer({ min: 0, max: 0xffff }),
      reserved: fc.integer({ min: 0, max: 255 }),
      safi: fc.integer({ min: 0, max: 255 }),
    })
    .map((r) => ({ kind: 'multiprotocol', code: 1, ...r }) as const),
  fc
    .constantFrom(2, 128)
    .map((code) => ({ kind: 'route-refresh', code: code as 2 | 128 }) as const),
  fc.constant({ kind: 'extended-message', code: 6 } as const),
  fc.constant({ kind: 'enhanced-route-refresh', code: 70 } as const),
  u32.map((asn) => ({ kind: 'four-octet-as', code: 65, asn }) as const),
  fc
    .record({
      flags: fc.integer({ min: 0, max: 15 }),
      restartTime: fc.integer({ min: 0, max: 4095 }),
      families: fc.array(
        fc.record({
          afi: fc.integer({ min: 0, max: 0xffff }),
          safi: fc.integer({ min: 0, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
        }),
        { maxLength: 3 },
      ),
    })
    .map((r) => ({ kind: 'graceful-restart', code: 64, ...r }) as const),
  fc
    .array(
      fc.record({
        afi: fc.integer({ min: 0, max: 0xffff }),
        safi: fc.integer({ min: 0, max: 255 }),
        sendReceive: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((families) => ({ kind: 'add-path', code: 69, families }) as const),
  fc
    .record({ code: fc.constantFrom(5, 9, 73, 75, 200), data: bytes(0, 12) })
    .map((r) => ({ kind: 'unknown', ...r }) as const),
);

const message = (ctx: CodecContext): fc.Arbitrary<BgpMessage> =>
  fc.oneof(
    fc
      .record({
        withdrawn: nlriList(1, ctx.addPath.has(addPathKey(1, 1))),
        attributes: attributes(ctx),
        nlri: nlriList(1, ctx.addPath.has(addPathKey(1, 1))),
      })
      .map((r) => ({ type: 2, ...r }) as const),
    fc
      .record({
        myAs: fc.integer({ min: 0, max: 0xffff }),
        holdTime: fc.integer({ min: 0, max: 0xffff }),
        bgpId: bytes(4, 4),
        params: fc.array(
          fc.oneof(
            fc
              .array(capability, { maxLength: 4 })
              .map((capabilities) => ({ type: 2, capabilities }) as const),
            fc.record({ type: fc.constantFrom(1, 3, 200), data: bytes(0, 8) }),
          ),
          { maxLength: 3 },
        ),
        extendedParams: fc.boolean(),
      })
      .map((r) => ({ type: 1, version: 4, ...r }) as const),
    fc
      .record({
        code: fc.integer({ min: 0, max: 255 }),
        subcode: fc.integer({ min: 0, max: 255 }),
        data: bytes(0, 40),
      })
      .map((r) => ({ type: 3, ...r }) as const),
    fc.constant({ type: 4 } as const),
    fc
      .record({
        afi: fc.integer({ min: 0, max: 0xffff }),
        subtype: fc.integer({ min: 0, max: 255 }),
        safi: fc.integer({ min: 0, max: 255 }),
      })
      .map((r) => ({ type: 5, ...r }) as const),
  );

test('decode(encode(m)) == m and encode(decode(b)) == b for random valid messages', () => {
  fc.assert(
    fc.property(
      contexts.chain((ctx) => fc.tuple(fc.constant(ctx), message(ctx))),
      ([ctx, m]) => {
        const b = encodeMessage(m, ctx);
        const r = decodeMessage(b, ctx);
        assert.ok(r.ok, r.ok ? '' : r.error.reason);
        assert.deepStrictEqual(r.message, m);
        assert.equal(toHex(encodeMessage(r.message, ctx)), toHex(b));
      },
    ),
    { numRuns: 400 },
  );
});

test('random bytes never throw; clean decodes re-encode identically', () => {
  const ctxs = [makeContext(), makeContext({ as4: true, addPath: [addPathKey(1, 1)] })];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      bytes(0, 80),
      fc.integer({ min: 0, max: 1 }),
      (type, body, ci) => {
        const ctx = ctxs[ci]!;
        const msg = frame(type, body);
        const r = decodeMessage(msg, ctx);
        if (r.ok && r.message.type === 2 && !r.message.errors && !r.message.hostBits) {
          assert.equal(toHex(encodeMessage(r.message, ctx)), toHex(msg));
        }
        if (!r.ok) assert.equal(typeof r.error.code, 'number');
      },
    ),
    { numRuns: 3000 },
  );
});

test('random attribute-shaped UPDATEs never throw', () => {
  // Bias towards plausible structure: correct outer lengths, random attribute octets.
  fc.assert(
    fc.property(bytes(0, 60), bytes(0, 10), fc.boolean(), (attrs, nlri, as4) => {
      const body = new Uint8Array(4 + attrs.length + nlri.length);
      body[2] = attrs.length >> 8;
      body[3] = attrs.length & 0xff;
      body.set(attrs, 4);
      body.set(nlri, 4 + attrs.length);
      const r = decodeMessage(frame(2, body), makeContext({ as4 }));
      assert.ok(r.ok || typeof r.error.reason === 'string');
    }),
    { numRuns: 3000 },
  );
});

test('the framer never throws on random streams', () => {
  fc.assert(
    fc.property(fc.array(bytes(0, 40), { maxLength: 8 }), (chunks) => {
      const f = new Framer();
      for (const c of chunks) {
        f.push(c);
        for (let m = f.next(); m instanceof Uint8Array; m = f.next());
      }
    }),
  );
});
