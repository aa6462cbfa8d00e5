import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAttribute, type PathAttribute } from '../wire/index.js';
import {
  extCommunityMatches,
  extCommunityValue,
  parseCommunity,
  parseExtCommunity,
  parseLargeCommunity,
} from './communities.js';
import { evaluatePolicy } from './policy.js';
import {
  assertWireRoundTrip,
  asPath,
  communities,
  compile,
  extCommunities,
  largeCommunities,
  nextHop,
  origin,
  route,
  SEQ,
} from './testing.js';
import type { MatchDef } from './types.js';

const C = (hi: number, lo: number): number => ((hi << 16) | lo) >>> 0;
const base = [origin(), asPath([SEQ(65001)]), nextHop('198.18.0.1')];
const ctx = { localAsn: 64512 };

function matches(match: MatchDef, attrs: PathAttribute[]): boolean {
  const p = compile({ terms: [{ match, final: 'accept' }], default: 'reject' });
  return evaluatePolicy(p, route('198.18.0.0/24', attrs), ctx).action === 'accept';
}

test('standard community patterns: values, wildcards, well-known names', () => {
  assert.deepEqual(parseCommunity('65001:100', false), { hi: 65001, lo: 100, text: '65001:100' });
  assert.deepEqual(parseCommunity('65001:*', true), { hi: 65001, lo: null, text: '65001:*' });
  assert.equal(parseCommunity('65001:*', false), undefined);
  assert.equal(parseCommunity('65536:1', true), undefined);
  assert.equal(parseCommunity('1:2:3', true), undefined);
  const ne = parseCommunity('no-export', false)!;
  assert.equal(C(ne.hi!, ne.lo!), 0xffffff01);
  const bh = parseCommunity('BLACKHOLE', false)!;
  assert.equal(C(bh.hi!, bh.lo!), 0xffff029a);
  assert.equal(parseCommunity('no-export-subconfed', false)!.lo, 0xff03);
  assert.equal(parseCommunity('no-advertise', false)!.lo, 0xff02);
});

test('community match: any (list), all, none, wildcards', () => {
  const attrs = [...base, communities(C(65001, 100), C(65002, 7), 0xffffff01)];
  assert.equal(matches({ community: ['65001:100'] }, attrs), true);
  assert.equal(matches({ community: ['65001:101'] }, attrs), false);
  assert.equal(matches({ community: ['65001:101', '65002:*'] }, attrs), true);
  assert.equal(matches({ community: ['*:7'] }, attrs), true);
  assert.equal(matches({ community: ['no-export'] }, attrs), true);
  assert.equal(matches({ community: ['no-advertise'] }, attrs), false);
  assert.equal(matches({ community: { all: ['65001:100', '65002:7'] } }, attrs), true);
  assert.equal(matches({ community: { all: ['65001:100', '65002:8'] } }, attrs), false);
  assert.equal(matches({ community: { none: ['65003:*'] } }, attrs), true);
  assert.equal(matches({ community: { none: ['65002:*'] } }, attrs), false);
  // No COMMUNITIES attribute: any fails, none holds.
  assert.equal(matches({ community: ['*:*'] }, base), false);
  assert.equal(matches({ community: { none: ['*:*'] } }, base), true);
});

test('large community match with wildcards', () => {
  const attrs = [...base, largeCommunities([65001, 1, 2], [4200000000, 0, 4294967295])];
  assert.equal(matches({ 'large-community': ['65001:1:2'] }, attrs), true);
  assert.equal(matches({ 'large-community': ['65001:1:3'] }, attrs), false);
  assert.equal(matches({ 'large-community': ['65001:*:*'] }, attrs), true);
  assert.equal(matches({ 'large-community': ['*:0:4294967295'] }, attrs), true);
  assert.equal(matches({ 'large-community': ['4200000000:1:*'] }, attrs), false);
  assert.equal(parseLargeCommunity('1:2', true), undefined);
  assert.equal(parseLargeCommunity('4294967296:1:1', true), undefined);
});

test('extended communities: rt/soo encodings and matching', () => {
  const rt = extCommunityValue(parseExtCommunity('rt:65001:100', false)!);
  assert.deepEqual([...rt], [0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 100]);
  const rt4 = extCommunityValue(parseExtCommunity('rt:4200000000:7', false)!);
  assert.deepEqual([...rt4], [0x02, 0x02, 0xfa, 0x56, 0xea, 0x00, 0, 7]);
  const soo = extCommunityValue(parseExtCommunity('soo:198.18.0.1:7', false)!);
  assert.deepEqual([...soo], [0x01, 0x03, 198, 18, 0, 1, 0, 7]);
  assert.equal(parseExtCommunity('rt:4200000000:70000', false), undefined);
  assert.equal(parseExtCommunity('xx:1:1', false), undefined);
  // A small ASN matches its 4-octet-AS encoding too.
  const as4small = Uint8Array.of(0x02, 0x02, 0, 0, 0xfd, 0xe9, 0, 100);
  assert.equal(extCommunityMatches(parseExtCommunity('rt:65001:100', false)!, as4small), true);
  assert.equal(extCommunityMatches(parseExtCommunity('soo:65001:100', false)!, rt), false);
  assert.equal(extCommunityMatches(parseExtCommunity('rt:*:100', true)!, soo), false);
  assert.equal(extCommunityMatches(parseExtCommunity('soo:*:7', true)!, soo), true);
  const attrs = [...base, extCommunities(rt, soo)];
  assert.equal(matches({ 'ext-community': ['rt:65001:*'] }, attrs), true);
  assert.equal(matches({ 'ext-community': ['rt:65002:*'] }, attrs), false);
});

