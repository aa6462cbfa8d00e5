// Real vendor sessions (Cisco IOS XR, Huawei) captured by pmacct's test suite
// (../shared/data/pmacct): the router→collector TCP stream of each pcap is reassembled,
// framed by our Framer and decoded with the context negotiated from the router's OPEN
// (support/codec.ts contextFromSpeakerOpen: only that direction was captured, so the
// collector is assumed to accept whatever the router offers). Every message must decode
// without error and re-encode byte-exact. The per-prefix records pmacct logged
// (output-bgp-*.json, one JSON line per prefix, see each scenario's README.md) are then
// compared with ours, as multisets (pmacct's README: the order of lines may change).
//
// All routes in these captures are VPNv4/VPNv6 (SAFI 128), which our codec keeps opaque:
// their NLRI (labels, RD, prefix) are read by a test-side parser (support/pmacct.ts) so the
// attributes our codec decodes — AS path, communities, extended and large communities,
// next hop, origin, local-pref, MED — can still be checked prefix by prefix. Fields we do
// not decode (aigp, psid_li, otc) and pmacct's own (tag, writer_id, label…) are not
// compared. pmacct's vocabulary: origin i/e/u; RD "type:admin:number"; extended
// communities sorted by their octets, only RT/SoO named (others print as "?"); lists as
// arrays (default scenario) or space-separated strings (scenario-01); mpls_label = the
// first label's value. Files not compared: 302/output-bgp-01.json (deletions pmacct logs
// when the reproducers are killed, not on the wire), 304/output-bgp-dump-00.json (dumps).
// Several captures stop inside their last message; the Framer must hold those octets back.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { toHex } from '../src/lib/bytes.js';
import { addPathKey, type CodecContext } from '../src/wire/types.js';
import { contextFromSpeakerOpen, decode, describeError, encode, frame } from './support/codec.js';
import { requireData } from './support/data.js';
import { readCapture, tcpSegments } from './support/pcap.js';
import {
  readExpectedRecords,
  recordKey,
  recordsOfUpdate,
  reproducerMap,
  reproducerPcap,
  type PrefixRecord,
} from './support/pmacct.js';
import { reassemble, type TcpStream } from './support/tcp.js';

const DIR = 'pmacct';

interface Scenario {
  readonly dir: string;
  readonly reproducers: readonly string[];
  readonly expected: readonly string[];
  /**
   * peer_ip_src of the expected output when it differs from the reproducer file's repro_ip
   * (pmacct's pytest harness rewrites repro_ip for some tests).
   */
  readonly peerOverride?: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    dir: '300-BGP-IPv6-CISCO-extNH_enc',
    reproducers: ['traffic-reproducer-00.yml'],
    expected: ['output-bgp-00.json', 'scenario-01/output-bgp-00.json'],
  },
  {
    dir: '301-BGP-CISCO-pretag',
    reproducers: ['traffic-reproducer-00.yml'],
    expected: ['output-bgp-00.json', 'scenario-01/output-bgp-00.json'],
  },
  {
    // traffic-02 and -03 come from the same router address; pmacct refuses the second
    // session, so only the first stream per peer counts.
    dir: '302-BGP-IPv6-multiple-sources',
    reproducers: [
      'traffic-reproducer-00.yml',
      'traffic-reproducer-01.yml',
      'traffic-reproducer-02.yml',
      'traffic-reproducer-03.yml',
    ],
    expected: ['output-bgp-00.json'],
  },
  {
    // The YAML says repro_ip cafe::1; the expected output was logged for fd25::101.
    dir: '303-BGP-high-availability',
    reproducers: ['traffic-reproducer-00.yml'],
    expected: ['output-bgp-00.json'],
    peerOverride: 'fd25::101',
  },
  {
    dir: '304-BGP-IPv6-multiple-sources-dump-spreading',
    reproducers: [
      'traffic-reproducer-00.yml',
      'traffic-reproducer-01.yml',
      'traffic-reproducer-02.yml',
    ],
    expected: ['output-bgp-00.json'],
  },
  {
    dir: '502-IPFIXv10-BGP-IPv6-CISCO-SRv6-lcomms',
    reproducers: ['traffic-reproducer-00.yml'],
    expected: ['output-bgp-00.json', 'scenario-01/output-bgp-00.json'],
  },
];

function bgpStreams(pcap: string): TcpStream[] {
  const streams = reassemble(tcpSegments(readCapture(pcap))).filter(
    (s) => s.dstPort === 179 && s.data.length > 0,
  );
  for (const s of streams)
    assert.equal(
      s.gaps,
      0,
      `${pcap}: ${s.src}:${s.srcPort}: ${s.gaps} octets missing from the capture`,
    );
  return streams;
}

interface Decoded {
  records: PrefixRecord[];
  messages: number;
  ctx: CodecContext | undefined;
}

/**
 * Message count and trailing octets of a stream by walking the header Length fields — a
 * check on the Framer that does not use it. Several captures end inside a message (the
 * capture stops before the rest of it was sent; every frame is complete), so trailing
 * octets are expected there.
 */
function walkHeaders(data: Uint8Array): { messages: number; leftover: number } {
  let o = 0;
  let messages = 0;
  while (o + 19 <= data.length) {
    const len = (data[o + 16]! << 8) | data[o + 17]!;
    if (len < 19 || o + len > data.length) break;
    o += len;
    messages++;
  }
  return { messages, leftover: data.length - o };
}

