// Helpers for the policy engine's own tests: routes and attributes by hand, compiling
// definitions that must be valid, and a wire round-trip check.

import assert from 'node:assert/strict';
import { Writer } from '../lib/bytes.js';
import { parseAddr, parsePrefix } from '../lib/ip.js';
import {
  ATTR_FLAG,
  decodeAttributes,
  encodeAttributes,
  makeContext,
  type AsPathSegment,
  type PathAttribute,
} from '../wire/index.js';
import { compilePolicy, compilePolicyConfig, type CompiledPolicy } from './policy.js';
import type { PolicyPeer, PolicyRoute } from './types.js';

export const SEQ = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
export const SET = (...asns: number[]): AsPathSegment => ({ type: 1, asns });

export const origin = (o = 0): PathAttribute => ({
  kind: 'origin',
  code: 1,
  flags: 0x40,
  origin: o,
});
export const asPath = (segments: AsPathSegment[], asnWidth: 2 | 4 = 4): PathAttribute => ({
  kind: 'as-path',
  code: 2,
  flags: 0x40,
  segments,
  asnWidth,
});
export const as4Path = (segments: AsPathSegment[]): PathAttribute => ({
  kind: 'as-path',
  code: 17,
  flags: 0xc0,
  segments,
  asnWidth: 4,
});
export const nextHop = (a: string): PathAttribute => ({
  kind: 'next-hop',
  code: 3,
  flags: 0x40,
  nextHop: addr(a),
});
export const med = (v: number): PathAttribute => ({ kind: 'med', code: 4, flags: 0x80, med: v });
export const communities = (...cs: number[]): PathAttribute => ({
  kind: 'communities',
  code: 8,
  flags: 0xc0,
  communities: cs,
});
export const largeCommunities = (...cs: [number, number, number][]): PathAttribute => ({
  kind: 'large-communities',
  code: 32,
  flags: 0xc0,
  communities: cs,
});
export const extCommunities = (...cs: Uint8Array[]): PathAttribute => ({
  kind: 'extended-communities',
  code: 16,
  flags: 0xc0,
  communities: cs,
});

export function addr(s: string): Uint8Array {
  const a = parseAddr(s);
  if (!a) throw new Error(`bad address ${s}`);
  return a;
}

/** A plain eBGP IPv4 route from AS 65001 with ORIGIN, AS_PATH [65001], NEXT_HOP. */
export function route(
  prefix: string,
  attributes: readonly PathAttribute[] = [origin(), asPath([SEQ(65001)]), nextHop('198.18.0.1')],
  peer: Partial<PolicyPeer> = {},
): PolicyRoute {
  const p = parsePrefix(prefix);
  if (!p) throw new Error(`bad prefix ${prefix}`);
  return {
    prefix: p,
    attributes,
    peer: { asn: 65001, address: addr('198.18.0.1'), ibgp: false, ...peer },
  };
}

/** Compile a definition that must be valid. */
export function compile(def: unknown, name = 'test'): CompiledPolicy {
  const r = compilePolicy(def, name);
  if (!r.ok) assert.fail(r.error.map((e) => e.message).join('\n'));
  return r.value;
}

/** Compile a whole section that must be valid, and return one of its policies. */
export function compileFrom(def: unknown, name: string): CompiledPolicy {
  const r = compilePolicyConfig(def);
  if (!r.ok) assert.fail(r.error.map((e) => e.message).join('\n'));
  const p = r.value.policies.get(name);
  assert.ok(p);
  return p;
}

/**
 * Encode then decode `attrs` and check nothing changed (and no errors): they are valid.
 * The Extended Length flag is left out of the comparison: the encoder sets it on values
 * over 255 octets, and decoding reports the flags as sent.
 */
export function assertWireRoundTrip(attrs: readonly PathAttribute[], as4 = true): void {
  const ctx = makeContext({ as4 });
  const w = new Writer();
  encodeAttributes(w, attrs, ctx);
  const buf = w.finish();
  const d = decodeAttributes(buf, 0, buf.length, ctx);
  assert.deepEqual(d.errors, []);
  const noExt = (as: readonly PathAttribute[]) =>
    as.map((a) => ({ ...a, flags: a.flags & ~ATTR_FLAG.EXTENDED_LENGTH }));
  assert.deepEqual(noExt(d.attributes), noExt(attrs));
}
