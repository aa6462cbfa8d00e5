// Input-log compaction of non-stop BGP (src/tcpr/input-compaction.ts) on real UPDATE streams
// from ../shared/data: RIPE RIS and RouteViews BGP4MP traces (4-octet and 2-octet AS
// sessions, IPv4 and IPv6) and BIRD's dumps of ADD-PATH sessions. Each peer's received
// messages form one session's input (after an OPEN/KEEPALIVE exchange); it is replayed
// through the speaker's receive path (src/tcpr/compaction-testing.ts: wire decode, route
// engine, Adj-RIB-In/Loc-RIB) whole, and as [compaction of the first B octets] + [the rest]
// for several B (message boundaries and mid-message offsets), and as the two-step form the
// speaker keeps on disk (compaction of [earlier compaction + more input] + the rest). Every
// form must give the same RIB. The data folder missing is a failure (test/support/data.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../src/lib/bytes.js';
import { readMrt } from '../src/mrt/reader.js';
import { messageContext } from '../src/mrt/records.js';
import { compactInput } from '../src/tcpr/input-compaction.js';
import { KEEPALIVE, OPEN, replayRib } from '../src/tcpr/compaction-testing.js';
import { MSG, decodeMessage, type CodecContext } from '../src/wire/index.js';
import { requireData } from './support/data.js';

const FILES: { rel: string; addPath?: boolean; onlyWithdrawals?: boolean }[] = [
  { rel: 'hdb3-MRT/latest-update.gz' },
  { rel: 'RIPE-NCC-bgpdump/test_data/updates.20070211.0141.gz' },
  { rel: 'RIPE-NCC-bgpdump/test_data/updates.20160811.1600.gz' },
  // 4,096 IPv6 prefixes withdrawn in one UPDATE, nothing announced: nothing must remain.
  { rel: 'RIPE-NCC-bgpdump/test_data/updates.long_withdrawal.gz', onlyWithdrawals: true },
  // BIRD dumps its ADD-PATH sessions with the plain subtype (see mrt-wire-roundtrip.test.ts).
  { rel: 'mrtparse/samples/bird_bgp', addPath: true },
  { rel: 'mrtparse/samples/bird6_bgp', addPath: true },
];

// The session's OPEN/KEEPALIVE exchange (the traces start in the middle of sessions).
const PREFIX = [...OPEN, ...KEEPALIVE];

interface PeerStream {
  ctx: CodecContext;
  messages: Uint8Array[];
}

/** Received UPDATEs and KEEPALIVEs per peer (the session's input, minus its OPEN). */
async function peerStreams(path: string, addPath: boolean): Promise<Map<string, PeerStream>> {
  const peers = new Map<string, PeerStream>();
  for await (const r of readMrt(path)) {
    if (r.kind !== 'message' || r.local) continue;
    const type = r.message[18];
    if (type !== MSG.UPDATE && type !== MSG.KEEPALIVE) continue;
    const key = `${toHex(r.peerAddress)} AS${r.peerAs} ${r.as4 ? 'as4' : 'as2'}`;
    let p = peers.get(key);
    if (!p) {
      p = { ctx: messageContext({ as4: r.as4, addPath: r.addPath || addPath }), messages: [] };
      peers.set(key, p);
    }
    p.messages.push(r.message);
  }
  if (addPath) {
    // A peer whose messages do not all decode with ADD-PATH did not negotiate it.
    for (const p of peers.values()) {
      if (!p.messages.every((m) => decodeMessage(m, p.ctx).ok)) {
        p.ctx = messageContext({ as4: p.ctx.as4, addPath: false });
      }
    }
  }
  return peers;
}

/** A small deterministic generator (the cut points must be the same on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

for (const { rel, addPath, onlyWithdrawals } of FILES) {
  test(`compacted input rebuilds the same RIB: ${rel}`, async (t) => {
    const path = requireData(t, rel);
    if (!path) return;
    const peers = await peerStreams(path, addPath ?? false);
    assert.ok(peers.size > 0, 'no received UPDATEs in the file');
    const rand = rng(rel.length * 7919);
    let checked = 0;
    let routes = 0;
    let fullOctets = 0;
    let compactOctets = 0;
    let addPathPeers = 0;
    for (const [name, p] of peers) {
      const stream = Buffer.concat([Uint8Array.from(PREFIX), ...p.messages]);
      const full = replayRib(stream, p.ctx);
      assert.equal(full.ended, undefined, `${name}: the trace itself resets the session`);
      routes += full.received;
      if (p.ctx.addPath.size > 0) addPathPeers++;
      // Message boundaries at 1/4, 1/2, 3/4 and the end, and two offsets inside messages.
      const bounds: number[] = [];
      for (let i = 0, at = PREFIX.length; i < p.messages.length; i++) {
        at += p.messages[i]!.length;
        bounds.push(at);
      }
      const cuts = new Set<number>([stream.length]);
      for (const f of [0.25, 0.5, 0.75]) cuts.add(bounds[Math.floor(f * (bounds.length - 1))]!);
      for (let i = 0; i < 2; i++)
        cuts.add(PREFIX.length + Math.floor(rand() * (stream.length - PREFIX.length)));
      for (const b of cuts) {
        const c = compactInput(stream.subarray(0, b), p.ctx);
        assert.ok(
          c.consumed <= b && c.consumed >= PREFIX.length,
          `${name}: consumed ${c.consumed} of ${b}`,
        );
        const replay = Buffer.concat([c.output, stream.subarray(c.consumed)]);
        const got = replayRib(replay, p.ctx);
        assert.deepEqual(
          got.routes,
          full.routes,
          `${name}: RIB after compacting ${b} of ${stream.length} octets`,
        );
        assert.equal(got.received, full.received, `${name}: Adj-RIB-In size, cut at ${b}`);
        if (b === stream.length) {
          fullOctets += stream.length;
          compactOctets += c.output.length;
        }
        checked++;
      }
      // The on-disk form after two compactions: snapshot of [snapshot + segment] + segment.
      const b1 = bounds[Math.floor(bounds.length / 3)]!;
      const b2 = bounds[Math.floor((2 * bounds.length) / 3)]!;
      const first = compactInput(stream.subarray(0, b1), p.ctx);
      const second = compactInput(
        Buffer.concat([first.output, stream.subarray(first.consumed, b2)]),
        p.ctx,
      );
      const twoStep = Buffer.concat([second.output, stream.subarray(b2)]);
      assert.deepEqual(replayRib(twoStep, p.ctx).routes, full.routes, `${name}: two compactions`);
      checked++;
    }
    t.diagnostic(
      `${peers.size} peers (${addPathPeers} with ADD-PATH), ${routes} routes at the end, ${checked} compacted forms checked; whole streams ${fullOctets} → ${compactOctets} octets compacted`,
    );
    if (onlyWithdrawals) assert.equal(compactOctets, PREFIX.length * peers.size);
    else assert.ok(routes > 0, 'the streams leave no route: nothing was tested');
    if (addPath) assert.ok(addPathPeers > 0, 'no ADD-PATH session found in a file that has them');
    assert.ok(compactOctets <= fullOctets, 'compaction made the streams longer');
  });
}
