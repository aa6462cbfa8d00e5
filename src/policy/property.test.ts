// Property tests: evaluation never mutates its input, accept-all is the identity, and any
// sequence of actions yields attributes that are valid on the wire and in canonical order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskAddr, type Prefix } from '../lib/ip.js';
import type { PathAttribute } from '../wire/index.js';
import { evaluatePolicy } from './policy.js';
import { assertWireRoundTrip, compile } from './testing.js';
import type { ActionDef, PolicyRoute } from './types.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
// AS 0 is reserved (RFC 7607) and refused by the policy compiler: never generate it.
const asn = fc.oneof(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffffffff }));

const prefix: fc.Arbitrary<Prefix> = fc
  .tuple(fc.integer({ min: 0, max: 32 }), fc.uint8Array({ minLength: 4, maxLength: 4 }))
  .map(([len, a]) => ({ afi: 1, addr: maskAddr(a, len), len }));

/** Canonically ordered attributes of a route on a 4-octet session. */
const attributes: fc.Arbitrary<PathAttribute[]> = fc
  .record(
    {
      origin: fc.integer({ min: 0, max: 2 }),
      segments: fc.array(
        fc.record({
          type: fc.constantFrom(1, 2),
          asns: fc.array(asn, { minLength: 1, maxLength: 6 }),
        }),
        { maxLength: 3 },
      ),
      nextHop: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      med: fc.option(u32),
      localPref: fc.option(u32),
      communities: fc.array(u32, { minLength: 1, maxLength: 5 }),
      large: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['origin', 'segments', 'nextHop'] },
  )
  .map((r) => {
    const out: PathAttribute[] = [
      { kind: 'origin', code: 1, flags: 0x40, origin: r.origin },
      { kind: 'as-path', code: 2, flags: 0x40, segments: r.segments, asnWidth: 4 },
      { kind: 'next-hop', code: 3, flags: 0x40, nextHop: r.nextHop },
    ];
    if (r.med != null) out.push({ kind: 'med', code: 4, flags: 0x80, med: r.med });
    if (r.localPref != null)
      out.push({ kind: 'local-pref', code: 5, flags: 0x40, localPref: r.localPref });
    if (r.communities)
      out.push({ kind: 'communities', code: 8, flags: 0xc0, communities: r.communities });
    if (r.large)
      out.push({ kind: 'large-communities', code: 32, flags: 0xc0, communities: r.large });
    return out;
  });

const routeArb: fc.Arbitrary<PolicyRoute> = fc
  .tuple(prefix, attributes, asn, fc.boolean())
  .map(([p, attrs, peerAsn, ibgp]) => ({
    prefix: p,
    attributes: attrs,
    peer: { asn: peerAsn, address: Uint8Array.of(198, 18, 0, 1), ibgp },
  }));

const community = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
  .map(([a, b]) => `${a}:${b}`);
const large = fc.tuple(u32, u32, u32).map(([a, b, c]) => `${a}:${b}:${c}`);

const action: fc.Arbitrary<ActionDef> = fc.oneof(
  u32.map((v) => ({ 'set-local-pref': v })),
  fc
    .oneof(
      u32,
      u32.map((v) => `+${v}`),
      u32.map((v) => `-${v}`),
    )
    .map((v) => ({ 'set-med': v })),
  fc.constantFrom('igp', 'egp', 'incomplete').map((o) => ({ 'set-origin': o }) as ActionDef),
  fc.constantFrom('self', '198.18.3.4').map((n) => ({ 'set-next-hop': n })),
  fc.integer({ min: 1, max: 255 }).map((n) => ({ prepend: n })),
  fc
    .tuple(asn, fc.integer({ min: 1, max: 40 }))
    .map(([a, count]) => ({ prepend: { asn: a, count } })),
  fc.array(community, { maxLength: 3 }).map((c) => ({ 'add-community': c })),
  fc
    .array(fc.oneof(community, fc.constant('*:*'), fc.constant('0:*')), { maxLength: 3 })
    .map((c) => ({
      'remove-community': c,
    })),
  fc.array(community, { maxLength: 3 }).map((c) => ({ 'set-community': c })),
  fc.array(large, { maxLength: 3 }).map((c) => ({ 'add-large-community': c })),
  fc
    .array(fc.oneof(large, fc.constant('*:*:*')), { maxLength: 2 })
    .map((c) => ({ 'remove-large-community': c })),
  fc
    .constantFrom(['rt:65001:1'], ['soo:198.18.0.1:7'], ['rt:4200000000:3'])
    .map((c) => ({ 'add-ext-community': c })),
);

const ctx = { localAsn: 4200000000 };

test('evaluating never mutates the route', () => {
  fc.assert(
    fc.property(routeArb, fc.array(action, { maxLength: 6 }), fc.boolean(), (r, actions, acc) => {
      const before = structuredClone(r);
      const p = compile({ terms: [{ then: actions, final: acc ? 'accept' : 'reject' }] });
      evaluatePolicy(p, r, ctx);
      assert.deepEqual(r, before);
    }),
  );
});

test('accept-all returns the input attributes', () => {
  const policies = [compile({ default: 'accept' }), compile({ terms: [{ then: ['accept'] }] })];
  fc.assert(
    fc.property(routeArb, (r) => {
      for (const p of policies) {
        const res = evaluatePolicy(p, r, ctx);
        assert.equal(res.action, 'accept');
        assert.deepEqual(res.attributes, r.attributes);
      }
    }),
  );
});

test('any sequence of actions gives valid, canonically ordered attributes', () => {
  fc.assert(
    fc.property(routeArb, fc.array(action, { minLength: 1, maxLength: 8 }), (r, actions) => {
      const res = evaluatePolicy(compile({ terms: [{ then: [...actions, 'accept'] }] }), r, ctx);
      const codes = res.attributes.map((a) => a.code);
      assert.deepEqual(
        codes,
        [...codes].sort((a, b) => a - b),
      );
      assertWireRoundTrip(res.attributes);
    }),
    { numRuns: 300 },
  );
});