/** Frame and decode a stream; assert every message decodes cleanly and round-trips. */
function decodeStream(
  label: string,
  data: Uint8Array,
  peer: string,
  ctxIn?: CodecContext,
): Decoded {
  const framed = frame([data], { extendedMessage: true });
  assert.equal(
    framed.error,
    undefined,
    `${label}: framer error ${framed.error ? describeError(framed.error) : ''}`,
  );
  assert.deepEqual(
    { messages: framed.messages.length, leftover: framed.leftover },
    walkHeaders(data),
    `${label}: framer and header walk disagree`,
  );
  let ctx = ctxIn;
  const records: PrefixRecord[] = [];
  framed.messages.forEach((msg, i) => {
    const where = `${label} message ${i}`;
    const d = decode(msg, ctx ?? contextFromSpeakerOpenless());
    assert.ok(d.ok, `${where}: ${d.ok ? '' : describeError(d.error)}\n  ${toHex(msg)}`);
    const m = d.message;
    if (m.type === 1) ctx = contextFromSpeakerOpen(m);
    const c = ctx ?? contextFromSpeakerOpenless();
    assert.equal(toHex(encode(m, c)), toHex(msg), `${where}: encode(decode(m)) differs from m`);
    if (m.type === 2) {
      assert.equal(
        m.errors,
        undefined,
        `${where}: RFC 7606 errors ${(m.errors ?? []).map(describeError).join('; ')}`,
      );
      const r = recordsOfUpdate(m, peer, c.as4, (afi, safi) =>
        c.addPath.has(addPathKey(afi, safi)),
      );
      assert.deepEqual(r.unparsed, [], `${where}: NLRI of families we neither decode nor parse`);
      records.push(...r.records);
    }
  });
  return { records, messages: framed.messages.length, ctx };
}

/** Before any OPEN: what a session that negotiated nothing but 4-octet AS would use. */
function contextFromSpeakerOpenless(): CodecContext {
  return { as4: true, addPath: new Set(), extendedMessage: true };
}

function multisetDiff(
  ours: readonly PrefixRecord[],
  want: readonly PrefixRecord[],
): { missing: string[]; extra: string[] } {
  const count = new Map<string, number>();
  for (const r of want) count.set(recordKey(r), (count.get(recordKey(r)) ?? 0) + 1);
  const extra: string[] = [];
  for (const r of ours) {
    const k = recordKey(r);
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else extra.push(k);
  }
  const missing: string[] = [];
  for (const [k, n] of count) for (let i = 0; i < n; i++) missing.push(k);
  return { missing, extra };
}

describe('pmacct captures', () => {
  for (const sc of SCENARIOS) {
    test(sc.dir, { timeout: 30_000 }, (t) => {
      const root = requireData(t, join(DIR, sc.dir));
      if (!root) return;
      const records: PrefixRecord[] = [];
      const seenPeers = new Set<string>();
      let streams = 0;
      for (const yml of sc.reproducers) {
        const pcapName = reproducerPcap(join(root, yml));
        assert.ok(pcapName, `${sc.dir}/${yml}: no pcap named`);
        const map = reproducerMap(join(root, yml));
        for (const s of bgpStreams(join(root, pcapName))) {
          const peer = sc.peerOverride ?? map.get(s.src);
          assert.ok(peer, `${sc.dir}/${yml}: no repro_ip for ${s.src}`);
          const d = decodeStream(`${sc.dir}/${pcapName} ${s.src}`, s.data, peer);
          assert.ok(d.ctx, `${sc.dir}/${pcapName} ${s.src}: no OPEN in the stream`);
          streams++;
          if (seenPeers.has(peer)) continue; // refused by pmacct (same peer address twice)
          seenPeers.add(peer);
          records.push(...d.records);
        }
      }
      assert.ok(streams > 0, `${sc.dir}: no BGP stream found`);
      for (const e of sc.expected) {
        const want = readExpectedRecords(join(root, e));
        const { missing, extra } = multisetDiff(records, want);
        assert.deepEqual(
          {
            missing: missing.slice(0, 5),
            extra: extra.slice(0, 5),
            counts: [missing.length, extra.length],
          },
          { missing: [], extra: [], counts: [0, 0] },
          `${sc.dir}/${e}: ${want.length} expected records, ${records.length} ours; fields: ` +
            '[log_type, peer, afi, safi, prefix, rd, next hop, as_path, comms, ecomms, lcomms, origin, local_pref, med, label]',
        );
      }
    });
  }

  test(
    '305-BGP-mem-leak-test: OPENs then UPDATE/KEEPALIVE streams of 8 routers',
    { timeout: 60_000 },
    (t) => {
      const root = requireData(t, join(DIR, '305-BGP-mem-leak-test'));
      if (!root) return;
      const ctxBySrc = new Map<string, CodecContext>();
      for (const s of bgpStreams(join(root, 'bgp-multi-sources-open.pcap'))) {
        const d = decodeStream(`305 open ${s.src}`, s.data, s.src);
        assert.ok(d.ctx, `305: no OPEN from ${s.src}`);
        ctxBySrc.set(s.src, d.ctx);
      }
      assert.equal(ctxBySrc.size, 8);
      let updates = 0;
      for (const s of bgpStreams(join(root, 'bgp-multi-sources-update-keepalive.pcap'))) {
        const ctx = ctxBySrc.get(s.src);
        assert.ok(ctx, `305: updates from ${s.src} without an OPEN`);
        updates += decodeStream(`305 updates ${s.src}`, s.data, s.src, ctx).records.length;
      }
      assert.ok(updates > 0, '305: no routes decoded');
    },
  );

  test('data folder holds the scenarios we know', (t) => {
    const root = requireData(t, DIR);
    if (!root) return;
    for (const sc of SCENARIOS) assert.ok(existsSync(join(root, sc.dir)), sc.dir);
  });
});