function run(then: unknown[], attrs: PathAttribute[]): readonly PathAttribute[] {
  const p = compile({ terms: [{ then: [...then, 'accept'] }] });
  const r = evaluatePolicy(p, route('198.18.0.0/24', attrs), ctx);
  assert.equal(r.action, 'accept');
  assertWireRoundTrip(r.attributes);
  return r.attributes;
}

const std = (attrs: readonly PathAttribute[]) => findAttribute(attrs, 'communities')?.communities;
const large = (attrs: readonly PathAttribute[]) =>
  findAttribute(attrs, 'large-communities')?.communities;
const ext = (attrs: readonly PathAttribute[]) =>
  findAttribute(attrs, 'extended-communities')?.communities.map((b) => [...b]);

test('add-community creates the attribute in canonical place with default flags', () => {
  const out = run([{ 'add-community': ['65001:100', 'no-export', '65001:100'] }], base);
  assert.deepEqual(
    out.map((a) => a.code),
    [1, 2, 3, 8],
  );
  const c = findAttribute(out, 'communities')!;
  assert.equal(c.flags, 0xc0);
  assert.deepEqual(c.communities, [C(65001, 100), 0xffffff01]);
  // Existing values keep their order; present ones are not duplicated.
  const out2 = run(
    [{ 'add-community': ['65001:100', '65001:200'] }],
    [...base, communities(C(1, 1), C(65001, 100))],
  );
  assert.deepEqual(std(out2), [C(1, 1), C(65001, 100), C(65001, 200)]);
});

test('remove-community by value and by wildcard; removing the last drops the attribute', () => {
  const attrs = [...base, communities(C(65001, 1), C(65001, 2), C(65002, 1), 0xffffff01)];
  assert.deepEqual(std(run([{ 'remove-community': ['65001:*'] }], attrs)), [
    C(65002, 1),
    0xffffff01,
  ]);
  assert.deepEqual(std(run([{ 'remove-community': ['no-export', '*:1'] }], attrs)), [C(65001, 2)]);
  const none = run([{ 'remove-community': ['*:*'] }], attrs);
  assert.equal(std(none), undefined);
  assert.deepEqual(
    none.map((a) => a.code),
    [1, 2, 3],
  );
});

test('set-community replaces the list; an empty list removes it', () => {
  const attrs = [...base, communities(C(65001, 1))];
  assert.deepEqual(std(run([{ 'set-community': ['65009:9', 'blackhole'] }], attrs)), [
    C(65009, 9),
    0xffff029a,
  ]);
  assert.equal(std(run([{ 'set-community': [] }], attrs)), undefined);
});

test('large communities: add, remove by wildcard, set', () => {
  const attrs = [...base, largeCommunities([65001, 1, 1], [65001, 2, 1], [65002, 1, 1])];
  assert.deepEqual(large(run([{ 'add-large-community': ['65001:1:1', '65003:0:0'] }], attrs)), [
    [65001, 1, 1],
    [65001, 2, 1],
    [65002, 1, 1],
    [65003, 0, 0],
  ]);
  assert.deepEqual(large(run([{ 'remove-large-community': ['65001:*:*'] }], attrs)), [
    [65002, 1, 1],
  ]);
  assert.deepEqual(large(run([{ 'remove-large-community': ['*:*:1'] }], attrs)), undefined);
  assert.deepEqual(large(run([{ 'set-large-community': ['1:2:3'] }], base)), [[1, 2, 3]]);
  const created = run([{ 'add-large-community': ['1:2:3'] }], base);
  assert.deepEqual(
    created.map((a) => a.code),
    [1, 2, 3, 32],
  );
  assert.equal(created[3]!.flags, 0xc0);
});

test('extended communities: add, remove, set', () => {
  const out = run(
    [{ 'add-ext-community': ['rt:65001:100', 'soo:198.18.0.1:7'] }],
    [...base, communities(1)],
  );
  assert.deepEqual(
    out.map((a) => a.code),
    [1, 2, 3, 8, 16],
  );
  assert.deepEqual(ext(out), [
    [0, 2, 0xfd, 0xe9, 0, 0, 0, 100],
    [1, 3, 198, 18, 0, 1, 0, 7],
  ]);
  assert.deepEqual(ext(run([{ 'remove-ext-community': ['rt:*:*'] }], [...out])), [
    [1, 3, 198, 18, 0, 1, 0, 7],
  ]);
  assert.deepEqual(ext(run([{ 'set-ext-community': ['rt:1:1'] }], [...out])), [
    [0, 2, 0, 1, 0, 0, 0, 1],
  ]);
});
