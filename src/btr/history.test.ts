// The hypervisor's history (BTR paper §4.1 "Bootstrapping new connections"): the last
// announcement per (family, prefix, path id), and its replay as packed UPDATEs. The
// property: for random announce/withdraw streams (IPv4 in the body and in MP_REACH_NLRI,
// IPv6, ADD-PATH path ids, RFC 7606 treat-as-withdraw, End-of-RIB), replaying the history
// into a fresh table gives the table the live stream built — compared both in canonical
// form (what a replica learns) and as the neighbour's own attribute octets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrefix } from '../lib/ip.js';
import { AS4_CONTEXT, decodeMessage, makeContext, type UpdateMessage } from '../wire/index.js';
import { routeKey } from './canonical-key.js';
import { HistoryReplay, UpdateHistory, attributeBlock } from './history.js';
import { RouteTable, arbitraryUpdate, streamContext, wireUpdate } from './testing.js';
import { endOfRib, familyOfKey } from './update-writer.js';
import type { VoteKey } from './voter.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every message of a replay, chunk by chunk. */
function replayAll(h: UpdateHistory, ctx = AS4_CONTEXT, chunk?: number): Uint8Array[] {
  const r = new HistoryReplay(h.snapshot(), ctx, chunk);
  const out: Uint8Array[] = [];
  while (!r.done) out.push(...r.next());
  return out;
}

/** Per route: how it travels (body/MP, next hop) and the attribute octets without MP_*. */
function formsOf(msgs: readonly Uint8Array[], ctx = AS4_CONTEXT): Map<VoteKey, string> {
  const m = new Map<VoteKey, string>();
  for (const raw of msgs) {
    const d = decodeMessage(raw, ctx);
    assert.ok(d.ok && d.message.type === 2);
    const u = d.message;
    const block = hex(attributeBlock(raw));
    for (const n of u.withdrawn) m.delete(routeKey(1, 1, n.prefix, n.pathId));
    for (const a of u.attributes) {
      if (a.kind === 'mp-unreach')
        for (const n of a.withdrawn ?? []) m.delete(routeKey(a.afi, a.safi, n.prefix, n.pathId));
    }
    for (const a of u.attributes) {
      if (a.kind !== 'mp-reach') continue;
      for (const n of a.nlri ?? []) {
        const k = routeKey(a.afi, a.safi, n.prefix, n.pathId);
        if (u.treatAsWithdraw) m.delete(k);
        else m.set(k, `mp ${a.afi}/${a.safi} ${hex(a.nextHop)} ${block}`);
      }
    }
    for (const n of u.nlri) {
      const k = routeKey(1, 1, n.prefix, n.pathId);
      if (u.treatAsWithdraw) m.delete(k);
      else m.set(k, `body ${block}`);
    }
  }
  return m;
}

const sortedEntries = (m: Map<VoteKey, string>): [string, string][] =>
  [...m].map(([k, v]): [string, string] => [String(k), v]).sort((a, b) => (a[0] < b[0] ? -1 : 1));

test('history: announce, replace, withdraw; prefixes of one UPDATE share one entry', () => {
  const h = new UpdateHistory();
  const ctx = AS4_CONTEXT;
  const p = (s: string) => ({ prefix: parsePrefix(s)! });
  const f = { origin: 0x40, asPath: 0x40, nh: 0x40 };
  const attrs = (asn: number): UpdateMessage['attributes'] => [
    { kind: 'origin', code: 1, flags: f.origin, origin: 0 },
    {
      kind: 'as-path',
      code: 2,
      flags: f.asPath,
      asnWidth: 4,
      segments: [{ type: 2, asns: [asn] }],
    },
    { kind: 'next-hop', code: 3, flags: f.nh, nextHop: Uint8Array.of(198, 18, 0, 2) },
  ];
  const a = wireUpdate(
    {
      type: 2,
      withdrawn: [],
      attributes: attrs(65002),
      nlri: [p('198.18.1.0/24'), p('198.18.2.0/24')],
    },
    ctx,
  );
  h.apply(a.raw, a.u);
  assert.equal(h.size, 2);
  assert.equal(h.stats().attributeSets, 1, 'both prefixes share one attribute entry');
  const b = wireUpdate(
    { type: 2, withdrawn: [], attributes: attrs(65009), nlri: [p('198.18.1.0/24')] },
    ctx,
  );
  h.apply(b.raw, b.u);
  assert.equal(h.size, 2);
  assert.equal(h.stats().attributeSets, 2);
  const c = wireUpdate({ type: 2, withdrawn: [p('198.18.2.0/24')], attributes: [], nlri: [] }, ctx);
  h.apply(c.raw, c.u);
  assert.equal(h.size, 1);
  assert.equal(h.stats().attributeSets, 1, 'an entry no route holds is dropped');
  assert.equal(
    hex(h.get(routeKey(1, 1, parsePrefix('198.18.1.0/24')!))!.attrs),
    hex(attributeBlock(b.raw)),
  );
  assert.equal(h.endOfRibSeen(familyOfKey(routeKey(1, 1, parsePrefix('198.18.1.0/24')!))), false);
  const eor = decodeMessage(endOfRib(0x0101), ctx);
  assert.ok(eor.ok && eor.message.type === 2);
  h.apply(endOfRib(0x0101), eor.message);
  assert.equal(h.endOfRibSeen(0x0101), true);
  assert.deepEqual(h.snapshot().endOfRib, [0x0101]);
  h.clear();
  assert.equal(h.size, 0);
});

test('attributeBlock leaves out MP_REACH_NLRI and MP_UNREACH_NLRI wherever they are', () => {
  const ctx = AS4_CONTEXT;
  const f = 0x40;
  const u: UpdateMessage = {
    type: 2,
    withdrawn: [],
    attributes: [
      { kind: 'origin', code: 1, flags: f, origin: 0 },
      {
        kind: 'mp-unreach',
        code: 15,
        flags: 0x80,
        afi: 2,
        safi: 1,
        withdrawn: [{ prefix: parsePrefix('2001:db8:9::/48')! }],
      },
      { kind: 'as-path', code: 2, flags: f, asnWidth: 4, segments: [] },
      {
        kind: 'mp-reach',
        code: 14,
        flags: 0x80,
        afi: 2,
        safi: 1,
        nextHop: parsePrefix('2001:db8::1/128')!.addr,
        reserved: 0,
        nlri: [{ prefix: parsePrefix('2001:db8:1::/48')! }],
      },
      { kind: 'med', code: 4, flags: 0x80, med: 5 },
    ],
    nlri: [],
  };
  const { raw } = wireUpdate(u, ctx);
  const only = wireUpdate(
    { ...u, attributes: u.attributes.filter((a) => a.code !== 14 && a.code !== 15) },
    ctx,
  );
  const expected = only.raw.subarray(23); // header 19 + withdrawn length 2 + attribute length 2
  assert.equal(hex(attributeBlock(raw)), hex(expected));
});

for (const addPath of [false, true]) {
  test(`property: replaying the history into a fresh table gives the live table (ADD-PATH ${addPath ? 'on' : 'off'})`, () => {
    const o = { addPath };
    const ctx = streamContext(o);
    fc.assert(
      fc.property(
        fc.array(arbitraryUpdate(o), { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        (stream, chunk) => {
          const h = new UpdateHistory();
          const live = new RouteTable(ctx);
          const raws: Uint8Array[] = [];
          for (const x of stream) {
            const { raw, u } = wireUpdate(x, ctx);
            h.apply(raw, u);
            live.applyUpdate(u);
            raws.push(raw);
          }
          const msgs = replayAll(h, ctx, chunk);
          const fresh = new RouteTable(ctx);
          for (const m of msgs) fresh.apply(m);
          assert.deepEqual(fresh.sorted(), live.sorted(), 'canonical tables');
          assert.equal(h.size, live.routes.size);
          // Byte level: each route replays with the neighbour's own attribute octets, the
          // same next hop, and in the same part of the UPDATE (body or MP_REACH_NLRI).
          assert.deepEqual(sortedEntries(formsOf(msgs, ctx)), sortedEntries(formsOf(raws, ctx)));
        },
      ),
      { numRuns: 300 },
    );
  });
}

test('replay packs routes sharing attributes and respects the 4096-octet limit (and 65535 with extended messages)', () => {
  const h = new UpdateHistory();
  const ctx = AS4_CONTEXT;
  const nlri = Array.from({ length: 3000 }, (_, i) => ({
    prefix: parsePrefix(`10.${i >> 8}.${i & 255}.0/24`)!,
  }));
  const attributes: UpdateMessage['attributes'] = [
    { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
    { kind: 'as-path', code: 2, flags: 0x40, asnWidth: 4, segments: [{ type: 2, asns: [65002] }] },
    { kind: 'next-hop', code: 3, flags: 0x40, nextHop: Uint8Array.of(198, 18, 0, 2) },
  ];
  for (let i = 0; i < nlri.length; i += 500) {
    const { raw, u } = wireUpdate(
      { type: 2, withdrawn: [], attributes, nlri: nlri.slice(i, i + 500) },
      makeContext({ as4: true, extendedMessage: true }),
    );
    h.apply(raw, u);
  }
  const msgs = replayAll(h, ctx);
  assert.ok(msgs.every((m) => m.length <= 4096));
  // 3000 × 4 octets of NLRI in messages of at most 4096 − 19 − 4 − 21 octets of NLRI.
  assert.equal(msgs.length, Math.ceil(3000 / Math.floor((4096 - 19 - 4 - 21) / 4)));
  const ext = replayAll(h, makeContext({ as4: true, extendedMessage: true }));
  assert.equal(ext.length, 1);
  const fresh = new RouteTable(ctx);
  for (const m of msgs) fresh.apply(m);
  assert.equal(fresh.routes.size, 3000);
});
